"""Local machine detection (rigfit.hardware.local) with fake facts, plus one real detection."""

from __future__ import annotations

import pytest

from rigfit.hardware.grammar import detect_local_machine, resolve_machine
from rigfit.hardware.local import LocalFacts, NvmlGpu, build_local_machine

GIB = 1024**3


def test_nvidia_box_from_nvml_facts():
    facts = LocalFacts(
        gpus=[NvmlGpu("NVIDIA GeForce RTX 3060", 12 * GIB - 200 * 1024**2, 192, 7501, 4, 16, 170.0)],
        cpu_brand="AMD Ryzen 7 5800X 8-Core Processor",
        cpu_flags={"avx2", "fma"},
        physical_cores=8,
        logical_cores=16,
        ram_bytes=32 * GIB,
    )
    m = build_local_machine(facts)
    assert m.detected
    gpu = m.accelerators[0]
    assert gpu.name == "GeForce RTX 3060 12 GB"  # the NVML name is ambiguous; memory decides
    assert gpu.status["memory_bytes"] == "detected"
    assert gpu.bandwidth_bytes_per_s == pytest.approx(360e9)
    assert m.cpu.name == "AMD Ryzen 7 5800X" and m.cpu.status["simd"] == "detected"
    assert m.ram_bytes == 32 * GIB and m.ram_bandwidth_bytes_per_s == pytest.approx(51.2e9)
    assert m.host_link.bandwidth_bytes_per_s == pytest.approx(31.5e9, rel=0.01)


def test_unknown_gpu_bandwidth_from_nvml_bus_and_clock():
    facts = LocalFacts(gpus=[NvmlGpu("NVIDIA Future GPU 9000", 48 * GIB, 384, 10501, 5, 16, 400.0)])
    m = build_local_machine(facts)
    g = m.accelerators[0]
    assert g.bandwidth_bytes_per_s == pytest.approx(384 / 8 * 10501e6 * 2)
    assert g.status["bandwidth_bytes_per_s"] == "derived"
    assert "not in the catalog" in (g.notes or "")


def test_unknown_cpu_keeps_flags_and_unknown_bandwidth():
    m = build_local_machine(
        LocalFacts(
            cpu_brand="Intel(R) Xeon(R) Processor",
            cpu_flags={"avx2", "avx512f", "amx_tile"},
            physical_cores=2,
            ram_bytes=24 * GIB,
        )
    )
    assert m.cpu.simd == ("AVX2", "AVX512", "AMX")
    assert m.ram_bandwidth_bytes_per_s is None
    assert m.cpu.fp32_flops is None  # no clock known -> no estimate
    est = build_local_machine(
        LocalFacts(
            cpu_brand="Intel(R) Xeon(R) Processor",
            cpu_flags={"avx2", "avx512f"},
            physical_cores=2,
            cpu_mhz=2000.0,
        )
    )
    assert est.cpu.fp32_flops == pytest.approx(2 * 2.0e9 * 64)
    assert est.cpu.status["fp32_flops"] == "derived"
    assert any("not in the catalog" in n for n in m.notes)


def test_apple_from_sysctl_facts():
    m = build_local_machine(LocalFacts(apple_chip="Apple M4 Max", apple_gpu_cores=40, ram_bytes=128 * GIB))
    assert m.unified_memory and m.detected
    dev = m.accelerators[0]
    assert dev.extra["gpu_cores"] == 40 and dev.memory_bytes == 128 * GIB
    assert dev.bandwidth_bytes_per_s == pytest.approx(546e9)
    assert dev.gpu_memory_fraction == pytest.approx(0.75)


def test_strix_halo_detected_as_apu():
    m = build_local_machine(
        LocalFacts(cpu_brand="AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", ram_bytes=128 * GIB)
    )
    assert m.unified_memory and m.accelerators[0].kind == "apu"


def test_real_detection_runs_here():
    m = resolve_machine("local")
    assert m.detected and m.ram_bytes and m.ram_bytes > 0
    assert m.name.startswith("local:")
    assert detect_local_machine().ram_bytes == m.ram_bytes


def test_fake_local_hook(monkeypatch):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "2x RTX 3090 + 64GB DDR4-3200")
    m = resolve_machine("local")
    assert m.detected and m.n_accelerators == 2
