"""Draft model memory: rigfit's prediction against real llama.cpp (xllamacpp, CPU).

Creates a target context plus a speculative draft context (``-md``) in llama.cpp for synthetic
llama and MoE targets with a small llama draft, and prints the draft context's buffers, predicted
/ logged (MiB), and the target's buffers with and without the draft. An MTP head is tried on the
bundled llama.cpp too: it refuses MTP for architectures without an MTP graph (the synthetic
models), which the last line reports.

    PYTHONPATH=src python benchmarks/speculative_memory_vs_llamacpp.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import synth  # tests/synth.py: synthetic GGUF writer (on the path above)
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
    print(f"configurations: {n}; largest absolute difference: {worst:.2f} MiB")
    [mtp] = run_llamacpp([RunConfig(str(files["llama"]), mtp=True)])
    print(f"MTP on a synthetic llama: {'created' if mtp.ok else 'refused'} ({mtp.error or 'ok'})")


if __name__ == "__main__":
    main()
