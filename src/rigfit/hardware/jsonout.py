"""Hardware as JSON and as labelled figures: ``device_to_json``, ``machine_to_json``, ``figure``.

JSON schema of ``machine_to_json`` (``rigfit hardware NAME --json``), schema id
``rigfit.hardware/1``::

    {"schema": "rigfit.hardware/1", "query": str,
     "machine": {
       "name": str, "detected": bool, "unified_memory": bool,
       "accelerators": [DEVICE, ...],          # one entry per physical device
       "cpu": DEVICE | null,
       "host": {"ram_bytes": int|null, "ram_bandwidth_bytes_per_s": float|null, "ram_type": str|null,
                "ram_reserve_bytes": int, "ram_reserve_source": str},  # reserve: hardware/osreserve.py
       "interconnect": LINK | null,            # GPU-GPU path when there are several accelerators
       "host_link": LINK | null,               # accelerator <-> host RAM
       "totals": {"n_accelerators": int, "accelerator_memory_bytes": int},
       "wall_power": {"idle_w": [lo, hi], "load_w": [lo, hi], "status", "source", "build"},
       "sources": {field: str}, "notes": [str]}}
    DEVICE = {"id", "name", "kind" (gpu|apple|cpu|apu|hosted), "vendor",
              "memory_bytes", "bandwidth_bytes_per_s", "fp16_flops", "fp16_fp32acc_flops",
              "int8_ops", "fp32_flops", "tdp_w", "price_usd", "memory_type",
              "gpu_memory_fraction", "cores", "threads", "simd": [str], "architecture",
              "release_year", "purchasable", "sources": {field: str}, "status": {field: str},
              "notes": str|null, "extra": {...},
              "figures": {field: FIGURE}}      # the numbers above with unit and provenance
    FIGURE = {"value", "unit", "provenance", "source"?, "low"?, "high"?} (rigfit.figures.Figure)
    LINK = {"kind" (pcie|nvlink|infinity_fabric|unified|network), "bandwidth_bytes_per_s"
            (one direction), "latency_s", "source"}

All numbers are in base units (bytes, bytes/s, FLOP/s, W, USD); ``null`` means unknown.
``rigfit hardware --list --json`` gives ``{"schema": "rigfit.hardware-list/1", "devices": [...]}``
with id, name, kind, vendor, memory_bytes, bandwidth_bytes_per_s, fp16_flops, tdp_w, price_usd, figures.
The JSON Schema files: ``rigfit/schemas/hardware-1.schema.json``, ``hardware-list-1.schema.json``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rigfit.figures import Figure, unknown
from rigfit.hardware.devices import Device, Link, Machine
from rigfit.hardware.osreserve import ram_reserve
from rigfit.hardware.power import wall_power

_DEVICE_FIELDS = (
    "id",
    "name",
    "kind",
    "vendor",
    "memory_bytes",
    "bandwidth_bytes_per_s",
    "fp16_flops",
    "fp16_fp32acc_flops",
    "int8_ops",
    "fp32_flops",
    "tdp_w",
    "price_usd",
    "memory_type",
    "gpu_memory_fraction",
    "cores",
    "threads",
    "simd",
    "architecture",
    "release_year",
    "purchasable",
    "sources",
    "status",
    "notes",
    "extra",
)


def device_to_json(dev: Device) -> dict:
    """A Device as the stable JSON object described in the module docstring."""
    out: dict[str, Any] = {}
    for f in _DEVICE_FIELDS:
        v = getattr(dev, f)
        if isinstance(v, tuple):
            v = list(v)
        out[f] = v
    out["figures"] = {f: figure(dev, f).to_json() for f in _UNITS}
    return out


def _link_json(link: Link | None) -> dict | None:
    return None if link is None else asdict(link)


def machine_to_json(m: Machine, query: str | None = None) -> dict:
    """A Machine as the stable ``rigfit.hardware/1`` JSON document (see the module docstring)."""
    return {
        "schema": "rigfit.hardware/1",
        "query": query if query is not None else m.name,
        "machine": {
            "name": m.name,
            "detected": m.detected,
            "unified_memory": m.unified_memory,
            "accelerators": [device_to_json(d) for d in m.accelerators],
            "cpu": device_to_json(m.cpu) if m.cpu is not None else None,
            "host": {
                "ram_bytes": m.ram_bytes,
                "ram_bandwidth_bytes_per_s": m.ram_bandwidth_bytes_per_s,
                "ram_type": m.ram_type,
                "ram_reserve_bytes": (reserve := ram_reserve(m)).bytes,
                "ram_reserve_source": reserve.source,
            },
            "interconnect": _link_json(m.interconnect),
            "host_link": _link_json(m.host_link),
            "totals": {
                "n_accelerators": m.n_accelerators,
                "accelerator_memory_bytes": m.accelerator_memory_bytes,
            },
            "wall_power": wall_power(m),
            "sources": dict(m.sources),
            "notes": list(m.notes),
        },
    }


_PROVENANCE = {
    "verified": "looked_up",
    "looked-up": "looked_up",
    "from-memory": "looked_up",
    "derived": "estimated",
    "default": "estimated",
    "estimate": "estimated",
    "detected": "measured",
    "unknown": "unknown",
}
_UNITS = {
    "memory_bytes": "B",
    "bandwidth_bytes_per_s": "B/s",
    "fp16_flops": "FLOP/s",
    "fp16_fp32acc_flops": "FLOP/s",
    "int8_ops": "OP/s",
    "fp32_flops": "FLOP/s",
    "tdp_w": "W",
    "price_usd": "USD",
}


def figure(dev: Device, field: str) -> Figure:
    """One device figure as a labelled :class:`~rigfit.figures.Figure`.

    Provenance from the field's status: verified / looked-up / from-memory → ``looked_up``;
    derived / default → ``estimated`` (no band: a formula on looked-up specs, see rigfit.hardware.tables);
    detected → ``measured``; missing → ``unknown``.
    """
    value = getattr(dev, field)
    unit = _UNITS.get(field, "")
    if value is None:
        return unknown(unit, dev.sources.get(field) or f"{dev.name}: {field} not in the catalog")
    prov = _PROVENANCE.get(dev.status.get(field, "looked-up"), "looked_up")
    return Figure(float(value), unit, prov, dev.sources.get(field))  # type: ignore[arg-type]
