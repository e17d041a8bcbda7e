"""The classes the speed model's efficiencies depend on: quant family, build era, device class.

Efficiency depends on the backend, the device class, the quant family and the llama.cpp build era
only, so the model generalises to hardware it has never seen.
"""

from __future__ import annotations

from rigfit.hardware.devices import Device


def quant_family(file_type: str | None) -> str:
    """Kernel family of a llama.cpp file type: f16, q8, q4_0, kquant, iquant, mxfp4."""
    ft = (file_type or "").upper()
    if ft in ("F16", "BF16", "F32"):
        return "f16"
    if ft.startswith("MXFP4"):
        return "mxfp4"
    if ft.startswith("IQ") or ft.startswith("TQ"):
        return "iquant"
    if ft.startswith("Q8"):
        return "q8"
    if ft in ("Q4_0", "Q4_1", "Q5_0", "Q5_1"):
        return "q4_0"
    if "_K" in ft:
        return "kquant"
    return "kquant"


def build_era(build: int | None) -> str:
    """llama.cpp build era: '2023' (< b2000: no CUDA graphs, no ubatch), '2024' (< b3100: no
    MMQ on int8 tensor cores), 'new' (≥ b3100, or unknown = today's llama.cpp)."""
    if build is None:
        return "new"
    if build < 2000:
        return "2023"
    if build < 3100:
        return "2024"
    return "new"


def device_class(dev: Device) -> str:
    """Efficiency class of a device: gpu_hbm, gpu, apple, apu, cpu, hosted."""
    kind = dev.kind
    if kind == "gpu":
        mt = (dev.memory_type or "").upper()
        return "gpu_hbm" if "HBM" in mt else "gpu"
    return kind
