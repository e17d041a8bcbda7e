"""Gemma 3 27B's own KLD board (Unsloth's Dynamic 2.0 page) and how plan figures read it."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import get_model
from rigfit.catalog.native import kld_for_model
from rigfit.catalog.quality import kld_vs_f16
from rigfit.catalog.quality_models import model_row, scoreboard_rows

URL = "https://unsloth.ai/docs/basics/unsloth-dynamic-2.0-ggufs"
# the page's table, (Dynamic 2.0 name, KLD) and (baseline type read from its size, KLD)
DYNAMIC = [
    ("UD-IQ1_S", 0.972932),
    ("UD-IQ1_M", 0.800049),
    ("UD-IQ2_XXS", 0.521039),
    ("UD-IQ2_M", 0.258192),
    ("UD-Q2_K_XL", 0.220937),
    ("UD-Q3_K_XL", 0.080617),
    ("UD-Q4_K_XL", 0.023701),
]
BASELINE = [
    ("IQ1_S", 1.035688),
    ("IQ1_M", 0.832252),
    ("IQ2_XXS", 0.535764),
    ("IQ2_M", 0.26554),
    ("Q2_K", 0.229671),
    ("Q3_K_M", 0.087845),
    ("Q4_K_M", 0.024916),
]


def test_every_row_of_the_page_is_on_the_board_with_its_url() -> None:
    rows = [r for r in scoreboard_rows() if r.model_id == "gemma-3-27b"]
    assert {(r.quant, r.kld) for r in rows} == set(DYNAMIC + BASELINE)
    assert all(r.source_url == URL for r in rows)


@pytest.mark.parametrize("board", [DYNAMIC, BASELINE])
def test_kld_falls_as_the_quants_grow(board: list[tuple[str, float]]) -> None:
    klds = [k for _, k in board]
    assert klds == sorted(klds, reverse=True)


def test_each_dynamic_quant_beats_its_same_size_baseline() -> None:
    for (_, new), (_, old) in zip(DYNAMIC, BASELINE, strict=True):
        assert new < old


def test_plan_figure_for_gemma_3_27b_q4_k_m_is_its_own_board_not_the_generic_estimate() -> None:
    arch = get_model("gemma-3-27b")
    f = kld_for_model(arch, "Q4_K_M")
    assert f.provenance == "looked_up" and f.value == pytest.approx(0.024916)
    assert URL in (f.source or "")
    generic = kld_vs_f16("Q4_K_M", arch.active_params or arch.total_params).value
    assert f.value != pytest.approx(generic)


def test_the_unsloth_file_name_finds_the_dynamic_row() -> None:
    arch = get_model("gemma-3-27b")
    f = kld_for_model(arch, "Q4_K_M", "unsloth/gemma-3-27b-it-GGUF:UD-Q4_K_XL")
    assert f.provenance == "looked_up" and f.value == pytest.approx(0.023701)
    assert model_row("gemma-3-27b", "gemma-3-27b-it-UD-Q2_K_XL.gguf").kld == pytest.approx(0.220937)
