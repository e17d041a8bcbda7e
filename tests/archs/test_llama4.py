"""llama4: routed experts only every ``interleave_moe_layer_step``-th layer (dense FFN between)
and one shared expert of the expert width on each MoE layer, which llama.cpp creates without a
GGUF key (issue 12: rigfit priced the dense layers as expert layers and recorded no shared
expert). Checked against real llama.cpp (xllamacpp) on synthetic llama4 GGUFs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llama4_synth import write_llama4

from rigfit.estimate.memory import build_profile
from rigfit.estimate.tensors import tensor_shapes
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import architecture_from_gguf
from rigfit.formats.source import load_model_source
from rigfit.hardware.devices import Machine
from rigfit.plan import PlanSettings, device_memory

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only test box", ram_bytes=64 * 1024**3)


@pytest.mark.parametrize("step", [1, 2])
def test_moe_layers_shared_expert_and_tensor_table(tmp_path, step):
    m = write_llama4(tmp_path / "l4.gguf", step=step)
    arch = architecture_from_gguf(read_gguf(m.path))
    assert [arch.is_moe_layer(il) for il in range(4)] == [(il + 1) % step == 0 for il in range(4)]
    assert arch.moe.n_expert_shared == 1 and arch.moe.shared_ff_total == arch.moe.expert_ff
    assert arch.ff(0) == (0 if step == 1 else 1024)
    # the catalog rules predict exactly the file's tensors (shared expert included); rope_freqs
    # (Llama 3-style RoPE scaling of the real checkpoints) is not in this synthetic file
    predicted = [(n, s) for n, s in tensor_shapes(arch) if n != "rope_freqs.weight"]
    assert sorted(predicted) == sorted((n, s) for n, (s, _, _) in m.tensors.items())


# (label, ctx, fa, parallel, unified, ubatch)
CFGS = [
    ("ctx512-fa-on", 512, "on", 1, False, 512),
    ("ctx4096-fa-on", 4096, "on", 1, False, 512),
    ("ctx4096-fa-off", 4096, "off", 1, False, 512),
    ("ctx4096-np4", 4096, "auto", 4, False, 512),
    ("ctx4096-np4-kvu", 4096, "on", 4, True, 512),
    ("ctx4096-ub128", 4096, "auto", 1, False, 128),
    ("ctx4096-ub1024", 4096, "on", 1, False, 1024),
    ("ctx16384-chunked", 16384, "on", 1, False, 512),
]
SHAPES = {
    "interleaved-step2": {"step": 2},
    "all-moe-shared": {"step": 1, "n_ff_exp": 512, "n_layer": 4, "wtype": "Q8_0"},
}


def _close(pred_mib: float, meas_mib: float) -> bool:
    return abs(pred_mib - meas_mib) <= max(1.0, 0.01 * meas_mib)


@pytest.mark.oracle
@pytest.mark.xdist_group("llamacpp")
@pytest.mark.parametrize("shape", list(SHAPES))
def test_buffers_match_llamacpp(tmp_path, shape):
    pytest.importorskip("xllamacpp")
    from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp

    path = str(write_llama4(tmp_path / f"{shape}.gguf", **SHAPES[shape]).path)
    runs = [
        RunConfig(path, n_ctx=c[1], flash_attn=c[2], n_parallel=c[3], kv_unified=c[4], n_ubatch=c[5])
        for c in CFGS
    ]
    logs = run_llamacpp(runs, per_process=len(runs), timeout_s=240)
    spec = load_model_source(path)
    bad = {}
    for c, log in zip(CFGS, logs, strict=True):
        assert log.ok, (c[0], log.error)
        settings = PlanSettings(
            n_ctx=c[1], flash_attn=c[2], n_parallel=c[3], kv_unified=c[4], n_ubatch=c[5], ngl=0
        )
        _, devs = device_memory(spec, CPU_BOX, settings, c[1], 0, build_profile())
        cpu = devs[-1]
        mb = log.buffers.get("model", {})
        pairs = {
            "model": (cpu.weights_bytes, mb.get("CPU_Mapped", 0.0)),
            "repack": (cpu.repack_bytes, mb.get("CPU_REPACK", 0.0)),
            "KV": (cpu.kv_bytes, log.mib("KV")),
            "compute": (cpu.compute_bytes, log.mib("compute")),
            "output": (cpu.output_bytes, log.mib("output")),
        }
        diff = {k: (round(p / MIB, 2), m) for k, (p, m) in pairs.items() if not _close(p / MIB, m)}
        if diff:
            bad[c[0]] = diff
    assert not bad, f"predicted vs llama.cpp (MiB) for llama4 {shape}: {bad}"
