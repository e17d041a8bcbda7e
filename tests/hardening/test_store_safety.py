"""Issue 18 regressions: the results store is never lost, outputs are never silently overwritten,
FIFOs never hang an import (defects 1, 3, 5, 13)."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from rigfit.cli import main
from rigfit.errors import RigfitError
from rigfit.measure.importers import export_csv
from rigfit.measure.store import Result, Run, open_store
from rigfit.safeio import csv_safe, require_regular_file

BENCH_JSON = (
    '[{"build_commit": "abc1234", "build_number": 1, "model_type": "llama 8B Q4_K - Medium",'
    ' "n_prompt": 512, "n_gen": 0, "n_depth": 0, "avg_ts": 1234.5, "stddev_ts": 3.2}]'
)


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    return int(info.value.code or 0)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setenv("RIGFIT_DATA_DIR", str(d))
    return d


def _seed(data_dir, tmp_path) -> None:
    f = tmp_path / "bench.json"
    f.write_text(BENCH_JSON)
    assert _run(["results", "--import", str(f)]) == 0


def test_export_over_the_store_is_refused(data_dir, tmp_path, capsys):
    _seed(data_dir, tmp_path)
    db = data_dir / "results.db"
    before = db.read_bytes()
    assert _run(["results", "--export", str(db), "--force"]) == 2
    assert "results store" in capsys.readouterr().err
    assert db.read_bytes() == before
    with open_store(db) as store:
        assert store.count() == 1


def test_export_needs_force_to_overwrite(data_dir, tmp_path, capsys):
    _seed(data_dir, tmp_path)
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    assert _run(["results", "--export", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert _run(["results", "--export", str(out), "--force"]) == 0
    assert "pp512" in out.read_text()


def test_foreign_sqlite_file_is_left_byte_identical(tmp_path):
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    with pytest.raises(RigfitError, match="not a rigfit results store"):
        open_store(foreign)
    assert foreign.read_bytes() == before
    assert not (tmp_path / "other.db-wal").exists()


def test_damaged_middle_page_is_refused_before_any_write(tmp_path):
    db = tmp_path / "results.db"
    with open_store(db) as store:
        store.add_run(
            Run(source="t"),
            [
                Result(test=f"pp{i + 1}", tokens_per_s=float(i + 1), notes="x" * 500, dedupe_key=str(i))
                for i in range(400)
            ],
        )
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 10 * page
    mid = (len(data) // page // 2) * page
    data[mid : mid + page] = b"\xa5" * page
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    with pytest.raises(RigfitError, match="damaged"):
        open_store(db)
    assert db.read_bytes() == before


def test_read_only_store_stays_readable_and_refuses_writes(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    db = d / "results.db"
    with open_store(db) as store:
        store.add_run(Run(source="t"), [Result(test="tg128", tokens_per_s=50.0, dedupe_key="a")])
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    os.chmod(db, stat.S_IRUSR)
    os.chmod(d, stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(db, os.W_OK):
            pytest.skip("running as a user that ignores file permissions")
        with open_store(db) as store:
            assert store.read_only and store.count() == 1
            with pytest.raises(RigfitError, match="read-only"):
                store.add_run(Run(source="t"), [Result(test="tg64", tokens_per_s=5.0, dedupe_key="b")])
    finally:
        os.chmod(d, stat.S_IRWXU)
        os.chmod(db, stat.S_IRUSR | stat.S_IWUSR)


def test_fifo_is_refused_not_read(tmp_path):
    fifo = tmp_path / "bench.json"
    os.mkfifo(fifo)
    with pytest.raises(RigfitError, match="FIFO"):
        require_regular_file(fifo)


def test_import_of_a_fifo_exits_2(data_dir, tmp_path, capsys):
    fifo = tmp_path / "bench.json"
    os.mkfifo(fifo)
    assert _run(["results", "--import", str(fifo)]) == 2
    assert "FIFO" in capsys.readouterr().err


def test_formula_cells_are_neutralised(tmp_path):
    assert csv_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_safe("-1.5") == "-1.5" and csv_safe("@SUM(A1)") == "'@SUM(A1)"
    out = tmp_path / "x.csv"
    export_csv([Result(test="pp512", tokens_per_s=1.0, hardware="=HYPERLINK(1)")], out)
    assert "'=HYPERLINK(1)" in out.read_text()


def test_same_run_as_json_and_markdown_is_stored_once(data_dir, tmp_path):
    js = tmp_path / "b.json"
    js.write_text(BENCH_JSON)
    md = tmp_path / "b.md"
    md.write_text(
        "| model | size | params | backend | ngl | test | t/s |\n"
        "| --- | ---: | ---: | --- | --: | --: | --: |\n"
        "| llama 8B Q4_K - Medium | 4.58 GiB | 8.03 B | CUDA | 99 | pp512 | 1234.50 ± 3.20 |\n\n"
        "build: abc1234 (1)\n"
    )
    assert _run(["results", "--import", str(js), "--import", str(md), "--hardware", "RTX 4090"]) == 0
    with open_store() as store:
        assert store.count() == 1


def test_bad_imported_rates_are_skipped(data_dir, tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(
        '[{"model_type": "m", "n_prompt": 512, "n_gen": 0, "avg_ts": -5},'
        ' {"model_type": "m", "n_prompt": 512, "n_gen": 0, "avg_ts": "inf"},'
        ' {"model_type": "m", "n_prompt": 1e400, "n_gen": 0, "avg_ts": 5},'
        ' {"model_type": "m", "n_prompt": 512, "n_gen": 0, "avg_ts": 5, "samples_ts": [null]}]'
    )
    assert _run(["results", "--import", str(f)]) == 0
    with open_store() as store:
        assert store.count() == 0
