"""``rigfit calibrate``: per-machine factors from stored measured-vs-predicted results."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from clirun import CliResult, run_cli
from rigfit.figures import Figure
from rigfit.measure.calibrate import (
    NoisyRunError,
    apply_factors,
    calibrate_figure,
    calibrate_machine,
    fit_factor,
    fit_kind,
    machine_factors,
)
from rigfit.measure.fingerprint import detect_fingerprint
from rigfit.measure.store import Result, Run, open_store


def _bench_rows(
    machine_id: str, pp: list[tuple[float, float]], tg: list[tuple[float, float]]
) -> list[Result]:
    rows = []
    for i, (meas, pred) in enumerate(pp):
        rows.append(
            Result(
                test="pp512",
                tokens_per_s=meas,
                predicted_tokens_per_s=pred,
                prompt_tokens=512,
                depth=0,
                machine_id=machine_id,
                dedupe_key=f"pp{i}",
            )
        )
    for i, (meas, pred) in enumerate(tg):
        rows.append(
            Result(
                test="tg64@d512",
                tokens_per_s=meas,
                predicted_tokens_per_s=pred,
                gen_tokens=64,
                depth=512,
                machine_id=machine_id,
                dedupe_key=f"tg{i}",
            )
        )
    return rows


def test_fit_factor_is_the_median_log_ratio():
    assert fit_factor([200.0, 220.0, 180.0], [100.0, 100.0, 100.0]) == pytest.approx(2.0)
    assert fit_factor([10.0], [20.0]) == pytest.approx(0.5)
    # one wild run does not move a median
    assert fit_factor([100.0, 101.0, 99.0, 10.0], [50.0] * 4) == pytest.approx(
        math.exp((math.log(100 / 50) + math.log(99 / 50)) / 2)
    )
    with pytest.raises(ValueError):
        fit_factor([0.0], [1.0])


def test_fit_kind_reports_before_and_leave_one_run_out_after():
    f = fit_kind("pp", [200.0, 210.0, 190.0, 205.0], [100.0] * 4)
    assert f.n == 4 and f.loo and f.runs == 4
    assert f.mdape_before == pytest.approx(102.5)
    assert f.mdape_after < 5.0
    # one run: no out-of-sample error (never the in-sample 0.0 %)
    one_run = fit_kind("tg", [30.0, 33.0], [40.0, 40.0], runs=[7, 7])
    assert not one_run.loo and one_run.mdape_after is None and one_run.runs == 1
    # two runs: each run scored by the factor of the other one
    two = fit_kind("tg", [30.0, 36.0], [40.0, 40.0], runs=[1, 2])
    assert two.loo and two.mdape_after == pytest.approx(
        100 * statistics.median([abs(30 / 36 - 1), abs(36 / 30 - 1)])
    )


def test_calibrate_refuses_one_noisy_run(tmp_path):
    with open_store(tmp_path / "r.db") as s:
        rows = _bench_rows("m1", [(400.0, 300.0)], [(30.0, 50.0)])
        rows[1].samples = [24.0, 30.0, 36.0]  # 40 % spread: the machine was busy
        rows[0].samples = [399.0, 400.0, 401.0]
        s.add_run(Run(source="rigfit bench", machine_id="m1"), rows)
        with pytest.raises(NoisyRunError, match="tg64@d512 40%"):
            calibrate_machine(s, "m1")
        # a second, quiet run makes a fit possible, with an out-of-sample error
        quiet = _bench_rows("m1", [(410.0, 300.0)], [(37.0, 50.0)])
        for r in quiet:
            r.dedupe_key = (r.dedupe_key or "") + "b"
        s.add_run(Run(source="rigfit bench", machine_id="m1"), quiet)
        _, fits = calibrate_machine(s, "m1")
        assert all(f.runs == 2 and f.mdape_after is not None for f in fits)


def test_calibrate_machine_stores_factors_used_later(tmp_path):
    with open_store(tmp_path / "r.db") as s:
        rows = _bench_rows(
            "m1", [(420.0, 300.0), (400.0, 300.0), (410.0, 300.0)], [(38.0, 50.0), (36.0, 50.0), (37.0, 50.0)]
        )
        rows += _bench_rows("other", [(1.0, 100.0)], [])  # another machine never leaks in
        for r in rows:  # one run per result: leave-one-run-out scores each against the others
            s.add_run(
                Run(source="rigfit bench", machine_id=r.machine_id, model_path=str(tmp_path / "g.gguf")), [r]
            )
        cal, fits = calibrate_machine(s, "m1")
        assert cal.factors["pp"] == pytest.approx(410 / 300)
        assert cal.factors["tg"] == pytest.approx(37 / 50)
        assert cal.error_after < cal.error_before
        assert {f.kind: f.n for f in fits} == {"pp": 3, "tg": 3}
        assert machine_factors("m1", s) == cal.factors
        assert machine_factors("never-benched", s) is None
        with pytest.raises(ValueError, match="no stored result"):
            calibrate_machine(s, "never-benched")


def test_apply_factors_labels_the_prediction_calibrated():
    pred = {
        "tests": {
            "pp512": {"tps": 300.0, "low": 200.0, "high": 400.0},
            "tg64@d512": {"tps": 50.0, "low": 40.0, "high": 60.0},
        },
        "provenance": "estimated",
    }
    out = apply_factors(pred, {"pp": 1.5, "tg": 0.5})
    assert out["provenance"] == "calibrated"
    assert out["tests"]["pp512"]["tps"] == pytest.approx(450.0)
    assert out["tests"]["pp512"]["base_tps"] == 300.0
    assert out["tests"]["tg64@d512"]["high"] == pytest.approx(30.0)
    assert apply_factors(pred, None) is pred
    assert apply_factors({"error": "x"}, {"pp": 2.0}) == {"error": "x"}


def test_calibrate_figure():
    fig = Figure(100.0, "tok/s", "estimated", "speed model", 80.0, 120.0)
    cal = calibrate_figure(fig, 0.8)
    assert (cal.value, cal.low, cal.high, cal.provenance) == (80.0, 64.0, 96.0, "calibrated")
    assert "rigfit calibrate" in cal.source
    assert calibrate_figure(fig, None) is fig


def _rigfit(tmp_path, *args: str) -> CliResult:
    """``rigfit ARGS`` in-process with the results store under ``tmp_path/data``."""
    return run_cli(*args, env={"RIGFIT_DATA_DIR": str(tmp_path / "data")})


def test_calibrate_cli(tmp_path):
    out = _rigfit(tmp_path, "calibrate")
    assert (
        out.exit_code == 2
        and "Run rigfit bench or rigfit run first" in out.stderr
        and "Traceback" not in out.stderr
    )
    me = detect_fingerprint().id
    with open_store(tmp_path / "data" / "results.db") as s:
        for r in _bench_rows(me, [(400.0, 200.0), (420.0, 200.0), (380.0, 200.0)], [(20.0, 40.0)]):
            s.add_run(Run(source="rigfit bench", machine_id=me), [r])
    out = _rigfit(tmp_path, "calibrate", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["factors"]["pp"] == pytest.approx(2.0) and data["factors"]["tg"] == pytest.approx(0.5)
    assert data["error_before"] > data["error_after"]
    table = _rigfit(tmp_path, "calibrate")
    assert table.exit_code == 0 and "prefill" in table.stdout and "leave-one-run-out" in table.stdout
