"""Issue 17, smaller defects: no negative capacity, vLLM labels and speed, Cerebras 70B speed,
how a CS-3 is bought or rented, predict's band around its estimate."""

from __future__ import annotations

import csv
import io
import math

import pytest

from rigfit.catalog.models import get_model
from rigfit.estimate.predict import iter_predict_rows
from rigfit.estimate.speed.coefficients import band, centre_in_band, load_constants
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import PlanSettings, Verdict


def test_unified_memory_left_for_the_cpu_is_never_negative():
    """Kimi K2 from a config gave a CPU capacity of −1,398.96 GiB: a model far larger than RAM."""
    spec = catalog_model_spec(get_model("deepseek-v3"), "Q4_K_M")
    p = make_plan(spec, resolve_machine("M2 Ultra 192GB"))
    assert p.fit is Verdict.NO
    cpu = next(d for d in p.devices if d.kind == "cpu")
    assert cpu.capacity_bytes == 0 and "exceed the RAM" in cpu.capacity_source


def test_vllm_plan_says_bf16_and_gives_a_speed():
    spec = catalog_model_spec(get_model("llama-3.1-8b"), "Q4_K_M")
    p = make_plan(spec, resolve_machine("RTX 4090"), PlanSettings(runtime="vllm"))
    assert p.fit is Verdict.FITS and p.model.file_type == "BF16"
    assert p.speed is not None and p.speed.decode_tps.provenance == "estimated"
    # 16 GB of BF16 weights over ~1 TB/s: below the roofline, above half of it
    roof = 1008e9 / (8.03e9 * 2)
    assert 0.5 * roof < p.speed.decode_tps.value < roof
    assert any("llama.cpp speed model for the same BF16 weights" in n for n in p.notes)


def test_cerebras_llama_70b_uses_the_published_figure():
    spec = catalog_model_spec(get_model("llama-3.1-70b"), "F16")
    p = make_plan(spec, resolve_machine("WSE-3"))
    tg = p.speed.decode_tps
    assert tg.provenance == "looked_up" and tg.value == pytest.approx(2100)
    assert "cerebras.ai/blog" in tg.source
    # a 70B the vendor publishes nothing for: from the anchors, no longer half the published 70B
    other = make_plan(catalog_model_spec(get_model("llama-3-70b"), "F16"), resolve_machine("WSE-3"))
    assert other.speed.decode_tps.provenance == "estimated"
    assert 1200 < other.speed.decode_tps.value < 2800


def test_a_cs3_is_bought_or_rented_at_a_stated_price():
    spec = catalog_model_spec(get_model("llama-3.1-70b"), "Q4_K_M")
    p = make_plan(spec, resolve_machine("WSE-3"))
    text = " ".join(p.notes)
    assert "cannot buy" not in text
    assert "rented per token" in text and "million" in text and "https://" in text


def test_predict_band_contains_its_estimate_strictly():
    """The estimate lies inside its own band for every backend: where calibration residuals sit all
    on one side of zero (tg|Vulkan once did), the band used to start at the estimate itself."""
    C = load_constants()
    for backend in ("CUDA", "Vulkan", "ROCm", "Metal", "SYCL", "CPU"):
        for kind in ("pp", "tg"):
            lo, hi = band(C, kind, backend, 1.0)
            v = centre_in_band(C, kind, backend, 1.0)
            assert lo <= v <= hi, (kind, backend, lo, hi, v)
            if lo <= 1.0 <= hi:
                assert v == 1.0  # a band around the estimate: unchanged
    one_sided = {**C, "bands": {"tg|Vulkan": {"p10": 0.05, "p90": 0.41, "n": 100, "devices": 9}}}
    one_sided.pop("band_inflation", None)
    lo, hi = band(one_sided, "tg", "Vulkan", 1.0)
    assert lo > 1.0  # a one-sided band (all residuals positive) ...
    assert lo < centre_in_band(one_sided, "tg", "Vulkan", 1.0) < hi  # ... gets the estimate moved inside
    row = {
        "hardware": "Radeon RX 7900 XTX",
        "backend": "Vulkan",
        "model": "Llama-2-7B Q4_0 (TheBloke)",
        "model_family": "llama",
        "params_b": "6.74",
        "quant": "Q4_0",
        "model_size_gib": "3.56",
        "test": "tg128",
        "prompt_tokens": "0",
        "gen_tokens": "128",
        "n_devices": "1",
    }
    (out,) = list(iter_predict_rows([row]))
    assert out["status"] == "ok", out["status"]
    est, p10, p90 = (float(out[k]) for k in ("predicted_tps", "predicted_low", "predicted_high"))
    assert p10 < est <= p90 and not math.isclose(p10, est)
    csv.writer(io.StringIO()).writerow(out.values())
