"""Finishing a memory-only plan with its speed, without placing the model again.

``make_plan(..., with_speed=False)`` runs the whole memory search (placement, the -ngl and
--n-cpu-moe binary searches); ``make_plan(..., with_speed=True)`` runs it again and then adds the
speed estimate. Recommend first asks for the memory plan of every candidate (cheap filter) and then
for the full plan of those that fit: :func:`finish_with_speed` adds the speed part to the plan it
already has, so the placement is reused. The result is the same plan ``make_plan`` returns with
speed (tests/test_plan_reuse.py compares them field by field).
"""

from __future__ import annotations

from rigfit.catalog.arch import ModelSpec
from rigfit.engines.llamacpp import LlamaCppEngine
from rigfit.engines.registry import get_engine
from rigfit.estimate.concurrency import concurrency_of
from rigfit.hardware.devices import Machine
from rigfit.plan import make_plan, speed_of
from rigfit.plantypes import Plan, PlanSettings, Verdict
from rigfit.speculative_plan import speculative_of


def finish_with_speed(plan: Plan, model: ModelSpec, machine: Machine, settings: PlanSettings) -> Plan:
    """``make_plan(model, machine, settings)`` given ``plan = make_plan(model, machine, settings,
    with_speed=False)``: the speed (and speculative / concurrency figures) added to ``plan`` in place
    for a llama.cpp plan on local devices; any other plan is made again from scratch."""
    engine = get_engine(settings.runtime)
    if not isinstance(engine, LlamaCppEngine) or plan.hosted is not None or plan.speed is not None:
        return make_plan(model, machine, settings)
    if plan.fit is Verdict.NO:
        plan.speed_reason = "no speed estimate: this configuration does not fit"
        return plan
    # the steps plan_llamacpp, LlamaCppEngine.plan and make_plan take when with_speed is true
    plan.speed, plan.speed_reason = speed_of(plan)
    if settings.speculative is not None and plan.speed is not None:
        plan.speculative = speculative_of(plan)
    if (settings.users > 0 or settings.min_tps) and plan.fit is not Verdict.NO:
        plan.concurrency = concurrency_of(plan)
    return plan
