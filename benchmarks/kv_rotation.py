"""Compute buffer with a Hadamard-rotated (quantized) KV cache against real llama.cpp (xllamacpp,
CPU): f16 and q8_0 K/V at -c 4096 -fa on, predicted and measured [MiB], and the q8_0 − f16 step.
Families of tests/archs/sweep.py at one slot, and synthetic falcon-h1 shapes at 1 and 4 slots
(rigfit.estimate.memory.attn_rotation_bytes / attn_rotation_block_bytes).

    python benchmarks/kv_rotation.py [--families qwen3moe,gemma4] [--no-falcon]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "archs"))

import sweep
from falcon_h1_synth import write_falcon_h1

#: synthetic falcon-h1 shapes (write_falcon_h1 arguments) of tests/archs/test_falcon_h1.py
FALCON_SHAPES: dict[str, dict[str, int]] = {
    "falcon-h1": {},
    "falcon-h1-h16": {"n_head": 16},
    "falcon-h1-h4": {"n_head": 4},
    "falcon-h1-h4x128": {"n_head": 4, "head_dim": 128},
    "falcon-h1-di1024": {"d_inner": 1024},
    "falcon-h1-di768": {"d_inner": 768},
    "falcon-h1-e512": {"n_embd": 512},
    "falcon-h1-kv8": {"n_head_kv": 8},
    "falcon-h1-ds128": {"d_state": 128},
    "falcon-h1-h16-di1024": {"n_head": 16, "d_inner": 1024},
}


def _row(name: str, results: list[sweep.Result]) -> str:
    cells = []
    for f16, q8 in zip(results[0::2], results[1::2], strict=True):
        if f16.meas is None or q8.meas is None:
            return f"{name:22} llama.cpp refused: {f16.error or q8.error}"
        mf, mq, pf, pq = f16.meas["compute"], q8.meas["compute"], f16.pred["compute"], q8.pred["compute"]
        cells.append(
            f"[{f16.setting}] f16 {pf:6.2f}/{mf:6.2f}  q8_0 {pq:6.2f}/{mq:6.2f}"
            f"  step {pq - pf:+.2f}/{mq - mf:+.2f}"
        )
    return f"{name:22} " + "   ".join(cells)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default=",".join(sweep.FAMILIES), help="comma-separated subset")
    ap.add_argument("--no-falcon", action="store_true", help="skip the falcon-h1 shapes")
    a = ap.parse_args()
    one = (sweep.Setting("np1", 4096), sweep.Setting("np1", 4096, kv_type="q8_0"))
    four = (
        sweep.Setting("np4", 4096, n_parallel=4),
        sweep.Setting("np4", 4096, n_parallel=4, kv_type="q8_0"),
    )
    print("predicted/measured compute buffer [MiB], -c 4096 -fa on, F16 weights")
    with tempfile.TemporaryDirectory() as tmp:
        for f in [f for f in a.families.split(",") if f]:
            path = str(sweep.FAMILIES[f](Path(tmp) / f"{f}.gguf", "F16").path)
            print(_row(f, sweep.compare(path, one)), flush=True)
        if not a.no_falcon:
            for name, kw in FALCON_SHAPES.items():
                path = str(write_falcon_h1(Path(tmp) / f"{name}.gguf", n_ctx=32768, **kw).path)
                print(_row(name, sweep.compare(path, one + four)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
