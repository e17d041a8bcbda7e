"""``rigfit calibrate``: fit this machine's correction factors from its stored bench results."""

from __future__ import annotations

import typer
from rich.table import Table

from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.errors import RigfitError
from rigfit.jsonout import with_schema
from rigfit.units import MIB


@app.command()
def calibrate(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Fit this machine's prefill and decode factors (measured / predicted) from its stored results,
    and its buffer offsets per backend (real − planned buffers) from its rigfit run loads.

    Later predictions for this machine (rigfit bench, and any estimate that applies the factors)
    are scaled by them and labelled "calibrated"; later plans for this machine (--on local) add
    the offsets to each device of that backend. Shows the median error before and after.

    Examples:

      rigfit bench && rigfit bench --prompt 2048 && rigfit calibrate

      rigfit calibrate --json
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.measure.calibrate import NoisyRunError, calibrate_machine
    from rigfit.measure.fingerprint import detect_fingerprint
    from rigfit.measure.store import open_store

    fp = detect_fingerprint()
    with open_store() as store:
        try:
            cal, fits = calibrate_machine(store, fp.id)
        except NoisyRunError as exc:
            raise RigfitError(
                f"Not calibrating from one noisy run: {exc}.",
                "Close other programs, run rigfit bench --repeat 5 (or bench twice), then calibrate again.",
            ) from exc
        except ValueError as exc:
            raise RigfitError(
                f"Nothing to calibrate on this machine: {exc}.",
                "Run rigfit bench or rigfit run first (they store measured and planned figures).",
            ) from exc
    if json_out:
        out = with_schema("rigfit.calibrate/1", cal.to_json())
        out["fits"] = [f.__dict__ for f in fits]
        print_json(out)
        return
    if fits:
        _render_speed(fp.label, fits)
    _render_offsets((cal.details or {}).get("buffer_offsets") or {})


def _render_speed(label: str, fits: list) -> None:
    t = Table(title=f"Calibration of {label}")
    for col in ("kind", "results", "factor (measured/predicted)", "error before", "error after"):
        t.add_column(col, justify="left" if col == "kind" else "right")
    names = {"pp": "prefill", "tg": "decode"}
    for f in fits:
        after = (
            f"{f.mdape_after:.1f}% (leave-one-run-out, {f.runs} runs)"
            if f.mdape_after is not None
            else "needs a 2nd run"
        )
        t.add_row(names.get(f.kind, f.kind), str(f.n), f"{f.factor:.3f}", f"{f.mdape_before:.1f}%", after)
    console.print(fit_table(console, t, short_headers={"factor (measured/predicted)": "factor"}))
    console.print(
        "Errors are median absolute percentage errors of this machine's stored results; the error after is "
        "out of sample (each run scored by factors fitted from the other runs). "
        "Later predictions for this machine use these factors (labelled calibrated).",
        style="dim",
        highlight=False,
    )


def _render_offsets(offsets: dict) -> None:
    """The fitted per-backend buffer offsets (measured by rigfit run, median over its loads)."""
    if not offsets:
        console.print(
            "No rigfit run loads stored for this machine: no buffer offsets fitted.",
            style="dim",
            highlight=False,
        )
        return
    t = Table(title="Buffer offsets per backend, MiB", title_justify="left")
    for col in ("backend", "loads", "devices", "offset (median)", "range"):
        t.add_column(col, justify="left" if col == "backend" else "right")
    for backend, o in sorted(offsets.items()):
        t.add_row(
            backend,
            str(o["n_runs"]),
            str(o["n_samples"]),
            f"{o['offset_bytes'] / MIB:+,.2f}",
            f"{o['low_bytes'] / MIB:+,.2f} … {o['high_bytes'] / MIB:+,.2f}",
        )
    console.print(t)
    console.print(
        "Offset: real − planned buffers of this machine's rigfit run loads (measured, median). "
        "Later plans for this machine (--on local) add it to each device of that backend.",
        style="dim",
        highlight=False,
    )
