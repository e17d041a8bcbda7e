"""The CPU and SoC catalog (data/cpu_catalog.json): coverage, figures, formula, sources, ISA flags."""

from __future__ import annotations

from collections import Counter

import pytest

from rigfit.hardware.cpu_catalog import (
    CHECKABLE_FIELDS,
    ISA_FLAGS,
    catalog,
    catalog_cpu_rows,
    isa_flags,
    peak_bandwidth_gb_s,
)
from rigfit.hardware.names import list_devices, resolve_device
from rigfit.hardware.tables import overlay

ROWS = catalog_cpu_rows()


def _row(name: str) -> dict:
    return next(r for r in overlay()["cpus"] if r["name"] == name)


def test_at_least_300_parts_and_no_duplicate_names():
    assert len(ROWS) >= 300
    names = [r["name"] for r in overlay()["cpus"]]
    assert len(names) == len(set(names))
    apus = [a["name"] for a in overlay()["apus"]]
    assert len(apus) == len(set(apus))


def test_every_row_has_its_figures_and_an_openable_source():
    for r in ROWS:
        assert isinstance(r["cores"], int) and r["cores"] > 0, r["name"]
        assert isinstance(r["threads"], int) and r["threads"] >= r["cores"], r["name"]
        if r.get("p_cores") is not None:
            assert r["p_cores"] + (r.get("e_cores") or 0) == r["cores"], r["name"]
        assert r["memory_type"], r["name"]
        assert r["memory_channels"], r["name"]
        assert r["sources"] and all(s.startswith("https://") for s in r["sources"]), r["name"]
        assert r["status"] in overlay()["status_legend"], r["name"]
        if r.get("boost_ghz") and r.get("base_ghz"):
            assert r["base_ghz"] <= r["boost_ghz"], r["name"]


def test_bandwidth_is_channels_times_8_bytes_times_mt_s():
    assert peak_bandwidth_gb_s(2, 3200) == pytest.approx(51.2)
    assert peak_bandwidth_gb_s(12, 6000) == pytest.approx(576.0)
    assert peak_bandwidth_gb_s(0.5, 4267) == pytest.approx(17.068)  # Raspberry Pi 5: 32-bit LPDDR4X
    assert peak_bandwidth_gb_s(2, None) is None  # unknown stays unknown
    for r in ROWS:
        ch, mts = r["memory_channels"], r["max_memory_mt_s"]
        if mts is None:
            assert r["memory_bandwidth_gb_s"] is None, r["name"]
        else:
            assert r["memory_bandwidth_gb_s"] == pytest.approx(ch * 8 * mts / 1000), r["name"]
    assert "channels x 8" in catalog()["bandwidth_formula"] and "https://" in catalog()["bandwidth_formula"]


def test_device_bandwidth_and_its_source_follow_the_formula():
    d = resolve_device("Ryzen 9 7900")
    assert d.bandwidth_bytes_per_s == pytest.approx(2 * 8 * 5200e6)
    assert "2 channels × 8 B × 5200 MT/s" in d.sources["bandwidth_bytes_per_s"]
    assert d.status["bandwidth_bytes_per_s"] == "derived"
    cix = resolve_device("Cix P1 CD8180")  # its memory speed is not established: unknown, said
    assert cix.bandwidth_bytes_per_s is None and cix.status["bandwidth_bytes_per_s"] == "unknown"


COVERAGE = [
    # Intel desktop, generations 8-14 and Core Ultra 200S
    "Intel Core i7-8700K",
    "Intel Core i9-9900K",
    "Intel Core i9-10900K",
    "Intel Core i9-11900K",
    "Intel Core i9-12900K",
    "Intel Core i5-13600K",
    "Intel Core i5-14600K",
    "Intel Core Ultra 7 265K",
    # Intel mobile 8-14 and Core Ultra series 1/2/3
    "Intel Core i7-8550U",
    "Intel Core i7-9750H",
    "Intel Core i7-10750H",
    "Intel Core i7-1165G7",
    "Intel Core i7-12700H",
    "Intel Core i7-13700H",
    "Intel Core i9-14900HX",
    "Intel Core Ultra 7 155H",
    "Intel Core Ultra 7 258V",
    "Intel Core Ultra 9 285H",
    "Intel Core Ultra X9 388H",
    # Intel N-series
    "Intel Processor N100",
    "Intel Processor N150",
    "Intel Core i3-N305",
    # AMD Ryzen desktop and mobile from Zen 2, AI 300
    "AMD Ryzen 7 3700X",
    "AMD Ryzen 9 5900X",
    "AMD Ryzen 7 7700",
    "AMD Ryzen 7 9700X",
    "AMD Ryzen 7 4800U",
    "AMD Ryzen 7 5800U",
    "AMD Ryzen 7 6800U",
    "AMD Ryzen 7 8845HS",
    "AMD Ryzen AI 7 350",
    # server
    "AMD EPYC 7742",
    "AMD EPYC 9654 (Genoa)",
    "AMD EPYC 9965",
    "Intel Xeon Platinum 8380",
    "Intel Xeon Platinum 8592+",
    "Intel Xeon 6980P",
    # Arm
    "Qualcomm Snapdragon X Elite X1E-80-100",
    "Raspberry Pi 4 Model B (BCM2711)",
    "Raspberry Pi 5 (BCM2712)",
    "Rockchip RK3588",
    "AWS Graviton4",
]


@pytest.mark.parametrize("name", COVERAGE)
def test_coverage(name):
    assert resolve_device(name).kind == "cpu"


@pytest.mark.parametrize(
    "name",
    [
        "Ryzen AI Max 385",
        "Ryzen AI Max 390",
        "Ryzen AI Max+ 395",
        "DGX Spark",
        "Jetson AGX Orin 64GB",
        "Jetson AGX Orin 32GB",
        "Jetson Orin NX 16GB",
        "Jetson Orin Nano 8GB",
        "Jetson Orin Nano Super",
        "Jetson AGX Thor",
        "M1",
        "M2 Pro",
        "M3 Max",
        "M4 Pro",
        "M5",
    ],
)
def test_unified_memory_systems(name):
    d = resolve_device(name)
    assert d.kind in ("apu", "apple") and d.memory_bytes and d.bandwidth_bytes_per_s


def test_every_catalog_part_resolves_by_its_name_and_aliases_to_itself():
    for r in ROWS:
        for n in [r["name"], *r["aliases"]]:
            assert resolve_device(n).name == r["name"], (n, r["name"])


def test_isa_flags():
    assert set(isa_flags(_row("AMD Ryzen 9 7950X"))) == set(ISA_FLAGS)
    assert isa_flags(_row("AMD Ryzen 9 7950X"))["AVX-512"] is True
    i9 = isa_flags(_row("Intel Core i9-14900K"))
    assert i9["AVX-512"] is False and i9["AVX-VNNI"] is True and i9["AVX2"] is True
    assert isa_flags(_row("Intel Xeon Platinum 8592+"))["AMX"] is True
    pi5 = isa_flags(_row("Raspberry Pi 5 (BCM2712)"))
    assert pi5["NEON"] is True and pi5["SVE"] is False and pi5["AVX2"] is False and pi5["I8MM"] is False
    sdx = isa_flags(_row("Qualcomm Snapdragon X Elite X1E-80-100"))
    assert sdx["I8MM"] is True and sdx["SVE"] is False
    assert isa_flags(_row("Qualcomm Snapdragon X2 Elite X2E-88-100"))["SVE"] is None  # not established
    g3 = isa_flags(_row("AWS Graviton3"))
    assert g3["SVE"] is True and g3["I8MM"] is True
    assert isa_flags(_row("Intel Xeon 6780E"))["AVX-512"] is False  # E-cores only


def test_soldered_memory_parts_carry_their_memory():
    d = resolve_device("Core Ultra 7 258V")
    assert d.memory_type == "LPDDR5X" and d.memory_bytes == 32 * 2**30
    assert d.bandwidth_bytes_per_s == pytest.approx(2 * 8 * 8533e6)
    pi = resolve_device("Raspberry Pi 5 16GB")
    assert pi.memory_bytes == 16 * 2**30 and pi.status["memory_bytes"] == "looked-up"
    default = resolve_device("Raspberry Pi 5")
    assert default.status["memory_bytes"] == "default" and "assumed 8 GB" in (default.notes or "")
    with pytest.raises(Exception, match="no 3 GB configuration"):
        resolve_device("Raspberry Pi 5 3GB")


def test_unknown_clock_is_labelled():
    d = resolve_device("Intel Core Ultra X9 388H")  # base clock not established
    assert "base clock unknown" in d.sources["fp32_flops"]


def test_list_is_sorted_without_duplicates():
    cpus = list_devices("cpu")
    names = [d.name for d in cpus]
    assert len(names) == len(set(names))
    keys = [(d.vendor, -(d.release_year or 0), d.name) for d in cpus]
    assert keys == sorted(keys)


def test_rows_by_vendor_and_segment():
    by_vendor = Counter(r["vendor"] for r in ROWS)
    by_segment = Counter(r["segment"] for r in ROWS)
    assert by_vendor["Intel"] >= 150 and by_vendor["AMD"] >= 100
    assert {"desktop", "mobile", "server", "workstation", "laptop-soc", "sbc", "mini-pc"} <= set(by_segment)


def test_verified_rows_name_the_source_they_were_checked_against():
    verified = [r for r in ROWS if r["status"] == "verified"]
    assert len(verified) >= 250
    for r in verified:
        for source in r["sources"]:
            assert source.startswith("https://") and "wikipedia.org" not in source, r["name"]
        assert set(r.get("unchecked") or ()) <= set(CHECKABLE_FIELDS), r["name"]
    for r in ROWS:
        if r["status"] != "verified":
            assert "unchecked" not in r and "scraped_from" not in r, r["name"]


def test_figures_corrected_against_their_source():
    # ARK: the W-3175X's max turbo is 3.8 GHz; the i5-13600 takes DDR5-4800 (the i5-13600K DDR5-5600)
    w3175x = _row("Intel Xeon W-3175X")
    assert w3175x["boost_ghz"] == 3.8 and w3175x["status"] == "verified"
    assert _row("Intel Core i5-13600")["memory_bandwidth_gb_s"] == pytest.approx(2 * 8 * 4800 / 1000)
    assert _row("Intel Core i5-13600K")["max_memory_mt_s"] == 5600
    assert _row("Intel Xeon Platinum 8562Y+")["max_memory_mt_s"] == 5200
