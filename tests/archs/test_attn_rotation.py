"""Hadamard rotation of a quantized KV cache (llama.cpp PR #21038,
https://github.com/ggml-org/llama.cpp/pull/21038): ``attn_rot_k`` / ``attn_rot_v`` are on when the
cache type is quantized and the head size is a multiple of 64; each cache then feeds its graph a
K matrix (n×n f32, n the largest power of two from 64 that divides the head size) and a 64×64 V
matrix, in the compute buffer (rigfit.estimate.memory.attn_rotation_bytes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sweep
from sweep import Setting

from rigfit.catalog.arch import Architecture
from rigfit.estimate.memory import (
    LlamaSettings,
    _rotation_size,
    attn_rotation,
    attn_rotation_bytes,
    build_profile,
    input_buffer_bytes,
)
from rigfit.formats.source import load_model_source

KIB = 1024

# llama.cpp b11549 (xllamacpp 2026.10.11549) CPU compute buffers [MiB] of the sweep's synthetic
# GGUFs (tests/archs/sweep.py FAMILIES, F16 weights) at -c 4096 -fa on with f16 and with q8_0
# K/V, measured 2026-12-06 with
#   PYTHONPATH=src python benchmarks/kv_rotation.py --no-falcon
# Head size 64 gives +0.03 MiB (two 64×64 f32 matrices), two caches (sliding window + full)
# twice that, gemma4's 64 / 128 heads +0.11 MiB, head size 32 (llama-like synthetic models) and
# deepseek2's MLA head (160) nothing.
MEASURED = {
    "qwen3moe": (8.52, 8.55),
    "glm4moe": (11.02, 11.05),
    "qwen3next": (14.52, 14.55),
    "gemma3": (10.53, 10.59),
    "gemma3n": (51.53, 51.59),
    "cohere2": (20.03, 20.09),
    "gpt-oss": (10.28, 10.34),
    "gemma4": (10.53, 10.64),
    "gemma4-ple256": (19.53, 19.64),
    "qwen2": (11.02, 11.02),
    "granitehybrid": (12.42, 12.42),
    "deepseek2": (12.01, 12.01),
    "mamba2": (8.41, 8.41),
}


@pytest.mark.parametrize("family", list(MEASURED))
def test_q8_0_step_matches_recorded_llamacpp(tmp_path, family):
    """rigfit's q8_0 − f16 compute step equals llama.cpp's (rounded to 0.01 MiB in its log);
    without the rotation rule it was 0 everywhere, 0.03–0.11 MiB low on 9 of these."""
    f16, q8 = MEASURED[family]
    spec = load_model_source(str(sweep.FAMILIES[family](tmp_path / f"{family}.gguf", "F16").path))
    step = sweep.predicted(spec, Setting("", 4096, kv_type="q8_0"))["compute"]
    step -= sweep.predicted(spec, Setting("", 4096))["compute"]
    assert abs(step - (q8 - f16)) <= 0.011, (step, q8 - f16)


def test_rotation_size_is_the_largest_power_of_two_dividing_the_head():
    assert [_rotation_size(h) for h in (64, 128, 192, 256, 320, 576)] == [64, 128, 64, 256, 64, 64]


def _arch(head: int) -> Architecture:
    return Architecture(
        id="t",
        arch="llama",
        n_layer=2,
        n_embd=8 * head,
        n_head=8,
        n_head_kv=2,
        n_embd_head_k=head,
        n_embd_head_v=head,
        n_ff=1024,
        n_vocab=1000,
        n_ctx_train=4096,
    )


def test_which_sides_rotate():
    a = _arch(128)
    q8, f16 = "q8_0", "f16"
    assert attn_rotation(a, LlamaSettings(type_k=q8, type_v=q8), False) == (128, 64)
    assert attn_rotation(a, LlamaSettings(type_k=q8, type_v=f16), False) == (128, 0)
    assert attn_rotation(a, LlamaSettings(type_k=f16, type_v="q4_0"), False) == (0, 64)
    assert attn_rotation(a, LlamaSettings(type_k="bf16", type_v="f32"), False) == (0, 0)
    assert attn_rotation(_arch(96), LlamaSettings(type_k=q8, type_v=q8), False) == (0, 0)
    # (128² + 64²) f32, in the host input buffer of a fully offloaded model as well
    s = LlamaSettings(type_k=q8, type_v=q8)
    assert attn_rotation_bytes(a, s) == (128 * 128 + 64 * 64) * 4 == 80 * KIB
    base = input_buffer_bytes(a, LlamaSettings())
    assert input_buffer_bytes(a, s) == base + 80 * KIB


def test_builds_before_the_rotation_do_not_rotate():
    s = LlamaSettings(type_k="q8_0", type_v="q8_0")
    assert attn_rotation(_arch(128), s, False, build_profile("b7800")) == (0, 0)
    assert attn_rotation(_arch(128), s, False, build_profile("b9294")) == (128, 64)
