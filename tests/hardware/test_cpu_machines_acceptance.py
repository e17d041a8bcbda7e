"""Issue 13 acceptance: CPU machines resolve, and nothing breaks on a missing part.

``REAL_WORLD`` holds machine strings as people wrote them in published benchmark posts (llama.cpp
issues, benchmark repositories), each with the post it comes from; every one resolves to catalog
devices or is an explicit generic machine. ``ISSUE_MACHINES`` are the machines issue 13 names.
"""

from __future__ import annotations

import pytest

from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import Verdict

# (machine string as written in the post, source URL)
REAL_WORLD = [
    ("Ryzen-7950X", "https://github.com/ikawrakow/ik_llama.cpp/pull/128"),
    ("Ryzen-5975WX", "https://github.com/ikawrakow/ik_llama.cpp/pull/144"),
    ("Ryzen 9 5900X + 128GB DDR4-3600", "https://github.com/ggml-org/llama.cpp/issues/4716"),
    ("7950X + 128GB DDR5-3600", "https://github.com/ggml-org/llama.cpp/issues/4716"),
    ("Ryzen AI 5 340", "https://github.com/geerlingguy/ai-benchmarks/issues/33"),
    ("Cix CP8180", "https://github.com/geerlingguy/ai-benchmarks/issues/51"),
    ("Intel N150", "https://github.com/geerlingguy/ai-benchmarks/issues/12"),
    ("Raspberry Pi 500+", "https://github.com/geerlingguy/ai-benchmarks/issues/24"),
    ("Raspberry Pi CM5 16GB", "https://github.com/geerlingguy/ai-benchmarks/issues/37"),
    ("Intel Core Ultra 265K + 64GB", "https://github.com/geerlingguy/ai-benchmarks/issues/37"),
    ("Intel(R) Core(TM) i5-7500T CPU @ 2.70GHz", "https://github.com/aidatatools/ollama-benchmark/pull/9"),
    (
        "Framework Desktop AMD Ryzen AI Max+ 395 128GB",
        "https://github.com/geerlingguy/ai-benchmarks/issues/21",
    ),
    ("AMD EPYC 7443P", "https://github.com/ggml-org/llama.cpp/issues/34"),
    ("Ryzen 7 3700X + 128GB", "https://github.com/ggml-org/llama.cpp/issues/34"),
    ("Intel Core i5 13400F + 64GB DDR5", "https://github.com/ggml-org/llama.cpp/issues/34"),
    ("ROG Ally Z1 Extreme", "https://github.com/ggml-org/llama.cpp/issues/34"),
    ("Rockchip RK3566 + 4GB LPDDR4", "https://github.com/ggml-org/llama.cpp/issues/34"),
    ("M1 Pro 32GB", "https://github.com/ggml-org/llama.cpp/issues/34"),
    ("Threadripper 3990X + 256GB", "https://github.com/ggml-org/llama.cpp/issues/34"),
    (
        "2 cores + 8GB",
        "https://github.com/ggml-org/llama.cpp/issues/34",
    ),  # "Macbook Pro 2013, Intel i5, 2 cores"
    ("4 cores AVX2 + 16GB DDR3", "https://github.com/ggml-org/llama.cpp/issues/34"),  # "i5 6500 16GB (DDR3)"
    ("AMD 5700G + 32GB", "https://github.com/ggml-org/llama.cpp/issues/39"),
    ("Rockchip RK3588", "https://github.com/ggml-org/llama.cpp/issues/722"),
    ("Raspberry Pi 4 Model B 4GB", "https://github.com/ggml-org/llama.cpp/issues/58"),
    ("RasPi 5 8GB", "https://github.com/ggml-org/llama.cpp/pull/6928"),
    ("Pi 5 8GB", "https://github.com/mozilla-ai/llamafile/issues/226"),
    ("2 cores 4 threads AVX2 + 8GB DDR3L-1600", "https://github.com/geerlingguy/ai-benchmarks/issues/53"),
    ("M2 Max 96GB", "https://github.com/getumbrel/llama-gpt/pull/30"),
    ("M1 Ultra 64-core 128GB", "https://github.com/geerlingguy/ai-benchmarks/issues/48"),
    ("Intel Core Ultra 7 155H", "https://github.com/ggml-org/llama.cpp/issues/8328"),
    ("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz + 16GB", "https://github.com/brand-o/normiebench/issues/43"),
    ("Intel(R) Core(TM) i7-7820HQ CPU @ 2.90GHz + 40GB", "https://github.com/brand-o/normiebench/issues/42"),
    (
        "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz + 16GB",
        "https://github.com/brand-o/normiebench/issues/46",
    ),
    ("Intel(R) Core(TM) i5-9500 CPU @ 3.00GHz + 16GB", "https://github.com/brand-o/normiebench/issues/34"),
    ("Intel(R) N100", "https://github.com/brand-o/normiebench/issues/23"),
    ("Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", "https://github.com/brand-o/normiebench/issues/31"),
    ("AMD Ryzen 7 7700X 8-Core Processor + 63GB", "https://github.com/brand-o/normiebench/issues/49"),
    (
        "AMD Ryzen Threadripper 3970X 32-Core Processor + 64GB",
        "https://github.com/brand-o/normiebench/issues/52",
    ),
    ("AMD Ryzen 7 8840U w/ Radeon 780M Graphics + 30GB", "https://github.com/brand-o/normiebench/issues/8"),
    ("Intel Xeon W5-3425 + 512GB DDR5-4800 8ch", "https://github.com/ikawrakow/ik_llama.cpp/issues/437"),
    ("2x AMD EPYC 9175F", "https://github.com/ggml-org/llama.cpp/issues/11744"),
    ("Snapdragon X-Elite", "https://github.com/ggml-org/llama.cpp/pull/8672"),
    ("Snapdragon X Elite", "https://github.com/ollama/ollama/issues/5360"),
    ("Snapdragon X Plus X1P-64-100", "https://github.com/ggml-org/llama.cpp/issues/2687"),
    ("AMD Ryzen AI 9 HX 370", "https://github.com/ggml-org/llama.cpp/issues/2687"),
    ("NVIDIA Jetson AGX Orin 64GB", "https://github.com/nvidia-holoscan/holohub/issues/170"),
    ("Jetson AGX Orin (64GB)", "https://github.com/NVIDIA/TensorRT-Edge-LLM/issues/60"),
    ("Jetson Orin NX", "https://github.com/dusty-nv/NanoLLM/issues/38"),
    ("Jetson Orin Nano", "https://github.com/hybridgroup/yzma/pull/368"),
    ("Radxa ROCK 5B+ (RK3588)", "https://github.com/airockchip/rknn-llm/issues/532"),
    ("Intel 13900k", "https://github.com/ggml-org/llama.cpp/issues/842"),
    ("13th Gen Intel Core i9-13900K", "https://github.com/luolangaga/tubatoolsPlugin/pull/748"),
    ("AMD Ryzen 9 5900HS", "https://github.com/liltom-eth/llama2-webui/pull/32"),
    ("Intel i3-1315U", "https://github.com/geerlingguy/sbc-reviews/issues/107"),
    ("Intel i9-13900K + 128GB", "https://github.com/devMEremenko/XcodeBenchmark/issues/372"),
]

ISSUE_MACHINES = [
    "Intel Core i5-1135G7 + 16GB DDR4-3200",
    "Intel N100 + 16GB DDR5-4800",
    "Raspberry Pi 5 16GB",
    "8-core AVX2 CPU + 32GB DDR4-3200 dual channel",
    "8 cores AVX2 + 32GB DDR4-3200 dual-channel",
    "16 GB VRAM 448 GB/s GPU",
    "Jetson-like 64GB LPDDR5 204 GB/s",
    "Core Ultra 7 258V",
    "Intel Core Ultra 9 185H + 32GB LPDDR5X-7467",
    "Snapdragon X Elite X1E-80-100 32GB",
    "Rockchip RK3588 + 16GB",
    "Cix P1 CD8180 + 64GB",
    "AMD Ryzen 7 7840U + 32GB LPDDR5X-7500",
    "AMD Ryzen AI 7 350 + 32GB",
    "Ryzen AI Max 385",
    "Ryzen AI Max 390",
    "Ryzen AI Max+ 395 128GB",
    "DGX Spark",
    "Jetson AGX Orin 32GB",
    "M4 Pro 48GB",
]


def test_at_least_50_real_world_strings_each_with_its_post():
    assert len({s for s, _ in REAL_WORLD}) >= 50
    assert all(url.startswith("https://github.com/") for _, url in REAL_WORLD)


def _devices(m):
    return [*m.accelerators, *([m.cpu] if m.cpu is not None else [])]


@pytest.mark.parametrize(("spec", "url"), REAL_WORLD, ids=[s for s, _ in REAL_WORLD])
def test_real_world_machine_resolves(spec, url):
    m = resolve_machine(spec)
    devs = _devices(m)
    assert devs, (spec, url)
    for d in devs:  # a catalog device, or a generic one that says so
        assert d.extra.get("generic") or d.sources, (spec, d.name)
    assert (
        m.ram_bandwidth_bytes_per_s
        or any(d.bandwidth_bytes_per_s for d in devs)
        or any("unknown" in n for n in m.notes)
    ), spec


@pytest.mark.parametrize("spec", ISSUE_MACHINES)
def test_issue_machine_resolves(spec):
    assert _devices(resolve_machine(spec))


def test_generic_figures_are_labelled():
    cpu = resolve_machine("8 cores AVX2 + 32GB DDR4-3200 dual-channel")
    assert cpu.cpu.extra["generic"] and cpu.cpu.status["cores"] == "user"
    assert cpu.cpu.status["fp32_flops"] == "default" and "3 GHz assumed" in cpu.cpu.sources["fp32_flops"]
    assert cpu.ram_bandwidth_bytes_per_s == pytest.approx(51.2e9)
    jet = resolve_machine("Jetson-like 64GB LPDDR5 204 GB/s")
    dev = jet.accelerators[0]
    assert jet.unified_memory and dev.memory_bytes == 64 * 2**30 and dev.bandwidth_bytes_per_s == 204e9
    assert dev.status["bandwidth_bytes_per_s"] == "user"
    assert dev.status["fp16_flops"] == "default" and "Jetson AGX Orin" in dev.sources["fp16_flops"]
    plain = resolve_machine("unified 128GB LPDDR5X 256 GB/s").accelerators[0]
    assert plain.fp16_flops is None and "compute unknown" in (plain.notes or "")


def test_given_ram_overrides_the_catalog():
    rated = resolve_machine("Ryzen 7 7700X + 64GB")
    given = resolve_machine("Ryzen 7 7700X + 64GB DDR5-6000")
    assert rated.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 5200e6)
    assert given.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 6000e6)
    assert "from the AMD Ryzen 7 7700X spec" in given.sources["ram_bandwidth_bytes_per_s"]


@pytest.fixture(scope="module")
def m8b():
    return load_model_source("llama-3.1-8b")


@pytest.fixture(scope="module")
def m70b():
    return load_model_source("llama-3.1-70b")


@pytest.mark.parametrize(
    "spec",
    [
        "Intel N100 + 16GB DDR5-4800",  # no GPU
        "Raspberry Pi 5 16GB",  # no GPU, soldered memory
        "8 cores + 32GB",  # no GPU, no memory speed, no ISA
        "Rockchip RK3566 + 16GB LPDDR4",  # memory speed not in the catalog
        "16 GB VRAM 448 GB/s GPU + 32GB",  # a user-described GPU, RAM speed unknown
        "Jetson-like 64GB LPDDR5 204 GB/s",
        "unified 128GB LPDDR5X 256 GB/s",  # compute unknown
    ],
)
def test_nothing_breaks_on_a_missing_part(spec, m8b):
    p = make_plan(m8b, resolve_machine(spec))
    assert p.fit in (Verdict.FITS, Verdict.TIGHT, Verdict.OFFLOAD)
    assert p.speed is not None, p.speed_reason
    assert p.speed.decode_tps.value and p.speed.decode_tps.provenance in ("estimated", "calibrated")
    assert p.speed.decode_tps.low is not None and p.speed.decode_tps.high is not None
    if any(d.kind == "cpu" and d.layers for d in p.devices):
        assert any("Host RAM bandwidth" in n for n in p.notes)  # the assumption, with its basis


def test_ram_speed_counts_without_a_named_cpu(m70b):
    """Issue 17: 'RTX 4090 + 64GB DDR5-6000' uses DDR5-6000 dual-channel bandwidth for the offload."""
    fast = make_plan(m70b, resolve_machine("RTX 4090 + 64GB DDR5-6000"))
    slow = make_plan(m70b, resolve_machine("RTX 4090 + 64GB DDR4-3200"))
    assert fast.fit is Verdict.OFFLOAD and slow.fit is Verdict.OFFLOAD
    assert fast.speed.decode_tps.value > 1.5 * slow.speed.decode_tps.value
    note = next(n for n in fast.notes if "Host RAM bandwidth" in n)
    assert "96.0 GB/s" in note and "6000 MT/s" in note
    unknown = make_plan(m70b, resolve_machine("RTX 4090 + 64GB"))
    note = next(n for n in unknown.notes if "Host RAM bandwidth" in n)
    assert "unknown: estimated" in note
