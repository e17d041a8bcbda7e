"""Importers: llama-bench json / jsonl / csv / markdown and ground-truth CSVs, and the CSV export."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from clirun import CliResult, run_cli
from rigfit.errors import BadFileError
from rigfit.measure.groundtruth import GROUND_TRUTH_COLUMNS, default_calibration_path
from rigfit.measure.importers import (
    detect_format,
    export_csv,
    llama_bench_test_name,
    parse_file,
    quant_from_model_type,
)
from rigfit.measure.store import Run, open_store

DATA = Path(__file__).resolve().parents[1] / "data"
LB = DATA / "llama_bench"
FORMATS = ("json", "jsonl", "csv", "md")


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "results.db") as s:
        yield s


def _import(store, path: Path) -> int:
    batch = parse_file(path)
    rep = store.add_run(Run(source=batch.fmt, source_file=str(path)), batch.results)
    return rep.added


@pytest.mark.parametrize("ext", FORMATS)
def test_llama_bench_formats_read_the_same_tests(ext):
    batch = parse_file(LB / f"rtx3060_llama8b.{ext}")
    assert [r.test for r in batch.results] == ["pp512", "tg128", "pp512@d4096", "tg128@d4096"]
    ref = json.loads((LB / "rtx3060_llama8b.json").read_text())
    for r, obj in zip(batch.results, ref, strict=True):
        assert r.tokens_per_s == pytest.approx(obj["avg_ts"], abs=0.006)  # markdown keeps 2 decimals
        # a pasted table does not name the hardware: unknown stays unknown (rigfit results --hardware)
        assert r.hardware == ("" if ext == "md" else "NVIDIA GeForce RTX 3060")
        assert r.backend == "CUDA" and r.hardware_kind == "nvidia"
        assert r.quant == "Q4_K_M"
        assert r.model_family == "llama"
        assert r.ngl == 99
        assert r.params_b == pytest.approx(8.03)
        assert r.model_size_bytes == pytest.approx(obj["model_size"], rel=1e-3)
        assert r.build_number == 7311
    if ext == "json":  # the raw samples survive
        assert batch.results[0].samples == pytest.approx(ref[0]["samples_ts"])
        assert batch.results[1].prompt_tokens is None and batch.results[1].gen_tokens == 128


def test_detect_format():
    assert detect_format((LB / "rtx3060_llama8b.json").read_text()) == "json"
    assert detect_format((LB / "rtx3060_llama8b.jsonl").read_text()) == "jsonl"
    assert detect_format((LB / "rtx3060_llama8b.csv").read_text()) == "csv"
    assert detect_format((LB / "rtx3060_llama8b.md").read_text()) == "markdown"
    assert detect_format((DATA / "ground_truth_sample.csv").read_text()) == "ground-truth"
    with pytest.raises(ValueError):
        detect_format("hello world\n")


def test_old_pasted_markdown_with_spaces_and_combined_test():
    batch = parse_file(LB / "old_cpu_b1767.md")
    assert [r.test for r in batch.results] == ["pp512", "tg128", "pp512+tg128"]
    assert [r.tokens_per_s for r in batch.results] == [45.32, 11.10, 38.71]
    assert batch.results[0].threads == 8
    assert batch.results[0].quant == "Q4_0"
    assert batch.results[0].hardware_kind == "cpu"
    assert batch.build == "8e672efe (1767)"


@pytest.mark.parametrize(
    ("model_type", "quant"),
    [
        ("llama 8B Q4_K - Medium", "Q4_K_M"),
        ("qwen3moe 30B.A3B Q4_K - Small", "Q4_K_S"),
        ("llama 70B Q3_K - Large", "Q3_K_L"),
        ("gpt-oss 20B MXFP4 MoE", "MXFP4"),
        ("gemma3 1B Q8_0", "Q8_0"),
        ("llama 8B IQ2_XXS - 2.0625 bpw", "IQ2_XXS"),
        ("llama 8B IQ3_S mix - 3.66 bpw", "IQ3_M"),
        ("llama 8B F16", "F16"),
        ("llama 8B all F32", "F32"),
        ("mystery", ""),
    ],
)
def test_quant_from_model_type(model_type, quant):
    assert quant_from_model_type(model_type) == quant


def test_test_names():
    assert llama_bench_test_name(512, 0) == "pp512"
    assert llama_bench_test_name(0, 128, 4096) == "tg128@d4096"
    assert llama_bench_test_name(512, 128) == "pp512+tg128"


def test_llama_bench_json_round_trips_through_export(store, tmp_path):
    assert _import(store, LB / "rtx3060_llama8b.json") == 4
    first = tmp_path / "first.csv"
    assert export_csv(store.results(), first) == 4
    rows = list(csv.DictReader(first.open()))
    assert list(rows[0]) == list(GROUND_TRUTH_COLUMNS)
    ref = json.loads((LB / "rtx3060_llama8b.json").read_text())
    assert [r["test"] for r in rows] == ["pp512", "tg128", "pp512@d4096", "tg128@d4096"]
    for row, obj in zip(rows, ref, strict=True):
        assert float(row["tokens_per_s"]) == pytest.approx(obj["avg_ts"], rel=1e-6)
        assert row["quant"] == "Q4_K_M" and row["hardware"] == "NVIDIA GeForce RTX 3060"
        assert "b8c7b9e1" in row["date_or_build"] and "(7311)" in row["date_or_build"]
    # the exported CSV is itself importable, and exports again unchanged
    with open_store(tmp_path / "second.db") as other:
        assert _import(other, first) == 4
        second = tmp_path / "second.csv"
        export_csv(other.results(), second)
    assert second.read_bytes() == first.read_bytes()


def test_importing_twice_adds_nothing(store):
    assert _import(store, LB / "rtx3060_llama8b.jsonl") == 4
    assert _import(store, LB / "rtx3060_llama8b.jsonl") == 0
    assert store.count("results") == 4
    assert store.count("runs") == 1


def test_ground_truth_sample_round_trips_byte_for_byte(store, tmp_path):
    assert _import(store, DATA / "ground_truth_sample.csv") == 6
    out = tmp_path / "out.csv"
    export_csv(store.results(), out)
    assert out.read_bytes() == (DATA / "ground_truth_sample.csv").read_bytes()


def test_shared_ground_truth_round_trips(store, tmp_path):
    shared = default_calibration_path()
    if shared is None:
        pytest.skip("data/ground-truth is not in this checkout")
    copy = tmp_path / "gt.csv"
    shutil.copy(shared, copy)
    n = _import(store, copy)
    assert n == sum(1 for _ in csv.DictReader(copy.open())) > 3000
    out = tmp_path / "out.csv"
    assert export_csv(store.results(), out) == n
    assert out.read_bytes() == copy.read_bytes()
    pp = [r for r in store.results() if r.test == "pp512" and r.prompt_tokens == 512]
    assert pp and all(r.tokens_per_s and r.tokens_per_s > 0 for r in pp)


def test_bad_files_are_one_clear_error(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some words\n")
    with pytest.raises(BadFileError, match="not a format rigfit imports"):
        parse_file(p)
    with pytest.raises(BadFileError, match="no such file"):
        parse_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"avg_ts": 1.0, "n_prompt": 512,')
    with pytest.raises(BadFileError, match="not valid JSON"):
        parse_file(bad)
    other = tmp_path / "other.json"
    other.write_text('[{"name": "x"}]')
    with pytest.raises(BadFileError, match="not a llama-bench test"):
        parse_file(other)


def _rigfit(tmp_path, *args: str) -> CliResult:
    """``rigfit ARGS`` in-process with the results store under ``tmp_path/data``."""
    return run_cli(*args, env={"RIGFIT_DATA_DIR": str(tmp_path / "data")})


def test_results_cli_import_export_and_list(tmp_path):
    out = _rigfit(
        tmp_path,
        "results",
        "--import",
        str(LB / "rtx3060_llama8b.md"),
        "--hardware",
        "RTX 3060",
        "--import",
        str(DATA / "ground_truth_sample.csv"),
    )
    assert out.exit_code == 0, out.stderr
    assert "Imported 4 result(s)" in out.stdout and "Imported 6 result(s)" in out.stdout
    listed = _rigfit(tmp_path, "results", "--json")
    data = json.loads(listed.stdout)
    assert len(data["results"]) == 10
    assert data["results"][0]["hardware"] == "RTX 3060"  # --hardware names it
    assert data["results"][4]["hardware"] == "NVIDIA GeForce RTX 3090"  # published rows keep theirs
    assert {r["source"] for r in data["results"]} == {"llama-bench markdown", "ground truth csv"}
    exported = tmp_path / "all.csv"
    assert _rigfit(tmp_path, "results", "--export", str(exported)).exit_code == 0
    assert len(list(csv.DictReader(exported.open()))) == 10
    table = _rigfit(tmp_path, "results")
    assert table.exit_code == 0 and "pp512@d4096" in table.stdout


def test_results_cli_bad_import_is_one_line_exit_2(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("nothing to see\n")
    out = _rigfit(tmp_path, "results", "--import", str(junk))
    assert out.exit_code == 2
    assert "Traceback" not in out.stderr and "not a format rigfit imports" in out.stderr
