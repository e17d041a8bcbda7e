"""``--os`` (the OS / driver speed factor, rigfit/estimate/speed/osdriver.py) in ``rigfit plan``,
``rigfit check`` and ``rigfit predict``: the same option, help text and default, and the same factor.

The fitted factors today are Intel Vulkan's alone (speed_constants.json ``os_factors``), while a
plan runs an Intel GPU on SYCL (its default backend), so these tests add SYCL factors to the
constants the speed model loads: with the bundled ones every OS would give the same figure and
a check that drops --os would pass.
"""

from __future__ import annotations

import csv
import json
import math

import pytest

from clirun import run_cli
from rigfit.estimate import predict as predict_mod
from rigfit.estimate.speed import estimate as estimate_mod
from rigfit.estimate.speed.coefficients import load_constants
from rigfit.inputs import OS_HELP

GPU = "Arc B580"
MODEL, QUANT = "llama-3.1-8b", "Q4_K_M"
#: test factors: Linux decode × e^-0.2 (0.82), Windows × e^0.1 (1.11), small enough that no figure
#: reaches its roofline
LOGS = {"linux": -0.2, "windows": 0.1}


@pytest.fixture
def sycl_factors(monkeypatch: pytest.MonkeyPatch) -> None:
    consts = load_constants()
    consts["os_factors"] = dict(consts.get("os_factors", {})) | {
        f"tg|intel|SYCL|{os}": {"devices": 3, "log": log, "rows": 3} for os, log in LOGS.items()
    }
    monkeypatch.setattr(estimate_mod, "load_constants", lambda *a: consts)
    monkeypatch.setattr(predict_mod, "load_constants", lambda *a: consts)


def _plan_decode(os: str) -> float:
    r = run_cli("plan", MODEL, "-q", QUANT, "--on", GPU, "--os", os, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)["speed"]["decode_tps"]["value"]


def _check_decode(os: str) -> dict:
    claim = f"Llama-3.1-8B {QUANT} at 40 tok/s on an {GPU}\n"
    r = run_cli("check", "-", "--os", os, "--json", input=claim)
    assert r.exit_code == 0, r.stderr
    (v,) = json.loads(r.stdout)["verdicts"]
    assert v["metric"] == "decode_tps"
    return v["predicted"]


def _predict_decode(tmp_path, os: str, row_os: str = "") -> float:
    cases, out = tmp_path / f"cases-{os}.csv", tmp_path / f"out-{os}.csv"
    row = {
        "hardware": GPU,
        "n_devices": "1",
        "backend": "SYCL",
        "model": MODEL,
        "model_family": "llama",
        "params_b": "8",
        "quant": QUANT,
        "test": "tg128",
        "os": row_os,
    }
    with open(cases, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)
    r = run_cli("predict", "--cases", str(cases), "--out", str(out), "--os", os)
    assert r.exit_code == 0, r.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        (got,) = list(csv.DictReader(fh))
    assert got["status"] == "ok", got["status"]
    assert got["os"] == row_os  # the input column is copied through unchanged
    return float(got["predicted_tps"])


@pytest.mark.usefixtures("sycl_factors")
def test_check_gives_plans_figure_for_each_os() -> None:
    plan = {os: _plan_decode(os) for os in ("unknown", "linux", "windows")}
    assert plan["linux"] == pytest.approx(plan["unknown"] * math.exp(LOGS["linux"]))
    assert plan["windows"] == pytest.approx(plan["unknown"] * math.exp(LOGS["windows"]))
    for os, want in plan.items():
        assert _check_decode(os)["value"] == pytest.approx(want, rel=1e-12), os


@pytest.mark.usefixtures("sycl_factors")
def test_predict_applies_plans_factor_to_rows_without_an_os(tmp_path) -> None:
    plan = {os: _plan_decode(os) for os in ("unknown", "linux", "windows")}
    pred = {os: _predict_decode(tmp_path, os) for os in ("unknown", "linux", "windows")}
    for os in ("linux", "windows"):  # the same factor on the same device and backend as plan's
        assert pred[os] / pred["unknown"] == pytest.approx(plan[os] / plan["unknown"], rel=2e-3), os
    # a row that names its OS keeps it, whatever --os says
    assert _predict_decode(tmp_path, "windows", row_os="linux") == pytest.approx(pred["linux"], rel=1e-3)


def test_same_option_help_and_default() -> None:
    for cmd in ("plan", "check", "predict"):
        r = run_cli(cmd, "--help", env={"COLUMNS": "400"})
        assert r.exit_code == 0
        text = " ".join(r.stdout.split())
        assert "--os" in text and OS_HELP in text and "[default: unknown]" in text, cmd


@pytest.mark.parametrize("cmd", [["check", "-"], ["predict", "--cases", "x.csv", "--out", "y.csv"]])
def test_bad_os_is_one_line(cmd: list[str]) -> None:
    r = run_cli(*cmd, "--os", "beos", input="Llama-3.1-8B Q4_K_M at 40 tok/s on an RTX 3060\n")
    assert r.exit_code == 2 and "--os must be one of windows, linux, macos, unknown" in r.stderr
