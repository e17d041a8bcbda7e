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


@pytest.fixture(autouse=True)
def _private_config_dir(tmp_path_factory, monkeypatch):
    """Every test sees an empty ``$XDG_CONFIG_HOME``: a developer's own ``rigfit/hardware.toml``
    never changes a result (tests that need a user file set their own). The cache folder is left
    alone: the bundled model there is checked against its sha256, so it cannot change a result."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
