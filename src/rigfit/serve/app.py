"""The ASGI application of ``rigfit serve`` (Starlette): JSON API, OpenAPI document, static pages.

Errors: a user mistake (:class:`rigfit.errors.RigfitError`) answers 400 with
``{"schema": "rigfit.error/1", "error": "...", "hint": "..."}``; an unknown path 404 with the same
shape. An unexpected exception while computing an answer is logged on the server's stderr with its
traceback and answered 422 in the same JSON shape (never a 500 or an HTML traceback page): the page
shows one line and the URL to report.

Requests are computed one at a time on a worker thread (the planner is CPU-bound pure Python; the
GIL would serialise them anyway, and the lock keeps the library's caches single-writer).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rigfit.errors import RigfitError
from rigfit.jsonout import error_json, to_json_text
from rigfit.serve.api import ENDPOINTS, openapi
from rigfit.serve.params import Endpoint, parse_query

log = logging.getLogger("rigfit.serve")

#: The pages (one HTML shell; the script picks the view from the path).
PAGES = ("/", "/plan", "/recommend", "/compare", "/floor", "/measurements")

_LOCK = threading.Lock()

#: Answers kept per endpoint and arguments: the catalog searches take seconds the first time and the
#: pages ask again on every visit. Only answers that depend on nothing but their arguments and the
#: shipped catalogs (not the results store, not local files or 'local' detection).
_CACHED_PATHS = frozenset({"/api/recommend", "/api/compare", "/api/floor"})
_ANSWERS: OrderedDict[tuple, Any] = OrderedDict()
_MAX_ANSWERS = 256


class _JSON(JSONResponse):
    """JSON written by rigfit's own encoder (the same bytes as the CLI's ``--json``)."""

    def render(self, content: Any) -> bytes:
        return to_json_text(content).encode("utf-8")


def error_response(status: int, message: str, hint: str | None = None) -> Response:
    """``{"schema": "rigfit.error/1", "error": message, "hint": hint}`` with ``status`` (one line each)."""
    return _JSON(error_json(message, hint), status_code=status)


def _cache_key(ep: Endpoint, args: dict[str, Any]) -> tuple | None:
    """Key of a cacheable answer, or None (an endpoint not cached, a model file, this machine)."""
    if ep.path not in _CACHED_PATHS:
        return None
    ons = args.get("on")
    if "local" in (ons if isinstance(ons, list) else [ons]):
        return None
    model = args.get("model")
    if model and Path(model).expanduser().exists():
        return None
    return (ep.path, *((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(args.items())))


def _compute(ep: Endpoint, items: list[tuple[str, str]]) -> Any:
    with _LOCK:
        args = parse_query(ep.params, items)
        assert ep.handler is not None
        key = _cache_key(ep, args)
        if key is not None and key in _ANSWERS:
            _ANSWERS.move_to_end(key)
            return _ANSWERS[key]
        body = ep.handler(args)
        if key is not None:
            _ANSWERS[key] = body
            if len(_ANSWERS) > _MAX_ANSWERS:
                _ANSWERS.popitem(last=False)
        return body


def _endpoint_route(ep: Endpoint) -> Route:
    async def handle(request: Request) -> Response:
        try:
            body = await run_in_threadpool(_compute, ep, list(request.query_params.multi_items()))
        except RigfitError as exc:
            return error_response(400, exc.message, exc.suggestion)
        except Exception as exc:  # a defect, not the user's fault: log it, answer one clean line
            log.exception("rigfit serve: %s?%s failed", ep.path, request.url.query)
            return error_response(
                422,
                f"rigfit could not compute this answer ({type(exc).__name__}: {str(exc)[:200]}).",
                "This is a rigfit defect: please report it with the page's URL.",
            )
        return _JSON(body, headers={"Cache-Control": "no-store"})

    return Route(ep.path, handle, methods=["GET"])


def _page_html() -> str:
    return resources.files("rigfit.serve").joinpath("static/index.html").read_text(encoding="utf-8")


async def _page(request: Request) -> Response:
    return Response(_page_html(), media_type="text/html; charset=utf-8")


async def _openapi(request: Request) -> Response:
    return _JSON(openapi())


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 400)
    if status == 404:
        known = ", ".join([*PAGES, *(e.path for e in ENDPOINTS), "/api/openapi.json"])
        return error_response(404, f"No such page or endpoint: {request.url.path}.", f"Known: {known}.")
    if status == 405:
        return error_response(405, f"{request.method} is not supported here.", "Use GET.")
    return error_response(status, str(getattr(exc, "detail", "")) or "Bad request.")


async def _any_error(request: Request, exc: Exception) -> Response:
    log.exception("rigfit serve: %s failed", request.url.path)
    return error_response(
        422,
        f"rigfit could not answer ({type(exc).__name__}).",
        "This is a rigfit defect: please report it with the page's URL.",
    )


def create_app(endpoints: Sequence[Endpoint] = ENDPOINTS) -> Starlette:
    """The Starlette application: API routes (``endpoints``), /api/openapi.json, pages and /static assets."""
    static = resources.files("rigfit.serve").joinpath("static")
    routes = [
        *(_endpoint_route(ep) for ep in endpoints),
        Route("/api/openapi.json", _openapi, methods=["GET"]),
        *(Route(p, _page, methods=["GET"]) for p in PAGES),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _any_error})
