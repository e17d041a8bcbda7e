"""Batched decode against published ``llama-batched-bench`` results: MdAPE of aggregate tok/s.

    python benchmarks/batched_bench_accuracy.py [--csv data/ground-truth/batched_bench.csv]

Each row of the ground truth is one ``llama-batched-bench`` line: B sequences, each with its own
PP-token prompt (``is_pp_shared=0``), then TG tokens decoded for all B at once; ``S_TG`` is the
aggregate decode rate B·TG/T_TG. The prediction is :func:`rigfit.estimate.concurrency.batched_tps`
for the published hardware and model (the same catalog resolution as ``benchmarks/accuracy.py``),
decoding from depth PP for TG tokens at batch B. No speed constant is fitted to these rows: the
batched model adds no parameter to the single-stream speed constants. The rows did choose the MoE
routing exponent across users (γ = 1, independent, over the constants' 0.75) and set the band's
widening (``--fit-band``). Prints MdAPE overall, by B and by
model, and the share of rows inside the p10–p90 band.

Caveat: all rows come from one device (NVIDIA GB10), so no leave-one-device-out split exists; the
single-stream constants were fitted on a ground truth that includes this device's llama-bench rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.estimate.concurrency import batched_tps  # noqa: E402
from rigfit.estimate.predict import resolve_hardware, resolve_work  # noqa: E402

CSV = ROOT / "data" / "ground-truth" / "batched_bench.csv"
BAND_OUT = ROOT / "src" / "rigfit" / "catalog" / "data" / "batched_band.json"


def evaluate(path: Path) -> list[dict]:
    """One dict per row: published and predicted aggregate tok/s, band and APE [%]."""
    out = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            machine = resolve_hardware(row["hardware"], int(row["n_devices"]), row["backend"])
            work = resolve_work(
                row["model"],
                row["model_family"],
                float(row["params_b"]),
                row["quant"],
                float(row["model_size_gib"]),
            )
            b, pp, tg = int(row["batch"]), int(row["prompt_tokens"]), int(row["gen_tokens"])
            per, lo, hi = batched_tps(
                work,
                machine,
                backend=row["backend"],
                users=b,
                depth=pp,
                n_tokens=tg,
                flash_attn=row["flash_attn"] == "1",
                n_ubatch=int(row["n_ubatch"]),
            )
            meas = float(row["s_tg_tps"])
            out.append(
                {
                    "model": row["model"],
                    "batch": b,
                    "pp": pp,
                    "measured": meas,
                    "predicted": per * b,
                    "low": lo * b,
                    "high": hi * b,
                    "ape": abs(per * b - meas) / meas * 100.0,
                    "source": row["source_url"],
                }
            )
    return out


def fit_band(res: list[dict]) -> None:
    """p10 / p90 of log(measured / predicted) over the rows with B > 1 → the batched band file."""
    logs = sorted(math.log(r["measured"] / r["predicted"]) for r in res if r["batch"] > 1)
    q = statistics.quantiles(logs, n=10)
    out = {
        "p10": round(q[0], 4),
        "p90": round(q[-1], 4),
        "n": len(logs),
        "sources": sorted({r["source"] for r in res}),
        "fitted_by": "benchmarks/batched_bench_accuracy.py --fit-band on data/ground-truth/batched_bench.csv",
        "meaning": "log(measured / predicted) quantiles of aggregate decode tok/s at batch > 1",
    }
    BAND_OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {BAND_OUT.relative_to(ROOT)}: p10 {out['p10']}, p90 {out['p90']} (n = {out['n']})")


def lomo_coverage(res: list[dict]) -> str:
    """Share of B > 1 rows inside a band whose widening was fitted on the other models only."""
    inside = total = 0
    for model in sorted({r["model"] for r in res}):
        others = sorted(
            math.log(r["measured"] / r["predicted"]) for r in res if r["batch"] > 1 and r["model"] != model
        )
        q = statistics.quantiles(others, n=10)
        for r in res:
            if r["batch"] > 1 and r["model"] == model:
                total += 1
                inside += r["predicted"] * math.exp(q[0]) <= r["measured"] <= r["predicted"] * math.exp(q[-1])
    return f"{inside}/{total}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=CSV)
    ap.add_argument("--rows", action="store_true", help="print every row")
    ap.add_argument("--fit-band", action="store_true", help=f"write {BAND_OUT.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    res = evaluate(args.csv)
    if args.fit_band:
        fit_band(res)
    if args.rows:
        for r in res:
            print(
                f"{r['model'][:28]:28s} PP {r['pp']:5d} B {r['batch']:3d}: measured {r['measured']:8.1f}, "
                f"predicted {r['predicted']:8.1f} ({r['low']:.1f}–{r['high']:.1f}), APE {r['ape']:.0f} %"
            )
    inside = sum(1 for r in res if r["low"] <= r["measured"] <= r["high"])
    mdape = statistics.median(r["ape"] for r in res)
    print(
        f"llama-batched-bench aggregate decode tok/s: n = {len(res)}, MdAPE {mdape:.1f} %, "
        f"inside p10–p90 band {inside}/{len(res)}"
    )
    multi = [r["ape"] for r in res if r["batch"] > 1]
    print(f"  B > 1 only: n = {len(multi)}, MdAPE {statistics.median(multi):.1f} %")
    by: dict[str, list[float]] = defaultdict(list)
    for r in res:
        by[f"B={r['batch']}"].append(r["ape"])
    for r in res:
        by[r["model"]].append(r["ape"])
    for k, v in by.items():
        print(f"  {k:55s} n = {len(v):3d}  MdAPE {statistics.median(v):5.1f} %")
    print(f"  band coverage, leave-one-model-out (B > 1): {lomo_coverage(res)}")
    print("sources: " + ", ".join(sorted({r["source"] for r in res})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
