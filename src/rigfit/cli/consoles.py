"""The consoles every command prints to, and plain JSON output.

Kept apart from :mod:`rigfit.cli.app` (the Typer application) so that code which prints, such as
:mod:`rigfit.cli.plan_view`, runs without importing Typer or Click. ``rigfit.cli.app`` re-exports
these same objects.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from rigfit.jsonout import to_json_text

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (plain, no colour, stable key order)."""
    sys.stdout.write(to_json_text(data) + "\n")
