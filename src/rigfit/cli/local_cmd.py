"""``rigfit local``: models already on this machine (Ollama, HF cache, LM Studio, folders)."""

from __future__ import annotations

from typing import Annotated

import typer

from rigfit.cli.app import app, console, print_json

_EXAMPLES = """
[bold]Examples[/]

  rigfit local                          [dim]# Ollama, Hugging Face cache, LM Studio[/]
  rigfit local ~/models /mnt/llm        [dim]# plus every GGUF under these folders[/]
  rigfit local --json | jq '.models[].path'
  rigfit plan "$(rigfit local --json | jq -r '.models[0].path')"   [dim]# a listed path plans directly[/]
"""


def render_local_models(models: list, title: str = "Models on this machine") -> None:
    """Table of :class:`rigfit.formats.stores.LocalModel` (also used by ``rigfit models --local``)."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rich.table import Table

    from rigfit.figures import fmt_bytes

    if not models:
        console.print(
            "No local models found (looked in the Ollama store, the Hugging Face cache and "
            "LM Studio's folder). Pass folders to search: [bold]rigfit local DIR[/]"
        )
        return
    t = Table(title=f"{title} ({len(models)})", title_justify="left", pad_edge=False)
    t.add_column("name", style="bold", overflow="fold")
    t.add_column("source")
    t.add_column("arch")
    t.add_column("type")
    t.add_column("params", justify="right")
    t.add_column("size", justify="right")
    t.add_column("path", overflow="fold", style="dim")
    for m in models:
        params = f"{m.n_params / 1e9:.2f}B" if m.n_params else ""
        arch = m.arch or (f"[red]{m.error}[/]" if m.error else "")
        t.add_row(m.name, m.source, arch, m.file_type or "", params, fmt_bytes(m.size_bytes, "GB"), m.path)
    console.print(t)


@app.command(epilog=_EXAMPLES)
def local(
    dirs: Annotated[list[str] | None, typer.Argument(help="Extra folders (or GGUF files) to search.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    no_details: Annotated[bool, typer.Option("--fast", help="Skip reading headers (no arch/type).")] = False,
) -> None:
    """List the models you already have: Ollama, Hugging Face cache, LM Studio and folders.

    Reads only file headers; nothing is downloaded. Every listed path works as a model argument
    of plan, inspect and bench.
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.formats.stores import find_local_models, local_models_json

    models = find_local_models(dirs or (), details=not no_details)
    if as_json:
        print_json(local_models_json(models))
    else:
        render_local_models(models)
