"""Byte-identity check of the recommend ladder in-process (issue 15's speed work): every row, count and
note of ``recommend(...).to_json()`` over 24 machines (CUDA single and multi-GPU, ROCm, Vulkan, SYCL,
Metal, CPU-only, GB10, H100) × 4 uses × 1 and 4 users × 3 filter sets, one JSON line each. Run it on the
tree before a change and after it, then compare the two files with ``cmp``:

    PYTHONPATH=BEFORE/src python benchmarks/output_identity/ladders.py before.jsonl
    PYTHONPATH=AFTER/src  python benchmarks/output_identity/ladders.py after.jsonl
    cmp before.jsonl after.jsonl

``--quick``: the first 8 machines, 1 user (96 ladders, ~20 s; the full run takes ~7 min on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.recommend import recommend

MACHINES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "RTX 4060 Ti 16GB + 32GB DDR5-5600",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RTX 3080 + 64GB DDR4-3600",
    "RX 7900 XTX + 64GB DDR5-6000",
    "RTX 5090 + 96GB DDR5-6000",
    "4x RTX 3090 + 256GB DDR4-3200",
    "RTX 3060 12GB + RTX 3060 12GB + 64GB DDR4-3200",
    "GTX 1060 6GB + 16GB DDR4-2400",
    "RTX 2060 + 16GB DDR4-3200",
    "Arc B580 + 32GB DDR5-5600",
    "RX 6600 + 16GB DDR4-3200",
    "M3 Max 40-core 128GB",
    "M2 16GB",
    "M4 Pro 48GB",
    "M2 Ultra 192GB",
    "Ryzen 9 7950X + 64GB DDR5-6000",
    "Ryzen 7 5800X + 32GB DDR4-3200",
    "Ryzen AI Max+ 395 128GB",
    "DGX Spark",
    "H100 80GB + 256GB DDR5-4800",
    "2x A100 SXM4 80 GB + 512GB DDR4-3200",
    "RTX 3090 + 24GB DDR4-3200",
)
USES = ("chat", "code", "agents", "long-context")
FILTERS: tuple[dict[str, Any], ...] = ({}, {"min_ctx": 32768}, {"min_tps": 40.0, "max_quality_loss": 0.1})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="the JSON-lines file to write")
    ap.add_argument("--quick", action="store_true", help="8 machines, 1 user (96 ladders)")
    args = ap.parse_args(argv)
    machines = MACHINES[:8] if args.quick else MACHINES
    t0, n = time.perf_counter(), 0
    with open(args.out, "w", encoding="utf-8") as f:
        for name in machines:
            box = resolve_machine(name)
            for use in USES:
                for users in (1,) if args.quick else (1, 4):
                    for extra in FILTERS:
                        try:
                            r = recommend(box, use, limit=None, users=users, **extra).to_json()
                        except RigfitError as e:
                            r = {"error": str(e)}
                        row = {"machine": name, "use": use, "users": users, **extra, "r": r}
                        f.write(json.dumps(row, sort_keys=True, default=str) + "\n")
                        n += 1
    print(f"{n} ladders in {time.perf_counter() - t0:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
