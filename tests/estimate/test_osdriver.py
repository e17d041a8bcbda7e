"""OS / driver factors (rigfit.estimate.speed.osdriver): the OS of a ground-truth row, the fitted
factor per (kind, vendor, backend, OS), and the widened band of an unknown OS."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from rigfit.estimate.calibration import FitRow
from rigfit.estimate.lodo import build_fit_rows, lodo_predictions
from rigfit.estimate.predict import case_settings, predict_case
from rigfit.estimate.speed import load_constants
from rigfit.estimate.speed.osdriver import (
    describe,
    factor,
    fit_factors,
    fit_with_os,
    label,
    normalise_os,
    normalised,
    os_of_row,
    widen_unknown,
)
from rigfit.measure.groundtruth import case_from_row, ground_truth_dir

PR_14001 = "https://github.com/ggml-org/llama.cpp/pull/14001"


def _vendors3() -> list[dict]:
    folder = ground_truth_dir()
    assert folder is not None, "data/ground-truth is part of the repository"
    with open(Path(folder) / "speed_vendors3.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_os_of_the_pr_14001_rows_comes_from_their_notes():
    rows = [r for r in _vendors3() if r["source_url"] == PR_14001]
    got = [(r["hardware"], r["test"], os_of_row(r)) for r in rows]
    assert [o for *_, o in got] == ["windows"] * 6 + ["linux"] * 6
    assert all(r["source_url"] for r in rows)  # every row keeps its source
    # the SYCL row of PR 8095 states no OS
    sycl = next(r for r in _vendors3() if "8095" in r["source_url"])
    assert os_of_row(sycl) == "unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Windows 11 24H2, Intel graphics driver 32.0.101.6795", "windows"),
        ("Ubuntu 24.04.2, Mesa 24.2.8", "linux"),
        ("RADV GFX1201 on a Raspberry Pi 5 host", "linux"),
        ("-ub 512; Arch 6.17.0-1-mainline", "linux"),
        ("dual boot: Windows 11 and Ubuntu", "unknown"),  # two OSes: no guess
        ("llama-bench on master", "unknown"),
        ("", "unknown"),
        ("macOS", "macos"),
    ],
)
def test_normalise_os(text, expected):
    assert normalise_os(text) == expected


def test_an_explicit_os_column_wins_over_the_notes():
    assert os_of_row({"os": "linux", "notes": "Windows 11"}) == "linux"
    assert os_of_row({"os": "", "notes": "Windows 11"}) == "windows"


def test_case_settings_carry_the_os():
    row = next(r for r in _vendors3() if r["source_url"] == PR_14001 and "Mesa" in r["notes"])
    assert case_settings(case_from_row(row)).os == "linux"
    assert case_settings(case_from_row(dict(row, notes="llama-bench"))).os == "unknown"


@dataclass(frozen=True)
class _Settings:
    os: str


@dataclass(frozen=True)
class _Ref:
    settings: _Settings


def _row(device: str, os_name: str, tps: float, kind: str = "tg") -> FitRow:
    # features: one term whose coefficient 'x' times 1 s is the predicted time of 1 token
    return FitRow({"x": 1.0}, 1.0, tps, device, kind, "Vulkan", "intel", _Ref(_Settings(os_name)))  # type: ignore[arg-type]


def _linear(coefs, feats) -> float:
    return sum(coefs.get(k, 0.0) * v for k, v in feats.items())


def test_factors_measure_the_contrast_between_operating_systems():
    # three devices, each 1 tok/s on Windows and 0.4 tok/s on Linux; the model predicts 1 tok/s
    rows = [_row(d, "windows", 1.0) for d in "ABC"] + [_row(d, "linux", 0.4) for d in "ABC"]
    f = fit_factors(rows, {"x": 1.0}, _linear)
    # centred on the middle of the two: ×1/√0.4 on Windows, ×√0.4 on Linux
    assert f["tg|intel|Vulkan|windows"]["log"] == pytest.approx(-0.5 * math.log(0.4))
    assert f["tg|intel|Vulkan|linux"]["log"] == pytest.approx(0.5 * math.log(0.4))
    assert f["tg|intel|Vulkan|linux"]["devices"] == 3
    # normalised rows are what the middle OS would measure
    assert [r.observed_tps for r in normalised(rows, f)] == pytest.approx([math.sqrt(0.4)] * 6)


def test_no_factor_without_a_contrast():
    one_os = [_row(d, "linux", 0.4) for d in "ABC"]
    assert fit_factors(one_os, {"x": 1.0}, _linear) == {}
    one_device = [_row("A", "windows", 1.0), _row("A", "linux", 0.4), _row("B", "windows", 1.0)]
    assert fit_factors(one_device, {"x": 1.0}, _linear) == {}  # Linux seen on one device only
    cpu = [dataclass_replace(r, hardware_kind="cpu") for r in one_os + [_row(d, "windows", 1) for d in "AB"]]
    assert fit_factors(cpu, {"x": 1.0}, _linear) == {}


def dataclass_replace(r: FitRow, **kw) -> FitRow:
    import dataclasses

    return dataclasses.replace(r, **kw)


def test_fit_with_os_refits_the_base_on_normalised_rows():
    rows = [_row(d, "windows", 1.0) for d in "ABC"] + [_row(d, "linux", 0.4) for d in "ABC"]
    rows += [_row("D", "unknown", 1.0)]
    seen: list[list[float]] = []

    def fake_fit(rs: list[FitRow]) -> dict[str, float]:
        seen.append([r.observed_tps for r in rs])
        # time per token = mean observed time: the 'base' model
        return {"x": sum(r.time for r in rs) / len(rs)}

    coefs, f = fit_with_os(rows, fake_fit, _linear)
    assert len(seen) == 2 and seen[1][:6] != seen[0][:6]
    assert 1.0 < coefs["x"] < 2.5  # the base sits between the two operating systems
    lin, win = f["tg|intel|Vulkan|linux"]["log"], f["tg|intel|Vulkan|windows"]["log"]
    assert math.exp(lin - win) == pytest.approx(0.4, rel=1e-6)  # the contrast survives the refit
    assert lin + win == pytest.approx(0.0, abs=1e-6)


C = {
    "os_factors": {
        "tg|intel|Vulkan|linux": {"log": math.log(0.4), "devices": 3, "rows": 3},
        "tg|intel|Vulkan|windows": {"log": math.log(1.2), "devices": 3, "rows": 3},
    }
}


def test_factor_label_and_unknown_band():
    assert factor(C, "tg", "intel", "Vulkan", "linux") == pytest.approx(0.4)
    assert factor(C, "tg", "intel", "Vulkan", "unknown") == 1.0
    assert factor(C, "tg", "amd", "Vulkan", "linux") == 1.0
    assert factor({}, "tg", "intel", "Vulkan", "linux") == 1.0
    lo, hi = widen_unknown(C, "tg", "intel", "Vulkan", "unknown", 10.0, 20.0)
    assert (lo, hi) == pytest.approx((4.0, 24.0))
    assert widen_unknown(C, "tg", "intel", "Vulkan", "linux", 10.0, 20.0) == (10.0, 20.0)
    assert widen_unknown(C, "pp", "intel", "Vulkan", "unknown", 10.0, 20.0) == (10.0, 20.0)
    assert label("intel", "Vulkan", "linux") == "Vulkan on Linux (Mesa ANV)"
    assert describe(C, "tg", "intel", "Vulkan", "linux").startswith("Vulkan on Linux (Mesa ANV): ×0.40")
    assert "widened" in describe(C, "tg", "intel", "Vulkan", None)


def test_predictions_apply_the_factor_and_widen_unknown():
    base = dict(load_constants())
    row = next(r for r in _vendors3() if r["source_url"] == PR_14001 and r["test"] == "tg128")
    consts = dict(base, os_factors=C["os_factors"])
    win = predict_case(case_from_row(dict(row, notes="Windows 11")), consts)
    lin = predict_case(case_from_row(dict(row, notes="Ubuntu, Mesa")), consts)
    unk = predict_case(case_from_row(dict(row, notes="")), consts)
    assert win[0] is not None and lin[0] is not None and unk[0] is not None
    assert lin[0] < unk[0] < win[0]
    assert unk[1] <= lin[0] and unk[2] >= min(win[0], unk[2])  # the unknown band reaches both


@pytest.fixture(scope="module")
def intel_rows(tmp_path_factory):
    rows = [r for r in _vendors3() if r["source_url"] == PR_14001]
    path = tmp_path_factory.mktemp("os") / "intel.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    fit_rows, _, _ = build_fit_rows(path, load_constants())
    return fit_rows


def test_held_out_device_gets_the_linux_slowdown_of_the_other_devices(intel_rows):
    """Leave-one-device-out on PR 14001's three GPUs: each card's Linux decode is predicted slower
    than its Windows decode from the other two cards' contrast alone."""
    pairs = lodo_predictions(intel_rows, dict(load_constants()))
    by = {(r.device, r.kind, r.ref.settings.os): p for r, p in pairs}
    for dev in {r.device for r in intel_rows}:
        assert by[(dev, "tg", "linux")] < 0.7 * by[(dev, "tg", "windows")], dev


def test_estimate_speed_takes_the_os_and_names_it():
    from rigfit.catalog.models import resolve_model
    from rigfit.estimate.speed import estimate_speed, model_work
    from rigfit.estimate.tensors import catalog_model_spec
    from rigfit.hardware.grammar import resolve_machine

    w = model_work(catalog_model_spec(resolve_model("llama-3.1-8b"), "Q4_K_M"))
    m = resolve_machine("Intel Arc B580 + Ryzen 9 7950X + 64GB DDR5-6000")
    consts = dict(load_constants(), os_factors=C["os_factors"])
    oses = ("windows", "linux", "unknown")
    est = {o: estimate_speed(w, m, backend="Vulkan", constants=consts, os=o) for o in oses}
    dec = {o: e.decode_tps for o, e in est.items()}
    assert dec["linux"].value < dec["unknown"].value < dec["windows"].value
    assert dec["unknown"].low <= dec["linux"].value and dec["unknown"].high >= dec["windows"].value
    assert est["linux"].details["os"] == "Vulkan on Linux (Mesa ANV)"
    assert any(n.startswith("speed for Vulkan on Linux (Mesa ANV): decode") for n in est["linux"].notes)
    assert any("give --os" in n for n in est["unknown"].notes)
    # prefill has no factor in C: unchanged by the OS
    assert est["linux"].prefill_tps.value == pytest.approx(est["windows"].prefill_tps.value)


def test_plan_option_os_is_checked():
    from rigfit.errors import RigfitError
    from rigfit.options import plan_settings

    assert plan_settings(os="Linux").os == "linux"
    assert plan_settings().os == "unknown"
    with pytest.raises(RigfitError, match="--os"):
        plan_settings(os="beos")


def test_a_device_seen_on_one_os_does_not_move_the_factor():
    paired = [_row(d, "windows", 1.0) for d in "ABC"] + [_row(d, "linux", 0.4) for d in "ABC"]
    odd = [_row("E", "linux", 0.01)]  # a slow device measured on Linux only: its own quirk
    f0 = fit_factors(paired, {"x": 1.0}, _linear)
    f1 = fit_factors(paired + odd, {"x": 1.0}, _linear)
    assert f1["tg|intel|Vulkan|linux"]["log"] == pytest.approx(f0["tg|intel|Vulkan|linux"]["log"])
    assert f1["tg|intel|Vulkan|linux"]["devices"] == 3 and f1["tg|intel|Vulkan|linux"]["rows"] == 4
    # ... but its rows are normalised like every Linux row
    assert normalised(odd, f1)[0].observed_tps == pytest.approx(0.01 / math.sqrt(0.4))
