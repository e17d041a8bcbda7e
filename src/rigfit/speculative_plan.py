"""The speculative decode estimate of a llama.cpp plan (``rigfit plan --draft / --mtp``).

The physics is in :mod:`rigfit.estimate.speculative`; this module sizes the draft on the plan's
machine with the planner's own functions (:func:`rigfit.plan.device_memory`,
:func:`rigfit.plan.speed_of`) and is called by the llama.cpp engine after the plan is made.
"""

from __future__ import annotations

from dataclasses import replace

from rigfit.estimate import speculative as spec_mod
from rigfit.plan import HOST_FIXED_BYTES, device_memory, speed_of
from rigfit.plantypes import Plan, Verdict


def speculative_of(plan: Plan) -> spec_mod.SpeculativeResult | None:
    """The speculative decode estimate of a plan with ``--draft`` / ``--mtp`` (estimate/speculative.py)."""
    spec, s = plan.settings.speculative, plan.settings
    if spec is None or plan.placement is None:
        return None
    profile = plan.build
    bufs = spec_mod.draft_buffers(
        plan.model, plan.machine, s, plan.n_ctx, plan.placement, profile, device_memory, HOST_FIXED_BYTES
    )
    draft_tps = None
    if spec.draft is not None:
        ds = spec_mod.draft_settings(s, spec)
        ds = replace(ds, tensor_split=spec_mod.draft_tensor_split(plan.machine, spec.device_draft))
        dm = spec_mod.draft_machine(plan.machine, spec)
        pl_d, devs_d = device_memory(spec.draft, dm, ds, plan.n_ctx, ds.ngl, profile)
        cand = Plan(
            model=spec.draft,
            machine=dm,
            settings=ds,
            n_ctx=plan.n_ctx,
            ngl=pl_d.n_gpu_layers,
            fit=Verdict.FITS,
            devices=devs_d,
            placement=pl_d,
            margin_bytes=s.margin_bytes,
            build=profile,
        )
        est, _ = speed_of(cand)
        if est is not None and est.decode_tps.value:
            draft_tps = float(est.decode_tps.value)
    target = plan.speed.decode_tps if plan.speed is not None else None
    return spec_mod.speculative_result(plan.model, spec, target, draft_tps, bufs)
