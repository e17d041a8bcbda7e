"""Decode attention on Metal streams the KV cache once per query head (speed/kvstream.py)."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import resolve_model
from rigfit.estimate import speed as sp
from rigfit.estimate.speed.features import decode_features
from rigfit.estimate.speed.kvstream import decode_kv_elems_per_token, per_query_head
from rigfit.estimate.speed.layout import make_layout
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.devices import Machine
from rigfit.hardware.names import resolve_device


def _work(model: str, quant: str) -> sp.ModelWork:
    return sp.model_work(catalog_model_spec(resolve_model(model), quant))


def test_only_metal_reads_per_query_head() -> None:
    assert per_query_head("Metal")
    assert not any(per_query_head(b) for b in ("CUDA", "ROCm", "Vulkan", "SYCL", "CPU"))


def test_metal_streams_the_cache_once_per_query_head() -> None:
    w = _work("llama-3-8b", "Q4_K_M")  # 32 query heads, 8 KV heads of 128
    assert w.layer_kv_elems[0] == 8 * 256
    assert decode_kv_elems_per_token(w, 0, "CUDA") == 8 * 256
    assert decode_kv_elems_per_token(w, 0, "Metal") == 32 * 256  # 4 query heads per KV head


def test_multi_head_attention_is_unchanged() -> None:
    w = _work("llama-2-7b", "Q4_0")  # 32 query heads, 32 KV heads
    assert decode_kv_elems_per_token(w, 0, "Metal") == decode_kv_elems_per_token(w, 0, "CUDA")


def _kv_feature(backend: str, dev_name: str, work: sp.ModelWork, depth: int) -> float:
    dev = resolve_device(dev_name)
    m = Machine(dev.name, accelerators=(dev,), unified_memory=dev.kind == "apple")
    s = sp.RunSettings(backend=backend, flash_attn=True)
    layout = make_layout(work, m, backend)
    f = decode_features(work, layout, m, s, depth, 1, sp.load_constants())
    return f[f"{backend}|fa1:kv"] * float(dev.bandwidth_bytes_per_s or 0)  # bytes


def test_decode_kv_feature_of_a_gqa_model_scales_with_query_heads() -> None:
    w = _work("llama-3-8b", "Q4_K_M")
    metal = _kv_feature("Metal", "M2 Ultra 192GB", w, 8192)
    cuda = _kv_feature("CUDA", "RTX 4090", w, 8192)
    assert cuda == pytest.approx(32 * 8 * 256 * 2 * 8192)  # layers × K+V elements × f16 × depth
    assert metal == pytest.approx(4 * cuda)


def test_m2_ultra_qwen3_depth_slowdown_is_predicted() -> None:
    """PR 26570's M2 Ultra rows (Qwen3-0.6B Q8_0, tg32): 240.02 t/s at d0, 64.97 at d32768 — a
    3.69× slowdown; with the cache read once per head the model gave about 2.1× (issue 13)."""
    w = _work("qwen3-0.6b", "Q8_0")
    dev = resolve_device("Apple M2 Ultra 76-core GPU 192GB")
    m = Machine(dev.name, accelerators=(dev,), unified_memory=True)
    s = sp.RunSettings(backend="Metal")
    C = sp.load_constants()
    t0, _ = sp.predict_test(w, m, s, "tg", gen=32, depth=0, C=C)
    t32, _ = sp.predict_test(w, m, s, "tg", gen=32, depth=32768, C=C)
    assert t0 / t32 == pytest.approx(240.02 / 64.97, rel=0.25)
