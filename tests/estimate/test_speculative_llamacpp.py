"""Acceptance: the draft model's buffers against real llama.cpp (xllamacpp) logs.

llama.cpp creates a target context plus a speculative draft context (``-md``) in a child process;
the log's buffers after the draft marker are the draft's. rigfit's prediction of the draft's model,
KV, compute and output buffers (estimate/speculative.py ``draft_buffers``) must be within 1 % or
1 MiB (whichever is larger), and the target's buffers must be unchanged by the draft (its
``n_outputs_max`` grows to the draft length + 1, which allocates nothing).
Small synthetic llama and MoE targets with a small llama draft of the same vocabulary.
"""

from __future__ import annotations

import pytest

from rigfit.estimate.memory import build_profile
from rigfit.estimate.speculative import MTP_SHORT_CTX, draft_buffers, spec_settings
from rigfit.formats.source import load_model_source
from rigfit.hardware.devices import Machine
from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp
from rigfit.plan import HOST_FIXED_BYTES, PlanSettings, device_memory

pytest.importorskip("xllamacpp")
pytestmark = [pytest.mark.oracle, pytest.mark.xdist_group("llamacpp")]

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only test box", ram_bytes=64 * 1024**3)

# (label, n_ctx, fa, parallel, unified, ubatch, draft kv type, draft max)
CFGS = [
    ("ctx4096", 4096, "auto", 1, False, 512, "f16", 3),
    ("ctx8192-np2-q8_0-fa-on", 8192, "on", 2, False, 512, "q8_0", 3),
    ("ctx2048-fa-off-k16", 2048, "off", 1, False, 512, "f16", 16),
    ("ctx4096-ub1024", 4096, "auto", 1, False, 1024, "f16", 3),
    ("ctx16384-np4-kvu", 16384, "auto", 4, True, 512, "f16", 3),
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import synth  # lazy: the synthetic GGUF writer lives in tests/

    d = tmp_path_factory.mktemp("spec")
    draft = synth.write_llama(d / "draft.gguf", n_layer=2, n_embd=256, n_ff=768, n_head=4, n_head_kv=2)
    return {
        "llama": synth.write_llama(d / "target.gguf", n_embd=512, n_ff=1536, n_head=8, n_head_kv=2).path,
        "moe": synth.write_moe(d / "moe.gguf").path,
        "draft": draft.path,
    }


@pytest.fixture(scope="module")
def logs(models):
    jobs = [(t, c) for t in ("llama", "moe") for c in CFGS]
    cfgs = [
        RunConfig(
            str(models[t]),
            n_ctx=ctx,
            flash_attn=fa,
            n_parallel=npar,
            kv_unified=kvu,
            n_ubatch=ub,
            draft_path=str(models["draft"]),
            draft_max=k,
            draft_type_k=kt,
            draft_type_v=kt,
        )
        for t, (_, ctx, fa, npar, kvu, ub, kt, k) in jobs
    ]
    return dict(zip(jobs, run_llamacpp(cfgs, per_process=10), strict=True))


def _close(pred_mib: float, meas_mib: float) -> bool:
    return abs(pred_mib - meas_mib) <= max(1.0, 0.01 * meas_mib)


@pytest.mark.parametrize("target", ["llama", "moe"])
@pytest.mark.parametrize("cfg", CFGS, ids=[c[0] for c in CFGS])
def test_draft_buffers_match_llamacpp(models, logs, target, cfg):
    _, ctx, fa, npar, kvu, ub, kt, k = cfg
    log = logs[(target, cfg)]
    assert log.ok, log.error
    assert log.draft is not None, "no draft context in the log"
    t_spec, d_spec = load_model_source(models[target]), load_model_source(models["draft"])
    settings = PlanSettings(
        n_ctx=ctx,
        flash_attn=fa,
        n_parallel=npar,
        kv_unified=kvu,
        n_ubatch=ub,
        ngl=0,
        speculative=spec_settings(t_spec, draft=d_spec, draft_max=k, kv_type_draft=kt),
    )
    profile = build_profile()
    pl, devs = device_memory(t_spec, CPU_BOX, settings, ctx, 0, profile)
    [buf] = draft_buffers(t_spec, CPU_BOX, settings, ctx, pl, profile, device_memory, HOST_FIXED_BYTES)
    pred = {
        "model": buf.weights_bytes / MIB,
        "KV": buf.kv_bytes / MIB,
        "compute": buf.compute_bytes / MIB,
        "output": buf.output_bytes / MIB,
    }
    meas = {kind: log.draft.mib(kind) for kind in pred}
    misses = {kind: (round(pred[kind], 2), meas[kind]) for kind in pred if not _close(pred[kind], meas[kind])}
    assert not misses, f"draft buffers off (predicted, llama.cpp MiB): {misses}"
    # the target's own buffers are unchanged by the draft, and rigfit adds the draft on top
    host = devs[-1]
    assert _close(host.kv_bytes / MIB + host.recurrent_bytes / MIB, log.mib("KV") + log.mib("RS"))
    assert _close(host.compute_bytes / MIB, log.mib("compute"))
    assert host.draft_bytes == buf.total_bytes
    assert int(log.context["n_outputs_max"]) == (k + 1) * npar


# ---------------------------------------------------------------------------------------------
# MTP: a synthetic glm4moe GGUF with one NextN block, loaded with --spec-type draft-mtp
# ---------------------------------------------------------------------------------------------

#: (label, glm4moe shape) — the shapes the MTP compute model was fitted on, plus one it was not
#: (n_used 3, 6 heads).
MTP_SHAPES = [
    ("embd256", {}),
    ("embd512-8heads", {"n_embd": 512, "n_head": 8, "n_ff_exp": 128}),
    ("embd512-wide-experts", {"n_embd": 512, "n_ff_exp": 512}),
    ("embd512-4kv-hd128", {"n_embd": 512, "head_dim": 128, "n_head_kv": 4, "n_ff_exp": 128}),
    ("embd384-unseen", {"n_embd": 384, "n_head": 6, "n_used": 3, "n_ff_exp": 160, "n_vocab": 3000}),
]
# (label, n_ctx, fa, parallel, ubatch)
MTP_CFGS = [
    ("ctx4096", 4096, "auto", 1, 512),
    ("ctx16384-fa-on", 16384, "on", 1, 512),
    ("ctx16384-np2", 16384, "auto", 2, 512),
    ("ctx8192-ub1024", 8192, "auto", 1, 1024),
]


@pytest.fixture(scope="module")
def mtp_runs(tmp_path_factory):
    from glm4moe_synth import write_glm4moe  # lazy: the synthetic writer lives in tests/

    d = tmp_path_factory.mktemp("mtp")
    files = {label: str(write_glm4moe(d / f"{label}.gguf", **kw).path) for label, kw in MTP_SHAPES}
    jobs = [(s, c) for s, _ in MTP_SHAPES for c in MTP_CFGS]
    cfgs = [
        RunConfig(files[s], n_ctx=ctx, flash_attn=fa, n_parallel=npar, n_ubatch=ub, mtp=True)
        for s, (_, ctx, fa, npar, ub) in jobs
    ]
    plain = [RunConfig(files[s]) for s, _ in MTP_SHAPES]
    # one context per child: the MTP context's log lines must not mix with the next configuration's
    logs = run_llamacpp(cfgs + plain, per_process=1)
    plain_logs = dict(zip([s for s, _ in MTP_SHAPES], logs[len(jobs) :], strict=True))
    return files, dict(zip(jobs, logs[: len(jobs)], strict=True)), plain_logs


@pytest.mark.parametrize("shape", [s for s, _ in MTP_SHAPES])
@pytest.mark.parametrize("cfg", MTP_CFGS, ids=[c[0] for c in MTP_CFGS])
def test_mtp_buffers_match_llamacpp(mtp_runs, shape, cfg):
    files, logs, plain = mtp_runs
    _, ctx, fa, npar, ub = cfg
    log = logs[(shape, cfg)]
    assert log.ok, log.error
    assert log.draft is not None, "no MTP context in the log"
    spec = load_model_source(files[shape])
    settings = PlanSettings(
        n_ctx=ctx,
        flash_attn=fa,
        n_parallel=npar,
        n_ubatch=ub,
        ngl=0,
        speculative=spec_settings(spec, mtp=True),
    )
    profile = build_profile()
    pl, devs = device_memory(spec, CPU_BOX, settings, ctx, 0, profile)
    [buf] = draft_buffers(spec, CPU_BOX, settings, ctx, pl, profile, device_memory, HOST_FIXED_BYTES)
    host = devs[-1]
    # the NextN block loads only with MTP: the trunk's weights are the plain run's model buffer
    assert _close(host.weights_bytes / MIB, plain[shape].mib("model"))
    pred = {
        "model": (host.weights_bytes + buf.weights_bytes) / MIB,
        "KV": buf.kv_bytes / MIB,
        "compute": buf.compute_bytes / MIB,
        "output": buf.output_bytes / MIB,
    }
    meas = {
        "model": log.mib("model"),
        "KV": log.draft.mib("KV"),
        "compute": log.draft.mib("compute"),
        "output": log.draft.mib("output"),
    }
    # below 8K tokens the MTP compute buffer is known to its ±40 % band only (mtp_compute_bytes)
    exact = [k for k in pred if k != "compute" or ctx >= MTP_SHORT_CTX]
    misses = {k: (round(pred[k], 2), meas[k]) for k in exact if not _close(pred[k], meas[k])}
    assert not misses, f"MTP buffers off (predicted, llama.cpp MiB): {misses}"
    assert abs(pred["compute"] - meas["compute"]) * MIB <= max(MIB, buf.uncertainty_bytes)
