"""``rigfit version`` (also ``rigfit --version``)."""

from __future__ import annotations

from rigfit.cli.app import app, console


@app.command()
def version() -> None:
    """Print rigfit's version, the llama.cpp build profile and the Python version."""
    from rigfit.about import version_lines  # lazy: importlib.metadata costs `rigfit --help` ~10 ms

    for line in version_lines():
        console.print(line, highlight=False)
