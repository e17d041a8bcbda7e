"""``rigfit version`` (also ``rigfit --version``)."""

from __future__ import annotations

from rigfit.about import version_lines
from rigfit.cli.app import app, console


@app.command()
def version() -> None:
    """Print rigfit's version, the llama.cpp build profile and the Python version."""
    for line in version_lines():
        console.print(line, highlight=False)
