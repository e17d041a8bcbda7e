"""Many users at once: batched decode, per-user and aggregate tok/s, TTFT under load, max users.

A server with continuous batching (llama-server ``-np N``, vLLM) decodes one token for every
active request in one step. One step at batch ``B`` costs (docs/research/perfmodel.md §0, the same
coefficients as single-stream decode, :mod:`rigfit.estimate.speed`):

    t_step(B) = max( t0 + W_B / (η·BW) + B · KV(d) / (η·BW),          memory
                     2 · B · P_active / (η_c · F) )                     compute

``W_B`` is the weights read once for the whole batch (MoE: the union of the experts the B tokens
route to), ``KV(d)`` one user's cache at depth ``d`` (every user reads its own), ``P_active`` the
parameters one token multiplies with and ``F`` the device's matmul peak. Then

    per-user tok/s   = 1 / t_step(B)
    aggregate tok/s  = B / t_step(B)

Aggregate throughput rises with B while the weight read dominates and flattens once the KV reads
(long contexts) or the arithmetic (large B, CPUs) take over. Depth ``d`` is the mean over a
request: prompt + output / 2 tokens.

Time to first token under load (two figures):

* ``ttft_s``: one request that arrives while the other B−1 users decode: its prompt is prefilled
  (llama.cpp puts the new prompt and the others' decode tokens in one batch) and one step decoded:
  ``P / pp + t_step(B)``;
* ``ttft_burst_s``: the last of B requests sent at the same moment: all prompts are prefilled
  first, ``B · P / pp + t_step(B)``.

Largest number of users: the largest ``N`` with per-user tok/s ≥ ``min_tps`` (speed), and the
number of requests of ``P + O`` tokens whose KV cache fits (memory: llama.cpp ``-np N -kvu`` with
the largest context that fits; vLLM: the KV pool in tokens over the request length, vLLM's own
"Maximum concurrency for X tokens per request" figure). Every speed figure is an estimate with the
calibrated p10–p90 band of single-stream decode (``rigfit.estimate.speed.band``), widened at B > 1
by the residuals of published ``llama-batched-bench`` results (:func:`batched_band`); its
provenance says so. ``benchmarks/batched_bench_accuracy.py`` and ``benchmarks/batched_decode.py``
check it against published and real llama.cpp runs. Known gap: on published NVIDIA GB10 runs,
dense models at B = 16–32 decode 15–40 % slower than this model says (about 0.5 ms more per extra
sequence and step; the cause is not modelled).

llama.cpp's CPU backend (every layer on the CPU, dense model) follows other rules: at B ≥ 2 most
K-quant matrices still run one ``vec_dot`` pass per sequence, while Q8_0/Q4_0/Q5_0/IQ4_NL/F16 go
through tinyBLAS GEMM and repacked Q4_0/Q4_K/IQ4_NL through a 4-column GEMM. There the step is
built from the calibrated single-stream decode step matrix by matrix
(:mod:`rigfit.estimate.cpu_batch`): at one user it is ``rigfit plan``'s decode figure and band.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rigfit.catalog.quant import resolve_kv_type
from rigfit.datafiles import read_text
from rigfit.errors import RigfitError
from rigfit.estimate.backends import normalise_backend
from rigfit.estimate.cpu_batch import StepParts, has_routed_experts, model_matrices, step_time
from rigfit.estimate.speed.coefficients import band, centre_in_band, decode_time, load_constants
from rigfit.estimate.speed.estimate import band_vendor, calibrated_figure, decode_tps, prefill_tps
from rigfit.estimate.speed.features import (
    RunSettings,
    decode_compute_time,
    decode_features,
    main_segment,
)
from rigfit.estimate.speed.layout import Layout, layout_from_placement, make_layout
from rigfit.estimate.speed.peaks import cpu_isa
from rigfit.estimate.speed.work import ModelWork, model_work
from rigfit.figures import Figure
from rigfit.hardware.devices import Machine

if TYPE_CHECKING:  # typing only: plantypes imports this module's result type
    from rigfit.plantypes import Plan

#: Provenance of every batched figure.
BATCH_SOURCE = (
    "rigfit batched-decode model: weights read once per step, KV per user, compute 2·B·params "
    "(speed constants calibrated on llama.cpp; band = single-stream decode p10–p90, widened at B > 1 "
    "by published llama-batched-bench residuals)"
)
#: Provenance of batched figures on llama.cpp's CPU backend (:mod:`rigfit.estimate.cpu_batch`).
CPU_BATCH_SOURCE = (
    "rigfit CPU batched-decode model: the calibrated single-stream decode step, each weight matrix "
    "costed by the kernel llama.cpp's CPU backend runs at batch B (vec_dot per column / tinyBLAS / "
    "repacked gemm), GEMM cost from the calibrated prefill model; band = single-stream decode and "
    "prefill p10–p90"
)
#: Share of a CPU step above which the per-user arithmetic (vec_dot passes, GEMM columns) is
#: called its limit: below it more users are nearly free, as the "weights" limit tells users.
CPU_COMPUTE_SHARE = 0.1
#: Prompt length whose calibrated prefill rate gives the CPU GEMM cost per parameter [tokens]
#: (llama-bench's default pp512, the test the prefill calibration rows mostly are).
GEMM_PROMPT = 512
#: vLLM: the same physics, with llama.cpp's calibrated efficiencies (vLLM's are not calibrated).
VLLM_SOURCE = (
    BATCH_SOURCE + "; vLLM: BF16 weights, efficiencies of llama.cpp's CUDA kernels (not calibrated on vLLM)"
)
#: Extra p10–p90 band of batched decode (B > 1): log residuals of the published
#: ``llama-batched-bench`` rows in data/ground-truth/batched_bench.csv, written by
#: ``benchmarks/batched_bench_accuracy.py --fit-band``.
BAND_FILE = "batched_band.json"
#: Exponent γ of the unique-expert share 1 − (1 − k/E)^(B^γ) for B tokens of B *different* users:
#: 1 = each request routes independently (uniform random top-k). The speed constants' γ (0.75)
#: describes one batch of related tokens; on the published batched-bench rows (MoE, B > 1) γ = 1
#: gives MdAPE 13 % against 21 % for 0.75 (benchmarks/batched_bench_accuracy.py).
INDEPENDENT_ROUTING_GAMMA = 1.0
#: Users tried when searching for the largest N (the search stops at the memory limit) [users].
MAX_USERS_SEARCH = 4096
#: The N shown in the users table [users].
CURVE_USERS = (1, 2, 4, 8, 16, 32, 64)


@lru_cache(maxsize=1)
def load_batched_band() -> dict:
    """The batched-decode band file (``{"p10": …, "p90": …, "n": …, "source": …}``)."""
    text = read_text("rigfit.catalog", "data", BAND_FILE)
    return json.loads(text)


def batched_band(
    C: dict, backend: str, per_user: float, users: int, split_mode: str = "layer"
) -> tuple[float, float]:
    """p10–p90 band of a per-user decode figure at ``users`` sequences [tok/s]: single-stream
    decode's band, widened for B > 1 by the residuals of published batched-bench results."""
    lo, hi = band(C, "tg", backend, per_user, split_mode)
    if users > 1:
        b = load_batched_band()
        lo = min(lo, per_user * math.exp(b["p10"]))
        hi = max(hi, per_user * math.exp(b["p90"]))
    return lo, hi


@dataclass(frozen=True)
class BatchedDecode:
    """Speed of ``users`` requests decoding together.

    per_user_tps / aggregate_tps: decode tok/s of one user / all users [tok/s].
    ttft_s: one request arriving while the others decode [s]; ttft_burst_s: the last of ``users``
    requests sent at once [s]. limit: what sets the step time ("weights", "kv", "compute",
    "overhead"). prompt_tokens / output_tokens: per request [tokens].
    """

    users: int
    prompt_tokens: int
    output_tokens: int
    per_user_tps: Figure
    aggregate_tps: Figure
    ttft_s: Figure
    ttft_burst_s: Figure
    limit: str

    def to_json(self) -> dict:
        return {
            "users": self.users,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "per_user_decode_tps": self.per_user_tps.to_json(),
            "aggregate_decode_tps": self.aggregate_tps.to_json(),
            "ttft_s": self.ttft_s.to_json(),
            "ttft_burst_s": self.ttft_burst_s.to_json(),
            "limit": self.limit,
        }


@dataclass(frozen=True)
class Concurrency:
    """What ``rigfit plan --users N`` answers.

    engine: "llama.cpp" | "vllm". at_users: the speed at the asked N. curve: the speed at
    1, 2, 4 … users (up to the memory limit). min_tps: the per-user floor [tok/s] (None: not asked).
    max_users_speed: largest N keeping the floor (None: no floor). max_users_memory: requests of
    prompt + output tokens whose KV cache fits at once (None: unknown). memory_how: how that
    number was found. notes: caveats.
    """

    engine: str
    at_users: BatchedDecode
    curve: tuple[BatchedDecode, ...]
    min_tps: float | None
    max_users_speed: int | None
    max_users_memory: int | None
    memory_how: str
    notes: tuple[str, ...] = ()

    @property
    def max_users(self) -> int | None:
        """The largest N that keeps the floor and fits in memory (None when neither is known)."""
        vals = [v for v in (self.max_users_speed, self.max_users_memory) if v is not None]
        return min(vals) if vals else None

    def to_json(self) -> dict:
        return {
            "engine": self.engine,
            "users": self.at_users.users,
            "at_users": self.at_users.to_json(),
            "curve": [b.to_json() for b in self.curve],
            "min_tps": self.min_tps,
            "max_users_speed": self.max_users_speed,
            "max_users_memory": self.max_users_memory,
            "max_users": self.max_users,
            "max_users_provenance": "estimated",
            "memory_how": self.memory_how,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Ctx:
    """What every batch size shares: the model's work, layout, machine, settings, constants."""

    work: ModelWork
    layout: Layout
    plan: Any
    settings: RunSettings
    C: dict
    source: str


def independent_users(C: dict) -> dict:
    """The speed constants with MoE routing of independent requests (:data:`INDEPENDENT_ROUTING_GAMMA`)."""
    return {**C, "moe": {**C.get("moe", {}), "batch_gamma": INDEPENDENT_ROUTING_GAMMA}}


def _context(plan: Plan, constants: dict | None, threads: int | None = None) -> _Ctx:
    C = independent_users(constants or load_constants())
    s = plan.settings
    work = model_work(plan.model)
    source = BATCH_SOURCE
    if plan.vllm is not None:  # vLLM serves the BF16 checkpoint: scale the tensor table's bytes
        # lazy: vllm imports plantypes, which imports this module
        from rigfit.estimate.vllm import weight_bytes_bf16

        work = work.scaled(weight_bytes_bf16(plan.model.arch) / max(work.total_bytes, 1.0))
        source = VLLM_SOURCE
    kv = s.kv_type_k if s.kv_type_k in ("f32", "f16", "bf16", "q8_0", "q4_0") else "f16"
    rs = RunSettings(
        backend=normalise_backend(None),
        threads=threads,
        ngl=None if plan.vllm is not None else plan.ngl,
        flash_attn=None if s.flash_attn == "auto" else s.flash_attn == "on",
        n_ubatch=s.n_ubatch,
        n_batch=s.n_batch,
        kv_type=resolve_kv_type(kv).name if plan.vllm is not None else s.kv_type_k,
        split_mode="tensor" if plan.vllm is not None and plan.vllm.tensor_parallel_size > 1 else "layer",
    )
    layout = None
    if plan.placement is not None:
        layout = layout_from_placement(work, plan.machine, plan.placement, rs.backend)
    if layout is None:
        layout = make_layout(work, plan.machine, rs.backend, rs.ngl, False, rs.split_mode)
    return _Ctx(work, layout, plan, rs, C, source)


def _limit(cx: _Ctx, depth: float, users: int) -> str:
    """What sets the step time at this batch: weights, KV reads, compute or per-step overhead."""
    f = decode_features(cx.work, cx.layout, cx.plan.machine, cx.settings, depth, 1, cx.C, users)
    t_w = decode_time(cx.C, {k: v for k, v in f.items() if k.endswith(":w")})
    t_kv = decode_time(cx.C, {k: v for k, v in f.items() if k.endswith(":kv")})
    t_0 = decode_time(cx.C, {k: v for k, v in f.items() if k.endswith((":t0", ":t0l"))})
    t_c = decode_compute_time(cx.work, cx.layout, cx.plan.machine, cx.settings, depth, cx.C, users)
    parts = {"weights": t_w, "kv": t_kv, "overhead": t_0}
    if t_c > sum(parts.values()):
        return "compute"
    return max(parts, key=lambda k: parts[k])


def _batched(cx: _Ctx, users: int, prompt: int, output: int) -> BatchedDecode:
    """Per-user and aggregate decode and TTFT with ``users`` requests in flight."""
    m, rs, C = cx.plan.machine, cx.settings, cx.C
    be = main_segment(cx.layout).backend
    split = cx.layout.split_mode
    source = cx.source
    cpu = cpu_batched(cx, users, prompt, output)
    if cpu is not None:
        per, lo, hi = cpu
        source = CPU_BATCH_SOURCE
    else:
        per, roof, _ = decode_tps(cx.work, cx.layout, m, rs, prompt, max(output, 1), C, batch=users)
        lo, hi = batched_band(C, be, per, users, split)
        lo, hi = min(lo, per), max(min(hi, roof), per)
    per_user = Figure(per, "tok/s", "estimated", source, lo, hi)
    agg = Figure(per * users, "tok/s", "estimated", source, lo * users, hi * users)
    pp, pp_roof, _ = prefill_tps(cx.work, cx.layout, m, rs, prompt, 0, C)
    pp_lo, pp_hi = band(C, "pp", be, pp, split)
    pp_lo, pp_hi = min(pp_lo, pp), max(min(pp_hi, pp_roof), pp)
    step, step_fast, step_slow = 1.0 / per, 1.0 / hi, 1.0 / lo
    ttft = Figure(
        prompt / pp + step,
        "s",
        "estimated",
        cx.source,
        prompt / pp_hi + step_fast,
        prompt / pp_lo + step_slow,
    )
    burst = Figure(
        users * prompt / pp + step,
        "s",
        "estimated",
        cx.source,
        users * prompt / pp_hi + step_fast,
        users * prompt / pp_lo + step_slow,
    )
    depth = prompt + output / 2.0
    limit = _limit(cx, depth, users) if cpu is None else _cpu_limit(cx, users, prompt, output)
    return BatchedDecode(users, prompt, output, per_user, agg, ttft, burst, limit)


def _cpu_model(cx: _Ctx) -> bool:
    """Whether the CPU batched-decode rules apply: every layer on llama.cpp's CPU backend, a
    dense model with a tensor table (MoE's MUL_MAT_ID is not covered by them)."""
    if cx.plan.vllm is not None or cx.layout.gpu_segments:
        return False
    tensors = getattr(cx.plan.model, "tensors", None)
    if not tensors:
        return False
    return not has_routed_experts(tensors)


def _cpu_inputs(cx: _Ctx, prompt: int, output: int) -> tuple[Figure, StepParts, Figure, float] | None:
    """What the CPU batched model starts from: the single-stream decode figure (as ``rigfit plan``
    computes it), the raw model's step split into weights / KV / fixed [s], the calibrated prefill
    figure [tok/s] and the parameters one prefilled token multiplies with."""
    if not _cpu_model(cx):
        return None
    m, rs, C, lay = cx.plan.machine, cx.settings, cx.C, cx.layout
    be, split, vendor = main_segment(lay).backend, lay.split_mode, band_vendor(lay)
    raw, roof, _ = decode_tps(cx.work, lay, m, rs, prompt, max(output, 1), C)
    tg = calibrated_figure(C, "tg", be, raw, roof, split, vendor)
    f = decode_features(cx.work, lay, m, rs, prompt, max(output, 1), C, 1)
    t_w = decode_time(C, {k: v for k, v in f.items() if k.endswith(":w")})
    t_kv = decode_time(C, {k: v for k, v in f.items() if k.endswith(":kv")})
    t_all = max(1.0 / raw, t_w + t_kv)
    parts = StepParts(t_w / t_all, t_kv / t_all, (t_all - t_w - t_kv) / t_all)  # shares of the step
    pp_raw, pp_roof, _ = prefill_tps(cx.work, lay, m, rs, GEMM_PROMPT, 0, C)
    pp_mid = float(centre_in_band(C, "pp", be, pp_raw, split, vendor))
    pp_lo, pp_hi = band(C, "pp", be, pp_raw, split, vendor)
    pp = Figure(min(pp_mid, pp_roof), "tok/s", "estimated", "", min(pp_lo, pp_mid), max(pp_hi, pp_mid))
    params = sum(cx.work.layer_dense_params)
    return tg, parts, pp, params


def _cpu_step(
    cx: _Ctx,
    users: int,
    tg: float,
    parts: StepParts,
    pp: float,
    params: float,
    overlap: bool = False,
) -> tuple[float, dict]:
    """One CPU decode step of ``users`` sequences [s] for a single-stream rate ``tg`` and a
    prefill rate ``pp`` [tok/s] (:func:`rigfit.estimate.cpu_batch.step_time`)."""
    t1 = 1.0 / tg
    scaled = StepParts(parts.weights * t1, parts.kv * t1, parts.fixed * t1)
    c_gemm = 1.0 / (pp * params) if pp > 0 and params > 0 else 0.0
    mats = model_matrices(cx.plan.model.tensors)
    isa = cpu_isa(main_segment(cx.layout).device)
    return step_time(scaled, mats, users, isa, c_gemm, overlap=overlap)


def cpu_batched(cx: _Ctx, users: int, prompt: int, output: int) -> tuple[float, float, float] | None:
    """Per-user decode tok/s of ``users`` sequences on llama.cpp's CPU backend with its p10–p90
    band (value, low, high), or None where the CPU rules do not apply. At one user it is exactly
    ``rigfit plan``'s single-stream decode figure; the slow end takes the slow ends of the
    single-stream decode and prefill bands together, the fast end their fast ends and a weight
    stream that hides the GEMM arithmetic (``overlap``)."""
    got = _cpu_inputs(cx, prompt, output)
    if got is None:
        return None
    tg, parts, pp, params = got
    assert tg.value is not None and pp.value is not None
    assert tg.low is not None and tg.high is not None and pp.low is not None and pp.high is not None
    t, _ = _cpu_step(cx, users, tg.value, parts, pp.value, params)
    t_slow, _ = _cpu_step(cx, users, tg.low, parts, pp.low, params)
    t_fast, _ = _cpu_step(cx, users, tg.high, parts, pp.high, params, overlap=True)
    return 1.0 / t, 1.0 / t_slow, 1.0 / t_fast


def _cpu_limit(cx: _Ctx, users: int, prompt: int, output: int) -> str:
    """What sets a CPU step: "weights" (matrices read once), "compute" (per-column kernels or
    GEMM arithmetic), "kv" or "overhead"."""
    got = _cpu_inputs(cx, prompt, output)
    assert got is not None
    tg, parts, pp, params = got
    assert tg.value is not None and pp.value is not None
    _t, by_kernel = _cpu_step(cx, users, tg.value, parts, pp.value, params)
    t1 = 1.0 / tg.value
    w = sum(by_kernel.values())
    shares = {"overhead": parts.fixed * t1, "kv": users * parts.kv * t1}
    shares["weights"] = min(w, parts.weights * t1)
    extra = w - shares["weights"]  # beyond one pass over the weights: per-user arithmetic
    if extra > CPU_COMPUTE_SHARE * (extra + sum(shares.values())):
        return "compute"  # each further user costs a noticeable share of the step
    return max(shares, key=lambda k: shares[k])


def batched_decode(
    plan: Plan,
    *,
    users: int,
    prompt_tokens: int,
    output_tokens: int,
    threads: int | None = None,
    constants: dict | None = None,
) -> BatchedDecode:
    """Speed of ``users`` requests of ``prompt_tokens`` + ``output_tokens`` decoding together on
    the plan's machine and placement (llama.cpp or vLLM plan; ``threads``: CPU threads, None =
    physical cores) [tok/s, s]."""
    if users < 1:
        raise RigfitError(f"--users must be ≥ 1, got {users}.", "e.g. --users 4")
    return _batched(_context(plan, constants, threads), users, prompt_tokens, output_tokens)


def batched_tps(
    work: ModelWork,
    machine: Machine,
    *,
    backend: str | None,
    users: int,
    depth: int,
    n_tokens: int,
    flash_attn: bool | None = None,
    n_ubatch: int = 512,
    kv_type: str = "f16",
    constants: dict | None = None,
) -> tuple[float, float, float]:
    """Per-user decode tok/s of ``users`` sequences decoding ``n_tokens`` each from ``depth``,
    every layer on the accelerators (llama.cpp's default layout), with its p10–p90 band:
    (value, low, high) [tok/s]. Multiply by ``users`` for the aggregate (``S_TG`` of
    ``llama-batched-bench``)."""
    C = independent_users(constants or load_constants())
    rs = RunSettings(
        backend=normalise_backend(backend), flash_attn=flash_attn, n_ubatch=n_ubatch, kv_type=kv_type
    )
    layout = make_layout(work, machine, rs.backend)
    per, roof, _ = decode_tps(work, layout, machine, rs, depth, max(n_tokens, 1), C, batch=users)
    lo, hi = batched_band(C, main_segment(layout).backend, per, users, layout.split_mode)
    return per, min(lo, per), max(min(hi, roof), per)


def max_users_for_speed(cx: _Ctx, min_tps: float, prompt: int, output: int, cap: int) -> int:
    """Largest N ≤ ``cap`` whose per-user decode is at least ``min_tps`` [users]; 0 if even one
    user is slower. Per-user speed falls with N, so a doubling then bisection search is exact."""

    def ok(n: int) -> bool:
        cpu = cpu_batched(cx, n, prompt, output)
        if cpu is not None:
            return cpu[0] >= min_tps
        per, _, _ = decode_tps(
            cx.work, cx.layout, cx.plan.machine, cx.settings, prompt, max(output, 1), cx.C, n
        )
        return per >= min_tps

    if cap < 1 or not ok(1):
        return 0
    lo, hi = 1, 2
    while hi <= cap and ok(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, cap + 1)  # ok(lo) holds; ok(hi) fails or hi is past the cap
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def max_users_for_memory(plan: Plan, request_tokens: int) -> tuple[int | None, str]:
    """Requests of ``request_tokens`` whose KV cache fits at once, and how it was found."""
    if request_tokens < 1:
        return None, "unknown"
    if plan.vllm is not None:
        v = plan.vllm
        n = v.kv_cache_tokens // request_tokens
        return n, (
            f"vLLM KV pool {v.kv_cache_tokens:,} tokens / {request_tokens:,} tokens per request "
            f"(vLLM logs 'Maximum concurrency for {plan.n_ctx:,} tokens per request: "
            f"{v.kv_cache_tokens / max(plan.n_ctx, 1):.2f}x')"
        )
    if plan.hosted is not None:
        return None, "hosted system: the provider batches"
    # lazy: rigfit.plan imports this module for its --users hook
    from rigfit.plan import max_context

    s = replace(plan.settings, kv_unified=True, n_ctx=None)
    ngl = None if plan.ngl > plan.model.arch.n_layer else plan.ngl
    s = replace(s, ngl=ngl)
    best = max_context(plan.model, plan.machine, s, allow_tight=True, limit=MAX_USERS_SEARCH * request_tokens)
    return best // request_tokens, (
        f"llama.cpp -kvu: the largest shared context that fits ({best:,} tokens) / {request_tokens:,} "
        "tokens per request"
    )


def concurrency(
    plan: Plan,
    *,
    users: int,
    prompt_tokens: int,
    output_tokens: int,
    min_tps: float | None = None,
    constants: dict | None = None,
) -> Concurrency:
    """Everything ``rigfit plan --users N [--min-tps F]`` shows (llama.cpp or vLLM plan)."""
    if users < 1:
        raise RigfitError(f"--users must be ≥ 1, got {users}.", "e.g. --users 4")
    if min_tps is not None and min_tps <= 0:
        raise RigfitError(f"--min-tps must be positive, got {min_tps:g}.", "e.g. --min-tps 10")
    cx = _context(plan, constants)
    req = prompt_tokens + output_tokens
    n_mem, how = max_users_for_memory(plan, req)
    at = _batched(cx, users, prompt_tokens, output_tokens)
    cap = max(users, *(n for n in CURVE_USERS if n_mem is None or n <= n_mem))
    curve = tuple(_batched(cx, n, prompt_tokens, output_tokens) for n in CURVE_USERS if n <= cap)
    n_speed = None
    if min_tps is not None:
        n_speed = max_users_for_speed(cx, min_tps, prompt_tokens, output_tokens, n_mem or MAX_USERS_SEARCH)
    notes: list[str] = []
    s = plan.settings
    if plan.vllm is None and plan.hosted is None:
        slot = plan.n_ctx if s.kv_unified else plan.n_ctx // max(s.n_parallel, 1)
        if s.n_parallel < users:
            notes.append(
                f"-np {s.n_parallel} slots for {users} users: the others wait in llama-server's queue "
                f"(use -np {users})."
            )
        if slot < req:
            notes.append(
                f"each slot holds {slot:,} tokens, less than a request's {req:,} (prompt + output): "
                f"use -c {users * req} -np {users}, or -kvu to share the cache."
            )
    if _cpu_model(cx) and users > 1:
        notes.append(
            "CPU backend: each weight matrix is costed by the kernel llama.cpp runs at this batch "
            "(K-quants other than repacked Q4_K: one vec_dot pass per user; Q8_0/Q4_0/Q5_0/IQ4_NL/F16: "
            "tinyBLAS GEMM; repacked Q4_0/Q4_K/IQ4_NL: GEMM from 4 users), so batching gains less than "
            "on a GPU; GEMM speed from the calibrated prefill model (rigfit.estimate.cpu_batch)."
        )
    if n_mem is not None and users > n_mem:
        notes.append(f"{users} requests of {req:,} tokens do not fit in memory at once (at most {n_mem}).")
    return Concurrency(
        engine="vllm" if plan.vllm is not None else "llama.cpp",
        at_users=at,
        curve=curve,
        min_tps=min_tps,
        max_users_speed=n_speed,
        max_users_memory=n_mem,
        memory_how=how,
        notes=tuple(notes),
    )


#: Granularity a ``--users`` default context is rounded up to [tokens]: rigfit's context step
#: (the same multiples of 256 that ``rigfit.plan.max_context`` searches).
CTX_STEP = 256


def concurrency_of(plan: Plan) -> Concurrency | None:
    """``--users N`` on a plan (the hook ``rigfit.plan.make_plan`` calls): :func:`concurrency`
    with the plan's settings; None with a plan note when the speed model cannot say."""
    # lazy: plantypes imports this module for its Concurrency type
    from rigfit.plantypes import Note, NoteCode

    s = plan.settings
    try:
        return concurrency(
            plan,
            users=max(s.users, 1),
            prompt_tokens=s.prompt_tokens,
            output_tokens=s.output_tokens,
            min_tps=s.min_tps,
        )
    except RigfitError as exc:
        plan.notes.append(Note(NoteCode.ENGINE, f"concurrency estimate unavailable: {exc.message}"))
    except Exception as exc:  # the speed model must never break a memory plan
        plan.notes.append(Note(NoteCode.ENGINE, f"concurrency estimate failed: {type(exc).__name__}: {exc}"))
    return None


def check_users(
    users: int,
    output: int,
    min_tps: float | None,
    parallel: int,
    ctx: int | None,
    prompt: int,
    slots: bool = True,
) -> tuple[int, int, float | None, int, int | None]:
    """Check ``--users`` / ``--output`` / ``--min-tps`` and derive llama-server's slots and context.

    With ``slots`` (llama.cpp), ``--users N`` without ``--parallel`` runs ``-np N`` and, without
    ``--ctx``, a context that holds N requests of prompt + output tokens (rounded up to 256);
    vLLM (``slots`` False) keeps its own max_model_len and pool. Returns (users, output, min_tps,
    parallel, ctx)."""
    if users < 0:
        raise RigfitError(f"--users must be ≥ 1, got {users}.", "e.g. --users 4")
    if output < 1:
        raise RigfitError(f"--output must be ≥ 1 token, got {output}.", "e.g. --output 512")
    if min_tps is not None and (min_tps <= 0 or not math.isfinite(min_tps)):
        raise RigfitError(f"--min-tps must be positive, got {min_tps:g}.", "e.g. --min-tps 10")
    if users > MAX_USERS_SEARCH:
        raise RigfitError(f"--users must be at most {MAX_USERS_SEARCH}, got {users}.")
    if not slots:
        return users, output, min_tps, parallel, ctx
    if users > 1 and parallel == 1:
        parallel = users
    if users > 1 and ctx is None:
        need = users * (prompt + output)
        ctx = -(-need // CTX_STEP) * CTX_STEP
    return users, output, min_tps, parallel, ctx


def cached_turn_ttft(plan: Plan, *, new_tokens: int, depth: int, users: int = 1) -> Figure:
    """Time to first token of one turn with prompt caching [s]: llama-server keeps the slot's
    cache (``cache_prompt``), so only the turn's ``new_tokens`` are prefilled, attending to the
    ``depth`` tokens already cached, then one decode step with ``users`` in flight."""
    cx = _context(plan, None)
    m, rs, C = plan.machine, cx.settings, cx.C
    be = main_segment(cx.layout).backend
    new_tokens = max(int(new_tokens), 1)
    pp, pp_roof, _ = prefill_tps(cx.work, cx.layout, m, rs, new_tokens, max(int(depth), 0), C)
    pp_lo, pp_hi = band(C, "pp", be, pp, cx.layout.split_mode)
    pp_lo, pp_hi = min(pp_lo, pp), max(min(pp_hi, pp_roof), pp)
    cpu = cpu_batched(cx, max(users, 1), depth + new_tokens, 1)
    if cpu is not None:
        per, lo, hi = cpu
    else:
        per, roof, _ = decode_tps(cx.work, cx.layout, m, rs, depth + new_tokens, 1, C, batch=max(users, 1))
        lo, hi = batched_band(C, be, per, users, cx.layout.split_mode)
        lo, hi = min(lo, per), max(min(hi, roof), per)
    return Figure(
        new_tokens / pp + 1.0 / per,
        "s",
        "estimated",
        cx.source + f"; prompt caching: {new_tokens:,} new tokens prefilled at depth {depth:,}",
        new_tokens / pp_hi + 1.0 / hi,
        new_tokens / pp_lo + 1.0 / lo,
    )
