"""Labelled figures: every number rigfit prints is measured, looked up or estimated.

A ``Figure`` carries a value in base units (bytes, seconds, bytes/s, tokens/s, FLOP/s),
its provenance and, for estimates, an uncertainty band (p10–p90 unless stated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rigfit.units import GB, GIB, MB, MIB

Provenance = Literal["measured", "looked_up", "estimated", "calibrated", "unknown"]


@dataclass(frozen=True)
class Figure:
    """A number with its provenance.

    value: the central value in base units, or ``None`` when unknown.
    unit: base unit name ("B", "s", "B/s", "tok/s", "FLOP/s", "W", "USD").
    provenance: measured | looked_up | estimated | calibrated | unknown.
    source: where a looked-up figure comes from (URL, dataset, paper), or how it was estimated.
    low, high: uncertainty band for estimates (same unit as value).
    """

    value: float | None
    unit: str
    provenance: Provenance
    source: str | None = None
    low: float | None = None
    high: float | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    def to_json(self) -> dict:
        out: dict = {"value": self.value, "unit": self.unit, "provenance": self.provenance}
        if self.source:
            out["source"] = self.source
        if self.low is not None or self.high is not None:
            out["low"] = self.low
            out["high"] = self.high
        return out


def unknown(unit: str, why: str) -> Figure:
    """An honest 'we do not know' (with the reason in ``source``)."""
    return Figure(None, unit, "unknown", why)


def fmt_bytes(n: float | None, unit: str = "GiB") -> str:
    """Format bytes with an explicit binary (GiB/MiB) or decimal (GB/MB) unit label."""
    if n is None:
        return "unknown"
    div = {"GiB": GIB, "MiB": MIB, "GB": GB, "MB": MB, "TB": 1000**4, "TiB": 1024**4}[unit]
    value = n / div
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"
