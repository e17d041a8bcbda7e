"""Report on the CPU/SoC catalog (``src/rigfit/hardware/data/cpu_catalog.json``); no network.

    python tools/cpu_catalog_report.py            # counts by vendor/segment and by status, rows left to check
    python tools/cpu_catalog_report.py --sources  # also: verified rows per source, and unchecked figures

It prints the part counts by vendor and segment, by status (``verified``: compared with the file or
page in the row's source; ``from-memory``: written from knowledge, to be checked against the family's
source page), and the name and source of every row still ``from-memory``. The unified-memory systems
(``apus``: Jetson, Strix Halo) are counted apart.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rigfit.hardware.cpu_catalog import catalog_apu_rows, catalog_cpu_rows


def _table(title: str, counts: Counter[str]) -> list[str]:
    """A titled two-column count table, largest first."""
    width = max((len(k) for k in counts), default=0)
    lines = [title]
    lines += [
        f"  {key:<{width}}  {n:>4}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    lines.append(f"  {'total':<{width}}  {sum(counts.values()):>4}")
    return lines


def report(rows: tuple[dict[str, Any], ...], apus: tuple[dict[str, Any], ...], sources: bool) -> str:
    """The report's text for the catalog rows ``rows`` and unified-memory systems ``apus``."""
    lines = _table("parts by vendor / segment", Counter(f"{r['vendor']} / {r['segment']}" for r in rows))
    lines += _table("parts by status", Counter(str(r["status"]) for r in rows))
    lines += _table("unified-memory systems (apus) by status", Counter(str(a.get("status")) for a in apus))
    if sources:
        verified = [r for r in rows if r["status"] == "verified"]
        lines += _table("verified parts by source", Counter(r["sources"][0] for r in verified))
        lines += _table(
            "figures the verifying source does not give (left as written)",
            Counter(f for r in verified for f in r.get("unchecked") or ()),
        )
    pending = [r for r in rows if r["status"] != "verified"]
    lines.append(
        f"parts still {'/'.join(sorted({str(r['status']) for r in pending})) or '-'} ({len(pending)})"
    )
    lines += [f"  {r['name']}  [{r['family']}]  check at {r['sources'][0]}" for r in pending]
    pending_apus = [a for a in apus if a.get("status") != "verified"]
    lines.append(f"unified-memory systems not verified ({len(pending_apus)})")
    lines += [f"  {a['name']}  check at {a['sources'][0]}" for a in pending_apus]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", action="store_true", help="also count verified rows per source")
    args = parser.parse_args(argv)
    print(report(catalog_cpu_rows(), catalog_apu_rows(), args.sources))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
