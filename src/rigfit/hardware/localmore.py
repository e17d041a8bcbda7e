"""Local detection beyond NVML: AMD and Intel GPUs (sysfs), Jetson and SBC boards, DIMM speed.

Turns what :mod:`rigfit.hardware.probe` read into Devices and host-RAM figures for
:func:`rigfit.hardware.local.build_local_machine`. Pure functions of the facts: tests pass fake
facts (or fake sysfs/proc trees through the probe's roots). Every figure keeps where it was read:
``detected`` status with the sysfs file or tool as its source; a figure derived from detected
ones says so; what cannot be identified is left out of the plan with a note saying how to
describe it instead.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rigfit.errors import RigfitError
from rigfit.hardware.devices import Device
from rigfit.hardware.names import resolve_device
from rigfit.hardware.probe import Board, Dimms, DrmGpu
from rigfit.units import GIB

#: an AMD GPU with at most this much VRAM next to a CPU with an integrated Radeon is taken as that
#: iGPU's BIOS carve-out (typically 0.5–16 GB), not a discrete card [GiB]
_IGPU_CARVE_OUT_MAX_GIB = 16


def _gib(n: int | None) -> str:
    return f"{n / GIB:.1f} GiB" if n else "unknown"


def _identify(g: DrmGpu, extra_names: list[str]) -> Device | None:
    """The catalog GPU of a DRM card: its driver's product name, amd-smi's, then pci.ids candidates,
    with the detected VRAM picking the variant."""
    names = [n for n in [g.product_name, *extra_names, *g.name_candidates] if n]
    mem_gb = round(g.vram_total_bytes / GIB) if g.vram_total_bytes else None
    for hint in (mem_gb, None) if mem_gb else (None,):  # every name with the VRAM size first
        for n in names:
            try:
                dev = resolve_device(n, memory_gb=hint) if hint else resolve_device(n)
            except RigfitError:
                continue
            if dev.kind == "gpu" and not dev.extra.get("generic"):
                return dev
    return None


def drm_accelerators(
    gpus: list[DrmGpu],
    cpu: Device | None,
    amd_smi: list[str],
    nvml_count: int,
    notes: list[str],
    detected: list[str],
) -> list[Device]:
    """Discrete AMD/Intel GPUs found in sysfs as catalog Devices with their detected VRAM.

    Integrated GPUs (an APU's or a CPU's Radeon/Intel graphics) and cards the catalog cannot
    identify are left out with a note; NVIDIA cards are NVML's (a note when NVML saw none).
    """
    out: list[Device] = []
    amd_i = 0
    for g in gpus:
        where = f"{g.vendor} GPU {g.card} ({g.source})"
        if g.vendor == "NVIDIA":
            if nvml_count == 0:
                notes.append(
                    f"{where}: NVIDIA GPU in sysfs but NVML unavailable (install nvidia-ml-py / the driver)"
                )
            continue
        vram = g.vram_total_bytes
        mem = f"VRAM {_gib(vram)}, GTT {_gib(g.gtt_total_bytes)}"
        smi = [amd_smi[amd_i]] if g.vendor == "AMD" and amd_i < len(amd_smi) else []
        amd_i += g.vendor == "AMD"
        integrated = cpu is not None and (
            cpu.kind == "apu"
            or (g.vendor == "AMD" and (vram or 0) <= _IGPU_CARVE_OUT_MAX_GIB * GIB and cpu.vendor == "AMD")
        )
        dev = None if integrated else _identify(g, smi)
        if dev is None:
            what = (
                "integrated GPU" if integrated or (g.vendor == "Intel" and not vram) else "GPU not identified"
            )
            detected.append(f"{where}: {what}; {mem}")
            if not integrated:
                notes.append(
                    f"{where}: {what} ({mem}): not used for the plan; describe it instead, "
                    "e.g. '16 GB VRAM 448 GB/s GPU'"
                )
            continue
        sources, status = dict(dev.sources), dict(dev.status)
        if vram:
            sources["memory_bytes"] = f"{g.source}/mem_info_vram_total"
            status["memory_bytes"] = "detected"
        extra = {
            **dev.extra,
            "drm_card": g.card,
            "gtt_total_bytes": g.gtt_total_bytes,
            "pci_device_id": g.device_id,
        }
        out.append(
            replace(dev, memory_bytes=vram or dev.memory_bytes, sources=sources, status=status, extra=extra)
        )
        detected.append(f"{where}: {dev.name}; {mem}")
    return out


def apu_memory_note(gpus: list[DrmGpu]) -> str | None:
    """What amdgpu reports for an APU's iGPU (Strix Halo): VRAM carve-out and GTT, as llama.cpp sees them."""
    amd = [g for g in gpus if g.vendor == "AMD" and (g.vram_total_bytes or g.gtt_total_bytes)]
    if not amd:
        return None
    g = amd[0]
    total = (g.vram_total_bytes or 0) + (g.gtt_total_bytes or 0)
    return (
        f"detected by amdgpu ({g.source}): VRAM {_gib(g.vram_total_bytes)} + GTT {_gib(g.gtt_total_bytes)} = "
        f"{_gib(total)} the iGPU can allocate (llama.cpp's ROCm/Vulkan backends use both)"
    )


_BOARD_NOISE = re.compile(
    r"\b(?:developer kit|dev kit|engineering reference|model [a-z]|rev(?:ision)? [\d.]+)\b", re.I
)


def board_device(board: Board, ram_bytes: int | None) -> Device | None:
    """The catalog device of a board model ("NVIDIA Jetson AGX Orin Developer Kit", "Raspberry Pi 5
    Model B Rev 1.0"), with the detected RAM picking the configuration; None if not in the catalog."""
    if not board.model:
        return None
    model = _BOARD_NOISE.sub(" ", board.model)
    model = re.sub(r"\s+", " ", model).strip()
    hints: list[int | None] = [None]
    if ram_bytes:
        # the OS sees a little less than the module's RAM: try the sizes just above it
        hints = [*[c for c in (1, 2, 4, 8, 16, 32, 64, 128) if c * GIB >= ram_bytes * 0.97][:1], None]
    for hint in hints:
        try:
            dev = resolve_device(f"{model} {hint}GB" if hint else model)
        except RigfitError:
            continue
        if dev.kind in ("cpu", "apu"):
            return dev
    return None


def dimm_bandwidth(dimms: Dimms, cpu: Device | None) -> tuple[float, str, str] | None:
    """(host RAM bandwidth [B/s], memory type, source) from dmidecode's DIMMs.

    Channels = min(populated DIMMs, the CPU's channels): with two DIMMs per channel this counts
    DIMMs the board puts on one channel at most once per channel (estimate, said in the source).
    """
    if not dimms.configured_mt_s or not dimms.populated:
        return None
    cpu_ch = cpu.extra.get("memory_channels") if cpu is not None else None
    ch = min(dimms.populated, cpu_ch) if cpu_ch else min(dimms.populated, 2)
    basis = f"the {cpu.name}'s {cpu_ch} channels" if cpu_ch and cpu is not None else "2 channels assumed"
    bw = ch * 8 * dimms.configured_mt_s * 1e6
    src = (
        f"derived: {ch:g} channels (estimated: {dimms.populated} populated DIMMs, at most {basis}) × 8 B × "
        f"{dimms.configured_mt_s} MT/s configured ({dimms.source})"
    )
    return bw, f"{dimms.memory_type or 'DDR'}-{dimms.configured_mt_s}", src
