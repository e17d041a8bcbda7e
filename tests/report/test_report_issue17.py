"""Issue 17, report and quality: native formats are the baseline (gpt-oss MXFP4, FP8 DeepSeek),
the quant matrix shows total need split by device, the 235B class is not called "400B+"."""

from __future__ import annotations

import re

import pytest

from rigfit.catalog.models import get_model
from rigfit.catalog.native import is_upcast, kld_for_model, native_format, offered_quants
from rigfit.claims import check_claims, parse_claims
from rigfit.hardware.grammar import resolve_machine
from rigfit.recommend import quant_ladder
from rigfit.report import build

REFERENCE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def test_gpt_oss_has_no_fake_requant_ladder():
    arch = get_model("gpt-oss-20b")
    assert quant_ladder(arch) == ("MXFP4_MOE",)
    assert offered_quants(arch, build.MATRIX_QUANTS) == ("MXFP4_MOE",)  # no Q2_K / Q8_0 / F16
    base = kld_for_model(arch, "MXFP4_MOE")
    assert base.value == 0 and "released MXFP4" in base.source
    assert not kld_for_model(arch, "Q8_0").known  # no "KLD 0.001" for a re-quant that keeps MXFP4


def test_fp8_release_starts_at_q8_0_and_never_upcasts():
    arch = get_model("deepseek-r1")
    nat = native_format(arch)
    assert nat is not None and nat.fmt == "FP8" and nat.baseline == "Q8_0"
    assert "F16" not in offered_quants(arch, build.MATRIX_QUANTS) and is_upcast(arch, "BF16")
    assert kld_for_model(arch, "Q8_0").value == 0
    q4 = kld_for_model(arch, "Q4_K_M")
    assert q4.value > 0 and "released FP8" in q4.source
    assert native_format(get_model("deepseek-r1-distill-qwen-14b")) is None  # a BF16 release
    assert native_format(get_model("llama-3.1-8b")) is None


def test_check_assumes_the_native_format_like_plan():
    (v,) = check_claims(parse_claims("gpt-oss-20b at 100 tok/s on an RTX 4090\n"))
    assert any("MXFP4_MOE assumed" in a for a in v.arithmetic), v.arithmetic
    (v8,) = check_claims(parse_claims("Llama-3.1-8B at 50 tok/s on an RTX 4090\n"))
    assert any("Q4_K_M assumed" in a for a in v8.arithmetic)


def test_quant_matrix_shows_total_need_split_by_device():
    machine = resolve_machine(REFERENCE)
    table, evals = build.quant_matrix(machine, get_model("llama-3.1-8b"), 8192)
    rows = {r[0]: r for r in table.rows}
    f16 = rows["F16"]
    assert "offload" in f16[2]
    m = re.fullmatch(r"([\d.,]+) \(([\d.,]+) GPU \+ ([\d.,]+) RAM\)", f16[1])
    assert m, f16[1]
    total, gpu, ram = (float(x.replace(",", "")) for x in m.groups())
    assert total > 12.0 > gpu and ram > 2.0  # 16 GB of F16 weights: the need is above the card
    assert total == pytest.approx(gpu + ram, abs=0.11)
    ev = dict((q, e) for q, e, _ in evals)["F16"]
    assert (ev.memory_bytes + ev.ram_bytes) / 2**30 == pytest.approx(total, abs=0.06)


def test_memory_chart_plots_the_ram_share(tmp_path, monkeypatch):
    seen = {}

    def fake_bars(out, stem, title, labels, parts, ylabel, caption="", limit=None, limit_label="", credit=""):
        seen.update(labels=labels, parts=parts, limit=limit, caption=caption)

    monkeypatch.setattr(build, "stacked_bars", fake_bars)
    machine = resolve_machine(REFERENCE)
    arch = get_model("llama-3.1-8b")
    _, evals = build.quant_matrix(machine, arch, 8192)
    build.chart_memory_breakdown(tmp_path, machine, evals, arch)
    i = seen["labels"].index("F16")
    heights = [vals[i] for vals in seen["parts"].values()]
    assert sum(heights) > seen["limit"] == pytest.approx(12.0)  # the offload bar rises above the line
    assert any("system RAM" in k for k in seen["parts"]) and "total capacity" in seen["caption"]


def test_within_reach_labels_qwen3_235b_by_its_size():
    labels = dict((mid, label) for label, mid in build.CLASS_MODELS)
    assert "400B" not in labels["qwen3-235b-a22b"] and "235B" in labels["qwen3-235b-a22b"]


def test_prices_have_one_definition_per_table():
    # spec delta: the accelerators alone, with their basis; a lone RTX 4090 is the card's price
    lone = build.accelerator_price_text(resolve_machine("RTX 4090"))
    assert lone == "$1,599 (new, MSRP)", lone
    assert "no list price" in build.accelerator_price_text(resolve_machine("WSE-3"))
    assert "whole computer" in build.accelerator_price_text(resolve_machine("M2 Ultra 192GB"))
    # perf per dollar: whole computers, and its footnote says so
    t = build.perf_per_dollar(8192)
    assert any("whole computer for every row" in n for n in t.notes)
    assert not any("GPU price only" in n for n in t.notes)
    box = next(r for r in t.rows if r[0].startswith("GeForce RTX 3060"))
    assert box[1].endswith("(est.)") and "used" not in box[1]  # new prices only; the host is estimated
    reach = build.within_reach(resolve_machine(REFERENCE), 8192)
    assert any("whole machine" in n for n in reach.notes)


def test_m2_ultra_192gb_is_priced_realistically():
    from rigfit.floor import machine_price
    from rigfit.hardware.prices import price_info

    # one definition: its new launch price ($3,999 base + 76-core GPU + 192 GB), derived and sourced
    info = price_info(resolve_machine("M2 Ultra 192GB").accelerators[0])
    assert info["price_usd"] == 6599 and info["status"] == "derived" and info["kind"] == "msrp"
    assert "beans-wellness" not in info["source"] and "https://" in info["source"]
    assert machine_price(resolve_machine("M2 Ultra 192GB")).usd == 6599
