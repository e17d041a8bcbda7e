"""The results store: every measurement rigfit took or imported, in one SQLite file.

Where: ``results.db`` in the user data directory (``platformdirs.user_data_dir("rigfit")``);
``$RIGFIT_DATA_DIR`` overrides the directory (tests use it).

Shape (schema version :data:`SCHEMA_VERSION`, applied by numbered :data:`MIGRATIONS`, tracked in
``PRAGMA user_version``):

- ``machines``: one row per machine fingerprint (:mod:`rigfit.measure.fingerprint`).
- ``runs``: one row per ``rigfit bench`` run or per imported file: settings, llama.cpp build, model
  hash, buffers llama.cpp allocated, the prediction made beforehand, status (``ok`` / ``failed``)
  and the error of a failed run.
- ``results``: one row per test (llama-bench vocabulary: ``pp512``, ``tg64@d512`` …) with the
  median rate, its spread, the raw samples, TTFT and the predicted rate beside it. The columns
  mirror the shared ground-truth CSV so that ``rigfit results --export`` writes that format.
- ``calibrations``: per-machine correction factors fitted by ``rigfit calibrate``.
- ``file_hashes``: sha256 of model files, keyed by (path, size, mtime), so each is hashed once.

Concurrency: WAL journal, a 30 s busy timeout and ``BEGIN IMMEDIATE`` write transactions, so two
``rigfit bench`` processes writing at once both land; a run and its results are written in one
transaction, so a crash never leaves half a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from rigfit.errors import RigfitError
from rigfit.figures import Figure, unknown

DB_FILE_NAME = "results.db"
BUSY_TIMEOUT_S = 30.0


def data_dir() -> Path:
    """rigfit's per-user data directory (``$RIGFIT_DATA_DIR`` overrides the platform default)."""
    env = os.environ.get("RIGFIT_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("rigfit"))


def default_db_path() -> Path:
    return data_dir() / DB_FILE_NAME


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------------------------

#: Numbered migrations: (version, what it does, SQL). Append only; never edit a released one.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "machines, runs and results",
        """
        CREATE TABLE machines (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            fingerprint_json TEXT NOT NULL,
            first_seen TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            source TEXT NOT NULL,
            source_file TEXT,
            machine_id TEXT,
            status TEXT NOT NULL DEFAULT 'ok',
            error TEXT,
            model_path TEXT,
            model_sha256 TEXT,
            llama_build TEXT,
            settings_json TEXT,
            buffers_json TEXT,
            prediction_json TEXT,
            load_s REAL,
            wall_s REAL
        );
        CREATE TABLE results (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            dedupe_key TEXT UNIQUE,
            created_at TEXT NOT NULL,
            source TEXT NOT NULL,
            machine_id TEXT,
            source_url TEXT,
            hardware TEXT,
            hardware_kind TEXT,
            n_devices INTEGER,
            backend TEXT,
            model TEXT,
            model_family TEXT,
            params_b REAL,
            quant TEXT,
            model_size_bytes INTEGER,
            model_sha256 TEXT,
            test TEXT NOT NULL,
            prompt_tokens INTEGER,
            gen_tokens INTEGER,
            depth INTEGER,
            ngl INTEGER,
            threads INTEGER,
            flash_attn INTEGER,
            n_ctx INTEGER,
            n_batch INTEGER,
            n_ubatch INTEGER,
            type_k TEXT,
            type_v TEXT,
            tokens_per_s REAL,
            tokens_per_s_stddev REAL,
            samples_json TEXT,
            ttft_s REAL,
            build TEXT,
            build_number INTEGER,
            build_commit TEXT,
            predicted_tokens_per_s REAL,
            prediction_json TEXT,
            notes TEXT,
            row_json TEXT
        );
        CREATE INDEX results_machine ON results(machine_id);
        CREATE INDEX results_run ON results(run_id);
    """,
    ),
    (
        2,
        "per-machine calibrations",
        """
        CREATE TABLE calibrations (
            id INTEGER PRIMARY KEY,
            machine_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            factors_json TEXT NOT NULL,
            n_results INTEGER NOT NULL,
            error_before REAL,
            error_after REAL,
            details_json TEXT
        );
        CREATE INDEX calibrations_machine ON calibrations(machine_id);
    """,
    ),
    (
        3,
        "model file hash cache",
        """
        CREATE TABLE file_hashes (
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (path, size, mtime_ns)
        );
    """,
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------


@dataclass
class Result:
    """One test's outcome (a row of ``results``); units: tokens/s, seconds, bytes.

    test: llama-bench name (``pp512``, ``tg64``, ``pp512@d4096``, ``tg64@d512``: 64 tokens generated
    after a 512-token prompt). tokens_per_s: the median over repeats (or the published value);
    tokens_per_s_stddev: the spread (sample standard deviation); samples: each repeat's rate.
    predicted_tokens_per_s: what rigfit predicted beforehand (None when it could not).
    row: an imported ground-truth row exactly as read (export writes it back unchanged).
    """

    test: str
    tokens_per_s: float | None
    source: str = "rigfit bench"
    machine_id: str | None = None
    source_url: str = ""
    hardware: str = ""
    hardware_kind: str = ""
    n_devices: int | None = None
    backend: str = ""
    model: str = ""
    model_family: str = ""
    params_b: float | None = None
    quant: str = ""
    model_size_bytes: int | None = None
    model_sha256: str | None = None
    prompt_tokens: int | None = None
    gen_tokens: int | None = None
    depth: int | None = None
    ngl: int | None = None
    threads: int | None = None
    flash_attn: bool | None = None
    n_ctx: int | None = None
    n_batch: int | None = None
    n_ubatch: int | None = None
    type_k: str | None = None
    type_v: str | None = None
    tokens_per_s_stddev: float | None = None
    samples: list[float] = field(default_factory=list)
    ttft_s: float | None = None
    build: str = ""
    build_number: int | None = None
    build_commit: str | None = None
    predicted_tokens_per_s: float | None = None
    prediction: dict | None = None
    notes: str = ""
    row: dict | None = None
    dedupe_key: str | None = None
    # filled in when read back from the store
    id: int | None = None
    run_id: int | None = None
    created_at: str | None = None

    @property
    def kind(self) -> str:
        """'pp' (prefill), 'tg' (decode) or 'pg' (combined), from the test name."""
        t = self.test.lower()
        if t.startswith("tg"):
            return "tg"
        return "pg" if "+" in t else "pp"

    @property
    def ratio(self) -> float | None:
        """measured / predicted (None when either is missing)."""
        if self.tokens_per_s and self.predicted_tokens_per_s:
            return self.tokens_per_s / self.predicted_tokens_per_s
        return None

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "row"}
        out["ratio"] = self.ratio
        out["figures"] = {k: f.to_json() for k, f in self.figures().items()}
        return out

    def figures(self) -> dict[str, Figure]:
        """The measured speed and, when stored, rigfit's prediction, as labelled figures."""
        where = self.source_url or self.source or "results store"
        figs = {
            "tokens_per_s": unknown("tok/s", f"{where}: no rate stored")
            if self.tokens_per_s is None
            else Figure(self.tokens_per_s, "tok/s", "measured", where)
        }
        if self.predicted_tokens_per_s is not None:
            figs["predicted_tokens_per_s"] = Figure(
                self.predicted_tokens_per_s, "tok/s", "estimated", "rigfit's stored prediction"
            )
        return figs


_JSON_COLUMNS = {"samples": "samples_json", "prediction": "prediction_json", "row": "row_json"}
_RESULT_FIELDS = [f.name for f in fields(Result) if f.name not in ("id", "run_id", "created_at")]


@dataclass
class Run:
    """One bench run or one imported file (a row of ``runs``)."""

    source: str
    machine_id: str | None = None
    source_file: str | None = None
    status: str = "ok"
    error: str | None = None
    model_path: str | None = None
    model_sha256: str | None = None
    llama_build: str | None = None
    settings: dict | None = None
    buffers: dict | None = None
    prediction: dict | None = None
    load_s: float | None = None
    wall_s: float | None = None
    id: int | None = None
    created_at: str | None = None

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Calibration:
    """Per-machine correction factors (measured / predicted, per test kind) and their effect."""

    machine_id: str
    factors: dict[str, float]
    n_results: int
    error_before: float | None = None
    error_after: float | None = None
    details: dict | None = None
    id: int | None = None
    created_at: str | None = None

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class InsertReport:
    """What an insert did: the run id (None when every result was a duplicate), results added,
    and duplicates skipped."""

    run_id: int | None
    added: int
    skipped: int


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------


class ResultStore:
    """The SQLite results store. Open with :func:`open_store` (or use as a context manager)."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        #: opened without write access (the caller asked, or the file or its folder is read-only)
        self.read_only = read_only
        existing = self.path.exists()
        if existing:
            if not self.read_only and self.path.is_file() and not _writable(self.path):
                self.read_only = True
            _check_existing_store(self.path, for_writing=not self.read_only)
        self._conn = self._connect(existing)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if not self.read_only:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute("PRAGMA foreign_keys = ON")
                self._migrate()
            self._check_tables()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise _damaged(self.path, exc) from exc

    def _connect(self, existing: bool) -> sqlite3.Connection:
        """A connection: read-write (creating the folder), or read-only through a ``mode=ro`` URI
        (``immutable=1`` when even the WAL side files cannot be made)."""
        if self.read_only and not existing:  # nothing stored yet: reads see an empty store
            conn = sqlite3.connect(":memory:", isolation_level=None)
            for _version, _what, sql in MIGRATIONS:
                conn.executescript(sql)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return conn
        if self.read_only:
            uri = self.path.resolve().as_uri()
            for query in ("?mode=ro", "?immutable=1"):
                try:
                    conn = sqlite3.connect(
                        uri + query, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None
                    )
                    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                    return conn
                except sqlite3.Error as exc:
                    last = exc
            raise RigfitError(
                f"Cannot read the results store {self.path}: {last}.",
                "Make it readable, or set RIGFIT_DATA_DIR to another directory.",
            )
        try:
            if not existing:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise RigfitError(
                f"Cannot open the results store {self.path}: {exc}.",
                "Set RIGFIT_DATA_DIR to a writable directory.",
            ) from exc

    def _check_tables(self) -> None:
        """Every table of the schema is there (a dropped table is damage, not an empty store)."""
        version = self.schema_version
        if version == 0 and self.read_only:
            return  # a new, never-written store
        names = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted(
            t for v, tables in _TABLES_BY_VERSION.items() if v <= version for t in tables if t not in names
        )
        if missing:
            raise RigfitError(
                f"The results store {self.path} is damaged: table(s) {', '.join(missing)} are missing.",
                f"Move {self.path.name} aside (rigfit then starts a new store) or restore it from a backup.",
            )

    def _require_writable(self) -> None:
        if self.read_only:
            raise RigfitError(
                f"The results store {self.path} is read-only; nothing was written.",
                "Make the file and its folder writable, or set RIGFIT_DATA_DIR to another directory.",
            )

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE (retried while another writer holds it)."""
        self._require_writable()
        deadline = time.monotonic() + BUSY_TIMEOUT_S * 2
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version > SCHEMA_VERSION:
            raise RigfitError(
                f"The results store {self.path} has schema version {self.schema_version}, newer than "
                f"this rigfit understands ({SCHEMA_VERSION}).",
                "Upgrade rigfit.",
            )
        if self.schema_version == SCHEMA_VERSION:
            return
        with self._write() as conn:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])  # re-read under the lock
            for version, _what, sql in MIGRATIONS:
                if version > current:
                    for statement in sql.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version}")

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check passes."""
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- writing --------------------------------------------------------------------------

    def add_machine(self, fingerprint: Any) -> str:
        """Record a :class:`~rigfit.measure.fingerprint.Fingerprint` (idempotent); returns its id."""
        with self._write() as conn:
            self._add_machine(conn, fingerprint)
        return fingerprint.id

    @staticmethod
    def _add_machine(conn: sqlite3.Connection, fingerprint: Any) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO machines (id, label, fingerprint_json, first_seen) VALUES (?, ?, ?, ?)",
            (fingerprint.id, fingerprint.label, json.dumps(fingerprint.to_json()), utc_now()),
        )

    def add_run(self, run: Run, results: Iterable[Result] = (), fingerprint: Any = None) -> InsertReport:
        """Write a run and its results in one transaction; results whose ``dedupe_key`` is already
        stored are skipped (importing the same file twice adds nothing).

        ``results`` may be a lazy iterator (an import streams its rows, one in memory at a time);
        ``run.llama_build`` may be learnt while it runs (the build is in the rows) and is written at
        the end of the same transaction."""
        now = utc_now()
        added = skipped = 0
        with self._write() as conn:
            if fingerprint is not None:
                self._add_machine(conn, fingerprint)
            cur = conn.execute(
                "INSERT INTO runs (created_at, source, source_file, machine_id, status, error, model_path,"
                " model_sha256, llama_build, settings_json, buffers_json, prediction_json, load_s, wall_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    run.source,
                    run.source_file,
                    run.machine_id,
                    run.status,
                    run.error,
                    run.model_path,
                    run.model_sha256,
                    run.llama_build,
                    _dumps(run.settings),
                    _dumps(run.buffers),
                    _dumps(run.prediction),
                    run.load_s,
                    run.wall_s,
                ),
            )
            run_id = int(cur.lastrowid)
            run.id, run.created_at = run_id, now
            cols = ["run_id", "created_at", *(_JSON_COLUMNS.get(n, n) for n in _RESULT_FIELDS)]
            sql = f"INSERT OR IGNORE INTO results ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for res in results:
                values = [run_id, now]
                for name in _RESULT_FIELDS:
                    value = getattr(res, name)
                    if name in _JSON_COLUMNS:
                        value = _dumps(value)
                    elif name == "flash_attn" and value is not None:
                        value = int(bool(value))
                    values.append(value)
                if conn.execute(sql, values).rowcount:
                    added += 1
                    res.run_id, res.created_at = run_id, now
                else:
                    skipped += 1
            if run.llama_build is not None:  # learnt from the rows, after the run row was written
                conn.execute("UPDATE runs SET llama_build = ? WHERE id = ?", (run.llama_build, run_id))
            if skipped and not added:  # everything was already stored: keep no empty run
                conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                run.id = None
                return InsertReport(None, 0, skipped)
        return InsertReport(run_id, added, skipped)

    def add_calibration(self, cal: Calibration) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO calibrations (machine_id, created_at, factors_json, n_results, error_before,"
                " error_after, details_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    cal.machine_id,
                    utc_now(),
                    json.dumps(cal.factors),
                    cal.n_results,
                    cal.error_before,
                    cal.error_after,
                    _dumps(cal.details),
                ),
            )
            cal.id = int(cur.lastrowid)
        return cal.id

    # -- reading --------------------------------------------------------------------------

    def results(
        self, machine_id: str | None = None, source: str | None = None, run_id: int | None = None
    ) -> list[Result]:
        """Stored results, oldest first, optionally for one machine / source / run."""
        where, args = [], []
        for col, val in (("machine_id", machine_id), ("source", source), ("run_id", run_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        sql = "SELECT * FROM results" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [_result_from_row(r) for r in self._conn.execute(sql, args)]

    def runs(self, status: str | None = None) -> list[Run]:
        sql, args = "SELECT * FROM runs", []
        if status:
            sql, args = sql + " WHERE status = ?", [status]
        out = []
        for r in self._conn.execute(sql + " ORDER BY id", args):
            out.append(
                Run(
                    source=r["source"],
                    machine_id=r["machine_id"],
                    source_file=r["source_file"],
                    status=r["status"],
                    error=r["error"],
                    model_path=r["model_path"],
                    model_sha256=r["model_sha256"],
                    llama_build=r["llama_build"],
                    settings=_loads(r["settings_json"]),
                    buffers=_loads(r["buffers_json"]),
                    prediction=_loads(r["prediction_json"]),
                    load_s=r["load_s"],
                    wall_s=r["wall_s"],
                    id=r["id"],
                    created_at=r["created_at"],
                )
            )
        return out

    def machines(self) -> dict[str, dict]:
        """Machine id → fingerprint JSON."""
        return {
            r["id"]: json.loads(r["fingerprint_json"])
            for r in self._conn.execute("SELECT * FROM machines ORDER BY first_seen")
        }

    def latest_calibration(self, machine_id: str) -> Calibration | None:
        """The most recent calibration of a machine, or None."""
        r = self._conn.execute(
            "SELECT * FROM calibrations WHERE machine_id = ? ORDER BY id DESC LIMIT 1", (machine_id,)
        ).fetchone()
        if r is None:
            return None
        return Calibration(
            machine_id=r["machine_id"],
            factors=json.loads(r["factors_json"]),
            n_results=r["n_results"],
            error_before=r["error_before"],
            error_after=r["error_after"],
            details=_loads(r["details_json"]),
            id=r["id"],
            created_at=r["created_at"],
        )

    def file_sha256(self, path: str | Path) -> str:
        """sha256 of a file, cached by (path, size, mtime) so a large model is hashed once."""
        p = Path(path).resolve()
        st = p.stat()
        key = (str(p), st.st_size, st.st_mtime_ns)
        row = self._conn.execute(
            "SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?", key
        ).fetchone()
        if row:
            return str(row[0])
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        digest = h.hexdigest()
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)",
                (*key, digest),
            )
        return digest

    def count(self, table: str = "results") -> int:
        if table not in ("results", "runs", "machines", "calibrations"):
            raise ValueError(table)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def open_store(path: str | Path | None = None, read_only: bool = False) -> ResultStore:
    """Open (creating and migrating as needed) the results store at ``path`` or the default place.

    ``read_only``: never create, migrate or write (listing and export); a read-only file or folder
    opens this way too. An existing file is checked first (SQLite header, rigfit schema,
    ``PRAGMA quick_check``) through a read-only connection: a damaged store or a foreign file is
    refused with one line and left byte-for-byte as it was.
    """
    return ResultStore(path, read_only=read_only)


#: Tables each migration creates (a store at version v has those of every version up to v).
_TABLES_BY_VERSION = {1: ("machines", "runs", "results"), 2: ("calibrations",), 3: ("file_hashes",)}
_SCHEMA_TABLES = frozenset(t for tables in _TABLES_BY_VERSION.values() for t in tables)
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _writable(path: Path) -> bool:
    """The store file and its folder can be written (SQLite needs the folder for its WAL files)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _damaged(path: Path, exc: BaseException) -> RigfitError:
    return RigfitError(
        f"The results store {path} is damaged ({exc}).",
        f"Move {path.name} aside (rigfit then starts a new store), or try 'sqlite3 {path.name} .recover'.",
    )


def _check_existing_store(path: Path, for_writing: bool = False) -> None:
    """Refuse, without changing a byte, a file that is not a healthy rigfit store.

    Reads through a read-only (``mode=ro``, falling back to ``immutable=1``) connection: the SQLite
    header, the tables (a foreign database has tables but none of ours; a rigfit store with a
    dropped table), ``PRAGMA quick_check`` (garbage in a middle page) and, before writing, the
    schema version (a newer rigfit's store is read, never migrated or written). All of this runs
    before the read-write connection sets the WAL journal mode, the first write to the file.
    """
    if not path.is_file():
        raise RigfitError(
            f"The results store {path} is not a regular file.",
            "Move it aside, or set RIGFIT_DATA_DIR to another directory.",
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise RigfitError(
            f"Cannot read the results store {path}: {exc.strerror or exc}.",
            "Make it readable, or set RIGFIT_DATA_DIR to another directory.",
        ) from exc
    if not head:
        return  # an empty file: SQLite treats it as a new database
    if head != _SQLITE_MAGIC:
        raise RigfitError(
            f"{path} is not a SQLite file, so not a rigfit results store; left unchanged.",
            "Move it aside, or set RIGFIT_DATA_DIR to another directory.",
        )
    conn = None
    uri = path.resolve().as_uri()
    try:
        for query in ("?mode=ro", "?immutable=1"):
            try:
                conn = sqlite3.connect(uri + query, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                break
            except sqlite3.OperationalError:
                if conn is not None:
                    conn.close()
                conn = None
                if query == "?immutable=1":
                    raise
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if names and not names & _SCHEMA_TABLES and version == 0:
            raise RigfitError(
                f"{path} is a SQLite database but not a rigfit results store; left unchanged.",
                "Move it aside, or set RIGFIT_DATA_DIR to another directory.",
            )
        problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise _damaged(path, "quick_check: " + "; ".join(str(p) for p in problems)[:200])
        _check_schema(path, names, version, for_writing)
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from exc
    finally:
        if conn is not None:
            conn.close()


def _check_schema(path: Path, names: set[str], version: int, for_writing: bool) -> None:
    """The tables of ``version`` are all there, and a store about to be written is one this rigfit
    can migrate (one line each, with the remedy: restore, or upgrade rigfit)."""
    if for_writing and version > SCHEMA_VERSION:
        raise RigfitError(
            f"The results store {path} has schema version {version}, newer than this rigfit understands "
            f"({SCHEMA_VERSION}); nothing was written.",
            "Upgrade rigfit (reading it with 'rigfit results' still works).",
        )
    missing = sorted(
        t for v, tables in _TABLES_BY_VERSION.items() if v <= version for t in tables if t not in names
    )
    if missing:
        raise RigfitError(
            f"The results store {path} is damaged: table(s) {', '.join(missing)} are missing; "
            "left unchanged.",
            f"Restore {path.name} from a backup, or move it aside (rigfit then starts a new store).",
        )


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _result_from_row(r: sqlite3.Row) -> Result:
    kwargs: dict[str, Any] = {}
    for name in _RESULT_FIELDS:
        col = _JSON_COLUMNS.get(name, name)
        value = r[col]
        if name in _JSON_COLUMNS:
            value = _loads(value)
            if name == "samples" and value is None:
                value = []
        elif name == "flash_attn" and value is not None:
            value = bool(value)
        kwargs[name] = value
    return Result(**kwargs, id=r["id"], run_id=r["run_id"], created_at=r["created_at"])


__all__ = [
    "DB_FILE_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Calibration",
    "InsertReport",
    "Result",
    "ResultStore",
    "Run",
    "data_dir",
    "default_db_path",
    "open_store",
    "utc_now",
]
