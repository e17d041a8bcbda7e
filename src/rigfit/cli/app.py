"""The Typer application object and shared rendering helpers for every command module.

Each command lives in its own module in this package (``hardware_cmd.py``, ``plan_cmd.py`` …)
and registers itself with ``@app.command()``; ``rigfit.cli`` imports them all.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console

from rigfit.about import version_lines
from rigfit.jsonout import to_json_text

app = typer.Typer(
    name="rigfit",
    help=(
        "Which open-weight LLM fits your hardware, how fast it runs, and what it costs.\n\n"
        "Every figure is labelled measured, looked up (with source) or estimated (with a band)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (plain, no colour, stable key order)."""
    sys.stdout.write(to_json_text(data) + "\n")


def _show_version(value: bool) -> None:
    """``--version``: print the version lines and stop."""
    if value:
        for line in version_lines():
            console.print(line, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print rigfit's version, llama.cpp build profile and Python."),
) -> None:
    """Which open-weight LLM fits your hardware, how fast it runs, and what it costs."""
