"""Fuzz every input kind of rigfit's CLI with hostile inputs (issue 18 acceptance).

    PYTHONPATH=src python benchmarks/fuzz_all.py [--n 10000] [--kinds gguf,check_csv] [--seed 0]
                                                 [--hang-s 10] [--budget-s 0] [--progress 1000]

Kinds (builders in tests/fuzzkit.py): gguf (mutated headers → inspect), hf_config (wrong kinds of
config values → inspect/plan), safetensors (hostile headers and weight_map → inspect), check_csv
(prose and CSV claims → check), predict_csv (cases → predict), bench_import (llama-bench JSON,
JSONL, CSV, markdown → results --import) and cli_args (hostile option values, unknown options).

Each case runs in-process (Typer's CliRunner) under a SIGALRM bound of ``--hang-s`` seconds. The
kinds take turns (case i of every kind, then case i + 1), so a run stopped by ``--budget-s`` has
covered every kind alike; case i of a kind is the same case in any order (seeded by kind and i).
Outcome rule: exit code 0 or 2, no traceback, a refusal is one line on stderr, no raw escape
sequence in the output. Prints per kind: cases, problems, hangs, slowest case, cases/s (per second
of case time); then the peak RSS of the process; every ``--progress`` rounds and at the end. Exits
1 on any problem or hang.
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
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzzkit  # tests/ is on the path (above)


class Hang(Exception):
    """A case ran past the hang bound."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


@dataclass
class KindStats:
    """Outcomes of one input kind so far."""

    cases: int = 0
    problems: int = 0
    hangs: int = 0
    slowest: float = 0.0
    busy_s: float = 0.0
    seen: collections.Counter[str] = field(default_factory=collections.Counter)


def run_one(kind: str, i: int, args: argparse.Namespace, case_dir: Path, st: KindStats) -> None:
    """Case ``i`` of ``kind`` (the same case whatever the order: its RNG is seeded by kind and i)."""
    rng = random.Random(f"{args.seed}-{kind}-{i}")
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
    st.cases += 1
    st.busy_s += took
    st.slowest = max(st.slowest, took)
    if issue == "hang" or took > args.hang_s:
        st.hangs += 1
        issue = issue or "hang"
    elif issue:
        st.problems += 1
    if issue:
        st.seen[issue[:80]] += 1
        if st.seen[issue[:80]] <= args.show:
            print(f"  {kind} case {i}: {[a[:50] for a in argv]} -> {issue[:300]}", flush=True)


def report(stats: dict[str, KindStats], note: str = "") -> int:
    print(f"{'kind':13} {'cases':>7} {'problems':>8} {'hangs':>5} {'slowest':>8} {'cases/s':>8}", flush=True)
    failed = 0
    for kind, st in stats.items():
        rate = st.cases / st.busy_s if st.busy_s else 0.0
        print(
            f"{kind:13} {st.cases:>7,} {st.problems:>8} {st.hangs:>5} {st.slowest:>7.2f}s {rate:>8.1f}",
            flush=True,
        )
        failed += st.problems + st.hangs
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux
    print(f"peak RSS {rss_mb:.0f} MB; {failed} problem(s){note}", flush=True)
    return failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="cases per kind")
    ap.add_argument("--kinds", default=",".join(fuzzkit.KINDS), help="comma-separated kinds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hang-s", type=int, default=10, help="a case slower than this is a hang [s]")
    ap.add_argument("--show", type=int, default=3, help="examples printed per distinct problem")
    ap.add_argument(
        "--budget-s", type=float, default=0.0, help="stop after this many seconds of wall time (0: none)"
    )
    ap.add_argument("--progress", type=int, default=1000, help="print the table every N rounds (0: never)")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    kinds = args.kinds.split(",")
    stats = {k: KindStats() for k in kinds}
    deadline = time.monotonic() + args.budget_s if args.budget_s else None
    stopped = ""
    with tempfile.TemporaryDirectory(prefix="rigfit-fuzz-") as d:
        # round-robin over the kinds, so a run cut short by --budget-s has covered each alike
        for i in range(args.n):
            if deadline is not None and time.monotonic() > deadline:
                stopped = f"; stopped by --budget-s after {i:,} of {args.n:,} rounds"
                break
            for kind in kinds:
                case_dir = Path(d) / kind / f"c{i % 8}"
                case_dir.mkdir(parents=True, exist_ok=True)
                run_one(kind, i, args, case_dir, stats[kind])
            if args.progress and (i + 1) % args.progress == 0 and i + 1 < args.n:
                report(stats, f" (progress: {i + 1:,} rounds)")
    return 1 if report(stats, stopped) else 0


if __name__ == "__main__":
    raise SystemExit(main())
