"""``rigfit cost``: power, cost per token and break-even against a hosted bill."""

from __future__ import annotations

import typer
from rich.table import Table

from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.cli.price_notes import PriceNotes


@app.command()
def cost(
    model: str = typer.Argument(..., help="Model id or name, e.g. llama-3.1-8b."),
    on: str = typer.Option(..., "--on", help="Machine: a catalog name ('RTX 3060 12GB') or 'local'."),
    quant: str = typer.Option(
        None, "--quant", help="llama.cpp file type (default Q4_K_M; MXFP4 for gpt-oss)."
    ),
    hours_per_day: float = typer.Option(None, "--hours-per-day", help="Hours the machine is on per day."),
    tokens_per_day: float = typer.Option(None, "--tokens-per-day", help="Generated tokens per day."),
    electricity: float = typer.Option(
        0.17, "--electricity-usd-per-kwh", help="Electricity price \\[USD/kWh]."
    ),
    hardware_usd: float = typer.Option(
        None, "--hardware-usd", help="Purchase price \\[USD] (default: catalog)."
    ),
    amortize_months: float = typer.Option(
        36.0, "--amortize-months", help="Months to spread the hardware over."
    ),
    hosted_monthly_usd: float = typer.Option(
        None, "--hosted-monthly-usd", help="Monthly hosted bill the box would replace \\[USD]."
    ),
    hosted: str = typer.Option(
        None,
        "--hosted",
        help="Hosted model or provider to compare with "
        "(e.g. groq, gpt-5-mini); default: cheapest offer of the same model.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Wall power, cost per hour and per million tokens, and months to break even.

    Examples:

      rigfit cost llama-3.1-8b --on "RTX 3060 12GB" --hours-per-day 4

      rigfit cost qwen2.5-14b --on "RTX 3090" --tokens-per-day 2000000 --hosted-monthly-usd 60

      rigfit cost llama-3.3-70b --on "2x RTX 3090" --hosted groq --json
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.catalog.models import resolve_model
    from rigfit.estimate.cost import local_cost
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.hardware.power import ELECTRICITY_USD_PER_KWH
    from rigfit.options import check_cost

    check_cost(
        hours_per_day=hours_per_day,
        tokens_per_day=tokens_per_day,
        electricity=electricity,
        hardware_usd=hardware_usd,
        amortize_months=amortize_months,
        hosted_monthly_usd=hosted_monthly_usd,
        hosted=hosted,
    )
    arch = resolve_model(model)
    machine = resolve_machine(on)
    lc = local_cost(
        arch,
        machine,
        quant,
        hours_per_day=hours_per_day,
        tokens_per_day=tokens_per_day,
        usd_per_kwh=electricity,
        hardware_usd=hardware_usd,
        amortize_months=amortize_months,
        hosted_monthly_usd=hosted_monthly_usd,
        hosted=hosted,
    )
    if json_out:
        print_json(lc.to_json())
        return
    s = lc.summary
    d = lc.decode_tps
    band = f" (band {d.low:.0f}–{d.high:.0f})" if d.low is not None and d.high is not None else ""
    t = Table(title=f"{arch.name or arch.id} {lc.quant} on {machine.name}", show_header=True)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("how")
    t.add_row("decode speed", f"{d.value:.1f} tok/s", f"{d.provenance}{band}, {lc.ctx:,} context")
    t.add_row(
        "wall power while generating", f"{s.load_w:.0f} W", "estimated: TDP × utilisation + idle + rest"
    )
    t.add_row("wall power idle", f"{s.idle_w:.0f} W", "estimated")
    given = "input" if electricity != ELECTRICITY_USD_PER_KWH else "default: US average, EIA"
    t.add_row("electricity per hour", f"${s.cost_per_hour_usd:.3f}", f"at ${s.usd_per_kwh:.3f}/kWh ({given})")
    t.add_row("per million tokens (power only)", f"${s.usd_per_mtok_power:.3f}", "while generating")
    t.add_row(
        "tokens per day",
        f"{s.tokens_per_day:,.0f}",
        f"{s.busy_hours_per_day:.1f} h generating of {s.on_hours_per_day:.1f} h on",
    )
    t.add_row("electricity per month", f"${s.electricity_usd_per_month:.2f}", "incl. idle hours")
    if s.usd_per_mtok_amortised is not None:
        t.add_row(
            "per million tokens (with hardware)",
            f"${s.usd_per_mtok_amortised:.3f}",
            f"${s.hardware_usd:,.0f} over {s.amortize_months:g} months",
        )
    hardware_sources = None
    if s.hardware_usd is not None:
        # the breakdown goes in the table, the (long) sources below it
        breakdown, _, hardware_sources = (s.hardware_source or "").partition(". Sources: ")
        t.add_row("hardware", f"${s.hardware_usd:,.0f}", breakdown)
    if s.hosted_usd_per_month is not None:
        t.add_row(
            "hosted, same tokens",
            f"${s.hosted_usd_per_month:,.2f}/month",
            f"{s.hosted_label}: {s.hosted_source}",
        )
    if s.hosted_usd_per_mtok is not None:
        t.add_row("hosted per million tokens", f"${s.hosted_usd_per_mtok:.3f}", "output tokens only")
    be = (
        "never"
        if s.never_breaks_even
        else (f"{s.breakeven_months:.1f} months" if s.breakeven_months is not None else "—")
    )
    t.add_row("break-even", be, s.breakeven_reason)
    console.print(fit_table(console, t))
    notes = PriceNotes()
    if hardware_sources and notes.add_machine(machine) is not None:
        # each part's basis once, each source text once (the host and its RAM share one)
        console.print("  · hardware prices:", highlight=False)
        for line in notes.lines():
            console.print(f"    {line}", highlight=False)
    elif hardware_sources:
        console.print(f"  · hardware prices: {hardware_sources}", highlight=False)
    for line in (*lc.power_sources, *lc.notes, *s.notes):
        console.print(f"  · {line}", highlight=False)
