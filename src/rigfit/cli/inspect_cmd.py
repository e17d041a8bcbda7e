"""``rigfit inspect FILE|DIR``: what is inside a GGUF file or Hugging Face folder."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from rigfit.cli.app import app, console, print_json
from rigfit.jsonout import with_schema
from rigfit.safeio import clean_text

_EXAMPLES = """
[bold]Examples[/]

  rigfit inspect ~/models/Qwen3-8B-Q4_K_M.gguf
  rigfit inspect DeepSeek-V3-Q4_K_M-00001-of-00009.gguf   [dim]# reads every split part[/]
  rigfit inspect ~/.cache/huggingface/hub/models--Qwen--Qwen3-8B/snapshots/abc123/
  rigfit inspect model.gguf --json | jq .tensor_bytes
  rigfit inspect unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M   [dim]# reads only the header, over HTTP[/]
"""


def _b(n: int | None) -> str:
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.figures import fmt_bytes

    if n is None:
        return "unknown"
    return f"{n:,} B ({fmt_bytes(n, 'GiB')}, {fmt_bytes(n, 'GB')})"


def _runs(values: list[int]) -> list[tuple[int, int, int]]:
    """Consecutive equal values as (first, last, value)."""
    out: list[tuple[int, int, int]] = []
    for i, v in enumerate(values):
        if out and out[-1][2] == v and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i, v)
        else:
            out.append((i, i, v))
    return out


def _swa(a: dict[str, Any]) -> str:
    if not a.get("sliding_window"):
        return "none"
    layers = a.get("swa_layers") or []
    full = [i for i, s in enumerate(layers) if not s]
    return f"window {a['sliding_window']}, {sum(1 for s in layers if s)} SWA / {len(full)} full layers" + (
        f" (full: {', '.join(map(str, full[:12]))}{' …' if len(full) > 12 else ''})" if full else ""
    )


def _safe(value: object) -> str:
    """Text from a model file or the command line, safe for the terminal: control characters
    shown as \\xNN (no escape sequences, no OSC-8 links) and Rich markup escaped."""
    return escape(clean_text(value))


def _add_arch_rows(t: Any, a: dict[str, Any]) -> None:
    """Architecture rows: layers, widths, heads, experts, MLA, SSM, windows, tying."""
    t.add_row("layers", str(a.get("n_layer")))
    t.add_row("embedding", str(a.get("n_embd")))
    heads = a.get("n_head_kv")
    kv = heads if not isinstance(heads, list) else f"per layer: {sorted(set(heads))}"
    t.add_row(
        "heads (q / kv)",
        f"{a.get('n_head')} / {kv}, head dim k {a.get('n_embd_head_k')} v {a.get('n_embd_head_v')}",
    )
    ff = a.get("n_ff")
    t.add_row("FFN width", str(ff if not isinstance(ff, list) else f"per layer: {sorted(set(ff))}"))
    t.add_row("vocabulary", f"{a.get('n_vocab'):,}")
    if a.get("moe"):
        m = a["moe"]
        t.add_row(
            "experts",
            f"{m['n_expert']} routed, {m['n_expert_used']} used/token, width {m['expert_ff']}"
            f", {m['n_expert_shared']} shared, {m['n_dense_lead']} leading dense layers",
        )
    if a.get("mla"):
        m = a["mla"]
        t.add_row(
            "MLA",
            f"kv_lora_rank {m['kv_lora_rank']}, q_lora_rank {m['q_lora_rank']}, qk nope/rope "
            f"{m['qk_nope_head_dim']}/{m['qk_rope_head_dim']}, v {m['v_head_dim']}",
        )
    if a.get("ssm"):
        m = a["ssm"]
        t.add_row(
            "SSM",
            f"d_inner {m['d_inner']}, d_state {m['d_state']}, d_conv {m['d_conv']}, groups "
            f"{m['n_group']}, heads {m['n_head']}",
        )
    rec = a.get("recurrent_layers")
    if isinstance(rec, list) and any(rec):
        t.add_row("recurrent layers", f"{sum(rec)} of {len(rec)}")
    t.add_row("sliding window", _swa(a))
    t.add_row("tied embeddings", "yes" if a.get("tied_embeddings") else "no")


def _add_catalog_rows(t: Any, s: dict[str, Any], a: dict[str, Any]) -> None:
    """The catalog model with this architecture (if any), and the architecture's notes."""
    matches = s.get("catalog_matches") or []
    if matches:
        best = matches[0]
        note = (
            ""
            if best["match"] == "exact"
            else f" (same architecture; differs in {', '.join(best['differs'])})"
        )
        more = f"  [dim]also: {', '.join(m['id'] for m in matches[1:5])}[/]" if len(matches) > 1 else ""
        t.add_row("catalog model", f"[green]{best['id']}[/]{note}{more}")
    else:
        t.add_row("catalog model", "[yellow]no catalog model has this architecture[/]")
    notes = (a.get("extra") or {}).get("notes")
    if notes:
        t.add_row("notes", _safe("; ".join(notes)))


def _print_tensor_types(s: dict[str, Any]) -> None:
    """Tensor types: count, parameters, bytes and share of each GGML type."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rich.table import Table

    from rigfit.figures import fmt_bytes

    h = Table(title="Tensor types", title_justify="left", pad_edge=False)
    for col in ("type", "tensors", "params", "bytes", "share"):
        h.add_column(col, justify="left" if col == "type" else "right")
    total = s["tensor_bytes"] or 1
    for typ, v in s["tensor_types"].items():
        h.add_row(
            _safe(typ),
            f"{v['tensors']:,}",
            f"{v['params']:,}",
            fmt_bytes(v["bytes"], "MiB"),
            f"{100 * v['bytes'] / total:.1f}%",
        )
    console.print(h)


def _print_layer_bytes(s: dict[str, Any]) -> None:
    """Bytes per layer (runs of equal layers) and of the other tensors."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rich.table import Table

    from rigfit.figures import fmt_bytes

    lt = Table(title="Bytes per layer", title_justify="left", pad_edge=False)
    lt.add_column("layers")
    lt.add_column("bytes each", justify="right")
    for first, last, v in _runs(s["layer_bytes"]):
        lt.add_row(str(first) if first == last else f"{first}–{last}", f"{v:,} ({fmt_bytes(v, 'MiB')})")
    for name, v in s["other_bytes"].items():
        lt.add_row(_safe(name), f"{v:,} ({fmt_bytes(v, 'MiB')})")
    console.print(lt)


def _render_mmproj(s: dict[str, Any]) -> None:
    """A projector (mmproj) file: the encoder's shape and its exact weights."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rich.table import Table

    a = s["arch"]
    t = Table(
        title=_safe(s.get("name") or s["path"]), title_justify="left", show_header=False, pad_edge=False
    )
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    t.add_row("path", _safe(s["path"]))
    t.add_row("kind", "multimodal projector (mmproj) for llama.cpp's --mmproj")
    t.add_row("projector", _safe(a["projector"]))
    t.add_row("encoders", ", ".join(k for k in ("vision", "audio") if a[f"has_{k}"]) or "none")
    if a["has_vision"]:
        t.add_row(
            "image / patch size",
            f"{a['image_size']} px / {a['patch_size']} px ({a['patches_per_image']:,} patches)",
        )
        t.add_row(
            "vision tower",
            f"{a['n_layer']} blocks, width {a['n_embd']}, FFN {a['n_ff']}, {a['n_head']} heads",
        )
        t.add_row(
            "projection",
            f"to {a['projection_dim']} (the text model's width), merge {a['n_merge']}×{a['n_merge']}",
        )
    t.add_row("tensors", f"{s['n_tensors']:,}")
    t.add_row("parameters", f"{s['params']:,}")
    t.add_row(
        "tensor bytes",
        _b(s["tensor_bytes"]) + "  [dim](exact, from the header; llama.cpp loads all of it)[/]",
    )
    console.print(t)
    _print_tensor_types(s)


def render(s: dict[str, Any]) -> None:
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rich.table import Table

    if s.get("kind") == "mmproj":
        _render_mmproj(s)
        return
    a = s["arch"]
    t = Table(
        title=_safe(s.get("name") or s["path"]), title_justify="left", show_header=False, pad_edge=False
    )
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    t.add_row("path", _safe(s["path"]))
    g = s.get("gguf")
    if g:
        parts = f", {len(g['parts'])} split parts" if len(g["parts"]) > 1 else ""
        t.add_row(
            "format", f"GGUF v{g['version']} ({g['byte_order']}-endian, alignment {g['alignment']}{parts})"
        )
        t.add_row("file size", _b(g["file_size"]))
    else:
        t.add_row("format", "Hugging Face checkpoint" if s["format"] == "hf" else s["format"])
    t.add_row("architecture", _safe(s["architecture"]))
    t.add_row("file type", _safe(s.get("file_type") or "unknown"))
    t.add_row("tensors", f"{s['n_tensors']:,}")
    if s["tensor_bytes"] is None:
        t.add_row(
            "tensor bytes",
            "unknown  [dim](no weight files read: config only; "
            "'rigfit plan' estimates them per file type)[/]",
        )
    else:
        t.add_row("tensor bytes", _b(s["tensor_bytes"]) + "  [dim](exact, from the header)[/]")
    params = f"{s['params']:,}"
    if s.get("active_params") and s["active_params"] != s["params"]:
        params += f"  (active per token: {s['active_params']:,})"
    t.add_row("parameters", params)
    if s.get("bits_per_weight"):
        t.add_row("bits per weight", f"{s['bits_per_weight']:.2f}")
    t.add_row("context length", f"{s['context_length']:,} (trained)")
    _add_arch_rows(t, a)
    _add_catalog_rows(t, s, a)
    console.print(t)
    _print_tensor_types(s)
    _print_layer_bytes(s)


@app.command(epilog=_EXAMPLES)
def inspect(
    path: Annotated[
        str,
        typer.Argument(
            help="A .gguf file (any split part), HF model folder or config.json, "
            "or a remote name: org/name:QUANT, hf:org/name, ollama:NAME."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full summary as JSON.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Remote names: header cache only.")] = False,
) -> None:
    """Show what is inside a model file: architecture, quant mix, exact bytes, catalog match.

    Reads only the header (never the tensor data), so it takes milliseconds even for a
    400 GB model.
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.formats.inspect import inspect_source

    summary = inspect_source(path, offline=offline)
    if as_json:
        print_json(with_schema("rigfit.inspect/1", summary))
    else:
        render(summary)
