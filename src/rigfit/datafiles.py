"""The package's data files (``rigfit/<package>/data/…``) read as text.

A plain install keeps them in folders beside the modules: they are read from there with ``open``,
without importing :mod:`importlib.resources` (with its readers and :mod:`zipfile`, ~5 ms of every
command's start-up). A zipped install falls back to ``importlib.resources``.
"""

from __future__ import annotations

import importlib
import os


def read_text(package: str, *parts: str) -> str:
    """The UTF-8 text of the data file ``parts`` (e.g. ``"data", "models.json"``) of ``package``
    (e.g. ``"rigfit.catalog"``), as ``importlib.resources.files(package).joinpath(*parts)`` reads it."""
    folder = os.path.dirname(importlib.import_module(package).__file__ or "")
    path = os.path.join(folder, *parts)
    if folder and os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    from importlib import resources  # lazy: a zipped install only

    return resources.files(package).joinpath(*parts).read_text(encoding="utf-8")
