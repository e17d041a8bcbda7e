"""Fuzz every input kind of rigfit's CLI with hostile inputs (issue 18 acceptance).

    PYTHONPATH=src python benchmarks/fuzz_all.py [--n 10000] [--kinds gguf,check_csv] [--seed 0]
                                                 [--hang-s 10]

Kinds (builders in tests/fuzzkit.py): gguf (mutated headers → inspect), hf_config (wrong kinds of
config values → inspect/plan), safetensors (hostile headers and weight_map → inspect), check_csv
(prose and CSV claims → check), predict_csv (cases → predict), bench_import (llama-bench JSON,
JSONL, CSV, markdown → results --import) and cli_args (hostile option values, unknown options).

Each case runs in-process (Typer's CliRunner) under a SIGALRM bound of ``--hang-s`` seconds.
Outcome rule: exit code 0 or 2, no traceback, a refusal is one line on stderr, no raw escape
sequence in the output. Prints per kind: cases, problems, hangs, slowest case, cases/s; then the
peak RSS of the process. Exits 1 on any problem or hang.
"""

from __future__ import annotations

import argparse
import collections
import random
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzzkit  # tests/ is on the path (above)


class Hang(Exception):
    """A case ran past the hang bound."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="cases per kind")
    ap.add_argument("--kinds", default=",".join(fuzzkit.KINDS), help="comma-separated kinds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hang-s", type=int, default=10, help="a case slower than this is a hang [s]")
    ap.add_argument("--show", type=int, default=3, help="examples printed per distinct problem")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    failed = 0
    print(f"{'kind':13} {'cases':>7} {'problems':>8} {'hangs':>5} {'slowest':>8} {'cases/s':>8}", flush=True)
    for kind in args.kinds.split(","):
        seen: collections.Counter[str] = collections.Counter()
        n_prob = n_hang = 0
        slowest = 0.0
        t_kind = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"rigfit-fuzz-{kind}-") as d:
            for i in range(args.n):
                rng = random.Random(f"{args.seed}-{kind}-{i}")
                case_dir = Path(d) / f"c{i % 8}"
                case_dir.mkdir(exist_ok=True)
                t0 = time.perf_counter()
                signal.alarm(args.hang_s)
                try:
                    argv, outcome = fuzzkit.run_kind(kind, rng, case_dir)
                    issue = fuzzkit.problem(outcome)
                    if isinstance(outcome.exception, Hang):
                        issue = "hang"
                except Hang:
                    argv, issue = ["?"], "hang"
                finally:
                    signal.alarm(0)
                took = time.perf_counter() - t0
                slowest = max(slowest, took)
                if issue == "hang" or took > args.hang_s:
                    n_hang += 1
                    issue = issue or "hang"
                elif issue:
                    n_prob += 1
                if issue:
                    seen[issue[:80]] += 1
                    if seen[issue[:80]] <= args.show:
                        print(f"  {kind} case {i}: {[a[:50] for a in argv]} -> {issue[:300]}", flush=True)
        rate = args.n / (time.perf_counter() - t_kind)
        print(f"{kind:13} {args.n:>7,} {n_prob:>8} {n_hang:>5} {slowest:>7.2f}s {rate:>8.1f}", flush=True)
        failed += n_prob + n_hang
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux
    print(f"peak RSS {rss_mb:.0f} MB; {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
