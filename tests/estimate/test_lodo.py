"""Leave-one-device-out evaluation (rigfit.estimate.lodo), on a slice of the shipped ground truth."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import pytest

from rigfit.estimate.calibration import FitRow
from rigfit.estimate.lodo import ape, build_fit_rows, lodo_predictions, lodo_residuals, summarise
from rigfit.estimate.speed import load_constants
from rigfit.measure.groundtruth import default_calibration_path

DEVICES = ("NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 4090", "NVIDIA RTX A6000")
PER_DEVICE = 40


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory) -> Path:
    """40 single-GPU rows of each of three CUDA cards, plus a row with no rate and an unknown GPU."""
    src = default_calibration_path()
    assert src is not None and src.exists(), "data/ground-truth/speed_calibration.csv is part of the repo"
    with open(src, newline="") as fh:
        rows = list(csv.DictReader(fh))
    taken = dict.fromkeys(DEVICES, 0)
    keep = []
    for r in rows:
        if r["hardware"] in taken and r["n_devices"] == "1" and taken[r["hardware"]] < PER_DEVICE:
            taken[r["hardware"]] += 1
            keep.append(r)
    assert all(n == PER_DEVICE for n in taken.values())
    keep.append(dict(keep[0], tokens_per_s=""))
    keep.append(dict(keep[0], hardware="Imaginary GPU 9000"))
    out = tmp_path_factory.mktemp("lodo") / "sample.csv"
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)
    return out


@pytest.fixture(scope="module")
def constants() -> dict:
    return load_constants()


@pytest.fixture(scope="module")
def fit_rows(sample_csv, constants) -> list[FitRow]:
    rows, unresolved, total = build_fit_rows(sample_csv, constants)
    assert total == 3 * PER_DEVICE + 2
    assert len(rows) == 3 * PER_DEVICE
    assert unresolved["no measured tokens/s"] == 1 and sum(unresolved.values()) == 2
    return rows


def test_fit_rows_carry_device_kind_and_backend(fit_rows):
    assert {r.device for r in fit_rows} and len({r.device for r in fit_rows}) == 3
    assert {r.kind for r in fit_rows} <= {"pp", "tg", "pg"} and {r.backend for r in fit_rows} == {"CUDA"}
    assert all(r.observed_tps > 0 and r.tokens > 0 and r.time == r.tokens / r.observed_tps for r in fit_rows)


def test_held_out_device_does_not_see_its_own_measurements(fit_rows, constants):
    """Doubling one device's measured rates leaves its own predictions alone, but moves the others'."""
    base = lodo_predictions(fit_rows, constants)
    assert len(base) == len(fit_rows) and all(math.isfinite(p) and p > 0 for _, p in base)
    target = fit_rows[0].device
    doubled = [
        dataclasses.replace(r, observed_tps=2 * r.observed_tps) if r.device == target else r for r in fit_rows
    ]
    moved = lodo_predictions(doubled, constants)
    same = [
        p1 == pytest.approx(p2, rel=1e-9)
        for (r, p1), (_, p2) in zip(base, moved, strict=True)
        if r.device == target
    ]
    assert same and all(same)
    others = [abs(p2 / p1 - 1) for (r, p1), (_, p2) in zip(base, moved, strict=True) if r.device != target]
    assert max(others) > 0.01


def test_residuals_and_summary_on_unseen_devices(fit_rows, constants):
    res = lodo_residuals(fit_rows, constants)
    assert len(res["pairs"]) == len(fit_rows)
    bands = res["bands"]
    assert {"pp", "tg"} <= set(bands)
    for kind in ("pp", "tg"):
        b = bands[kind]
        assert b["p10"] < 0 < b["p90"] and b["n"] >= 20
        # held-out cards of a well-known backend: median error within 25 %
        assert res["summary"][kind]["mdape"] < 0.25
        assert res["summary"][kind]["p90"] >= res["summary"][kind]["mdape"]
    n_kinds = sum(s["n"] for k, s in res["summary"].items() if "|" not in k)
    assert n_kinds == len(fit_rows)


def test_ape_and_summary_groups():
    assert ape(100.0, 110.0) == pytest.approx(0.1) and ape(100.0, 90.0) == pytest.approx(0.1)
    mk = lambda kind, backend, hw, obs: FitRow({}, 1.0, obs, "d", kind, backend, hw)  # noqa: E731
    pairs = [
        (mk("tg", "CUDA", "nvidia", 100.0), 110.0),
        (mk("tg", "CUDA", "nvidia", 100.0), 130.0),
        (mk("tg", "Metal", "apple", 50.0), 40.0),
        (mk("pp", "CUDA", "nvidia", 1000.0), math.nan),
    ]
    s = summarise(pairs)
    assert s["tg"]["n"] == 3 and s["tg"]["mdape"] == pytest.approx(0.2)
    assert s["tg|backend=CUDA"] == {"n": 2, "mdape": pytest.approx(0.2), "p90": pytest.approx(0.28)}
    assert s["tg|hw=apple"]["n"] == 1 and s["tg|split=layer"]["n"] == 3
    assert "pp" not in s  # a NaN prediction is no data point
