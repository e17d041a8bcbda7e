"""Apple Silicon: chip rows, GPU-core bins, memory configurations and name parsing.

``resolve_apple("M3 Max 40-core 128GB")`` reads the chip, the GPU-core bin and the memory size
from free text (missing parts default to the base configuration, with a note);
:func:`apple_device` builds the SoC as a Device and :func:`apple_cpu_device` its CPU cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rigfit.errors import RigfitError
from rigfit.hardware.cpus import cpu_estimates
from rigfit.hardware.devices import Device, with_note
from rigfit.hardware.tables import (
    apple_price_row,
    overlay,
    price_source,
    price_status,
    price_usd,
    slug,
    source_text,
)
from rigfit.units import GB, GIB, TERA


def apple_gpu_memory_fraction(memory_gb: float) -> float:
    """Share of unified memory Metal lets the GPU wire (recommendedMaxWorkingSetSize).

    ≈ 2/3 of RAM up to 36 GB and 3/4 above (docs/research/memory.md §1.8).
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
        price = price_usd(prow)
        sources["price_usd"] = price_source(prow) + f" ({prow['name']})"
        status["price_usd"] = price_status(prow)
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


def pick_config(name: str, memory_gb: float, configs: list[int]) -> int:
    """The configuration [GB] within 0.6 GB of ``memory_gb``; RigfitError naming the known ones."""
    for c in configs:
        if abs(c - memory_gb) < 0.6:
            return c
    raise RigfitError(
        f"{name} has no {memory_gb:g} GB configuration.",
        f"Known configurations: {', '.join(f'{c} GB' for c in configs)}.",
    )


def apple_config(entry: dict, memory_gb: float | None, gpu_cores: int | None) -> AppleConfig:
    """The configuration of chip row ``entry``: given memory [GB] and GPU cores, else its defaults."""
    if memory_gb is None:
        mem, mdef = entry["default_memory_gb"], True
    else:
        mem, mdef = (
            pick_config(re.sub(r"\s*\(.*?\)", "", entry["name"]), memory_gb, entry["memory_configs_gb"]),
            False,
        )
    if gpu_cores is None:
        return AppleConfig(mem, entry["gpu_cores"], mdef, True)
    return AppleConfig(mem, gpu_cores, mdef, False)


_APPLE_RE = re.compile(r"\bm([1-5])(?: mini| pro mini)?(?: (pro|max|ultra))?\b")


def _gpu_cores(s: str, after_chip: str, bins: list[int]) -> int | None:
    """GPU core count named in normalised text ("30 core gpu", "30 gpu", "30 core", or a bare
    number after the chip name), if it is one of the chip's bins."""
    for pat in (r"(\d+) core gpu", r"(\d+) gpu", r"(\d+) core(?! cpu)(?!s)"):
        for x in re.findall(pat, s):
            if int(x) in bins:
                return int(x)
    for x in re.findall(r"\b(\d+)\b(?! gb)", after_chip):
        if int(x) in bins:
            return int(x)
    return None


def _pick_entry(
    family: list[dict], chip: str, cores: int | None, mems: list[float], bins: list[int]
) -> tuple[dict, str | None]:
    """The chip variant (row of ``apple_silicon``) the text means, and a note when assumed."""
    if len(family) == 1:
        return family[0], None
    if cores is not None:
        return next(a for a in family if cores in a["gpu_core_bins"]), None
    for a in family:
        if any(abs(c - mm) < 0.6 for mm in mems for c in a["memory_configs_gb"]) and mems:
            return a, None
    entry = max(family, key=lambda a: a["gpu_cores"])
    return entry, (
        f"{chip}: GPU cores not given, assumed the {entry['gpu_cores']}-core GPU "
        f"(other bins: {', '.join(str(b) for b in bins if b != entry['gpu_cores'])})"
    )


def resolve_apple(text: str) -> Device | None:
    """An Apple chip named in free text ("M2 Max 30-core 64GB"), or None when the text names none."""
    s = text.lower()
    s = re.sub(r"[^a-z0-9]+", " ", s)
    s = re.sub(r"(\d)\s*(gb|gib)\b", r"\1 gb", s)
    s = re.sub(r"\b(\d+)c\b", r"\1 core", s)
    m = _APPLE_RE.search(s)
    if not m:
        return None
    chip = f"Apple M{m.group(1)}" + (f" {m.group(2).capitalize()}" if m.group(2) else "")
    family = [a for a in overlay()["apple_silicon"] if re.sub(r"\s*\(.*?\)", "", a["name"]) == chip]
    if not family:
        return None
    mems = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?) gb", s)]
    bins = sorted({b for a in family for b in a["gpu_core_bins"]})
    cores = _gpu_cores(s, s[m.end() :], bins)
    entry, note = _pick_entry(family, chip, cores, mems, bins)
    if cores is not None and cores not in entry["gpu_core_bins"]:
        cores = None
    mem = None
    if mems:
        valid = [x for x in mems if any(abs(c - x) < 0.6 for c in entry["memory_configs_gb"])]
        mem = valid[-1] if valid else mems[0]
    cfg = apple_config(entry, mem, cores)
    dev = apple_device(entry, cfg)
    return with_note(dev, note)
