"""Time ``rigfit predict`` on 1,000 cases (acceptance: under 5 s).

    python benchmarks/predict_speed.py [--n 1000]

Takes the first N rows of the ground truth (data/ground-truth/speed_calibration.csv, repeated if
needed), runs the CLI in a fresh process (import time included) and prints the wall time.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.measure.groundtruth import default_calibration_path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--data", type=Path, default=default_calibration_path())
    args = ap.parse_args(argv)
    with open(args.data, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    cases = [rows[i % len(rows)] for i in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "cases.csv", Path(tmp) / "out.csv"
        with open(inp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header)
            w.writeheader()
            w.writerows(cases)
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "rigfit", "predict", "--cases", str(inp), "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        with open(out, encoding="utf-8") as fh:
            n_out = sum(1 for _ in csv.DictReader(fh))
    print(f"rigfit predict: {n_out} cases in {took:.2f} s (limit 5 s: {'ok' if took < 5 else 'MISSED'})")
    return 0 if took < 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
