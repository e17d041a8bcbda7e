"""When each catalog model's weights were first released (``data/release_dates.csv``).

One row per model id: ``released`` as ``YYYY-MM-DD`` (or ``YYYY-MM`` where the source gives only
the month) and the announcement or model card that states it. The table is kept beside, not
inside, ``models.json`` so the architecture catalog can grow without it; a model without a row
has an unknown date. ``rigfit recommend`` uses the date only to break ties (a newer model wins
between picks of equal score or equal size).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from rigfit.datafiles import read_text


@dataclass(frozen=True)
class Release:
    """A model's first public release: ``date`` (ISO, day or month precision) and its source URL."""

    model_id: str
    date: str
    source: str


@lru_cache(maxsize=1)
def release_dates() -> dict[str, Release]:
    """Every row of ``data/release_dates.csv``, by model id."""
    text = read_text("rigfit.catalog", "data", "release_dates.csv")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["model_id"]: Release(r["model_id"], r["released"], r["source"]) for r in rows}


def release_of(model_id: str) -> Release | None:
    """The model's release row, or None when the catalog does not record it."""
    return release_dates().get(model_id)


def release_sort_key(model_id: str) -> str:
    """A string that sorts by release date ("" — oldest — when the date is unknown)."""
    r = release_of(model_id)
    return r.date if r is not None else ""
