"""``rigfit predict``: speed predictions for a CSV of published-style cases."""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from rigfit.cli.app import app, err_console
from rigfit.errors import RigfitError


@app.command("predict")
def predict_command(
    cases: Annotated[Path, typer.Option("--cases", help="Input CSV (ground-truth columns: hardware, "
                                        "n_devices, backend, model, model_family, params_b, quant, "
                                        "model_size_gib, test, …; optional host_link such as "
                                        "'PCIe 3.0 x16'; extra columns are copied through).")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV: the input columns plus predicted_tps, "
                                      "predicted_low, predicted_high (p10–p90) and status.")],
) -> None:
    """Predict llama.cpp tokens/s for every row of a cases file (pp / tg / ppN@dD / tgN@dP tests).

    Rows whose hardware or model cannot be resolved get status "unresolved: <reason>" and no
    numbers — never a guess.
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.estimate.predict import PREDICT_COLUMNS, predict_rows
    from rigfit.measure.groundtruth import read_rows

    if not cases.exists():
        raise RigfitError(f"{cases}: no such file.")
    t0 = time.perf_counter()
    try:
        header, rows = read_rows(cases)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RigfitError(f"{cases}: cannot read as CSV ({exc}).") from exc
    if not rows:
        raise RigfitError(f"{cases}: no rows.")
    missing = [c for c in ("hardware", "model", "test") if c not in header]
    if missing:
        raise RigfitError(f"{cases}: missing column(s) {', '.join(missing)}.")
    results = predict_rows(rows)
    fields = list(header) + [c for c in PREDICT_COLUMNS if c not in header]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(results)
    status = Counter("ok" if r["status"] == "ok" else "unresolved" for r in results)
    took = time.perf_counter() - t0
    err_console.print(f"{len(results)} cases: {status['ok']} predicted, {status['unresolved']} unresolved "
                      f"→ {out} ({took:.2f} s)", highlight=False)
    sys.stdout.flush()
