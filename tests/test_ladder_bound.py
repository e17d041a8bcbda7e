"""The recommend ladder's "more than every device holds" shortcut gives the planner's answers.

:func:`rigfit.plan_speed.exceeds_fast_memory` rejects a candidate as too big without placing it when
a lower bound of what any plan with every layer in fast memory holds (:func:`fast_memory_need`) is
more than the machine's devices hold together. Checked here over catalog candidates on several
machines and contexts: the bound is never above the devices' totals of such a plan, every candidate
it rejects is one the planner does not run in fast memory, and recommend's answers do not change.
"""

from __future__ import annotations

import pytest

from rigfit import plan_speed
from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plan_speed import exceeds_fast_memory, fast_memory_need, total_capacity
from rigfit.plantypes import PlanSettings

MACHINES = (
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "RTX 4060 Ti 16GB + 32GB DDR5-5600",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RX 7900 XTX + 64GB DDR5-6000",
    "Ryzen 7 5800X + 32GB DDR4-3200",
)


@pytest.mark.parametrize("machine_name", MACHINES)
@pytest.mark.parametrize("ctx", [8192, 65536])
def test_bound_is_below_every_fast_plan_and_rejects_only_what_the_planner_does(
    machine_name: str, ctx: int
) -> None:
    machine = resolve_machine(machine_name)
    settings = PlanSettings(n_ctx=ctx, n_parallel=1, prompt_tokens=2048)
    checked = rejected = all_on_gpus = 0
    for arch in load_models()[::2]:
        if arch.trained_ctx and arch.trained_ctx < ctx:
            continue
        for q in rec.quant_ladder(arch):
            try:
                spec = rec._spec(arch.id, q)
                plan = make_plan(spec, machine, settings, with_speed=False)
            except RigfitError:
                continue
            need = fast_memory_need(spec, machine, settings)
            assert need is not None  # (a discrete-GPU or CPU-only box with every capacity known)
            checked += 1
            n_all = arch.n_layer + 1
            gpu_rows = [d for d in plan.devices if d.kind != "cpu"]
            if not gpu_rows or plan.ngl >= n_all:  # every layer in fast memory
                all_on_gpus += 1
                assert sum(d.total_bytes for d in plan.devices) >= need[0], (arch.id, q)
            if exceeds_fast_memory(spec, machine, settings):
                rejected += 1
                ev = rec._from_plan(plan, arch.id, q, ctx, spec)
                assert not ev.runs_in_fast_memory, (arch.id, q)
    assert checked > 300 and all_on_gpus > 100  # not vacuous
    assert rejected > 5


def test_bound_asks_nothing_where_a_capacity_is_unknown_or_shared() -> None:
    apple = resolve_machine("M3 Max 40-core 128GB")  # unified memory
    spec = rec._spec("qwen2.5-7b", "Q4_K_M")
    assert fast_memory_need(spec, apple, PlanSettings(n_ctx=8192)) is None
    assert total_capacity(apple) is None
    no_ram = resolve_machine("RTX 4090")  # host RAM unknown
    if no_ram.ram_bytes is None:
        assert fast_memory_need(spec, no_ram, PlanSettings(n_ctx=8192)) is None


def test_bound_raises_the_planners_errors_first() -> None:
    machine = resolve_machine(MACHINES[1])
    spec = rec._spec("qwen2.5-7b", "Q4_K_M")
    bad = PlanSettings(n_ctx=8192, flash_attn="sometimes")
    with pytest.raises(RigfitError):
        make_plan(spec, machine, bad, with_speed=False)
    with pytest.raises(RigfitError):
        exceeds_fast_memory(spec, machine, bad)


@pytest.mark.parametrize(
    ("machine_name", "kw"),
    [
        (MACHINES[0], {"use": "chat", "limit": 500}),
        (MACHINES[1], {"use": "long-context", "min_tps": 2.0}),
        (MACHINES[2], {"use": "code", "limit": 500}),
        (MACHINES[4], {"use": "chat", "min_tps": 1.0, "limit": 500}),
    ],
)
def test_recommend_same_with_and_without_the_bound(
    machine_name: str, kw: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = resolve_machine(machine_name)
    _forget()
    calls: list[bool] = []

    def counted(*a: object) -> bool:
        out = exceeds_fast_memory(*a)  # type: ignore[arg-type]
        calls.append(out)
        return out

    with monkeypatch.context() as m:
        m.setattr(rec, "exceeds_fast_memory", counted)
        quick = rec.recommend(machine, **kw).to_json()
    with monkeypatch.context() as m:
        m.setattr(rec, "exceeds_fast_memory", lambda *a: False)  # every candidate planned
        _forget()  # (not screen()'s kept answers)
        full = rec.recommend(machine, **kw).to_json()
    assert quick == full
    assert any(calls)  # the shortcut was taken
    assert plan_speed.total_capacity(machine) is not None


def _forget() -> None:
    """Drop the answers recommend keeps per machine."""
    rec._screen_cached.cache_clear()
    rec._evaluate_cached.cache_clear()
    rec.max_context_for.cache_clear()
