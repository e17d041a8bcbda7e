"""The speed ground-truth files of data/ground-truth: every file parses with the ground-truth columns
and names one openable source per row; the recent-builds file (speed_recent_2026.csv) decodes, resolves
and holds only builds of the 12-month window that benchmarks/accuracy.py reports on."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from rigfit.estimate.lodo import build_fit_rows
from rigfit.estimate.speed import load_constants
from rigfit.measure.groundtruth import GROUND_TRUTH_COLUMNS, case_from_row, ground_truth_dir

FOLDER = ground_truth_dir()
RECENT = "speed_recent_2026.csv"
#: First build of the 12-month window of benchmarks/accuracy.py (``recent_build_cutoff``, 2026-12).
RECENT_CUTOFF = 6792
#: An address a reader can open: https, a host, no spaces, no local path or search-tool id.
URL_RE = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}/\S+$")


def _files() -> list[Path]:
    assert FOLDER is not None, "data/ground-truth is part of the repository"
    return sorted(FOLDER.glob("speed_*.csv"))


def _rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_the_recent_file_is_one_of_the_speed_files():
    assert RECENT in {p.name for p in _files()}


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_every_row_has_the_columns_a_source_url_and_a_rate(path: Path):
    header, rows = _rows(path)
    assert header[: len(GROUND_TRUTH_COLUMNS)] == list(GROUND_TRUTH_COLUMNS)
    assert rows
    for i, r in enumerate(rows, start=2):
        assert URL_RE.match(r["source_url"] or ""), f"{path.name}:{i}: source_url {r['source_url']!r}"
        assert float(r["tokens_per_s"]) > 0, f"{path.name}:{i}"
        assert (r["hardware"] or "").strip() and (r["model"] or "").strip(), f"{path.name}:{i}"


def test_recent_rows_decode_and_come_from_builds_of_the_last_12_months():
    _, rows = _rows(FOLDER / RECENT)
    assert len(rows) >= 36
    assert len({r["source_url"] for r in rows}) >= 8
    for r in rows:
        case = case_from_row(r)
        assert case.test is not None, case.test_error
        assert case.test.name.replace("@d0", "") == r["test"]
    fit_rows, unresolved, total = build_fit_rows(FOLDER / RECENT, load_constants())
    assert total == len(rows)
    # the two GTX 1060 rows name no memory variant (the catalog knows two 6 GB cards); all else resolves
    assert sum(unresolved.values()) == 2 and all("GTX 1060" in k for k in unresolved)
    assert len(fit_rows) == total - 2
    assert min(r.ref.settings.build or 0 for r in fit_rows) >= RECENT_CUTOFF
    assert {r.hardware_kind for r in fit_rows} == {"nvidia", "amd", "apple"}
    assert sum(r.kind == "pp" for r in fit_rows) >= 8
