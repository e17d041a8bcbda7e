"""llama.cpp backends: their names, and which one serves a device by default.

The one definition of the device → backend mapping: the memory placement names devices after it
("CUDA0", "ROCm1", "Metal", "Vulkan0") and the speed model picks its efficiency coefficients by it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rigfit.hardware.devices import Device

#: Backends the speed model has coefficients for.
BACKENDS = ("CUDA", "ROCm", "Vulkan", "Metal", "SYCL", "CPU")

#: Device kinds llama.cpp can offload layers to (a GPU backend serves them).
GPU_KINDS = ("gpu", "apu", "apple")


def normalise_backend(name: str | None) -> str | None:
    """'ROCm/HIP', 'HIP' → 'ROCm'; 'Vulkan,RPC' → 'Vulkan'; 'OpenCL (CLBlast)' → 'OpenCL'."""
    if not name:
        return None
    low = name.strip().lower()
    if low.startswith(("rocm", "hip")):
        return "ROCm"
    if low.startswith("vulkan"):
        return "Vulkan"
    if low.startswith("cuda") or low == "cublas":
        return "CUDA"
    if low.startswith("metal") or low == "mps":
        return "Metal"
    if low.startswith("sycl") or "ipex" in low:
        return "SYCL"
    if low.startswith("opencl") or "clblast" in low:
        return "OpenCL"
    if low.startswith("cpu") or low in ("blas", "openblas", "accelerate"):
        return "CPU"
    return name.strip()


def _vendor_words(vendor: str | None) -> set[str]:
    """The words of a device's vendor, lower case ("Advanced Micro Devices [AMD/ATI]" → {…, "amd",
    "ati"}): whole words, so "ati" never matches inside "Corporation"."""
    return set(re.findall(r"[a-z0-9]+", (vendor or "").lower()))


def default_backend(dev: Device) -> str:
    """The llama.cpp backend that serves a device by default: CUDA, ROCm, SYCL, Metal, Vulkan, CPU.

    The vendor's own backend where llama.cpp has one (NVIDIA → CUDA, AMD/ATI → ROCm (HIP), Intel →
    SYCL, Apple → Metal). A GPU or APU of any other vendor (Matrox, Moore Threads, a user row …)
    → Vulkan: llama.cpp's Vulkan backend (ggml-vulkan) enumerates every device with a Vulkan
    driver, whatever its vendor, so it is the backend such a GPU would run. A device that is not
    a GPU at all (a CPU, a hosted system such as Cerebras or Groq) → CPU: llama.cpp has no backend
    that offloads to it, so its layers stay on the host.
    """
    return _backend_of(dev.kind, dev.vendor)


@lru_cache(maxsize=256)  # a ladder asks ~10⁴ times for the same few devices
def _backend_of(kind: str, vendor: str | None) -> str:
    """:func:`default_backend` of a device of this kind and vendor (all it reads of the device)."""
    if kind == "cpu":
        return "CPU"
    words = _vendor_words(vendor)
    if kind == "apple" or "apple" in words:
        return "Metal"
    if kind not in GPU_KINDS:
        return "CPU"
    if "nvidia" in words:
        return "CUDA"
    if words & {"amd", "ati"}:
        return "ROCm"
    if "intel" in words:
        return "SYCL"
    return "Vulkan"
