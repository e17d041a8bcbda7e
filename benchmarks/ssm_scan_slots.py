"""falcon-h1 / mamba2 compute buffer against real llama.cpp (xllamacpp, CPU) over the number of
slots: the SSM scan's result (y + one final state per sequence, ``ggml_ssm_scan``) grows with
``-np``, which ``rigfit.estimate.memory.ssm_scan_extra_bytes`` models. Prints predicted and
measured compute buffers [MiB] at n_ctx 4096, ubatch 512, FA on/off, 1–8 slots.

    python benchmarks/ssm_scan_slots.py [--shapes falcon-h1,falcon-h1-grp2,mamba2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "archs"))

import sweep
from falcon_h1_synth import write_falcon_h1

import synth

SHAPES = {
    "falcon-h1": lambda p, wtype: write_falcon_h1(p, n_ctx=32768),
    "falcon-h1-grp2": lambda p, wtype: write_falcon_h1(p, n_group=2, n_ctx=32768),
    "falcon-h1-dstate128": lambda p, wtype: write_falcon_h1(p, d_state=128, n_ctx=32768),
    "falcon-h1-dinner1024": lambda p, wtype: write_falcon_h1(p, d_inner=1024, n_ctx=32768),
    "mamba2": lambda p, wtype: synth.write_mamba2(p, n_ctx=32768),
}
SLOTS = (1, 2, 3, 4, 6, 8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset")
    a = ap.parse_args()
    settings = tuple(
        sweep.Setting(f"-c 4096 -np {n} -fa {fa}", 4096, fa, n_parallel=n)
        for fa in ("on", "off")
        for n in SLOTS
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.shapes.split(","):
            for r in sweep.sweep({name: SHAPES[name]}, settings, ("F16",), Path(tmp)):
                if r.meas is None:
                    print(f"{name:22} {r.setting:24} llama.cpp refused: {r.error}")
                    continue
                p, m = r.pred["compute"], r.meas["compute"]
                print(
                    f"{name:22} {r.setting:24} compute predicted {p:7.2f} measured {m:7.2f} diff {p - m:+.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
