"""The maintainer module ``tools/model_configs.py`` for the catalog tests (tools/ is no package:
loaded once from its file), with what the config tests read through it: the saved configs, the
catalog and the index rows by id."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from rigfit.catalog.models import load_models

ROOT = Path(__file__).resolve().parents[1]
#: the saved config.json files (``data/model-configs/*.json``)
CONFIGS = ROOT / "data" / "model-configs"

_spec = importlib.util.spec_from_file_location("model_configs", ROOT / "tools" / "model_configs.py")
assert _spec is not None and _spec.loader is not None
model_configs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(model_configs)

#: the catalog's architectures and the model-config index rows, by model id
BY_ID = {a.id: a for a in load_models()}
ROWS = {r["id"]: r for r in model_configs.read_index()}


def saved_config(repo: str) -> dict:
    """The saved config.json of a Hugging Face repo (``org/name``)."""
    return json.loads(model_configs.config_path(repo).read_text())
