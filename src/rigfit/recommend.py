"""Which model and quant should I run? Ranked picks for one machine and one use.

Ranking rule
------------
1. **Candidates.** Every catalog model × a quant ladder (Q8_0, Q6_K, Q5_K_M, Q4_K_M, IQ4_XS,
   Q3_K_M, Q2_K; F16 for models under 4B; a model released in MXFP4 (gpt-oss) or FP8 (DeepSeek
   V3/R1) gets its own ladder from its native format, :mod:`rigfit.catalog.native`), planned at the use's
   context: chat 8K, code 16K, agents 64K, long-context 64K tokens (``--min-ctx`` overrides), with
   llama.cpp defaults (f16 KV cache, flash attention where the build has it). ``--users N`` plans a
   team box: ``-np N`` slots of that context each, and every speed is per user with N decoding at
   once (estimate/concurrency.py). Agents use prompt caching: their time to first token prefills
   only a turn's new tokens (``Use.turn_tokens``) on top of the cached context.
2. **Filters.** A candidate must be one ``rigfit plan`` runs with every layer in fast memory
   (VRAM, or unified memory on Apple / APUs, or RAM on a CPU-only box): either all of it there,
   or — for a mixture-of-experts model — every layer on the GPU(s) with the routed experts of
   some layers in RAM (``--n-cpu-moe``, the planner's own search: the plan ``rigfit plan`` picks is
   the plan ranked here). Whole-layer offload of a dense model is left out (it is what makes "14B
   with offload" crawl). It must decode at least ``--min-tps`` (default: the use's floor, chat
   10, code 15, agents 15, long-context 5 tok/s, at the chosen context), lose at most
   ``--max-quality-loss`` (default 0.25 nats of mean KL divergence vs F16 — between Q3_K_S and
   Q2_K on Llama-3-8B), and the model must be trained for the context (``n_ctx_train`` ≥ context).
3. **Score** (one per candidate; the best-scoring quant represents each model)::

       score = log2(P_eff / 1e9)                         capability: +1 per doubling of size
             − KLD / 0.1                                 quantization loss: −1 per 0.1 nats
             + 0.5 · clamp(log2(tps / comfortable), 0, 2) speed beyond comfortable, at most +1
             + 0.5 if the model is made for the use (coder models for ``code``)
             − 1 if the model is made for another use (coder models for chat)
             − 0.25 if the plan is "tight" (under 1 GiB free on a device)

   ``P_eff`` is the parameter count (MoE: √(total × active), a community rule of thumb for the
   dense-equivalent size — no benchmark). 0.1 nats of KLD is about Q3_K_M on Llama-3-8B: the
   rule says a model twice the size at Q4_K_M (KLD ≈ 0.03) beats a smaller one at Q8_0, and
   Q2_K (≈ 0.45) costs more than the doubling is worth — what llama.cpp's KLD scoreboards and
   common experience agree on.
4. **Rows and named picks.** A pick is *comfortable* when it keeps memory to spare on every device
   (not "tight") and decodes at least the use's comfortable speed (chat 20, code 25, agents 30,
   long-context 10 tok/s). Each model is one row: its best-scoring comfortable quant when it has
   one, else its best-scoring quant. Rows are sorted by score; scores within 0.05 tie, and a tie
   goes to the newer model (release dates from :mod:`rigfit.catalog.releases`). **Sweet spot**: the
   comfortable row with the highest score — row 1 unless rows above it score higher but are not
   comfortable (tight, or slower than comfortable), which their reason line says. **Largest that
   runs comfortably**: the comfortable row with the most parameters in total (what the model's name
   counts and its memory holds); sizes within 10 % of the largest count as equal and the newer model
   wins, then the score; a model made for another use is not named. When nothing is comfortable,
   both fall back to row 1, and say so. Every row carries a one-line reason.

Capability tier: the model's size class by effective parameters (tiny < 3B, small 3–9B, mid
10–16B, large 20–40B, xl 65–125B, frontier-class ≥ 200B), labelled as a rigfit size rule, not a
benchmark score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rigfit.catalog.arch import Architecture, ModelSpec
from rigfit.catalog.models import get_model, load_models
from rigfit.catalog.native import kld_for_model, native_format
from rigfit.catalog.quality_models import board_label
from rigfit.catalog.releases import release_sort_key
from rigfit.errors import RigfitError
from rigfit.estimate.concurrency import batched_decode, cached_turn_ttft
from rigfit.estimate.tensors import catalog_model_spec, catalog_weights_bytes
from rigfit.figures import Figure
from rigfit.gcpause import collector_paused
from rigfit.hardware.devices import Machine
from rigfit.hardware.osreserve import RamReserve, ram_reserve
from rigfit.plan import make_plan, max_context
from rigfit.plan_reuse import finish_with_speed
from rigfit.plan_screening import screening
from rigfit.plan_speed import (
    NeedsFullEstimate,
    decode_at_context,
    exceeds_fast_memory,
    only_layer_offload_fits,
    total_capacity,
)
from rigfit.plantypes import Plan, PlanSettings, Verdict
from rigfit.recommend_uses import USES as USES
from rigfit.recommend_uses import Use as Use
from rigfit.recommend_uses import capability_tier as capability_tier
from rigfit.recommend_uses import effective_params as effective_params
from rigfit.recommend_uses import is_code_model as is_code_model
from rigfit.recommend_uses import is_made_for as is_made_for
from rigfit.recommend_uses import is_made_for_other_use as is_made_for_other_use
from rigfit.recommend_uses import resolve_use as resolve_use

QUANT_LADDER = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K")
KLD_PER_POINT = 0.1
DEFAULT_MAX_KLD = 0.25
#: Score cost of a "tight" plan (< 1 GiB free on a device: the desktop, a browser or a longer
#: prompt can push it over) — a quarter of a size doubling.
TIGHT_PENALTY = 0.25
#: Score cost of a model made for another use (a coder model for chat): one size doubling — a
#: code specialist is tuned away from conversation, so a general model half its size is preferred
#: (a rigfit ranking rule, not a benchmark).
OTHER_USE_PENALTY = 1.0
#: Scores this close count as equal when ranking (0.05 = a 3.5 % size difference or 0.005 nats of
#: KLD — below what the KLD and speed bands can tell apart); the newer model then goes first.
SCORE_TIE = 0.05
#: Sizes within this ratio of the largest comfortable row count as equal for "largest".
SIZE_TIE_RATIO = 0.9


def quant_ladder(arch: Architecture) -> tuple[str, ...]:
    """File types tried for a model: the ladder (F16 too under 4B); a model released in a
    low-precision format gets its own ladder, baseline first (:mod:`rigfit.catalog.native`)."""
    out = list(QUANT_LADDER)
    if (arch.total_params or 0) < 4e9:
        out.insert(0, "F16")
    nat = native_format(arch)
    if nat is not None:
        return tuple(q for q in nat.ladder if q in out or q == nat.baseline)
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# Evaluation of one (machine, model, quant, context): the planner and speed model, cached
# ------------------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What the planner says about one candidate.

    fit: the planner's verdict (:class:`rigfit.plantypes.Verdict`); ``fit_label`` says it in words.
    fully_in_fast_memory: no layer or expert left on the CPU side.
    memory_bytes: total memory the plan needs [B]; capacity_bytes: what it can use [B].
    decode_tps / prefill_tps / ttft_s: Figures at the chosen context; max_ctx: largest context
    that still fits (None when unknown).
    """

    model_id: str
    quant: str
    ctx: int
    fit: Verdict
    fully_in_fast_memory: bool
    memory_bytes: float | None
    capacity_bytes: float | None
    decode_tps: Figure | None
    prefill_tps: Figure | None
    ttft_s: Figure | None
    max_ctx: int | None
    weights_bytes: float
    bottleneck: str = ""
    memory_breakdown: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    ngl: int | None = None
    n_layers: int | None = None
    systems_needed: int | None = None  # hosted SRAM systems (Cerebras, Groq) holding weights + KV
    experts_in_ram: int = 0  # layers whose routed MoE experts stay in RAM
    # the plan's --n-cpu-moe value: the first N layers, leading dense layers included, so it can
    # exceed experts_in_ram (DeepSeek, GLM-4.7-Flash); n_layer stands for --cpu-moe
    n_cpu_moe: int = 0
    ram_bytes: float = 0.0  # what the plan keeps in system RAM [B] (experts, CPU buffers)

    @property
    def experts_offload(self) -> bool:
        """Every layer on the GPU(s), the routed experts of some layers in RAM (--n-cpu-moe)."""
        return (
            self.experts_in_ram > 0
            and self.n_layers is not None
            and self.ngl is not None
            and self.ngl >= self.n_layers
            and self.fit in (Verdict.OFFLOAD, Verdict.TIGHT)
        )

    @property
    def runs_in_fast_memory(self) -> bool:
        """Every layer in fast memory: all of it, or all but routed experts (recommend's filter)."""
        return self.fully_in_fast_memory or self.experts_offload

    @property
    def fit_label(self) -> str:
        """The planner's verdict in words: fits, tight, offload (k/n layers on GPU), won't run."""
        if self.fit == Verdict.NO:
            return "won't run"
        if self.experts_in_ram and self.n_layers:
            return f"offload (experts of {self.experts_in_ram} layers in RAM)"
        if not self.fully_in_fast_memory and self.ngl is not None and self.n_layers:
            return f"offload ({self.ngl}/{self.n_layers} layers on GPU)"
        return self.fit


def evaluate(
    machine: Machine,
    arch: Architecture,
    quant: str,
    ctx: int,
    *,
    users: int = 1,
    turn_tokens: int | None = None,
) -> Evaluation:
    """Plan and speed of one candidate (cached per machine name, model, quant and context).

    users: requests decoding at once (``-np users``, ``ctx`` per slot; speeds per user).
    turn_tokens: prompt caching — TTFT prefills only this many new tokens at depth ``ctx``."""
    return _evaluate_cached(machine, arch.id, quant, int(ctx), max(int(users), 1), turn_tokens)


@lru_cache(maxsize=4096)
def _spec(model_id: str, quant: str) -> ModelSpec:
    return catalog_model_spec(get_model(model_id), quant)


@lru_cache(maxsize=4096)
def _weights_bytes(model_id: str, quant: str) -> int:
    """``_spec(model_id, quant).weights_bytes`` [B], without building the tensor table."""
    return catalog_weights_bytes(get_model(model_id), quant)


#: Prompt length for prefill / TTFT figures [tokens] (mission.md: "TTFT for a 2K prompt").
PROMPT_TOKENS = 2048


@lru_cache(maxsize=256)
def _settings(ctx: int, users: int) -> PlanSettings:
    """The plan settings of a candidate at ``ctx`` for ``users``: one shared (frozen) object per
    pair, so that the planner's caches keyed by settings find them by identity, hashed once."""
    return PlanSettings(n_ctx=ctx * users, n_parallel=users, prompt_tokens=min(PROMPT_TOKENS, ctx))


@lru_cache(maxsize=8192)
def _evaluate_cached(
    machine: Machine, model_id: str, quant: str, ctx: int, users: int = 1, turn_tokens: int | None = None
) -> Evaluation:
    spec = _spec(model_id, quant)
    settings = _settings(ctx, users)
    plan = make_plan(spec, machine, settings, with_speed=False)  # cheap: memory only
    if plan.fit is not Verdict.NO:
        plan = finish_with_speed(plan, spec, machine, settings)  # the same placement, plus speed
    ev = _from_plan(plan, model_id, quant, ctx, spec)
    if plan.speed is not None and (users > 1 or turn_tokens):
        ev = _under_load(ev, plan, ctx, users, turn_tokens)
    return ev


def screen(
    machine: Machine,
    arch: Architecture,
    quant: str,
    ctx: int,
    *,
    users: int = 1,
    turn_tokens: int | None = None,
) -> Evaluation | None:
    """What ranking needs of one candidate, cheaper than :func:`evaluate`: the same plan, fit,
    memory and decode speed at ``ctx``, without prefill, TTFT, the bottleneck and notes (None /
    empty; a screening plan, :mod:`rigfit.plan_screening`) — and without any speed where the plan
    does not run in fast memory (ranking rejects it as too big before it looks at speed); None
    for a candidate that can only run with
    whole layers in RAM (too big, :func:`rigfit.plan_speed.only_layer_offload_fits`). The rows a
    recommendation shows are evaluated in full. Cached like :func:`evaluate`."""
    return _screen_cached(machine, arch.id, quant, int(ctx), max(int(users), 1), turn_tokens)


@lru_cache(maxsize=8192)
def _screen_cached(
    machine: Machine, model_id: str, quant: str, ctx: int, users: int = 1, turn_tokens: int | None = None
) -> Evaluation | None:
    if users > 1:  # per-user decode under load comes from the full plan (estimate/concurrency.py)
        return _evaluate_cached(machine, model_id, quant, ctx, users, turn_tokens)
    spec = _spec(model_id, quant)
    settings = _settings(ctx, users)
    weights = _weights_bytes(model_id, quant)
    if _may_exceed(weights, machine) and exceeds_fast_memory(spec, machine, settings):
        return None  # more than every device holds together: too big, without placing it
    if _may_overflow(spec.arch, weights, machine) and only_layer_offload_fits(spec, machine, settings):
        return None  # whole layers in RAM at best: too big, without the -ngl search
    with screening() as seen:  # memory only, as _evaluate_cached (no notes, leaner MoE offload choice)
        plan = make_plan(spec, machine, settings, with_speed=False)
    ev = _from_plan(plan, model_id, quant, ctx, spec)
    if not ev.runs_in_fast_memory:
        return ev
    try:  # the figure evaluate() gives, by the decode pass alone (the offload choice's, if it made it)
        known = seen.decode_at_context(plan)
        ev.decode_tps = known if known is not None else decode_at_context(plan)
    except NeedsFullEstimate:
        return _evaluate_cached(machine, model_id, quant, ctx, users, turn_tokens)
    return ev


#: Weights above this share of the GPUs' memory make "only whole-layer offload fits" worth asking
#: before planning (a cheaper answer when it is yes; the answer is exact either way).
_OVERFLOW_SHARE = 0.6


#: Weights above this share of all the devices' capacities make :func:`exceeds_fast_memory` worth
#: asking (the answer is exact either way; the KV cache can add the rest at a long context).
_EXCEED_SHARE = 0.7


def _may_exceed(weights_bytes: float, machine: Machine) -> bool:
    cap = total_capacity(machine)
    return cap is not None and weights_bytes > _EXCEED_SHARE * cap


def _may_overflow(arch: Architecture, weights_bytes: float, machine: Machine) -> bool:
    """Whether a dense model is large enough for its GPUs that it may not fit with every layer
    there (only then is :func:`only_layer_offload_fits` asked: it costs a placement)."""
    if arch.moe is not None:
        return False
    gpu = _gpu_bytes(machine)
    return gpu > 0 and weights_bytes > _OVERFLOW_SHARE * gpu


@lru_cache(maxsize=256)
def _gpu_bytes(machine: Machine) -> int:
    """The memory of the machine's accelerators together [B] (0 where unknown)."""
    return sum(d.memory_bytes or 0 for d in machine.accelerators)


def _under_load(ev: Evaluation, plan: Plan, ctx: int, users: int, turn_tokens: int | None) -> Evaluation:
    """Per-user decode with ``users`` in flight at depth ``ctx``, and TTFT with prompt caching."""
    ev.ctx = ctx
    if users > 1:
        b = batched_decode(plan, users=users, prompt_tokens=ctx, output_tokens=1)
        ev.decode_tps = b.per_user_tps
        ev.ttft_s = b.ttft_s
    if turn_tokens:
        turn = min(turn_tokens, ctx)
        ev.ttft_s = cached_turn_ttft(plan, new_tokens=turn, depth=ctx - turn, users=users)
    return ev


def _from_plan(plan: Plan, model_id: str, quant: str, ctx: int, spec: ModelSpec) -> Evaluation:
    """Adapter from :class:`rigfit.plan.Plan` to an Evaluation (kept in one place on purpose).

    Memory and capacity count the accelerators (or host RAM on a CPU-only box); the breakdown
    sums each buffer kind over those devices.
    """
    n_all = spec.arch.n_layer + 1
    devices = plan.devices
    accel_rows = [d for d in devices if d.kind != "cpu"]
    rows = accel_rows or devices
    full = not accel_rows or plan.ngl >= n_all
    fully = plan.fit in (Verdict.FITS, Verdict.TIGHT) and full
    # one pass over the rows: each sum adds the same terms in the same order as sum() would
    total = weights = kv = compute = overhead = cap_sum = n_caps = ram = 0
    for d in devices:
        if d.kind == "cpu" and accel_rows:  # host RAM beside the accelerators
            ram += d.total_bytes
            continue
        total += d.total_bytes
        weights += d.weights_bytes
        kv += d.kv_bytes + d.recurrent_bytes
        compute += d.compute_bytes + d.output_bytes
        overhead += d.overhead_bytes
        if d.capacity_bytes is not None:
            cap_sum += d.capacity_bytes
            n_caps += 1
    mem_b = float(total)
    if plan.hosted is not None:  # no per-device table: the weights + KV the provider must hold
        mem_b = float(plan.hosted.weights_and_kv_bytes or 0.0)
    cap = float(cap_sum) if n_caps and n_caps == len(rows) else None
    breakdown = {
        "weights": float(weights),
        "KV cache": float(kv),
        "compute buffers": float(compute),
        "runtime overhead": float(overhead),
    }
    speed = plan.speed
    notes = tuple(plan.notes) + ((f"speed: {plan.speed_reason}",) if plan.speed_reason else ())
    return Evaluation(
        model_id=model_id,
        quant=quant,
        ctx=plan.n_ctx,
        fit=plan.fit,
        fully_in_fast_memory=fully,
        memory_bytes=mem_b,
        capacity_bytes=cap,
        decode_tps=speed.decode_tps_ctx if speed is not None else None,
        prefill_tps=speed.prefill_tps if speed is not None else None,
        ttft_s=speed.ttft_s if speed is not None else None,
        max_ctx=None,
        weights_bytes=float(spec.weights_bytes),
        bottleneck=speed.bottleneck if speed is not None else "",
        memory_breakdown=breakdown,
        notes=notes,
        ngl=plan.ngl if accel_rows else None,
        n_layers=n_all,
        experts_in_ram=plan.experts_in_ram,
        n_cpu_moe=plan.settings.n_cpu_moe or (spec.arch.n_layer if plan.settings.cpu_moe else 0),
        ram_bytes=float(ram) if accel_rows else 0.0,
        systems_needed=plan.hosted.systems_needed if plan.hosted is not None else None,
    )


@lru_cache(maxsize=2048)
def max_context_for(
    machine: Machine, model_id: str, quant: str, n_cpu_moe: int = 0, near: int = 0
) -> int | None:
    """Largest context that still fits entirely in fast memory [tokens] (the planner's search,
    with the same headroom as ``rigfit plan --max-ctx``; a model that only fits tight gets the
    largest tight context instead of none). ``n_cpu_moe``: layers whose routed experts stay in
    RAM, as in the plan being described. ``near``: a context a plan of one user was made at
    (recommend's rows): the search starts there, from that plan's memory table, kept by the planner
    (the settings below differ from that plan's only in its context and prompt length, which the
    memory table does not read); the answer is the same (tests/test_ladder_maxctx.py)."""
    base = _settings(near, 1) if near > 0 else PlanSettings()
    settings = replace(base, n_cpu_moe=n_cpu_moe) if n_cpu_moe else base
    start = near if near > 0 else 256
    try:
        spec = _spec(model_id, quant)
        n = max_context(spec, machine, settings, start=start) or max_context(
            spec, machine, settings, allow_tight=True, start=start
        )
    except RigfitError:
        return None
    return n or None


def fast_memory_bytes(machine: Machine) -> float:
    """Memory a model can live in without offload [B] (generous: for pruning only)."""
    if machine.accelerators:
        acc = sum(d.memory_bytes or 0 for d in machine.accelerators)
        if machine.unified_memory and machine.ram_bytes:
            acc = max(acc, machine.ram_bytes)
        return float(acc)
    return float(machine.ram_bytes or 0)


# ------------------------------------------------------------------------------------------------
# Ranking
# ------------------------------------------------------------------------------------------------


@dataclass
class Pick:
    """One ranked recommendation."""

    model_id: str
    model_name: str
    quant: str
    ctx: int
    score: float
    effective_params: float
    tier: str
    tier_source: str
    kld: Figure
    evaluation: Evaluation
    comfortable: bool
    made_for_use: bool = False
    why: list[str] = field(default_factory=list)
    made_for_other_use: bool = False
    released: str = ""  # release date (ISO; "" unknown), the tie-breaker
    total_params: float = 0.0
    reason: str = ""  # one line: why this row is where it is
    rank: int = 0  # place in the full ranking (1 = first); the table may skip rows below --limit

    @property
    def decode_tps(self) -> float | None:
        d = self.evaluation.decode_tps
        return d.value if d is not None else None

    @property
    def headroom_ctx(self) -> int | None:
        return self.evaluation.max_ctx

    def to_json(self) -> dict:
        e = self.evaluation
        return {
            "rank": self.rank,
            "model": self.model_id,
            "name": self.model_name,
            "quant": self.quant,
            "ctx": self.ctx,
            "score": round(self.score, 3),
            "effective_params_b": round(self.effective_params / 1e9, 2),
            "tier": self.tier,
            "tier_source": self.tier_source,
            "quality_loss_kld": self.kld.to_json(),
            "fit": e.fit,
            "memory_bytes": e.memory_bytes,
            "max_ctx": e.max_ctx,
            "decode_tps": e.decode_tps.to_json() if e.decode_tps else None,
            "prefill_tps": e.prefill_tps.to_json() if e.prefill_tps else None,
            "ttft_s": e.ttft_s.to_json() if e.ttft_s else None,
            "comfortable": self.comfortable,
            "made_for_use": self.made_for_use,
            "made_for_other_use": self.made_for_other_use,
            "released": self.released or None,
            "experts_in_ram_layers": e.experts_in_ram,
            "ram_bytes": e.ram_bytes,
            "reason": self.reason,
            "why": self.why,
        }


@dataclass
class Recommendation:
    machine: str
    use: Use
    ctx: int
    min_tps: float
    max_kld: float
    picks: list[Pick]
    sweet_spot: Pick | None
    largest_comfortable: Pick | None
    sweet_spot_why: str
    largest_why: str
    considered: int
    rejected: dict[str, int]
    users: int = 1
    ram_reserve: RamReserve | None = None  # host RAM kept for the OS (hardware/osreserve.py)

    def to_json(self) -> dict:
        return {
            "schema": "rigfit.recommend/1",
            "machine": self.machine,
            "ram_reserve_bytes": self.ram_reserve.bytes if self.ram_reserve else None,
            "ram_reserve_source": self.ram_reserve.source if self.ram_reserve else None,
            "use": self.use.name,
            "users": self.users,
            "prompt_caching_turn_tokens": self.use.turn_tokens,
            "ctx": self.ctx,
            "min_tps": self.min_tps,
            "max_quality_loss_kld": self.max_kld,
            "considered": self.considered,
            "rejected": self.rejected,
            "sweet_spot": self.sweet_spot.to_json() if self.sweet_spot else None,
            "sweet_spot_why": self.sweet_spot_why,
            "largest_comfortable": self.largest_comfortable.to_json() if self.largest_comfortable else None,
            "largest_comfortable_why": self.largest_why,
            "picks": [p.to_json() for p in self.picks],
        }


def score(
    eff_params: float,
    kld: float,
    tps: float,
    comfortable_tps: float,
    made_for: bool,
    tight: bool = False,
    *,
    other_use: bool = False,
) -> float:
    """The ranking score (see the module docstring)."""
    speed = 0.5 * min(max(math.log2(tps / comfortable_tps), 0.0), 2.0) if tps > 0 else 0.0
    return (
        math.log2(eff_params / 1e9)
        - kld / KLD_PER_POINT
        + speed
        + (0.5 if made_for else 0.0)
        - (OTHER_USE_PENALTY if other_use else 0.0)
        - (TIGHT_PENALTY if tight else 0.0)
    )


def recommend(
    machine: Machine,
    use: str | Use = "chat",
    *,
    min_ctx: int | None = None,
    min_tps: float | None = None,
    max_quality_loss: float | None = None,
    limit: int | None = 10,
    models: Iterable[Architecture] | None = None,
    users: int = 1,
) -> Recommendation:
    """Ranked model × quant picks that fit ``machine`` for ``use`` (see the module docstring);
    ``users`` > 1 plans a team box (``-np users``, speeds per user).

    The cyclic garbage collector is paused while it runs (:func:`rigfit.gcpause.collector_paused`,
    shared by concurrent calls in ``rigfit serve``); the one-shot ``rigfit recommend`` process
    turns it off for its whole run (:data:`rigfit.cli._GC_OFF_COMMANDS`)."""
    with collector_paused():
        return _recommend(machine, use, min_ctx, min_tps, max_quality_loss, limit, models, users)


def _recommend(
    machine: Machine,
    use: str | Use,
    min_ctx: int | None,
    min_tps: float | None,
    max_quality_loss: float | None,
    limit: int | None,
    models: Iterable[Architecture] | None,
    users: int,
) -> Recommendation:
    if users < 1:
        raise RigfitError(f"--users must be ≥ 1, got {users}.", "e.g. --users 4")
    if any(d.kind == "hosted" for d in machine.accelerators):
        raise RigfitError(
            f"{machine.name} is a hosted system: the provider picks and shards the models.",
            "Compare its API price: rigfit cost MODEL --on <your machine> --hosted cerebras",
        )
    u = resolve_use(use) if isinstance(use, str) else use
    ctx = int(min_ctx or u.ctx)
    floor_tps = float(u.min_tps if min_tps is None else min_tps)
    max_kld = float(DEFAULT_MAX_KLD if max_quality_loss is None else max_quality_loss)
    fast = fast_memory_bytes(machine)
    if not fast:  # e.g. a bare CPU name: every model would be rejected as "too big"
        raise RigfitError(
            f"The memory of {machine.name} is unknown, so nothing can be checked for fit.",
            f"Describe the RAM, e.g. --on '{machine.name} + 32GB DDR4-3200'.",
        )
    f = _Filters(machine, u, ctx, floor_tps, max_kld, fast, users=users)
    if machine.accelerators and not machine.unified_memory:
        f.ram_bytes = float(machine.ram_bytes or 0)
    picks: list[Pick] = []
    for arch in models or load_models():
        if arch.trained_ctx and arch.trained_ctx < ctx:  # (not a GGUF placeholder such as Mamba-2's 2^20)
            f.rejected["context"] += 1
            continue
        best, best_comfy = _best_quants(arch, f)
        row = best_comfy or best  # one row per model: its best comfortable quant if it has one
        if row is not None:
            picks.append(row)
    picks = order_picks(picks)
    sweet, largest, sweet_why, largest_why = _named_picks(picks, u, ctx)
    for i, (p, around) in enumerate(zip(picks, _comfy_around(picks), strict=True), start=1):
        p.reason = _reason(i, p, picks, u, around)
        p.rank = i
    shown = _shown_rows(picks, limit, (sweet, largest))
    for row in shown:  # only the rows shown need their context search (neither ranks nor names use it)
        # ... and their full evaluation (prefill, TTFT): the ranking used screen()'s
        row.evaluation = _evaluate_cached(
            machine, row.model_id, row.quant, int(ctx), max(int(users), 1), u.turn_tokens
        )
        row.evaluation.max_ctx = _max_ctx(machine, row)
        row.why = _why(row, u)
    return Recommendation(
        machine.name,
        u,
        ctx,
        floor_tps,
        max_kld,
        shown,
        sweet,
        largest,
        sweet_why,
        largest_why,
        f.considered,
        f.rejected,
        users,
        ram_reserve(machine) if machine.ram_bytes else None,
    )


@dataclass
class _Filters:
    """A recommendation's filters, and what they counted (candidates considered, rejected by reason)."""

    machine: Machine
    use: Use
    ctx: int
    floor_tps: float
    max_kld: float
    fast_bytes: float
    users: int = 1
    considered: int = 0
    ram_bytes: float = 0.0  # host RAM where routed experts may go (accelerator machines only)
    rejected: dict[str, int] = field(
        default_factory=lambda: {
            "too big": 0,
            "too slow": 0,
            "quality loss": 0,
            "context": 0,
            "not plannable": 0,
        }
    )


def _best_quants(arch: Architecture, f: _Filters) -> tuple[Pick | None, Pick | None]:
    """(best-scoring pick, best-scoring comfortable pick) over the model's quant ladder."""
    best: Pick | None = None
    best_comfy: Pick | None = None
    m = _ModelFacts(arch, f.use)
    for q, kld in _ladder_klds(arch):
        f.considered += 1
        if not kld.known or kld.value is None or kld.value > f.max_kld:
            f.rejected["quality loss"] += 1
            continue
        try:
            weights_bytes = _weights_bytes(arch.id, q)  # the sum only: no tensor table yet
        except RigfitError:
            f.rejected["not plannable"] += 1
            break
        if weights_bytes > f.fast_bytes + (f.ram_bytes if arch.moe is not None else 0.0):
            f.rejected["too big"] += 1
            continue
        got = _scored(m, q, kld, f)
        if got is None:
            continue
        s, comfy, ev = got
        new_best = best is None or s > best.score
        new_comfy = comfy and (best_comfy is None or s > best_comfy.score)
        if new_best or new_comfy:  # (a Pick only for a quant that leads so far)
            p = _new_pick(m, q, kld, f, s, comfy, ev)
            if new_best:
                best = p
            if new_comfy:
                best_comfy = p
    return best, best_comfy


def _ladder_klds(arch: Architecture) -> tuple[tuple[str, Figure], ...]:
    """(quant, :func:`_kld`) over :func:`quant_ladder`, kept per architecture (the same every
    ladder)."""
    try:
        return _ladder_klds_cached(arch)
    except TypeError:  # an Architecture holding unhashable values: not kept
        return tuple((q, _kld(arch, q)) for q in quant_ladder(arch))


@lru_cache(maxsize=1024)
def _ladder_klds_cached(arch: Architecture) -> tuple[tuple[str, Figure], ...]:
    return tuple((q, _kld(arch, q)) for q in quant_ladder(arch))


def _kld(arch: Architecture, quant: str) -> Figure:
    """:func:`rigfit.catalog.native.kld_for_model`, kept per (architecture, quant): every ladder asks
    the same ~2,000 (a frozen Figure, shared)."""
    try:
        return _kld_cached(arch, quant)
    except TypeError:  # an Architecture holding unhashable values: not kept
        return kld_for_model(arch, quant)


@lru_cache(maxsize=8192)
def _kld_cached(arch: Architecture, quant: str) -> Figure:
    return kld_for_model(arch, quant)


class _ModelFacts:
    """What every quant of one model shares in its pick (worked out once per model and ladder)."""

    __slots__ = ("arch", "made", "n_eff", "other", "released", "tier", "tier_src", "total_params")

    def __init__(self, arch: Architecture, u: Use) -> None:
        self.arch = arch
        self.n_eff = effective_params(arch)
        self.made, self.other = is_made_for(arch, u), is_made_for_other_use(arch, u)
        self.tier, self.tier_src = capability_tier(arch)
        self.released = release_sort_key(arch.id)
        self.total_params = float(arch.total_params or self.n_eff)


def _scored(m: _ModelFacts, q: str, kld: Figure, f: _Filters) -> tuple[float, bool, Evaluation] | None:
    """(score, comfortable, evaluation) of one quant, or None (counted in ``f.rejected``) when a
    filter rejects it."""
    arch = m.arch
    try:
        ev = screen(f.machine, arch, q, f.ctx, users=f.users, turn_tokens=f.use.turn_tokens)
    except RigfitError:
        f.rejected["not plannable"] += 1
        return None
    if ev is None or not ev.runs_in_fast_memory or ev.capacity_bytes is None:
        f.rejected["too big"] += 1
        return None
    tps = ev.decode_tps.value if ev.decode_tps and ev.decode_tps.known else None
    if tps is None or tps < f.floor_tps:
        f.rejected["too slow"] += 1
        return None
    u = f.use
    tight = ev.fit == Verdict.TIGHT
    s = score(
        m.n_eff,
        float(kld.value or 0.0),
        tps,
        u.comfortable_tps,
        m.made,
        tight=tight,
        other_use=m.other,
    )
    return s, not tight and tps >= u.comfortable_tps, ev


def _new_pick(
    m: _ModelFacts, q: str, kld: Figure, f: _Filters, s: float, comfy: bool, ev: Evaluation
) -> Pick:
    arch = m.arch
    pick = Pick(
        arch.id, arch.name or arch.id, q, f.ctx, s, m.n_eff, m.tier, m.tier_src, kld, ev, comfy, m.made
    )
    pick.made_for_other_use = m.other
    pick.released = m.released
    pick.total_params = m.total_params
    return pick


def rank_key(p: Pick) -> tuple[float, str, float]:
    """Sort key of the table before near ties are settled: score, then the newer model, then the
    larger."""
    return (-round(p.score, 6), _neg_date(p.released), -p.effective_params)


def order_picks(picks: list[Pick]) -> list[Pick]:
    """The table's order: by :func:`rank_key`, then a newer model moves above an older neighbour
    whose score is less than :data:`SCORE_TIE` higher (repeated until nothing moves)."""
    out = sorted(picks, key=rank_key)
    for _ in range(len(out)):
        moved = False
        for i in range(len(out) - 1):
            a, b = out[i], out[i + 1]
            if a.score - b.score < SCORE_TIE and b.released > a.released:
                out[i], out[i + 1] = b, a
                moved = True
        if not moved:
            break
    return out


def _shown_rows(picks: list[Pick], limit: int | None, named: tuple[Pick | None, ...]) -> list[Pick]:
    """The table's rows: the first ``limit`` picks, plus the named picks (sweet spot, largest
    comfortable) where they rank lower, so that every pick the text names is a row of the table."""
    if not limit:
        return picks
    keep = {id(p) for p in picks[:limit]} | {id(p) for p in named if p is not None}
    return [p for p in picks if id(p) in keep]


def near_tie(a: Pick, b: Pick) -> bool:
    """Whether two picks' scores count as equal (within :data:`SCORE_TIE`)."""
    return abs(a.score - b.score) < SCORE_TIE


def _neg_date(date: str) -> str:
    """A key that sorts newer dates first (unknown last)."""
    return "".join(chr(0x10FFFF - ord(c)) for c in date) if date else "\U0010ffff"


def _max_ctx(machine: Machine, p: Pick) -> int | None:
    e = p.evaluation
    if e.experts_offload:
        return max_context_for(machine, p.model_id, p.quant, e.n_cpu_moe, near=p.ctx)
    return max_context_for(machine, p.model_id, p.quant, near=p.ctx)


def _named_picks(picks: list[Pick], u: Use, ctx: int) -> tuple[Pick | None, Pick | None, str, str]:
    """(sweet spot, largest comfortable, why, why) over the sorted rows — see the module docstring."""
    comfy = [p for p in picks if p.comfortable]
    if comfy:
        sweet = comfy[0]  # rows are sorted: the first comfortable row has the highest score
        named = [p for p in comfy if not p.made_for_other_use] or comfy
        top = max(p.total_params for p in named)
        near = [p for p in named if p.total_params >= SIZE_TIE_RATIO * top]
        largest = min(near, key=lambda p: (_neg_date(p.released), -p.score))
        sweet_why = (
            f"highest score among comfortable picks: {sweet.tier} model, "
            f"{_fmt_tps(sweet)} at {ctx:,} context, KLD {sweet.kld.value:.3f} vs F16"
            f"{_where(sweet)}"
        )
        largest_why = (
            f"most parameters ({largest.total_params / 1e9:.1f} B in total"
            + (f", {largest.effective_params / 1e9:.1f} B effective" if _is_moe(largest) else "")
            + f") that keeps memory to spare and decodes ≥ {u.comfortable_tps:g} tok/s "
            f"({_fmt_tps(largest)}){_where(largest)}"
            + (f"; newest of the picks within 10 % of {top / 1e9:.1f} B" if len(near) > 1 else "")
        )
        return sweet, largest, sweet_why, largest_why
    if picks:
        why = (
            f"nothing runs comfortably (memory to spare and ≥ {u.comfortable_tps:g} "
            "tok/s); this is the top-ranked pick that meets the filters"
        )
        return picks[0], picks[0], why, why
    why = "no model meets the filters on this machine"
    return None, None, why, why


def _is_moe(p: Pick) -> bool:
    return p.effective_params < 0.99 * p.total_params


def _where(p: Pick) -> str:
    e = p.evaluation
    if e.experts_offload:
        return f", routed experts of {e.experts_in_ram} layers in RAM (--n-cpu-moe {e.n_cpu_moe})"
    return ""


def _comfy_around(rows: list[Pick]) -> list[tuple[bool, bool]]:
    """Per row: (whether a comfortable row is above it, whether one is below it)."""
    at = [i for i, p in enumerate(rows) if p.comfortable]
    if not at:
        return [(False, False)] * len(rows)
    return [(at[0] < i, at[-1] > i) for i in range(len(rows))]


def _reason(
    rank: int, p: Pick, rows: list[Pick], u: Use, comfy_around: tuple[bool, bool] | None = None
) -> str:
    """One line: why this row is where it is (what it is, how it runs, what it gave up).
    ``comfy_around``: whether a comfortable row is above it, below it (else looked up in ``rows``)."""
    e = p.evaluation
    size = f"{p.total_params / 1e9:.0f}B"
    if _is_moe(p):
        size += f" MoE ({p.effective_params / 1e9:.1f}B effective)"
    kld = f"KLD {p.kld.value:.3f}"
    if p.kld.provenance == "looked_up" and p.kld.value:  # the model's own published scoreboard
        kld += f", looked up: {board_label(p.kld.source or '')}"
    parts = [f"{size} at {p.quant} ({kld})", f"{_fmt_tps(p)} at {p.ctx:,} context"]
    if e.experts_offload:
        parts.append(f"experts of {e.experts_in_ram} layers in RAM ({e.ram_bytes / 2**30:.1f} GiB)")
    if e.fit == Verdict.TIGHT:
        parts.append("tight: under 1 GiB free")
    elif not p.comfortable:
        parts.append(f"below the comfortable {u.comfortable_tps:g} tok/s")
    if p.made_for_use:
        parts.append(f"made for {u.name}")
    if p.made_for_other_use:
        parts.append("a code model, ranked down for " + u.name)
    if p.released:
        parts.append(f"released {p.released}")
    if comfy_around is None:
        comfy_around = any(r.comfortable for r in rows[: rank - 1]), any(r.comfortable for r in rows[rank:])
    if not p.comfortable and not comfy_around[0] and comfy_around[1]:
        parts.append("scores higher than the sweet spot below it, but is not comfortable")
    if rank > 1 and near_tie(rows[rank - 2], p):
        parts.append("ties with the row above on score (within 0.05); older or smaller")
    return "; ".join(parts)


def _fmt_tps(p: Pick) -> str:
    return f"{p.decode_tps:.0f} tok/s" if p.decode_tps else "speed unknown"


def _why(p: Pick, u: Use) -> list[str]:
    e = p.evaluation
    out = [
        f"{p.tier} ({p.effective_params / 1e9:.1f} B effective)",
        f"quality loss KLD {p.kld.value:.3f} ({p.kld.provenance})",
        f"{_fmt_tps(p)} decode at {p.ctx:,} context ({e.fit})",
    ]
    if e.max_ctx:
        out.append(f"context fits up to {e.max_ctx:,} tokens")
    if p.made_for_use:
        out.append(f"made for {u.name}")
    return out
