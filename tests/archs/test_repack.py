"""CPU weight buffers (issue 12): the CPU_REPACK buffer takes 3-D routed experts (MUL_MAT_ID),
MXFP4 weights and the repacked copy of a tied output head; CPU_Mapped spans the file from the
first to the last non-repacked CPU tensor. Checked against real llama.cpp (xllamacpp) on small
synthetic GGUFs (tests/synth.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import synth
from rigfit.catalog.arch import TensorInfo
from rigfit.estimate.cpu_buffers import is_repackable, mapped_span_bytes
from rigfit.estimate.memory import build_profile
from rigfit.formats.source import load_model_source
from rigfit.hardware.devices import Machine
from rigfit.plan import PlanSettings, device_memory

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only test box", ram_bytes=64 * 1024**3)


def _t(name: str, shape: tuple[int, ...], ggml_type: str = "Q4_0") -> TensorInfo:
    return TensorInfo(name, shape, ggml_type, 1000)


def test_repack_rules():
    assert is_repackable(_t("blk.0.ffn_gate_exps.weight", (256, 128, 8)))  # MUL_MAT_ID
    assert is_repackable(_t("blk.0.attn_q.weight", (256, 256), "MXFP4"))
    assert not is_repackable(_t("blk.0.attn_k_b.weight", (32, 128, 8)))  # 3-D, not an expert
    assert not is_repackable(_t("blk.0.ffn_up.weight", (256, 516)))  # rows not a multiple of 8
    assert not is_repackable(_t("token_embd.weight", (256, 1000)))  # GET_ROWS
    assert not is_repackable(_t("blk.0.attn_q.weight", (256, 256), "Q8_0"))


def test_mapped_span_without_offsets():
    ts = [_t("a", (32, 8)), _t("b", (32, 8)), _t("c", (32, 8))]
    # 1000 B each, aligned to 32: a [0, 1000), b [1024, 2024), c [2048, 3048)
    assert mapped_span_bytes(ts, {"a", "c"}) == 3048
    assert mapped_span_bytes(ts, {"b"}) == 1000
    assert mapped_span_bytes(ts, set()) == 0


WRITERS = {
    "llama-q4_0": lambda p: synth.write_llama(p, wtype="Q4_0"),
    "llama-tied-q4_0": lambda p: synth.write_llama(p, wtype="Q4_0", tied=True),
    "llama-ff516-q4_0": lambda p: synth.write_llama(p, wtype="Q4_0", n_ff=516, n_layer=2),
    "llama-mxfp4": lambda p: synth.write_llama(p, wtype="MXFP4"),
    "moe-q4_0": lambda p: synth.write_moe(p, wtype="Q4_0"),
    "moe-q4_k": lambda p: synth.write_moe(p, wtype="Q4_K"),
    "llama-iq4_nl": lambda p: synth.write_llama(p, wtype="IQ4_NL"),
    "llama-q6_k": lambda p: synth.write_llama(p, wtype="Q6_K"),
}


@pytest.mark.oracle
@pytest.mark.xdist_group("llamacpp")
def test_cpu_buffers_match_llamacpp(tmp_path):
    pytest.importorskip("xllamacpp")
    from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp

    paths = {k: str(w(tmp_path / f"{k}.gguf").path) for k, w in WRITERS.items()}
    logs = run_llamacpp([RunConfig(p, n_ctx=512) for p in paths.values()], per_process=len(paths))
    bad = {}
    for (name, path), log in zip(paths.items(), logs, strict=True):
        assert log.ok, (name, log.error)
        _, devs = device_memory(
            load_model_source(path), CPU_BOX, PlanSettings(n_ctx=512, ngl=0), 512, 0, build_profile()
        )
        cpu = devs[-1]
        model = log.buffers.get("model", {})
        for kind, pred, meas in (
            ("CPU_Mapped", cpu.mapped_bytes, model.get("CPU_Mapped", 0.0)),
            ("CPU_REPACK", cpu.repack_bytes, model.get("CPU_REPACK", 0.0)),
        ):
            if abs(pred / MIB - meas) > 0.01:
                bad[(name, kind)] = (round(pred / MIB, 3), meas)
    assert not bad, f"predicted vs llama.cpp (MiB): {bad}"
