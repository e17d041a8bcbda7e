"""Cost physics, price snapshot and quality table (issue 7: `rigfit cost`)."""

from __future__ import annotations

import json
import math

import pytest

from clirun import run_cli
from rigfit.catalog.prices import SNAPSHOT_DATE, prices_for_model, resolve_hosted
from rigfit.catalog.quality import kld_vs_f16
from rigfit.errors import UnknownNameError
from rigfit.estimate.cost import (
    PowerProfile,
    Workload,
    breakeven_months,
    cost_per_hour_usd,
    cost_summary,
    device_power_w,
    usd_per_mtok,
    wall_power_w,
)

BOX_3060 = PowerProfile(devices_tdp_w=(170.0,), devices_idle_w=(13.6,), rest_w=65.0)


def test_power_model_units_and_reference_box_range():
    assert device_power_w(170, 0, 13.6) == pytest.approx(13.6)
    assert device_power_w(170, 1, 13.6) == pytest.approx(170)
    assert wall_power_w(100, 80, 0.9) == pytest.approx(200)
    # hardware_extra.json power_defaults: RTX 3060 desktop under LLM decode 200-260 W at the wall
    assert 190 <= BOX_3060.load_w() <= 260
    assert BOX_3060.idle_w() < BOX_3060.load_w()


def test_cost_per_token_formula():
    # 250 W at 0.17 $/kWh = 0.0425 $/h; 50 tok/s = 180k tok/h -> 0.236 $/Mtok
    per_h = cost_per_hour_usd(250, 0.17)
    assert per_h == pytest.approx(0.0425)
    assert usd_per_mtok(per_h, 50) == pytest.approx(0.0425 / 180_000 * 1e6)


def test_breakeven_shrinks_as_hosted_bill_grows():
    months = [breakeven_months(1500, bill, 10.0) for bill in (20, 50, 100, 400)]
    assert all(m is not None for m in months)
    assert months == sorted(months, reverse=True)
    assert months[0] > months[-1]
    sums = [
        cost_summary(40, BOX_3060, Workload(hours_per_day=4), hardware_usd=1500, hosted_usd_per_month=bill)
        for bill in (20, 50, 100, 400)
    ]
    got = [s.breakeven_months for s in sums]
    assert got == sorted(got, reverse=True)


def test_breakeven_never_when_local_costs_more_per_token():
    # Hosted Llama 8B at 0.02 $/Mtok output vs a 3060 box: electricity alone is ~0.2 $/Mtok.
    s = cost_summary(45, BOX_3060, Workload(hours_per_day=8), hardware_usd=1000, hosted_usd_per_mtok=0.02)
    assert s.usd_per_mtok_power > 0.02
    assert s.breakeven_months is None
    assert s.never_breaks_even
    assert s.breakeven_reason.startswith("never")
    assert s.to_json()["breakeven_months"] == "never"
    assert breakeven_months(1000, 5.0, 8.0) is None


def test_breakeven_needs_prices_and_says_why():
    s = cost_summary(45, BOX_3060, Workload(hours_per_day=8), hosted_usd_per_month=100)
    assert s.breakeven_months is None and not s.never_breaks_even
    assert "hardware price" in s.breakeven_reason
    s = cost_summary(45, BOX_3060, Workload(hours_per_day=8), hardware_usd=900)
    assert "hosted" in s.breakeven_reason


def test_workload_tokens_and_idle_hours():
    s = cost_summary(50, BOX_3060, Workload(hours_per_day=10, tokens_per_day=180_000))
    assert s.busy_hours_per_day == pytest.approx(1.0)
    assert s.on_hours_per_day == pytest.approx(10)
    kwh = (s.load_w * 1 + s.idle_w * 9) / 1000
    assert s.electricity_usd_per_month == pytest.approx(kwh * 0.17 * 30.4375)
    # more tokens than the hours allow: counted, with a note
    s = cost_summary(50, BOX_3060, Workload(hours_per_day=1, tokens_per_day=360_000))
    assert s.busy_hours_per_day == pytest.approx(2.0) and s.notes
    amort = cost_summary(50, BOX_3060, Workload(hours_per_day=8), hardware_usd=1200, amortize_months=24)
    assert amort.usd_per_mtok_amortised > amort.usd_per_mtok_power_effective
    json.dumps(amort.to_json())


def test_price_snapshot_is_dated_and_sourced():
    offers = prices_for_model("llama-3.1-8b")
    assert len(offers) >= 3
    assert offers == sorted(offers, key=lambda p: p.output_usd_per_mtok)
    assert all(p.source for p in offers)
    assert SNAPSHOT_DATE in offers[0].source_line
    assert resolve_hosted("llama-3.1-8b") == offers[0]
    assert resolve_hosted("groq", open_model_id="llama-3.3-70b").provider == "groq"
    assert resolve_hosted("gpt-5-mini").provider == "openai"
    with pytest.raises(UnknownNameError) as e:
        resolve_hosted("gpt5 mni")
    assert "gpt-5-mini" in str(e.value)


def test_quality_table_lookup_and_size_scaling():
    q4 = kld_vs_f16("Q4_K_M", 8.03e9)
    assert q4.provenance == "looked_up" and q4.value == pytest.approx(0.031273)
    assert kld_vs_f16("q8_0").value < kld_vs_f16("Q6_K").value < q4.value < kld_vs_f16("Q2_K").value
    # scaled within the measured 8B-70B range, held outside it, with a band
    big = kld_vs_f16("Q4_K_M", 70.6e9)
    assert big.provenance == "estimated" and big.value == pytest.approx(0.055418, rel=1e-3)
    small = kld_vs_f16("Q4_K_M", 1e9)
    assert small.value == pytest.approx(q4.value) and small.low < small.value < small.high
    assert kld_vs_f16("F16").value == 0
    assert kld_vs_f16("MXFP4_MOE", 5e9, family="gpt-oss").value == 0
    assert not kld_vs_f16("MXFP4_MOE", 5e9, family="qwen3").known
    assert math.isfinite(kld_vs_f16("IQ4_XS", 30e9).value)


REFERENCE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def _cost(*args: str) -> dict:
    out = run_cli("cost", "llama-3.1-8b", "--on", REFERENCE, *args, "--json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def test_cli_cost_breakeven_shrinks_with_the_hosted_bill():
    months = [
        _cost("--hours-per-day", "4", "--hosted-monthly-usd", str(b))["breakeven_months"]
        for b in (20, 60, 200)
    ]
    assert all(isinstance(m, float) for m in months)
    assert months[0] > months[1] > months[2]


def test_cli_cost_never_against_cheap_hosted_tokens():
    d = _cost("--hours-per-day", "8", "--hosted", "deepinfra")
    assert d["breakeven_months"] == "never" and d["breakeven_reason"].startswith("never")
    assert d["usd_per_mtok_power"] > d["hosted_usd_per_mtok"]
    assert 150 < d["load_w"] < 300 and d["decode_tps"]["provenance"] in ("estimated", "calibrated")


def test_cli_cost_user_errors():
    out = run_cli("cost", "llama-3.1-8b", "--on", REFERENCE, "--hosted", "groq", "--hosted-monthly-usd", "10")
    assert out.exit_code == 2 and "Traceback" not in out.stderr


def test_cli_cost_table_shows_the_json_figures():
    args = ("--hours-per-day", "4", "--hosted-monthly-usd", "60", "--hardware-usd", "1200")
    d = _cost(*args)
    out = run_cli("cost", "llama-3.1-8b", "--on", REFERENCE, *args)
    assert out.exit_code == 0, out.stderr
    text = out.stdout
    assert f"{d['decode_tps']['value']:.1f} tok/s" in text
    assert f"{d['load_w']:.0f} W" in text and f"{d['idle_w']:.0f} W" in text
    assert f"{d['breakeven_months']:.1f} months" in text and d["breakeven_months"] == pytest.approx(
        1200 / (60 - d["electricity_usd_per_month"]), rel=0.01
    )
    assert "$1,200" in text and "$60.00/month" in text
    assert "TDP" in text  # the power sources are listed under the table


def test_cli_cost_rejects_impossible_hours():
    for args in (("--hours-per-day", "25"), ("--amortize-months", "0"), ("--electricity-usd-per-kwh", "-1")):
        out = run_cli("cost", "llama-3.1-8b", "--on", REFERENCE, *args)
        assert out.exit_code == 2 and out.stderr.startswith("error:"), args
