"""A model with its own KLD board, asked about a quant that board does not list: the plan says so
(the quants it lists and the board's URL) and keeps the generic size-scaled estimate and band."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.catalog.models import get_model
from rigfit.catalog.native import kld_for_model, quality_line, quality_summary
from rigfit.catalog.quality import kld_vs_f16
from rigfit.catalog.quality_models import board_gap

GEMMA_URL = "https://unsloth.ai/docs/basics/unsloth-dynamic-2.0-ggufs"
QWEN_URL = "https://www.reddit.com/r/LocalLLaMA/comments/1rk5qmr/qwen3527b_q4_quantization_comparison/"


def test_board_gap_names_the_listed_quants_and_the_board() -> None:
    gap = board_gap("gemma-3-27b", "q5_k_m")
    assert gap is not None and gap.startswith("gemma-3-27b's own scoreboard has no Q5_K_M row")
    assert "UD-Q4_K_XL" in gap and "Q3_K_M" in gap and GEMMA_URL in gap
    assert gap.count("Q4_K_M,") + gap.count("Q4_K_M:") == 1  # each quant once
    assert board_gap("gemma-3-27b", "Q4_K_M") is None  # listed
    assert board_gap("llama-3.1-8b", "Q5_K_M") is None  # no board of its own


def test_qwen35_board_lists_each_quant_once_across_uploaders() -> None:
    gap = board_gap("qwen3.5-27b", "Q8_0")
    assert gap is not None and "no Q8_0 row" in gap and QWEN_URL in gap
    listed = gap.split("(it lists ", 1)[1].split(":", 1)[0].split(", ")
    assert len(listed) == len(set(listed)) and "Q4_K_M" in listed  # three uploaders' Q4_K_M: once


def test_figure_stays_the_generic_estimate_with_its_band() -> None:
    arch = get_model("gemma-3-27b")
    f = kld_for_model(arch, "Q5_K_M")
    g = kld_vs_f16("Q5_K_M", float(arch.active_params or arch.total_params), arch.family or arch.id)
    assert f.provenance == "estimated" and f.value == pytest.approx(g.value)
    assert f.low == pytest.approx(g.low) and f.high == pytest.approx(g.high) and f.low < f.value < f.high
    assert "own scoreboard has no Q5_K_M row" in f.source and "no scoreboard of this model" not in f.source


def test_quality_line_for_a_quant_missing_from_the_models_board() -> None:
    line = quality_line(quality_summary(get_model("gemma-3-27b"), "Q5_K_M"))
    assert "estimated (generic: llama.cpp's Llama-3-8B scoreboard scaled by size, gemma-3-27b's own" in line
    assert "no published scoreboard" not in line and GEMMA_URL in line
    plain = quality_line(quality_summary(get_model("llama-3.1-8b"), "Q5_K_M"))
    assert "no published scoreboard of this model" in plain and "own scoreboard" not in plain


def test_plan_text_and_json_say_the_board_has_no_row() -> None:
    args = ("plan", "gemma-3-27b", "-q", "Q5_K_M", "--on", "RTX 4090")
    r = run_cli(*args, "--json")
    assert r.exit_code == 0, r.output
    q = json.loads(r.stdout)["quality"]
    assert q["own_scoreboard"] is False and q["kld"]["provenance"] == "estimated"
    assert q["kld"]["low"] < q["kld"]["value"] < q["kld"]["high"]
    assert "gemma-3-27b's own scoreboard has no Q5_K_M row" in q["label"] and GEMMA_URL in q["label"]
    assert "no published scoreboard" not in q["label"]
    t = run_cli(*args)
    assert t.exit_code == 0, t.output
    text = " ".join(t.stdout.split())
    assert (
        "own scoreboard has no Q5_K_M row (it lists UD-IQ1_S," in text
        and "no published scoreboard" not in text
    )
