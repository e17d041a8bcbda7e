"""Names people write → catalog models, measured on a table of real-world spellings.

``spellings.csv`` holds ≥ 300 spellings as published: Hugging Face repo ids (old and new), GGUF
file names of the common uploaders (Unsloth ``UD-`` quants, split ``-00001-of-0000N`` files,
TheBloke/bartowski/mradermacher naming), Ollama library tags, LM Studio names and loose names from
model cards and benchmark tables; each row names the catalog id it means (``AMBIGUOUS``: a name
that fits several catalog models) and where the spelling is used.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from rigfit.catalog.models import get_model, load_models
from rigfit.catalog.names import resolve_name
from rigfit.errors import AmbiguousNameError, UnknownNameError

TABLE = Path(__file__).with_name("spellings.csv")
ROWS = list(csv.DictReader(TABLE.open(newline="", encoding="utf-8")))


def _outcome(spelling: str, expected: str) -> str:
    """right / ambiguous / unknown / wrong:<id>."""
    try:
        got = resolve_name(spelling).id
    except AmbiguousNameError:
        return "ambiguous"
    except UnknownNameError:
        return "unknown"
    return "right" if got == expected else f"wrong:{got}"


def test_table_is_large_and_names_catalog_models():
    assert len(ROWS) >= 300
    ids = {a.id for a in load_models()}
    for row in ROWS:
        assert row["expected"] == "AMBIGUOUS" or row["expected"] in ids, row
        assert row["source"].startswith("https://"), row
    kinds = Counter(row["form"] for row in ROWS)
    assert set(kinds) >= {"hf_repo", "gguf_file", "ollama", "lmstudio", "loose"}


def test_spellings_resolve_right_or_ambiguous_never_wrong():
    outcomes: Counter[str] = Counter()
    bad = []
    for row in ROWS:
        want = row["expected"]
        got = _outcome(row["spelling"], want)
        # a name that fits several models must say so; any other never unknown, never another model
        ok = got == "ambiguous" if want == "AMBIGUOUS" else got in ("right", "ambiguous")
        outcomes[got.split(":")[0]] += 1
        if not ok:
            bad.append((row["spelling"], want, got))
    assert not bad, bad
    named = [r for r in ROWS if r["expected"] != "AMBIGUOUS"]
    assert outcomes["right"] >= 0.95 * len(named), outcomes


@pytest.mark.parametrize(
    "spelling",
    ["Devstral Small", "Llama 8B", "Qwen3 30B A3B 2507"],
)
def test_ambiguous_names_list_their_candidates(spelling):
    with pytest.raises(AmbiguousNameError) as err:
        resolve_name(spelling)
    assert str(err.value).count("', '") >= 1  # at least two candidates named


@pytest.mark.parametrize(
    "spelling,want",
    [
        ("Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("tinyllama-1.1b", "tinyllama-1.1b"),
        ("llama3.1:8b", "llama-3.1-8b"),
        ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "qwen3-30b-a3b"),
        ("Qwen3-235B-A22B-Instruct-2507-UD-Q2_K_XL-00001-of-00002.gguf", "qwen3-235b-a22b-instruct-2507"),
        ("unsloth/Qwen3-30B-A3B-GGUF:UD-Q4_K_XL", "qwen3-30b-a3b"),
        ("lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF", "llama-3.1-8b"),
        ("qwen3 coder 30b", "qwen3-coder-30b-a3b"),
        ("ollama:deepseek-r1:8b", "deepseek-r1-0528-qwen3-8b"),
    ],
)
def test_names_from_the_issue(spelling, want):
    assert resolve_name(spelling).id == want
    assert get_model(want).id == want


def test_unknown_name_is_one_clear_error():
    with pytest.raises(UnknownNameError) as err:
        resolve_name("qwen 9.9 123b")
    assert "rigfit models" in str(err.value)
