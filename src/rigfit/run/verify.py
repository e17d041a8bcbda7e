"""Verify a plan at load time: the buffers llama.cpp allocated against the buffers rigfit planned.

llama.cpp logs every buffer it allocates (``<buffer type> <kind> buffer size = X MiB``, parsed by
:func:`rigfit.measure.llamacpp_log.parse_log`). :func:`compare` puts them next to the plan's
per-device figures, buffer by buffer:

============  ==================================================================================
kind          planned (rigfit.plan.DeviceMemory)          real (llama.cpp buffer types)
============  ==================================================================================
model         weights_bytes + repack_bytes                ``CUDA0``, ``CPU_Mapped``, ``CPU_REPACK`` …
              (CPU: mapped_bytes + repack_bytes)
KV            kv_bytes                                    KV buffers
RS            recurrent_bytes                             recurrent-state buffers
compute       compute_bytes                               compute buffers (``CUDA_Host`` on the CPU)
output        output_bytes                                output buffer
============  ==================================================================================

Buffer types map to a plan device by name: ``CPU*`` and ``*_Host`` (pinned host memory) are the
CPU; ``CUDA0_Mapped`` is ``CUDA0``. A row agrees when the difference is within its tolerance:
1 MiB for weights, KV, recurrent state and output (exact rules, log rounding ±0.005 MiB), the
plan's own band (``DeviceMemory.uncertainty_bytes``) for compute buffers, or the caller's
``tolerance_bytes`` for every row.

Outcome (:attr:`Verification.status`):
    ok            every row agrees and every device keeps the plan's margin;
    deviates      a buffer differs beyond its tolerance, but every device keeps the margin;
    over-margin   with the real buffers (plus the plan's non-buffer overhead) a device keeps less
                  free memory than the plan's margin (``PlanSettings.margin_bytes``);
    oom           llama.cpp failed to allocate a buffer (:func:`load_failure`).

:func:`replan` turns a failed verification into settings that keep the margin: the plan is redone
with the margin widened by what the real buffers exceeded the plan by (or by the allocation that
failed), shrinking the context or the GPU layers as rigfit's planner decides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from rigfit.measure.llamacpp_log import BufferLog
from rigfit.measure.store import Run
from rigfit.plan import make_plan, max_context
from rigfit.units import MIB

KINDS = ("model", "KV", "RS", "compute", "output")
#: Tolerance of the exactly-modelled buffers [B]: llama.cpp logs MiB with two decimals, and the
#: memory oracle (tests/estimate/test_memory_llamacpp.py) holds the model to 1 MiB on them.
EXACT_TOLERANCE = 1 * MIB

# llama.cpp's allocation-failure lines (ggml/src/ggml-backend.cpp alloc_tensor_range, ggml/src/ggml-alloc.c
# ggml_gallocr_reserve_n: "failed to allocate %s buffer of size %zu"; src/llama-kv-cache.cpp: "failed to
# allocate buffer for kv cache"; src/llama-model.cpp: "unable to allocate %s buffer";
# https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-backend.cpp)
_FAIL_SIZE_RE = re.compile(r"failed to allocate (?P<buft>[\w.-]+) buffer of size (?P<size>\d+)")
_FAIL_MODEL_RE = re.compile(r"unable to allocate (?P<buft>[\w.-]+) buffer")
_CUDA_OOM_RE = re.compile(r"allocating (?P<mib>[\d.]+) MiB on device (?P<dev>\d+): \w+ failed: out of memory")
_CPU_OOM_RE = re.compile(r"insufficient memory \(attempted to allocate\s+(?P<mb>[\d.]+) MB\)")


def device_of(buffer_type: str, devices: list[str]) -> str:
    """The plan device that holds a llama.cpp buffer type (``CPU_REPACK`` → ``CPU``,
    ``CUDA_Host`` → ``CPU``, ``CUDA0`` → ``CUDA0``); with one GPU planned, any GPU name maps to it."""
    name = buffer_type
    if name.upper().startswith("CPU") or name.endswith("_Host"):
        return "CPU"
    for suffix in ("_Mapped", "_REPACK", "_Split"):
        name = name.removesuffix(suffix)
    if name in devices:
        return name
    gpus = [d for d in devices if d != "CPU"]
    return gpus[0] if len(gpus) == 1 else name


@dataclass(frozen=True)
class Row:
    """One buffer of one device: planned and real size [B], and the tolerance it is held to [B]."""

    device: str
    kind: str
    planned_bytes: int
    real_bytes: int | None
    tolerance_bytes: int

    @property
    def diff_bytes(self) -> int | None:
        return None if self.real_bytes is None else self.real_bytes - self.planned_bytes

    @property
    def agrees(self) -> bool:
        return self.diff_bytes is None or abs(self.diff_bytes) <= self.tolerance_bytes

    def to_json(self) -> dict:
        return {
            "device": self.device,
            "kind": self.kind,
            "planned_bytes": self.planned_bytes,
            "real_bytes": self.real_bytes,
            "diff_bytes": self.diff_bytes,
            "tolerance_bytes": self.tolerance_bytes,
            "agrees": self.agrees,
        }


@dataclass
class DeviceCheck:
    """One device: planned and real resident buffer totals [B] (a CPU_REPACK copy counted once, as the
    plan counts it), the non-buffer overhead the plan adds, its capacity, and the free memory the real
    buffers leave (None when the capacity is unknown)."""

    device: str
    planned_bytes: int
    real_bytes: int
    overhead_bytes: int
    capacity_bytes: int | None
    margin_bytes: int

    @property
    def free_bytes(self) -> int | None:
        if self.capacity_bytes is None:
            return None
        return self.capacity_bytes - self.real_bytes - self.overhead_bytes

    @property
    def keeps_margin(self) -> bool:
        return self.free_bytes is None or self.free_bytes >= self.margin_bytes

    def to_json(self) -> dict:
        return {
            "device": self.device,
            "planned_buffers_bytes": self.planned_bytes,
            "real_buffers_bytes": self.real_bytes,
            "overhead_bytes": self.overhead_bytes,
            "capacity_bytes": self.capacity_bytes,
            "free_bytes": self.free_bytes,
            "margin_bytes": self.margin_bytes,
            "keeps_margin": self.keeps_margin,
        }


@dataclass(frozen=True)
class LoadFailure:
    """An allocation llama.cpp could not make: buffer kind, plan device, requested size [B] (None
    when the log does not say), and llama.cpp's own error line."""

    kind: str
    device: str
    requested_bytes: int | None
    message: str

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "device": self.device,
            "requested_bytes": self.requested_bytes,
            "message": self.message,
        }


@dataclass
class Verification:
    """The outcome of a load: rows per buffer, checks per device, status, the buffer to blame."""

    status: str
    rows: list[Row]
    devices: list[DeviceCheck]
    failure: LoadFailure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def worst(self) -> Row | None:
        """The buffer the plan got most wrong: beyond its tolerance first, then the largest
        |real − planned| (None without real figures)."""
        rows = [r for r in self.rows if r.diff_bytes is not None]
        return max(rows, key=lambda r: (not r.agrees, abs(r.diff_bytes or 0)), default=None)

    @property
    def max_abs_diff_bytes(self) -> int:
        return max((abs(r.diff_bytes) for r in self.rows if r.diff_bytes is not None), default=0)

    @property
    def excess_bytes(self) -> int:
        """How much more memory the fullest device needs than planned [B] (0 when none)."""
        if self.failure is not None:
            return self.failure.requested_bytes or 0
        return max((d.real_bytes - d.planned_bytes for d in self.devices), default=0)

    def blame(self) -> str:
        """One sentence: which buffer was wrong (or failed), by how much."""
        if self.failure is not None:
            f = self.failure
            size = f" of {f.requested_bytes / MIB:,.2f} MiB" if f.requested_bytes else ""
            return f"llama.cpp could not allocate the {f.kind} buffer{size} on {f.device} ({f.message})."
        w = self.worst
        if w is None:
            return "llama.cpp logged no buffers."
        sign = "+" if (w.diff_bytes or 0) >= 0 else ""
        return (
            f"Largest difference: {w.kind} buffer on {w.device}, planned "
            f"{w.planned_bytes / MIB:,.2f} MiB, "
            f"real {(w.real_bytes or 0) / MIB:,.2f} MiB ({sign}{(w.diff_bytes or 0) / MIB:,.2f} MiB)."
        )

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "rows": [r.to_json() for r in self.rows],
            "devices": [d.to_json() for d in self.devices],
            "max_abs_diff_bytes": self.max_abs_diff_bytes,
            "excess_bytes": self.excess_bytes,
            "blame": self.blame(),
            "failure": self.failure.to_json() if self.failure else None,
            "notes": self.notes,
        }


def planned_buffers(plan: Any) -> dict[str, dict[str, int]]:
    """{device: {kind: bytes}} the plan expects llama.cpp to log."""
    out: dict[str, dict[str, int]] = {}
    for d in plan.devices:
        out[d.name] = {
            "model": (d.mapped_bytes or d.weights_bytes) + d.repack_bytes,
            "KV": d.kv_bytes,
            "RS": d.recurrent_bytes,
            "compute": d.compute_bytes,
            "output": d.output_bytes,
        }
    return out


def real_buffers(log: BufferLog, devices: list[str]) -> dict[str, dict[str, int]]:
    """{device: {kind: bytes}} llama.cpp logged, buffer types mapped to plan devices."""
    out: dict[str, dict[str, int]] = {}
    for kind, by_type in log.buffers.items():
        for buft, mib in by_type.items():
            dev = device_of(buft, devices)
            d = out.setdefault(dev, {})
            d[kind] = d.get(kind, 0) + round(mib * MIB)
    return out


def compare(plan: Any, log: BufferLog, tolerance_bytes: int | None = None) -> Verification:
    """Planned vs real buffers of ``plan`` after a load whose log is ``log`` (see module docstring)."""
    planned = planned_buffers(plan)
    names = [d.name for d in plan.devices]
    real = real_buffers(log, names)
    bands = {d.name: d.uncertainty_bytes for d in plan.devices}
    rows: list[Row] = []
    for dev in [*names, *(d for d in real if d not in names)]:
        p, r = planned.get(dev, {}), real.get(dev, {})
        for kind in KINDS:
            if not p.get(kind) and not r.get(kind):
                continue
            tol = (
                tolerance_bytes
                if tolerance_bytes is not None
                else (max(EXACT_TOLERANCE, bands.get(dev, 0)) if kind == "compute" else EXACT_TOLERANCE)
            )
            rows.append(Row(dev, kind, p.get(kind, 0), r.get(kind, 0) if log.ok or r else None, tol))
    checks = []
    for d in plan.devices:
        # resident memory as the plan counts it: a CPU_REPACK buffer replaces the mmapped originals of
        # the tensors it repacks (they stay only as page cache), so it is not counted twice
        repack = sum(
            round(mib * MIB)
            for name, mib in log.buffers.get("model", {}).items()
            if name.endswith("_REPACK") and device_of(name, names) == d.name
        )
        checks.append(
            DeviceCheck(
                d.name,
                sum(planned[d.name].values()) - d.repack_bytes,
                sum(real.get(d.name, {}).values()) - repack,
                d.overhead_bytes,
                d.capacity_bytes,
                plan.margin_bytes,
            )
        )
    failure = None if log.ok else load_failure(log.log, names)
    if failure is not None or not log.ok:
        status = "oom" if failure is not None else "failed"
    elif not all(c.keeps_margin for c in checks):
        status = "over-margin"
    elif not all(r.agrees for r in rows):
        status = "deviates"
    else:
        status = "ok"
    v = Verification(status, rows, checks, failure)
    for c in checks:
        if not c.keeps_margin and c.free_bytes is not None:
            v.notes.append(
                f"{c.device}: the real buffers leave {c.free_bytes / MIB:,.0f} MiB free, under "
                f"the plan's margin of {c.margin_bytes / MIB:,.0f} MiB."
            )
    return v


def load_failure(text: str, devices: list[str]) -> LoadFailure | None:
    """The allocation llama.cpp failed on, from its log (None when the log shows no allocation failure)."""
    low = text.lower()
    allocation = "failed to allocate" in low or any(
        r.search(text) for r in (_FAIL_SIZE_RE, _FAIL_MODEL_RE, _CUDA_OOM_RE, _CPU_OOM_RE)
    )
    if not allocation:  # e.g. "error loading model: unknown model architecture": not a memory failure
        return None
    if "failed to allocate buffer for kv cache" in low:
        kind = "KV"
    elif "failed to allocate compute" in low:  # "failed to allocate compute (pp) buffers"
        kind = "compute"
    else:
        kind = "model"
    size = buft = None
    for m in _FAIL_SIZE_RE.finditer(text):
        buft, size = m.group("buft"), int(m.group("size"))
    if buft is None and (m2 := _FAIL_MODEL_RE.search(text)):
        buft = m2.group("buft")
    if size is None and (m3 := _CUDA_OOM_RE.search(text)):
        size = round(float(m3.group("mib")) * MIB)
        buft = buft or f"CUDA{m3.group('dev')}"
    if size is None and (m4 := _CPU_OOM_RE.search(text)):
        size = round(float(m4.group("mb")) * 1e6)
        buft = buft or "CPU"
    keys = ("failed to", "unable to allocate", "out of memory")
    line = next((ln for ln in text.splitlines() if any(k in ln.lower() for k in keys)), "")
    msg = re.sub(r"^[\d.]+ [EWI] ", "", line.strip())[:200]
    return LoadFailure(kind, device_of(buft or "CPU", devices), size, msg)


def replan(plan: Any, verification: Verification) -> Any:
    """A plan that keeps the margin given what the load showed: ``make_plan`` again with the margin
    widened by the excess (real − planned on the fullest device, or the allocation that failed); when
    that plan does not fit, the largest context that does. Returns the new ``Plan``."""
    extra = max(0, verification.excess_bytes)
    settings = replace(plan.settings, margin_bytes=plan.settings.margin_bytes + extra)
    if verification.status == "oom" and verification.failure is not None:
        # what llama.cpp could not allocate is at least the shortfall on that device
        extra = max(extra, verification.failure.requested_bytes or 0)
        settings = replace(plan.settings, margin_bytes=plan.settings.margin_bytes + extra)
    new = make_plan(plan.model, plan.machine, settings, with_speed=False)
    if new.fit in ("no", "tight"):
        ctx = max_context(plan.model, plan.machine, settings, limit=max(256, plan.n_ctx - 256))
        if ctx:
            new = make_plan(plan.model, plan.machine, replace(settings, n_ctx=ctx), with_speed=False)
    return new


def record_run(
    store: Any,
    plan: Any,
    launch: dict,
    verification: Verification | None,
    fingerprint: Any,
    *,
    model_path: str,
    model_sha256: str | None,
    build: dict,
    load_s: float | None,
    log: BufferLog | None = None,
    error: str | None = None,
) -> Any:
    """Store one ``rigfit run`` load as a run of the results store (source "rigfit run", no result
    rows): the machine fingerprint, llama.cpp build, launch settings, the plan, the buffers llama.cpp
    logged and the comparison. status "failed" with ``error`` when the load failed."""
    buffers = {
        "real": log.to_json() if log is not None else None,
        "verification": verification.to_json() if verification is not None else None,
    }
    run = Run(
        source="rigfit run",
        machine_id=fingerprint.id,
        model_path=model_path,
        model_sha256=model_sha256,
        llama_build=json.dumps(build),
        settings=launch,
        buffers=buffers,
        prediction=plan.to_json(),
        load_s=load_s,
        status="failed" if error else "ok",
        error=error,
    )
    return store.add_run(run, (), fingerprint=fingerprint)
