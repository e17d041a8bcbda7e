"""Imported llama-bench rows get rigfit's prediction beside them in ``rigfit results`` (issue 17,
"Noisy measurements are trusted")."""

from __future__ import annotations

from pathlib import Path

from clirun import run_cli
from rigfit.measure.importers import parse_file
from rigfit.measure.result_predictions import predict_result
from rigfit.measure.store import Result

LB = Path(__file__).resolve().parents[1] / "data" / "llama_bench"


def test_imported_row_is_predicted_from_its_hardware_model_and_test():
    batch = parse_file(LB / "rtx3060_llama8b.md")
    tg = next(r for r in batch.results if r.test == "tg128")
    tg.hardware = "RTX 3060 12GB"
    pred = predict_result(tg)
    assert pred.tps is not None and not pred.stored
    assert pred.low is not None and pred.high is not None and pred.low <= pred.tps <= pred.high
    # an RTX 3060 decodes an 8B Q4_K_M at tens of tok/s, far under its 360 GB/s / 4.6 GB roofline
    assert 20 < pred.tps < 78


def test_stored_prediction_wins_and_unknown_hardware_says_why():
    stored = Result(test="tg64@d512", tokens_per_s=30.0, predicted_tokens_per_s=40.0)
    assert predict_result(stored).tps == 40.0 and predict_result(stored).stored
    batch = parse_file(LB / "old_cpu_b1767.md")
    unknown = predict_result(batch.results[0])
    assert unknown.tps is None and unknown.why


def test_results_table_shows_prediction_and_ratio_for_imported_rows(tmp_path):
    env = {"RIGFIT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "160"}
    path = LB / "rtx3060_llama8b.md"
    assert run_cli("results", "--import", str(path), "--hardware", "RTX 3060 12GB", env=env).exit_code == 0
    out = run_cli("results", env=env)
    assert out.exit_code == 0, out.stderr
    tg = next(r for r in parse_file(path).results if r.test == "tg128")
    tg.hardware = "RTX 3060 12GB"
    pred = predict_result(tg)
    line = next(ln for ln in out.stdout.splitlines() if " tg128 " in ln)
    assert f"{pred.tps:,.1f} ({pred.low:,.1f}–{pred.high:,.1f})" in line
    assert f"{55.35 / pred.tps:.2f}×" in line
