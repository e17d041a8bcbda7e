"""``rigfit check``: physics checks of published claims."""

from __future__ import annotations

import sys
from dataclasses import replace

import typer
from rich.markup import escape

from rigfit.cli.app import app, console, print_json
from rigfit.errors import RigfitError
from rigfit.inputs import OS_HELP, check_os
from rigfit.safeio import clean_text, read_text_regular

_STYLE = {"impossible": "bold red", "implausible": "yellow", "ok": "green", "unknown": "dim"}


def _safe(text: str) -> str:
    """Text from the claims file made safe to print: control characters shown as \\xNN (no ESC
    sequences reach the terminal) and Rich markup escaped."""
    return escape(clean_text(text))


@app.command()
def check(
    claims: str = typer.Argument(
        ..., help="CSV file of claims, a text file of one claim per line, or - for stdin."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    os_name: str = typer.Option("unknown", "--os", help=OS_HELP),
) -> None:
    """Check claims against the physics: impossible, implausible or ok, with the arithmetic.

    A CSV needs the columns hardware,model,quant,metric,value (metric: decode_tps, prefill_tps,
    ttft_s, memory_gb, max_ctx, or a hardware spec: spec_memory_gb, spec_bandwidth_gb_s,
    spec_fp16_tflops, spec_tdp_w); optional ctx, depth, prompt_tokens, source. Plain lines of
    prose work too.

    Examples:

      echo "Llama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060" | rigfit check -

      echo "a wafer holds 900 GB of SRAM" | rigfit check -

      rigfit check blog_claims.csv --json

      echo "Llama-3.1-8B Q4_K_M at 40 tok/s on an Arc B580" | rigfit check - --os linux
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.claims import MAX_CLAIMS_FILE_BYTES, check_claims, parse_claims

    os_name = check_os(os_name)
    if claims == "-":
        text = sys.stdin.read(MAX_CLAIMS_FILE_BYTES + 1)
        if len(text) > MAX_CLAIMS_FILE_BYTES:
            raise RigfitError(
                f"stdin holds more than {MAX_CLAIMS_FILE_BYTES:,} characters of claims.",
                "Split the claims into smaller files.",
            )
    else:
        text = read_text_regular(claims, "claims file", max_bytes=MAX_CLAIMS_FILE_BYTES, errors="replace")
    claims_read = parse_claims(text.removeprefix("\ufeff"))
    verdicts = check_claims([replace(c, os=os_name) for c in claims_read])
    if not verdicts:
        raise RigfitError(
            "No claims found.",
            "Write one claim per line, e.g. 'Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060'.",
        )
    if json_out:
        print_json({"schema": "rigfit.check/1", "verdicts": [v.to_json() for v in verdicts]})
        return
    for i, v in enumerate(verdicts, start=1):
        style = _STYLE.get(v.verdict, "")
        console.print(f"[bold]{i}.[/] {_safe(v.claim.describe())}", highlight=False)
        console.print(f"   [{style}]{v.verdict.upper()}[/] — {_safe(v.reason)}", highlight=False)
        for a in v.arithmetic:
            console.print(f"     · {_safe(a)}", highlight=False)
    kinds = ("impossible", "implausible", "ok", "unknown")
    counts = {k: sum(v.verdict == k for v in verdicts) for k in kinds}
    console.print(", ".join(f"{n} {k}" for k, n in counts.items() if n), highlight=False)
