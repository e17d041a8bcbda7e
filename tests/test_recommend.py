"""Recommendations (issue 7: `rigfit recommend`) on the reference box."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.catalog.models import resolve_model
from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.recommend import (
    SCORE_TIE,
    USES,
    capability_tier,
    effective_params,
    fast_memory_bytes,
    recommend,
    resolve_use,
    score,
)

REFERENCE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


@pytest.fixture(scope="module")
def box():
    return resolve_machine(REFERENCE)


@pytest.fixture(scope="module")
def chat(box):
    return recommend(box, "chat", limit=None)


def test_reference_box_gives_three_picks_that_all_fit(box, chat):
    assert len(chat.picks) >= 3
    vram = fast_memory_bytes(box)
    for p in chat.picks:
        e = p.evaluation
        # all of it in VRAM, or (MoE) every layer on the GPU with routed experts in RAM
        assert e.runs_in_fast_memory and e.fit in ("fits", "tight", "offload"), p.model_id
        assert e.fully_in_fast_memory or (e.experts_in_ram > 0 and e.ngl == e.n_layers), p.model_id
        assert e.memory_bytes is None or e.memory_bytes <= vram
        assert e.decode_tps.value >= chat.min_tps
        assert p.kld.value <= chat.max_kld
        assert resolve_model(p.model_id).n_ctx_train >= chat.ctx
    assert all(a.score >= b.score - SCORE_TIE for a, b in zip(chat.picks, chat.picks[1:], strict=False))
    assert len({p.model_id for p in chat.picks}) == len(chat.picks)  # one quant per model


def test_sweet_spot_and_largest_comfortable_are_named(chat):
    assert chat.sweet_spot is not None and chat.largest_comfortable is not None
    assert chat.sweet_spot_why and chat.largest_why
    comfy = [p for p in chat.picks if p.comfortable]
    assert comfy, "a 12 GB card runs something comfortably"
    named = [p for p in comfy if not p.made_for_other_use]
    assert chat.largest_comfortable.total_params >= 0.9 * max(p.total_params for p in named)
    assert chat.sweet_spot.score >= max(p.score for p in comfy) - SCORE_TIE
    # a 12 GB card: the largest comfortable model is bigger than 7B but not a 30B+ dense model
    assert 7e9 < chat.largest_comfortable.effective_params < 30e9


def test_filters_are_respected(box):
    r = recommend(box, "chat", min_tps=40, max_quality_loss=0.02, limit=None)
    for p in r.picks:
        assert p.decode_tps >= 40 and p.kld.value <= 0.02
    long = recommend(box, "long-context", limit=None)
    assert long.ctx == 65536
    for p in long.picks:
        assert resolve_model(p.model_id).n_ctx_train >= 65536


def test_ranking_rule_pieces():
    # twice the size at Q4_K_M beats the smaller at Q8_0; Q2_K loses the doubling
    assert score(16e9, 0.035, 30, 20, False) > score(8e9, 0.0014, 30, 20, False)
    assert score(16e9, 0.45, 30, 20, False) < score(8e9, 0.0014, 30, 20, False)
    moe = resolve_model("qwen3-30b-a3b")
    assert effective_params(moe) < moe.total_params
    tier, src = capability_tier(resolve_model("llama-3.1-70b"))
    assert tier == "xl" and "not a benchmark" in src
    assert resolve_use("RAG").name == "long-context"
    assert set(USES) == {"chat", "code", "agents", "long-context"}
    with pytest.raises(RigfitError):
        resolve_use("gaming")


def test_cli_recommend_json():
    out = run_cli("recommend", "--on", REFERENCE, "--json", "--limit", "5")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["picks"]) >= 3 and data["sweet_spot"] and data["largest_comfortable"]
    txt = run_cli("recommend", "--on", REFERENCE, "--limit", "5")
    assert txt.exit_code == 0 and "sweet spot" in txt.stdout and "largest" in txt.stdout
    bad = run_cli("recommend", "--on", REFERENCE, "--use", "gaming")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
