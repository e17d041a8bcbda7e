"""Issue 18 audit: regressions for what the first hardening rounds left open.

Defect 8 (names over 255 bytes on every command that takes a model or folder), defect 10 (NaN and
inf ``--tensor-split`` shares), defect 5 (a dropped table, a newer schema and a read-only store
through the CLI, each left byte-identical with the right remedy) and defect 12 (imports stream:
one row in memory, the whole file in one transaction)."""

from __future__ import annotations

import os
import sqlite3

import pytest
from typer.testing import CliRunner

from rigfit.cli import _load_commands, main
from rigfit.cli.app import app
from rigfit.measure import store as store_module
from rigfit.measure.importers import iter_file
from rigfit.measure.store import Result, Run, open_store

_load_commands([])
runner = CliRunner()
LONG = "a" * 300

BENCH_LINE = (
    '{{"build_commit": "abc1234", "build_number": 7, "model_type": "llama 8B Q4_K - Medium",'
    ' "n_prompt": {n}, "n_gen": 0, "n_depth": 0, "avg_ts": 1234.5, "stddev_ts": 3.2}}'
)


def _one_line_exit_2(args: list[str], env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    return lines[0]


# --- defect 8: ENAMETOOLONG ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", LONG],
        ["plan", LONG + ".gguf", "--on", "RTX 4090"],
        ["plan", "hf:org/" + LONG, "--on", "RTX 4090"],
        ["bench", LONG, "--no-store"],
        ["local", LONG],
        ["run", LONG, "--dry-run"],
    ],
    ids=["inspect", "plan-file", "plan-hf", "bench", "local", "run"],
)
def test_names_over_255_bytes_are_one_line(tmp_path, args):
    line = _one_line_exit_2(args, env={"RIGFIT_DATA_DIR": str(tmp_path)})
    assert "too long" in line


def test_inspect_json_fast_path_refuses_a_long_name(capsys):
    with pytest.raises(SystemExit) as info:
        main(["inspect", LONG, "--json"])
    assert info.value.code == 2
    assert "too long" in capsys.readouterr().err


# --- defect 10: --tensor-split ------------------------------------------------------------------


@pytest.mark.parametrize("shares", ["nan,1", "1,inf", "-inf,1", "1,nan"])
@pytest.mark.parametrize("command", ["plan", "run"])
def test_non_finite_tensor_split_is_refused(command, shares):
    args = [command, "llama-3.1-8b", "--tensor-split", shares]
    args += ["--on", "2x RTX 4090"] if command == "plan" else ["--dry-run"]
    assert "--tensor-split" in _one_line_exit_2(args)


# --- defect 5: damaged and foreign stores through the CLI -------------------------------------


def _seeded(tmp_path):
    d = tmp_path / "data"
    with open_store(d / "results.db") as s:
        s.add_run(Run(source="t"), [Result(test="tg128", tokens_per_s=50.0, dedupe_key="a")])
    conn = sqlite3.connect(d / "results.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    bench = tmp_path / "bench.jsonl"
    bench.write_text(BENCH_LINE.format(n=512) + "\n")
    return d, d / "results.db", bench


@pytest.mark.parametrize(
    "damage, words",
    [("DROP TABLE calibrations", "calibrations are missing"), ("PRAGMA user_version = 99", "newer than")],
    ids=["dropped-table", "newer-schema"],
)
def test_import_into_a_store_it_cannot_write_changes_no_byte(tmp_path, damage, words):
    d, db, bench = _seeded(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute(damage)
    conn.commit()
    conn.close()
    before = db.read_bytes()
    line = _one_line_exit_2(["results", "--import", str(bench)], env={"RIGFIT_DATA_DIR": str(d)})
    assert words in line
    assert db.read_bytes() == before
    assert not (d / "results.db-wal").exists()


def test_read_only_store_lists_and_refuses_imports_with_the_right_remedy(tmp_path, monkeypatch):
    """A store whose file or folder cannot be written (simulated: tests may run as root, who
    ignores permissions) is read through a read-only connection; an import says read-only, not
    damaged, and the file is untouched."""
    d, db, bench = _seeded(tmp_path)
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    before = db.read_bytes()
    env = {"RIGFIT_DATA_DIR": str(d), "COLUMNS": "120"}
    listed = runner.invoke(app, ["results"], env=env)
    assert listed.exit_code == 0 and "tg128" in listed.output
    line = _one_line_exit_2(["results", "--import", str(bench)], env=env)
    assert "read-only" in line and "damaged" not in line and "writable" in line
    assert db.read_bytes() == before


# --- defect 12: imports stream ------------------------------------------------------------------


def test_import_streams_rows_and_learns_the_build_from_them(tmp_path):
    f = tmp_path / "bench.jsonl"
    f.write_text("".join(BENCH_LINE.format(n=64 * (i + 1)) + "\n" for i in range(5)))
    batch, results = iter_file(f)
    assert batch.fmt == "llama-bench jsonl" and batch.build is None and batch.results == []
    first = next(results)
    assert first.test == "pp64" and batch.build == "abc1234 (7)"
    assert [r.test for r in results] == ["pp128", "pp192", "pp256", "pp320"]


def test_a_bad_row_late_in_a_streamed_import_stores_nothing(tmp_path):
    d = tmp_path / "data"
    f = tmp_path / "bench.jsonl"
    f.write_text("".join(BENCH_LINE.format(n=64 * (i + 1)) + "\n" for i in range(50)) + "{not json\n")
    line = _one_line_exit_2(["results", "--import", str(f)], env={"RIGFIT_DATA_DIR": str(d)})
    assert "line 51" in line
    with open_store(d / "results.db") as s:
        assert s.count("results") == 0 and s.count("runs") == 0


def test_streamed_import_stores_the_build_on_its_run(tmp_path):
    d = tmp_path / "data"
    f = tmp_path / "bench.jsonl"
    f.write_text(BENCH_LINE.format(n=512) + "\n")
    result = runner.invoke(app, ["results", "--import", str(f)], env={"RIGFIT_DATA_DIR": str(d)})
    assert result.exit_code == 0, result.output
    with open_store(d / "results.db") as s:
        (run,) = s.runs()
        assert run.llama_build == "abc1234 (7)" and s.count("results") == 1


# --- defects 3, 8, 10, 11: the rest of the inputs -------------------------------------------------


@pytest.mark.parametrize("command", ["predict", "check"])
def test_fifo_cases_and_claims_files_never_hang(tmp_path, command):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    args = ["predict", "--cases", str(fifo), "--out", str(tmp_path / "o.csv")] if command == "predict" else []
    line = _one_line_exit_2(args or ["check", str(fifo)])
    assert "FIFO" in line


def test_a_byte_order_mark_in_a_check_csv_is_read(tmp_path):
    f = tmp_path / "claims.csv"
    f.write_text(
        "hardware,model,quant,metric,value\nRTX 4090,llama-3.1-8b,Q4_K_M,decode_tps,100\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(app, ["check", str(f)])
    assert result.exit_code == 0, result.output
    assert "decode_tps=100" in result.output and "cannot read" not in result.output


def test_markdown_import_skips_odd_rows_with_a_warning_each(tmp_path):
    d = tmp_path / "data"
    head = "| model | size | params | backend | ngl | test | t/s |\n"
    head += "| --- | ---: | ---: | --- | --: | --: | --: |\n"
    row = "| llama 8B Q4_K - Medium | 4.58 GiB | 8.03 B | CUDA | 99 | {test} | {ts} |\n"
    f = tmp_path / "b.md"
    f.write_text(
        head
        + row.format(test="pp512", ts="1e400 ± 3.20")
        + row.format(test="pp-512", ts="12.50 ± 0.10")
        + row.format(test="tg128", ts="1.2.3 ± x")
        + row.format(test="tg64", ts="5.00 ± " + "9" * 200_000)
        + row.format(test="tg128", ts="55.10 ± 0.20")
        + "\nbuild: abc1234 (1)\n"
    )
    result = runner.invoke(app, ["results", "--import", str(f)], env={"RIGFIT_DATA_DIR": str(d)})
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert result.output.count("warning:") == 4
    with open_store(d / "results.db") as s:
        assert [(r.test, r.tokens_per_s) for r in s.results()] == [("tg128", 55.1)]


# --- defect 13: one run in three formats is stored once ------------------------------------------


def test_same_run_as_json_csv_and_markdown_is_stored_once(tmp_path):
    d = tmp_path / "data"
    js = tmp_path / "b.json"
    js.write_text("[" + BENCH_LINE.format(n=512) + "]")
    cs = tmp_path / "b.csv"
    cs.write_text(
        '"build_commit","build_number","model_type","n_prompt","n_gen","n_depth","avg_ts","stddev_ts"\n'
        '"abc1234","7","llama 8B Q4_K - Medium","512","0","0","1234.500000","3.200000"\n'
    )
    md = tmp_path / "b.md"
    md.write_text(
        "| model | size | params | backend | ngl | test | t/s |\n"
        "| --- | ---: | ---: | --- | --: | --: | --: |\n"
        "| llama 8B Q4_K - Medium | 4.58 GiB | 8.03 B | CUDA | 99 | pp512 | 1234.50 ± 3.20 |\n\n"
        "build: abc1234 (7)\n"
    )
    args = [
        "results",
        "--import",
        str(js),
        "--import",
        str(cs),
        "--import",
        str(md),
        "--hardware",
        "RTX 4090",
    ]
    result = runner.invoke(app, args, env={"RIGFIT_DATA_DIR": str(d)})
    assert result.exit_code == 0, result.output
    assert result.output.count("1 already stored") == 2
    with open_store(d / "results.db") as s:
        assert s.count("results") == 1 and s.count("runs") == 1


@pytest.mark.parametrize(
    "text",
    [
        '[{"avg_ts": 1, "n_prompt": ' + "9" * 5000 + "}]",
        BENCH_LINE.format(n=512) + '\n{"avg_ts": 1, "n_prompt": ' + "9" * 5000 + "}\n",
        '{"avg_ts": 1, "n_prompt": ' + "9" * 5000 + "}\n" + BENCH_LINE.format(n=512) + "\n",
    ],
    ids=["json", "jsonl-line-2", "jsonl-line-1"],
)
def test_a_5000_digit_number_in_an_import_is_one_line(tmp_path, text):
    """Found by benchmarks/fuzz_all.py (bench_import case 2873): json.loads raises ValueError, not
    JSONDecodeError, for an integer over Python's 4,300-digit limit."""
    f = tmp_path / "bench.json"
    f.write_text(text)
    line = _one_line_exit_2(["results", "--import", str(f)], env={"RIGFIT_DATA_DIR": str(tmp_path / "d")})
    assert "not valid JSON" in line and "9999" not in line


@pytest.mark.parametrize(
    "args",
    [
        ["check", "\x00"],
        ["inspect", "\x00"],
        ["plan", "a\x00b", "--on", "RTX 4090"],
        ["bench", "\x00", "--no-store"],
        ["local", "\x00"],
        ["run", "\x00", "--dry-run"],
        ["report", "--on", "RTX 4090", "--out", "\x00"],
    ],
    ids=["check", "inspect", "plan", "bench", "local", "run", "report"],
)
def test_a_nul_byte_in_a_name_is_one_line(tmp_path, args):
    """Found by benchmarks/fuzz_all.py (cli_args case 5781: ``check '\\x00'`` raised ValueError)."""
    line = _one_line_exit_2(args, env={"RIGFIT_DATA_DIR": str(tmp_path)})
    assert "NUL" in line or "null byte" in line
