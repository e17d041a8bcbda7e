"""The steps of ``rigfit run`` as library calls: plan a reference before anything is downloaded,
fetch it, and load it with a verification (the CLI renders between the steps).

:func:`prepare` resolves the reference (local first, then the Hub's metadata and the GGUF header
only), and plans it; :func:`load_and_verify` launches the server and compares its buffers with the
plan; :func:`retry_plan` is the re-plan of a failed verification.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rigfit.formats.source import load_model_source
from rigfit.measure.llamacpp_log import BufferLog, parse_log
from rigfit.plan import Plan, PlanSettings, make_plan
from rigfit.run.fetch import (
    ModelFile,
    check_disk_space,
    fetch_headers,
    resolve_local,
    resolve_remote,
    temp_header_dir,
)
from rigfit.run.launch import LaunchError, LaunchSpec, ServerProcess, launch_spec
from rigfit.run.verify import Verification, compare, replan


@dataclass
class Prepared:
    """A reference resolved and planned: the file (on disk or to download) and its plan."""

    model: ModelFile
    plan: Plan


def prepare(
    ref: str,
    machine: Any,
    settings: PlanSettings,
    quant: str | None = None,
    revision: str = "main",
    check_disk: bool = True,
) -> Prepared:
    """Resolve ``ref`` and plan it on ``machine``; a remote file is planned from its GGUF header
    (fetched alone) before any download. ``check_disk``: stop before fetching anything when the
    disk cannot hold the download (off for a dry run, which only reports it)."""
    model = resolve_local(ref, quant)
    if model is None:
        model = resolve_remote(ref, quant, revision)
    if model.needs_download and check_disk:
        check_disk_space(model)
    if model.needs_download:
        with temp_header_dir() as tmp:
            spec = load_model_source(str(fetch_headers(model, tmp)))
        spec = replace(spec, path=str(model.path))
    else:
        spec = load_model_source(str(model.path))
    return Prepared(model, make_plan(spec, machine, settings))


@dataclass
class Loaded:
    """A load attempt: the server (None when it failed to start), what llama.cpp logged, the check."""

    server: ServerProcess | None
    log: BufferLog
    verification: Verification
    error: str | None = None


def load_and_verify(
    plan: Plan,
    spec: LaunchSpec,
    log_path: str | Path,
    binary: str | None,
    tolerance_bytes: int | None = None,
    timeout_s: float = 600.0,
) -> Loaded:
    """Start the server of ``spec`` and compare llama.cpp's buffers with ``plan``. A server that
    does not come up is a failed load (status "oom" or "failed"), not an exception."""
    server = ServerProcess(spec, log_path, binary)
    try:
        server.start(timeout_s)
    except LaunchError as exc:
        log = parse_log(server.log_text())
        log.ok = False
        return Loaded(None, log, compare(plan, log, tolerance_bytes), exc.message)
    log = parse_log(server.log_text())
    return Loaded(server, log, compare(plan, log, tolerance_bytes))


def retry_plan(plan: Plan, verification: Verification) -> Plan:
    """The re-plan of a failed or over-margin load (see :func:`rigfit.run.verify.replan`)."""
    return replan(plan, verification)


def same_settings(a: Plan, b: Plan) -> bool:
    """Whether two plans launch llama.cpp the same way (context, layers, experts in RAM)."""
    return (a.n_ctx, a.ngl, a.settings.n_cpu_moe, a.settings.cpu_moe) == (
        b.n_ctx,
        b.ngl,
        b.settings.n_cpu_moe,
        b.settings.cpu_moe,
    )


__all__ = ["Loaded", "Prepared", "launch_spec", "load_and_verify", "prepare", "retry_plan", "same_settings"]
