"""Print the price audit: sourced / estimated / unsourced counts by table and kind.

    python tools/price_audit.py

Exits 1 when any price row is unsourced (see :mod:`rigfit.hardware.price_audit`).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.hardware.price_audit import audit  # noqa: E402
from rigfit.hardware.tables import PRICE_DEFINITION  # noqa: E402


def main() -> int:
    res = audit()
    print(f"definition: {PRICE_DEFINITION}")
    for line in res.lines():
        print(line)
    return 1 if res.unsourced else 0


if __name__ == "__main__":
    sys.exit(main())
