"""Name resolution on the spelling table (tests/catalog/spellings.csv): right / ambiguous / unknown /
wrong, overall and per form (HF repo id, GGUF file, Ollama tag, LM Studio name, loose name).

    PYTHONPATH=src python benchmarks/name_resolution.py
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

from rigfit.catalog.names import resolve_name
from rigfit.errors import AmbiguousNameError, UnknownNameError

TABLE = Path(__file__).resolve().parents[1] / "tests" / "catalog" / "spellings.csv"


def outcome(spelling: str, expected: str) -> str:
    """right / ambiguous / unknown / wrong (an AMBIGUOUS row is right when reported ambiguous)."""
    try:
        got = resolve_name(spelling).id
    except AmbiguousNameError:
        return "right" if expected == "AMBIGUOUS" else "ambiguous"
    except UnknownNameError:
        return "unknown"
    return "right" if got == expected else "wrong"


def main() -> None:
    rows = list(csv.DictReader(TABLE.open(newline="", encoding="utf-8")))
    by_form: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        by_form[row["form"]][outcome(row["spelling"], row["expected"])] += 1
    total: Counter[str] = Counter()
    cols = ("right", "ambiguous", "unknown", "wrong")
    print(f"{'form':<12} {'rows':>5} " + " ".join(f"{c:>9}" for c in cols))
    for form, c in sorted(by_form.items()):
        total.update(c)
        print(f"{form:<12} {sum(c.values()):>5} " + " ".join(f"{c[k]:>9}" for k in cols))
    n = sum(total.values())
    print(f"{'all':<12} {n:>5} " + " ".join(f"{total[k]:>9}" for k in cols))
    share = 100 * total["right"] / n
    print(f"measured: {share:.1f} % right (an AMBIGUOUS row is right when reported ambiguous)")


if __name__ == "__main__":
    main()
