"""``rigfit predict``: speed predictions for a CSV of published-style cases."""

from __future__ import annotations

import csv
import io
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from rigfit.cli.app import app, err_console
from rigfit.errors import RigfitError
from rigfit.inputs import OS_HELP, check_os
from rigfit.safeio import atomic_output, clean_text, csv_safe, open_regular

#: Longest cell of a cases CSV [characters]; names are capped far lower (rigfit.inputs).
MAX_CELL_CHARS = 65536


@app.command("predict")
def predict_command(
    cases: Annotated[
        Path,
        typer.Option(
            "--cases",
            help="Input CSV (ground-truth columns: hardware, "
            "n_devices, backend, model, model_family, params_b, quant, "
            "model_size_gib, test, …; optional host_link such as "
            "'PCIe 3.0 x16'; extra columns are copied through).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output CSV: the input columns plus predicted_tps, "
            "predicted_low, predicted_high (p10–p90) and status.",
        ),
    ],
    os_name: Annotated[str, typer.Option("--os", help=OS_HELP)] = "unknown",
) -> None:
    """Predict llama.cpp tokens/s for every row of a cases file (pp / tg / ppN@dD / tgN@dP tests).

    Rows whose hardware or model cannot be resolved get status "unresolved: <reason>" and no
    numbers — never a guess. --os applies to the rows whose os column and notes name no
    operating system.
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.estimate.predict import PREDICT_COLUMNS, iter_predict_rows
    from rigfit.measure.store import default_db_path

    os_name = check_os(os_name)
    t0 = time.perf_counter()
    status: Counter[str] = Counter()
    # rows stream from the input through the model into the output: memory stays bounded
    with io.TextIOWrapper(open_regular(cases, "cases file"), newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)  # utf-8-sig: a BOM as Excel writes it is dropped
        try:
            header = list(reader.fieldnames or [])
            missing = [c for c in ("hardware", "model", "test") if c not in header]
            if missing:
                raise RigfitError(
                    f"{clean_text(cases)}: missing column(s) {', '.join(missing)}.",
                    "The cases CSV needs at least hardware, model and test.",
                )
            fields = header + [c for c in PREDICT_COLUMNS if c not in header]
            with atomic_output(
                out, "w", force=True, protect=(default_db_path(),), newline="", encoding="utf-8"
            ) as dst:
                w = csv.DictWriter(dst, fieldnames=fields, extrasaction="ignore")
                w.writeheader()
                for row in iter_predict_rows(_rows(reader), os=os_name):
                    status["ok" if row["status"] == "ok" else "unresolved"] += 1
                    w.writerow({k: csv_safe(v) for k, v in row.items()})
                if not status:
                    raise RigfitError(f"{clean_text(cases)}: no rows.")
        except (UnicodeDecodeError, csv.Error) as exc:
            raise RigfitError(
                f"{clean_text(cases)}: cannot read as CSV ({clean_text(exc, 120)}).", "Save it as UTF-8 CSV."
            ) from None
    took = time.perf_counter() - t0
    n = status["ok"] + status["unresolved"]
    err_console.print(
        f"{n} cases: {status['ok']} predicted, {status['unresolved']} unresolved "
        f"→ {escape(clean_text(out))} ({took:.2f} s)",
        highlight=False,
    )
    sys.stdout.flush()


def _rows(reader: csv.DictReader) -> Iterator[dict]:
    """The reader's rows as plain dicts; a cell over MAX_CELL_CHARS is refused (csv's own field
    limit is 128 KiB and its error is cryptic)."""
    for row in reader:
        for value in row.values():
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise RigfitError(
                    f"line {reader.line_num}: a cell of {len(value):,} characters "
                    f"(at most {MAX_CELL_CHARS:,}).",
                    "Check the quoting of that row.",
                )
        yield dict(row)
