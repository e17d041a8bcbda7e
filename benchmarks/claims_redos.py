"""Time the claim parser on adversarial lines (issue 18, defect 4: ReDoS in ``rigfit check``).

Before the fix 8 KB of "1,1,1,…" took 4.6 s, 100 KB over 300 s and "1s " × 30000 took 49 s.
``parse_claims`` caps a line at MAX_CLAIM_LINE_CHARS; this script calls ``parse_prose`` directly
with lines up to 100× longer than the cap to show the time grows linearly, and fails (exit 1) when
any line takes longer than the bound.

    PYTHONPATH=src python benchmarks/claims_redos.py [--bound-s 3.0]
"""

from __future__ import annotations

import argparse
import contextlib
import time

from rigfit.claims import MAX_CLAIM_LINE_CHARS, parse_claims, parse_prose
from rigfit.errors import RigfitError

PATTERNS = {
    "1,1,1,…": "1,",
    "1s 1s …": "1s ",
    "ttft ttft …": "ttft ",
    "on on …": "on ",
    "1.1.1.…": "1.",
    "1 1 1 …": "1 ",
    "digits": "1",
    "Q4_a_a_…": "a_",
    "spaces": " ",
}


def _time_s(fn, text: str) -> float:
    t0 = time.perf_counter()
    with contextlib.suppress(RigfitError):
        fn(text)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bound-s", type=float, default=3.0, help="slowest line allowed [s]")
    args = ap.parse_args()
    worst = 0.0
    print(f"{'pattern':14} {'chars':>9} {'parse_prose':>12} {'parse_claims':>13}")
    for name, unit in PATTERNS.items():
        for chars in (MAX_CLAIM_LINE_CHARS, 10 * MAX_CLAIM_LINE_CHARS, 100 * MAX_CLAIM_LINE_CHARS):
            text = "on x " + unit * (chars // len(unit))
            t_prose = _time_s(lambda s: parse_prose(s, 1), text)
            t_claims = _time_s(parse_claims, text)
            worst = max(worst, t_prose, t_claims)
            print(f"{name:14} {len(text):>9,} {t_prose:>11.4f}s {t_claims:>12.4f}s")
    print(f"slowest line: {worst:.3f} s (bound {args.bound_s} s)")
    return 0 if worst <= args.bound_s else 1


if __name__ == "__main__":
    raise SystemExit(main())
