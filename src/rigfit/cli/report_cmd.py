"""``rigfit report``: the tables of mission.md and charts, as Markdown + HTML + PNG/SVG."""

from __future__ import annotations

import typer
from rich.markup import escape

from rigfit.cli.app import app, console, err_console, print_json
from rigfit.cli.progress import steps
from rigfit.inputs import check_ctx
from rigfit.safeio import check_output_dir, clean_text


@app.command()
def report(
    on: str = typer.Option(..., "--on", help="Machine: a catalog description or 'local'."),
    model: list[str] = typer.Option(
        None, "--model", help="Model(s) for the quantisation matrix (repeat the flag; default llama-3.1-8b)."
    ),
    vs: list[str] = typer.Option(
        None,
        "--vs",
        help="Machines for the spec delta (repeat the flag; default Cerebras WSE-3, 8x H200, RTX 4090).",
    ),
    out: str = typer.Option(..., "--out", help="Output directory (created)."),
    ctx: int = typer.Option(8192, "--ctx", help="Context to plan for \\[tokens]."),
    no_charts: bool = typer.Option(False, "--no-charts", help="Skip the PNG/SVG charts."),
    json_out: bool = typer.Option(False, "--json", help="Print the written file paths as JSON."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report in --out."),
) -> None:
    """Write a report for a machine: quantisation matrix, benchmark table, spec delta, within reach,
    perf per dollar, verdict matrix, and charts (decode vs context, memory per quant, speed vs quality).

    Examples:

      rigfit report --on "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200" --out report/

      rigfit report --on "M2 Ultra 192GB" --model llama-3.1-70b --vs "2x RTX 3090" --out mac/
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.report import charts
    from rigfit.report.build import ReportOptions, build_report, report_steps
    from rigfit.report.document import write_report

    # checked before minutes of computing: empty, unwritable, planted symlinks, existing report
    out_dir = check_output_dir(out, ("report.md", "report.html"), force=force, subdirs=("charts",))
    check_ctx(ctx, minimum=256)
    machine = resolve_machine(on)
    opts = ReportOptions(models=tuple(model or ()), vs=tuple(vs or ()), ctx=ctx, charts=not no_charts)
    if opts.charts and not charts.available():
        err_console.print(
            "matplotlib is not installed, so the report has no charts (its tables are written). "
            "Install it with: pip install 'rigfit\\[report]'",
            highlight=False,
        )
    with steps("report", report_steps(opts)) as done:
        rep = build_report(machine, out_dir, opts, progress=done)
        files = write_report(rep, out_dir)
    if json_out:
        print_json(
            {
                "schema": "rigfit.report/1",
                "n_tables": len(rep.tables),
                "n_charts": len(rep.charts),
                "files": files,
            }
        )
        return
    console.print(f"Wrote {len(rep.tables)} tables and {len(rep.charts)} charts:", highlight=False)
    for kind in ("markdown", "html", "charts"):
        for f in files[kind]:
            console.print(f"  {escape(clean_text(f))}", highlight=False)
