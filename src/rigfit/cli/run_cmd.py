"""``rigfit run``: plan a model for this machine, fetch the GGUF the plan names, serve it with the
plan's settings, and check at load time that llama.cpp's buffers match the plan."""

from __future__ import annotations

import functools
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table

from rigfit.cli.app import app, console, err_console, print_json
from rigfit.errors import RigfitError
from rigfit.inputs import check_ctx
from rigfit.options import parse_split
from rigfit.units import GIB, MIB

_H_MODEL = (
    "GGUF file, ollama:NAME, or a Hugging Face repo: org/repo:Q4_K_M or org/repo/file.gguf "
    "(a copy already in the HF cache or LM Studio's folder is reused)."
)
_H_ENGINE = (
    "llama-server binary to run (path or name on PATH); 'bundled' = the xllamacpp server. "
    "Default: llama-server if on PATH, else the bundled server."
)
_H_CTX = "Context in tokens (default 4096; 0 = training context)."
_H_DRY = "Print the plan, the exact command and the download; start nothing."
_H_RETRY = "When the load fails or breaks the margin, relaunch once with the re-planned settings."
_H_FORCE = "Launch even when the plan says it does not fit."
_H_BENCH = "Measure pp128 / tg32 through the server and store it like rigfit bench."
_H_FIT = (
    "Also run llama.cpp's llama-fit-params (on PATH, or --fit-params-bin) on the same file and "
    "settings and show its choice next to rigfit's."
)
_H_TOL = "Allowed planned-vs-real difference per buffer [MiB] (default: 1 MiB, compute: the plan's band)."


def _ngl(text: str | None) -> int | None:
    if text is None or text.lower() in ("all", "auto"):
        return None
    try:
        n = int(text)
    except ValueError:
        raise RigfitError(f"--ngl must be a number of layers or 'all', got {text!r}.") from None
    if n < 0:
        raise RigfitError(f"--ngl must be ≥ 0 or 'all', got {n}.")
    return n


def _engine(engine_bin: str | None) -> str | None:
    """The llama-server binary, or None for the bundled xllamacpp server."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    import shutil

    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.measure.bench import require_xllamacpp
    from rigfit.run.launch import find_engine

    if engine_bin == "bundled":
        require_xllamacpp()
        return None
    if engine_bin:
        return find_engine(engine_bin)
    found = shutil.which("llama-server")
    if found:
        return found
    require_xllamacpp()
    return None


@app.command()
def run(
    model: Annotated[str, typer.Argument(help=_H_MODEL)],
    on: Annotated[str, typer.Option("--on", help="Machine to plan for (default: this one).")] = "local",
    quant: Annotated[str | None, typer.Option("--quant", "-q", help="File type for a repo (Q4_K_M).")] = None,
    revision: Annotated[str, typer.Option("--revision", help="Hub revision (branch, tag, commit).")] = "main",
    ctx: Annotated[int | None, typer.Option("--ctx", "-c", help=_H_CTX)] = None,
    ngl: Annotated[str | None, typer.Option("--ngl", help="GPU layers (default: all that fit).")] = None,
    fa: Annotated[str, typer.Option("--fa", help="Flash attention: auto | on | off.")] = "auto",
    kv_type: Annotated[str, typer.Option("--kv-type", help="KV cache type: f16 | q8_0 | q4_0.")] = "f16",
    parallel: Annotated[int, typer.Option("--parallel", "-np", help="Slots (-np).")] = 1,
    kv_unified: Annotated[bool, typer.Option("--kv-unified", help="Shared KV (-kvu).")] = False,
    ubatch: Annotated[int, typer.Option("--ubatch", "-ub", help="Physical batch (-ub).")] = 512,
    swa_full: Annotated[bool, typer.Option("--swa-full", help="Full-size SWA cache.")] = False,
    cpu_moe: Annotated[bool, typer.Option("--cpu-moe", help="Experts in RAM.")] = False,
    n_cpu_moe: Annotated[int, typer.Option("--n-cpu-moe", help="Experts of the first N layers in RAM.")] = 0,
    no_kv_offload: Annotated[bool, typer.Option("--no-kv-offload", help="KV cache in RAM.")] = False,
    tensor_split: Annotated[str | None, typer.Option("--tensor-split", "-ts", help="GPU shares.")] = None,
    llama_build: Annotated[str | None, typer.Option("--llama-build", help="Build profile to plan.")] = None,
    margin: Annotated[float, typer.Option("--margin", help="Free memory to keep per device \\[GiB].")] = 1.0,
    threads: Annotated[int | None, typer.Option("--threads", "-t", help="CPU threads.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 = any free port).")] = 8080,
    engine_bin: Annotated[str | None, typer.Option("--engine-bin", help=_H_ENGINE)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_H_DRY)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: the plan as JSON.")] = False,
    retry: Annotated[bool, typer.Option("--retry", help=_H_RETRY)] = False,
    force: Annotated[bool, typer.Option("--force", help=_H_FORCE)] = False,
    tolerance: Annotated[float | None, typer.Option("--tolerance", help=_H_TOL)] = None,
    bench: Annotated[bool, typer.Option("--bench", help=_H_BENCH)] = False,
    compare_fit: Annotated[bool, typer.Option("--compare-fit", help=_H_FIT)] = False,
    fit_params_bin: Annotated[
        str | None, typer.Option("--fit-params-bin", help="llama-fit-params to run (path or name).")
    ] = None,
    no_warmup: Annotated[bool, typer.Option("--no-warmup", help="Skip llama.cpp's warm-up run.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not save the run.")] = False,
) -> None:
    """Plan, fetch and serve a model with llama.cpp; verify the plan when it loads.

    Plans for this machine, fetches the GGUF the plan names (resumable, sha256-checked, free disk
    checked first), starts an OpenAI-compatible server with exactly the plan's settings, prints
    its URL, and compares every buffer llama.cpp allocates with the plan (stored in the results
    store). Ctrl-C stops the server and frees the port.

    Examples:

      rigfit run ~/models/Qwen3-8B-Q4_K_M.gguf

      rigfit run unsloth/Qwen3-8B-GGUF:Q4_K_M --ctx 16384 --dry-run

      rigfit run bartowski/Llama-3.2-3B-Instruct-GGUF:Q5_K_M --port 0 --bench

      rigfit run ollama:llama3.2 --dry-run --json
    """
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.catalog.quant import resolve_kv_type
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.plan import PlanSettings
    from rigfit.run.session import prepare

    _check(fa, ctx, port, margin, tolerance, threads, as_json, dry_run)
    kv = resolve_kv_type(kv_type).name
    settings = PlanSettings(
        n_ctx=ctx,
        ngl=_ngl(ngl),
        flash_attn=fa,
        kv_type_k=kv,
        kv_type_v=kv,
        n_parallel=parallel,
        kv_unified=kv_unified,
        n_ubatch=ubatch,
        swa_full=swa_full,
        cpu_moe=cpu_moe,
        n_cpu_moe=n_cpu_moe,
        no_kv_offload=no_kv_offload,
        tensor_split=parse_split(tensor_split),
        llama_build=llama_build,
        margin_bytes=int(margin * GIB),
    )
    binary = _engine(engine_bin) if not dry_run else (None if engine_bin in (None, "bundled") else engine_bin)
    fit_bin = _fit_params_bin(compare_fit, fit_params_bin)
    prep = prepare(model, resolve_machine(on), settings, quant, revision, check_disk=not dry_run)
    opts = _Opts(
        threads,
        host,
        port,
        not no_warmup,
        binary,
        None if tolerance is None else int(tolerance * MIB),
        retry,
        bench,
        not no_store,
        fit_bin,
    )
    if dry_run:
        _dry_run(prep, opts, as_json)
        return
    if prep.plan.fit == "no" and not force:
        _render_plan(prep.plan)
        notes = [n for n in prep.plan.notes if n.startswith("Does not fit")]
        raise RigfitError(
            "The plan says this does not fit on this machine, so nothing was started.",
            (notes[0] if notes else "Try a smaller --ctx or --quant.") + " (--force starts it anyway.)",
        )
    _serve(prep, opts)


@dataclass(frozen=True)
class _Opts:
    """How to serve: threads, address, warm-up, engine binary (None: bundled), tolerance [B],
    --retry, --bench, store the run, llama-fit-params to compare with (None: no comparison)."""

    threads: int | None
    host: str
    port: int
    warmup: bool
    binary: str | None
    tolerance: int | None
    retry: bool
    bench: bool
    store: bool
    fit_bin: str | None = None


def _check(
    fa: str,
    ctx: int | None,
    port: int,
    margin: float,
    tolerance: float | None,
    threads: int | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    if fa not in ("auto", "on", "off"):
        raise RigfitError(f"--fa must be auto, on or off, got {fa!r}.")
    check_ctx(ctx)
    if not 0 <= port <= 65535:
        raise RigfitError(f"--port must be 0–65535, got {port}.", "0 picks any free port.")
    if margin < 0:
        raise RigfitError(f"--margin must be ≥ 0 GiB, got {margin:g}.")
    if tolerance is not None and tolerance < 0:
        raise RigfitError(f"--tolerance must be ≥ 0 MiB, got {tolerance:g}.")
    if threads is not None and threads < 1:
        raise RigfitError(f"--threads must be at least 1, got {threads}.")
    if as_json and not dry_run:
        raise RigfitError(
            "--json needs --dry-run (a running server prints its URL and a table).",
            "rigfit run MODEL --dry-run --json",
        )


# ---------------------------------------------------------------------------------------------
# dry run
# ---------------------------------------------------------------------------------------------


def _dry_run(prep, opts: _Opts, as_json: bool) -> None:
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.run.launch import command_line, launch_spec, llama_server_args

    spec = launch_spec(
        prep.plan, prep.model.path, threads=opts.threads, host=opts.host, port=opts.port, warmup=opts.warmup
    )
    args = llama_server_args(spec, opts.binary or "llama-server")
    if as_json:
        fit = _compare_fit(prep, spec, opts, quiet=True)
        print_json(
            {
                "schema": "rigfit.run/1",
                "plan": prep.plan.to_json(),
                "launch": spec.to_json(),
                "command": args,
                "command_line": command_line(args),
                "engine": opts.binary or "bundled xllamacpp (same settings)",
                "download": prep.model.to_json(),
                **({"compare_fit": fit} if fit is not None else {}),
            }
        )
        return
    _render_plan(prep.plan)
    _render_download(prep.model)
    console.print("\n[bold]Command[/] (not started): " + escape(command_line(args)), soft_wrap=True)
    if not opts.binary:
        console.print(
            "  [dim]rigfit run starts the same settings in the bundled xllamacpp server unless "
            "--engine-bin names a llama-server.[/]"
        )
    _compare_fit(prep, spec, opts)


def _fit_params_bin(compare_fit: bool, given: str | None) -> str | None:
    """The llama-fit-params to compare with (None without --compare-fit); refused up front when
    asked for and not found."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.run.fitparams import FIT_PARAMS_BIN, find_fit_params

    if not compare_fit:
        if given:
            raise RigfitError("--fit-params-bin needs --compare-fit.", "rigfit run MODEL --compare-fit")
        return None
    found = find_fit_params(given)
    if found is None:
        raise RigfitError(
            f"--compare-fit: {FIT_PARAMS_BIN} is not on PATH.",
            "Build it with llama.cpp (cmake target llama-fit-params) or give --fit-params-bin PATH.",
        )
    return found


def _compare_fit(prep, spec, opts: _Opts, quiet: bool = False) -> dict | None:
    """Run llama-fit-params on the same file and settings; print its choice next to the plan's
    (unless ``quiet``) and return both as JSON (None without --compare-fit)."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.run.fitparams import comparison_rows, fit_params_args, run_fit_params
    from rigfit.run.launch import command_line

    if not opts.fit_bin:
        return None
    if not Path(spec.model_path).is_file():
        why = "the model file is not on disk yet (run without --dry-run to fetch it first)"
        if not quiet:
            console.print(f"[yellow]--compare-fit: skipped; {why}.[/]", soft_wrap=True, highlight=False)
        return {"command": None, "choice": None, "problem": why}
    args = fit_params_args(spec, opts.fit_bin, prep.plan.settings)
    if not quiet:
        console.print(
            f"\nRunning llama.cpp's fit: {escape(command_line(args))}", soft_wrap=True, highlight=False
        )
        _flush()
    got = run_fit_params(args)
    out: dict = {"command": args, "choice": None, "problem": got.problem}
    if got.choice is None:
        if not quiet:
            console.print(
                f"[yellow]llama-fit-params gave no choice: {escape(got.problem or '?')}.[/]", soft_wrap=True
            )
        return out
    rows = comparison_rows(spec, got.choice)
    out["choice"] = {
        "n_ctx": got.choice.n_ctx,
        "n_gpu_layers": got.choice.n_gpu_layers,
        "tensor_split": list(got.choice.tensor_split) if got.choice.tensor_split else None,
        "overrides": list(got.choice.overrides),
    }
    out["agree"] = all(same for *_, same in rows)
    if not quiet:
        t = Table(
            title="rigfit's plan vs llama.cpp's fit (llama-fit-params, this machine's free memory)",
            title_justify="left",
        )
        for col in ("setting", "rigfit (plan)", "llama-fit-params", ""):
            t.add_column(col)
        for name, ours, theirs, same in rows:
            t.add_row(name, escape(ours), escape(theirs), "same" if same else "[yellow]differs[/]")
        console.print(t)
    return out


def _render_download(model) -> None:
    if not model.remote:
        console.print(f"Model file: {escape(str(model.path))} ({model.source}, on disk)", soft_wrap=True)
        return
    if not model.needs_download:
        console.print(f"Model file: {escape(str(model.path))} (in the HF cache)", soft_wrap=True)
        return
    total = sum(f.size_bytes for f in model.remote)
    names = ", ".join(f.filename for f in model.remote)
    console.print(
        f"Download: {escape(model.repo or '')}/{escape(names)} at {model.remote[0].commit[:12]}, "
        f"{total / 1e9:.2f} GB ({model.download_bytes / 1e9:.2f} GB left), sha256-checked, to "
        f"{escape(str(model.path))}",
        soft_wrap=True,
    )


def _render_plan(plan) -> None:
    p = plan
    arch = p.model.arch
    console.print(
        f"[bold]{escape(arch.name or arch.id)}[/] {escape(p.model.file_type or '')} on "
        f"[bold]{escape(p.machine.name)}[/] — plan: [bold]{p.fit}[/], n_ctx {p.n_ctx:,}, "
        f"ngl {p.ngl}",
        soft_wrap=True,
    )
    for d in p.devices:
        cap = "capacity unknown" if d.capacity_bytes is None else f"of {d.capacity_bytes / GIB:.2f} GiB"
        console.print(
            f"  {escape(d.name)}: {d.total_bytes / GIB:.2f} ± {d.uncertainty_bytes / GIB:.2f} GiB "
            f"(estimated) {cap}",
            highlight=False,
        )
    for n in p.notes:
        console.print(f"  [dim]• {escape(n)}[/]", soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# serving
# ---------------------------------------------------------------------------------------------


def _serve(prep, opts: _Opts) -> None:
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.measure.fingerprint import detect_fingerprint
    from rigfit.measure.store import data_dir, open_store
    from rigfit.run.fetch import download

    _render_plan(prep.plan)
    if prep.model.needs_download:
        _render_download(prep.model)
        _download_with_progress(prep.model, download)
    path = prep.model.path
    if opts.fit_bin:
        # lazy: loaded when the command runs, so `rigfit --help` imports no library code
        from rigfit.run.launch import launch_spec

        spec = launch_spec(prep.plan, path, threads=opts.threads, host=opts.host, port=opts.port)
        _compare_fit(prep, spec, opts)
    fp = detect_fingerprint()
    store = open_store() if opts.store else None
    logs = data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = None
    # Ctrl-C, SIGTERM and SIGHUP (the terminal closed) end the server's process group; SIGINT is
    # set explicitly because a shell starts background jobs with it ignored, and `kill -INT` should
    # still stop the server. kill -9 reaches no handler: the child's PDEATHSIG covers it.
    ending = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in ending}
    try:
        sha = functools.cache(lambda: _sha(prep.model, store))  # hashed once, after the first load
        server, plan = _load(prep.plan, path, opts, store, fp, sha, logs)
        assert server is not None  # _load raises when nothing is serving
        if opts.bench:
            _bench(server, plan, path, store, fp, sha(), opts)
        console.print(f"Serving until Ctrl-C at [bold]{server.url}[/]", highlight=False)
        _flush()
        while server.running():
            time.sleep(0.2)
        raise RigfitError(
            f"llama.cpp exited unexpectedly (code {server.proc.returncode}).",
            f"llama.cpp's log: {server.log_path}",
        )
    except KeyboardInterrupt:
        pass
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the shutdown short
            signal.signal(sig, signal.SIG_IGN)
        if server is not None:
            server.stop()
            port = (server.url or "").rsplit(":", 1)[-1]
            console.print(f"Stopped the server; port {port} is free.", highlight=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if store is not None:
            store.close()


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _flush() -> None:
    sys.stdout.flush()


def _sha(model, store) -> str | None:
    """The model file's sha256: from the Hub or the store's blob name when known, else hashed (once
    per file: the results store caches it by path, size and mtime)."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.run.fetch import known_sha256

    known = known_sha256(model)
    if known or store is None:
        return known
    return store.file_sha256(model.path)


def _load(plan, path: Path, opts: _Opts, store, fp, sha, logs: Path):
    """Load, verify, store; once more with the re-plan when asked. Returns (server or None, plan)."""
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.run.launch import LaunchError, command_line, launch_spec, llama_server_args
    from rigfit.run.session import load_and_verify, retry_plan, same_settings
    from rigfit.run.verify import record_run

    for attempt in (1, 2):
        spec = launch_spec(
            plan, path, threads=opts.threads, host=opts.host, port=opts.port, warmup=opts.warmup
        )
        engine = opts.binary or "bundled xllamacpp server"
        console.print(
            f"\nStarting llama.cpp ({escape(engine)}): "
            f"{escape(command_line(llama_server_args(spec, opts.binary or 'llama-server')))}",
            soft_wrap=True,
            highlight=False,
        )
        _flush()
        log_path = Path(tempfile.mkstemp(prefix="rigfit-run-", suffix=".log", dir=logs)[1])
        loaded = load_and_verify(plan, spec, log_path, opts.binary, opts.tolerance)
        v = loaded.verification
        srv = loaded.server
        if srv is not None:
            console.print(
                f"Listening at [bold]{srv.url}[/] (OpenAI-compatible: {srv.url}/v1/chat/completions)",
                highlight=False,
                soft_wrap=True,
            )
        _warn_cpu_only_engine(plan, srv)
        _render_verification(v)
        _flush()
        if store is not None:
            rec = record_run(
                store,
                plan,
                spec.to_json(),
                v,
                fp,
                model_path=str(path),
                model_sha256=sha(),
                build=srv.build if srv else {},
                load_s=srv.load_s if srv else None,
                log=loaded.log,
                error=loaded.error and f"{v.status}: {loaded.error}",
            )
            console.print(f"Stored as run {rec.run_id} (rigfit results).", style="dim", highlight=False)
        if v.status in ("ok", "deviates"):
            return srv, plan
        if v.status == "failed":  # not a memory problem: no re-plan helps
            raise LaunchError(f"llama.cpp did not load the model: {loaded.error}.", str(log_path))
        new = retry_plan(plan, v)
        _render_replan(plan, new)
        if not opts.retry or attempt == 2 or same_settings(plan, new) or new.fit == "no":
            if srv is None:
                hint = "" if opts.retry else " (--retry applies the re-plan)"
                raise LaunchError(
                    f"llama.cpp did not load the model with the planned settings{hint}.", str(log_path)
                )
            return srv, plan
        if srv is not None:
            srv.stop()
        console.print("--retry: relaunching with the re-planned settings.")
        plan = new
    return None, plan


def _warn_cpu_only_engine(plan, srv) -> None:
    """The plan puts work on GPUs but the engine reports no GPU backend (a CPU-only xllamacpp wheel)."""
    gpus = plan.placement.gpu_devices if plan.placement is not None else ()
    if srv is None or not gpus or srv.build.get("backend") != "CPU":
        return
    devices = escape(", ".join(srv.build.get("devices", [])))
    console.print(
        f"[yellow]The engine has no GPU backend (devices: {devices}) but the plan uses "
        f"{escape(', '.join(gpus))}: the comparison below shows the difference. Give a GPU build "
        "of llama-server with --engine-bin.[/]",
        soft_wrap=True,
        highlight=False,
    )


def _render_verification(v) -> None:
    t = Table(
        title="Buffers: planned (estimated) vs real (measured, llama.cpp's log), MiB", title_justify="left"
    )
    for col in ("device", "buffer", "planned", "real", "real − planned", "tolerance", ""):
        t.add_column(col, justify="left" if col in ("device", "buffer", "") else "right")
    for r in v.rows:
        real = "—" if r.real_bytes is None else f"{r.real_bytes / MIB:,.2f}"
        diff = "—" if r.diff_bytes is None else f"{r.diff_bytes / MIB:+,.2f}".replace("-0.00", "+0.00")
        mark = "[green]ok[/]" if r.agrees else "[red]off[/]"
        t.add_row(
            r.device,
            r.kind,
            f"{r.planned_bytes / MIB:,.2f}",
            real,
            diff,
            f"±{r.tolerance_bytes / MIB:,.2f}",
            mark,
        )
    console.print(t)
    style = {"ok": "bold green", "deviates": "bold yellow"}.get(v.status, "bold red")
    words = {
        "ok": "the real buffers match the plan",
        "deviates": "a buffer differs from the plan beyond "
        "its tolerance (every device still keeps its margin)",
        "over-margin": "the real buffers leave less free memory than the plan's margin",
        "oom": "llama.cpp could not allocate a buffer",
        "failed": "llama.cpp did not load the model",
    }[v.status]
    console.print(
        f"Verified at load: [{style}]{v.status}[/] — {words}; largest |difference| "
        f"{v.max_abs_diff_bytes / MIB:.2f} MiB",
        highlight=False,
        soft_wrap=True,
    )
    if v.status != "ok":
        console.print("  " + escape(v.blame()), soft_wrap=True, highlight=False)
    for n in v.notes:
        console.print(f"  {escape(n)}", soft_wrap=True, highlight=False)


def _render_replan(old, new) -> None:
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.run.session import same_settings

    if new.fit == "no":
        console.print(
            "Re-plan: no setting keeps the margin on this machine "
            "(a smaller --quant or --ctx, or more memory).",
            soft_wrap=True,
        )
        return
    if same_settings(old, new):
        console.print(
            f"Re-plan: the same settings (n_ctx {new.n_ctx:,}, ngl {new.ngl}) are the best this "
            f"machine allows; verdict {new.fit}.",
            soft_wrap=True,
            highlight=False,
        )
        return
    console.print(
        f"Re-planned settings: n_ctx {new.n_ctx:,} (was {old.n_ctx:,}), "
        f"ngl {new.ngl} (was {old.ngl})"
        + (f", --n-cpu-moe {new.settings.n_cpu_moe}" if new.settings.n_cpu_moe else "")
        + f"; verdict {new.fit}. --retry applies them.",
        soft_wrap=True,
        highlight=False,
    )


def _download_with_progress(model, download) -> None:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        tasks: dict[str, TaskID] = {}

        def on_bytes(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done)

        download(model, on_bytes)
    console.print(
        f"Downloaded and sha256-checked: {escape(str(model.path))}", soft_wrap=True, highlight=False
    )


def _bench(server, plan, path: Path, store, fp, sha, opts: _Opts) -> None:
    # lazy: loaded when the command runs, so `rigfit --help` imports no library code
    from rigfit.measure.bench import record_bench
    from rigfit.run.serverbench import bench_server, short_settings

    settings = short_settings(str(path), plan.n_ctx, plan.ngl, server.spec.threads, plan.model.arch.n_vocab)
    console.print("Measuring pp128 / tg32 through the server (2 repeats after a warm-up) …")
    report = bench_server(server.url, settings, server.build)
    report.model_sha256 = sha
    d = report.first
    console.print(
        f"Measured: prefill {d.prefill_tps.median:,.1f} tok/s, decode {d.decode_tps.median:,.1f} "
        f"tok/s, TTFT {d.ttft_s.median * 1000:,.0f} ms (median of {len(d.prefill_tps.samples)})",
        highlight=False,
    )
    if store is not None:
        rec = record_bench(store, report, fp, sha)
        console.print(
            f"Stored as run {rec.run_id} (rigfit results; rigfit calibrate fits this machine).",
            style="dim",
            highlight=False,
        )


__all__ = ["run"]
