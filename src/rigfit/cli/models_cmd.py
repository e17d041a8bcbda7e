"""``rigfit models``: list the model catalog, or show one model."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rigfit.catalog.arch import Architecture
from rigfit.catalog.filters import (
    ModelFilter,
    apply_filter,
    capabilities,
    parse_capabilities,
    parse_since,
    released,
)
from rigfit.catalog.models import (
    arch_to_json,
    attention_kind,
    catalog_sources,
    models_json,
)
from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.errors import RigfitError
from rigfit.inputs import check_ctx
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
    if n >= 10_000:  # 1010000 (Qwen2.5 1M) → 1010k: decimal thousands, lower-case k
        return f"{n // 1000}k"
    return str(n)


def _params(a: Architecture) -> str:
    t = (a.total_params or 0) / 1e9
    if a.moe is not None and a.active_params and a.active_params != a.total_params:
        return f"{t:.1f} / {a.active_params / 1e9:.1f}"
    return f"{t:.2f}" if t < 10 else f"{t:.1f}"


_CAP_LETTERS = {"vision": "V", "tools": "T", "reasoning": "R"}


def _caps(a: Architecture) -> str:
    return "".join(_CAP_LETTERS[c] for c in ("vision", "tools", "reasoning") if c in capabilities(a)) or "-"


def _table(models: list[Architecture]) -> Table:
    t = Table(
        title=f"Model catalog ({len(models)} models)",
        title_justify="left",
        pad_edge=False,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        caption="params in billions (MoE: total / active); attention: GQA/MQA/MHA/MLA, "
        "+SWA window, hybrid = attention + recurrent layers; can: V vision, T tools, R reasoning "
        "(model card); released: model card or Hub creation date",
        caption_justify="left",
    )
    t.add_column("id", style="bold")
    t.add_column("arch")
    t.add_column("params", justify="right")
    t.add_column("ctx", justify="right")
    t.add_column("attention", overflow="fold")
    t.add_column("can")
    t.add_column("released")
    for a in models:
        t.add_row(
            a.id,
            a.arch,
            _params(a),
            _ctx(a.trained_ctx),
            attention_kind(a, short=True),
            _caps(a),
            (released(a) or "-")[:7],
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
    min_params: Annotated[
        float | None, typer.Option("--min-params", help="Smallest total size \\[billions of parameters].")
    ] = None,
    max_params: Annotated[
        float | None, typer.Option("--max-params", help="Largest total size \\[billions of parameters].")
    ] = None,
    moe: Annotated[
        bool | None, typer.Option("--moe/--dense", help="Only mixture-of-experts models, or only dense ones.")
    ] = None,
    min_ctx: Annotated[
        int | None, typer.Option("--min-ctx", help="Smallest training context \\[tokens], e.g. 131072.")
    ] = None,
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", "-c", help="vision, tools or reasoning (repeat or comma-separate)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Released on or after YYYY[-MM[-DD]] (model card date).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Full records as JSON.")] = False,
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
        from rigfit.formats.stores import find_local_models, local_models_json

        found = find_local_models()
        if as_json:
            print_json(local_models_json(found))
        else:
            render_local_models(found)
        return
    for value, flag in ((min_params, "--min-params"), (max_params, "--max-params")):
        if value is not None and not value >= 0:
            raise RigfitError(
                f"{flag} {value:g} is not a size.", "Give billions of parameters, e.g. 7 or 0.5."
            )
    if min_ctx is not None:
        check_ctx(min_ctx, flag="--min-ctx")
    flt = ModelFilter(
        min_params_b=min_params,
        max_params_b=max_params,
        moe=moe,
        min_ctx=min_ctx,
        capabilities=parse_capabilities(capability or []),
        since=parse_since(since) if since is not None else None,
    )
    selected = apply_filter(select_models(name, family, search), flt)
    if as_json:
        print_json(models_json(selected))
        return
    if name:
        _detail(selected[0])
        return
    if not selected:
        console.print(
            "No catalog model matches " + (f"{search!r}." if search and not flt.active else "these filters.")
        )
        return
    _out().print(_table(selected))
