"""``rigfit calibrate``: fit this machine's correction factors from its stored bench results."""

from __future__ import annotations

import typer
from rich.table import Table

from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.errors import RigfitError
from rigfit.jsonout import with_schema


@app.command()
def calibrate(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Fit this machine's prefill and decode factors (measured / predicted) from its stored results.

    Later predictions for this machine (rigfit bench, and any estimate that applies the factors)
    are scaled by them and labelled "calibrated". Shows the median error before and after.

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
                "Run rigfit bench first (it stores measured and predicted figures).",
            ) from exc
    if json_out:
        out = with_schema("rigfit.calibrate/1", cal.to_json())
        out["fits"] = [f.__dict__ for f in fits]
        print_json(out)
        return
    t = Table(title=f"Calibration of {fp.label}")
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
