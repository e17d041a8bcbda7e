"""falcon-h1: every layer has attention (a KV cache) and a Mamba-2 mixer (a recurrent state)
(issue 12: rigfit used to give it no KV cache and no attention compute). Checked against real
llama.cpp (xllamacpp) buffers on synthetic falcon-h1 GGUFs (tests/archs/falcon_h1_synth.py).

Known gaps of the compute buffer (the SSM stage is fitted on pure Mamba-2; falcon-h1 keeps the
attention output alive across it): on the wide shape (d_inner 1024) rigfit is up to ~1 MiB
(≤ 7 %) off with FA on; the wide shape's compute is therefore held to a 10 % band here, every
other buffer to 1 % or 1 MiB. With a quantized KV cache llama.cpp rotates Q/K/V by Hadamard
matrices (``attn_rot_k``/``attn_rot_v``, src/llama-kv-cache.cpp, PR #21038), which rigfit models
as the matrices themselves plus, for falcon-h1, one q-sized block placed beside the SSM stage
(``memory.attn_rotation_block_bytes``; checked on recorded buffers below).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sweep
from falcon_h1_synth import write_falcon_h1
from sweep import Setting

from rigfit.archs import family_for
from rigfit.estimate.memory import LlamaSettings, kv_cache_bytes, layer_has_kv, recurrent_bytes
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import architecture_from_gguf
from rigfit.formats.source import load_model_source


def test_every_layer_has_kv_and_recurrent_state(tmp_path):
    arch = architecture_from_gguf(read_gguf(write_falcon_h1(tmp_path / "f.gguf", n_layer=4).path))
    assert family_for(arch.arch).kv_on_recurrent
    assert all(arch.is_recurrent(il) and layer_has_kv(arch, il) for il in range(4))
    s = LlamaSettings(n_ctx=4096)
    # 4 layers × 4096 cells × 2 KV heads × 64 × (K + V) × 2 B
    assert kv_cache_bytes(arch, s) == 4 * 4096 * 2 * 64 * 2 * 2
    assert recurrent_bytes(arch, s) > 0


SETTINGS = (
    Setting("ctx512-fa-on", 512, "on"),
    Setting("ctx4096-fa-on", 4096, "on"),
    Setting("ctx4096-fa-off", 4096, "off"),
    Setting("ctx4096-np2", 4096, "on", n_parallel=2),
    Setting("ctx4096-np4-fa-off", 4096, "off", n_parallel=4),
    Setting("ctx4096-ub128", 4096, "auto", n_ubatch=128),
    Setting("ctx4096-ub1024", 4096, "on", n_ubatch=1024),
    Setting("ctx4096-q8_0", 4096, "on", kv_type="q8_0"),
)
SHAPES = {
    "small-F16": {},
    "wide-Q8_0": {
        "wtype": "Q8_0",
        "n_embd": 512,
        "n_head": 8,
        "n_head_kv": 4,
        "n_ff": 1024,
        "d_inner": 1024,
        "n_layer": 6,
    },
}
COMPUTE_BAND = {"small-F16": 0.01, "wide-Q8_0": 0.10}


@pytest.mark.oracle
@pytest.mark.xdist_group("llamacpp")
@pytest.mark.parametrize("shape", list(SHAPES))
def test_buffers_match_llamacpp(tmp_path, shape):
    pytest.importorskip("xllamacpp")
    path = str(write_falcon_h1(tmp_path / f"{shape}.gguf", **SHAPES[shape]).path)
    results = sweep.compare(path, SETTINGS, timeout_s=240)
    bad = sweep.misses(results, {"compute": COMPUTE_BAND[shape]})
    assert not bad, f"predicted vs llama.cpp (MiB) for falcon-h1 {shape}: {bad}"


# llama.cpp b11549 (xllamacpp 2026.10.11549) CPU compute buffers [MiB] of the synthetic falcon-h1
# GGUF (write_falcon_h1 defaults, n_ctx 32768 stored) loaded at -c 4096, ubatch 512, F16 weights
# and KV, by slots and flash attention; measured with
#   PYTHONPATH=src python benchmarks/ssm_scan_slots.py --shapes falcon-h1,falcon-h1-grp2
# The SSM scan's result (y + one state per slot, ggml_ssm_scan) reuses the freed convolution block
# up to 2 slots (1 group) / 4 slots (2 groups) and is a new block beyond: +1.4 MiB at 3 slots.
MEASURED_COMPUTE = {
    # (shape kwargs, n_parallel, flash_attn): MiB
    ((), 1, "on"): 12.29,
    ((), 2, "on"): 10.30,
    ((), 3, "on"): 11.20,
    ((), 4, "on"): 10.81,
    ((), 8, "on"): 10.84,
    ((), 4, "off"): 23.01,
    ((), 8, "off"): 14.01,
    ((("n_group", 2),), 4, "on"): 10.07,
    ((("n_group", 2),), 6, "on"): 11.67,
}


@pytest.mark.parametrize("key", list(MEASURED_COMPUTE), ids=lambda k: f"{dict(k[0])}-np{k[1]}-fa{k[2]}")
def test_compute_by_slots_matches_recorded_llamacpp(tmp_path, key):
    """rigfit was 1.0–1.1 MiB low from 3 slots on with FA on and 1.0 MiB high at 8 slots with FA
    off, before the scan result was modelled (memory.ssm_scan_extra_bytes)."""
    kwargs, n_par, fa = key
    spec = load_model_source(str(write_falcon_h1(tmp_path / "f.gguf", n_ctx=32768, **dict(kwargs)).path))
    pred = sweep.predicted(spec, Setting("", 4096, fa, n_parallel=n_par))["compute"]
    assert abs(pred - MEASURED_COMPUTE[key]) <= 0.25, (pred, MEASURED_COMPUTE[key])


# llama.cpp b11549 (xllamacpp 2026.10.11549) CPU compute buffers [MiB] of synthetic falcon-h1 GGUFs
# (write_falcon_h1 defaults but the named arguments, n_ctx 32768 stored) loaded at -c 4096,
# ubatch 512, FA on, F16 weights, -ctk/-ctv q8_0 (Hadamard-rotated cache, attn_rot_k = attn_rot_v
# = 1) and f16; measured 2026-12-06 with
#   PYTHONPATH=src python benchmarks/kv_rotation.py --families falcon-h1
# The rotation's extra block is memory.attn_rotation_block_bytes.
MEASURED_ROTATION = {
    # (shape kwargs, n_parallel): (f16 MiB, q8_0 MiB)
    ((), 1): (12.29, 13.32),
    ((), 4): (10.81, 11.84),
    ((("n_head", 4), ("head_dim", 128)), 1): (12.29, 13.37),
    ((("n_head_kv", 8),), 1): (12.29, 13.32),
    ((("d_state", 128),), 1): (13.04, 14.07),
    ((("d_state", 128),), 4): (12.07, 13.10),
    ((("n_head", 4),), 1): (12.79, 12.82),
    ((("n_embd", 512),), 1): (14.79, 14.82),
    ((("n_embd", 512),), 4): (13.31, 13.34),
    ((("n_head", 16), ("d_inner", 1024)), 1): (17.31, 19.34),
    ((("n_head", 16), ("d_inner", 1024)), 4): (17.35, 19.38),
    ((("d_inner", 1024),), 4): (16.35, 17.38),
    ((("d_inner", 768),), 4): (13.58, 14.61),
}


@pytest.mark.parametrize("key", list(MEASURED_ROTATION), ids=lambda k: f"{dict(k[0])}-np{k[1]}")
def test_rotated_kv_compute_matches_recorded_llamacpp(tmp_path, key):
    """The q8_0 buffer's step over the f16 one within 0.1 MiB, and no new error on top of the f16
    buffer's (n_head 4 and d_inner 768/1024 have f16 gaps of 0.5–1.0 MiB, see the module note).
    Before the rotation was modelled rigfit predicted the f16 buffer for q8_0: 1.03 MiB low on
    the sweep's shape (the 4 misses of benchmarks/arch_sweep.py), 2.03 MiB low at 16 heads × 64."""
    kwargs, n_par = key
    f16, q8 = MEASURED_ROTATION[key]
    spec = load_model_source(str(write_falcon_h1(tmp_path / "f.gguf", n_ctx=32768, **dict(kwargs)).path))
    pred_f16 = sweep.predicted(spec, Setting("", 4096, "on", n_parallel=n_par))["compute"]
    pred_q8 = sweep.predicted(spec, Setting("", 4096, "on", n_parallel=n_par, kv_type="q8_0"))["compute"]
    assert abs(pred_q8 - q8) <= abs(pred_f16 - f16) + 0.1, (pred_q8, q8, pred_f16, f16)
    assert abs((pred_q8 - pred_f16) - (q8 - f16)) <= 0.1, (pred_q8 - pred_f16, q8 - f16)
