"""recommend's own bookkeeping against straightforward versions of it.

* ``_from_plan`` (one pass over the device rows) against the sums written out one by one, over the
  plans of catalog candidates on several machines.
* The rows of a ladder (a Pick made only for a quant that leads its model so far) against every
  quant scored, the best and best comfortable taken per model.
* The reason lines (whether a comfortable row is above / below, worked out once) against the
  lines with those looked up row by row.
"""

from __future__ import annotations

import itertools

import pytest

from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plan_screening import screening
from rigfit.plantypes import Plan, PlanSettings, Verdict

MACHINES = (
    "RTX 4060 Ti 16GB + 32GB DDR5-5600",
    "2x RTX 3090 + 128GB DDR4-3200",
    "M3 Max 40-core 128GB",
    "Ryzen 7 5800X + 32GB DDR4-3200",
)


def _reference_evaluation(plan: Plan, model_id: str, quant: str, ctx: int) -> dict:
    """The fields ``_from_plan`` sums, summed one by one."""
    accel_rows = [d for d in plan.devices if d.kind != "cpu"]
    rows = accel_rows or list(plan.devices)
    caps = [d.capacity_bytes for d in rows if d.capacity_bytes is not None]
    return {
        "memory_bytes": float(sum(d.total_bytes for d in rows)),
        "capacity_bytes": float(sum(caps)) if caps and len(caps) == len(rows) else None,
        "memory_breakdown": {
            "weights": float(sum(d.weights_bytes for d in rows)),
            "KV cache": float(sum(d.kv_bytes + d.recurrent_bytes for d in rows)),
            "compute buffers": float(sum(d.compute_bytes + d.output_bytes for d in rows)),
            "runtime overhead": float(sum(d.overhead_bytes for d in rows)),
        },
        "ram_bytes": float(sum(d.total_bytes for d in plan.devices if d.kind == "cpu"))
        if accel_rows
        else 0.0,
    }


@pytest.mark.parametrize("machine_name", MACHINES)
def test_from_plan_sums_as_written_out(machine_name: str) -> None:
    machine = resolve_machine(machine_name)
    settings = PlanSettings(n_ctx=8192, n_parallel=1, prompt_tokens=2048)
    seen = with_ram = 0
    for arch in load_models()[::4]:
        for q in rec.quant_ladder(arch)[::2]:
            try:
                spec = rec._spec(arch.id, q)
                with screening():
                    plan = make_plan(spec, machine, settings, with_speed=False)
            except RigfitError:
                continue
            ev = rec._from_plan(plan, arch.id, q, 8192, spec)
            want = _reference_evaluation(plan, arch.id, q, 8192)
            got = {k: getattr(ev, k) for k in want}
            assert got == want, (arch.id, q)
            seen += 1
            with_ram += ev.ram_bytes > 0
    assert seen > 100
    if machine.accelerators and not machine.unified_memory:
        assert with_ram > 50


def _reference_rows(machine_name: str, use: str, models: list) -> list[tuple[str, str, float, bool]]:
    """(model, quant, score, comfortable) of each model's row: every quant scored."""
    machine = resolve_machine(machine_name)
    u = rec.resolve_use(use)
    out = []
    for arch in models:
        if arch.trained_ctx and arch.trained_ctx < u.ctx:
            continue
        scored = []
        for q in rec.quant_ladder(arch):
            kld = rec.kld_for_model(arch, q)
            if not kld.known or kld.value is None or kld.value > rec.DEFAULT_MAX_KLD:
                continue
            try:
                ev = rec.screen(machine, arch, q, u.ctx)
            except RigfitError:
                continue
            if ev is None or not ev.runs_in_fast_memory or ev.capacity_bytes is None:
                continue
            tps = ev.decode_tps.value if ev.decode_tps and ev.decode_tps.known else None
            if tps is None or tps < u.min_tps:
                continue
            tight = ev.fit == Verdict.TIGHT
            s = rec.score(
                rec.effective_params(arch),
                float(kld.value or 0.0),
                tps,
                u.comfortable_tps,
                rec.is_made_for(arch, u),
                tight=tight,
                other_use=rec.is_made_for_other_use(arch, u),
            )
            scored.append((arch.id, q, s, not tight and tps >= u.comfortable_tps))
        if not scored:
            continue
        best = max(scored, key=lambda r: r[2])  # (the first of equal scores, as the ladder keeps)
        comfy = [r for r in scored if r[3]]
        out.append(max(comfy, key=lambda r: r[2]) if comfy else best)
    return out


@pytest.mark.parametrize(
    ("machine_name", "use"), [(MACHINES[0], "chat"), (MACHINES[1], "code"), (MACHINES[3], "chat")]
)
def test_rows_are_each_models_best_quant(machine_name: str, use: str) -> None:
    models = load_models()[::2]
    got = rec.recommend(resolve_machine(machine_name), use, models=models, limit=None)
    rows = sorted((p.model_id, p.quant, p.score, p.comfortable) for p in got.picks)
    assert rows == sorted(_reference_rows(machine_name, use, models))
    assert len(rows) > 20


@pytest.mark.parametrize("machine_name", MACHINES[:2])
def test_reason_lines_as_looked_up_row_by_row(machine_name: str) -> None:
    got = rec.recommend(resolve_machine(machine_name), "chat", limit=None)
    picks = got.picks
    assert any(p.comfortable for p in picks) and any(not p.comfortable for p in picks)
    for i, p in enumerate(picks, start=1):
        assert p.reason == rec._reason(i, p, picks, got.use), (i, p.model_id)


def test_comfortable_above_and_below_as_looked_up() -> None:
    got = rec.recommend(resolve_machine(MACHINES[0]), "chat", limit=None)
    rows = got.picks[:6]
    assert len(rows) == 6
    for flags in itertools.product((False, True), repeat=len(rows)):  # every pattern of 6 rows
        for p, flag in zip(rows, flags, strict=True):
            p.comfortable = flag
        want = [
            (any(r.comfortable for r in rows[:i]), any(r.comfortable for r in rows[i + 1 :]))
            for i in range(len(rows))
        ]
        assert rec._comfy_around(rows) == want, flags
