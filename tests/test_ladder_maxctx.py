"""The context search of recommend's rows, started from the context they were planned at, gives
the answer of the search from the bottom.

:func:`rigfit.plan.max_context` takes ``start``, the first context it probes; recommend passes a
row's own context (:func:`rigfit.recommend.max_context_for` ``near``), whose memory table the
planner already keeps, with its settings. Checked over catalog candidates on several machines.
"""

from __future__ import annotations

import pytest

from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import max_context
from rigfit.plantypes import PlanSettings

MACHINES = (
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "RTX 4060 Ti 16GB + 32GB DDR5-5600",
    "2x RTX 3090 + 128GB DDR4-3200",
    "M2 16GB",
    "Ryzen 7 5800X + 32GB DDR4-3200",
)


@pytest.mark.parametrize("machine_name", MACHINES)
def test_max_context_for_near_a_planned_context_is_the_full_search(machine_name: str) -> None:
    machine = resolve_machine(machine_name)
    found = compared = 0
    for arch in load_models()[::3]:
        ladder = rec.quant_ladder(arch)
        for q in (ladder[0], ladder[len(ladder) // 2], ladder[-1]):
            n_moe = (0, arch.n_layer // 2) if arch.moe is not None else (0,)
            for n in n_moe:
                slow = rec.max_context_for.__wrapped__(machine, arch.id, q, n)
                for near in (8192, 16384, 65536, 10000):
                    quick = rec.max_context_for.__wrapped__(machine, arch.id, q, n, near=near)
                    assert quick == slow, (arch.id, q, n, near)
                    compared += 1
                found += slow is not None
    assert compared > 300 and found > 50  # not vacuous


@pytest.mark.parametrize("machine_name", MACHINES[:3])
def test_max_context_from_any_start_is_the_same(machine_name: str) -> None:
    machine = resolve_machine(machine_name)
    settings = PlanSettings()
    seen_zero = seen_top = seen_between = 0
    for arch in load_models()[::5]:
        try:
            spec = rec._spec(arch.id, "Q4_K_M")
        except RigfitError:
            continue
        for tight in (False, True):
            want = max_context(spec, machine, settings, allow_tight=tight)
            top = arch.n_ctx_train or 131072
            seen_zero += want == 0
            seen_top += want == top // 256 * 256
            seen_between += 0 < want < top // 256 * 256
            for start in (256, 4096, 8192 + 100, want or 512, want + 256, top, 10**8):
                got = max_context(spec, machine, settings, allow_tight=tight, start=start)
                assert got == want, (arch.id, tight, start)
    assert seen_zero and seen_top and seen_between  # each way out of the search is taken
