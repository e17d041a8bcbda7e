"""Leave-one-device-out accuracy of the speed model on the ground truth (data/ground-truth).

    python benchmarks/accuracy.py [--data data/ground-truth/speed_calibration.csv] [--by-device]
                                  [--csv OUT.csv]

For every device (published hardware name without counts) the constants are refitted on all
other devices and the full predictor (``rigfit predict``'s code path, with its floors and
roofline caps) predicts the held-out rows. Prints MdAPE and the 90th percentile of the absolute
percentage error for prefill (pp) and decode (tg), overall, by backend and by hardware kind, and
the share of rows resolved. ``--csv`` writes every held-out prediction.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from rigfit.estimate.lodo import ape, build_fit_rows, lodo_predictions, summarise  # noqa: E402
from rigfit.estimate.speed import load_constants  # noqa: E402
from rigfit.measure.groundtruth import default_calibration_path  # noqa: E402

#: Host PCIe links of the sources that state their host (see host_links_from_notebooks.py).
HOST_LINKS = ROOT / "benchmarks" / "data" / "groundtruth_host_links.csv"

TARGETS = {"tg": 0.12, "pp": 0.20, "p90": 0.40}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_calibration_path())
    ap.add_argument(
        "--host-links",
        type=Path,
        default=HOST_LINKS,
        help="per-source host PCIe links to add (benchmarks/host_links_from_notebooks.py)",
    )
    ap.add_argument("--by-device", action="store_true", help="also print each held-out device")
    ap.add_argument("--csv", type=Path, help="write the held-out predictions here")
    args = ap.parse_args(argv)
    if args.data is None or not args.data.exists():
        print("accuracy: ground-truth CSV not found (use --data)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    C = dict(load_constants())
    rows, unresolved, n_total = build_fit_rows(args.data, C, args.host_links)
    pairs = lodo_predictions(rows, C)
    took = time.perf_counter() - t0
    print(
        f"leave-one-device-out on {args.data.name}: {n_total} rows, {len(rows)} resolved "
        f"({len(rows) / n_total:.1%}), {len({r.device for r in rows})} devices, {took:.0f} s"
    )
    for reason, n in unresolved.most_common(10):
        print(f"  unresolved {n:4d}: {reason}")
    summary = summarise(pairs)
    print(f"\n{'group':34s} {'n':>5s} {'MdAPE':>7s} {'p90':>7s}")
    for k, v in summary.items():
        print(f"{k:34s} {v['n']:5d} {v['mdape']:7.1%} {v['p90']:7.1%}")
    print("\nacceptance: decode MdAPE ≤ 12 %, prefill MdAPE ≤ 20 %, p90 ≤ 40 %, ≥ 95 % resolved")
    for kind in ("tg", "pp"):
        s = summary.get(kind)
        if s:
            ok_md = s["mdape"] <= TARGETS[kind]
            ok_p90 = s["p90"] <= TARGETS["p90"]
            print(
                f"  {kind}: MdAPE {s['mdape']:.1%} ({'ok' if ok_md else 'MISSED'}), "
                f"p90 {s['p90']:.1%} ({'ok' if ok_p90 else 'MISSED'})"
            )
    print(f"  resolved: {len(rows) / n_total:.1%} ({'ok' if len(rows) / n_total >= 0.95 else 'MISSED'})")
    inside = [(r.kind, lo <= r.observed_tps <= hi) for r, lo, hi in _bands(pairs, C)]
    for kind in ("tg", "pp"):
        sel = [x for k, x in inside if k == kind]
        if sel:
            print(f"  {kind}: {np.mean(sel):.0%} of held-out rows inside their p10–p90 band")
    if args.by_device:
        dev = defaultdict(list)
        for r, p in pairs:
            dev[(r.device, r.kind)].append(math.log(r.observed_tps / p))
        print(f"\n{'device':60s} kind   n  median log(obs/pred)")
        for (d, k), v in sorted(dev.items()):
            print(f"{d[:60]:60s} {k:4s} {len(v):4d}  {np.median(v):+.2f}")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "hardware",
                    "n_devices",
                    "backend",
                    "model",
                    "quant",
                    "test",
                    "flash_attn",
                    "build",
                    "year",
                    "observed_tps",
                    "predicted_tps",
                    "ape",
                    "source_url",
                    "notes",
                ]
            )
            for r, p in pairs:
                c = r.ref.case
                w.writerow(
                    [
                        c.hardware,
                        c.n_devices,
                        c.backend,
                        c.model,
                        c.quant,
                        c.test_name,
                        c.flash_attn,
                        c.build,
                        c.year,
                        r.observed_tps,
                        f"{p:.4g}",
                        f"{ape(r.observed_tps, p):.4f}",
                        c.source_url,
                        c.notes,
                    ]
                )
    return 0


def _bands(pairs, C):
    from rigfit.estimate.speed import band

    for r, p in pairs:
        kind = "tg" if r.kind == "pg" else r.kind
        lo, hi = band(C, kind, r.backend, p, r.ref.settings.split_mode)
        yield r, min(lo, p), max(hi, p)


if __name__ == "__main__":
    raise SystemExit(main())
