"""Peak memory of ``rigfit predict`` on many rows and ``rigfit results --import`` of a big file
(issue 18, defect 12: predict on 1M rows under 300 MB RSS; a 200k-row import bounded).

    PYTHONPATH=src python benchmarks/stream_rss.py [--predict-rows 1000000] [--import-rows 200000]
                                                   [--only predict|import]

predict: the ground-truth rows (data/ground-truth/speed_calibration.csv) repeated to N rows, each
with a distinct ``notes`` cell so the output cannot be shared between rows. import: N distinct
llama-bench ``-o jsonl`` tests (as ``llama-bench -o jsonl`` writes them, one object a line).
Each command runs in a fresh process; its peak resident set comes from the kernel
(``wait4`` rusage ``ru_maxrss``, KiB on Linux). Prints rows, wall time and peak RSS per command.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.measure.groundtruth import default_calibration_path  # noqa: E402

#: Acceptance bound of issue 18 for predict on 1M rows [MB].
PREDICT_RSS_LIMIT_MB = 300


def peak_rss(cmd: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """Run ``cmd``; (exit code, wall seconds, peak RSS in MB of that process)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return code, took, usage.ru_maxrss / 1024


def write_cases(path: Path, n: int) -> None:
    with open(default_calibration_path(), newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for i in range(n):
            w.writerow({**rows[i % len(rows)], "notes": f"row {i}"})


def write_bench_jsonl(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            obj = {
                "build_commit": "abc1234",
                "build_number": 1,
                "cpu_info": "AMD Ryzen 9 7950X",
                "gpu_info": "NVIDIA GeForce RTX 4090",
                "backends": "CUDA",
                "model_type": "llama 8B Q4_K - Medium",
                "model_size": 4920734720,
                "model_n_params": 8030261248,
                "n_batch": 2048,
                "n_ubatch": 512,
                "n_threads": 16,
                "n_gpu_layers": 99,
                "n_prompt": 512 + (i % 4096),
                "n_gen": 0,
                "n_depth": i // 4096,
                "avg_ts": 1000.0 + i * 0.001,
                "stddev_ts": 3.2,
                "samples_ts": [1000.0, 1001.0, 999.0],
            }
            fh.write(json.dumps(obj) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predict-rows", type=int, default=1_000_000)
    ap.add_argument("--import-rows", type=int, default=200_000)
    ap.add_argument("--only", choices=("predict", "import"))
    args = ap.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="rigfit-rss-") as tmp:
        d = Path(tmp)
        env["RIGFIT_DATA_DIR"] = str(d / "data")
        if args.only in (None, "predict"):
            cases, out = d / "cases.csv", d / "out.csv"
            write_cases(cases, args.predict_rows)
            cmd = [sys.executable, "-m", "rigfit", "predict", "--cases", str(cases), "--out", str(out)]
            code, took, rss = peak_rss(cmd, env)
            with open(out, encoding="utf-8") as fh:
                n_out = sum(1 for _ in fh) - 1 if code == 0 else 0
            verdict = "ok" if code == 0 and rss < PREDICT_RSS_LIMIT_MB else "MISSED"
            print(
                f"predict  {args.predict_rows:>9,} rows in, {n_out:>9,} out: {took:7.1f} s, "
                f"peak RSS {rss:6.0f} MB (limit {PREDICT_RSS_LIMIT_MB} MB: {verdict})",
                flush=True,
            )
            failed += verdict != "ok"
            cases.unlink()
            out.unlink(missing_ok=True)
        if args.only in (None, "import"):
            src = d / "bench.jsonl"
            write_bench_jsonl(src, args.import_rows)
            code, took, rss = peak_rss([sys.executable, "-m", "rigfit", "results", "--import", str(src)], env)
            print(
                f"import   {args.import_rows:>9,} rows ({src.stat().st_size / 2**20:.0f} MiB jsonl): "
                f"{took:7.1f} s, peak RSS {rss:6.0f} MB (exit {code})",
                flush=True,
            )
            failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
