"""Generic machines: figures instead of product names (rigfit.hardware.generic), and laptop/mini-PC
CPUs from the catalog (issue 13's first strings)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rigfit.cli import plan_cmd  # registers `rigfit plan` on the app
from rigfit.cli.app import app
from rigfit.errors import RigfitError, UnknownNameError
from rigfit.hardware.generic import generic_cpu, generic_gpu
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import resolve_device
from rigfit.hardware.power import wall_power


def test_generic_cpu_with_ram_gives_bandwidth_from_the_ram_part():
    m = resolve_machine("8 cores AVX2 + 32GB DDR4-3200 dual-channel")
    assert m.cpu is not None and m.cpu.cores == 8 and m.cpu.simd == ("AVX2",)
    assert m.cpu.status["cores"] == "user" and m.cpu.status["simd"] == "user"
    # FLOPS estimated: 8 cores × 3.0 GHz (assumed, said so) × 32 FLOP/cycle
    assert m.cpu.fp32_flops == pytest.approx(8 * 3.0e9 * 32)
    assert m.cpu.status["fp32_flops"] == "default" and "3 GHz assumed" in m.cpu.sources["fp32_flops"]
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 3200e6)
    assert "(given)" in m.sources["ram_bandwidth_bytes_per_s"]
    assert m.cpu.tdp_w is None and wall_power(m)["status"] == "unknown"  # unknown stays unknown


def test_given_clock_and_isa_override_the_assumptions():
    d = generic_cpu("16-core AVX-512 CPU 3.8 GHz 32 threads")
    assert d is not None and d.cores == 16 and d.threads == 32 and d.simd == ("AVX512",)
    assert d.fp32_flops == pytest.approx(16 * 3.8e9 * 32) and d.int8_ops == pytest.approx(16 * 3.8e9 * 128)
    assert "3.8 GHz given" in d.sources["fp32_flops"]
    bare = generic_cpu("12 cores")
    assert bare is not None and bare.status["simd"] == "default" and "AVX2 assumed" in bare.sources["simd"]
    arm = generic_cpu("8 cores NEON i8mm")
    assert arm is not None and arm.fp32_flops == pytest.approx(8 * 3.0e9 * 16)


def test_generic_gpu_given_values_and_unknowns():
    d = resolve_device("16 GB VRAM 448 GB/s GPU")
    assert d.kind == "gpu" and d.memory_bytes == 16 * 2**30 and d.bandwidth_bytes_per_s == 448e9
    assert d.status["memory_bytes"] == "user" and d.fp16_flops is None and d.tdp_w is None
    full = generic_gpu("24GB GPU 936 GB/s 142 TFLOPS 350W GDDR6X")
    assert full is not None and full.fp16_flops == 142e12 and full.tdp_w == 350
    assert full.memory_type == "GDDR6X"


def test_generic_gpu_without_bandwidth_is_one_clear_error():
    with pytest.raises(RigfitError, match="needs its memory size and bandwidth"):
        resolve_machine("16GB GPU")


@pytest.mark.parametrize("text", ["8 cores of cheese", "GPU made of wood", "Ryzen 9 99999X"])
def test_other_words_stay_unknown(text):
    with pytest.raises(UnknownNameError):
        resolve_device(text)


@pytest.mark.parametrize(
    "spec",
    [
        "8 cores AVX2 + 32GB DDR4-3200 dual-channel",
        "16 GB VRAM 448 GB/s GPU + 32GB DDR4-3200",
        "16 GB VRAM 448 GB/s GPU + 8 cores AVX2 + 32GB DDR4-3200",
        "Intel Core i5-1135G7 + 16GB DDR4-3200",
        "Intel N100 + 16GB DDR5-4800",
    ],
)
def test_plans_on_generic_and_laptop_machines_give_a_verdict_and_speed(spec):
    res = CliRunner().invoke(app, ["plan", "llama-3.2-3b", "--on", spec])
    assert plan_cmd is not None and res.exit_code == 0, res.output
    assert "Verdict: fits" in res.output and "decode" in res.output


def test_laptop_cpus_from_the_catalog():
    i5 = resolve_machine("Intel Core i5-1135G7 + 16GB DDR4-3200")
    assert i5.cpu is not None and i5.cpu.cores == 4 and "AVX512" in i5.cpu.simd
    assert i5.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 3200e6)
    n100 = resolve_machine("Intel N100 + 16GB DDR5-4800")
    assert n100.cpu is not None and n100.ram_bandwidth_bytes_per_s == pytest.approx(1 * 8 * 4800e6)
    # four Gracemont E-cores only: 16 FP32 FLOP/cycle, not counted twice as P-cores
    assert n100.cpu.fp32_flops == pytest.approx(4 * 2.1e9 * 16)
    assert "E-cores" in n100.cpu.sources["int8_ops"] and "64 INT8" in n100.cpu.sources["int8_ops"]
