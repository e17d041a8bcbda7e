"""The SQLite results store: migrations, round trips, concurrent writers, damaged files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from rigfit.errors import RigfitError
from rigfit.measure.fingerprint import Fingerprint, GpuInfo, detect_fingerprint
from rigfit.measure.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Calibration,
    Result,
    Run,
    data_dir,
    default_db_path,
    open_store,
)


def test_data_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGFIT_DATA_DIR", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d"
    assert default_db_path() == tmp_path / "d" / "results.db"


def test_new_store_is_migrated_and_in_wal_mode(tmp_path):
    with open_store(tmp_path / "r.db") as s:
        assert s.schema_version == SCHEMA_VERSION == MIGRATIONS[-1][0]
        assert [m[0] for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.integrity_ok()


def test_old_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "r.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0][2].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO runs (created_at, source) VALUES ('2026-01-01T00:00:00Z', 'old')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with open_store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert [r.source for r in s.runs()] == ["old"]  # data kept
        assert s.latest_calibration("x") is None  # table from migration 2 exists


def test_newer_schema_and_damaged_files_are_clear_errors(tmp_path):
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RigfitError, match="newer than"):
        open_store(newer)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RigfitError, match="not a rigfit results store"):
        open_store(junk)


def test_results_round_trip_with_machine_and_dedupe(tmp_path):
    fp = Fingerprint(
        cpu="AMD Ryzen 7 5800X",
        cpu_cores=8,
        cpu_threads=16,
        gpus=(GpuInfo("NVIDIA GeForce RTX 3060", 12 * 2**30, "NVIDIA"),),
        ram_bytes=32 * 2**30,
        os="Linux",
        arch="x86_64",
    )
    res = Result(
        test="tg128",
        tokens_per_s=55.3,
        samples=[55.0, 55.3, 55.6],
        flash_attn=True,
        machine_id=fp.id,
        predicted_tokens_per_s=50.0,
        prediction={"tests": {}},
        dedupe_key="k1",
    )
    with open_store(tmp_path / "r.db") as s:
        rep = s.add_run(
            Run(source="rigfit bench", machine_id=fp.id, settings={"prompt": 512}), [res], fingerprint=fp
        )
        assert (rep.added, rep.skipped) == (1, 0)
        back = s.results(machine_id=fp.id)[0]
        assert back.samples == [55.0, 55.3, 55.6] and back.flash_attn is True
        assert back.ratio == pytest.approx(55.3 / 50.0)
        assert back.kind == "tg" and back.run_id == rep.run_id
        assert s.machines()[fp.id]["gpus"][0]["name"] == "NVIDIA GeForce RTX 3060"
        assert s.runs()[0].settings == {"prompt": 512}
        dup = Result(test="tg128", tokens_per_s=1.0, dedupe_key="k1")
        again = s.add_run(Run(source="rigfit bench"), [dup])
        assert (again.run_id, again.added, again.skipped) == (None, 0, 1)
        assert s.count("runs") == 1


def test_calibrations_latest_wins(tmp_path):
    with open_store(tmp_path / "r.db") as s:
        s.add_calibration(Calibration("m1", {"pp": 1.2, "tg": 0.9}, 4, 20.0, 5.0))
        s.add_calibration(Calibration("m1", {"pp": 1.1, "tg": 0.95}, 6, 15.0, 4.0))
        s.add_calibration(Calibration("m2", {"pp": 2.0}, 2))
        assert s.latest_calibration("m1").factors == {"pp": 1.1, "tg": 0.95}
        assert s.latest_calibration("nope") is None


def test_file_hash_is_cached(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 1000)
    with open_store(tmp_path / "r.db") as s:
        h1 = s.file_sha256(f)
        assert s._conn.execute("SELECT COUNT(*) FROM file_hashes").fetchone()[0] == 1
        assert s.file_sha256(f) == h1
        import hashlib

        assert h1 == hashlib.sha256(f.read_bytes()).hexdigest()


_WRITER = textwrap.dedent("""
    # what a `rigfit bench` process writes when its run ends (record_bench), n times
    import sys
    from rigfit.measure.bench import BenchReport, BenchSettings, DepthResult, Stat, record_bench
    from rigfit.measure.fingerprint import detect_fingerprint
    from rigfit.measure.store import open_store
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fp = detect_fingerprint()
    for i in range(n):
        st = Stat.of([100.0 + i, 101.0 + i, 99.0 + i])
        depth = DepthResult(0, 512, 64, st, st, Stat.of([1.0, 1.1, 0.9]), 0)
        report = BenchReport(BenchSettings("m.gguf"), [depth], None, 1, {}, 2, 0.1, 1.0)
        with open_store(path) as s:  # a fresh connection each time, like separate processes
            rep = record_bench(s, report, fp, f"{tag}-{i}")
            assert rep.added == 2, rep
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "r.db"
    open_store(path).close()
    n = 200
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), tag, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with open_store(path) as s:
        assert s.count("runs") == 2 * n
        assert s.count("results") == 4 * n
        assert s.integrity_ok()
        hashes = {r.model_sha256 for r in s.results()}
        assert hashes == {f"{tag}-{i}" for tag in ("a", "b") for i in range(n)}


def test_fingerprint_of_this_machine_is_stable():
    fp = detect_fingerprint()
    assert fp.cpu and fp.os and fp.arch
    assert len(fp.id) == 16
    assert Fingerprint.from_json(fp.to_json()).id == fp.id
    assert fp.hardware_kind in ("nvidia", "amd", "apple", "intel", "cpu", "other")


def test_fingerprint_id_ignores_kernel_and_driver_versions():
    a = Fingerprint(
        cpu="X",
        cpu_threads=8,
        gpus=(GpuInfo("G", 8 * 2**30, "NVIDIA", "550.1"),),
        ram_bytes=2**35,
        os="Linux",
        os_release="6.1",
        arch="x86_64",
    )
    b = Fingerprint(
        cpu="X",
        cpu_threads=8,
        gpus=(GpuInfo("G", 8 * 2**30, "NVIDIA", "560.2"),),
        ram_bytes=2**35,
        os="Linux",
        os_release="6.8",
        arch="x86_64",
    )
    c = Fingerprint(
        cpu="X",
        cpu_threads=8,
        gpus=(GpuInfo("G2", 8 * 2**30, "NVIDIA"),),
        ram_bytes=2**35,
        os="Linux",
        arch="x86_64",
    )
    assert a.id == b.id != c.id
    assert a.hardware_name == "G" and a.hardware_kind == "nvidia"
