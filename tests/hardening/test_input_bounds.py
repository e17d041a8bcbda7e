"""Issue 18, defects 2, 10, 11, 12: every numeric input has a documented range (rigfit.inputs),
memory bombs are refused up front, usage errors are one line with exit 2, and ``predict``
streams its rows."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from rigfit.cli import _load_commands
from rigfit.cli.app import app
from rigfit.errors import RigfitError
from rigfit.estimate.predict import predict_case
from rigfit.hardware.grammar import resolve_machine
from rigfit.inputs import CASE_RANGES, MAX_TOKENS, RANGES, check_range, range_problem
from rigfit.measure.groundtruth import case_from_row

_load_commands([])
runner = CliRunner()

ROW = {
    "hardware": "RTX 4090",
    "n_devices": "1",
    "backend": "CUDA",
    "model": "Llama 2 7B",
    "model_family": "llama",
    "params_b": "6.74",
    "quant": "Q4_0",
    "model_size_gib": "3.56",
    "test": "pp512",
}


def _invoke(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _one_line_error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "llama-3.1-8b", "--on", "RTX 4090", "--prompt", "9223372036854775807"],
        ["plan", "llama-3.1-8b", "--on", "RTX 4090", "--gpu-memory-utilization", "nan"],
        ["plan", "llama-3.1-8b", "--on", "RTX 4090", "--ubatch", "0"],
        ["bench", "--depth", "100000000"],
        ["bench", "--ctx", "2147483648"],
        ["bench", "--threads", "100000"],
        ["recommend", "--on", "RTX 4090", "--min-tps", "nan"],
        ["cost", "llama-3.1-8b", "--on", "RTX 4090", "--hours-per-day", "25"],
        ["results", "--limit", "-1"],
    ],
)
def test_out_of_range_options_are_one_line_exit_2(args):
    line = _one_line_error(_invoke(args))
    assert ("must be" in line or "should be" in line) and "--help" in line


@pytest.mark.parametrize(
    "args, hint",
    [
        (["plan", "--promt", "5"], "--prompt"),
        (["bogus"], "No such command"),
        (["inspect"], "Missing argument"),
        (["plan", "x", "--on", "y", "--ubatch", "abc"], "--ubatch"),
    ],
)
def test_usage_errors_are_one_line_with_a_suggestion(args, hint):
    line = _one_line_error(_invoke(args))
    assert hint in line and "--help" in line


def test_every_range_is_documented_and_finite():
    for flag, rng in {**RANGES, **CASE_RANGES}.items():
        assert rng.why and rng.unit is not None, flag
        assert rng.low <= rng.high, flag
        assert range_problem(float("nan"), rng, flag)
        assert range_problem(float("inf"), rng, flag)
    with pytest.raises(RigfitError, match="--prompt"):
        check_range(MAX_TOKENS + 1, "--prompt")
    check_range(MAX_TOKENS, "--prompt")


@pytest.mark.parametrize(
    "cells, reason",
    [
        ({"n_devices": "1000000000"}, "devices"),
        ({"hardware": "1000000000x RTX 4090"}, "devices"),
        ({"test": "pp9223372036854775807"}, "prompt_tokens"),
        ({"test": "pp512@d9223372036854775807"}, "depth"),
        ({"test": "pp99999999"}, "prompt_tokens"),
        ({"depth": "1e308"}, "depth"),
        ({"depth": "3000000000"}, "depth"),
        ({"ngl": "inf"}, "ngl"),
        ({"threads": "-5"}, "threads"),
        ({"hardware": "RTX 4090 " * 20000}, "hardware name"),
    ],
)
def test_predict_rows_outside_the_ranges_are_unresolved_not_computed(cells, reason):
    tps, _, _, status = predict_case(case_from_row({**ROW, **cells}))
    assert tps is None and status.startswith("unresolved") and reason in status


def test_machine_descriptions_are_capped():
    with pytest.raises(RigfitError, match="at most 256"):
        resolve_machine("RTX 4090 + " * 2000 + "RTX 4090")
    with pytest.raises(RigfitError, match="device count"):
        resolve_machine("1000x RTX 4090 + 100x RTX 4090")


def test_predict_streams_rows_and_keeps_order(tmp_path):
    src = tmp_path / "cases.csv"
    rows = [dict(ROW, test=f"pp{64 * (i + 1)}") for i in range(50)] + [dict(ROW, n_devices="1e9")]
    with open(src, "w", newline="", encoding="utf-8-sig") as fh:  # with a BOM, as Excel saves
        w = csv.DictWriter(fh, fieldnames=list(ROW))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "out.csv"
    result = _invoke(["predict", "--cases", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["test"] for r in got] == [r["test"] for r in rows]
    assert all(r["status"] == "ok" for r in got[:50])
    assert got[50]["status"].startswith("unresolved")


def test_predict_refuses_an_empty_out_and_the_results_store(tmp_path, monkeypatch):
    src = tmp_path / "cases.csv"
    src.write_text("hardware,model,test\nRTX 4090,Llama 2 7B,pp512\n")
    _one_line_error(_invoke(["predict", "--cases", str(src), "--out", ""]))
    monkeypatch.setenv("RIGFIT_DATA_DIR", str(tmp_path))
    store = tmp_path / "results.db"
    store.write_bytes(b"keep")
    _one_line_error(_invoke(["predict", "--cases", str(src), "--out", str(store)]))
    assert store.read_bytes() == b"keep"
