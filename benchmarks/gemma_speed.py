"""Bundled Gemma 3 270M on this machine: measured (xllamacpp) vs predicted (speed model band).

    python benchmarks/gemma_speed.py [--repeat 5] [--prompt 512] [--gen 64]

Measures with BEN's bench runner (real llama.cpp through xllamacpp, a child process) and predicts
the same tests for this machine (hardware catalog detection). Prints every sample, the spread and
the load average before and after: on a shared machine neighbours' work slows some repeats, so the
*fastest* repeat is the best estimate of the quiet machine and the spread says how noisy the run
was. Exit 0 when the best repeat of each test lies inside its p10–p90 band.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.formats.bundled import bundled_gemma_path  # noqa: E402
from rigfit.measure.bench import BenchSettings, run_bench  # noqa: E402
from rigfit.measure.calibrate import predict_tests  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--gen", type=int, default=64)
    args = ap.parse_args(argv)
    path = bundled_gemma_path()
    load0 = os.getloadavg()
    settings = BenchSettings(
        model_path=str(path), prompt=args.prompt, gen=args.gen, depths=(0,), repeat=args.repeat, timeout_s=590
    )
    pred = predict_tests(path, [("pp", args.prompt, 0, 0), ("tg", 0, args.gen, args.prompt)])
    report = run_bench(settings)
    load1 = os.getloadavg()
    d = report.first
    print(
        f"machine: {pred.get('machine')}; threads {report.threads_used}; "
        f"load average before {load0[0]:.1f}, after {load1[0]:.1f} ({os.cpu_count()} CPUs)"
    )
    if "tests" not in pred:
        print(f"no prediction: {pred.get('error')}")
        return 1
    ok = True
    for name, stat in ((d.prefill_test, d.prefill_tps), (d.decode_test, d.decode_tps)):
        p = pred["tests"][name]
        best = stat.high
        inside = p["low"] <= best <= p["high"]
        ok &= inside
        samples = ", ".join(f"{x:.1f}" for x in stat.samples)
        print(
            f"{name:12s} measured best {best:8.1f} tok/s, median {stat.median:8.1f} "
            f"(samples {samples}; spread {stat.spread_pct:.0f} %)"
        )
        print(
            f"{'':12s} predicted     {p['tps']:8.1f} tok/s, band {p['low']:.1f}–{p['high']:.1f} "
            f"(roofline {p['roofline_tps']:.1f}) → {'inside' if inside else 'OUTSIDE'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
