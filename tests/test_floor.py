"""Hardware floor (issue 7: `rigfit floor`)."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.catalog.models import resolve_model
from rigfit.floor import hardware_floor, machine_price
from rigfit.recommend import _spec


@pytest.fixture(scope="module")
def floor70():
    return hardware_floor(resolve_model("llama-3.1-70b"), "Q4_K_M", 8192, 10.0, budget_usd=3000)


def test_70b_floor_lists_options_that_really_fit(floor70):
    assert floor70.options, floor70.notes
    weights = _spec("llama-3.1-70b", "Q4_K_M").weights_bytes
    for o in floor70.options:
        m = o.machine
        e = o.evaluation
        assert e.fit not in ("won't run",)
        assert e.decode_tps.value >= 10
        capacity = sum(d.memory_bytes or 0 for d in m.accelerators) + (m.ram_bytes or 0)
        assert weights <= capacity  # the weights have somewhere to live
        if e.fully_in_fast_memory:
            assert weights <= sum(d.memory_bytes or 0 for d in m.accelerators)
        # no single 24 GB card can hold 42 GB of weights at 10 tok/s
        assert not (len(m.accelerators) == 1 and (m.accelerators[0].memory_bytes or 0) < 40 * 2**30)
    prices = [o.price.usd for o in floor70.options]
    assert prices == sorted(prices)
    assert all(o.price.source for o in floor70.options)


def test_budget_list_is_within_budget(floor70):
    for o in floor70.within_budget:
        assert o.price.usd <= 3000


def test_machine_price_sources():
    from rigfit.hardware.grammar import resolve_machine

    p = machine_price(resolve_machine("2x RTX 3090"))
    # the price is the whole machine now: GPUs + an estimated host platform (hardware.prices.machine_price)
    assert p.usd and p.usd > 0 and p.includes_host and "host:" in p.source and "estimated" in p.source
    assert machine_price(resolve_machine("Cerebras WSE-3")).usd is None


def test_cli_floor_acceptance_command():
    out = run_cli("floor", "llama-3.1-70b", "--quant", "Q4_K_M", "--ctx", "8192", "--min-tps", "10", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["options"] and all(o["decode_tps"]["value"] >= 10 for o in data["options"])
    txt = run_cli("floor", "llama-3.1-70b", "--quant", "Q4_K_M", "--ctx", "8192", "--min-tps", "10")
    assert txt.exit_code == 0 and "Cheapest hardware" in txt.stdout
