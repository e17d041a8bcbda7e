"""``rigfit models``: list the model catalog, or show one model."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import (
    arch_to_json,
    attention_kind,
    catalog_sources,
)
from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.options import select_models


def _out() -> Console:
    """The shared console: tables fit its width (COLUMNS when piped)."""
    return console


def _short_verified(v: str) -> str:
    lv = v.lower()
    if lv.startswith("unverified"):
        return "[red]no[/]"
    if lv.startswith("verified-by-family"):
        return "family"
    if lv.startswith("verified"):
        return "[green]yes[/]"
    return "[yellow]partly[/]"


def _ctx(n: int) -> str:
    if n >= 1024 and n % 1024 == 0:
        k = n // 1024
        return f"{k // 1024}M" if k >= 1024 and k % 1024 == 0 else f"{k}K"
    return str(n)


def _params(a: Architecture) -> str:
    t = (a.total_params or 0) / 1e9
    if a.moe is not None and a.active_params and a.active_params != a.total_params:
        return f"{t:.1f} / {a.active_params / 1e9:.1f}"
    return f"{t:.2f}" if t < 10 else f"{t:.1f}"


def _table(models: list[Architecture]) -> Table:
    t = Table(
        title=f"Model catalog ({len(models)} models)",
        title_justify="left",
        pad_edge=False,
        caption="params in billions (MoE: total / active); attention: GQA/MQA/MHA/MLA, "
        "+SWA window, hybrid = attention + recurrent layers",
        caption_justify="left",
    )
    t.add_column("id", style="bold")
    t.add_column("family")
    t.add_column("arch")
    t.add_column("params", justify="right")
    t.add_column("layers", justify="right")
    t.add_column("ctx", justify="right")
    t.add_column("attention")
    t.add_column("verified")
    for a in models:
        t.add_row(
            a.id,
            a.family,
            a.arch,
            _params(a),
            str(a.n_layer),
            _ctx(a.n_ctx_train),
            attention_kind(a, short=True),
            _short_verified(a.verified),
        )
    # narrow terminals: the family is in the id, the layer count in `rigfit models ID`
    return fit_table(
        _out(), t, short_headers={"verified": "verif."}, drop=("family", "layers", "arch", "ctx", "attention")
    )


def _detail(a: Architecture) -> None:
    rec = arch_to_json(a)
    t = Table(title=f"{a.name} ({a.id})", title_justify="left", show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value")
    srcs = catalog_sources()
    for k, v in rec.items():
        if k in ("swa_layers", "recurrent_layers", "n_head_kv", "n_ff") and isinstance(v, list):
            if k in ("swa_layers", "recurrent_layers"):
                v = (
                    "".join("1" if x else "0" for x in v)
                    + "  (1 = "
                    + ("SWA" if k == "swa_layers" else "recurrent")
                    + ", per layer)"
                )
            else:
                v = ",".join(str(x) for x in v)
        elif k == "sources":
            v = "\n".join(f"{s}: {srcs.get(s, '')}".rstrip(": ") for s in v)
        elif k in ("total_params", "active_params") and v:
            v = f"{v:,} ({v / 1e9:.2f} B)"
        elif isinstance(v, dict):
            v = ", ".join(f"{kk}={vv}" for kk, vv in v.items()) or "-"
        elif v is None or v == []:
            v = "-"
        t.add_row(k, str(v))
    _out().print(t)


@app.command("models")
def models(
    name: Annotated[str | None, typer.Argument(help="Show one model (id, HF repo, GGUF file name…).")] = None,
    family: Annotated[
        str | None,
        typer.Option("--family", "-f", help="Family or llama.cpp arch (llama, qwen3, gemma3, deepseek2…)."),
    ] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Words that must all appear.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON list of full records.")] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="List the models already on this machine instead (same as `rigfit local`)."
        ),
    ] = False,
) -> None:
    """List the open-weight model catalog (architectures as llama.cpp sees them)."""
    if local:
        # lazy: loaded when the command runs, so `rigfit --help` imports no library code
        from rigfit.cli.local_cmd import render_local_models
        from rigfit.formats.stores import find_local_models

        found = find_local_models()
        if as_json:
            print_json([m.to_json() for m in found])
        else:
            render_local_models(found)
        return
    selected = select_models(name, family, search)
    if as_json:
        print_json([arch_to_json(a) for a in selected])
        return
    if name:
        _detail(selected[0])
        return
    if not selected:
        console.print(f"No catalog model matches {search!r}.")
        return
    _out().print(_table(selected))
