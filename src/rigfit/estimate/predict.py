"""Batch speed prediction for published-style cases (``rigfit predict``, calibration, accuracy).

A case names hardware and model the way a benchmark table does. :func:`resolve_case` turns it
into a machine (hardware catalog), a model's per-token work (model catalog + tensor table, scaled
to the published file size when given) and llama.cpp run settings, or into a reason why it
cannot ("unresolved: …" — never a guess). :func:`predict_resolved` runs the speed model.
Resolutions are cached, so thousands of cases take well under a second each batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from rigfit.catalog.arch import FLOAT_FILE_TYPES, ModelSpec, routed_experts_type
from rigfit.catalog.models import match_model
from rigfit.catalog.quant import resolve_file_type
from rigfit.errors import RigfitError, UnknownNameError
from rigfit.estimate.speed import (
    ModelWork,
    RunSettings,
    band,
    build_era,
    build_from_date,
    decode_features,
    kv_bytes_per_elem,
    load_constants,
    make_layout,
    model_work,
    normalise_backend,
    predict_test,
    prefill_features,
)
from rigfit.estimate.speed.bands import vendor_of
from rigfit.estimate.speed.coefficients import centre_in_band
from rigfit.estimate.speed.osdriver import UNKNOWN as UNKNOWN_OS
from rigfit.estimate.speed.osdriver import factor as os_factor
from rigfit.estimate.speed.osdriver import os_of_row, widen_unknown
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.devices import Device, Link, Machine
from rigfit.hardware.links import accelerator_links, parse_link
from rigfit.hardware.names import integrated_gpu_system, resolve_device
from rigfit.inputs import CASE_RANGES, MAX_DEVICES, MAX_NAME_CHARS, range_problem
from rigfit.measure.groundtruth import SpeedCase, case_from_row, normalise_hardware
from rigfit.units import GIB

#: Most host RAM one machine can hold [B], the bound used when a case's RAM is unknown: AMD EPYC
#: 9005 supports up to 6 TB of DDR5 per socket (amd.com EPYC 9005 product specifications), two
#: sockets per board → 12 TB.
MAX_HOST_RAM_BYTES = 12e12

#: Longest notes cell read for -ub / -fa hints [characters].
MAX_NOTES_CHARS = 8192

#: Output columns ``rigfit predict`` adds.
PREDICT_COLUMNS = ("predicted_tps", "predicted_low", "predicted_high", "status")


class Unresolved(Exception):
    """A case the model cannot predict honestly; the message is the reason."""


@dataclass(frozen=True)
class ResolvedCase:
    case: SpeedCase
    machine: Machine
    work: ModelWork
    settings: RunSettings
    kind: str  # pp / tg / pg
    prompt: int
    gen: int
    depth: int
    device_key: str
    hardware_kind: str


# ------------------------------------------------------------------------------------------
# hardware
# ------------------------------------------------------------------------------------------


def _resolve_device_name(candidates: tuple[str, ...]) -> Device:
    last: Exception | None = None
    for name in candidates:
        try:
            return resolve_device(name)
        except RigfitError as exc:  # UnknownNameError, AmbiguousNameError
            last = exc
    raise Unresolved(f"hardware {candidates[0]!r} not in the catalog ({last})")


def _pcie_links(devs: list[Device], host_link: str | None) -> tuple[Link, Link | None]:
    """(host link, GPU-to-GPU link) for discrete GPUs and the optional ``host_link`` column
    ("PCIe 3.0 x16", "PCIe 4.0 x8", "NVLink"): the same rules as a machine description."""
    try:
        kind, gen, lanes = parse_link(host_link) if host_link and host_link.strip() else (None, None, None)
        host, inter, _ = accelerator_links(devs, kind, gen, lanes)
    except RigfitError as exc:
        raise Unresolved(f"host_link {host_link!r}: {exc}") from exc
    if host is None:
        raise Unresolved("no discrete GPU for a PCIe host link")
    return host, inter


#: Backends that run on a GPU: a result naming a CPU that has an integrated GPU, run on one of
#: these, ran on that iGPU.
GPU_BACKENDS = ("CUDA", "ROCm", "Vulkan", "SYCL", "OpenCL", "Metal")


@lru_cache(maxsize=512)
def resolve_hardware(
    published: str, n_devices: int, backend: str | None, host_link: str | None = None
) -> Machine:
    """A :class:`Machine` for a published hardware string, device count, backend and (optional)
    host link such as "PCIe 3.0 x16"."""
    hn = normalise_hardware(published, n_devices)
    devs: list[Device] = []
    for cands, count in zip(hn.candidates, hn.counts, strict=True):
        dev = _resolve_device_name(cands)
        devs.extend([dev] * max(count, 1))
    first = devs[0]
    if first.kind == "cpu" and backend in GPU_BACKENDS and (apu := integrated_gpu_system(first.name)):
        devs = [apu] * len(devs)  # a laptop chip run on Vulkan / SYCL: its iGPU did the work
        first = apu
    if first.kind == "hosted":
        return Machine(name=published, accelerators=tuple(devs))
    if first.kind == "cpu":
        return Machine(name=published, cpu=first, ram_bandwidth_bytes_per_s=first.bandwidth_bytes_per_s)
    if first.kind in ("apple", "apu"):
        mach = Machine(
            name=published,
            accelerators=tuple(devs),
            cpu=first,
            ram_bandwidth_bytes_per_s=first.bandwidth_bytes_per_s,
            unified_memory=True,
            host_link=Link("unified", first.bandwidth_bytes_per_s or 1e11),
        )
        return mach
    host, inter = _pcie_links(devs, host_link)
    return Machine(name=published, accelerators=tuple(devs), interconnect=inter, host_link=host)


# ------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------


def _file_type(quant: str) -> str:
    """A published quant name as llama.cpp's file type ('Q4_K' → 'Q4_K_M', 'MXFP4' → 'MXFP4_MOE'),
    by the quant catalog's one alias table; an unknown name is kept (upper case) and fails later
    with the catalog's message."""
    try:
        return resolve_file_type(quant).name
    except UnknownNameError:
        return quant.strip().upper().replace("-", "_")


def kernel_file_type(spec: ModelSpec) -> str | None:
    """The file type whose kernels a published file runs, for the speed model's quant family.

    A float file ("F16" / "BF16" / "F32") whose routed experts are stored in MXFP4 runs the
    MXFP4 expert kernels, like an MXFP4_MOE file: gpt-oss ships its experts in MXFP4 and the
    converter keeps them (rigfit.estimate.tensors), so llama-bench's "gpt-oss ?B F16"
    (unsloth's gpt-oss-*-F16.gguf) is MXFP4 experts with F16 elsewhere, not F16 weights: 65.36 GB
    for 116.83 B parameters, 4.48 bits per weight
    (https://github.com/lhl/strix-halo-testing/blob/5ee14b5b0ecfbd16b7fd0aa41a91581c32b33b61/llm-bench/gpt-oss-120b-F16/raw_runs.jsonl,
    ``model_size`` / ``model_n_params``). Its bytes are already the tensor table's; only the
    kernel family changes. Any other file keeps its own file type."""
    ft = spec.file_type
    if (ft or "").upper() not in FLOAT_FILE_TYPES:
        return ft
    return "MXFP4_MOE" if routed_experts_type(spec.tensors) == "MXFP4" else ft


@lru_cache(maxsize=512)
def resolve_work(
    model: str, family: str, params_b: float | None, quant: str, size_gib: float | None
) -> ModelWork:
    """Per-token work of a published model (catalog architecture + predicted tensor table); its
    ``file_type`` is the one whose kernels the file runs (:func:`kernel_file_type`)."""
    try:
        arch = match_model(model, family or None, params_b)
    except (RigfitError, ValueError) as exc:  # the catalog's own refusals; a defect propagates
        raise Unresolved(f"model {model!r}: {exc}") from exc
    if arch is None:
        raise Unresolved(f"model {model!r} ({family or '?'}, {params_b or '?'} B) not in the catalog")
    if not quant:
        raise Unresolved(f"model {model!r}: quant not given")
    try:
        spec = catalog_model_spec(arch, _file_type(quant))
    except (RigfitError, ValueError) as exc:  # no tensor rules for this quant; a defect propagates
        raise Unresolved(f"model {model!r}: no tensor table for {quant} ({exc})") from exc
    work = model_work(spec)
    kft = kernel_file_type(spec)
    if kft != work.file_type:
        work = replace(work, file_type=kft)
    if size_gib:
        # the published llama-bench size is the real file: scale predicted tensor bytes to it
        pred = work.total_bytes
        if pred > 0:
            ratio = size_gib * GIB / pred
            if 0.5 < ratio < 2.0:
                work = work.scaled(ratio)
    return work


# ------------------------------------------------------------------------------------------
# settings
# ------------------------------------------------------------------------------------------

_UBATCH_RE = re.compile(r"n_ubatch\s*=\s*(\d+)|-ub\s+(\d+)|ubatch\s*(\d+)", re.IGNORECASE)
_BATCH_RE = re.compile(r"n_batch\s*=\s*(\d+)", re.IGNORECASE)
_FA_RE = re.compile(r"-fa\s*1\b|\bFA\s+on\b|flash[_ ]attn\s*=\s*(1|true|on)", re.IGNORECASE)


#: First llama.cpp build whose default is flash attention "auto" (on where the backend supports
#: it): PR #15434 (https://github.com/ggml-org/llama.cpp/pull/15434, merged late August 2025);
#: llama-bench's default is "-fa auto" too (https://github.com/ggml-org/llama.cpp/issues/27086).
#: The build number is that of 2025-09 by BUILD_MONTHS interpolation (b6211 for 2025-08, b6502
#: for 2025-09: the later one, so that a row of the month before the change keeps FA off).
#: A row of an older build that shows no FA column ran without flash attention; from this build
#: on, no FA column means llama.cpp's default.
FA_AUTO_BUILD = 6502


def case_settings(case: SpeedCase) -> RunSettings:
    """llama.cpp settings of a case: columns first, then what the notes say (-ub, -fa)."""
    notes = case.notes or ""
    ub = 512
    m = _UBATCH_RE.search(notes)
    if m:
        ub = int(next(g for g in m.groups() if g))
    nb = 2048
    m = _BATCH_RE.search(notes)
    if m:
        nb = int(m.group(1))
    fa = case.flash_attn
    if fa is None:
        fa = (
            True
            if _FA_RE.search(notes)
            else (False if case.build is not None and case.build < FA_AUTO_BUILD else None)
        )
    backend = normalise_backend(case.backend)
    # a row that states only a date gets the build number of that month (kernel era)
    build = (
        case.build
        if case.build is not None
        else build_from_date(str((case.extra or {}).get("date_or_build") or ""))
    )
    era = build_era(build)
    ngl = case.ngl
    if backend == "Metal" and era == "2023" and ngl is not None and ngl >= 1:
        ngl = None  # old Metal builds: -ngl 1 put the whole model on the GPU
    split = "layer"
    if era == "2023" and case.n_devices > 1 and backend in ("CUDA", "ROCm"):
        split = "row"  # before b1800 (Jan 2024) multi-GPU meant splitting every matmul by rows
    cpu_only = normalise_hardware(case.hardware).cpu_only or backend == "CPU"
    return RunSettings(
        backend=backend,
        ngl=ngl,
        cpu_only=cpu_only,
        threads=case.threads,
        flash_attn=fa,
        build=build,
        n_ubatch=min(ub, nb),
        n_batch=nb,
        split_mode=split,
        rocm_hipblaslt=bool(re.search(r"HIPBLASLT\s*=\s*1", notes)),
        rocm_rocwmma=bool(re.search(r"rocwmma", notes, re.IGNORECASE)),
        os=os_of_row({**(case.extra or {}), "notes": notes}),  # speed/osdriver.py
    )


def resolve_case(case: SpeedCase) -> ResolvedCase:
    """Everything the speed model needs for one case, or :class:`Unresolved` with the reason."""
    if case.test is None:
        raise Unresolved(case.test_error or f"test {case.test_name!r} not understood")
    if not case.hardware:
        raise Unresolved("hardware missing")
    _check_n_devices(case)
    _check_case_bounds(case)
    host_link = str((case.extra or {}).get("host_link") or "").strip() or None
    machine = resolve_hardware(case.hardware, case.n_devices, case.backend or None, host_link)
    if machine.accelerators and machine.accelerators[0].kind == "hosted":
        raise Unresolved("hosted system: speed comes from published figures, not llama.cpp")
    work = resolve_work(case.model, case.model_family, case.params_b, case.quant, case.model_size_gib)
    t = case.test
    settings = case_settings(case)
    kind = t.kind
    if kind == "tg":
        prompt, gen, depth = 0, t.gen, t.depth
    elif kind == "pp":
        prompt, gen, depth = t.prompt, 0, t.depth
    else:
        prompt, gen, depth = t.prompt, t.gen, t.depth
    hk = case.hardware_kind or (machine.accelerators[0].vendor.lower() if machine.accelerators else "cpu")
    return ResolvedCase(
        case,
        machine,
        work,
        settings,
        kind,
        prompt,
        gen,
        depth,
        normalise_hardware(case.hardware).names[0],
        hk,
    )


def _check_n_devices(case: SpeedCase) -> None:
    """The n_devices column, when given, must be a whole number ≥ 1 (the parser reads '-2' or 'abc'
    as 'not given' or a negative count; a batch tool reports the row instead of guessing)."""
    raw = str((case.extra or {}).get("n_devices") or "").strip()
    if not raw:
        return
    try:
        n = float(raw)
    except ValueError:
        n = float("nan")
    if not (math.isfinite(n) and n >= 1 and n == int(n)):
        raise Unresolved(f"n_devices {raw!r} is not a whole number of devices ≥ 1")


def _check_case_bounds(case: SpeedCase) -> None:
    """:class:`Unresolved` for a case outside the sane ranges of :mod:`rigfit.inputs`: names
    longer than MAX_NAME_CHARS (fuzzy matching time grows with them), more than MAX_DEVICES
    devices (one Device object each), token counts beyond MAX_TOKENS (one speed-feature entry per
    512-token chunk), absurd -ngl or thread counts."""
    for what, text in (
        ("hardware", case.hardware),
        ("model", case.model),
        ("backend", case.backend),
        ("model_family", case.model_family),
        ("quant", case.quant),
    ):
        if len(text or "") > MAX_NAME_CHARS:
            raise Unresolved(f"{what} name of {len(text):,} characters (at most {MAX_NAME_CHARS})")
    if len(case.notes or "") > MAX_NOTES_CHARS:
        raise Unresolved(f"notes of {len(case.notes):,} characters (at most {MAX_NOTES_CHARS:,})")
    counts = normalise_hardware(case.hardware, case.n_devices).counts
    total = sum(max(c, 1) for c in counts)
    if total > MAX_DEVICES:
        raise Unresolved(f"{total:,} devices; rigfit models one machine of at most {MAX_DEVICES:,}")
    t = case.test
    values: dict[str, object] = {
        "prompt_tokens": t.prompt if t else None,
        "gen_tokens": t.gen if t else None,
        "depth": t.depth if t else None,
    }
    for column in CASE_RANGES:  # the cells as written: '1e308', 'inf' or '-5' are not dropped silently
        raw = str((case.extra or {}).get(column) or "").strip()
        if raw:
            try:
                values[column + " column"] = float(raw) if len(raw) <= 40 else math.nan
            except ValueError:
                values[column + " column"] = raw
    for column, value in values.items():
        if value is None:
            continue
        problem = range_problem(value, CASE_RANGES[column.removesuffix(" column")], column)
        if problem:
            raise Unresolved(problem)


def kv_cache_bytes(work: ModelWork, n_ctx: int, kv_type: str = "f16") -> float:
    """KV cache of one sequence of ``n_ctx`` tokens [B]: every attention layer caches K and V for
    each context token (sliding-window layers at most their window); recurrent layers none."""
    per = kv_bytes_per_elem(kv_type)
    tot = 0.0
    for elems, win in zip(work.layer_kv_elems, work.layer_window, strict=True):
        tot += elems * (n_ctx if win is None else min(n_ctx, win))
    return tot * per


def check_fits(rc: ResolvedCase) -> None:
    """:class:`Unresolved` ("does not fit: …") when the weights plus the KV cache at the test's
    final context exceed every byte the machine is known to have.

    Fully offloaded runs (no CPU layers) must fit in accelerator memory; runs with CPU layers may
    also use host RAM — when its size is unknown, the most one server holds. Compute buffers are
    left out, so this errs towards 'fits'."""
    n_ctx = rc.depth + rc.prompt + rc.gen
    need = rc.work.total_bytes + kv_cache_bytes(rc.work, n_ctx, rc.settings.kv_type)
    accs = rc.machine.accelerators
    acc_mem = [d.memory_bytes for d in accs]
    full_offload = (
        accs and not rc.settings.cpu_only and (rc.settings.ngl is None or rc.settings.ngl > rc.work.n_layer)
    )
    if full_offload:
        if any(m is None for m in acc_mem):
            return
        have = float(sum(acc_mem))  # type: ignore[arg-type]
        where = f"{have / GIB:,.0f} GiB on the accelerator(s)"
    else:
        ram = rc.machine.ram_bytes
        if ram is None and not accs and rc.machine.cpu is not None:
            ram = rc.machine.cpu.memory_bytes
        known = ram is not None
        have = float(ram if ram is not None else MAX_HOST_RAM_BYTES) + sum(m or 0 for m in acc_mem)
        where = (
            f"{have / GIB:,.0f} GiB of accelerator memory and RAM"
            if known
            else "the 12 TB of RAM the largest two-socket servers hold"
        )
    if need > have:
        raise Unresolved(
            f"does not fit: weights + KV cache at {n_ctx:,} tokens need "
            f"{need / GIB:,.0f} GiB, more than {where}"
        )


def case_features(rc: ResolvedCase, C: dict) -> tuple[dict[str, float], float]:
    """Features of a case's total test time and its token count (for calibration)."""
    layout = make_layout(
        rc.work,
        rc.machine,
        rc.settings.backend,
        rc.settings.ngl,
        rc.settings.cpu_only,
        rc.settings.split_mode,
    )
    if rc.kind == "tg":
        f = decode_features(rc.work, layout, rc.machine, rc.settings, rc.depth, rc.gen, C)
        return {k: v * rc.gen for k, v in f.items()}, float(rc.gen)
    if rc.kind == "pp":
        f, _ = prefill_features(rc.work, layout, rc.machine, rc.settings, rc.prompt, rc.depth, C)
        return f, float(rc.prompt)
    f, _ = prefill_features(rc.work, layout, rc.machine, rc.settings, rc.prompt, rc.depth, C)
    g = decode_features(rc.work, layout, rc.machine, rc.settings, rc.depth + rc.prompt, rc.gen, C)
    out = dict(f)
    for k, v in g.items():
        out[k] = out.get(k, 0.0) + v * rc.gen
    return out, float(rc.prompt + rc.gen)


def predict_resolved(rc: ResolvedCase, C: dict | None = None) -> tuple[float, float, float]:
    """(predicted tokens/s, low p10, high p90) for a resolved case; high ≤ the roofline."""
    C = C or load_constants()
    tps, roof = predict_test(rc.work, rc.machine, rc.settings, rc.kind, rc.prompt, rc.gen, rc.depth, C)
    kind = "tg" if rc.kind == "pg" else rc.kind
    # the OS / driver factor (speed/osdriver.py): 1 and a widened band when the OS is unknown
    vendor, os_name = vendor_of(rc.hardware_kind), rc.settings.os
    tps *= os_factor(C, kind, vendor, rc.settings.backend, os_name)
    lo, hi = band(C, kind, rc.settings.backend, tps, rc.settings.split_mode, rc.hardware_kind)
    lo, hi = widen_unknown(C, kind, vendor, rc.settings.backend, os_name, lo, hi)
    # inside its band
    tps = centre_in_band(C, kind, rc.settings.backend, tps, rc.settings.split_mode, rc.hardware_kind)
    hi = min(hi, roof)
    tps = min(tps, roof)
    return tps, min(lo, tps), max(hi, tps)


def predict_case(
    case: SpeedCase, C: dict | None = None
) -> tuple[float | None, float | None, float | None, str]:
    """(tps, low, high, status) — status 'ok' or 'unresolved: <reason>' (incl. 'does not fit')."""
    try:
        rc = resolve_case(case)
        check_fits(rc)
        tps, lo, hi = predict_resolved(rc, C)
    except Unresolved as exc:
        return None, None, None, f"unresolved: {exc}"
    except ValueError as exc:
        return None, None, None, f"unresolved: {exc}"
    if not math.isfinite(tps) or tps <= 0:
        return None, None, None, "unresolved: no finite prediction"
    return tps, lo, hi, "ok"


def predict_rows(rows: list[dict], C: dict | None = None, os: str = UNKNOWN_OS) -> list[dict]:
    """Copy each row and add predicted_tps / predicted_low / predicted_high / status. ``os``: the
    OS of the rows that state none (``rigfit predict --os``); a row's ``os`` column or notes win."""
    return list(iter_predict_rows(rows, C, os))


def iter_predict_rows(rows: Iterable[dict], C: dict | None = None, os: str = UNKNOWN_OS) -> Iterator[dict]:
    """:func:`predict_rows` one row at a time: memory stays bounded however many rows stream
    through (``rigfit predict`` reads and writes a million-row CSV this way)."""
    C = C or load_constants()
    for r in rows:
        case = case_from_row(r)
        if os != UNKNOWN_OS and os_of_row({**(case.extra or {}), "notes": case.notes or ""}) == UNKNOWN_OS:
            case = replace(case, extra={**(case.extra or {}), "os": os})  # case_settings reads it
        tps, lo, hi, status = predict_case(case, C)
        o = dict(r)
        o["predicted_tps"] = f"{tps:.4g}" if tps is not None else ""
        o["predicted_low"] = f"{lo:.4g}" if lo is not None else ""
        o["predicted_high"] = f"{hi:.4g}" if hi is not None else ""
        o["status"] = status
        yield o


__all__ = [
    "PREDICT_COLUMNS",
    "ResolvedCase",
    "Unresolved",
    "case_features",
    "case_settings",
    "check_fits",
    "iter_predict_rows",
    "kernel_file_type",
    "kv_cache_bytes",
    "predict_case",
    "predict_resolved",
    "predict_rows",
    "resolve_case",
    "resolve_hardware",
    "resolve_work",
]
