"""The recommend ladder's shortcuts give the answers of the full computation.

* ``recommend.screen`` (memory plan + the decode pass alone, :mod:`rigfit.plan_speed`) against
  ``recommend.evaluate`` (the full plan and speed estimate): the same fit, memory and decode
  figure for every catalog candidate on several machines.
* ``recommend()`` with screening against ``recommend()`` evaluating every candidate in full: the
  same JSON, rejected counts included.
* ``place()``'s CPU_Mapped span taken from the runs' file spans against the span of the tensors
  named (:func:`rigfit.estimate.cpu_buffers.mapped_span_bytes`), and its cached placements
  against placing afresh, over many placements.
"""

from __future__ import annotations

import pytest

from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.catalog.native import kld_for_model
from rigfit.errors import RigfitError
from rigfit.estimate import placement as placement_mod
from rigfit.estimate.tablecache import IdentityCache
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plan_speed import only_layer_offload_fits
from rigfit.plantypes import PlanSettings, Verdict

MACHINES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "M3 Max 40-core 128GB",
    "Ryzen 9 7950X + 64GB DDR5-6000",
    "2x RTX 3090 + 128GB DDR4-3200",
)


def _candidates(step: int) -> list[tuple[object, str]]:
    """Every ``step``-th catalog model with its quant ladder (the quants recommend plans)."""
    out = []
    for arch in load_models()[::step]:
        for q in rec.quant_ladder(arch):
            k = kld_for_model(arch, q)
            if k.known and k.value is not None and k.value <= 0.5:
                out.append((arch, q))
    return out


@pytest.mark.parametrize("machine_name", MACHINES)
def test_screen_gives_evaluate_answers(machine_name: str) -> None:
    machine = resolve_machine(machine_name)
    checked = fast = shortcut = 0
    for arch, q in _candidates(3):
        try:
            full = rec.evaluate(machine, arch, q, 8192)
        except RigfitError:
            with pytest.raises(RigfitError):
                rec.screen(machine, arch, q, 8192)
            continue
        quick = rec.screen(machine, arch, q, 8192)
        checked += 1
        if quick is None:  # only whole-layer offload fits: too big for recommend
            assert not full.runs_in_fast_memory, (arch.id, q)
            shortcut += 1
            continue
        for field in (
            "fit",
            "fully_in_fast_memory",
            "memory_bytes",
            "capacity_bytes",
            "ngl",
            "n_layers",
            "experts_in_ram",
            "n_cpu_moe",
            "ram_bytes",
            "weights_bytes",
            "memory_breakdown",
        ):
            assert getattr(quick, field) == getattr(full, field), (arch.id, q, field)
        assert quick.runs_in_fast_memory == full.runs_in_fast_memory
        if full.runs_in_fast_memory:  # what ranking reads: the decode figure, to the last bit
            fast += 1
            assert quick.decode_tps == full.decode_tps, (arch.id, q)
    assert checked > 100 and fast > 20  # the comparison is not vacuous
    if machine.accelerators and machine_name != MACHINES[1]:
        assert shortcut > 0


@pytest.mark.parametrize(
    ("machine_name", "kw"),
    [
        (MACHINES[0], {"use": "chat", "limit": 500}),
        (MACHINES[0], {"use": "agents"}),
        (MACHINES[1], {"use": "long-context", "min_tps": 2.0, "limit": 500}),
        (MACHINES[2], {"use": "code", "min_tps": 3.0, "limit": 500}),
        (MACHINES[3], {"use": "chat", "max_quality_loss": 0.5, "limit": 500}),
        (MACHINES[3], {"use": "code", "users": 4}),
    ],
)
def test_recommend_same_with_and_without_screening(
    machine_name: str, kw: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = resolve_machine(machine_name)
    models = load_models()[::2]
    quick = rec.recommend(machine, models=models, **kw).to_json()
    with monkeypatch.context() as m:
        m.setattr(rec, "screen", rec.evaluate)  # every candidate evaluated in full, as before
        full = rec.recommend(machine, models=models, **kw).to_json()
    assert quick == full
    assert quick["picks"]


@pytest.mark.parametrize("machine_name", [MACHINES[0], MACHINES[3], "RTX 4090 + 64GB DDR5-6000"])
def test_mapped_span_from_runs_equals_span_by_name(
    machine_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = resolve_machine(machine_name)
    seen = 0
    for arch, q in _candidates(7):
        spec = rec._spec(arch.id, q)
        n = arch.n_layer
        for kw in (
            {},
            {"ngl": 0},
            {"ngl": n // 2},
            {"ngl": n},
            {"n_cpu_moe": n // 3},
            {"cpu_moe": True},
            {"repack": False, "ngl": n // 3},
            {"no_kv_offload": True, "ngl": 1},
        ):
            quick = placement_mod.place(spec, machine, **kw)
            with monkeypatch.context() as m:
                m.setattr(placement_mod, "_unique_names", lambda runs: False)  # the span by name
                m.setattr(placement_mod, "_PLACEMENTS", IdentityCache(0))  # placed afresh
                slow = placement_mod.place(spec, machine, **kw)
            assert quick == slow, (arch.id, q, kw)
            seen += quick.mapped_bytes > 0
    assert seen > 50


@pytest.mark.parametrize("machine_name", [MACHINES[0], MACHINES[3], "RTX 4060 Ti 16GB + 32GB DDR5-5600"])
def test_only_layer_offload_fits_agrees_with_the_planner(machine_name: str) -> None:
    """Wherever the shortcut says "only whole-layer offload", the planner's own plan keeps layers
    in RAM or does not fit; asked of every candidate (no size threshold)."""
    machine = resolve_machine(machine_name)
    said = 0
    for arch, q in _candidates(2):
        spec = rec._spec(arch.id, q)
        settings = PlanSettings(n_ctx=8192, n_parallel=1, prompt_tokens=2048)
        try:
            plan = make_plan(spec, machine, settings, with_speed=False)
        except RigfitError:
            continue
        if only_layer_offload_fits(spec, machine, settings):
            said += 1
            assert plan.fit is Verdict.NO or plan.ngl < arch.n_layer + 1, (arch.id, q)
            assert plan.experts_in_ram == 0
        elif arch.moe is None:  # dense and not "only layer offload": every layer on the GPUs
            assert plan.ngl == arch.n_layer + 1 or plan.fit is Verdict.UNKNOWN, (arch.id, q)
    assert said > 10
