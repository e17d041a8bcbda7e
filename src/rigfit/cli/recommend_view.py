"""What ``rigfit recommend`` does and prints: the ranked picks as a table and lines, or their JSON.

The Typer command (:mod:`rigfit.cli.recommend_cmd`) only declares the options and calls
:func:`run_recommend`; so does the fast path that runs a plain ``rigfit recommend`` without the CLI
framework (:func:`rigfit.cli._recommend_fast`). This module therefore imports neither Typer nor Click.
"""

from __future__ import annotations

from typing import Literal

from rich.markup import escape
from rich.table import Table

from rigfit.catalog.models import load_models
from rigfit.cli.consoles import console, err_console, print_json
from rigfit.cli.fit import fit_table
from rigfit.cli.progress import track
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import variant_assumptions
from rigfit.hardware.osreserve import apply_option
from rigfit.options import check_recommend
from rigfit.recommend import recommend as run
from rigfit.report.document import fmt_band


def run_recommend(
    *,
    on: str,
    use: str = "chat",
    min_ctx: int | None = None,
    min_tps: float | None = None,
    max_quality_loss: float | None = None,
    limit: int = 10,
    users: int = 1,
    reserve_ram: str | None = None,
    json_out: bool = False,
) -> None:
    """``rigfit recommend --on MACHINE …``: the options as :func:`rigfit.cli.recommend_cmd.recommend`
    takes them (same names, same defaults); prints the picks, or their JSON with ``json_out``."""
    check_recommend(limit, min_ctx, min_tps, max_quality_loss)
    machine = apply_option(resolve_machine(on), reserve_ram)
    for line in variant_assumptions(machine.accelerators):
        err_console.print(f"note: {escape(line)}", highlight=False, soft_wrap=True)
    rec = run(
        machine,
        use,
        min_ctx=min_ctx,
        min_tps=min_tps,
        max_quality_loss=max_quality_loss,
        limit=limit,
        users=users,
        models=track(load_models(), "planning catalog models"),
    )
    if json_out:
        print_json(rec.to_json())
        return
    t = Table(
        title=f"Recommended for {rec.use.name} on {machine.name} ({rec.ctx:,} context, "
        f"≥ {rec.min_tps:g} tok/s{' per user, ' + str(rec.users) + ' users' if rec.users > 1 else ''}, "
        f"KLD ≤ {rec.max_kld:g})"
    )
    t.caption = (
        "ranked by score (★ the best comfortable row); decode tok/s, GiB (+RAM) and max ctx "
        "estimated; KLD looked up (scaled by size)"
    )
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("#", "right"),
        ("model", "left"),
        ("quant", "left"),
        ("tier", "left"),
        ("decode tok/s", "right"),
        ("GiB", "right"),
        ("max ctx", "right"),
        ("KLD", "right"),
    )
    for col, just in columns:
        # a long model id wraps in a narrow terminal instead of being cut
        t.add_column(col, justify=just, overflow="fold" if col == "model" else "ellipsis")
    for p in rec.picks:
        e = p.evaluation
        mark = "★" if p is rec.sweet_spot else ("▲" if p is rec.largest_comfortable else "")
        t.add_row(
            f"{p.rank}{mark}",
            escape(p.model_id),
            p.quant,
            p.tier,
            fmt_band(e.decode_tps),
            _gib(e.memory_bytes, e.ram_bytes if e.experts_offload else 0.0),
            "—" if not e.max_ctx else f"{e.max_ctx:,}",
            f"{p.kld.value:.3f}",
        )
    console.print(
        fit_table(console, t, short_headers={"decode tok/s": "tok/s"}, drop=("tier", "max ctx", "GiB"))
    )
    for p in rec.picks:
        console.print(f"  {p.rank}. {escape(p.model_id)}: {escape(p.reason)}", highlight=False)
    if rec.sweet_spot is not None:
        console.print(
            f"★ sweet spot: [bold]{escape(rec.sweet_spot.model_name)} {rec.sweet_spot.quant}[/] — "
            f"{escape(rec.sweet_spot_why)}",
            highlight=False,
        )
    if rec.largest_comfortable is not None:
        lc = rec.largest_comfortable
        console.print(
            f"▲ largest that runs comfortably: [bold]{escape(lc.model_name)} {lc.quant}[/] — "
            f"{escape(rec.largest_why)}",
            highlight=False,
        )
    if not rec.picks:
        console.print(
            f"Nothing fits these filters on {machine.name}. Rejected: "
            + ", ".join(f"{k} {v}" for k, v in rec.rejected.items() if v),
            highlight=False,
        )
    if rec.ram_reserve is not None:
        r = rec.ram_reserve
        console.print(
            f"  host RAM: {r.bytes / 2**30:.2f} GiB kept for the OS ({escape(r.source)}; "
            "--reserve-ram to change)",
            highlight=False,
            style="dim",
        )
    console.print(
        "  KLD: mean KL divergence vs F16 in nats, the model's own published scoreboard where one "
        "lists the quant (looked up, named in the row), else llama.cpp's Llama-3-8B scoreboard "
        "scaled by size (estimated); tier: size class, not a benchmark; decode at the full context "
        "(p10–p90); --json has prefill, TTFT and the score.",
        highlight=False,
        style="dim",
    )


def _gib(fast_bytes: float | None, ram_bytes: float) -> str:
    """Memory of a row [GiB]: fast memory, plus what stays in RAM (experts in RAM) as "+N"."""
    if fast_bytes is None:
        return "—"
    return f"{fast_bytes / 2**30:.1f}" + (f"+{ram_bytes / 2**30:.0f}" if ram_bytes else "")
