"""``rigfit recommend``: ranked model × quant picks for a machine and a use.

This module declares the command's options for Typer; the work and the output are in
:mod:`rigfit.cli.recommend_view`.
"""

from __future__ import annotations

import typer

from rigfit.cli.app import app
from rigfit.cli.recommend_view import run_recommend
from rigfit.hardware.osreserve import RESERVE_HELP


@app.command()
def recommend(
    on: str = typer.Option(..., "--on", help="Machine: a catalog description or 'local'."),
    use: str = typer.Option("chat", "--use", help="chat | code | long-context | agents."),
    min_ctx: int = typer.Option(None, "--min-ctx", help="Context to plan for \\[tokens] (default: per use)."),
    min_tps: float = typer.Option(None, "--min-tps", help="Slowest acceptable decode \\[tok/s]."),
    max_quality_loss: float = typer.Option(
        None, "--max-quality-loss", help="Largest mean KL divergence vs F16, in nats (default 0.25)."
    ),
    limit: int = typer.Option(10, "--limit", help="How many picks to list."),
    users: int = typer.Option(1, "--users", help="Users at once (a team box): -np N, speeds per user."),
    reserve_ram: str = typer.Option(None, "--reserve-ram", help=RESERVE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Which model and quant to run: ranked picks that fit, with the sweet spot and the largest
    model that runs comfortably (ranking rule: see the README / rigfit.recommend).

    Examples:

      rigfit recommend --on "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"

      rigfit recommend --on "M3 Max 40-core 128GB" --use long-context --min-ctx 65536

      rigfit recommend --on local --use code --min-tps 20 --json

      rigfit recommend --on "2x RTX 3090 + 128GB" --use code --users 8

      rigfit recommend --on "RTX 3060 12GB + 32GB DDR4-3200" --reserve-ram 8GB
    """
    run_recommend(
        on=on,
        use=use,
        min_ctx=min_ctx,
        min_tps=min_tps,
        max_quality_loss=max_quality_loss,
        limit=limit,
        users=users,
        reserve_ram=reserve_ram,
        json_out=json_out,
    )
