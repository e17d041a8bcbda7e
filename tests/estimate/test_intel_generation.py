"""Intel GPU generations in the speed model (speed/classes.py INTEL_DECODE_EFFICIENCY) and the
Intel Arc ground truth of data/ground-truth/speed_intel_arc.csv."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import pytest

from rigfit.estimate.calibration import PRIOR_INV_ETA_BW
from rigfit.estimate.lodo import build_fit_rows
from rigfit.estimate.predict import resolve_hardware
from rigfit.estimate.speed import load_constants
from rigfit.estimate.speed.classes import (
    INTEL_DECODE_EFFICIENCY,
    INTEL_DECODE_OVERHEAD,
    INTEL_PREFILL_EFFICIENCY,
    device_class,
    intel_decode_efficiency,
    intel_decode_overhead,
    intel_gpu_generation,
    intel_prefill_efficiency,
)
from rigfit.estimate.speed.features import decode_features, prefill_features
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


def test_a_lunar_lake_cpu_on_a_gpu_backend_runs_on_its_arc_140v():
    """PR 14001's 'Intel Core Ultra 7 268V' Vulkan rows ran on the iGPU: a GPU machine with the
    on-package LPDDR5X-8533 (128-bit, 136.5 GB/s); the same name on the CPU backend stays a CPU."""
    gpu = resolve_hardware("Intel Core Ultra 7 268V", 1, "Vulkan")
    (apu,) = gpu.accelerators
    assert apu.kind == "apu" and gpu.unified_memory and intel_gpu_generation(apu) == "xe2"
    assert apu.bandwidth_bytes_per_s == pytest.approx(128 / 8 * 8533e6, rel=1e-3)
    assert apu.memory_bytes == 32 * 2**30 and apu.fp16_flops
    cpu = resolve_hardware("Intel Core Ultra 7 268V", 1, "CPU")
    assert not cpu.accelerators and cpu.cpu is not None and cpu.cpu.kind == "cpu"
    assert resolve_hardware("AMD Ryzen 9 7950X", 1, "Vulkan").accelerators == ()  # no iGPU system


@pytest.mark.parametrize(
    ("cpu", "gpu_bandwidth_gb_s", "generation"),
    [
        ("Intel Core Ultra 7 268V", 136.5, "xe2"),  # Lunar Lake, LPDDR5X-8533 on package
        ("Intel Core Ultra 7 258V", 136.5, "xe2"),
        ("Intel Core Ultra 7 155H", 89.6, "xe-lpg"),  # Meteor Lake, two DDR5-5600 channels
        ("Intel Core Ultra 9 285H", 102.4, "xe-lpg"),  # Arrow Lake-H, two DDR5-6400 channels
    ],
)
def test_intel_laptop_chips_on_sycl_or_vulkan_use_their_arc_igpu(cpu, gpu_bandwidth_gb_s, generation):
    for backend in ("SYCL", "Vulkan"):
        (igpu,) = resolve_hardware(cpu, 1, backend).accelerators
        assert igpu.kind == "apu" and igpu.extra["cpu_name"] == cpu
        assert igpu.bandwidth_bytes_per_s == pytest.approx(gpu_bandwidth_gb_s * 1e9)
        assert intel_gpu_generation(igpu) == generation and igpu.fp16_flops
    assert resolve_device(cpu).kind == "cpu"  # the name alone is still the CPU


def test_alchemist_is_less_efficient_than_xe2_and_others_are_untouched():
    a770, b580 = resolve_device("Intel Arc A770"), resolve_device("Intel Arc B580")
    assert intel_decode_efficiency(a770, "SYCL") == INTEL_DECODE_EFFICIENCY[("xe-hpg", "SYCL")]
    assert intel_decode_efficiency(a770, "OpenCL") == INTEL_DECODE_EFFICIENCY[("xe-hpg", "*")]
    for backend in ("SYCL", "Vulkan", "OpenCL"):
        assert 0.5 < intel_decode_efficiency(a770, backend) < 0.8
    assert intel_decode_efficiency(b580, "SYCL") == intel_decode_efficiency(b580, "Vulkan") == 1.0
    assert intel_decode_efficiency(resolve_device("NVIDIA GeForce RTX 3090"), "Vulkan") == 1.0
    # the per-token overhead: only Alchemist on SYCL has a measured one
    assert intel_decode_overhead(a770, "SYCL") == INTEL_DECODE_OVERHEAD[("xe-hpg", "SYCL")] > 3
    assert intel_decode_overhead(a770, "Vulkan") == intel_decode_overhead(b580, "SYCL") == 1.0
    assert intel_decode_overhead(resolve_device("NVIDIA GeForce RTX 3090"), "SYCL") == 1.0


def _ratio(a770_tps: float, b580_tps: float) -> float:
    return (a770_tps / 560) / (b580_tps / 456)  # datasheet GB/s of the two cards


#: weight bytes per generated token the model reads for qwen2 1.5B Q4_0 and llama-2-7b Q4_0 [GB]
_GB_PER_TOKEN = (1.063, 3.760)


def _line(tps_small: float, tps_large: float) -> tuple[float, float]:
    """(ms per GB, ms per token) of the straight line through a card's two decode step times."""
    t_small, t_large = 1000 / tps_small, 1000 / tps_large
    slope = (t_large - t_small) / (_GB_PER_TOKEN[1] - _GB_PER_TOKEN[0])
    return slope, t_small - slope * _GB_PER_TOKEN[0]


def test_the_documented_ratios_come_from_their_pairs():
    """classes.py quotes two SYCL pairs (two models per card) and two Vulkan pairs (Windows,
    Linux) of A770 / B580."""
    eff = INTEL_DECODE_EFFICIENCY
    a_slope, a_t0 = _line(40.81, 29.92)  # PR 13536, A770
    b_slope, b_t0 = _line(132.17, 65.65)  # PR 13885, B580
    assert (a_slope, a_t0) == (pytest.approx(3.307, abs=0.002), pytest.approx(20.99, abs=0.02))
    assert (b_slope, b_t0) == (pytest.approx(2.843, abs=0.002), pytest.approx(4.54, abs=0.02))
    share_a, share_b = 1000 / a_slope / 560, 1000 / b_slope / 456  # of datasheet GB/s
    assert eff[("xe-hpg", "SYCL")] == pytest.approx(share_a / share_b, abs=0.001)
    assert INTEL_DECODE_OVERHEAD[("xe-hpg", "SYCL")] == pytest.approx(a_t0 / b_t0, abs=0.01)
    assert 1 / PRIOR_INV_ETA_BW["SYCL"] == pytest.approx(share_b, abs=0.005)
    # the single-model ratio the constant replaced is 2x off for the small model
    assert _ratio(29.92, 65.65) == pytest.approx(0.371, abs=0.001)
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


def test_decode_features_of_an_alchemist_card_carry_its_efficiency_and_overhead():
    """The same card with its architecture relabelled Xe2 reads its weights 1/0.700 × faster on SYCL
    and has 1/4.62 of the per-token and per-layer overhead."""
    fit_rows, _, _ = build_fit_rows(Path(ground_truth_dir()) / "speed_intel_arc.csv", load_constants())
    row = next(r for r in fit_rows if r.device == "Intel Arc A770" and r.kind == "tg" and r.backend == "SYCL")
    ref = row.ref
    C = dict(load_constants())
    a770 = ref.machine.accelerators[0]
    relabelled = replace(ref.machine, accelerators=(replace(a770, architecture="Xe2-HPG"),))
    f_old = decode_features(ref.work, _layout(ref, ref.machine), ref.machine, ref.settings, 0, 128, C)
    f_new = decode_features(ref.work, _layout(ref, relabelled), relabelled, ref.settings, 0, 128, C)
    assert f_old["SYCL:w"] == pytest.approx(f_new["SYCL:w"] / INTEL_DECODE_EFFICIENCY[("xe-hpg", "SYCL")])
    k = INTEL_DECODE_OVERHEAD[("xe-hpg", "SYCL")]
    assert f_old["SYCL:t0"] == pytest.approx(f_new["SYCL:t0"] * k)
    assert f_old["SYCL:t0l"] == pytest.approx(f_new["SYCL:t0l"] * k)


def test_intel_igpu_systems_have_an_efficiency_class_of_their_own():
    """AMD/NVIDIA APUs share the 'apu' deltas; an Intel iGPU system is 'apu_intel' (classes.py)."""
    (lunar,) = resolve_hardware("Intel Core Ultra 7 268V", 1, "Vulkan").accelerators
    assert device_class(lunar) == "apu_intel"
    assert device_class(resolve_device("Ryzen AI Max+ 395")) == "apu"
    assert device_class(resolve_device("Intel Arc B580")) == "gpu"


def test_the_prefill_ratio_comes_from_its_pairs_and_touches_only_alchemist_on_sycl():
    """classes.py INTEL_PREFILL_EFFICIENCY: pp512 per unit of XMX FP16 peak (A770 137.6, B580 116.6
    TFLOPS) of the same two SYCL pairs as the decode constants."""
    a770, b580 = resolve_device("Intel Arc A770"), resolve_device("Intel Arc B580")
    assert (a770.fp16_flops, b580.fp16_flops) == (pytest.approx(137.6e12), pytest.approx(116.6e12))
    small = (4438.24 / 137.6) / (7303.25 / 116.6)  # qwen2 1.5B Q4_0
    large = (1711.58 / 137.6) / (2156.43 / 116.6)  # llama-2-7b Q4_0
    assert (small, large) == (pytest.approx(0.515, abs=0.001), pytest.approx(0.673, abs=0.001))
    assert INTEL_PREFILL_EFFICIENCY[("xe-hpg", "SYCL")] == pytest.approx(math.sqrt(small * large), abs=0.001)
    assert intel_prefill_efficiency(a770, "SYCL") == INTEL_PREFILL_EFFICIENCY[("xe-hpg", "SYCL")]
    assert intel_prefill_efficiency(a770, "Vulkan") == intel_prefill_efficiency(b580, "SYCL") == 1.0
    assert intel_prefill_efficiency(resolve_device("NVIDIA GeForce RTX 3090"), "SYCL") == 1.0


def test_prefill_features_of_an_alchemist_card_carry_its_xmx_share():
    """The same A770 relabelled Xe2 computes its SYCL prompt matmuls 1/0.589 × faster."""
    fit_rows, _, _ = build_fit_rows(Path(ground_truth_dir()) / "speed_intel_arc.csv", load_constants())
    row = next(r for r in fit_rows if r.device == "Intel Arc A770" and r.kind == "pp" and r.backend == "SYCL")
    ref = row.ref
    C = dict(load_constants())
    a770 = ref.machine.accelerators[0]
    relabelled = replace(ref.machine, accelerators=(replace(a770, architecture="Xe2-HPG"),))
    f_old, _ = prefill_features(
        ref.work, _layout(ref, ref.machine), ref.machine, ref.settings, ref.prompt, ref.depth, C
    )
    f_new, _ = prefill_features(
        ref.work, _layout(ref, relabelled), relabelled, ref.settings, ref.prompt, ref.depth, C
    )
    k = INTEL_PREFILL_EFFICIENCY[("xe-hpg", "SYCL")]
    assert f_old["SYCL|p=fp16:c"] == pytest.approx(f_new["SYCL|p=fp16:c"] / k)
    attn = [key for key in f_old if key.endswith(":attn")]
    assert attn and all(f_old[key] == pytest.approx(f_new[key] / k) for key in attn)
