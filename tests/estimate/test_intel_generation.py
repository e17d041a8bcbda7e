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
    assert intel_decode_efficiency(a770, "SYCL") == INTEL_DECODE_EFFICIENCY[("xe-hpg", "SYCL")]
    assert intel_decode_efficiency(a770, "OpenCL") == INTEL_DECODE_EFFICIENCY[("xe-hpg", "*")]
    # the measured pairs put SYCL's gap above Vulkan's; both within the pairs' spread
    assert 0.3 < intel_decode_efficiency(a770, "SYCL") < intel_decode_efficiency(a770, "Vulkan") < 0.8
    assert intel_decode_efficiency(b580, "SYCL") == intel_decode_efficiency(b580, "Vulkan") == 1.0
    assert intel_decode_efficiency(resolve_device("NVIDIA GeForce RTX 3090"), "Vulkan") == 1.0


def _ratio(a770_tps: float, b580_tps: float) -> float:
    return (a770_tps / 560) / (b580_tps / 456)  # datasheet GB/s of the two cards


def test_the_documented_ratios_come_from_their_pairs():
    """classes.py quotes one SYCL pair and two Vulkan pairs (Windows, Linux) of A770 / B580."""
    eff = INTEL_DECODE_EFFICIENCY
    assert eff[("xe-hpg", "SYCL")] == pytest.approx(_ratio(29.92, 65.65), abs=0.001)
    vulkan = math.sqrt(_ratio(96.42, 129.95) * _ratio(39.14, 41.82))
    assert eff[("xe-hpg", "Vulkan")] == pytest.approx(vulkan, abs=0.001)
    both = math.sqrt(eff[("xe-hpg", "SYCL")] * eff[("xe-hpg", "Vulkan")])
    assert eff[("xe-hpg", "*")] == pytest.approx(both, abs=0.001)


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
    """The same card with its architecture relabelled Xe2 reads its weights 1/0.371 × faster on SYCL."""
    fit_rows, _, _ = build_fit_rows(Path(ground_truth_dir()) / "speed_intel_arc.csv", load_constants())
    row = next(r for r in fit_rows if r.device == "Intel Arc A770" and r.kind == "tg" and r.backend == "SYCL")
    ref = row.ref
    C = dict(load_constants())
    a770 = ref.machine.accelerators[0]
    relabelled = replace(ref.machine, accelerators=(replace(a770, architecture="Xe2-HPG"),))
    f_old = decode_features(ref.work, _layout(ref, ref.machine), ref.machine, ref.settings, 0, 128, C)
    f_new = decode_features(ref.work, _layout(ref, relabelled), relabelled, ref.settings, 0, 128, C)
    assert f_old["SYCL:w"] == pytest.approx(f_new["SYCL:w"] / INTEL_DECODE_EFFICIENCY[("xe-hpg", "SYCL")])
    assert f_old["SYCL:t0"] == f_new["SYCL:t0"]
