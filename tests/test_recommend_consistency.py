"""Issue 17: `recommend` agrees with `plan` and with its own table (named cases from the issue)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from clirun import run_cli
from rigfit.catalog.models import get_model, load_models
from rigfit.catalog.releases import release_dates, release_of
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import PlanSettings, Verdict
from rigfit.recommend import PROMPT_TOKENS, _spec, rank_key, recommend

BOX_3060 = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
BOX_4090 = "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000"
MAC_MINI = "Mac mini M4 16GB"


@pytest.fixture(scope="module")
def rec_3060():
    return recommend(resolve_machine(BOX_3060), "chat", limit=None)


@pytest.fixture(scope="module")
def rec_4090():
    return recommend(resolve_machine(BOX_4090), "chat")


def test_moe_with_experts_in_ram_is_ranked_as_plan_runs_it(rec_3060):
    """qwen3-30b-a3b on the 3060 box: plan runs it with --n-cpu-moe; recommend must list it."""
    rows = [p for p in rec_3060.picks if p.model_id.startswith("qwen3-30b-a3b")]
    assert rows, [p.model_id for p in rec_3060.picks]
    e = rows[0].evaluation
    assert e.experts_offload and e.experts_in_ram > 0 and e.ngl == e.n_layers
    plan = make_plan(
        _spec(rows[0].model_id, rows[0].quant),
        resolve_machine(BOX_3060),
        PlanSettings(n_ctx=rec_3060.ctx, prompt_tokens=min(PROMPT_TOKENS, rec_3060.ctx)),
    )
    assert plan.fit is Verdict.OFFLOAD and plan.experts_in_ram == e.experts_in_ram
    assert plan.speed is not None and plan.speed.decode_tps_ctx.value == pytest.approx(e.decode_tps.value)


def test_every_row_is_the_plan_of_its_model_and_quant(rec_3060):
    machine = resolve_machine(BOX_3060)
    for p in rec_3060.picks[:5]:
        plan = make_plan(_spec(p.model_id, p.quant), machine, PlanSettings(n_ctx=p.ctx, prompt_tokens=2048))
        assert plan.fit == p.evaluation.fit, p.model_id
        assert plan.speed.decode_tps_ctx.value == pytest.approx(p.decode_tps), p.model_id


def test_sweet_spot_is_a_row_of_the_table_on_a_mac_mini():
    """Mac mini M4 16GB: the ★ sweet spot was a quant missing from the table."""
    rec = recommend(resolve_machine(MAC_MINI), "chat")
    assert rec.sweet_spot is not None
    assert any(p is rec.sweet_spot for p in rec.picks)
    assert rec.largest_comfortable is None or any(p is rec.largest_comfortable for p in rec.picks)


def test_row_one_is_the_sweet_spot_or_says_why_not(rec_3060, rec_4090):
    for rec in (rec_3060, rec_4090):
        idx = rec.picks.index(rec.sweet_spot)
        for p in rec.picks[:idx]:
            assert not p.comfortable and "not comfortable" in p.reason, p.reason
        for p in rec.picks:  # one line of explanation per row
            assert p.reason and "\n" not in p.reason and p.quant in p.reason


def test_no_2023_code_model_is_the_largest_comfortable_on_a_4090(rec_4090):
    lc = rec_4090.largest_comfortable
    assert lc is not None and not lc.made_for_other_use
    assert lc.released >= "2024", (lc.model_id, lc.released)
    full = recommend(resolve_machine(BOX_4090), "chat", limit=None).picks
    rank = {p.model_id: i for i, p in enumerate(full)}
    for newer in ("gpt-oss-20b", "qwen3-30b-a3b"):
        assert rank[newer] < rank["deepseek-coder-33b"], (newer, rank[newer], rank["deepseek-coder-33b"])


def test_release_date_breaks_ties(rec_3060):
    same = {}
    for p in recommend(resolve_machine(BOX_3060), "chat", limit=None).picks:
        same.setdefault(round(p.score, 6), []).append(p)
    groups = [g for g in same.values() if len({p.released for p in g}) > 1]
    assert groups, "the catalog has equal-score picks of different dates (llama-3 / 3.1 8B)"
    for g in groups:
        dates = [p.released for p in sorted(g, key=rank_key) if p.released]
        assert dates == sorted(dates, reverse=True)


def test_release_dates_are_sourced_and_belong_to_catalog_models():
    ids = {a.id for a in load_models()}
    for model_id, r in release_dates().items():
        assert model_id in ids, model_id
        assert r.source.startswith("https://"), model_id
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", r.date), r.date
        assert "2023-01" <= r.date <= date.today().isoformat()
    assert release_of("gpt-oss-20b").date == "2025-08-05"
    assert release_of("no-such-model") is None
    assert get_model("deepseek-coder-33b").id in release_dates()


def test_cli_prints_one_reason_per_row():
    out = run_cli("recommend", "--on", BOX_3060, "--limit", "4")
    assert out.exit_code == 0, out.stderr
    for i in range(1, 5):
        assert re.search(rf"^\s+{i}\. \S+: ", out.stdout, re.M), out.stdout


def test_a_near_tie_goes_to_the_newer_model_and_reasons_point_the_right_way():
    """--use code on a 4090: DeepSeek-Coder 33B (2023) and Qwen2.5-Coder 32B (2024) score within
    0.02; the newer one is the sweet spot. On a CPU-only box the sweet spot is row 1, so no row
    below it claims to 'score higher than the sweet spot below it'."""
    code = recommend(resolve_machine(BOX_4090), "code", limit=None)
    ids = [p.model_id for p in code.picks]
    assert ids.index("qwen2.5-coder-32b") < ids.index("deepseek-coder-33b")
    cpu = recommend(resolve_machine("Ryzen 9 7950X + 64GB DDR5-6000"), "chat", limit=8)
    i = cpu.picks.index(cpu.sweet_spot)
    for p in cpu.picks[i + 1 :]:
        assert "sweet spot below it" not in p.reason, p.reason
