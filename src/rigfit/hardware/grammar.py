"""Machine descriptions: ``resolve_machine("2x RTX 3090 + Ryzen 7 5800X + 64GB DDR4-3200")``.

Machine grammar (``resolve_machine``): parts joined by `` + ``; each part is a device with an
optional count (``2x RTX 3090``, ``RTX 4090 x2``), host RAM (``32GB DDR4-3200``,
``256GB DDR5-4800 8ch``), link words (``NVLink``, ``PCIe 4.0 x8``) or ``local``. Anywhere in it,
``(reserve 2GB)`` sets the host RAM kept free for the OS (default by kind of machine:
:mod:`rigfit.hardware.osreserve`).

Examples: ``RTX 4090``, ``2x RTX 3090``, ``8x H200 NVLink``, ``RTX 4090 x2``,
``RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200``, ``M3 Max 40-core 128GB``, ``local``,
``Raspberry Pi 5 8GB (reserve 512MB)``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from rigfit.errors import RigfitError
from rigfit.hardware import amend, osreserve, profiles
from rigfit.hardware.devices import Device, Link, Machine
from rigfit.hardware.links import accelerator_links, parse_link_words
from rigfit.hardware.names import resolve_device, split_paren
from rigfit.hardware.systems import unified_machine
from rigfit.inputs import MAX_DEVICES, check_name_length
from rigfit.units import GIB

#: rigfit's reference home-lab box (docs/mission.md): the machine commands assume when they
#: need one and none is given (resolve it with ``reference_machine()``).
REFERENCE_BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


_COUNT_PRE = re.compile(r"^\s*(-?\d+)\s*[x×*]\s*(.+)$", re.IGNORECASE)
_COUNT_POST = re.compile(r"^(.+?)\s+[x×*]\s*(-?\d+)\s*$", re.IGNORECASE)
_RAM_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(gb|gib|tb|tib)\b(.*)$", re.IGNORECASE)
_RAM_REST_RE = re.compile(
    r"^(?:\s|ram|memory|system|host|of|ecc|reg|rdimm|udimm|dimms?|[-,]|(?:lp)?ddr\d[xl]?|\d{3,5}|mt/?s|mhz|"
    r"\d+\s*-?\s*(?:ch|channels?)\b|dual|quad|octa|channel)*$",
    re.IGNORECASE,
)
_MAX_COUNT = MAX_DEVICES


@dataclass
class _Ram:
    size_gb: float | None = None
    kind: str | None = None  # DDR4, DDR5, LPDDR5X …
    mts: int | None = None
    channels: int | None = None


def _parse_ram_details(text: str, ram: _Ram) -> None:
    t = text.lower()
    m = re.search(r"\b((?:lp)?ddr\d)([xl]?)\s*-?\s*(\d{3,5})?", t)
    if m:
        ram.kind = (m.group(1) + m.group(2)).upper().replace("LPDDR", "LPDDR")
        if m.group(3):
            ram.mts = int(m.group(3))
    if ram.mts is None:
        m = re.search(r"\b(\d{3,5})\s*(?:mt/?s|mhz)\b", t)
        if m:
            ram.mts = int(m.group(1))
    m = re.search(r"\b(\d+)\s*-?\s*(?:ch|channels?)\b", t)
    if m:
        ram.channels = int(m.group(1))
    elif re.search(r"\bdual[- ]channel\b", t):
        ram.channels = 2
    elif re.search(r"\bquad[- ]channel\b", t):
        ram.channels = 4
    elif re.search(r"\bocta[- ]channel\b", t):
        ram.channels = 8
    if ram.mts is not None and not 400 <= ram.mts <= 20000:
        raise RigfitError(f"Impossible memory speed {ram.mts} MT/s.", "Use e.g. 'DDR4-3200' or 'DDR5-6000'.")
    if ram.channels is not None and not 1 <= ram.channels <= 24:
        raise RigfitError(
            f"Impossible memory channel count {ram.channels}.", "Use 1 to 24 channels, e.g. '8ch'."
        )


def _parse_ram(part: str) -> _Ram | None:
    m = _RAM_RE.match(part)
    if not m or not _RAM_REST_RE.match(m.group(3)):
        return None
    size = float(m.group(1))
    if m.group(2).lower() in ("tb", "tib"):
        size *= 1024
    if size <= 0:
        raise RigfitError(
            f"Impossible RAM size {m.group(1)} {m.group(2)} in {part.strip()!r}.",
            "Give a positive size, e.g. '32GB DDR4-3200'.",
        )
    if size > 64 * 1024:
        raise RigfitError(
            f"Implausible RAM size {size:g} GB in {part.strip()!r}.", "Give the size in GB, e.g. '512GB'."
        )
    ram = _Ram(size_gb=size)
    _parse_ram_details(m.group(3), ram)
    return ram


def _parse_count(part: str) -> tuple[int, str]:
    m = _COUNT_PRE.match(part)
    if m:
        count, rest = int(m.group(1)), m.group(2)
    else:
        m = _COUNT_POST.match(part)
        if m:
            rest, count = m.group(1), int(m.group(2))
        else:
            return 1, part
    if count < 1:
        raise RigfitError(
            f"Impossible device count {count} in {part.strip()!r}.",
            "Use a count of 1 or more, e.g. '2x RTX 3090'.",
        )
    if count > _MAX_COUNT:
        raise RigfitError(
            f"Implausible device count {count} in {part.strip()!r}.",
            f"rigfit models one machine of at most {_MAX_COUNT} devices.",
        )
    return count, rest


def _combine_cpus(cpu: Device, n: int) -> Device:
    if n == 1:
        return cpu

    def mul(x: float | int | None) -> Any:
        return None if x is None else x * n

    sources = {k: f"{n} sockets × ({v})" for k, v in cpu.sources.items()}
    return replace(
        cpu,
        id=f"{n}x-{cpu.id}",
        name=f"{n}x {cpu.name}",
        bandwidth_bytes_per_s=mul(cpu.bandwidth_bytes_per_s),
        fp16_flops=mul(cpu.fp16_flops),
        fp16_fp32acc_flops=mul(cpu.fp16_fp32acc_flops),
        int8_ops=mul(cpu.int8_ops),
        fp32_flops=mul(cpu.fp32_flops),
        tdp_w=mul(cpu.tdp_w),
        cores=mul(cpu.cores),
        threads=mul(cpu.threads),
        sources=sources,
        notes=((cpu.notes + "; ") if cpu.notes else "")
        + f"{n} sockets: bandwidth and FLOPS summed (NUMA: one process may see less)",
    )


@dataclass
class _Parts:
    """What the parts of a machine description name, as they are read."""

    accels: list[Device] = field(default_factory=list)
    unified: Device | None = None
    cpu: Device | None = None
    cpu_count: int = 1
    ram: _Ram = field(default_factory=_Ram)
    link_kind: str | None = None
    pcie_gen: str | None = None
    lanes: int | None = None


def _add_device(p: _Parts, dev: Device, count: int) -> None:
    """Put a resolved device into the machine: the CPU, the unified-memory system, or accelerators."""
    if dev.kind == "cpu":
        if p.cpu is not None:
            raise RigfitError("Two CPUs given.", "For several sockets write e.g. '2x EPYC 9654'.")
        p.cpu, p.cpu_count = dev, count
    elif dev.kind in ("apple", "apu"):
        if count != 1 or p.unified is not None:
            raise RigfitError(
                f"Only one {dev.name} fits in one machine.",
                "Describe one box; clusters of Macs/APUs are not modelled yet.",
            )
        p.unified = dev
    else:
        p.accels.extend([dev] * count)


def _read_device_part(p: _Parts, raw: str) -> None:
    """One '+'-separated part that is not host RAM: link words, a count and a device name (with
    optional RAM details in parentheses)."""
    part, lk, g, ln = parse_link_words(raw)
    p.link_kind = lk or p.link_kind
    p.pcie_gen = g or p.pcie_gen
    p.lanes = ln or p.lanes
    if not part:
        return
    count, name = _parse_count(part)
    dev = resolve_device(name)
    _, inner = split_paren(name)
    if inner:
        _parse_ram_details(inner, p.ram)
        m = re.search(r"(\d+)\s*gb\s+(?:lp)?ddr", inner, re.IGNORECASE)
        if m and p.ram.size_gb is None and dev.kind == "cpu":
            p.ram.size_gb = float(m.group(1))
    if dev.kind == "cpu" and dev.memory_bytes and p.ram.size_gb is None:
        p.ram.size_gb = dev.memory_bytes / GIB  # soldered memory: "Raspberry Pi 5 16GB", "Core Ultra 7 258V"
    _add_device(p, dev, count)


def _read_parts(text: str) -> _Parts:
    """Read every part of a machine description (impossible numbers fail before names resolve)."""
    parts = [p for p in re.split(r"\s+\+\s+|\s*;\s*", text) if p.strip()]
    parsed_ram = {i: _parse_ram(raw) for i, raw in enumerate(parts)}  # impossible numbers fail first
    for raw in parts:
        if not _RAM_RE.match(raw):
            _parse_count(parse_link_words(raw)[0] or "1x x")
    out = _Parts()
    for i, raw in enumerate(parts):
        if raw.strip().lower() == "local":
            raise RigfitError("'local' cannot be combined with other parts.", "Use 'local' on its own.")
        r = parsed_ram[i]
        if r is not None:
            if out.ram.size_gb is not None:
                raise RigfitError("Host RAM given twice.", "Give one RAM part, e.g. '64GB DDR5-6000'.")
            out.ram = r
            continue
        _read_device_part(out, raw)
    if len(out.accels) > _MAX_COUNT:
        raise RigfitError(
            f"Implausible device count {len(out.accels)}.",
            f"rigfit models one machine of at most {_MAX_COUNT} devices.",
        )
    return out


def _unified_alone(p: _Parts, text: str) -> Machine:
    """A unified-memory system (Apple chip, APU), which must be described alone."""
    unified, ram = p.unified, p.ram
    assert unified is not None
    if p.cpu is not None or p.accels:
        raise RigfitError(
            f"{unified.name} is a complete system with its own CPU and memory.",
            "Describe it alone, e.g. 'M3 Max 40-core 128GB'.",
        )
    if (
        ram.size_gb is not None
        and unified.memory_bytes
        and abs(ram.size_gb * GIB - unified.memory_bytes) > 0.6 * GIB
    ):
        raise RigfitError(
            "Unified-memory machines take the memory size in the device name.",
            f"e.g. '{unified.extra.get('chip') or unified.name.rsplit(' ', 1)[0]} {ram.size_gb:g}GB'.",
        )
    return unified_machine(unified, text)


def _check_hosted(p: _Parts) -> None:
    """A hosted system (Cerebras, Groq) cannot share a machine with the user's own devices."""
    hosted = [d for d in p.accels if d.kind == "hosted"]
    if hosted and (len(hosted) != len(p.accels) or p.cpu is not None or p.ram.size_gb is not None):
        raise RigfitError(
            f"{hosted[0].name} is a hosted system: it cannot share a machine with your own devices.",
            f"Describe it alone (e.g. '{hosted[0].aliases[0] if hosted[0].aliases else hosted[0].name}'), "
            "and your own box separately.",
        )


def _host_ram(
    cpu: Device | None, cpu_count: int, ram: _Ram, notes: list[str], sources: dict[str, str]
) -> tuple[float | None, str | None]:
    """Host RAM bandwidth [B/s] and type, from the RAM part or the CPU's rated memory speed
    (appends notes and sources)."""
    ram_bw = None
    ram_type = None
    if ram.kind or ram.mts:
        ram_type = f"{ram.kind or 'DDR'}-{ram.mts}" if ram.mts else ram.kind
    if ram.mts:
        if ram.channels:
            ch, how = ram.channels, "given"
        elif cpu is not None and cpu.extra.get("memory_channels"):
            ch = cpu.extra["memory_channels"] * cpu_count
            how = f"from the {cpu.name} spec"
        else:
            ch, how = 2, "assumed (desktop dual channel)"
            notes.append("host RAM channels not given: assumed 2 (dual-channel desktop)")
        ram_bw = ch * 8 * ram.mts * 1e6
        sources["ram_bandwidth_bytes_per_s"] = f"derived: {ch:g} channels ({how}) × 8 B × {ram.mts} MT/s"
        if cpu is None:
            notes.append(
                f"host CPU not named: assumed able to draw the RAM's peak {ram_bw / 1e9:.1f} GB/s (estimate)"
            )
        if (
            cpu is not None
            and cpu.extra.get("max_memory_mt_s")
            and ram.mts > cpu.extra["max_memory_mt_s"] * 1.3
        ):
            notes.append(
                f"RAM speed {ram.mts} MT/s is above {cpu.name}'s rated {cpu.extra['max_memory_mt_s']} MT/s "
                "(overclocked memory?)"
            )
    elif cpu is not None and cpu.bandwidth_bytes_per_s and cpu.extra.get("memory_fixed"):
        ram_bw = cpu.bandwidth_bytes_per_s  # soldered memory of one speed (SBC, laptop SoC)
        sources["ram_bandwidth_bytes_per_s"] = f"{cpu.name}'s soldered memory: " + cpu.sources.get(
            "bandwidth_bytes_per_s", ""
        )
        ram_type = ram_type or cpu.extra.get("memory_type")
    elif cpu is not None and cpu.bandwidth_bytes_per_s:
        ram_bw = cpu.bandwidth_bytes_per_s
        sources["ram_bandwidth_bytes_per_s"] = (
            f"{cpu.name} at its rated memory speed, all channels populated: "
            + cpu.sources.get("bandwidth_bytes_per_s", "")
        )
        notes.append("host RAM speed not given: assumed the CPU's rated speed with all channels populated")
        ram_type = ram_type or cpu.extra.get("memory_type")
    elif ram.size_gb is not None or cpu is not None:
        notes.append(_unknown_ram_note(cpu, ram))
    return ram_bw, ram_type


def _unknown_ram_note(cpu: Device | None, ram: _Ram) -> str:
    """The note for host RAM whose bandwidth is unknown: what the speed estimate will assume."""
    what = "RAM type/speed not given" if cpu is None else f"{cpu.name}'s memory speed is not in the catalog"
    return (
        f"host RAM bandwidth unknown ({what}): speed estimates use the default host bandwidth "
        "(estimated; give e.g. '32GB DDR5-5600 dual-channel')"
    )


def resolve_machine(spec: str) -> Machine:
    """Resolve a machine description into a :class:`Machine` (see the module docstring).

    Examples: "RTX 4090", "2x RTX 3090", "8x H200 NVLink", "RTX 4090 x2",
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200", "M3 Max 40-core 128GB", "local",
    "RTX 3090 + 64GB (reserve 6GB)".
    """
    if spec is None or not spec.strip():
        raise RigfitError("Empty machine description.", "Try e.g. '2x RTX 3090 + 64GB DDR4-3200' or 'local'.")
    check_name_length(spec.strip(), "machine description")
    spec, reserve = osreserve.split_reserve(spec)  # "(reserve 2GB)": host RAM kept for the OS
    if reserve is not None:
        return osreserve.with_reserve(
            resolve_machine(spec), reserve, f"given in the machine description: {reserve / GIB:g} GiB"
        )
    expanded = profiles.expand(spec)  # a saved machine's name -> its description (rigfit machine save)
    if expanded != spec and osreserve.split_reserve(expanded)[1] is not None:
        return resolve_machine(expanded)  # a saved description with its own "(reserve N)"
    spec = expanded
    if (
        amended := amend.amend_local(spec, resolve_machine, detect_local_machine)
    ) is not None:  # "local + 64GB DDR5-6000"
        return amended
    text = spec.strip()
    if text.lower() in ("local", "this", "here", "auto"):
        return detect_local_machine()
    p = _read_parts(text)
    if p.unified is not None:
        return _unified_alone(p, text)
    _check_hosted(p)
    notes: list[str] = []
    sources: dict[str, str] = {}
    ram = p.ram
    ram_bytes = int(ram.size_gb * GIB) if ram.size_gb is not None else None
    cpu = _combine_cpus(p.cpu, p.cpu_count) if p.cpu is not None and p.cpu_count > 1 else p.cpu
    ram_bw, ram_type = _host_ram(cpu, p.cpu_count, ram, notes, sources)
    if ram_bytes is not None:
        sources["ram_bytes"] = "given"
    host_link, interconnect, link_notes = accelerator_links(p.accels, p.link_kind, p.pcie_gen, p.lanes)
    notes.extend(link_notes)
    if not p.accels and cpu is None:
        raise RigfitError(
            f"No device in {spec!r}.", "Name a GPU, Apple chip, CPU or APU, e.g. 'RTX 3090 + 64GB'."
        )
    name = _machine_name(p.accels, cpu, ram_bytes, ram_type, interconnect)
    return Machine(
        name=name,
        accelerators=tuple(p.accels),
        cpu=cpu,
        ram_bytes=ram_bytes,
        ram_bandwidth_bytes_per_s=ram_bw,
        ram_type=ram_type,
        interconnect=interconnect,
        host_link=host_link,
        unified_memory=False,
        detected=False,
        sources=sources,
        notes=tuple(notes),
    )


def _machine_name(
    accels: list[Device],
    cpu: Device | None,
    ram_bytes: int | None,
    ram_type: str | None,
    interconnect: Link | None,
) -> str:
    parts: list[str] = []
    groups: dict[str, int] = {}
    for d in accels:
        groups[d.name] = groups.get(d.name, 0) + 1
    for n, c in groups.items():
        parts.append(f"{c}x {n}" if c > 1 else n)
    if interconnect is not None and interconnect.kind == "nvlink" and parts:
        parts[-1] += " NVLink"
    if cpu is not None:
        parts.append(cpu.name)
    if ram_bytes is not None:
        parts.append(f"{ram_bytes / GIB:g}GB" + (f" {ram_type}" if ram_type else ""))
    return " + ".join(parts)


def detect_local_machine() -> Machine:
    """This computer as a Machine (NVIDIA GPUs via NVML, CPU model/flags, RAM, Apple chip).

    Never fails for missing drivers: what cannot be read stays unknown, with a note. The
    environment variable ``RIGFIT_FAKE_LOCAL`` (a machine description) stands in for detection,
    for tests and demos.
    """
    fake = os.environ.get("RIGFIT_FAKE_LOCAL")
    if fake:
        m = resolve_machine(fake)
        return replace(m, detected=True, name=f"local: {m.name}")
    from rigfit.hardware.local import detect_local  # lazy: NVML, /proc readers; only for "local"

    return detect_local()


def reference_machine() -> Machine:
    """The :data:`REFERENCE_BOX` machine."""
    return resolve_machine(REFERENCE_BOX)
