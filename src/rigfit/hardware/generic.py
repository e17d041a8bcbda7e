"""Generic devices: a CPU or GPU described by its figures instead of a catalog name.

People often know what is in their box without a product name that a catalog lists::

    "8 cores AVX2"                      -> a CPU: 8 cores, AVX2
    "16-core AVX-512 CPU 3.8 GHz"       -> a CPU with its all-core clock
    "16 GB VRAM 448 GB/s GPU"           -> a GPU: 16 GB at 448 GB/s
    "24GB GPU 936 GB/s 142 TFLOPS 350W" -> with its dense FP16 peak and TDP
    "Jetson-like 64GB LPDDR5 204 GB/s"  -> a unified-memory system (CPU and GPU share the memory),
                                           FLOPS borrowed from the closest catalog "Jetson"
    "unified 128GB LPDDR5X 256 GB/s"    -> the same without a look-alike (FLOPS unknown)

Inside a machine they combine with host RAM as usual: ``"8 cores AVX2 + 32GB DDR4-3200
dual-channel"``. What is given has status ``user`` (source: the machine description); what is
missing is either estimated with status ``default`` and the assumption in its source (a CPU's
all-core clock 3.0 GHz, AVX2 on x86 when no ISA is named, FLOP/cycle by ISA as in
:mod:`rigfit.hardware.cpus`) or stays unknown (a GPU's FLOPS and TDP, a CPU's threads and TDP).
A GPU needs its memory size and bandwidth: without the bandwidth nothing useful can be said.
"""

from __future__ import annotations

import re

from rigfit.errors import RigfitError
from rigfit.hardware.cpus import cpu_estimates, int8_rule
from rigfit.hardware.devices import Device
from rigfit.hardware.tables import slug
from rigfit.units import GIB

GIVEN = "user"
ASSUMED = "default"
GIVEN_SOURCE = "given in the machine description"
#: all-core clock assumed for a generic CPU without one [GHz] (the fallback of rigfit.hardware.cpus)
DEFAULT_CPU_GHZ = 3.0

_CORES = re.compile(r"\b(\d{1,3})\s*-?\s*(?:cores?|c)\b")
_THREADS = re.compile(r"\b(\d{1,4})\s*-?\s*(?:threads?|t)\b")
_GHZ = re.compile(r"@?\s*\b(\d+(?:\.\d+)?)\s*ghz\b")
_GPU_WORD = re.compile(r"\b(?:gpu|vram|graphics|card)\b")
_MEM = re.compile(r"\b(\d+(?:\.\d+)?)\s*(gb|gib)\b(?!\s*/\s*s)")
_BW = re.compile(r"\b(\d+(?:\.\d+)?)\s*(gb|tb)\s*/\s*s\b")
_TFLOPS = re.compile(r"\b(\d+(?:\.\d+)?)\s*tflops\b")
_WATTS = re.compile(r"\b(\d{1,4})\s*w\b")
_MEM_TYPE = re.compile(r"\b(gddr\d+x?|hbm\d?e?|lpddr\d+x?)\b")
_VENDORS = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel", "arm": "ARM", "apple": "Apple"}
#: ISA words → llama.cpp-style tag; order: the most capable first
_ISA = (
    (re.compile(r"\bamx\b"), "AMX"),
    (re.compile(r"\bavx\s*-?\s*512(?:\s*-?\s*vnni)?\b"), "AVX512"),
    (re.compile(r"\bavx\s*-?\s*vnni\b"), "AVX_VNNI"),
    (re.compile(r"\bavx\s*-?\s*2\b"), "AVX2"),
    (re.compile(r"\bsve2?\b"), "SVE"),
    (re.compile(r"\bi8mm\b"), "I8MM"),
    (re.compile(r"\bneon\b"), "NEON"),
)
_CPU_FILLER = {
    "cpu",
    "processor",
    "x86",
    "x86-64",
    "x86_64",
    "arm64",
    "aarch64",
    "generic",
    "desktop",
    "laptop",
    "server",
    "with",
    "and",
    "a",
    "an",
    "-",
    ",",
    "@",
    "like",
    "-like",
}
_GPU_FILLER = {
    "gpu",
    "vram",
    "graphics",
    "card",
    "of",
    "with",
    "and",
    "memory",
    "bandwidth",
    "a",
    "an",
    "discrete",
    "generic",
    "-",
    ",",
    "at",
    "like",
    "-like",
    "fp16",
    "dense",
    "tdp",
}


def _leftover(text: str, patterns: list[re.Pattern[str]], filler: set[str]) -> list[str]:
    """Words of ``text`` that none of ``patterns`` and no filler word account for."""
    for p in patterns:
        text = p.sub(" ", text)
    return [w for w in re.split(r"[\s,()]+", text) if w and w not in filler]


def _isa(text: str) -> tuple[str, ...]:
    return tuple(tag for rx, tag in _ISA if rx.search(text))


def _cpu_rates(simd: tuple[str, ...]) -> tuple[int, int, str]:
    """(FP32 FLOP/cycle/core, INT8 OP/cycle/core, assumption) for a generic core with these ISA tags.

    The rates of :mod:`rigfit.hardware.cpus`: 32 FP32 FLOP/cycle for 256-bit FMA (AVX2; AVX-512 is
    taken at that rate too, as Zen 4 and client cores run it), 16 for 2 × 128-bit NEON/SVE; INT8:
    64 (AVX2), 128 (VNNI / AVX-512), 2048 (AMX), 32 on NEON, 64 with i8mm.
    """
    if "AMX" in simd:
        return 32, 2048, "AMX tiles"
    if "AVX512" in simd or "AVX_VNNI" in simd:
        return 32, 128, "AVX-512/VNNI at the 256-bit rate"
    if "AVX2" in simd:
        return 32, 64, "AVX2"
    if "SVE" in simd or "NEON" in simd or "I8MM" in simd:
        return 16, 64 if "I8MM" in simd else 32, "2 × 128-bit NEON/SVE"
    return 32, 64, "no ISA given: AVX2 assumed"


def generic_cpu(text: str) -> Device | None:
    """A CPU from ``"8 cores AVX2"``-style words, or None when ``text`` is not such a description."""
    t = text.lower().strip()
    m = _CORES.search(t)
    if not m or _GPU_WORD.search(t):
        return None
    vendor = next((v for k, v in _VENDORS.items() if re.search(rf"\b{k}\b", t)), "")
    pats = [_CORES, _THREADS, _GHZ, *(rx for rx, _ in _ISA), *(re.compile(rf"\b{k}\b") for k in _VENDORS)]
    if _leftover(t, pats, _CPU_FILLER):
        return None
    cores = int(m.group(1))
    if not 1 <= cores <= 512:
        raise RigfitError(f"Implausible core count {cores} in {text.strip()!r}.", "Use e.g. '8 cores AVX2'.")
    tm = _THREADS.search(t)
    threads = int(tm.group(1)) if tm else None
    gm = _GHZ.search(t)
    ghz = float(gm.group(1)) if gm else DEFAULT_CPU_GHZ
    if not 0.5 <= ghz <= 7.0:
        raise RigfitError(f"Implausible clock {ghz:g} GHz in {text.strip()!r}.", "Use e.g. '3.5 GHz'.")
    simd = _isa(t)
    fp32_pc, int8_pc, why = _cpu_rates(simd)
    fp32, int8, rule = cpu_estimates(cores, ghz, 0, 0.0, fp32_pc, 0, int8_pc)
    clock = f"{ghz:g} GHz given" if gm else f"all-core clock {DEFAULT_CPU_GHZ:g} GHz assumed"
    rule = f"{rule.split(' (')[0]} ({clock}; {why})"
    sources = {"cores": GIVEN_SOURCE}
    status = {"cores": GIVEN}
    for f in ("fp32_flops", "fp16_flops", "fp16_fp32acc_flops"):
        sources[f], status[f] = rule, ASSUMED
    sources["int8_ops"] = f"{int8_rule(cores, ghz, 0, 0.0, int8_pc).split(' (')[0]} ({clock}; {why})"
    status["int8_ops"] = ASSUMED
    if threads:
        sources["threads"], status["threads"] = GIVEN_SOURCE, GIVEN
    sources["simd"], status["simd"] = (GIVEN_SOURCE, GIVEN) if simd else (why, ASSUMED)
    name = f"generic {cores}-core CPU" + (f" {'/'.join(simd)}" if simd else "")
    return Device(
        id=slug(name),
        name=name,
        kind="cpu",
        vendor=vendor,
        fp16_flops=fp32,
        fp16_fp32acc_flops=fp32,
        int8_ops=int8,
        fp32_flops=fp32,
        cores=cores,
        threads=threads,
        simd=simd or ("AVX2",),
        sources=sources,
        status=status,
        notes="generic CPU: FLOPS estimated from the cores, clock and ISA; memory from the RAM part",
        extra={
            "p_cores": cores,
            "e_cores": 0,
            "fp32_flop_per_cycle": fp32_pc,
            "int8_op_per_cycle": int8_pc,
            "generic": True,
        },
    )


def generic_gpu(text: str) -> Device | None:
    """A GPU from ``"16 GB VRAM 448 GB/s GPU"``-style words, or None when ``text`` is not one.

    Raises :class:`RigfitError` for a GPU description without its memory size or bandwidth.
    """
    t = text.lower().strip()
    if not _GPU_WORD.search(t) or not (_MEM.search(t) or _BW.search(t)):
        return None
    vendor = next((v for k, v in _VENDORS.items() if re.search(rf"\b{k}\b", t)), "")
    pats = [_BW, _MEM, _TFLOPS, _WATTS, _MEM_TYPE, _GPU_WORD, *(re.compile(rf"\b{k}\b") for k in _VENDORS)]
    if _leftover(t, pats, _GPU_FILLER):
        return None
    mm, bm = _MEM.search(t), _BW.search(t)
    if mm is None or bm is None:
        raise RigfitError(
            f"A generic GPU needs its memory size and bandwidth: {text.strip()!r}.",
            "e.g. '16 GB VRAM 448 GB/s GPU' (the bandwidth is on the card's spec sheet).",
        )
    mem_gb = float(mm.group(1))
    bw = float(bm.group(1)) * (1e12 if bm.group(2) == "tb" else 1e9)
    if not 0 < mem_gb <= 1024 or not 1e9 <= bw <= 50e12:
        raise RigfitError(f"Implausible GPU figures in {text.strip()!r}.", "e.g. '16 GB VRAM 448 GB/s GPU'.")
    sources = {"memory_bytes": GIVEN_SOURCE + " (GB as sold = GiB)", "bandwidth_bytes_per_s": GIVEN_SOURCE}
    status = {"memory_bytes": GIVEN, "bandwidth_bytes_per_s": GIVEN}
    fm = _TFLOPS.search(t)
    fp16 = float(fm.group(1)) * 1e12 if fm else None
    if fp16:
        for f in ("fp16_flops", "fp16_fp32acc_flops"):
            sources[f], status[f] = GIVEN_SOURCE + " (dense FP16)", GIVEN
    wm = _WATTS.search(t)
    tdp = float(wm.group(1)) if wm else None
    if tdp:
        sources["tdp_w"], status["tdp_w"] = GIVEN_SOURCE, GIVEN
    mt = _MEM_TYPE.search(t)
    name = f"generic GPU {mem_gb:g}GB {bw / 1e9:g} GB/s"
    return Device(
        id=slug(name),
        name=name,
        kind="gpu",
        vendor=vendor,
        memory_bytes=round(mem_gb * GIB),
        bandwidth_bytes_per_s=bw,
        fp16_flops=fp16,
        fp16_fp32acc_flops=fp16,
        tdp_w=tdp,
        memory_type=mt.group(1).upper() if mt else None,
        sources=sources,
        status=status,
        notes="generic GPU: FLOPS, TDP and host link unknown unless given",
        extra={"generic": True, "form_factor": "pcie"},
    )


_LIKE = re.compile(r"^\s*(.+?)\s*-?\s*like\b\s*(.*)$", re.IGNORECASE)
_UNIFIED = re.compile(r"^\s*(?:unified|uma|apu|soc)\b\s*(.*)$", re.IGNORECASE)
_UNIFIED_FILLER = {
    "memory",
    "ram",
    "unified",
    "shared",
    "with",
    "and",
    "a",
    "an",
    "-",
    ",",
    "at",
    "system",
    "box",
}


def split_like(text: str) -> tuple[str, str] | None:
    """("Jetson", "64GB LPDDR5 204 GB/s") for "Jetson-like 64GB LPDDR5 204 GB/s"; ("", rest) for
    "unified 128GB … GB/s"; None for any other text."""
    m = _LIKE.match(text)
    if m and m.group(2).strip():
        return m.group(1).strip(), m.group(2).strip()
    m = _UNIFIED.match(text)
    if m and m.group(1).strip():
        return "", m.group(1).strip()
    return None


def generic_unified(text: str, like: Device | None, like_name: str = "") -> Device | None:
    """A unified-memory system (CPU + GPU on one memory) from its memory size and bandwidth.

    like: the catalog device it resembles ("Jetson-like"), whose compute figures are borrowed
        (status ``default``, source naming it); None leaves FLOPS unknown.
    Returns None when ``text`` has words other than the size, type and bandwidth; raises
    RigfitError when the size or the bandwidth is missing.
    """
    t = text.lower().strip()
    if _leftover(t, [_BW, _MEM, _MEM_TYPE, _TFLOPS, _WATTS], _UNIFIED_FILLER):
        return None
    mm, bm = _MEM.search(t), _BW.search(t)
    if mm is None or bm is None:
        raise RigfitError(
            f"A unified-memory system needs its memory size and bandwidth: {text.strip()!r}.",
            "e.g. 'Jetson-like 64GB LPDDR5 204 GB/s' or 'unified 128GB LPDDR5X 256 GB/s'.",
        )
    mem_gb = float(mm.group(1))
    bw = float(bm.group(1)) * (1e12 if bm.group(2) == "tb" else 1e9)
    if not 0 < mem_gb <= 4096 or not 1e9 <= bw <= 50e12:
        raise RigfitError(
            f"Implausible figures in {text.strip()!r}.", "e.g. 'unified 128GB LPDDR5X 256 GB/s'."
        )
    sources = {"memory_bytes": GIVEN_SOURCE + " (GB as sold = GiB)", "bandwidth_bytes_per_s": GIVEN_SOURCE}
    status = {"memory_bytes": GIVEN, "bandwidth_bytes_per_s": GIVEN}
    flops: dict[str, float | None] = {
        "fp16_flops": None,
        "fp16_fp32acc_flops": None,
        "int8_ops": None,
        "fp32_flops": None,
    }
    fm = _TFLOPS.search(t)
    if fm:
        flops["fp16_flops"] = flops["fp16_fp32acc_flops"] = float(fm.group(1)) * 1e12
        for f in ("fp16_flops", "fp16_fp32acc_flops"):
            sources[f], status[f] = GIVEN_SOURCE + " (dense FP16)", GIVEN
    elif like is not None:
        for f in flops:
            value = getattr(like, f)
            if value:
                flops[f] = value
                sources[f] = f"estimated: borrowed from {like.name} (the '{like_name}-like' device)"
                status[f] = ASSUMED
    mt = _MEM_TYPE.search(t)
    label = f"{like_name}-like" if like_name else "unified-memory"
    name = f"generic {label} system {mem_gb:g}GB {bw / 1e9:g} GB/s"
    notes = "generic unified-memory system: memory and bandwidth given" + (
        f"; compute borrowed from {like.name}"
        if like is not None and not fm
        else "; compute unknown unless given"
    )
    return Device(
        id=slug(name),
        name=name,
        kind="apu",
        vendor=like.vendor if like is not None else "",
        memory_bytes=round(mem_gb * GIB),
        bandwidth_bytes_per_s=bw,
        memory_type=mt.group(1).upper() if mt else None,
        architecture=like.architecture if like is not None else None,
        sources=sources,
        status=status,
        notes=notes,
        extra={"generic": True, "catalog_name": name, "like": like.name if like is not None else None},
        fp16_flops=flops["fp16_flops"],
        fp16_fp32acc_flops=flops["fp16_fp32acc_flops"],
        int8_ops=flops["int8_ops"],
        fp32_flops=flops["fp32_flops"],
    )


def generic_device(text: str) -> Device | None:
    """A generic CPU or GPU from its description, or None when ``text`` describes neither."""
    return generic_gpu(text) or generic_cpu(text)
