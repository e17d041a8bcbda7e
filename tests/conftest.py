"""Shared fixtures. Tests are offline, deterministic and fast."""

from __future__ import annotations

import os

# Never let a test reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own results store: never the user's, never shared between workers."""
    if "RIGFIT_DATA_DIR" not in os.environ:
        monkeypatch.setenv("RIGFIT_DATA_DIR", str(tmp_path_factory.mktemp("rigfit-data")))
