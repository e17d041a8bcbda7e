"""Recommend's uses (chat, code, agents, long-context: context, speed floor, comfortable speed) and
what it reads of a model's architecture to rank it: its effective size, size class and whether it
is made for a use. Re-exported by :mod:`rigfit.recommend` (see its docstring for the ranking rule)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError


@dataclass(frozen=True)
class Use:
    """A use case: its context [tokens], speed floor and comfortable speed [tok/s].

    turn_tokens: new tokens per turn when the engine caches the prompt (llama-server
    ``cache_prompt``): TTFT prefills only those, at the depth of the context [tokens]; None = the
    whole prompt (``PROMPT_TOKENS``) from an empty cache.
    """

    name: str
    ctx: int
    min_tps: float
    comfortable_tps: float
    description: str
    turn_tokens: int | None = None


USES: dict[str, Use] = {
    "chat": Use("chat", 8192, 10.0, 20.0, "conversation: reading speed matters, 8K context"),
    "code": Use("code", 16384, 15.0, 25.0, "coding assistant: files in context, fast edits"),
    # agents: rigfit's use definition (not a measured figure): a 64K working context kept in the
    # prompt cache, each turn adding a tool result / instruction of about 2K tokens
    "agents": Use(
        "agents", 65536, 15.0, 30.0, "tool-using agents: 64K context, prompt caching, many turns", 2048
    ),
    "long-context": Use("long-context", 65536, 5.0, 10.0, "long documents / RAG: context first"),
}


def resolve_use(name: str) -> Use:
    key = name.strip().lower().replace("_", "-")
    if key in ("long", "rag", "long-ctx", "longcontext"):
        key = "long-context"
    if key not in USES:
        raise RigfitError(f"Unknown use {name!r}.", "Use one of: " + ", ".join(USES) + ".")
    return USES[key]


def effective_params(arch: Architecture) -> float:
    """Dense-equivalent parameters [count]: total for dense, √(total × active) for MoE."""
    total = float(arch.total_params or 0)
    active = float(arch.active_params or total)
    if arch.moe is not None and active and total:
        return math.sqrt(total * active)
    return total


_TIERS = (
    (200e9, "frontier-class"),
    (65e9, "xl"),
    (20e9, "large"),
    (10e9, "mid"),
    (3e9, "small"),
    (0, "tiny"),
)


def capability_tier(arch: Architecture) -> tuple[str, str]:
    """(tier, source) — a size class by effective parameters."""
    p = effective_params(arch)
    tier = next(name for lim, name in _TIERS if p >= lim * 0.95)
    how = "√(total×active) for MoE" if arch.moe is not None else "parameter count"
    return tier, f"rigfit size class by effective parameters ({how} = {p / 1e9:.1f} B), not a benchmark"


def is_code_model(arch: Architecture) -> bool:
    """Whether the model is a code specialist (by its name: Coder, Codestral, Devstral)."""
    text = f"{arch.id} {arch.name}".lower()
    return "coder" in text or "codestral" in text or "devstral" in text


def is_made_for(arch: Architecture, use: Use) -> bool:
    return use.name == "code" and is_code_model(arch)


def is_made_for_other_use(arch: Architecture, use: Use) -> bool:
    """A code specialist recommended for anything but code."""
    return use.name != "code" and is_code_model(arch)
