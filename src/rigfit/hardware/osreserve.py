"""Host RAM kept free for the operating system and its programs: the OS reserve.

A plan's host RAM capacity (the ``CPU`` row: offloaded layers, routed experts in RAM, CPU
buffers) is the installed RAM less this reserve, so a plan never counts on RAM the OS itself
is using. llama.cpp's mmapped weights need it as much as its anonymous buffers: a mapped file
is page cache the kernel may evict under memory pressure, to read it again from disk on the
next token — llama.cpp's own help says a plain load "may reduce pageouts if not using mlock"
(``--mmap`` / ``--no-mmap`` and ``--mlock`` in common/arg.cpp,
https://github.com/ggml-org/llama.cpp/blob/master/common/arg.cpp), and the kernel keeps
anonymous pages in preference to mapped ones, so a model that fills RAM next to a desktop
session gets paged out first (https://github.com/ggml-org/llama.cpp/pull/711); of loading 65B
in 64 GB: "Especially if you have things like X and Chrome open at the same time. You're cutting
it pretty tight." (https://github.com/ggml-org/llama.cpp/issues/702).

The reserve by kind of machine (:func:`os_kind`), each the OS vendor's own minimum RAM, the
closest published figure to what the OS needs resident (what it really uses varies with what
runs beside the model, so give your own with ``--reserve-ram`` or ``(reserve 6GB)``):

- desktop (Windows 11, desktop Linux; also laptops, workstations, mini-PCs and APUs such as
  Strix Halo and DGX Spark) — 4 GiB: Windows 11 requires 4 GB of RAM
  (https://learn.microsoft.com/en-us/windows/whats-new/windows-11-requirements,
  https://www.microsoft.com/en-us/windows/windows-11-specifications); a minimal Ubuntu 18.04
  desktop uses "around 4gb" logged in (2.4 GB logged out), and Windows 10 Pro "idles at around
  3GB or less" (https://github.com/microsoft/linux-vm-tools/issues/71).
- server (a CPU of a server segment: EPYC, Xeon Scalable / Xeon 6, Ampere, Graviton) — 2 GiB:
  Windows Server with Desktop Experience requires 2 GB (512 MB for Server Core; 2025: 4 GB
  recommended), https://github.com/MicrosoftDocs/windowsserverdocs/blob/main/WindowsServerDocs/get-started/hardware-requirements.md;
  Ubuntu Server 24.04 requires 1.5 GB for an ISO install and suggests 3 GB or more,
  https://github.com/canonical/ubuntu-server-documentation/blob/main/docs/reference/installation/system-requirements.md.
  2 GiB sits inside that 1.5–3 GB span.
- single-board computer (Raspberry Pi, Rockchip …; run headless) — 1 GiB: Ubuntu Server's
  1 GB minimum for cloud images (same Ubuntu page), an image booted without an installer, the
  closest published figure for a board's preinstalled headless image (an estimate: no board
  vendor publishes one). A Pi with a desktop session should be given the desktop figure.
- Apple Silicon Mac — 0: the RAM outside Metal's working set
  (``recommendedMaxWorkingSetSize``, :func:`rigfit.plan.apple_system_share_bytes`) already
  stays macOS's, and llama.cpp's CPU buffers come out of the GPU's budget there; a reserve on
  top would count macOS twice. A reserve the user gives larger than that share replaces it.

Not applied to ``rigfit check`` (a published claim's machine may have run headless) or to the
prediction of published runs (``rigfit predict``), which err towards "fits".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from rigfit.errors import RigfitError
from rigfit.hardware.devices import Machine
from rigfit.units import GIB, MIB

OsKind = Literal["desktop", "server", "sbc", "apple"]

#: RAM a desktop OS keeps [B]: Windows 11's minimum, 4 GB (see the module docstring).
DESKTOP_RESERVE_BYTES = 4 * GIB
#: RAM a server OS keeps [B]: Windows Server with Desktop Experience's minimum, 2 GB (module docstring).
SERVER_RESERVE_BYTES = 2 * GIB
#: RAM a headless single-board computer's OS keeps [B]: Ubuntu Server's 1 GB image minimum.
SBC_RESERVE_BYTES = 1 * GIB
#: Largest reserve accepted [B]: 1 TiB, above any OS's needs (the RAM itself bounds it anyway).
MAX_RESERVE_BYTES = 1024 * GIB

#: The default reserve [B] and its basis, by kind of machine.
DEFAULTS: dict[OsKind, tuple[int, str]] = {
    "desktop": (DESKTOP_RESERVE_BYTES, "desktop OS: Windows 11's 4 GB minimum RAM"),
    "server": (SERVER_RESERVE_BYTES, "server OS: Windows Server's 2 GB minimum (Ubuntu Server 1.5–3 GB)"),
    "sbc": (SBC_RESERVE_BYTES, "headless single-board computer: Ubuntu Server's 1 GB image minimum"),
    "apple": (0, "none beyond macOS's share (the RAM outside Metal's working set)"),
}

#: CPU catalog segments (``cpu_catalog.json`` families) that run a server OS / a board's OS.
_SERVER_SEGMENTS = ("server",)
_SBC_SEGMENTS = ("sbc",)
#: Server CPUs by name, for the overlay rows of ``hardware.json`` that carry no segment: AMD EPYC,
#: Intel Xeon Scalable (Platinum/Gold/Silver/Bronze/Max), Xeon 6 (6xxxP/E), Xeon E3/E5/E7 and
#: E-2xxx, Ampere Altra/One, AWS Graviton. Xeon W (w9-3495X …) is a workstation part: desktop.
_SERVER_NAME = re.compile(
    r"\bEPYC\b|\bXeon\s+(?:Platinum|Gold|Silver|Bronze|Max|E\d|E-\d|\d{4}[PE]\b)|\bAmpere\b|\bGraviton",
    re.IGNORECASE,
)
#: "(reserve 2GB)" / "(os reserve 512 MB)" in a machine description.
_RESERVE_PART = re.compile(r"\(\s*(?:os\s+)?reserve\s+([^)]*)\)", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(gib|gb|g|mib|mb|m)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RamReserve:
    """Host RAM kept for the OS [B], the kind of machine it was chosen for, and its basis."""

    bytes: int
    kind: OsKind | Literal["given"]
    source: str


def os_kind(machine: Machine) -> OsKind:
    """The kind of OS a machine runs, for its default reserve: an Apple Silicon Mac, a server, a
    single-board computer or (otherwise, and when the CPU is not named) a desktop."""
    if any(d.kind == "apple" for d in machine.accelerators):
        return "apple"
    cpu = machine.cpu
    if cpu is None:
        return "desktop"
    segment = (cpu.extra or {}).get("segment")
    if segment in _SERVER_SEGMENTS or (segment is None and _SERVER_NAME.search(cpu.name)):
        return "server"
    if segment in _SBC_SEGMENTS:
        return "sbc"
    return "desktop"


def ram_reserve(machine: Machine) -> RamReserve:
    """The OS reserve of ``machine``: the one its description or ``--reserve-ram`` gives
    (``Machine.ram_reserve_bytes``), else the default for its kind (module docstring)."""
    if machine.ram_reserve_bytes is not None:
        src = machine.sources.get("ram_reserve_bytes") or "given"
        return RamReserve(machine.ram_reserve_bytes, "given", src)
    kind = os_kind(machine)
    n, src = DEFAULTS[kind]
    return RamReserve(n, kind, src)


def parse_reserve(text: str, flag: str = "--reserve-ram") -> int:
    """A reserve size [B] from ``"4GB"``, ``"2.5 GiB"``, ``"512MB"`` or a bare number of GiB.

    GB means GiB here, as in the machine grammar's RAM sizes ("32GB" of RAM is 32 GiB); MB is MiB.
    Raises RigfitError (one line) for anything else, a negative size or one above 1 TiB.
    """
    m = _SIZE.match(text or "")
    if not m:
        raise RigfitError(
            f"{flag}: cannot read {text!r} as a size.", "Give e.g. '4GB', '2.5GiB', '512MB' or 0."
        )
    value, unit = float(m.group(1)), (m.group(2) or "gb").lower()
    n = int(value * (MIB if unit.startswith("m") else GIB))
    if n < 0:
        raise RigfitError(f"{flag} must be ≥ 0, got {text.strip()!r}.")
    if n > MAX_RESERVE_BYTES:
        raise RigfitError(f"{flag} must be at most 1024 GiB, got {text.strip()!r}.")
    return n


def split_reserve(spec: str) -> tuple[str, int | None]:
    """``spec`` without its ``(reserve N)`` part, and that reserve [B] (None when absent).

    Raises RigfitError when the part is given twice or its size cannot be read.
    """
    found = _RESERVE_PART.findall(spec)
    if not found:
        return spec, None
    if len(found) > 1:
        raise RigfitError("OS reserve given twice.", "Give one '(reserve 2GB)' in the machine description.")
    rest = _RESERVE_PART.sub(" ", spec)
    return re.sub(r"\s{2,}", " ", rest).strip(), parse_reserve(found[0], "(reserve …)")


def with_reserve(machine: Machine, n_bytes: int | None, source: str) -> Machine:
    """``machine`` with a given OS reserve [B] (None: unchanged, the default by kind applies)."""
    if n_bytes is None:
        return machine
    if n_bytes < 0:
        raise RigfitError(f"The OS reserve must be ≥ 0, got {n_bytes / GIB:g} GiB.")
    sources = dict(machine.sources)
    sources["ram_reserve_bytes"] = source
    return replace(machine, ram_reserve_bytes=int(n_bytes), sources=sources)


def reserve_text(r: RamReserve) -> str:
    """One phrase for a plan's host-RAM capacity line: "4.00 GiB kept for the OS (desktop OS: …)"."""
    return f"{r.bytes / GIB:.2f} GiB kept for the OS ({r.source})"


#: Help of the ``--reserve-ram`` option (rigfit plan, rigfit recommend).
RESERVE_HELP = (
    "Host RAM kept free for the OS and other programs, e.g. 6GB or 0 (default by machine: 4 GiB "
    "desktop, 2 GiB server, 1 GiB single-board computer, 0 on a Mac beyond macOS's share)."
)


def apply_option(machine: Machine, text: str | None, flag: str = "--reserve-ram") -> Machine:
    """``machine`` with the reserve a command-line option gives (None: unchanged); the option wins
    over a ``(reserve N)`` in the machine description."""
    if text is None:
        return machine
    n = parse_reserve(text, flag)
    return with_reserve(machine, n, f"given: {flag} {text.strip()}")
