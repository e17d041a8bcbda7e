"""CPU sockets: a :class:`~rigfit.hardware.devices.Device` from an overlay ``cpus`` row.

FLOPS are derived from cores × typical all-core clock × FLOP/cycle by ISA, memory bandwidth from
channels × 8 B × MT/s (rules in :mod:`rigfit.hardware.tables`).
"""

from __future__ import annotations

import re

from rigfit.hardware.devices import Device
from rigfit.hardware.tables import cpu_price_row, price_source, price_usd, slug, source_text


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
    p = entry["p_cores"] if entry.get("p_cores") is not None else entry["cores"]  # 0: E-cores only (N100)
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
    sources["int8_ops"] = int8_rule(p, ghz_p, e, ghz_e, int8_pc)
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
    price = price_usd(prow)
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
        simd=simd_flags(simd),
        architecture=micro or None,
        release_year=entry.get("release_year"),
        aliases=tuple(entry.get("aliases") or ()),
        sources=sources,
        status=status,
        notes=entry.get("notes"),
        extra=extra,
    )
