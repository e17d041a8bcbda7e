"""Draft model memory: rigfit's prediction against real llama.cpp (xllamacpp, CPU).

Creates a target context plus a speculative draft context (``-md``) in llama.cpp for synthetic
llama and MoE targets with a small llama draft, and prints the draft context's buffers, predicted
/ logged (MiB). Then an MTP head: synthetic glm4moe GGUFs with one NextN block loaded with
``--spec-type draft-mtp`` (the MTP context's weights, KV, compute and output; the trunk's weights
from a run without MTP).

    PYTHONPATH=src python benchmarks/speculative_memory_vs_llamacpp.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import synth  # tests/synth.py: synthetic GGUF writer (on the path above)
from glm4moe_synth import write_glm4moe
from rigfit.estimate.memory import build_profile
from rigfit.estimate.speculative import draft_buffers, spec_settings
from rigfit.formats.source import load_model_source
from rigfit.hardware.devices import Machine
from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp
from rigfit.plan import HOST_FIXED_BYTES, PlanSettings, device_memory

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only", ram_bytes=64 * 1024**3)
# (n_ctx, fa, parallel, unified, ubatch, draft kv type, draft max)
GRID = [
    (4096, "auto", 1, False, 512, "f16", 3),
    (8192, "on", 2, False, 512, "q8_0", 3),
    (2048, "off", 1, False, 512, "f16", 16),
    (4096, "auto", 1, False, 1024, "f16", 3),
    (16384, "auto", 4, True, 512, "f16", 3),
    (32768, "on", 1, False, 512, "q4_0", 8),
]


def main() -> None:
    d = Path(tempfile.mkdtemp())
    files = {
        "llama": synth.write_llama(d / "t.gguf", n_embd=512, n_ff=1536, n_head=8, n_head_kv=2).path,
        "moe": synth.write_moe(d / "moe.gguf").path,
    }
    draft = synth.write_llama(d / "draft.gguf", n_layer=2, n_embd=256, n_ff=768, n_head=4, n_head_kv=2).path
    jobs = [(m, g) for m in files for g in GRID]
    cfgs = [
        RunConfig(
            str(files[m]),
            n_ctx=c,
            flash_attn=fa,
            n_parallel=n,
            kv_unified=u,
            n_ubatch=ub,
            draft_path=str(draft),
            draft_max=k,
            draft_type_k=kt,
            draft_type_v=kt,
        )
        for m, (c, fa, n, u, ub, kt, k) in jobs
    ]
    logs = run_llamacpp(cfgs, per_process=12)
    d_spec = load_model_source(draft)
    print("## Draft context buffers, rigfit / llama.cpp (MiB), xllamacpp CPU")
    print(f"{'target':6} {'config':34} {'model':>13} {'KV':>13} {'compute':>13} {'output':>11} ok")
    worst = 0.0
    n = 0
    for (m, (c, fa, npar, u, ub, kt, k)), log in zip(jobs, logs, strict=True):
        label = f"c{c} fa={fa} np={npar}{' kvu' if u else ''} ub={ub} {kt} k={k}"
        if not log.ok or log.draft is None:
            print(f"{m:6} {label:34} llama.cpp refused: {log.error}")
            continue
        t_spec = load_model_source(files[m])
        s = PlanSettings(
            n_ctx=c,
            flash_attn=fa,
            n_parallel=npar,
            kv_unified=u,
            n_ubatch=ub,
            ngl=0,
            speculative=spec_settings(t_spec, draft=d_spec, draft_max=k, kv_type_draft=kt),
        )
        prof = build_profile()
        pl, _ = device_memory(t_spec, CPU_BOX, s, c, 0, prof)
        [b] = draft_buffers(t_spec, CPU_BOX, s, c, pl, prof, device_memory, HOST_FIXED_BYTES)
        pairs = [
            (b.weights_bytes / MIB, log.draft.mib("model")),
            (b.kv_bytes / MIB, log.draft.mib("KV")),
            (b.compute_bytes / MIB, log.draft.mib("compute")),
            (b.output_bytes / MIB, log.draft.mib("output")),
        ]
        ok = all(abs(p - q) <= max(1.0, 0.01 * q) for p, q in pairs)
        worst = max(worst, *(abs(p - q) for p, q in pairs))
        n += 1
        cells = " ".join(f"{p:6.2f}/{q:6.2f}" for p, q in pairs)
        print(f"{m:6} {label:34} {cells} {'ok' if ok else 'MISS'}")
    print(f"configurations: {n}; largest absolute difference: {worst:.2f} MiB\n")
    mtp_table(d)


MTP_SHAPES = {
    "embd256": {},
    "embd512-8h": {"n_embd": 512, "n_head": 8, "n_ff_exp": 128},
    "embd512-wide": {"n_embd": 512, "n_ff_exp": 512},
    "embd512-hd128": {"n_embd": 512, "head_dim": 128, "n_head_kv": 4, "n_ff_exp": 128},
    "embd384-6h": {"n_embd": 384, "n_head": 6, "n_used": 3, "n_ff_exp": 160, "n_vocab": 3000},
}
MTP_GRID = [(4096, "auto", 1), (8192, "on", 1), (16384, "auto", 2), (32768, "on", 1), (8192, "off", 1)]


def mtp_table(d: Path) -> None:
    files = {k: write_glm4moe(d / f"{k}.gguf", **kw).path for k, kw in MTP_SHAPES.items()}
    jobs = [(k, g) for k in files for g in MTP_GRID]
    cfgs = [
        RunConfig(str(files[k]), n_ctx=c, flash_attn=fa, n_parallel=n, mtp=True) for k, (c, fa, n) in jobs
    ]
    plain = run_llamacpp([RunConfig(str(f)) for f in files.values()], per_process=1)
    logs = run_llamacpp(cfgs, per_process=1)  # one context per child: MTP log lines stay apart
    print("## MTP context (glm4moe + 1 NextN block), rigfit / llama.cpp (MiB), xllamacpp CPU")
    print(f"{'shape':14} {'config':22} {'trunk':>13} {'+NextN':>13} {'KV':>11} {'compute':>15} {'out':>9} ok")
    n = n_exact = 0
    worst = 0.0
    for (k, (c, fa, npar)), log in zip(jobs, logs, strict=True):
        label = f"c{c} fa={fa} np={npar}"
        if not log.ok or log.draft is None:
            print(f"{k:14} {label:22} llama.cpp refused: {log.error}")
            continue
        spec = load_model_source(files[k])
        s = PlanSettings(
            n_ctx=c, flash_attn=fa, n_parallel=npar, ngl=0, speculative=spec_settings(spec, mtp=True)
        )
        prof = build_profile()
        pl, devs = device_memory(spec, CPU_BOX, s, c, 0, prof)
        [b] = draft_buffers(spec, CPU_BOX, s, c, pl, prof, device_memory, HOST_FIXED_BYTES)
        trunk = devs[-1].weights_bytes / MIB
        pairs = [
            (trunk, plain[list(files).index(k)].mib("model")),
            (trunk + b.weights_bytes / MIB, log.mib("model")),
            (b.kv_bytes / MIB, log.draft.mib("KV")),
            (b.compute_bytes / MIB, log.draft.mib("compute")),
            (b.output_bytes / MIB, log.draft.mib("output")),
        ]
        ok = all(abs(p - q) <= max(1.0, 0.01 * q) for p, q in pairs)
        n += 1
        n_exact += ok
        worst = max(worst, *(abs(p - q) for p, q in pairs))
        cells = " ".join(f"{p:6.2f}/{q:6.2f}" for p, q in pairs)
        print(f"{k:14} {label:22} {cells} {'ok' if ok else 'MISS'}")
    print(f"MTP configurations: {n}; within 1 % / 1 MiB: {n_exact}; largest difference: {worst:.2f} MiB")


if __name__ == "__main__":
    main()
