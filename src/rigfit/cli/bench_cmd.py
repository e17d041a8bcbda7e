"""``rigfit bench``: measure a model with real llama.cpp and store the result."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rigfit.cli.app import app, console, err_console, print_json
from rigfit.cli.fit import fit_table
from rigfit.errors import RigfitError
from rigfit.jsonout import with_schema


@app.command()
def bench(
    model: str = typer.Argument(
        None, metavar="MODEL.gguf", help="GGUF file to measure (default: the bundled Gemma 3 270M Q4_K_M)."
    ),
    ctx: int = typer.Option(None, "--ctx", help="Context size n_ctx (default: just enough for the tests)."),
    prompt: int = typer.Option(512, "--prompt", help="Prompt tokens per request (prefill test ppN)."),
    gen: int = typer.Option(64, "--gen", help="Tokens generated per request (decode test tgN)."),
    depth: list[int] = typer.Option(
        None, "--depth", help="KV-cache depth to measure at; repeat for several (default: 0)."
    ),
    ngl: int = typer.Option(None, "--ngl", help="Layers offloaded to the GPU (default: llama.cpp's)."),
    threads: int = typer.Option(None, "--threads", help="CPU threads (default: llama.cpp's, the cores)."),
    repeat: int = typer.Option(3, "--repeat", "-r", help="Measured repetitions after one warm-up."),
    timeout: float = typer.Option(600.0, "--timeout", help="Stop a run after this many seconds."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not save the result in the results store."),
) -> None:
    """Measure prefill tok/s, decode tok/s and time to first token with real llama.cpp.

    llama.cpp runs in a child process (a crash or an out-of-memory kill is a failed run, not a
    crashed tool), warms up once, then repeats each test; figures are medians with their spread,
    printed next to rigfit's prediction. Results go to the results store (see rigfit results).

    Examples:

      rigfit bench

      rigfit bench ~/models/Llama-3.1-8B-Instruct-Q4_K_M.gguf --ngl 99 --depth 0 --depth 4096

      rigfit bench --prompt 2048 --gen 128 --repeat 5 --json
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.measure.bench import (
        BenchError,
        BenchSettings,
        check_model_file,
        predict_bench,
        record_bench,
        record_failure,
        require_xllamacpp,
        run_bench,
    )
    from rigfit.measure.fingerprint import detect_fingerprint
    from rigfit.measure.store import open_store

    require_xllamacpp()
    if model is None:
        # lazy: loaded when the command runs, so `rigfit --help` imports no library code
        from rigfit.formats.bundled import bundled_gemma_path

        model = str(bundled_gemma_path())
    path = check_model_file(model)
    settings = BenchSettings(
        model_path=str(path),
        prompt=prompt,
        gen=gen,
        depths=tuple(depth or (0,)),
        n_ctx=ctx,
        ngl=ngl,
        threads=threads,
        repeat=repeat,
        timeout_s=timeout,
    )
    settings.validate()
    fp = detect_fingerprint()
    store = None if no_store else open_store()
    try:
        sha = store.file_sha256(path) if store else None
        prediction = predict_bench(settings, fp.id, store)
        try:
            report = _run_with_progress(settings, run_bench, quiet=json_out)
        except BenchError as exc:
            if store:
                record_failure(store, settings, fp, exc)
            raise
        report.model_sha256 = sha
        report.prediction = prediction
        stored = record_bench(store, report, fp, sha) if store else None
    finally:
        if store:
            store.close()
    if json_out:
        out = with_schema("rigfit.bench/1", report.to_json())
        out["machine"] = fp.to_json()
        out["run_id"] = stored.run_id if stored else None
        print_json(out)
        return
    _render(report, fp, stored)


def _run_with_progress(settings, run_bench, quiet: bool):
    steps = settings.repeat * len(settings.depths) + (1 if settings.warmup else 0)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )
    with progress:
        task = progress.add_task("loading llama.cpp", total=steps)

        def on_event(ev: dict) -> None:
            kind = ev.get("event")
            if kind == "loaded":
                progress.update(task, description="warming up" if settings.warmup else "measuring")
            elif kind in ("warmup", "sample"):
                progress.update(task, advance=1, description="measuring")

        return run_bench(settings, progress=on_event)


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit == "s":
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"
    return f"{v:,.1f}" if v >= 10 else f"{v:.2f}"


def _render(report, fp, stored) -> None:
    s = report.settings
    console.print(f"[bold]{escape(Path(s.model_path).name)}[/] on {escape(fp.label)}", highlight=False)
    build = report.llama_build or {}
    console.print(
        f"llama.cpp via xllamacpp {build.get('xllamacpp', '?')}, {report.threads_used} threads, "
        f"n_ctx {s.ctx}, {s.repeat} repeats after a warm-up; load {report.load_s:.1f} s, "
        f"run {report.wall_s:.1f} s",
        style="dim",
        highlight=False,
    )
    pred = report.prediction or {}
    tests = pred.get("tests", {})
    label = "predicted, calibrated" if pred.get("provenance") == "calibrated" else "estimated"
    label += " (p10–p90)"
    t = Table(title="Measured vs predicted")
    for col, just in (
        ("test", "left"),
        ("measured", "right"),
        ("spread", "right"),
        (label, "right"),
        ("measured / predicted", "right"),
    ):
        t.add_column(col, justify=just)
    for d in report.depths:
        p_pp, p_tg = (tests.get(n, {}) for n in d.planned_tests)
        rows = (
            ("prefill " + d.prefill_test, d.prefill_tps, p_pp.get("tps"), " tok/s"),
            ("decode " + d.decode_test, d.decode_tps, p_tg.get("tps"), " tok/s"),
        )
        for (name, stat, p, unit), band in zip(rows, (p_pp, p_tg), strict=True):
            ratio = f"{stat.median / p:.2f}×" if p else "—"
            shown = "—"
            if p:
                shown = _fmt(p) + unit
                if band.get("low") and band.get("high"):
                    shown += f" ({_fmt(band['low'])}–{_fmt(band['high'])})"
            spread = f"±{stat.stdev:.1f} ({stat.spread_pct:.0f}%)"
            t.add_row(name, _fmt(stat.median) + unit, spread, shown, ratio)
        p_ttft = p_pp.get("ttft_s")
        t.add_row(
            f"TTFT {s.prompt}-token prompt" + (f" @d{d.cached_tokens}" if d.cached_tokens else ""),
            _fmt(d.ttft_s.median, "s"),
            f"±{d.ttft_s.stdev * 1000:.0f} ms",
            _fmt(p_ttft, "s"),
            f"{d.ttft_s.median / p_ttft:.2f}×" if p_ttft else "—",
        )
    console.print(fit_table(console, t, short_headers={"measured / predicted": "ratio"}, drop=("spread",)))
    warning = noise_warning(report)
    if warning:
        console.print(f"warning: {escape(warning)}", style="yellow", highlight=False)
    if "error" in pred:
        console.print(f"No prediction: {escape(pred['error'])}", style="yellow", highlight=False)
    if report.buffers:
        console.print("llama.cpp buffers: " + escape(_buffers_line(report.buffers)), highlight=False)
    if stored:
        console.print(
            f"Stored as run {stored.run_id} (see rigfit results; rigfit calibrate fits this machine).",
            style="dim",
            highlight=False,
        )


#: Relative spread (max − min) / median above which repeats disagree enough to distrust the median.
#: rigfit's own threshold: on an idle machine llama-bench repeats agree within a few per cent
#: (the README's bench run: 2 %); 10 % means something else was using the machine.
NOISY_SPREAD_PCT = 10.0


def noise_warning(report) -> str | None:
    """One line when any measured speed varied by more than :data:`NOISY_SPREAD_PCT` between repeats."""
    noisy = []
    for d in report.depths:
        for name, stat in (
            ("prefill " + d.prefill_test, d.prefill_tps),
            ("decode " + d.decode_test, d.decode_tps),
        ):
            if len(stat.samples) > 1 and stat.spread_pct > NOISY_SPREAD_PCT:
                noisy.append(f"{name} {stat.spread_pct:.0f}%")
    if not noisy:
        return None
    more = max(5, report.settings.repeat * 2)
    return (
        f"repeats disagree by more than {NOISY_SPREAD_PCT:.0f}% ({', '.join(noisy)}): the machine was "
        f"probably busy. Close other programs and rerun with --repeat {more}; calibrate from a quiet run."
    )


def _buffers_line(buffers: dict) -> str:
    parts = [f"{kind} {sum(devs.values()):.1f} MiB" for kind, devs in (buffers.get("buffers") or {}).items()]
    return ", ".join(parts) + (f" (total {buffers['total_mib']:.1f} MiB)" if "total_mib" in buffers else "")


__all__ = ["RigfitError", "bench"]
