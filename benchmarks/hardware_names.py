"""How many published hardware names resolve, and how fast `rigfit hardware` answers.

Reads the ``hardware`` column of data/ground-truth/{speed_calibration,memory}.csv (names as
published: "NVIDIA GeForce RTX 3090", "Apple M2 Ultra 76-Core GPU 192GB", "Intel® Core™ i5-13500",
"NVIDIA GeForce RTX 4090 x2" …), resolves each with ``resolve_machine`` and prints the share of
distinct names and of rows that resolve, the unresolved names, and the wall time of a cold
``python -m rigfit hardware NAME --json`` (median of 5; on a shared machine, so an upper bound).

    python benchmarks/hardware_names.py [--ground-truth data/ground-truth]
"""

from __future__ import annotations

import argparse
import collections
import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine

GROUND_TRUTH = Path(__file__).resolve().parents[1] / "data" / "ground-truth"


def coverage(path: Path) -> tuple[int, int, int, int, list[tuple[str, str]]]:
    """(names resolved, distinct names, rows resolved, rows, unresolved [(name, reason)])."""
    counts = collections.Counter(r["hardware"] for r in csv.DictReader(path.open(encoding="utf-8")))
    ok_names = ok_rows = 0
    bad: list[tuple[str, str]] = []
    for name, n in sorted(counts.items()):
        try:
            resolve_machine(name)
            ok_names += 1
            ok_rows += n
        except RigfitError as exc:
            bad.append((name, exc.message))
    return ok_names, len(counts), ok_rows, sum(counts.values()), bad


def cli_seconds(name: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rigfit", "hardware", name, "--json"], check=True, capture_output=True
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ground-truth",
        type=Path,
        default=GROUND_TRUTH,
        help="folder holding speed_calibration.csv and memory.csv",
    )
    args = ap.parse_args()
    for fname in ("speed_calibration.csv", "memory.csv"):
        path = args.ground_truth / fname
        if not path.exists():
            print(f"{path}: missing")
            continue
        okn, n, okr, rows, bad = coverage(path)
        print(
            f"{fname}: {okn}/{n} distinct names ({okn / n:.0%}), {okr}/{rows} rows ({okr / rows:.0%}) resolve"
        )
        for name, why in bad:
            print(f"  unresolved: {name!r}: {why}")
    for name in ("RTX 4090", "M3 Max 40-core 128GB", "2x RTX 3090 + Ryzen 9 5950X + 128GB DDR4-3200"):
        print(f"cold `rigfit hardware {name!r} --json`: {cli_seconds(name):.2f} s (median of 5)")


if __name__ == "__main__":
    main()
