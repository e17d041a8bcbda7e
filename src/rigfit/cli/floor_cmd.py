"""``rigfit floor``: the cheapest catalog hardware that runs a model at a speed."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.cli.price_notes import PriceNotes
from rigfit.cli.progress import track
from rigfit.report.document import fmt_band


@app.command()
def floor(
    model: str = typer.Argument(..., help="Model id or name, e.g. llama-3.1-70b."),
    quant: str = typer.Option(
        None, "--quant", help="llama.cpp file type (default Q4_K_M; MXFP4 for gpt-oss)."
    ),
    ctx: int = typer.Option(8192, "--ctx", help="Context to plan for \\[tokens]."),
    min_tps: float = typer.Option(10.0, "--min-tps", help="Decode speed to reach \\[tok/s]."),
    budget_usd: float = typer.Option(None, "--budget-usd", help="Also list what fits within this budget."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Hardware floor: the cheapest catalog machines that run MODEL at --min-tps with --ctx context.

    Examples:

      rigfit floor llama-3.1-70b --quant Q4_K_M --ctx 8192 --min-tps 10

      rigfit floor qwen2.5-32b --min-tps 20 --budget-usd 2000 --json
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.catalog.models import resolve_model
    from rigfit.floor import candidate_machines, hardware_floor
    from rigfit.options import check_floor, floor_quant

    check_floor(ctx, min_tps, budget_usd)
    arch = resolve_model(model)
    q = floor_quant(arch, quant, ctx)
    machines = track(candidate_machines(), "sizing catalog machines")
    res = hardware_floor(arch, q, ctx, min_tps, budget_usd, machines=machines)
    if json_out:
        print_json(res.to_json())
        return

    footnotes: list[str] = []  # one per distinct machine price: the sum of its parts
    notes = PriceNotes()

    def table(title: str, opts) -> Table:
        t = Table(
            title=title,
            caption=(
                "price looked up or estimated (status and sources below); decode, fit and memory estimated"
            ),
        )
        for col, just in (
            ("machine", "left"),
            ("kind", "left"),
            ("price", "right"),
            ("decode tok/s", "right"),
            ("fit", "left"),
            ("GiB", "right"),
        ):
            t.add_column(col, justify=just)
        for o in opts:
            e = o.evaluation
            hosted = o.category == "hosted"
            price = "no list price" if o.price.usd is None else f"${o.price.usd:,.0f}"
            if o.price.usd is not None:
                label = o.price.basis.partition(":")[0]
                note = f"{label} = {notes.add_machine(o.machine) or o.price.basis}"
                if note not in footnotes:
                    footnotes.append(note)
                price += f" [{footnotes.index(note) + 1}]"
            mem = "—" if e.memory_bytes is None or hosted else f"{e.memory_bytes / 2**30:.1f}"
            t.add_row(
                escape(o.machine.name),
                o.category,
                escape(price),
                fmt_band(e.decode_tps, 1),
                _hosted_fit(e) if hosted else e.fit_label,
                mem,
            )
        return fit_table(console, t, short_headers={"decode tok/s": "tok/s"}, drop=("kind", "GiB"))

    head = f"{arch.name or arch.id} {q}, {ctx:,} context, ≥ {min_tps:g} tok/s"
    if res.options:
        console.print(table(f"Cheapest hardware for {head}", res.options))
    else:
        console.print(f"No purchasable catalog machine runs {head}.", highlight=False)
    if budget_usd is not None:
        if res.within_budget:
            console.print(table(f"Within ${budget_usd:,.0f}, fastest first", res.within_budget))
        else:
            console.print(f"Nothing within ${budget_usd:,.0f} reaches {min_tps:g} tok/s.", highlight=False)
    if res.hosted:
        console.print(table("Hosted systems (rented per token; no list price)", res.hosted))
    for i, note in enumerate(footnotes, start=1):
        console.print(f"  [{i}] {escape(note)}", highlight=False, style="dim")
    for line in notes.lines():
        console.print(f"  {escape(line)}", highlight=False, style="dim")
    for n in res.notes:
        console.print(f"  · {escape(n)}", highlight=False, style="dim")


def _hosted_fit(e) -> str:
    """'vendor-hosted', with the number of systems that hold the weights and KV when known."""
    n = getattr(e, "systems_needed", None)
    return f"vendor-hosted, {n:,} system{'s' if n != 1 else ''} (estimated)" if n else "vendor-hosted"
