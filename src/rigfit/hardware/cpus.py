"""CPU sockets: a :class:`~rigfit.hardware.devices.Device` from an overlay ``cpus`` row.

FLOPS are derived from cores × typical all-core clock × FLOP/cycle by ISA, memory bandwidth from
channels × 8 B × MT/s (rules in :mod:`rigfit.hardware.tables`).
"""

from __future__ import annotations

import re

from rigfit.errors import RigfitError
from rigfit.hardware.devices import Device
from rigfit.hardware.tables import cpu_price_row, price_source, price_status, price_usd, slug, source_text
from rigfit.units import GIB

_ARM_ISA = {"NEON", "DOTPROD", "I8MM", "SVE", "SVE2", "BF16"}


def simd_flags(simd: list[str]) -> tuple[str, ...]:
    """llama.cpp-style ISA tags ("AVX2", "AVX512", "AMX") from the overlay's SIMD descriptions."""
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
    if "1 FMA unit" in joined:  # Xeon Silver / Gold 5xxx: one 512-bit FMA port = 16 lanes × 2
        return 32
    if not any(s.upper().startswith("AVX") for s in simd) and any(s.upper() in _ARM_ISA for s in simd):
        return 16  # Arm cores: 2 × 128-bit NEON FMA pipes = 2 × 4 lanes × 2 (wider cores set it per row)
    if (
        "Xeon" in micro
        or any(k in micro for k in ("Sapphire", "Granite", "Cascade", "Emerald", "Skylake-SP", "Ice Lake-SP"))
    ) and "AVX-512" in joined:
        return 64
    return 32


def _int8_per_cycle(simd: list[str], fp32_per_cycle: int) -> int:
    joined = " ".join(simd).upper()
    if not any(s.upper().startswith("AVX") for s in simd) and any(s.upper() in _ARM_ISA for s in simd):
        # Arm: SDOT/UDOT (DOTPROD) and SMMLA (I8MM) do 4 INT8 products per FP32 lane, plain NEON 2
        return fp32_per_cycle * (4 if ("DOTPROD" in joined or "I8MM" in joined) else 2)
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
    terms = [f"{cores_p} cores × {ghz_p:.2f} GHz × {fp32_pc} FLOP/cycle"] if cores_p else []
    if cores_e:
        terms.append(f"{cores_e} E-cores × {ghz_e:.2f} GHz × {e_fp32_pc} FLOP/cycle")
    rule = "derived: " + " + ".join(terms)
    rule += " (typical all-core clock = (base+boost)/2; FLOP/cycle by ISA, see rigfit.hardware.tables)"
    return fp32, int8, rule


def int8_rule(cores_p: int, ghz_p: float, cores_e: int, ghz_e: float, int8_pc: int) -> str:
    """The rule text of :func:`cpu_estimates`'s INT8 figure (E-cores at most 64 OP/cycle)."""
    terms = [f"{cores_p} cores × {ghz_p:.2f} GHz × {int8_pc} INT8 OP/cycle"] if cores_p else []
    if cores_e:
        terms.append(f"{cores_e} E-cores × {ghz_e:.2f} GHz × {min(int8_pc, 64)} INT8 OP/cycle")
    return "derived: " + " + ".join(terms) + " (typical all-core clock = (base+boost)/2; OP/cycle by ISA)"


def _clocks(entry: dict) -> tuple[float, float, str]:
    """(P-core, E-core typical all-core clock [GHz], assumption text) of a CPU row.

    Typical all-core clock under AVX load = (base + boost) / 2 (assumption). A row without a base
    clock uses its boost clock (optimistic; said in the sources), one without clocks 3.0 GHz.
    E-cores without their own clocks run at the P-core figure (assumption, said).
    """
    base, boost = entry.get("base_ghz"), entry.get("boost_ghz")
    note = ""
    if base and boost:
        ghz_p = (base + boost) / 2
    elif boost or base:
        ghz_p = float(boost or base or 0.0)
        note = "; base clock unknown: the boost clock is used (optimistic)"
    else:
        ghz_p = 3.0
        note = "; clocks unknown: 3.0 GHz assumed"
    e = entry.get("e_cores") or 0
    if entry.get("e_base_ghz") or entry.get("e_boost_ghz"):
        lo, hi = (
            entry.get("e_base_ghz") or entry.get("e_boost_ghz"),
            entry.get("e_boost_ghz") or entry["e_base_ghz"],
        )
        ghz_e = (lo + hi) / 2 if entry.get("e_base_ghz") and entry.get("e_boost_ghz") else float(hi)
    elif e:
        ghz_e = ghz_p
        note += "; E-core clock unknown: taken as the P-core clock"
    else:
        ghz_e = 0.0
    return ghz_p, ghz_e, note


def _fixed_memory(
    entry: dict, memory_gb: float | None, src: str
) -> tuple[int | None, str | None, str | None]:
    """(bytes, status, note) of a soldered-memory part's configuration (SBC, laptop SoC), or Nones.

    A given size must be one of the part's configurations; without one the part's default (or its
    only) configuration is assumed, with a note.
    """
    configs = entry.get("memory_configs_gb") or []
    if not configs:  # soldered memory of no listed sizes (Snapdragon X laptops): the named size
        fixed = entry.get("memory_fixed") and memory_gb is not None and 0 < memory_gb <= 1024
        return (round(memory_gb * GIB), "user", None) if fixed and memory_gb else (None, None, None)
    if memory_gb is not None:
        hit = next((c for c in configs if abs(c - memory_gb) < 0.6), None)
        if hit is None:
            raise RigfitError(
                f"{entry['name']} has no {memory_gb:g} GB configuration.",
                f"Known configurations: {', '.join(f'{c} GB' for c in configs)}.",
            )
        return hit * GIB, "looked-up", None
    default = entry.get("default_memory_gb")
    if default is None:
        return None, None, None
    if len(configs) == 1:
        return default * GIB, "looked-up", None
    return (
        default * GIB,
        "default",
        f"memory not given: assumed {default} GB (options: {', '.join(str(c) for c in configs)} GB)",
    )


def cpu_device(entry: dict, memory_gb: float | None = None) -> Device:
    """A CPU socket or CPU-only SoC from the overlay's ``cpus`` list.

    memory_gb: the memory size [GB as sold] named with a soldered-memory part ("Raspberry Pi 5
        16GB"); it picks the configuration (Device.memory_bytes). Socketed CPUs ignore it (their
        RAM is a separate part of the machine description).
    """
    simd = list(entry.get("simd") or [])
    micro = entry.get("microarchitecture") or ""
    src = source_text(entry.get("sources") or ["cpu_specs"])
    st = entry.get("status", "from-memory")
    sources: dict[str, str] = {}
    status: dict[str, str] = {}
    ch = entry.get("memory_channels")
    mts = entry.get("max_memory_mt_s")
    bw = ch * 8 * mts * 1e6 if ch and mts else None
    speed = "the part's fixed memory speed" if entry.get("memory_fixed") else "max supported memory speed"
    if bw:
        sources["bandwidth_bytes_per_s"] = (
            f"derived: {ch:g} channels × 8 B × {mts} MT/s ({speed}); channels/speed: {src}"
        )
        status["bandwidth_bytes_per_s"] = "derived"
    else:
        sources["bandwidth_bytes_per_s"] = f"unknown: the memory speed is not in the catalog ({src})"
        status["bandwidth_bytes_per_s"] = "unknown"
    p = entry["p_cores"] if entry.get("p_cores") is not None else entry["cores"]  # 0: E-cores only (N100)
    e = entry.get("e_cores") or 0
    ghz_p, ghz_e, clock_note = _clocks(entry)
    fp32_pc = entry.get("fp32_flop_per_cycle") or _fp32_per_cycle(entry["name"] + " " + micro, simd)
    # E-cores: Gracemont 2 × 128-bit FMA = 16 FLOP/cycle; Skymont (Arrow/Lunar Lake) 4 × 128-bit = 32
    # (Intel Architecture Day 2021 / Lunar Lake disclosure 2024; from memory)
    e_pc = 32 if ("Arrow" in micro or "Skymont" in micro) else min(16, fp32_pc)
    int8_pc = _int8_per_cycle(simd, fp32_pc)
    fp32, int8, rule = cpu_estimates(p, ghz_p, e, ghz_e, fp32_pc, e_pc, int8_pc)
    rule += clock_note
    for f in ("fp32_flops", "fp16_flops", "fp16_fp32acc_flops"):
        sources[f] = rule + (
            "" if f == "fp32_flops" else "; FP16 = FP32 rate (llama.cpp converts F16 to F32)"
        )
        status[f] = "derived"
    sources["int8_ops"] = int8_rule(p, ghz_p, e, ghz_e, int8_pc) + clock_note
    status["int8_ops"] = "derived"
    mem_bytes, mem_status, mem_note = _fixed_memory(entry, memory_gb, src)
    if mem_bytes is not None and mem_status is not None:
        sources["memory_bytes"] = f"configuration {mem_bytes / GIB:g} GB ({src})"
        status["memory_bytes"] = mem_status
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
        "segment": entry.get("segment"),
        "family": entry.get("family"),
        "memory_bus_bits": entry.get("memory_bus_bits"),
        "memory_fixed": bool(entry.get("memory_fixed")),
        "memory_configs_gb": entry.get("memory_configs_gb"),
        "default_memory_gb": entry.get("default_memory_gb"),
        "fp32_flop_per_cycle": fp32_pc,
        "int8_op_per_cycle": int8_pc,
    }
    name = entry["name"]
    prow = cpu_price_row(name)
    price = price_usd(prow)
    if prow is not None and price is not None:
        sources["price_usd"] = price_source(prow) + " (processor only)"
        status["price_usd"] = price_status(prow)
    return Device(
        id=slug(re.sub(r"\s*\(.*?\)", "", name)),
        name=name,
        kind="cpu",
        vendor=entry.get("vendor", ""),
        memory_bytes=mem_bytes,
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
        simd=simd_flags(simd),
        architecture=micro or None,
        release_year=entry.get("release_year"),
        aliases=tuple(entry.get("aliases") or ()),
        sources=sources,
        status=status,
        notes="; ".join(n for n in (entry.get("notes"), mem_note) if n) or None,
        extra=extra,
    )
