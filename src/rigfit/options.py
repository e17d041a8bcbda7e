"""User options checked and turned into library inputs, shared by the CLI and ``rigfit serve``.

Each function raises :class:`rigfit.errors.RigfitError` (one line + a suggestion) for a value a user
can get wrong, so ``rigfit plan --ngl x`` and ``GET /api/plan?ngl=x`` answer with the same words.
Moved here from the command modules (``cli/plan_cmd.py``, ``recommend_cmd.py``, ``floor_cmd.py``,
``cost_cmd.py``) unchanged in behaviour.
"""

from __future__ import annotations

import difflib
import math

from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import filter_models, load_models
from rigfit.catalog.names import resolve_name
from rigfit.catalog.quant import default_file_type, resolve_file_type, resolve_kv_type
from rigfit.engines import get_engine
from rigfit.errors import RigfitError, UnknownNameError
from rigfit.estimate.concurrency import check_users
from rigfit.estimate.kvtypes import check_kv_types
from rigfit.inputs import check_ctx, check_os
from rigfit.plantypes import PlanSettings


def parse_split(text: str | None) -> tuple[float, ...] | None:
    """``--tensor-split`` text ('3,1' or '3/1') -> GPU shares (None when empty)."""
    if not text:
        return None
    try:
        shares = tuple(float(x) for x in text.replace("/", ",").split(",") if x.strip())
    except ValueError:
        raise RigfitError(f"--tensor-split must be numbers like 3,1; got {text[:40]!r}.") from None
    if not all(math.isfinite(s) and s >= 0 for s in shares):  # nan/inf slipped through (issue 18)
        raise RigfitError(f"--tensor-split shares must be finite and ≥ 0, like 3,1; got {text[:40]!r}.")
    return shares


def parse_ngl(text: str | None) -> int | None:
    """``--ngl`` text -> layers on the GPU(s); None for 'all' / 'auto' / -1 (every layer that fits)."""
    if text is None or text.lower() in ("all", "auto"):
        return None
    try:
        n = int(text)
    except ValueError:
        raise RigfitError(f"--ngl must be a number of layers or 'all', got {text!r}.") from None
    if n < -1:  # llama.cpp reads -1 as "all"; anything lower is a typo
        raise RigfitError(
            f"--ngl must be a number of layers ≥ 0 or 'all', got {n}.",
            "Leave --ngl out to put every layer that fits on the GPU(s).",
        )
    return None if n < 0 else n


def plan_settings(
    *,
    ctx: int | None = None,
    ngl: str | None = None,
    fa: str = "auto",
    kv_type: str = "f16",
    parallel: int = 1,
    kv_unified: bool = False,
    ubatch: int = 512,
    swa_full: bool = False,
    cpu_moe: bool = False,
    n_cpu_moe: int = 0,
    no_kv_offload: bool = False,
    tensor_split: str | None = None,
    runtime: str = "llama.cpp",
    llama_build: str | None = None,
    prompt: int = 512,
    gpu_util: float = 0.9,
    kv_type_k: str | None = None,
    kv_type_v: str | None = None,
    users: int = 0,
    output: int = 256,
    min_tps: float | None = None,
    os: str = "unknown",
) -> PlanSettings:
    """Check ``rigfit plan``'s options and build the planner's settings (units: tokens, fraction).

    ``kv_type_k`` / ``kv_type_v`` override ``kv_type`` for K / V (``-ctk`` / ``-ctv``); ``users``,
    ``output`` and ``min_tps`` ask for the concurrency section (estimate/concurrency.py)."""
    if fa not in ("auto", "on", "off"):
        raise RigfitError(f"--fa must be auto, on or off, got {fa!r}.")
    check_ctx(ctx)
    engine = get_engine(runtime, flag="--runtime")
    if prompt < 1:
        raise RigfitError(f"--prompt must be ≥ 1 token, got {prompt}.", "e.g. --prompt 2048")
    kv = resolve_kv_type(kv_type).name
    kv_k, kv_v = check_kv_types(kv_type_k or kv, kv_type_v or kv, fa)
    users, output, min_tps, parallel, ctx = check_users(
        users, output, min_tps, parallel, ctx, prompt, slots=engine.name == "llama.cpp"
    )
    check_ctx(ctx)
    os_name = check_os(os)
    settings = PlanSettings(
        n_ctx=ctx,
        ngl=parse_ngl(ngl),
        flash_attn=fa,
        kv_type_k=kv_k,
        kv_type_v=kv_v,
        n_parallel=parallel,
        kv_unified=kv_unified,
        n_ubatch=ubatch,
        swa_full=swa_full,
        cpu_moe=cpu_moe,
        n_cpu_moe=n_cpu_moe,
        no_kv_offload=no_kv_offload,
        tensor_split=parse_split(tensor_split),
        runtime=engine.name,
        llama_build=llama_build,
        prompt_tokens=prompt,
        gpu_memory_utilization=gpu_util,
        users=users,
        output_tokens=output,
        min_tps=min_tps,
        os=os_name,
    )
    engine.check(settings)
    return settings


def check_recommend(
    limit: int | None, min_ctx: int | None, min_tps: float | None, max_quality_loss: float | None
) -> None:
    """Check ``rigfit recommend``'s options (context [tokens], decode [tok/s], mean KLD [nats])."""
    if limit is not None and limit < 1:
        raise RigfitError("--limit must be at least 1.")
    check_ctx(min_ctx, flag="--min-ctx", minimum=256)
    if min_tps is not None and min_tps <= 0:
        raise RigfitError(
            f"--min-tps must be positive, got {min_tps:g}.", "Leave it out for the use's default."
        )
    if max_quality_loss is not None and max_quality_loss <= 0:
        raise RigfitError(
            f"--max-quality-loss must be positive (mean KLD, nats), got {max_quality_loss:g}.",
            "The default is 0.25; Q8_0 loses about 0.001, Q4_K_M about 0.03 at 8B.",
        )


def check_floor(ctx: int, min_tps: float, budget_usd: float | None) -> None:
    """Check ``rigfit floor``'s numbers (context [tokens], decode [tok/s], budget [USD])."""
    check_ctx(ctx, minimum=256)
    if min_tps <= 0:
        raise RigfitError("--min-tps must be positive.")
    if budget_usd is not None and budget_usd <= 0:
        raise RigfitError(f"--budget-usd must be positive, got {budget_usd:g}.")


def floor_quant(arch: Architecture, quant: str | None, ctx: int) -> str:
    """Check ``--ctx`` against the model; return the llama.cpp file type ``rigfit floor`` searches with."""
    if arch.n_ctx_train and ctx > arch.n_ctx_train:
        raise RigfitError(
            f"--ctx {ctx:,} is beyond {arch.name or arch.id}'s training context {arch.n_ctx_train:,}.",
            f"Use --ctx {arch.n_ctx_train} or less.",
        )
    # (estimate.cost.default_quant, without importing the cost model and the recommend ladder)
    return resolve_file_type(quant or default_file_type(arch.id)).name


def check_cost(
    *,
    hours_per_day: float | None,
    tokens_per_day: float | None,
    electricity: float,
    hardware_usd: float | None,
    amortize_months: float,
    hosted_monthly_usd: float | None,
    hosted: str | None,
) -> None:
    """Check ``rigfit cost``'s options (hours, tokens per day, USD/kWh, USD, months)."""
    if hosted_monthly_usd is not None and hosted:
        raise RigfitError("Give either --hosted-monthly-usd or --hosted, not both.")
    for name, v in (
        ("--hours-per-day", hours_per_day),
        ("--tokens-per-day", tokens_per_day),
        ("--electricity-usd-per-kwh", electricity),
        ("--amortize-months", amortize_months),
        ("--hardware-usd", hardware_usd),
        ("--hosted-monthly-usd", hosted_monthly_usd),
    ):
        if (v is not None and v < 0) or (name == "--amortize-months" and v == 0):
            raise RigfitError(f"{name} must be positive.")
    if hours_per_day is not None and hours_per_day > 24:
        raise RigfitError("--hours-per-day cannot exceed 24.")


def select_models(name: str | None, family: str | None, search: str | None) -> list[Architecture]:
    """``rigfit models [NAME] [--family F] [--search S]``: the catalog models asked for (an unknown
    family is an error with close names; a search that matches nothing is an empty list)."""
    if name:
        return [resolve_name(name)]  # catalog names, GGUF files, Ollama tags, LM Studio names
    selected = filter_models(family=family, search=search)
    if family and not selected:
        known = sorted({a.family for a in load_models()} | {a.arch for a in load_models()})
        raise UnknownNameError(
            "model family",
            family,
            difflib.get_close_matches(family.lower(), known, n=5, cutoff=0.4),
            hint="Families: " + ", ".join(sorted({a.family for a in load_models()})),
        )
    return selected
