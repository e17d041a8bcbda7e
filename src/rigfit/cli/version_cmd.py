"""``rigfit version``."""

from __future__ import annotations

from rigfit import __version__
from rigfit.cli.app import app, console


@app.command()
def version() -> None:
    """Print rigfit's version."""
    console.print(f"rigfit {__version__}")
