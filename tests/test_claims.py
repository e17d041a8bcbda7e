"""Claim checking (issue 7: `rigfit check`): verdicts with the bound and its arithmetic."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.claims import (
    Claim,
    check_claim,
    decode_capacity_bound_tps,
    decode_roofline_tps,
    parse_claims,
    parse_prose,
    prefill_compute_bound_tps,
)
from rigfit.errors import RigfitError


def _check(text: str):
    return check_claim(parse_prose(text))


def test_bound_functions():
    assert decode_roofline_tps(4.6e9, 360e9) == pytest.approx(78.26, rel=1e-3)
    # all bytes fit: capacity bound equals the roofline
    assert decode_capacity_bound_tps(4.6e9, 12e9, 360e9, 50e9) == pytest.approx(360e9 / 4.6e9)
    # 42 GB per token, 24 GB at 1000 GB/s and 18 GB at 50 GB/s
    assert decode_capacity_bound_tps(42e9, 24e9, 1000e9, 50e9) == pytest.approx(1 / (0.024 + 0.36))
    assert prefill_compute_bound_tps(8e9, 100e12) == pytest.approx(6250)


def test_parse_prose_and_csv():
    c = parse_prose("Llama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060")
    assert (c.model, c.quant, c.metric, c.value, c.hardware) == (
        "Llama-3.1-8B",
        "Q4_K_M",
        "decode_tps",
        120.0,
        "RTX 3060",
    )
    s = parse_prose("a wafer holds 900 GB of SRAM")
    assert s.metric == "spec_memory_gb" and s.value == 900 and "WSE" in s.hardware
    rows = parse_claims(
        "hardware,model,quant,metric,value,source\n"
        "RTX 3060 12GB,llama-3.1-8b,Q4_K_M,tg,55,blog\n"
        "# a comment\n"
        "Cerebras WSE-3,,,memory_gb,44,\n"
    )
    assert [r.metric for r in rows] == ["decode_tps", "spec_memory_gb"]
    assert rows[0].source == "blog"
    with pytest.raises(RigfitError):
        parse_claims("hardware,model,quant,metric,value\nRTX 3060,llama-3.1-8b,Q4_K_M,speed,5\n")
    with pytest.raises(RigfitError):
        parse_prose("this sentence says nothing measurable")


def test_acceptance_8b_at_120_on_3060_is_impossible():
    v = _check("Llama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060")
    assert v.verdict == "impossible"
    assert v.bound_kind == "upper" and 60 < v.bound < 100  # 360 GB/s / ~4.6 GB per token
    text = " ".join(v.arithmetic)
    assert "360 GB/s" in text and "tok/s" in text and "per token" in text


def test_acceptance_70b_at_40_on_one_4090_is_impossible():
    v = _check("Llama-3.1-70B Q4_K_M at 40 tok/s on one RTX 4090")
    assert v.verdict == "impossible"
    assert v.bound < 40
    assert any("roofline" in a for a in v.arithmetic)
    # with the host described, the capacity bound (weights spill to DDR5) is far tighter
    v2 = _check("Llama-3.1-70B Q4_K_M at 12 tok/s on RTX 4090 + 64GB DDR5-6000")
    assert v2.verdict == "impossible" and v2.bound < 8
    assert any("capacity" in a for a in v2.arithmetic)


def test_acceptance_55_on_3060_is_not_impossible():
    v = _check("Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060")
    assert v.verdict != "impossible"
    assert v.verdict in ("ok", "implausible")
    assert v.bound > 55 and v.arithmetic


def test_spec_claim_against_catalog():
    v = _check("a wafer holds 900 GB of SRAM")
    assert v.verdict == "impossible"
    assert v.bound == pytest.approx(44, rel=0.05)
    ok = check_claim(Claim(hardware="Cerebras WSE-3", metric="spec_memory_gb", value=44))
    assert ok.verdict == "ok"
    bw = _check("an RTX 3060 12GB has 900 GB/s")
    assert bw.claim.metric == "spec_bandwidth_gb_s" and bw.verdict == "impossible"
    assert _check("an H100 SXM has 3.35 TB/s of memory bandwidth").verdict == "ok"


def test_other_metrics_bounds():
    pp = check_claim(
        Claim(
            hardware="RTX 3060 12GB", model="llama-3.1-8b", quant="Q4_K_M", metric="prefill_tps", value=50_000
        )
    )
    assert pp.verdict == "impossible" and "T op/s peak" in " ".join(pp.arithmetic)
    mem = check_claim(
        Claim(hardware="RTX 3060 12GB", model="llama-3.1-8b", quant="Q4_K_M", metric="memory_gb", value=2)
    )
    assert mem.verdict == "impossible"
    ttft = check_claim(
        Claim(
            hardware="RTX 3060 12GB",
            model="llama-3.1-8b",
            quant="Q4_K_M",
            metric="ttft_s",
            value=0.001,
            prompt_tokens=2048,
        )
    )
    assert ttft.verdict == "impossible" and ttft.bound_kind == "lower"
    ctx = check_claim(
        Claim(
            hardware="RTX 3060 12GB", model="llama-3.1-8b", quant="Q4_K_M", metric="max_ctx", value=10_000_000
        )
    )
    assert ctx.verdict == "impossible"


def test_unknown_names_give_unknown_verdict_not_crash():
    v = check_claim(Claim(hardware="RTX 9999 Ultra", model="llama-3.1-8b", metric="decode_tps", value=1))
    assert v.verdict == "unknown" and "hardware" in v.reason
    v = check_claim(Claim(hardware="RTX 4090", model="no-such-model-xyz", metric="decode_tps", value=1))
    assert v.verdict == "unknown"


def test_cli_check_stdin_json_and_text():
    claims = (
        "Llama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060\n"
        "Llama-3.1-70B Q4_K_M at 40 tok/s on one RTX 4090\n"
        "Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060\n"
    )
    out = run_cli("check", "-", "--json", input=claims)
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)["verdicts"]
    assert [d["verdict"] for d in data][:2] == ["impossible", "impossible"]
    assert data[2]["verdict"] != "impossible"
    assert all(d["arithmetic"] for d in data)
    out = run_cli("check", "-", input=claims)
    assert out.exit_code == 0 and "IMPOSSIBLE" in out.stdout and "roofline" in out.stdout
    bad = run_cli("check", "/no/such/file.csv")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
