"""``rigfit results``: list, import and export stored measurements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.errors import RigfitError
from rigfit.measure.result_predictions import ResultPrediction, predict_result

if TYPE_CHECKING:  # the library loads lazily, when the command runs
    from rigfit.measure.importers import ImportBatch
    from rigfit.measure.store import Result, Run


@app.command()
def results(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    export: Path = typer.Option(
        None, "--export", metavar="FILE.csv", help="Write every stored result in the ground-truth CSV format."
    ),
    import_file: list[Path] = typer.Option(
        None,
        "--import",
        metavar="FILE",
        help="Import llama-bench output (-o json/jsonl/csv/md) or a "
        "ground-truth CSV; repeat for several files.",
    ),
    this_machine: bool = typer.Option(
        False,
        "--this-machine",
        help="Imported results were measured on this machine: store "
        "them under its fingerprint (listed with --mine).",
    ),
    hardware: str = typer.Option(
        None,
        "--hardware",
        help="Hardware name for imported rows that do not name it (a pasted llama-bench table).",
    ),
    mine: bool = typer.Option(False, "--mine", help="List only results measured on this machine."),
    limit: int = typer.Option(50, "--limit", min=0, max=10**9, help="Rows to list (newest last; 0 = all)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --export file."),
) -> None:
    """List stored results; import llama-bench output or ground-truth CSVs; export as CSV.

    The store is a SQLite file in rigfit's user data directory ($RIGFIT_DATA_DIR overrides it).
    Importing the same file twice adds nothing.

    Examples:

      rigfit results

      llama-bench -m model.gguf -o json > bench.json && rigfit results --import bench.json --this-machine

      rigfit results --import data/ground-truth/speed_calibration.csv

      rigfit results --export all_results.csv
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.measure.fingerprint import detect_fingerprint
    from rigfit.measure.importers import export_csv, iter_file
    from rigfit.measure.store import Run, default_db_path, open_store
    from rigfit.safeio import check_output_path

    if export is not None:  # refuse before importing anything: never over the store, never silently
        check_output_path(export, force=force, protect=(default_db_path(),))
    with open_store(read_only=not import_file) as store:
        for f in import_file or ():
            batch, parsed = iter_file(f)  # rows stream into the store: memory stays bounded
            fp = detect_fingerprint() if this_machine else None
            run = Run(
                source=batch.fmt,
                source_file=str(f.resolve()),
                machine_id=fp.id if fp else None,
                llama_build=batch.build,
            )
            rep = store.add_run(run, _stamped(parsed, batch, run, fp, hardware), fingerprint=fp)
            msg = f"Imported {rep.added} result(s) from {f} ({batch.fmt})"
            if rep.skipped:
                msg += f"; {rep.skipped} already stored"
            if not json_out:
                console.print(escape(msg) + ".", highlight=False)
                for w in batch.warnings:
                    console.print(f"  warning: {escape(w)}", style="yellow", highlight=False)
        if export is not None:
            try:
                n = export_csv(store.results(), export, force=force, protect=(store.path,))
            except OSError as exc:
                raise RigfitError(f"Cannot write {export}: {exc}.") from exc
            if not json_out:
                console.print(f"Exported {n} result(s) to {escape(str(export))}.", highlight=False)
        if import_file or export is not None:
            if json_out:
                print_json(
                    {
                        "schema": "rigfit.results-store/1",
                        "results": store.count("results"),
                        "runs": store.count("runs"),
                        "store": str(store.path),
                    }
                )
            return
        fp = detect_fingerprint()
        rows = store.results(machine_id=fp.id if mine else None)
        failed = store.runs(status="failed")
        if json_out:
            print_json(
                {
                    "schema": "rigfit.results/1",
                    "store": str(store.path),
                    "machine_id": fp.id,
                    "results": [r.to_json() for r in rows],
                    "failed_runs": [r.to_json() for r in failed],
                }
            )
            return
        _render(rows, failed, store.path, fp.id, limit)


def _predicted_cell(pred: ResultPrediction) -> str:
    """'55.3 (48.2–62.1)' or '—'."""
    if pred.tps is None:
        return "—"
    band = f" ({pred.low:,.1f}–{pred.high:,.1f})" if pred.low is not None and pred.high is not None else ""
    return f"{pred.tps:,.1f}{band}"


def _render(rows, failed, path, machine_id: str, limit: int) -> None:
    if not rows:
        console.print(
            f"No results stored yet in {escape(str(path))}. Run rigfit bench, or import "
            "llama-bench output with rigfit results --import FILE.",
            highlight=False,
        )
    else:
        shown = rows[-limit:] if limit else rows
        t = Table(
            title=f"Stored results ({len(shown)} of {len(rows)}; * = this machine)", box=box.SIMPLE_HEAD
        )
        t.add_column("#", justify="right", no_wrap=True, min_width=len(str(shown[-1].id)) + 1)
        t.add_column("hardware")
        t.add_column("model")
        t.add_column("test", no_wrap=True, min_width=max(len(r.test) for r in shown))
        t.add_column("tok/s", justify="right", no_wrap=True, min_width=8)
        t.add_column("predicted", justify="right")
        t.add_column("vs pred.", justify="right", no_wrap=True, min_width=8)
        for r in shown:
            star = "*" if r.machine_id == machine_id else ""
            pred = predict_result(r)
            ratio = r.tokens_per_s / pred.tps if r.tokens_per_s and pred.tps else None
            t.add_row(
                f"{r.id}{star}",
                escape(r.hardware or "?"),
                escape(r.model or "?"),
                r.test,
                f"{r.tokens_per_s:,.2f}" if r.tokens_per_s is not None else "—",
                _predicted_cell(pred),
                f"{ratio:.2f}×" if ratio else "—",
            )
        t.caption = (
            "tok/s measured; predicted: rigfit's estimate (p10–p90), at bench time or, for imported "
            "rows, now from their hardware, model and test (— when they do not resolve)"
        )
        t.caption_justify = "left"
        console.print(
            fit_table(console, t, short_headers={"predicted": "pred."}, drop=("hardware", "predicted"))
        )
    if failed:
        console.print(
            f"{len(failed)} failed run(s); last: {escape(failed[-1].error or '?')}",
            style="yellow",
            highlight=False,
        )
    console.print(f"Store: {escape(str(path))}", style="dim", highlight=False)


def _stamped(
    results: Iterator[Result], batch: ImportBatch, run: Run, fp: Any, hardware: str | None
) -> Iterator[Result]:
    """Imported results as they stream into the store: this machine's id (``--this-machine``), the
    hardware name for rows that give none, and the llama.cpp build once a row names it."""
    for r in results:
        r.machine_id = fp.id if fp else None
        if not r.hardware:
            r.hardware = hardware or (fp.hardware_name if fp else "")
        run.llama_build = batch.build
        yield r
