"""Per-machine, per-backend buffer offsets fitted from ``rigfit run`` loads (``rigfit calibrate``).

Every ``rigfit run`` stores, per device, the buffers the plan expected and the buffers llama.cpp
logged (:func:`rigfit.run.verify.record_run`, ``buffers.verification.devices``). What a machine's
backend allocates beyond rigfit's buffer model (a driver's padding, a build's extra buffer) shows
up there as a steady difference. Model, per machine fingerprint ``m`` and backend ``b`` (the device
name without its index: ``CUDA0`` → ``CUDA``; ``CPU``):

    real_buffers(device) = planned_buffers(device) + o[m, b]
    o[m, b] = median over loads i and devices d of backend b of (real_i,d − planned_i,d)   [B]

Only loads that completed (verification status ok, deviates or over-margin) count: a failed
load's log is partial. ``planned`` is always the plan's own buffer model, never a plan that already
carried an offset, so refitting does not compound. The offsets are saved with the machine's
calibration (``details.buffer_offsets``); later plans for this machine (``--on local``) add
``o[m, b]`` to each device of that backend (:class:`rigfit.plantypes.DeviceMemory`
``fitted_offset_bytes``), so fit verdicts, ``max_ngl`` and ``rigfit run`` use the measured term.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rigfit.errors import RigfitError
from rigfit.measure.store import Calibration, Run, default_db_path, open_store
from rigfit.units import MIB

#: Verification statuses of a load that completed (its log lists every buffer).
COMPLETE_LOADS = ("ok", "deviates", "over-margin")
#: Where a run's rows come from (rigfit.run.verify.record_run).
RUN_SOURCE = "rigfit run"


@dataclass(frozen=True)
class BackendOffset:
    """A backend's fitted offset: real − planned buffers [B] (median), the loads and device
    samples it rests on, and the samples' range [B]."""

    backend: str
    offset_bytes: int
    n_runs: int
    n_samples: int
    low_bytes: int
    high_bytes: int

    def to_json(self) -> dict:
        return asdict(self)


def backend_of(device: str) -> str:
    """The backend of a plan device name: ``CUDA0`` → ``CUDA``, ``Vulkan1`` → ``Vulkan``, ``CPU``."""
    return re.sub(r"\d+$", "", device) or device


def run_samples(run: Run) -> dict[str, list[int]]:
    """backend → (real − planned) buffers [B] of each device of one completed ``rigfit run`` load."""
    v = (run.buffers or {}).get("verification") or {}
    if run.source != RUN_SOURCE or run.status != "ok" or v.get("status") not in COMPLETE_LOADS:
        return {}
    out: dict[str, list[int]] = {}
    for d in v.get("devices") or ():
        planned, real = d.get("planned_buffers_bytes"), d.get("real_buffers_bytes")
        if isinstance(planned, int) and isinstance(real, int) and (planned or real):
            out.setdefault(backend_of(str(d.get("device", ""))), []).append(real - planned)
    return out


def fit_offsets(runs: Iterable[Run]) -> list[BackendOffset]:
    """One offset per backend seen in completed loads (see the module docstring)."""
    samples: dict[str, list[int]] = {}
    loads: dict[str, int] = {}
    for run in runs:
        for backend, diffs in run_samples(run).items():
            samples.setdefault(backend, []).extend(diffs)
            loads[backend] = loads.get(backend, 0) + 1
    return [
        BackendOffset(b, round(statistics.median(s)), loads[b], len(s), min(s), max(s))
        for b, s in sorted(samples.items())
    ]


def offsets_of(cal: Calibration | None) -> dict[str, int]:
    """backend → offset [B] saved with a calibration ({} when none)."""
    if cal is None or not cal.details:
        return {}
    saved = cal.details.get("buffer_offsets") or {}
    return {
        b: int(o["offset_bytes"]) for b, o in saved.items() if isinstance(o, dict) and "offset_bytes" in o
    }


@functools.cache
def _saved_offsets(db: str, version: tuple[int, ...], machine_id: str) -> dict[str, int]:
    with open_store(db, read_only=True) as store:
        return offsets_of(store.latest_calibration(machine_id))


def _version(db: Path) -> tuple[int, ...]:
    """What changes when the store is written: the file's and its WAL's mtime and size."""
    st = db.stat()
    wal = db.with_name(db.name + "-wal")
    w = wal.stat() if wal.exists() else None
    return (st.st_mtime_ns, st.st_size, w.st_mtime_ns if w else 0, w.st_size if w else 0)


def local_offsets() -> dict[str, int]:
    """This machine's fitted buffer offsets (backend → [B]) from the results store; {} when there
    is no store or no calibration (or one rigfit refuses). Read once per store version."""
    # lazy: the fingerprint reads local hardware facts, only needed once a plan is for this machine
    from rigfit.measure.fingerprint import detect_fingerprint

    db = default_db_path()
    try:
        return dict(_saved_offsets(str(db), _version(db), detect_fingerprint().id))
    except (OSError, RigfitError, sqlite3.Error):  # no store, or one rigfit refuses: plan without
        return {}


def apply_offsets(devices: Iterable[Any], offsets: dict[str, int]) -> None:
    """Add each device's backend offset to it (``fitted_offset_bytes``, labelled in
    ``fitted_offset_source``); devices that hold nothing are left alone."""
    for d in devices:
        o = offsets.get(backend_of(d.name))
        if not o or d.total_bytes == 0:
            continue
        d.fitted_offset_bytes = max(o, -(d.total_bytes - d.overhead_bytes))
        d.fitted_offset_source = (
            f"{o / MIB:+,.2f} MiB: this machine's {backend_of(d.name)} buffers vs the plan, "
            "measured by rigfit run, fitted by rigfit calibrate"
        )


def machine_runs(store: Any, machine_id: str) -> list[Run]:
    """This machine's stored ``rigfit run`` loads."""
    return [r for r in store.runs() if r.machine_id == machine_id and r.source == RUN_SOURCE]


__all__ = [
    "COMPLETE_LOADS",
    "BackendOffset",
    "apply_offsets",
    "backend_of",
    "fit_offsets",
    "local_offsets",
    "machine_runs",
    "offsets_of",
    "run_samples",
]
