"""Detect this machine: NVIDIA GPUs (nvidia-ml-py), AMD/Intel GPUs (sysfs, amd-smi), Jetson and
SBC boards (device tree), CPU model and flags, RAM (psutil) and DIMM speed (dmidecode), Apple chips.

What was identified and from where is in the Machine's ``sources["detected"]``
(``rigfit hardware --local`` prints it); see :mod:`rigfit.hardware.localmore` for the non-NVIDIA parts.

``detect_local()`` never raises for missing drivers or tools: what cannot be read stays unknown
and a note says why. Detected figures carry status ``detected``; catalog figures for the
matched device (bandwidth, FLOPS) keep their own sources.

The pure function :func:`build_local_machine` turns raw facts (``LocalFacts``) into a Machine so
that tests can exercise it without the hardware.

Lazy loading: the detection-only dependencies (``pynvml`` from nvidia-ml-py, which loads the
NVIDIA driver library; ``psutil``; ``cpuinfo`` from py-cpuinfo, ~1 s) are imported inside the
functions that probe the machine, so resolving names never pays for them.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
from dataclasses import dataclass, field, replace

from rigfit.errors import RigfitError
from rigfit.hardware.devices import Device, Link, Machine
from rigfit.hardware.links import accelerator_links, pcie_link
from rigfit.hardware.localmore import apu_memory_note, board_device, dimm_bandwidth, drm_accelerators
from rigfit.hardware.names import resolve_device
from rigfit.hardware.probe import Board, Dimms, DrmGpu, amd_smi_names, read_board, read_dimms, read_drm_gpus
from rigfit.hardware.systems import unified_machine
from rigfit.hardware.tables import overlay, slug
from rigfit.units import GIB


@dataclass
class NvmlGpu:
    """What NVML reports for one GPU (bytes, MHz, bits, watts)."""

    name: str
    memory_total_bytes: int
    bus_width_bits: int | None = None
    max_mem_clock_mhz: float | None = None
    pcie_gen: int | None = None
    pcie_width: int | None = None
    power_limit_w: float | None = None


@dataclass
class LocalFacts:
    """Raw facts about the local machine (everything optional)."""

    gpus: list[NvmlGpu] = field(default_factory=list)
    cpu_brand: str | None = None
    cpu_flags: set[str] = field(default_factory=set)
    cpu_mhz: float | None = None  # current clock from /proc/cpuinfo (may be turbo or throttled)
    physical_cores: int | None = None
    logical_cores: int | None = None
    ram_bytes: int | None = None
    apple_chip: str | None = None  # "Apple M4 Max"
    apple_gpu_cores: int | None = None
    drm_gpus: list[DrmGpu] = field(default_factory=list)  # AMD/Intel (and NVIDIA) cards in sysfs
    amd_smi_names: list[str] = field(default_factory=list)
    board: Board | None = None  # device-tree model / Jetson release
    dimms: Dimms | None = None  # dmidecode (root only)
    notes: list[str] = field(default_factory=list)


def _nvml_gpus(notes: list[str]) -> list[NvmlGpu]:
    try:
        import pynvml  # lazy: optional dependency (nvidia-ml-py), only for NVIDIA detection
    except ImportError:
        notes.append("nvidia-ml-py not installed: NVIDIA GPUs not detected")
        return []
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # no driver / no GPU
        notes.append(f"no NVIDIA driver reachable ({type(exc).__name__}): no NVIDIA GPU detected")
        return []
    out: list[NvmlGpu] = []
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            if isinstance(name, bytes):
                name = name.decode()
            mem = pynvml.nvmlDeviceGetMemoryInfo(h).total

            def opt(fn, *a):
                try:
                    return fn(*a)
                except Exception:
                    return None

            bus = opt(pynvml.nvmlDeviceGetMemoryBusWidth, h)
            clk = opt(pynvml.nvmlDeviceGetMaxClockInfo, h, pynvml.NVML_CLOCK_MEM)
            gen = opt(pynvml.nvmlDeviceGetMaxPcieLinkGeneration, h)
            width = opt(pynvml.nvmlDeviceGetMaxPcieLinkWidth, h)
            plim = opt(pynvml.nvmlDeviceGetPowerManagementLimit, h)
            out.append(NvmlGpu(name, int(mem), bus, clk, gen, width, plim / 1000 if plim else None))
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()
    return out


def _proc_cpuinfo() -> tuple[str | None, set[str], float | None]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None, set(), None
    brand = None
    flags: set[str] = set()
    mhz: float | None = None
    for line in text.splitlines():
        if brand is None and line.lower().startswith(("model name", "hardware")):
            brand = line.split(":", 1)[1].strip()
        elif not flags and line.lower().startswith(("flags", "features")):
            flags = set(line.split(":", 1)[1].split())
        elif mhz is None and line.lower().startswith("cpu mhz"):
            with contextlib.suppress(ValueError):
                mhz = float(line.split(":", 1)[1])
        if brand and flags and mhz is not None:
            break
    return brand, flags, mhz


def _sysctl(key: str) -> str | None:
    try:
        return (
            subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=5).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def gather_local_facts() -> LocalFacts:
    """Read the local machine (NVML, /proc/cpuinfo or py-cpuinfo, psutil, sysctl on macOS)."""
    facts = LocalFacts()
    facts.gpus = _nvml_gpus(facts.notes)
    try:
        import psutil  # lazy: optional dependency, only for local detection

        facts.ram_bytes = int(psutil.virtual_memory().total)
        facts.physical_cores = psutil.cpu_count(logical=False)
        facts.logical_cores = psutil.cpu_count(logical=True)
    except Exception as exc:
        facts.notes.append(f"psutil failed ({type(exc).__name__}): RAM unknown")
    if platform.system() == "Darwin":
        brand = _sysctl("machdep.cpu.brand_string")
        facts.cpu_brand = brand
        if brand and brand.startswith("Apple M"):
            facts.apple_chip = brand
            try:
                sp = subprocess.run(
                    ["system_profiler", "SPDisplaysDataType", "-json"],
                    capture_output=True,
                    text=True,
                    timeout=20,
                ).stdout
                for gpu in json.loads(sp).get("SPDisplaysDataType", []):
                    if gpu.get("sppci_cores"):
                        facts.apple_gpu_cores = int(gpu["sppci_cores"])
            except Exception:
                facts.notes.append("system_profiler failed: Apple GPU core count unknown")
        mem = _sysctl("hw.memsize")
        if mem and mem.isdigit():
            facts.ram_bytes = int(mem)
    else:
        brand, flags, facts.cpu_mhz = _proc_cpuinfo()
        if brand is None:
            try:
                import cpuinfo  # lazy: py-cpuinfo (slow: ~1 s), only when /proc is missing

                info = cpuinfo.get_cpu_info()
                brand = info.get("brand_raw")
                flags = set(info.get("flags", []))
            except Exception:
                facts.notes.append("CPU model not readable")
        facts.cpu_brand, facts.cpu_flags = brand, flags
        _gather_linux_extras(facts)
    return facts


def _gather_linux_extras(facts: LocalFacts) -> None:
    """sysfs GPUs, the board model, amd-smi names and dmidecode DIMMs (see rigfit.hardware.probe)."""
    facts.drm_gpus = read_drm_gpus()
    if any(g.vendor == "AMD" and not g.product_name for g in facts.drm_gpus):
        facts.amd_smi_names = amd_smi_names()
    board = read_board()
    facts.board = board if board.model or board.jetson_release else None
    facts.dimms, why = read_dimms()
    if why:
        facts.notes.append(f"DIMM speed not read: {why}")


def _simd_from_flags(flags: set[str]) -> tuple[str, ...]:
    out = []
    for flag, tag in (
        ("avx2", "AVX2"),
        ("fma", "FMA3"),
        ("avx512f", "AVX512"),
        ("avx512_vnni", "AVX512_VNNI"),
        ("avx512_bf16", "AVX512_BF16"),
        ("avx_vnni", "AVX_VNNI"),
        ("amx_tile", "AMX"),
        ("asimd", "NEON"),
        ("asimddp", "DOTPROD"),
        ("i8mm", "I8MM"),
        ("sve", "SVE"),
    ):
        if flag in flags:
            out.append(tag)
    return tuple(out)


def _unknown_cpu(facts: LocalFacts) -> Device:
    """A CPU the catalog does not know: flags and cores detected, FLOPS estimated from the flags.

    FP32 FLOP/cycle/core by ISA as in :mod:`rigfit.hardware.cpus` (64 with AVX-512 on Intel,
    32 with AVX2/FMA, 16 with NEON, 8 otherwise) × physical cores × the clock /proc/cpuinfo reports
    now; memory bandwidth stays unknown (channels and DIMM speed are not readable without root).
    """
    flags = facts.cpu_flags
    simd = _simd_from_flags(flags)
    brand = facts.cpu_brand or "unknown CPU"
    intel = "intel" in brand.lower()
    if "avx512f" in flags and intel:
        fpc = 64
    elif "avx2" in flags or "fma" in flags:
        fpc = 32
    elif "asimd" in flags:
        fpc = 16
    else:
        fpc = 8
    if "amx_tile" in flags:
        ipc = 2048
    elif "avx512_vnni" in flags:
        ipc = 256 if intel else 128
    elif "avx_vnni" in flags or "asimddp" in flags:
        ipc = 128
    else:
        ipc = 64
    sources = {"simd": "/proc/cpuinfo flags", "cores": "psutil", "threads": "psutil"}
    status = {"simd": "detected", "cores": "detected", "threads": "detected"}
    fp32 = int8 = None
    if facts.physical_cores and facts.cpu_mhz:
        ghz = facts.cpu_mhz / 1000
        fp32 = facts.physical_cores * ghz * 1e9 * fpc
        int8 = facts.physical_cores * ghz * 1e9 * ipc
        rule = (
            f"derived: {facts.physical_cores} cores × {ghz:.2f} GHz (/proc/cpuinfo now) × {fpc} FLOP/cycle "
            "(from the SIMD flags; see rigfit.hardware.tables)"
        )
        for f in ("fp32_flops", "fp16_flops", "fp16_fp32acc_flops"):
            sources[f], status[f] = rule, "derived"
        sources["int8_ops"] = rule.replace(f"{fpc} FLOP/cycle", f"{ipc} INT8 OP/cycle")
        status["int8_ops"] = "derived"
    return Device(
        id="local-cpu",
        name=brand,
        kind="cpu",
        vendor="Intel" if intel else ("AMD" if "amd" in brand.lower() else ""),
        fp16_flops=fp32,
        fp16_fp32acc_flops=fp32,
        int8_ops=int8,
        fp32_flops=fp32,
        cores=facts.physical_cores,
        threads=facts.logical_cores,
        simd=simd,
        sources=sources,
        status=status,
        notes="CPU model not in the catalog: memory bandwidth unknown; FLOPS estimated from flags and clock",
        extra={"fp32_flop_per_cycle": fpc, "int8_op_per_cycle": ipc, "clock_mhz": facts.cpu_mhz},
    )


def _gpu_from_nvml(g: NvmlGpu) -> Device:
    mem_gb = g.memory_total_bytes / GIB
    dev: Device | None = None
    note = None
    for hint in (round(mem_gb), None):
        try:
            dev = resolve_device(g.name, memory_gb=hint) if hint else resolve_device(g.name)
            break
        except RigfitError as exc:
            note = str(exc)
    sources: dict[str, str]
    status: dict[str, str]
    if dev is None:
        dev = Device(
            id=slug(g.name),
            name=g.name,
            kind="gpu",
            vendor="NVIDIA",
            notes=f"not in the catalog ({note}); figures from NVML only",
        )
    sources, status = dict(dev.sources), dict(dev.status)
    sources["memory_bytes"] = "NVML nvmlDeviceGetMemoryInfo().total"
    status["memory_bytes"] = "detected"
    bw = dev.bandwidth_bytes_per_s
    if bw is None and g.bus_width_bits and g.max_mem_clock_mhz:
        # NVML reports the memory clock at half the data rate for GDDR6X/GDDR7/HBM: × 2
        bw = g.bus_width_bits / 8 * g.max_mem_clock_mhz * 1e6 * 2
        sources["bandwidth_bytes_per_s"] = (
            f"derived from NVML: {g.bus_width_bits}-bit / 8 × {g.max_mem_clock_mhz:.0f} MHz × 2 (DDR)"
        )
        status["bandwidth_bytes_per_s"] = "derived"
    extra = dict(dev.extra)
    extra.update(
        {
            "nvml_name": g.name,
            "pcie_generation_max": g.pcie_gen,
            "pcie_width_max": g.pcie_width,
            "power_limit_w": g.power_limit_w,
        }
    )
    return replace(
        dev,
        memory_bytes=g.memory_total_bytes,
        bandwidth_bytes_per_s=bw,
        sources=sources,
        status=status,
        extra=extra,
    )


def _apu_configuration(apu: Device, facts: LocalFacts) -> Device:
    """The APU's memory configuration from what the OS sees plus the iGPU's VRAM carve-out
    (psutil + amdgpu sysfs): the smallest configuration that holds both."""
    configs = apu.extra.get("memory_configs_gb") or []
    if not facts.ram_bytes or not configs or not facts.cpu_brand:
        return apu
    carve = sum(g.vram_total_bytes or 0 for g in facts.drm_gpus if g.vendor == "AMD")
    total_gb = (facts.ram_bytes + carve) / GIB
    fit = [c for c in sorted(configs) if c >= total_gb * 0.97]
    if not fit:
        return apu
    try:
        dev = resolve_device(facts.cpu_brand, memory_gb=fit[0])
    except RigfitError:
        return apu
    how = "psutil" + (" + amdgpu VRAM carve-out (sysfs)" if carve else "")
    return replace(
        dev,
        sources={
            **dev.sources,
            "memory_bytes": f"detected: {total_gb:.1f} GiB ({how}) → {fit[0]} GB configuration",
        },
        status={**dev.status, "memory_bytes": "detected"},
    )


def _apple_machine(facts: LocalFacts, notes: list[str]) -> Machine:
    """A Mac: the chip, its GPU cores and memory as sysctl reports them."""
    text = facts.apple_chip or ""
    if facts.apple_gpu_cores:
        text += f" {facts.apple_gpu_cores}-core GPU"
    if facts.ram_bytes:
        text += f" {round(facts.ram_bytes / GIB)}GB"
    try:
        dev = resolve_device(text)
    except RigfitError as exc:
        raise RigfitError(f"Detected {text!r} but it is not in the catalog.", str(exc)) from exc
    m = unified_machine(
        replace(
            dev,
            status={**dev.status, "memory_bytes": "detected"},
            sources={**dev.sources, "memory_bytes": "sysctl hw.memsize"},
        ),
        text,
    )
    return replace(m, detected=True, name=f"local: {m.name}", notes=tuple(notes) + m.notes)


def _unified_local(m: Machine, notes: list[str], extra_notes: tuple[str, ...], detected: str) -> Machine:
    """A detected unified-memory system (Jetson module, APU) as the whole machine."""
    return replace(
        m,
        detected=True,
        name=f"local: {m.name}",
        notes=tuple(notes) + m.notes + extra_notes,
        sources={**m.sources, "detected": detected},
    )


def _catalog_cpu(facts: LocalFacts) -> Device | None:
    """The catalog CPU or APU named by /proc/cpuinfo's brand string (None when it has none)."""
    try:
        cpu = resolve_device(facts.cpu_brand or "")
    except RigfitError:
        return None
    return cpu if cpu.kind in ("cpu", "apu") else None


def _with_detected_simd(cpu: Device, facts: LocalFacts) -> Device:
    """The catalog CPU with the instruction sets /proc/cpuinfo lists, when it lists any."""
    simd = _simd_from_flags(facts.cpu_flags)
    if not simd:
        return cpu
    return replace(
        cpu,
        simd=simd,
        sources={**cpu.sources, "simd": "/proc/cpuinfo flags"},
        status={**cpu.status, "simd": "detected"},
    )


def _local_links(
    gpus: tuple[Device, ...], facts: LocalFacts, notes: list[str]
) -> tuple[Link | None, Link | None]:
    """(host link, GPU interconnect): NVML's link for NVIDIA cards, the catalog bus otherwise."""
    host_link: Link | None = None
    interconnect: Link | None = None
    if gpus and not facts.gpus:  # AMD/Intel cards only: the link from their catalog bus interface
        host_link, interconnect, link_notes = accelerator_links(list(gpus), None, None, None)
        notes.extend(link_notes)
    elif gpus:
        g0 = facts.gpus[0]
        if g0.pcie_gen and g0.pcie_width and f"{g0.pcie_gen}.0" in overlay()["links"]["pcie_per_lane_gb_s"]:
            host_link = pcie_link(f"{g0.pcie_gen}.0", g0.pcie_width)
            host_link = replace(host_link, source=f"NVML max link: {host_link.source}")
        if len(gpus) > 1 and host_link is not None:
            interconnect = host_link
            notes.append("several GPUs: NVLink not probed, assumed PCIe between them")
    return host_link, interconnect


def _local_ram(
    facts: LocalFacts, cpu: Device | None, notes: list[str], detected: list[str]
) -> tuple[float | None, str | None, dict[str, str]]:
    """(host RAM bandwidth [B/s], RAM type, sources): from the DIMMs (dmidecode), the SoC's soldered
    memory, or the CPU's rated memory speed (an estimate, said so)."""
    ram_bw = cpu.bandwidth_bytes_per_s if cpu is not None else None
    ram_type: str | None = None
    sources = {"ram_bytes": "psutil.virtual_memory().total"}
    fixed = cpu is not None and bool(cpu.extra.get("memory_fixed"))
    from_dimms = dimm_bandwidth(facts.dimms, cpu) if facts.dimms is not None else None
    if from_dimms is not None and not fixed:
        ram_bw, ram_type, sources["ram_bandwidth_bytes_per_s"] = from_dimms
        detected.append(f"RAM: {ram_type}, {facts.dimms.populated if facts.dimms else 0} DIMMs (dmidecode)")
    elif ram_bw and cpu is not None and fixed:
        sources["ram_bandwidth_bytes_per_s"] = "the SoC's soldered memory: " + cpu.sources.get(
            "bandwidth_bytes_per_s", ""
        )
        ram_type = cpu.extra.get("memory_type")
    elif ram_bw and cpu is not None:
        sources["ram_bandwidth_bytes_per_s"] = (
            "estimated: the CPU's rated memory speed, all channels (DIMM speed not read: "
            "dmidecode needs root): " + cpu.sources.get("bandwidth_bytes_per_s", "")
        )
        notes.append("host RAM bandwidth assumed from the CPU spec (all channels at rated speed)")
    if facts.ram_bytes:
        detected.append(f"RAM: {facts.ram_bytes / GIB:.1f} GiB (psutil)")
    return ram_bw, ram_type, sources


def build_local_machine(facts: LocalFacts) -> Machine:
    """Turn detected facts into a Machine (pure; used by ``detect_local`` and the tests)."""
    notes = list(facts.notes)
    if facts.apple_chip:
        return _apple_machine(facts, notes)
    detected: list[str] = []
    board_dev = board_device(facts.board, facts.ram_bytes) if facts.board is not None else None
    if board_dev is not None and board_dev.kind == "apu":  # Jetson: the module is the whole system
        m = unified_machine(board_dev, (facts.board.model if facts.board else None) or board_dev.name)
        src = facts.board.source if facts.board else ""
        return _unified_local(m, notes, (), f"board: {board_dev.name} ({src})")
    cpu: Device | None = board_dev  # an SBC (Raspberry Pi, RK3588): the board names the SoC
    if cpu is not None and facts.board is not None:
        detected.append(f"board: {cpu.name} ({facts.board.source})")
    if facts.cpu_brand and cpu is None:
        cpu = _catalog_cpu(facts)
        if cpu is not None and cpu.kind == "apu":
            cpu = _apu_configuration(cpu, facts)
            apu_note = apu_memory_note(facts.drm_gpus)
            det = f"CPU: {facts.cpu_brand} (/proc/cpuinfo) = {cpu.name}" + (
                f"; {apu_note}" if apu_note else ""
            )
            m = unified_machine(cpu, facts.cpu_brand)
            return _unified_local(m, notes, (apu_note,) if apu_note else (), det)
        if cpu is None:
            cpu = _unknown_cpu(facts)
            notes.append(f"CPU {facts.cpu_brand!r} not in the catalog: host bandwidth unknown")
        else:
            cpu = _with_detected_simd(cpu, facts)
    if cpu is not None and facts.cpu_brand:
        detected.append(f"CPU: {facts.cpu_brand!r} (/proc/cpuinfo) = {cpu.name}")
    nvml = [_gpu_from_nvml(g) for g in facts.gpus]
    detected += [f"NVIDIA GPU {i}: {d.name} (NVML)" for i, d in enumerate(nvml)]
    others = drm_accelerators(facts.drm_gpus, cpu, facts.amd_smi_names, len(nvml), notes, detected)
    gpus = tuple(nvml + others)
    host_link, interconnect = _local_links(gpus, facts, notes)
    ram_bw, ram_type, sources = _local_ram(facts, cpu, notes, detected)
    sources["detected"] = " | ".join(detected) or "nothing identified"
    parts = [d.name for d in gpus] + ([cpu.name] if cpu else [])
    if facts.ram_bytes:
        parts.append(f"{facts.ram_bytes / GIB:.0f} GiB RAM")
    return Machine(
        name="local: " + " + ".join(parts),
        accelerators=gpus,
        cpu=cpu,
        ram_bytes=facts.ram_bytes,
        ram_bandwidth_bytes_per_s=ram_bw,
        ram_type=ram_type,
        interconnect=interconnect,
        host_link=host_link,
        unified_memory=False,
        detected=True,
        sources=sources,
        notes=tuple(notes),
    )


def detect_local() -> Machine:
    """This machine, detected (see the module docstring).

    :func:`rigfit.hardware.grammar.detect_local_machine` is the entry point that also honours the
    ``RIGFIT_FAKE_LOCAL`` test hook.
    """
    return build_local_machine(gather_local_facts())
