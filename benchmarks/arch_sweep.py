"""Every synthetic architecture × setting against real llama.cpp (xllamacpp, CPU): issue 12's
memory acceptance, "within 1 % or 1 MiB for weights, repack, KV, recurrent, compute and output".

For each family of tests/archs/sweep.py (F16 and Q4_0 weights, the latter for the CPU repack
rules) and each of its 16 settings (ctx 512/4096/32768, FA on/off, f16/q8_0 KV, 1 and 4 slots,
--swa-full, -kvu, ubatch 128/1024), compare rigfit's CPU buffers with the ones llama.cpp logs.
Prints every miss, the count within the band, and the worst case per buffer kind (MiB and %).

    python benchmarks/arch_sweep.py [--families llama,gemma3n] [--wtypes F16] [--quick] [--settings q8_0]

The families at released layer sizes (``sweep.LARGE_FAMILIES``, hundreds of MiB each) run only
when named: ``--families gemma4-e2b-dims,gemma4-26b-a4b-dims --wtypes Q4_0``.

Measured figures: llama.cpp's own log lines (``CPU_Mapped``/``CPU_REPACK`` model buffers, KV,
RS, compute and output buffers, MiB with two decimals); predicted: rigfit.plan.device_memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "archs"))

import sweep


def _badness(r: sweep.Result, kind: str) -> float:
    """|predicted − measured| in units of the acceptance band max(1 MiB, 1 %)."""
    assert r.meas is not None
    return abs(r.pred[kind] - r.meas[kind]) / max(1.0, 0.01 * r.meas[kind])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--wtypes", default=",".join(sweep.WTYPES), help="weight types (F16,Q4_0)")
    ap.add_argument("--quick", action="store_true", help="only the tests' three settings")
    ap.add_argument("--settings", default="", help="only settings whose label contains this (e.g. q8_0)")
    a = ap.parse_args()
    known = {**sweep.FAMILIES, **sweep.LARGE_FAMILIES}
    names = [f for f in a.families.split(",") if f] or list(sweep.FAMILIES)
    unknown = [f for f in names if f not in known]
    if unknown:
        print(f"unknown families: {', '.join(unknown)}; known: {', '.join(known)}")
        return 2
    settings = tuple(s for s in (sweep.QUICK if a.quick else sweep.SETTINGS) if a.settings in s.label)
    if not settings:
        print(
            f"no setting label contains {a.settings!r}; known: {', '.join(s.label for s in sweep.SETTINGS)}"
        )
        return 2
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        results = sweep.sweep({f: known[f] for f in names}, settings, tuple(a.wtypes.split(",")), Path(tmp))
    print("## Misses (predicted / llama.cpp, MiB) and refused loads")
    refused = [r for r in results if r.error]
    for r in results:
        if r.error:
            print(f"{r.family:16} {r.wtype:5} {r.setting:28} llama.cpp refused: {r.error[:120]}")
        elif r.misses():
            print(f"{r.family:16} {r.wtype:5} {r.setting:28} {r.misses()}")
    ok = [r for r in results if not r.error and not r.misses()]
    measured = [r for r in results if r.meas is not None]
    print(
        f"\n{len(ok)} of {len(measured)} architecture × setting runs within 1 % or 1 MiB on every buffer "
        f"({len(names)} families, {len(settings)} settings, weights {a.wtypes}; "
        f"{len(refused)} refused by llama.cpp; {time.time() - t0:.0f} s)"
    )
    print("\n## Worst case per buffer kind (largest |predicted − measured| / max(1 MiB, 1 %))")
    print(f"{'buffer':8} {'MiB':>8} {'%':>7}  {'where'}")
    for label, runs in (("all runs", measured), ("runs within the band", ok)):
        print(f"-- {label}")
        for kind in sweep.KINDS:
            worst = max(runs, key=lambda r: _badness(r, kind), default=None)
            if worst is None or worst.meas is None:
                continue
            d = worst.pred[kind] - worst.meas[kind]
            pct = 100 * d / worst.meas[kind] if worst.meas[kind] else 0.0
            print(
                f"{kind:8} {d:+8.2f} {pct:+6.1f}%  {worst.family} {worst.wtype} {worst.setting} "
                f"({worst.pred[kind]:.2f} vs {worst.meas[kind]:.2f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
