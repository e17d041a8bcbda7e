"""Scenario → Plan: will this model run on this machine, how, and with what memory per device.

``make_plan(model, machine, settings)`` asks the engine named by ``settings.runtime`` (the
registry of :mod:`rigfit.engines`: llama.cpp, vLLM, or one a package adds) for the plan. This
module is the llama.cpp planner: it places the model (estimate/placement.py), sizes every buffer
per device the way llama.cpp allocates it (estimate/memory.py), decides the verdict, and says how
to run it (llama-server command line, Ollama parameters). ``max_context`` and ``max_ngl`` search
over that same function. The vLLM planner is estimate/vllm.py; the types every engine fills
(:class:`Plan`, :class:`PlanSettings`, :class:`Verdict` …) are in :mod:`rigfit.plantypes`.

Verdict (``Plan.fit``):
    fits    every device keeps at least ``margin_bytes`` free (default 1 GiB, llama.cpp's
            ``-fit`` target per device);
    tight   everything fits but some device keeps less than the margin (the plan states it);
    offload part of the model runs from RAM. When the GPUs cannot hold every layer the plan is
            the faster of two strategies: *layer offload* (the largest ``-ngl`` that fits, whole
            layers in RAM) and, for MoE models, *experts in RAM* (every layer on the GPUs, the
            routed experts of the first N layers in RAM: the smallest ``--n-cpu-moe N`` that fits,
            what llama.cpp's ``-fit`` tries first for MoE, research/memory.md §1.6). ``Plan.offload``
            says which ("layers" | "experts"), ``Plan.alternative`` the other with its speed;
    no      not even with every layer in RAM (or an explicit setting that cannot fit).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from rigfit.catalog.arch import ModelSpec
from rigfit.engines.registry import get_engine
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate import speculative as spec_mod
from rigfit.estimate import summarycache
from rigfit.estimate import vision as vision_mod
from rigfit.estimate.bracket import last_ok
from rigfit.estimate.concurrency import concurrency_of
from rigfit.estimate.placement import (
    Placement,
    accelerators_for_llamacpp,  # noqa: F401  (re-exported: callers use plan.accelerators_for_llamacpp)
    experts_in_ram_layers,
    has_expert_tensors,
    machine_facts,
    place,
    resolve_ngl,
    skipped_mtp_span,
)
from rigfit.estimate.speed import SpeedEstimate, estimate_speed
from rigfit.estimate.speed.estimate import estimate_decode_at_context, estimate_decode_at_start_and_context
from rigfit.estimate.tablecache import IdentityCache
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.figures import Figure
from rigfit.hardware.devices import Device, Machine
from rigfit.plan_buffers import BACKEND_OVERHEAD, HOST_FIXED_BYTES, _buffers, _gpu_memory, _host_memory
from rigfit.plan_capacity import (
    PackedRows,
    apple_system_share_bytes,
    gpu_capacities,
    kept_rows_packed,
    pack_rows,
    unpack_rows,
    usable_fast_memory_bytes,
)
from rigfit.plan_capacity import row_uncertainty as _uncertainty
from rigfit.plan_capacity import set_host_capacity as _host_capacity
from rigfit.plan_notes import plan_notes
from rigfit.plan_screening import _SCREENING, Screening
from rigfit.plan_search import Rows, max_ngl_search, min_n_cpu_moe_search
from rigfit.plantypes import (
    DEFAULT_CTX,
    DEFAULT_MARGIN,
    DeviceMemory,
    HostedResult,
    Note,
    NoteCode,
    OffloadAlternative,
    OffloadKind,
    Plan,
    PlanSettings,
    Verdict,
    resolve_ctx,
    without,
)

__all__ = [
    "BACKEND_OVERHEAD",
    "DEFAULT_CTX",
    "DEFAULT_MARGIN",
    "HOST_FIXED_BYTES",
    "LADDER",
    "DeviceMemory",
    "Plan",
    "PlanSettings",
    "Verdict",
    "apple_system_share_bytes",
    "device_memory",
    "make_plan",
    "max_context",
    "max_context_by_quant",
    "max_ngl",
    "min_n_cpu_moe",
    "plan_llamacpp",
    "plan_with",
    "resolve_ctx",
    "speed_of",
    "usable_fast_memory_bytes",
]


#: Each row's (capacity [B], its source), in row order.
_Caps = tuple[tuple[int | None, str], ...]


def device_memory(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    ngl: int | str | None,
    profile: mem.BuildProfile,
) -> tuple[Placement, list[DeviceMemory]]:
    """Place the model and size every llama.cpp buffer on every device [B]."""
    settings = _canonical(settings)
    if (
        machine.detected  # this machine's fitted offsets come from the results store
        or settings.speculative is not None
        or settings.vision is not None
        or (ident := summarycache.table_ident(model)) is None
    ):
        return _device_memory(model, machine, settings, n_ctx, ngl, profile)

    built: list[tuple[Placement, list[DeviceMemory]]] = []

    def build() -> tuple[Placement, PackedRows, _Caps]:
        parts: list[tuple[PackedRows, _Caps]] = []
        built.append(got := _device_memory(model, machine, settings, n_ctx, ngl, profile, kept=parts))
        if parts:  # the placement's kept rows (_DEVICE_ROWS, as they are) and this machine's capacities
            return got[0], *parts[0]
        return got[0], pack_rows(got[1]), tuple((d.capacity_bytes, d.capacity_source) for d in got[1])

    try:  # the -ngl, --n-cpu-moe and context searches ask for the same answer again: kept
        key = (model.arch, model.tensors_exact, machine, settings, n_ctx, _ngl_key(model, ngl), profile)
        pl, packed, caps = _DEVICE_MEMORY.get(ident, key, build)
    except TypeError:  # unhashable values (an Architecture holding lists): not kept
        return _device_memory(model, machine, settings, n_ctx, ngl, profile)
    if built:  # (the caller's own rows, just built)
        return built[0]
    rows = unpack_rows(packed)  # each caller's own rows, with the kept capacities
    for d, cap in zip(rows, caps, strict=True):
        d.capacity_bytes, d.capacity_source = cap
    return pl, rows


#: One instance per distinct PlanSettings that device_memory saw (at most _CANONICAL_MAX, then
#: afresh): a ladder makes equal settings for every candidate at one context, and the caches keyed by
#: them (here and in rigfit.estimate.tablecache, through ``settings.llama``) compare an equal key
#: field by field where the same instance compares by identity.
_CANONICAL: dict[PlanSettings, PlanSettings] = {}
_CANONICAL_MAX = 1024


def _canonical(settings: PlanSettings) -> PlanSettings:
    """The kept instance equal to ``settings`` (itself when new): every answer of :func:`device_memory`
    is a function of the settings' fields only, so an equal instance gives the same answer."""
    try:
        kept = _CANONICAL.get(settings)
    except TypeError:  # unhashable values (a list in a field): as given
        return settings
    if kept is not None:
        return kept
    if len(_CANONICAL) >= _CANONICAL_MAX:
        _CANONICAL.clear()
    return _CANONICAL.setdefault(settings, settings)


def _ngl_key(model: ModelSpec, ngl: int | str | None) -> int | str | None:
    """``ngl`` as :func:`device_memory`'s answer depends on it: the -ngl llama.cpp applies (only
    :func:`place` reads it), so that -ngl None ("all", the plan's first try) and n_layer + 1 (the
    -ngl search's top) share one answer; a value it rejects is kept as given (raised on building)."""
    try:
        return resolve_ngl(ngl, model.arch.n_layer)  # (the trunk model's arch: the same object)
    except RigfitError:
        return ngl


#: :func:`device_memory` per table identity and the other inputs (rigfit.estimate.tablecache): the
#: placement, its rows packed (plan_capacity.pack_rows; those _DEVICE_ROWS keeps, shared) and each
#: row's (capacity, source) on this machine, set on a fresh copy for each caller (who grades and
#: changes its rows). Exact: the rows _device_memory returns are those packed rows with those
#: capacities set, nothing else changed.
_DEVICE_MEMORY: IdentityCache[tuple[Placement, PackedRows, _Caps]] = IdentityCache(8192)


def _device_memory(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    ngl: int | str | None,
    profile: mem.BuildProfile,
    *,
    kept: list[tuple[PackedRows, _Caps]] | None = None,
) -> tuple[Placement, list[DeviceMemory]]:
    """:func:`device_memory`, worked out afresh. ``kept``: where the rows come from the placement's
    kept rows, (those packed rows, each row's capacity and source) is appended to it."""
    full, model = model, spec_mod.trunk_model(model)  # an MTP block loads only with --mtp
    mem.validate(model.arch, settings.llama(n_ctx))
    facts = machine_facts(machine)
    accels = list(facts.accels)
    if accels and settings.tensor_split is not None and len(settings.tensor_split) != len(accels):
        raise RigfitError(
            f"--tensor-split has {len(settings.tensor_split)} shares but the machine has "
            f"{len(accels)} GPU(s)."
        )
    pl = place(
        model,
        machine,
        ngl=ngl,
        tensor_split=settings.tensor_split,
        cpu_moe=settings.cpu_moe,
        n_cpu_moe=settings.n_cpu_moe,
        no_kv_offload=settings.no_kv_offload,
        repack=settings.repack,
    )
    pl = skipped_mtp_span(full, model, pl)  # deepseek32 / glm-dsa: the span reaches the MTP block
    if machine.detected or settings.speculative is not None or settings.vision is not None:
        out = _device_rows(model, machine, settings, n_ctx, pl, profile, accels)
    else:  # the rows' buffers depend on the placement, not on the machine's capacities: shared
        key = (model.arch, model.tensors_exact, settings, n_ctx, profile, facts.backends)
        args = (model, machine, settings, n_ctx, pl, profile, accels)
        packed: PackedRows | None = None
        try:  # (unhashable values, an Architecture holding lists: not kept)
            _, out, packed = kept_rows_packed(_DEVICE_ROWS, pl, key, lambda: (None, _device_rows(*args)))
        except TypeError:
            out = _device_rows(*args)
        for d, cap in zip(out, gpu_capacities(machine), strict=False):  # this machine's capacities
            d.capacity_bytes, d.capacity_source = cap
        _host_capacity(out[-1], machine, out[:-1])
        if kept is not None and packed is not None:
            kept.append((packed, tuple((d.capacity_bytes, d.capacity_source) for d in out)))
    if settings.speculative is not None:  # the draft's / MTP head's context (estimate/speculative.py)
        bufs = spec_mod.draft_buffers(
            full, machine, settings, n_ctx, pl, profile, device_memory, HOST_FIXED_BYTES
        )
        spec_mod.add_draft_buffers(out, bufs)
        host = out[-1]
        if machine.unified_memory and host.capacity_bytes is not None:
            # the draft's GPU buffers come out of the same RAM as the CPU's
            gpu_draft = sum(d.draft_bytes for d in out[:-1])
            host.capacity_bytes = max(0, host.capacity_bytes - gpu_draft)
    if settings.vision is not None:  # the image encoder's buffers (estimate/vision.py)
        vision_mod.add_mmproj_buffers(out, settings.vision, settings.flash_attn != "off")
    return pl, out


def _device_rows(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    pl: Placement,
    profile: mem.BuildProfile,
    accels: list[Device],
) -> list[DeviceMemory]:
    """Every device's row of placement ``pl`` (GPUs, then host): buffers, uncertainty, capacities."""
    b = _buffers(model, settings, n_ctx, pl, profile)
    out = [_gpu_memory(b, name, dev, machine) for name, dev in zip(b.gpu_names, accels, strict=False)]
    out.append(_host_memory(b, machine, out))
    if machine.detected:  # this machine: the buffer offsets rigfit calibrate fitted from its runs
        # lazy: the results store (sqlite3, fingerprints) is needed only for this machine's plans
        from rigfit.measure.overheads import apply_offsets, local_offsets

        apply_offsets(out, local_offsets())
    for d in out:
        d.uncertainty_bytes = _uncertainty(d, model, profile)
    return out


#: :func:`_device_rows` per placement and what buffers depend on, not capacities (set per machine):
#: machines with the same GPU names and split (one CUDA GPU of any size) share a placement's rows.
_DEVICE_ROWS: IdentityCache[tuple[None, PackedRows]] = IdentityCache(8192)


def _grade(devs: list[DeviceMemory], margin: int) -> Verdict:
    """Worst verdict over the devices (setting each device's); UNKNOWN when no device's capacity
    is known."""
    headrooms = [  # each row's headroom_bytes, worked out once
        None if (cap := d.capacity_bytes) is None else cap - d.total_bytes for d in devs
    ]
    if devs and all(hr is None for hr in headrooms):
        for d in devs:
            d.fit = Verdict.UNKNOWN
        return Verdict.UNKNOWN
    worst = Verdict.FITS
    for d, hr in zip(devs, headrooms, strict=True):
        if hr is None:
            d.fit = Verdict.UNKNOWN
            continue
        d.fit = Verdict.FITS if hr >= margin else (Verdict.TIGHT if hr >= 0 else Verdict.NO)
        if d.fit is Verdict.NO:
            worst = Verdict.NO
        elif d.fit is Verdict.TIGHT and worst is Verdict.FITS:
            worst = Verdict.TIGHT
    return worst


# ---------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------


def make_plan(
    model: ModelSpec, machine: Machine, settings: PlanSettings | None = None, *, with_speed: bool = True
) -> Plan:
    """Plan ``model`` on ``machine`` with ``settings``, by the engine ``settings.runtime`` names
    (see :mod:`rigfit.engines`; the llama.cpp verdicts are in this module's docstring)."""
    settings = settings or PlanSettings()
    engine = get_engine(settings.runtime)
    engine.check(settings)
    plan = engine.plan(model, machine, settings, with_speed=with_speed)
    if (
        with_speed
        and (settings.users > 0 or settings.min_tps)
        and plan.fit is not Verdict.NO
        and plan.hosted is None
    ):
        plan.concurrency = concurrency_of(plan)
    return plan


def plan_llamacpp(
    model: ModelSpec, machine: Machine, settings: PlanSettings, *, with_speed: bool = True
) -> Plan:
    """The llama.cpp plan (the engine :class:`rigfit.engines.llamacpp.LlamaCppEngine` runs this)."""
    profile = mem.build_profile(settings.llama_build)
    n_ctx = resolve_ctx(model, settings)
    n_all = model.arch.n_layer + 1
    accels = machine_facts(machine).accels  # (accelerators_for_llamacpp, kept per machine)
    pl, devs = device_memory(model, machine, settings, n_ctx, settings.ngl, profile)
    verdict = _grade(devs, settings.margin_bytes)
    notes: list[str] = []
    max_ngl_v: int | None = None
    alternative: OffloadAlternative | None = None
    if verdict is Verdict.NO and accels:
        settings, pl, devs, verdict, max_ngl_v, alternative = _offload(
            model, machine, settings, n_ctx, profile, (pl, devs, verdict), notes
        )
        n_exp = _experts_in_ram(model, pl)
    else:
        n_exp = _experts_in_ram(model, pl)
        if accels and verdict is Verdict.FITS and (pl.n_gpu_layers < n_all or n_exp):
            verdict = Verdict.OFFLOAD
    kinds = [
        k
        for k, on in (
            (OffloadKind.LAYERS, pl.n_gpu_layers < n_all and bool(accels)),
            (OffloadKind.EXPERTS, n_exp > 0),
        )
        if on
    ]
    kind = None if not kinds else kinds[0] if len(kinds) == 1 else OffloadKind.LAYERS_EXPERTS
    plan = Plan(
        model=model,
        machine=machine,
        settings=settings,
        n_ctx=n_ctx,
        ngl=pl.n_gpu_layers,
        fit=verdict,
        devices=devs,
        placement=pl,
        margin_bytes=settings.margin_bytes,
        build=profile,
        notes=notes,
        max_ngl=max_ngl_v,
        offload=kind if verdict is not Verdict.NO else None,
        experts_in_ram=n_exp,
        alternative=alternative,
    )
    if _SCREENING.get() is None:  # (a screening plan has no notes: rigfit.plan_screening)
        notes += plan_notes(plan, list(accels))
    hosted = [d for d in machine.accelerators if d.kind == "hosted"]
    if hosted and not accels:
        return _hosted_plan(plan, hosted[0], with_speed)
    if with_speed and verdict is Verdict.NO:
        plan.speed_reason = "no speed estimate: this configuration does not fit"
    elif with_speed:
        plan.speed, plan.speed_reason = speed_of(plan)
    return plan


def _offload(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    profile: mem.BuildProfile,
    first: tuple[Placement, list[DeviceMemory], Verdict],
    notes: list[str],
) -> tuple[PlanSettings, Placement, list[DeviceMemory], Verdict, int | None, OffloadAlternative | None]:
    """The plan when everything on the GPUs does not fit: the largest -ngl that does (layer
    offload) and, for an MoE model with no user-set offload, experts in RAM if that is better.
    ``first``: the placement, devices and verdict of the settings as given. Returns (settings,
    placement, devices, verdict, max -ngl, alternative) and appends notes."""
    arch = model.arch
    at_all = first[:2] if settings.ngl is None else None  # (-ngl all: device_memory's same answer)
    max_ngl_v, at_max = _max_ngl(model, machine, settings, False, at_all)
    if max_ngl_v is None:
        max_ngl_v, at_max = _max_ngl(model, machine, settings, True, at_all)
    pl, devs, verdict = first
    if at_max is not None and settings.ngl is None:
        pl, devs = at_max  # (the search's probe at max_ngl_v: device_memory's answer)
        verdict = _grade(devs, settings.margin_bytes)
        if verdict in (Verdict.FITS, Verdict.TIGHT):
            notes.append(
                Note(
                    NoteCode.LAYERS_OFFLOADED,
                    f"Only {max_ngl_v} of {arch.n_layer + 1} layers fit on the GPU(s); "
                    "the rest run from RAM (slower).",
                )
            )
            verdict = Verdict.OFFLOAD if verdict is Verdict.FITS else Verdict.TIGHT
    elif max_ngl_v is not None:
        notes.append(
            Note(
                NoteCode.NGL_TOO_HIGH,
                f"-ngl {settings.ngl} does not fit; the largest -ngl that fits is {max_ngl_v}.",
            )
        )
    alternative = None
    if _auto_moe_offload(model, settings):
        settings, pl, devs, verdict, alternative = _choose_moe_offload(
            model, machine, settings, n_ctx, profile, (pl, devs, verdict), notes, first[:2]
        )
    return settings, pl, devs, verdict, max_ngl_v, alternative


def _experts_in_ram(model: ModelSpec, pl: Placement) -> int:
    """Layers on a GPU whose routed experts stay in RAM (--cpu-moe / --n-cpu-moe)."""
    return experts_in_ram_layers(model, pl)


def _auto_moe_offload(model: ModelSpec, settings: PlanSettings) -> bool:
    """Whether rigfit chooses the MoE offload strategy itself: an MoE model with expert tensors and
    no user-set -ngl / --cpu-moe / --n-cpu-moe."""
    return (
        model.arch.moe is not None
        and settings.ngl is None
        and not settings.cpu_moe
        and not settings.n_cpu_moe
        and has_expert_tensors(model)
    )


#: Preference between offload verdicts (a plan that keeps the margin beats a tight one).
_VERDICT_RANK = {Verdict.OFFLOAD: 0, Verdict.TIGHT: 1}


def _choose_moe_offload(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    profile: mem.BuildProfile,
    layers: tuple[Placement, list[DeviceMemory], Verdict],
    notes: list[str],
    at_zero: Rows | None = None,
) -> tuple[PlanSettings, Placement, list[DeviceMemory], Verdict, OffloadAlternative | None]:
    """Layer offload (``layers``: the -ngl plan found, verdict "no" if none) against experts in RAM
    (every layer on the GPUs, smallest --n-cpu-moe that fits): the one that keeps the margin, then
    the faster decode at the planned context (estimated) wins; without speed estimates experts in
    RAM wins (llama.cpp -fit's order for MoE). Appends a note naming the other strategy's speed."""
    n_layer = model.arch.n_layer
    pl_l, devs_l, v_l = layers
    n_moe, at_moe = _min_n_cpu_moe(model, machine, settings, False, at_zero)
    if n_moe is None:
        n_moe, at_moe = _min_n_cpu_moe(model, machine, settings, True, at_zero)
    if n_moe is None or at_moe is None:
        return settings, pl_l, devs_l, v_l, None
    if 0 < n_moe < n_layer:  # the search's probe: settings equal to replace(settings, n_cpu_moe=n_moe)
        s_e, pl_e, devs_e = at_moe
    else:
        s_e = replace(settings, cpu_moe=True) if n_moe >= n_layer else replace(settings, n_cpu_moe=n_moe)
        pl_e, devs_e = device_memory(model, machine, s_e, n_ctx, None, profile)
    g = _grade(devs_e, settings.margin_bytes)
    v_e = Verdict.OFFLOAD if g is Verdict.FITS else g
    flag = "--cpu-moe" if s_e.cpu_moe else f"--n-cpu-moe {n_moe}"
    if v_e not in _VERDICT_RANK:  # (cannot happen: min_n_cpu_moe checked the fit)
        return settings, pl_l, devs_l, v_l, None
    if v_l not in _VERDICT_RANK:  # whole-layer offload does not fit at all
        notes.append(
            Note(
                NoteCode.MOE_EXPERTS_CHOSEN,
                f"Not every layer fits on the GPU(s): all {n_layer + 1} layers stay on the GPU(s) "
                f"with the routed experts of {_n_exp_text(model, pl_e)} in RAM ({flag}); "
                "no whole-layer -ngl fits.",
            )
        )
        return s_e, pl_e, devs_e, v_e, None
    seen = _SCREENING.get()
    if seen is not None:  # a ranking's screening: the choice alone
        experts_win = _screened_choice(
            model, machine, n_ctx, profile, (s_e, pl_e, devs_e, v_e), (settings, *layers), seen
        )
        if not experts_win:
            return settings, pl_l, devs_l, v_l, None
        notes[:] = without(notes, NoteCode.LAYERS_OFFLOADED)
        return s_e, pl_e, devs_e, v_e, None
    sp_e = _decode(model, machine, s_e, n_ctx, pl_e, devs_e, profile)
    sp_l = _decode(model, machine, settings, n_ctx, pl_l, devs_l, profile)
    if sp_e is None or sp_l is None:
        experts_win = _VERDICT_RANK[v_e] <= _VERDICT_RANK[v_l]
    else:
        experts_win = (_VERDICT_RANK[v_e], -sp_e[1]) <= (_VERDICT_RANK[v_l], -sp_l[1])
    alt_pl, alt_v, alt_sp = (pl_l, v_l, sp_l) if experts_win else (pl_e, v_e, sp_e)
    alternative = OffloadAlternative(
        offload=OffloadKind.LAYERS if experts_win else OffloadKind.EXPERTS,
        ngl=alt_pl.n_gpu_layers,
        n_cpu_moe=0 if experts_win else n_moe,
        fit=alt_v,
        decode_tps=None if alt_sp is None else alt_sp[0],
        decode_tps_ctx=None if alt_sp is None else alt_sp[1],
    )
    ctx_txt = f"{n_ctx:,} tokens"
    if experts_win:
        notes[:] = without(notes, NoteCode.LAYERS_OFFLOADED)
        notes.append(
            Note(
                NoteCode.MOE_EXPERTS_CHOSEN,
                f"Not every layer fits on the GPU(s): all {n_layer + 1} layers stay on the GPU(s) "
                f"with the routed experts of {_n_exp_text(model, pl_e)} in RAM ({flag}), decoding "
                f"at {_speed_txt(sp_e, ctx_txt)}; -ngl {pl_l.n_gpu_layers} layer offload would "
                f"decode at {_speed_txt(sp_l, ctx_txt)} (estimated).",
            )
        )
        return s_e, pl_e, devs_e, v_e, alternative
    notes.append(
        Note(
            NoteCode.MOE_LAYERS_CHOSEN,
            f"Experts in RAM (-ngl all {flag}) would decode at {_speed_txt(sp_e, ctx_txt)}, "
            f"against {_speed_txt(sp_l, ctx_txt)} for this layer offload (estimated).",
        )
    )
    return settings, pl_l, devs_l, v_l, alternative


def _screened_choice(
    model: ModelSpec,
    machine: Machine,
    n_ctx: int,
    profile: mem.BuildProfile,
    experts: tuple[PlanSettings, Placement, list[DeviceMemory], Verdict],
    layers: tuple[PlanSettings, Placement, list[DeviceMemory], Verdict],
    seen: Screening,
) -> bool:
    """Whether experts in RAM win, as :func:`_choose_moe_offload` decides (margin, then the faster
    decode at the context): from that decode alone; the one at the start only goes into notes."""
    s_e, pl_e, devs_e, v_e = experts
    s_l, pl_l, devs_l, v_l = layers
    if _VERDICT_RANK[v_e] != _VERDICT_RANK[v_l]:
        return _VERDICT_RANK[v_e] < _VERDICT_RANK[v_l]
    c_e, fast = _decode_ctx(model, machine, s_e, n_ctx, pl_e, devs_e, profile)
    c_l, _ = _decode_ctx(model, machine, s_l, n_ctx, pl_l, devs_l, profile)
    win = c_e is None or c_l is None or c_e.value is None or c_l.value is None or c_e.value >= c_l.value
    if win and fast and c_e is not None:
        seen.keep(pl_e, s_e, c_e)
    return win


def _n_exp_text(model: ModelSpec, pl: Placement) -> str:
    k = _experts_in_ram(model, pl)
    return f"{k} of {model.arch.n_layer} layers"


def _speed_txt(sp: tuple[float, float] | None, ctx_txt: str) -> str:
    if sp is None:
        return "an unknown speed"
    return f"{sp[0]:.1f} tok/s ({sp[1]:.1f} at {ctx_txt})"


def _decode(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    pl: Placement,
    devs: list[DeviceMemory],
    profile: mem.BuildProfile,
) -> tuple[float, float] | None:
    """(decode tok/s at the start, at the planned context) of one candidate placement (estimated);
    None when the speed model cannot say."""
    a, b = _decode_figures(_candidate(model, machine, settings, n_ctx, pl, devs, profile))
    if a is None or b is None or a.value is None or b.value is None:
        return None
    return float(a.value), float(b.value)


def _decode_ctx(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    pl: Placement,
    devs: list[DeviceMemory],
    profile: mem.BuildProfile,
) -> tuple[Figure | None, bool]:
    """(``_decode``'s figure at the context, whether by the decode pass alone as plan_speed's)."""
    cand = _candidate(model, machine, settings, n_ctx, pl, devs, profile)
    if not machine.detected and not any(d.kind == "hosted" for d in machine.accelerators):
        try:
            m, kwargs = speed_inputs(cand)
            return estimate_decode_at_context(m, machine, **kwargs), settings.speculative is None
        except (RigfitError, ValueError):  # the full estimate below reports it, as speed_of does
            pass
    est, _ = speed_of(cand)
    return (None if est is None else est.decode_tps_ctx), False


def _candidate(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    pl: Placement,
    devs: list[DeviceMemory],
    profile: mem.BuildProfile,
) -> Plan:
    """The plan of one offload strategy, as the speed model is asked about it."""
    return Plan(
        model=model,
        machine=machine,
        settings=settings,
        n_ctx=n_ctx,
        ngl=pl.n_gpu_layers,
        fit=Verdict.OFFLOAD,
        devices=devs,
        placement=pl,
        margin_bytes=settings.margin_bytes,
        build=profile,
    )


def _decode_figures(cand: Plan) -> tuple[Figure | None, Figure | None]:
    """``speed_of(cand)``'s (decode_tps, decode_tps_ctx), by the two decode passes alone on another
    machine's local devices (calibration factors apply to this machine's whole estimate); where the
    speed model cannot say (a :class:`RigfitError`, or its ValueError: no memory bandwidth known
    for a device, no device at all), by the full estimate, which reports it as "no speed" (None for
    both). Any other error is a defect and propagates."""
    machine = cand.machine
    if not machine.detected and not any(d.kind == "hosted" for d in machine.accelerators):
        try:
            model, kwargs = speed_inputs(cand)
            return estimate_decode_at_start_and_context(model, machine, **kwargs)
        except (RigfitError, ValueError):  # the full estimate below reports it, as speed_of does
            pass
    est, _ = speed_of(cand)
    if est is None:
        return None, None
    return est.decode_tps, est.decode_tps_ctx


def _hosted_plan(plan: Plan, dev: Device, with_speed: bool) -> Plan:
    """A hosted SRAM system (Cerebras, Groq) is not a llama.cpp target: no memory table and no
    command line. The honest answers are how many systems hold the weights and KV cache (from the
    speed model's capacity arithmetic, :func:`rigfit.estimate.speed.estimate_hosted`) and the
    vendor's published speeds. Verdict "hosted"."""
    need = sum(d.weights_bytes + d.kv_bytes + d.recurrent_bytes for d in plan.devices)
    plan.fit = Verdict.HOSTED
    plan.devices = []
    plan.placement = None
    plan.commands = {}
    plan.notes = without(plan.notes, NoteCode.HOST_RAM_UNKNOWN, NoteCode.TIGHT, NoteCode.DOES_NOT_FIT)
    plan.notes.insert(
        0,
        Note(
            NoteCode.HOSTED_SYSTEM,
            f"{dev.name} is a datacenter system, {dev.extra.get('how_to_get') or 'rented through an API'}. "
            "llama.cpp does not run on it, so there is no memory table or command line; the provider "
            "shards the model.",
        ),
    )
    if with_speed:
        plan.speed, plan.speed_reason = speed_of(plan)
    n_sys = plan.speed.details.get("n_systems") if plan.speed is not None else None
    plan.hosted = HostedResult(
        device=dev.name,
        memory_bytes_each=dev.memory_bytes,
        memory_source=(dev.sources or {}).get("memory_bytes", "catalog"),
        weights_and_kv_bytes=need,
        systems_needed=n_sys,
    )
    return plan


def speed_of(plan: Plan) -> tuple[SpeedEstimate | None, str | None]:
    """The llama.cpp speed estimate of a plan (rigfit.estimate.speed), calibrated on this machine
    when ``rigfit calibrate`` fitted factors; (None, why) when the speed model cannot say."""
    try:
        model, kwargs = speed_inputs(plan)
        est = estimate_speed(model, plan.machine, **kwargs)
    except RigfitError as exc:
        return None, f"speed estimate unavailable: {exc.message}"
    except Exception as exc:  # the speed model must never break a memory plan
        return None, f"speed estimate failed: {type(exc).__name__}: {exc}"
    if plan.machine.detected:  # this machine: apply the factors `rigfit calibrate` fitted, if any
        # lazy: the results store (sqlite3, fingerprints) is needed only for this machine's plans;
        # importing it up front cost every `rigfit plan` / `recommend` start-up ~30 ms
        from rigfit.measure.calibrate import calibrate_speed, machine_factors

        try:
            est = calibrate_speed(est, machine_factors())
        except Exception as exc:  # an unreadable results store must not break a plan
            plan.notes.append(
                Note(
                    NoteCode.CALIBRATION_SKIPPED,
                    f"calibration factors not applied: {type(exc).__name__}: {exc}",
                )
            )
    return est, None


def speed_inputs(plan: Plan) -> tuple[ModelSpec, dict[str, Any]]:
    """(model, keyword arguments) of the speed model for ``plan``, as :func:`speed_of` calls
    :func:`rigfit.estimate.speed.estimate_speed` (and recommend's decode-only screening,
    :mod:`rigfit.plan_speed`, calls ``estimate_decode_at_context``)."""
    s = plan.settings
    # the "at context" decode figure is for one sequence as deep as it can go: without -kvu each
    # of the -np slots holds n_ctx / n_parallel tokens (llama-server's n_ctx_slot), with -kvu one
    # sequence may fill the whole shared cache
    ctx = plan.n_ctx if s.kv_unified or s.n_parallel <= 1 else max(plan.n_ctx // s.n_parallel, 1)
    return spec_mod.trunk_model(plan.model), {  # no MTP block in a plain decode step
        "placement": plan.placement,
        "ngl": plan.ngl,
        "context": ctx,
        "prompt": s.prompt_tokens,
        "parallel": s.n_parallel,
        "kv_type": s.kv_type_k,
        "flash_attn": None if s.flash_attn == "auto" else s.flash_attn == "on",
        "n_ubatch": s.n_ubatch,
        "n_batch": s.n_batch,
        "build": mem.build_profile(s.llama_build).build,  # --llama-build moves speed too
        "os": s.os,  # --os: the driver factor (estimate/speed/osdriver.py)
    }


def max_ngl(
    model: ModelSpec, machine: Machine, settings: PlanSettings | None = None, *, allow_tight: bool = False
) -> int | None:
    """Largest ``-ngl`` (0 … n_layer + 1) at which every GPU keeps the margin free (``allow_tight``:
    just fits) and host RAM holds the rest [layers]; None when not even ``-ngl 0`` fits. GPU
    memory grows with ngl, so a search of the boundary (:func:`rigfit.plan_search.max_ngl_search`)
    is exact."""
    return _max_ngl(model, machine, settings or PlanSettings(), allow_tight)[0]


def _max_ngl(
    model: ModelSpec, machine: Machine, settings: PlanSettings, allow_tight: bool, at_all: Rows | None = None
) -> tuple[int | None, Rows | None]:
    """:func:`max_ngl` and the placement and rows at it; ``at_all``: the rows with every layer on
    the GPUs where the caller has them (device_memory's answer: the same)."""
    profile = mem.build_profile(settings.llama_build)
    n_ctx = resolve_ctx(model, settings)
    n_all = model.arch.n_layer + 1
    probed: dict[int, Rows] = {} if at_all is None else {n_all: at_all}

    def at(n: int) -> Rows:
        if n not in probed:
            probed[n] = device_memory(model, machine, settings, n_ctx, n, profile)
        return probed[n]

    return max_ngl_search(at, n_all, 0 if allow_tight else settings.margin_bytes)


def _slack(devs: list[DeviceMemory], need: int) -> float:
    """The least headroom beyond ``need`` over the devices whose capacity is known [B] (+inf when
    none is): ≥ 0 exactly when every such device keeps ``need`` free."""
    return min((d.headroom_bytes - need for d in devs if d.headroom_bytes is not None), default=math.inf)


def min_n_cpu_moe(
    model: ModelSpec, machine: Machine, settings: PlanSettings | None = None, *, allow_tight: bool = False
) -> int | None:
    """Smallest ``--n-cpu-moe N`` (0 … n_layer) at which, with every layer on the GPU(s), every GPU
    keeps the margin free (``allow_tight``: just fits) and host RAM holds the experts moved there
    [layers]; None when not even ``--cpu-moe`` fits (or the model has no routed experts).

    GPU memory falls and host memory grows with N (the op-offload copy buffer appears once at
    N ≥ 1 and then stays the same), so a search of the boundary over 1 … n_layer is exact; the
    experts' bytes per layer guide its probes (:func:`rigfit.plan_search.first_gpu_fit`)."""
    return _min_n_cpu_moe(model, machine, settings or PlanSettings(), allow_tight)[0]


def _min_n_cpu_moe(
    model: ModelSpec, machine: Machine, settings: PlanSettings, allow_tight: bool, at_zero: Rows | None = None
) -> tuple[int | None, tuple[PlanSettings, Placement, list[DeviceMemory]] | None]:
    """:func:`min_n_cpu_moe` and the settings, placement and rows at it; ``at_zero``: the rows at
    N = 0 where the caller has them (settings that leave the offload to rigfit: the same)."""
    if model.arch.moe is None or not has_expert_tensors(model):
        return None, None
    profile = mem.build_profile(settings.llama_build)
    n_ctx = resolve_ctx(model, settings)
    base = replace(settings, ngl=None, cpu_moe=False)
    probed: dict[int, tuple[PlanSettings, Placement, list[DeviceMemory]]] = {}
    if at_zero is not None:
        probed[0] = (base if base.n_cpu_moe == 0 else replace(base, n_cpu_moe=0), *at_zero)

    def at(n: int) -> tuple[PlanSettings, Placement, list[DeviceMemory]]:
        if n not in probed:
            s = replace(base, n_cpu_moe=n)
            probed[n] = (s, *device_memory(model, machine, s, n_ctx, None, profile))
        return probed[n]

    return min_n_cpu_moe_search(at, 0 if allow_tight else settings.margin_bytes)


def max_context(
    model: ModelSpec,
    machine: Machine,
    settings: PlanSettings | None = None,
    *,
    allow_tight: bool = False,
    limit: int | None = None,
    start: int = 256,
) -> int:
    """Largest context (a multiple of 256, up to the training context or ``limit``) whose plan
    fits (keeps the margin on every device; ``allow_tight`` accepts less) [tokens]; 0 if none.
    ``start``: the first context probed (e.g. one already planned); the answer does not depend on it.

    Uses the settings' ``ngl`` (None = all layers on the GPUs). Memory grows with n_ctx, so a
    search of the boundary over multiples of 256 (:func:`rigfit.estimate.bracket.last_ok`) is exact."""
    settings = settings or PlanSettings()
    profile = mem.build_profile(settings.llama_build)
    top = limit or model.arch.n_ctx_train or 131072
    step = 256
    ok_set = (Verdict.FITS, Verdict.TIGHT) if allow_tight else (Verdict.FITS,)

    need = 0 if allow_tight else settings.margin_bytes

    def ok(k: int) -> tuple[bool, float]:  # (the plan at k steps fits, its devices' slack)
        _, devs = device_memory(model, machine, settings, k * step, settings.ngl, profile)
        return _grade(devs, settings.margin_bytes) in ok_set, _slack(devs, need)

    hi = top // step
    lo = min(max(start // step, 1), hi)
    ok_lo, slack_lo = ok(lo)
    if not ok_lo and lo > 1:  # a start that does not fit: the boundary is below it
        lo, hi, (ok_lo, slack_lo) = 1, lo, ok(1)
    if not ok_lo:
        return 0
    ok_hi, slack_hi = ok(hi)
    if ok_hi:
        return hi * step
    return last_ok(ok, lo, hi, slack_lo, slack_hi) * step


#: File types compared by ``max_context_by_quant`` (the common llama.cpp K-quant ladder).
LADDER = ("Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")


def max_context_by_quant(
    model: ModelSpec, machine: Machine, settings: PlanSettings | None = None, quants: tuple[str, ...] = LADDER
) -> dict[str, int]:
    """{file type: largest context that fits} for a catalog model re-planned at each quant
    (a model read from a file gets its own type only) [tokens]; 0 = does not fit at 256."""
    if model.tensors_exact or model.origin != "catalog":
        return {model.file_type or "file": max_context(model, machine, settings)}
    out: dict[str, int] = {}
    for q in quants:
        try:
            spec = catalog_model_spec(model.arch, q)
        except RigfitError:
            continue
        out[q] = max_context(spec, machine, settings)
    return out


def plan_with(model: ModelSpec, machine: Machine, **kw: Any) -> Plan:
    """Convenience: ``make_plan`` with settings given as keywords."""
    return make_plan(model, machine, replace(PlanSettings(), **kw))
