"""Readers of this machine's facts beyond NVML: DRM GPUs in sysfs, Jetson/SBC boards, DIMMs.

Every reader takes the root it reads from (``/sys``, ``/proc``, ``/etc``, ``/usr/share``), so that
tests point it at a fake tree; none raises for a missing or unreadable file (what cannot be read
stays ``None``). What each figure was read from is kept in its ``source``.

* :func:`read_drm_gpus`: ``/sys/class/drm/card*/device``: PCI vendor (0x1002 AMD, 0x8086 Intel,
  0x10de NVIDIA; https://pcisig.com/membership/member-companies), device id, and for amdgpu the
  VRAM and GTT sizes (``mem_info_vram_total``, ``mem_info_gtt_total`` [B]; amdgpu sysfs docs:
  https://docs.kernel.org/gpu/amdgpu/driver-misc.html), the marketing name where the driver gives
  one (``product_name``), else candidates from the PCI id database (``pci.ids``, hwdata).
* :func:`read_board`: ``/proc/device-tree/model`` (Raspberry Pi, Jetson, Rockchip boards) and
  ``/etc/nv_tegra_release`` (Jetson L4T).
* :func:`read_dimms`: ``dmidecode -t memory`` (needs root): type, configured speed, populated DIMMs.
* :func:`amd_smi_names`: ``amd-smi static --json`` market names, when the tool exists.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: PCI vendor ids of GPU makers (PCI-SIG member list)
PCI_VENDORS = {"0x1002": "AMD", "0x8086": "Intel", "0x10de": "NVIDIA"}


@dataclass
class DrmGpu:
    """One GPU as the kernel's DRM sysfs shows it (sizes in bytes; None = not readable)."""

    card: str
    vendor: str
    device_id: str | None = None
    driver: str | None = None
    product_name: str | None = None
    vram_total_bytes: int | None = None
    gtt_total_bytes: int | None = None
    name_candidates: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class Board:
    """The board model and whether it is an NVIDIA Jetson (L4T)."""

    model: str | None = None
    jetson_release: str | None = None
    source: str = ""


@dataclass
class Dimms:
    """Populated memory devices as dmidecode reports them."""

    memory_type: str | None = None  # "DDR5"
    configured_mt_s: int | None = None  # the slowest populated DIMM's configured speed
    populated: int = 0
    source: str = ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip().strip("\x00") or None
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text and text.isdigit() else None


def pci_names(vendor_id: str, device_id: str, share_root: Path = Path("/usr/share")) -> list[str]:
    """Marketing names of a PCI device from hwdata's ``pci.ids`` ("Navi 31 [Radeon RX 7900 XT/7900
    XTX]" → ["Radeon RX 7900 XT", "Radeon RX 7900 XTX"]); [] when the database is missing."""
    vend, dev = vendor_id.lower().removeprefix("0x"), device_id.lower().removeprefix("0x")
    for path in (share_root / "hwdata" / "pci.ids", share_root / "misc" / "pci.ids"):
        text = _read(path)
        if text is None:
            continue
        in_vendor = False
        for line in text.splitlines():
            if line and not line.startswith(("\t", "#")):
                in_vendor = line.lower().startswith(vend + " ")
            elif (
                in_vendor
                and line.startswith("\t")
                and not line.startswith("\t\t")
                and line.strip().lower().startswith(dev + " ")
            ):
                return _bracket_names(line.strip()[len(dev) :].strip())
        return []
    return []


def _bracket_names(desc: str) -> list[str]:
    """ "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE]" → the full names, the family prefix repeated."""
    m = re.search(r"\[(.+)\]", desc)
    if m is None:
        return [desc]
    parts = [p.strip() for p in m.group(1).split("/") if p.strip()]
    if not parts:
        return [desc]
    prefix = re.match(r"^(.*?)(\S*\d\S*)(?:\s.*)?$", parts[0])
    head = prefix.group(1) if prefix else ""
    out = [parts[0]]
    for p in parts[1:]:
        out.append(p if not head or p.startswith(head.split(" ")[0]) else head + p)
    return out


def read_drm_gpus(sys_root: Path = Path("/sys"), share_root: Path = Path("/usr/share")) -> list[DrmGpu]:
    """Every GPU under ``<sys_root>/class/drm`` (cards, not their connectors), by card order."""
    base = sys_root / "class" / "drm"
    out: list[DrmGpu] = []
    try:
        cards = sorted(
            (p for p in base.iterdir() if re.fullmatch(r"card\d+", p.name)), key=lambda p: int(p.name[4:])
        )
    except OSError:
        return out
    for card in cards:
        dev = card / "device"
        vendor_id = (_read(dev / "vendor") or "").lower()
        vendor = PCI_VENDORS.get(vendor_id)
        if vendor is None:
            continue
        device_id = _read(dev / "device")
        driver = None
        try:
            driver = (dev / "driver").resolve().name or None
        except OSError:
            driver = None
        g = DrmGpu(card=card.name, vendor=vendor, device_id=device_id, driver=driver)
        g.product_name = _read(dev / "product_name")
        g.vram_total_bytes = _read_int(dev / "mem_info_vram_total")
        g.gtt_total_bytes = _read_int(dev / "mem_info_gtt_total")
        if device_id:
            g.name_candidates = pci_names(vendor_id, device_id, share_root)
        g.source = f"sysfs {card}/device"
        out.append(g)
    return out


def read_board(proc_root: Path = Path("/proc"), etc_root: Path = Path("/etc")) -> Board:
    """The device-tree board model (Arm boards) and the Jetson L4T release line, where present."""
    model = _read(proc_root / "device-tree" / "model")
    tegra = _read(etc_root / "nv_tegra_release")
    srcs = [
        s
        for s, v in ((f"{proc_root}/device-tree/model", model), (f"{etc_root}/nv_tegra_release", tegra))
        if v
    ]
    return Board(model=model, jetson_release=tegra.splitlines()[0] if tegra else None, source=", ".join(srcs))


def parse_dmidecode(text: str) -> Dimms:
    """Type, slowest configured speed [MT/s] and count of populated DIMMs from ``dmidecode -t memory``."""
    dimms = Dimms(source="dmidecode -t memory")
    speeds: list[int] = []
    for block in text.split("\n\n"):
        if "Memory Device" not in block:
            continue
        size = re.search(r"^\s*Size:\s*(.+)$", block, re.MULTILINE)
        if size is None or "No Module" in size.group(1) or size.group(1).strip().startswith("0"):
            continue
        dimms.populated += 1
        mtype = re.search(r"^\s*Type:\s*(\S+)", block, re.MULTILINE)
        if mtype and mtype.group(1) not in ("Unknown", "Other") and dimms.memory_type is None:
            dimms.memory_type = mtype.group(1)
        speed = re.search(r"^\s*Configured (?:Memory|Clock) Speed:\s*(\d+)\s*MT/s", block, re.MULTILINE)
        speed = speed or re.search(r"^\s*Speed:\s*(\d+)\s*MT/s", block, re.MULTILINE)
        if speed:
            speeds.append(int(speed.group(1)))
    dimms.configured_mt_s = min(speeds) if speeds else None
    return dimms


def read_dimms() -> tuple[Dimms | None, str | None]:
    """DIMMs via ``dmidecode`` (None and the reason when it is missing or not permitted)."""
    exe = shutil.which("dmidecode")
    if exe is None:
        return None, "dmidecode not installed"
    try:
        run = subprocess.run([exe, "-t", "memory"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"dmidecode failed ({type(exc).__name__})"
    if run.returncode != 0 or "Memory Device" not in run.stdout:
        return None, "dmidecode not permitted (needs root)"
    dimms = parse_dmidecode(run.stdout)
    return (dimms, None) if dimms.populated else (None, "dmidecode listed no populated DIMM")


def _market_names(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        found = [str(v) for k, v in obj.items() if k == "market_name" and v]
        return found + [n for v in obj.values() for n in _market_names(v)]
    if isinstance(obj, list):
        return [n for v in obj for n in _market_names(v)]
    return []


def amd_smi_names() -> list[str]:
    """GPU market names from ``amd-smi static --json`` in GPU order; [] without the tool."""
    exe = shutil.which("amd-smi")
    if exe is None:
        return []
    try:
        run = subprocess.run([exe, "static", "--json"], capture_output=True, text=True, timeout=20)
        return _market_names(json.loads(run.stdout)) if run.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
