"""``local + 64GB DDR5-6000``: this computer as detected, with host RAM the user knows better.

Detection reads the RAM size but not the DIMM speed (not readable without root), so host RAM
bandwidth is assumed from the CPU's rated speed, or unknown for a CPU the catalog lacks. A RAM part
after ``local`` overrides what was detected: its size always, its type and speed (hence the RAM
bandwidth, with the channel count from the CPU spec, given, or assumed 2) when it names them.
The RAM part is read by the same machine grammar as ``"RTX 3090 + 64GB DDR5-6000"``.
Only host RAM can be added; GPUs and the CPU come from detection.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from rigfit.errors import RigfitError
from rigfit.hardware.devices import Machine
from rigfit.units import GIB

_LOCAL_PLUS = re.compile(r"^\s*(?:local|this|here|auto)\s*\+\s*(.*)$", re.IGNORECASE)
_RAM_START = re.compile(r"^\d+(?:\.\d+)?\s*(?:gb|gib|tb|tib)\b", re.IGNORECASE)
_CHANNELS = re.compile(r"\d\s*-?\s*(?:ch|channels?)\b|\b(?:dual|quad|octa)\b", re.IGNORECASE)
#: a CPU with no catalog row, to read a RAM part on its own (host RAM needs a host)
_GENERIC_HOST = "1 cores"


def _read_ram(local: Machine, ram_text: str, resolve: Callable[[str], Machine]) -> Machine:
    """A machine holding only ``ram_text`` read by the grammar, with the local CPU's channel count."""
    if local.cpu is not None:
        try:
            return resolve(f"{local.cpu.name} + {ram_text}")
        except RigfitError:
            pass  # the detected CPU has no catalog row: read the RAM on a generic host below
    ch = local.cpu.extra.get("memory_channels") if local.cpu is not None else None
    if ch and not _CHANNELS.search(ram_text):
        ram_text = f"{ram_text} {ch}ch"
    return resolve(f"{_GENERIC_HOST} + {ram_text}")


def amend_local(
    spec: str | None, resolve: Callable[[str], Machine], detect: Callable[[], Machine]
) -> Machine | None:
    """The detected machine amended by ``spec``'s RAM part when ``spec`` is ``local + RAM``, else None.

    ``resolve`` and ``detect`` are the machine grammar's ``resolve_machine`` and
    ``detect_local_machine`` (passed in: the grammar calls this module).

    Raises RigfitError (one line) when what follows ``local +`` is not host RAM, or when the
    local machine has unified memory (its memory is part of the chip).
    """
    m = _LOCAL_PLUS.match(spec or "")
    if m is None:
        return None
    ram_text = m.group(1).strip()
    if not _RAM_START.match(ram_text) or "+" in ram_text or ";" in ram_text:
        raise RigfitError(
            f"Only host RAM can be added to 'local' (got {ram_text!r}).",
            "e.g. 'local + 64GB DDR5-6000'; GPUs and the CPU come from detection.",
        )
    local = detect()
    if local.unified_memory:
        raise RigfitError(
            "This computer has unified memory: its size and speed are part of the chip.",
            "Use 'local' alone, or describe the chip, e.g. 'M4 Pro 48GB'.",
        )
    probe = _read_ram(local, ram_text, resolve)
    sources = dict(local.sources)
    notes = list(local.notes)
    ram_bw = local.ram_bandwidth_bytes_per_s
    ram_type = local.ram_type
    detected = f" (detected: {local.ram_bytes / GIB:.1f} GiB)" if local.ram_bytes else ""
    sources["ram_bytes"] = "given in the machine description" + detected
    probe_bw_source = probe.sources.get("ram_bandwidth_bytes_per_s", "")
    if probe.ram_bandwidth_bytes_per_s and probe_bw_source.startswith("derived"):
        ram_bw, ram_type = probe.ram_bandwidth_bytes_per_s, probe.ram_type
        sources["ram_bandwidth_bytes_per_s"] = probe_bw_source
        notes = [n for n in notes if "RAM" not in n]
        notes += [n for n in probe.notes if "RAM" in n]
    name = f"{local.name} (RAM given: {ram_text})"
    return replace(
        local,
        name=name,
        ram_bytes=probe.ram_bytes,
        ram_bandwidth_bytes_per_s=ram_bw,
        ram_type=ram_type,
        sources=sources,
        notes=tuple(notes),
    )
