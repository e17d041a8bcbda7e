"""``rigfit models`` filters: family, size, MoE, context, capability, release date."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.catalog.filters import ModelFilter, apply_filter, parse_capabilities, parse_since
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError


def _ids(*args: str) -> list[str]:
    out = run_cli("models", *args, "--json")
    assert out.exit_code == 0, out.stderr
    return [r["id"] for r in json.loads(out.stdout)["models"]]


def test_the_issue_example_keeps_only_recent_long_context_qwen_moe_models():
    ids = _ids("--family", "qwen", "--moe", "--min-ctx", "131072", "--since", "2025-06")
    assert "qwen3-coder-30b-a3b" in ids and "qwen3-235b-a22b-thinking-2507" in ids
    assert "qwen3-30b-a3b" not in ids  # released 2025-04, 40K context
    by_id = {a.id: a for a in load_models()}
    for mid in ids:
        a = by_id[mid]
        assert a.moe is not None and a.n_ctx_train >= 131072 and a.extra["released"] >= "2025-06"


def test_capability_and_since_filters():
    ids = _ids("--capability", "vision", "--since", "2025")
    assert "gemma-3-27b" in ids and "llama-4-scout" in ids and "qwen3-8b" not in ids
    both = _ids("-c", "tools,reasoning", "--family", "gpt-oss")
    assert both == ["gpt-oss-20b", "gpt-oss-120b"]


def test_size_and_dense_filters():
    ids = _ids("--min-params", "6", "--max-params", "9", "--dense", "--family", "llama")
    assert "llama-3.1-8b" in ids and "llama-3.2-3b" not in ids and "llama-3.1-70b" not in ids
    assert all(a.moe is None for a in load_models() if a.id in ids)


def test_table_fits_100_columns_and_shows_release_month():
    out = run_cli("models", "--since", "2025-07", "--moe")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "qwen3-235b-a22b-thinking-2507" in out.stdout and "2025-07" in out.stdout


def test_no_match_says_so():
    out = run_cli("models", "--family", "gemma2", "--min-params", "500")
    assert out.exit_code == 0 and "No catalog model matches these filters" in out.stdout


@pytest.mark.parametrize(
    "args,words",
    [
        (("--since", "2025-13"), "not a date"),
        (("--since", "yesterday"), "not a date"),
        (("--capability", "telepathy"), "Unknown capability"),
        (("--min-params", "-1"), "not a size"),
        (("--min-params", "70", "--max-params", "7"), "above --max-params"),
        (("--min-ctx", "-5"), "--min-ctx"),
    ],
)
def test_bad_filter_values_are_one_line_exit_2(args, words):
    out = run_cli("models", *args)
    assert out.exit_code == 2
    assert words in out.stderr and "Traceback" not in out.stderr


def test_filter_functions():
    assert parse_since("2025-06") == "2025-06"
    assert parse_capabilities(["Vision,tools"]) == ("vision", "tools")
    with pytest.raises(RigfitError):
        parse_since("2025-00")
    models = list(load_models())
    assert apply_filter(models, ModelFilter()) == models
    moe = apply_filter(models, ModelFilter(moe=True))
    assert moe and all(a.moe is not None for a in moe)
