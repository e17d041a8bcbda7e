"""``rigfit serve``: the planner as a local web app (Starlette on uvicorn).

- :mod:`rigfit.serve.params` — every API endpoint's query parameters, checked in one place and
  described from the same table in the OpenAPI document;
- :mod:`rigfit.serve.api` — the JSON answers: the same library calls and the same schemas as the
  CLI's ``--json`` output, with per-(model, quant) caches;
- :mod:`rigfit.serve.app` — the ASGI application (routes, error handling, static pages);
- ``static/`` — the pages (plain HTML, CSS and JavaScript; nothing loaded from the network).

Starlette and uvicorn are imported only on the ``rigfit serve`` path, never by ``rigfit plan``.
"""
