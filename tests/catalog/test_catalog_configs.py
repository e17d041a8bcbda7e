"""The catalog built from saved config.json files: size, sources, release dates, rebuild, plans."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clirun import run_cli
from model_configs_kit import model_configs
from rigfit.archs.registry import supported_archs
from rigfit.catalog.filters import capabilities, released
from rigfit.catalog.models import catalog_sources, load_models

ROOT = Path(__file__).resolve().parents[2]

MODELS = load_models()
BY_ID = {a.id: a for a in MODELS}
RAW = {r["id"]: r for r in json.loads((ROOT / "src/rigfit/catalog/data/models.json").read_text())["models"]}
INDEX = model_configs.read_index()


def test_at_least_250_models_each_with_a_public_source():
    assert len(MODELS) >= 250
    srcs = catalog_sources()
    for a in MODELS:
        assert any("https://" in srcs.get(s, s) for s in a.sources), a.id


def test_index_names_every_model_once_with_release_date_and_source():
    assert sorted(r["id"] for r in INDEX) == sorted(BY_ID)
    for a in MODELS:
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", released(a) or ""), a.id
        assert str(a.extra["released_source"]).startswith("https://huggingface.co/"), a.id
        assert set(capabilities(a)) <= {"vision", "tools", "reasoning"}


def test_saved_configs_carry_their_public_url_and_are_small():
    saved = [p for p in model_configs.CONFIG_DIR.glob("*.json")]
    assert len(saved) >= 170
    for p in saved:
        cfg = json.loads(p.read_text())
        assert cfg["_source"] == f"https://huggingface.co/{p.stem.replace('__', '/')}/blob/main/config.json"
        assert p.stat().st_size < 4096, p.name


@pytest.mark.parametrize(
    "row", [r for r in INDEX if model_configs.config_path(r["repo"]).is_file()], ids=lambda r: r["id"]
)
def test_saved_config_rebuilds_its_catalog_record(row):
    cfg = json.loads(model_configs.config_path(row["repo"]).read_text())
    rec = model_configs.record_from_config(row, cfg)
    want = dict(RAW[row["id"]])
    for k in ("total_params", "active_params"):  # counted by the builder after conversion
        want.pop(k)
        rec.pop(k)
    if "llmfit_params" in want["sources"]:  # the builder checked the count against a published one
        want["sources"] = [s for s in want["sources"] if s != "llmfit_params"]
        assert want.pop("verified").startswith("verified: computed total")
        rec.pop("verified")
    assert rec == want


def test_published_parameter_counts_match_the_recalled_configs():
    checks = model_configs.published_counts()
    assert len(checks) >= 30
    for mid, (_repo, published) in checks.items():
        total = BY_ID[mid].total_params
        assert total is not None and abs(total - published) <= 1e-4 * published, mid
        assert BY_ID[mid].verified.startswith("verified: computed total"), mid


def test_record_from_config_refuses_an_unmapped_model_type():
    row = {
        "repo": "x/y",
        "id": "y",
        "name": "Y",
        "family": "y",
        "released": "",
        "released_source": "",
        "capabilities": "",
        "aliases": "",
    }
    with pytest.raises(ValueError, match="not mapped"):
        model_configs.record_from_config(row, {"_source": "https://huggingface.co/x/y", "model_type": "nope"})


@pytest.mark.parametrize(
    "mid",
    [
        # one or more per family the issue names
        "llama-2-7b",
        "llama-3.1-8b",
        "llama-3.2-1b",
        "llama-3.3-70b",
        "llama-4-maverick",
        "qwen2-7b",
        "qwen2.5-coder-1.5b",
        "qwq-32b",
        "qwen3-4b-instruct-2507",
        "qwen3-30b-a3b-thinking-2507",
        "qwen3-coder-480b-a35b",
        "qwen3-next-80b-a3b-thinking",
        "gemma-2-2b-jpn",
        "medgemma-27b",
        "phi-3-mini-4k",
        "phi-3.5-mini",
        "phi-4-reasoning",
        "mistral-7b-v0.1",
        "mistral-large-2411",
        "devstral-small-2507",
        "codestral-22b",
        "ministral-3-3b",
        "deepseek-v2-lite",
        "deepseek-v3.1-terminus",
        "deepseek-r1-distill-qwen-7b",
        "glm-4.6",
        "kimi-k2-thinking",
        "gpt-oss-safeguard-20b",
        "granite-3.3-8b",
        "olmo-2-32b",
        "smollm2-360m",
        "smollm3-3b",
        "tinyllama-1.1b",
        "falcon3-10b",
        "yi-1.5-34b",
        "llama-3.1-nemotron-70b",
        "exaone-4.0-1.2b",
        "seed-oss-36b",
    ],
)
def test_named_families_are_in_the_catalog(mid):
    a = BY_ID[mid]
    assert a.total_params and a.n_ctx_train > 0


def _smallest_per_arch() -> list[str]:
    best: dict[str, tuple[int, str]] = {}
    for a in MODELS:
        if a.arch in supported_archs():
            size = a.total_params or 0
            if a.arch not in best or size < best[a.arch][0]:
                best[a.arch] = (size, a.id)
    return sorted(mid for _, mid in best.values())


@pytest.mark.parametrize("mid", _smallest_per_arch())
def test_plan_works_for_every_registered_architecture(mid):
    out = run_cli("plan", mid, "--on", "RTX 3060 12GB")
    assert out.exit_code == 0, out.stderr
    assert "Traceback" not in out.stderr
