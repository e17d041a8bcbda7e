"""Acceptance: rigfit's per-buffer memory model against real llama.cpp (xllamacpp) logs.

Every configuration is created by llama.cpp in a child process (no tokens generated) and the
``model``, ``KV``/``RS`` and ``compute`` buffers it logs must match rigfit's prediction within
1 % or 1 MiB (whichever is larger). Bundled Gemma 3 270M Q4_K_M plus synthetic llama,
deepseek2-MLA, MoE and mamba2 GGUFs.
"""

from __future__ import annotations

import pytest

from rigfit.estimate.memory import LlamaSettings, build_profile
from rigfit.formats.source import load_model_source
from rigfit.hardware.devices import Machine
from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp
from rigfit.plan import PlanSettings, device_memory

pytest.importorskip("xllamacpp")
# real llama.cpp runs share one xdist worker, so they never compete with each other for the cores
pytestmark = [pytest.mark.oracle, pytest.mark.xdist_group("llamacpp")]

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only test box", ram_bytes=64 * 1024**3)

# (label, ctx, fa, parallel, unified, swa_full, ubatch, kv type)
GEMMA = [
    ("ctx512-fa-on", 512, "on", 1, False, False, 512, "f16"),
    ("ctx512-fa-off", 512, "off", 1, False, False, 512, "f16"),
    ("ctx4096-fa-on", 4096, "on", 1, False, False, 512, "f16"),
    ("ctx4096-fa-off", 4096, "off", 1, False, False, 512, "f16"),
    ("ctx32768-fa-on", 32768, "on", 1, False, False, 512, "f16"),
    ("ctx32768-fa-off", 32768, "off", 1, False, False, 512, "f16"),
    ("ctx32768-q8_0", 32768, "on", 1, False, False, 512, "q8_0"),
    ("ctx32768-np4", 32768, "auto", 4, False, False, 512, "f16"),
    ("ctx32768-np4-kvu", 32768, "auto", 4, True, False, 512, "f16"),
    ("ctx32768-swa-full", 32768, "auto", 1, False, True, 512, "f16"),
    ("ctx32768-ub2048", 32768, "auto", 1, False, False, 2048, "f16"),
]
SYNTH_CFGS = [
    ("ctx512-fa-on", 512, "on", 1, False, False, 512, "f16"),
    ("ctx4096-fa-on", 4096, "on", 1, False, False, 512, "f16"),
    ("ctx4096-fa-off", 4096, "off", 1, False, False, 512, "f16"),
    ("ctx4096-np4", 4096, "auto", 4, False, False, 512, "f16"),
    ("ctx4096-ub2048", 4096, "auto", 1, False, False, 2048, "f16"),
    ("ctx4096-q8_0", 4096, "on", 1, False, False, 512, "q8_0"),
]
SYNTH_MODELS = ("llama", "deepseek2_mla", "moe", "mamba2")


def _run_cfg(path, c) -> RunConfig:
    _, ctx, fa, npar, kvu, swf, ub, kt = c
    return RunConfig(
        str(path),
        n_ctx=ctx,
        flash_attn=fa,
        n_parallel=npar,
        kv_unified=kvu,
        swa_full=swf,
        n_ubatch=ub,
        type_k=kt,
        type_v=kt,
    )


def _settings(c) -> PlanSettings:
    _, ctx, fa, npar, kvu, swf, ub, kt = c
    return PlanSettings(
        n_ctx=ctx,
        flash_attn=fa,
        n_parallel=npar,
        kv_unified=kvu,
        swa_full=swf,
        n_ubatch=ub,
        kv_type_k=kt,
        kv_type_v=kt,
        ngl=0,
    )


def _model_file(model: str, d) -> str:
    import synth
    from rigfit.formats.bundled import bundled_gemma_path

    if model == "gemma3-270m":
        return str(bundled_gemma_path())
    writers = {
        "llama": lambda p: synth.write_llama(p, n_embd=512, n_ff=1536, n_head=8, n_head_kv=2),
        "deepseek2_mla": synth.write_deepseek2_mla,
        "moe": synth.write_moe,
        "mamba2": synth.write_mamba2,
    }
    return str(writers[model](d / f"{model}.gguf").path)


def _close(pred_mib: float, meas_mib: float) -> bool:
    return abs(pred_mib - meas_mib) <= max(1.0, 0.01 * meas_mib)


def _compare(spec, c, log) -> dict:
    """{buffer: (predicted MiB, llama.cpp MiB)} for the buffers that differ beyond 1 % / 1 MiB."""
    if not log.ok:
        return {"llama.cpp": log.error}
    _, devs = device_memory(spec, CPU_BOX, _settings(c), c[1], 0, build_profile())
    cpu = devs[-1]
    pred = {
        "model": cpu.weights_bytes / MIB,
        "repack": cpu.repack_bytes / MIB,
        "KV": cpu.kv_bytes / MIB,
        "RS": cpu.recurrent_bytes / MIB,
        "compute": cpu.compute_bytes / MIB,
        "output": cpu.output_bytes / MIB,
    }
    model_bufs = log.buffers.get("model", {})
    meas = {
        "model": model_bufs.get("CPU_Mapped", 0.0),
        "repack": model_bufs.get("CPU_REPACK", 0.0),
        "KV": log.mib("KV"),
        "RS": log.mib("RS"),
        "compute": log.mib("compute"),
        "output": log.mib("output"),
    }
    return {k: (round(pred[k], 2), meas[k]) for k in pred if not _close(pred[k], meas[k])}


# One test per model: every configuration of a model runs in one llama.cpp child process, and
# pytest-xdist spreads the five models over workers without running any configuration twice.
@pytest.mark.parametrize("model", ["gemma3-270m", *SYNTH_MODELS])
def test_buffers_match_llamacpp(model, tmp_path):
    cfgs = GEMMA if model == "gemma3-270m" else SYNTH_CFGS
    path = _model_file(model, tmp_path)
    logs = run_llamacpp([_run_cfg(path, c) for c in cfgs], per_process=len(cfgs), timeout_s=240)
    spec = load_model_source(path)
    bad = {c[0]: diff for c, log in zip(cfgs, logs, strict=True) if (diff := _compare(spec, c, log))}
    assert not bad, f"predicted vs llama.cpp (MiB) for {model}: {bad}"


def test_quantized_v_without_fa_is_refused_by_both(tmp_path):
    """llama.cpp refuses a quantized V cache without flash attention; so does rigfit."""
    from rigfit.errors import RigfitError
    from rigfit.estimate.memory import validate

    path = _model_file("llama", tmp_path)
    spec = load_model_source(path)
    with pytest.raises(RigfitError, match="flash attention"):
        validate(spec.arch, LlamaSettings(n_ctx=512, flash_attn="off", type_v="q8_0"))
    [log] = run_llamacpp(
        [RunConfig(path, n_ctx=512, flash_attn="off", type_k="q8_0", type_v="q8_0")], timeout_s=120
    )
    assert not log.ok
    assert "flash_attn" in (log.error or "")
