"""Intel GPU generations in the speed model (speed/classes.py INTEL_DECODE_EFFICIENCY) and the
Intel Arc ground truth of data/ground-truth/speed_intel_arc.csv."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import pytest

from rigfit.estimate.lodo import build_fit_rows
from rigfit.estimate.speed import load_constants
from rigfit.estimate.speed.classes import (
    INTEL_DECODE_EFFICIENCY,
    intel_decode_efficiency,
    intel_gpu_generation,
)
from rigfit.estimate.speed.features import decode_features
from rigfit.estimate.speed.layout import make_layout
from rigfit.hardware.names import resolve_device
from rigfit.measure.groundtruth import ground_truth_dir


@pytest.mark.parametrize(
    ("name", "generation"),
    [
        ("Intel Arc A770", "xe-hpg"),
        ("Intel Arc A310", "xe-hpg"),
        ("Intel Arc A770M", "xe-hpg"),
        ("Intel Arc B580", "xe2"),
        ("Intel Arc Pro B60", "xe2"),
        ("Intel Arc 140V", "xe2"),
        ("NVIDIA GeForce RTX 3090", None),
        ("Intel Core Ultra 7 268V", None),  # the CPU row of the catalog, not its iGPU
    ],
)
def test_generation_of_catalog_devices(name, generation):
    assert intel_gpu_generation(resolve_device(name)) == generation


def test_alchemist_is_less_efficient_than_xe2_and_others_are_untouched():
    a770, b580 = resolve_device("Intel Arc A770"), resolve_device("Intel Arc B580")
    assert intel_decode_efficiency(a770) == INTEL_DECODE_EFFICIENCY["xe-hpg"]
    assert 0.3 < intel_decode_efficiency(a770) < 0.8  # the spread of the three measured pairs
    assert intel_decode_efficiency(b580) == 1.0
    assert intel_decode_efficiency(resolve_device("NVIDIA GeForce RTX 3090")) == 1.0


def test_the_documented_ratio_is_the_geometric_mean_of_its_pairs():
    """classes.py quotes three A770 / B580 pairs (t/s ÷ datasheet GB/s, 560 and 456 GB/s)."""
    pairs = [(29.92, 65.65), (96.42, 129.95), (39.14, 41.82)]
    ratios = [(a / 560) / (b / 456) for a, b in pairs]
    gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    assert INTEL_DECODE_EFFICIENCY["xe-hpg"] == pytest.approx(gm, abs=0.005)


def _arc_rows() -> list[dict]:
    folder = ground_truth_dir()
    assert folder is not None, "data/ground-truth is part of the repository"
    with open(Path(folder) / "speed_intel_arc.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_arc_row_has_one_source_url_and_resolves():
    rows = _arc_rows()
    assert len(rows) >= 18
    assert all(r["source_url"].startswith("https://github.com/") for r in rows)
    fit_rows, unresolved, total = build_fit_rows(
        Path(ground_truth_dir()) / "speed_intel_arc.csv", load_constants()
    )
    assert total == len(rows) and not unresolved and len(fit_rows) == len(rows)
    oses = {(r.device, r.ref.settings.os) for r in fit_rows if r.backend == "Vulkan"}
    assert ("Intel Arc A770", "linux") in oses and ("Intel Arc A770", "windows") in oses


def _layout(ref, machine):
    s = ref.settings
    return make_layout(ref.work, machine, s.backend, s.ngl, s.cpu_only, s.split_mode)


def test_decode_features_of_an_alchemist_card_carry_its_efficiency():
    """The same card with its architecture relabelled Xe2 reads its weights 1/0.555 × faster."""
    fit_rows, _, _ = build_fit_rows(Path(ground_truth_dir()) / "speed_intel_arc.csv", load_constants())
    row = next(r for r in fit_rows if r.device == "Intel Arc A770" and r.kind == "tg" and r.backend == "SYCL")
    ref = row.ref
    C = dict(load_constants())
    a770 = ref.machine.accelerators[0]
    relabelled = replace(ref.machine, accelerators=(replace(a770, architecture="Xe2-HPG"),))
    f_old = decode_features(ref.work, _layout(ref, ref.machine), ref.machine, ref.settings, 0, 128, C)
    f_new = decode_features(ref.work, _layout(ref, relabelled), relabelled, ref.settings, 0, 128, C)
    assert f_old["SYCL:w"] == pytest.approx(f_new["SYCL:w"] / INTEL_DECODE_EFFICIENCY["xe-hpg"])
    assert f_old["SYCL:t0"] == f_new["SYCL:t0"]
