"""Render ``rigfit plan --users N`` (concurrency) and ``--kv-types`` (every KV cache type)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rigfit.cli.fit import fit_table
from rigfit.estimate.concurrency import BatchedDecode, Concurrency
from rigfit.estimate.kvtypes import KVTypeRow
from rigfit.figures import Figure
from rigfit.plantypes import Plan
from rigfit.units import GIB

_LIMIT_WORDS = {
    "weights": "reading the weights (more users are almost free)",
    "kv": "reading every user's KV cache (long contexts: more users slow each one)",
    "compute": "arithmetic (the batch is compute-bound: more users share a fixed throughput)",
    "overhead": "per-step overhead (kernel launches, synchronisation)",
}


def _fig(f: Figure | None, unit: str, fmt: str = "{:,.1f}") -> str:
    if f is None or f.value is None:
        return "unknown"
    out = fmt.format(f.value) + (f" {unit}" if unit else "")
    if f.low is not None and f.high is not None:
        out += f" ({fmt.format(f.low)}–{fmt.format(f.high)})"
    return out


def concurrency_lines(c: Concurrency) -> list[str]:
    """The concurrency section as text lines (estimated figures with their p10–p90 bands)."""
    a: BatchedDecode = c.at_users
    lines = [
        f"{a.users} users, {a.prompt_tokens:,}-token prompts, {a.output_tokens:,} output tokens each "
        f"({c.engine}, continuous batching):",
        f"  per user {_fig(a.per_user_tps, 'tok/s')}; all users {_fig(a.aggregate_tps, 'tok/s')}",
        f"  time to first token {_fig(a.ttft_s, 's', '{:.2f}')} while the others decode; "
        f"{_fig(a.ttft_burst_s, 's', '{:.2f}')} for the last of {a.users} sent at once",
        f"  limit: {_LIMIT_WORDS.get(a.limit, a.limit)}",
    ]
    if c.min_tps is not None:
        n = c.max_users_speed
        lines.append(
            f"Largest number of users at ≥ {c.min_tps:g} tok/s each: "
            + (f"{n:,}" if n else "none (one user is already slower)")
            + (" (memory, not speed, sets it)" if n and n == c.max_users_memory else "")
            + " (estimated)"
        )
    if c.max_users_memory is not None:
        lines.append(f"Requests that fit in memory at once: {c.max_users_memory:,} ({c.memory_how})")
    lines += [f"  • {n}" for n in c.notes]
    return lines


def render_concurrency(console: Console, c: Concurrency) -> None:
    """Print the concurrency section and the users table (estimated, p10–p90 bands)."""
    console.print("\n[bold]Concurrency[/] [dim](estimated, p10–p90 band)[/]")
    for line in concurrency_lines(c):
        console.print("  " + escape(line))
    t = Table(title="By number of users (estimated)", title_justify="left")
    for col in ("users", "per user tok/s", "all users tok/s", "TTFT s", "limit"):
        t.add_column(col, justify="left" if col == "limit" else "right")
    for b in c.curve:
        t.add_row(
            str(b.users),
            _fig(b.per_user_tps, ""),
            _fig(b.aggregate_tps, ""),
            f"{b.ttft_s.value:.2f}" if b.ttft_s.value is not None else "unknown",
            b.limit,
        )
    short = {"per user tok/s": "per user", "all users tok/s": "all users", "TTFT s": "TTFT"}
    console.print(fit_table(console, t, short_headers=short))


def render_kv_types(console: Console, p: Plan, rows: list[KVTypeRow]) -> None:
    """Print every KV cache type at the plan's context: bytes, decode, quality."""
    if rows and not any(r.kv_bytes for r in rows):  # a pure recurrent (SSM) model: nothing to quantize
        console.print(
            f"\nKV cache types: {p.model.arch.name or p.model.arch.id} has no KV cache (no attention "
            "layers): -ctk/-ctv change neither memory nor speed nor quality."
        )
        return
    t = Table(
        title=f"KV cache types at {p.n_ctx:,} tokens (K = V type; -ctk/-ctv may differ)",
        title_justify="left",
    )
    for col in ("type", "B/value", "KV GiB", "tok/s at ctx", "slowdown", "KLD vs f16", "FA"):
        t.add_column(col, justify="left" if col in ("type", "KLD vs f16") else "right")
    for r in rows:
        q = "reference" if r.kv_type == "f16" else "unknown"
        if r.quality is not None and r.quality.kld is not None:
            q = f"{r.quality.kld:.4f} pub."
        dec = r.decode_tps_ctx
        t.add_row(
            r.kv_type,
            f"{r.bytes_per_element:.3f}",
            f"{r.kv_bytes / GIB:.2f}",
            "unknown" if dec is None or dec.value is None else f"{dec.value:,.1f}",
            f"{r.slowdown:.2f}×" if r.slowdown else "unknown",
            q,
            "yes" if r.needs_fa else "",
        )
    short = {"B/value": "B/val", "tok/s at ctx": "tok/s", "KLD vs f16": "KLD"}
    console.print(fit_table(console, t, short_headers=short, drop=("B/value", "FA", "slowdown")))
    console.print(
        "  [dim]KV bytes: estimated by llama.cpp's allocation rules (exact GGML block sizes). tok/s at "
        "ctx: estimated decode at the context (bands as in Speed), from the bytes read: the "
        "dequantization cost of quantized types is not modelled. slowdown: decode at depth 0 / at "
        "the context. KLD vs f16: published (pub.) mean KL divergence, or unknown. FA: a quantized "
        "V cache needs flash attention (-fa on/auto). Quality sources: "
        + escape(", ".join(sorted({r.quality.source for r in rows if r.quality})) or "none")
        + "[/]"
    )
