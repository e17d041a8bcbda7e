"""Prediction bands (p10–p90) by vendor × backend × split mode, from leave-one-device-out residuals.

A band is the spread of ``log(observed / predicted)`` over held-out devices (see
``benchmarks/calibrate.py``). One pooled band is too wide for Apple (well predicted) and too
narrow for AMD and Intel (rarely seen), so the residuals are grouped from the most specific key to
the least specific one:

    kind|vendor|backend|split  →  kind|vendor|backend  →  kind|backend  →  kind|vendor  →  kind

and a prediction uses the first group with enough evidence. Every group's quantiles are weighted
so that each device counts about equally (one heavily benchmarked box must not set a vendor's
band), and a group seen on few devices is widened towards its parent by a small-sample factor:
with ``d`` held-out devices the half-widths grow by ``1 + FEW_DEVICES_WIDEN / d`` (an assumption
sized so that leave-one-device-out coverage stays near 80 %, checked by
``benchmarks/accuracy.py``). The band carries the number of rows and devices behind it, so a
caller can say "wide: few measurements on this kind of device".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: A group needs this many rows and devices to get a band of its own (else its parent applies).
MIN_ROWS = 8
MIN_DEVICES = 2
#: Small-sample widening of a group's half-widths: × (1 + FEW_DEVICES_WIDEN / devices).
FEW_DEVICES_WIDEN = 1.0
#: Below this many devices a band is reported as "few measurements" (wider, flagged).
FEW_DEVICES = 4
#: Fallback when no residuals exist at all: ±35 % in log space (assumption).
DEFAULT_BAND = {"p10": -0.35, "p90": 0.35, "n": 0, "devices": 0}


@dataclass(frozen=True)
class Residual:
    """One held-out prediction: log(observed/predicted) and the groups it belongs to."""

    log_ratio: float
    device: str
    kind: str  # "pp" | "tg" (pg counts as tg)
    vendor: str  # nvidia | amd | apple | intel | cpu | other
    backend: str
    split: str  # "layer" | "row" | "tensor"


def vendor_of(hardware_kind: str | None) -> str:
    """Normalised vendor of a ground-truth row's ``hardware_kind`` (or a device vendor)."""
    v = (hardware_kind or "").strip().lower()
    for key in ("nvidia", "amd", "apple", "intel", "cpu"):
        if key in v:
            return key
    return v or "other"


def band_keys(kind: str, vendor: str | None, backend: str | None, split: str = "layer") -> list[str]:
    """Band lookup keys, most specific first (vendor and backend may be unknown)."""
    kind = "tg" if kind == "pg" else kind
    v = vendor_of(vendor) if vendor else None
    out = []
    if v and backend:
        out += [f"{kind}|{v}|{backend}|{split}", f"{kind}|{v}|{backend}"]
    if backend:
        if split == "row":
            out.append(f"{kind}|{backend}|row")
        out.append(f"{kind}|{backend}")
    if v:
        out.append(f"{kind}|{v}")
    out.append(kind)
    return out


def _groups(r: Residual) -> list[str]:
    return band_keys(r.kind, r.vendor, r.backend, r.split)


def weighted_quantiles(values: Sequence[float], weights: Sequence[float], qs: Sequence[float]) -> list[float]:
    """Quantiles of a weighted sample (linear interpolation of the weighted CDF)."""
    import numpy as np  # lazy: only band fitting needs numpy (~0.1 s of every plan's start-up)

    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v)
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(np.interp(q, cdf, v)) for q in qs]


def _quantile_band(rs: Sequence[Residual]) -> dict:
    per_dev: defaultdict[str, int] = defaultdict(int)
    for r in rs:
        per_dev[r.device] += 1
    # each device weighs about the same: 1/√rows keeps some weight on well-sampled devices
    weights = [1.0 / math.sqrt(per_dev[r.device]) for r in rs]
    p10, p90 = weighted_quantiles([r.log_ratio for r in rs], weights, (0.1, 0.9))
    d = len(per_dev)
    widen = 1.0 + FEW_DEVICES_WIDEN / d
    mid = 0.5 * (p10 + p90)
    half = 0.5 * (p90 - p10) * widen
    return {"p10": mid - half, "p90": mid + half, "n": len(rs), "devices": d}


def fit_bands(residuals: Iterable[Residual]) -> dict[str, dict]:
    """Band table {key: {p10, p90, n, devices}} for every group with enough rows and devices
    (before inflation: :func:`lookup` applies the factors of :func:`fit_inflation`)."""
    by_key: defaultdict[str, list[Residual]] = defaultdict(list)
    for r in residuals:
        if not math.isfinite(r.log_ratio):
            continue
        for k in _groups(r):
            by_key[k].append(r)
    out: dict[str, dict] = {}
    for k, rs in by_key.items():
        devices = {r.device for r in rs}
        top = "|" not in k
        if top or (len(rs) >= MIN_ROWS and len(devices) >= MIN_DEVICES):
            out[k] = _quantile_band(rs)
    return out


def _inflate(entry: dict, factor: float) -> dict:
    mid = 0.5 * (entry["p10"] + entry["p90"])
    half = 0.5 * (entry["p90"] - entry["p10"]) * factor
    return {**entry, "p10": mid - half, "p90": mid + half}


#: Target share of held-out rows inside their band (p10–p90) and the range of inflation factors.
TARGET_COVERAGE = 0.80
MIN_FACTOR, MAX_FACTOR = 0.25, 4.0
#: A vendor gets inflation factors of its own with at least this many rows and devices; a vendor
#: under MIN_VENDOR_ROWS rows of one kind but with that many over prefill and decode together
#: gets one factor for both kinds ("*|vendor"). Below MIN_VENDOR_ROWS rows its bands are flagged
#: as wide (:func:`is_wide`).
MIN_VENDOR_ROWS = 20
MIN_VENDOR_DEVICES = 3


def _factor(sel: Sequence[tuple[float, float, float]]) -> float:
    """Smallest factor f with share(|log_ratio - mid| ≤ f·half) ≥ TARGET_COVERAGE: the exact
    80 % point of the rows' scaled distances (rounded up to 0.001, clipped to
    [MIN_FACTOR, MAX_FACTOR]). A grid of steps overshoots on a few dozen rows (one step moved
    CPU coverage from 75 % to 88 % on 32 rows)."""
    import numpy as np  # lazy: see weighted_quantiles

    lr = np.array([x[0] for x in sel])
    mid = np.array([x[1] for x in sel])
    half = np.maximum(np.array([x[2] for x in sel]), 1e-9)
    dist = np.sort(np.abs(lr - mid) / half)
    k = max(1, math.ceil(TARGET_COVERAGE * dist.size - 1e-9))  # rows that must be inside
    f = math.ceil(float(dist[k - 1]) * 1000.0 - 1e-6) / 1000.0
    return float(min(max(f, MIN_FACTOR), MAX_FACTOR))


def _scaled(rows: Sequence[tuple[Residual, float, float]]) -> list[tuple[float, float, float]]:
    return [(r.log_ratio, 0.5 * (lo + hi), 0.5 * (hi - lo)) for r, lo, hi in rows]


def fit_inflation(residuals: Sequence[Residual]) -> dict[str, float]:
    """Half-width factors {kind: f, "kind|vendor": f, "*|vendor": f} that bring the nested
    (other-devices) coverage to :data:`TARGET_COVERAGE`. Held-out devices differ more from each
    other than one device's rows do, so quantiles of pooled residuals alone cover too little for
    some vendors and too much for others (Apple). A vendor with MIN_VENDOR_ROWS rows of a kind
    (and MIN_VENDOR_DEVICES devices) gets a factor for that kind; a thin vendor with that many
    rows only over both kinds gets one factor for both ("*|vendor"); a vendor thinner still
    keeps the pooled factor of each kind."""
    nested = nested_coverage(residuals, {})
    out: dict[str, float] = {}
    for kind in ("pp", "tg"):
        sel = [x for x in nested if x[0].kind == kind]
        if sel:
            out[kind] = _factor(_scaled(sel))
    for vendor in sorted({r.vendor for r, _, _ in nested}):
        rows = [x for x in nested if x[0].vendor == vendor]
        if len({r.device for r, _, _ in rows}) < MIN_VENDOR_DEVICES:
            continue
        thin = False
        for kind in ("pp", "tg"):
            sel = [x for x in rows if x[0].kind == kind]
            if len(sel) >= MIN_VENDOR_ROWS:
                out[f"{kind}|{vendor}"] = _factor(_scaled(sel))
            elif sel:
                thin = True
        if thin and len(rows) >= MIN_VENDOR_ROWS:
            out[f"*|{vendor}"] = _factor(_scaled(rows))
    return out


def inflation_for(inflation: dict[str, float] | None, kind: str, vendor: str | None) -> float:
    """The half-width factor of a prediction: its vendor's for this kind, else its vendor's
    single factor (thin vendors), else its kind's, else 1."""
    if not inflation:
        return 1.0
    kind = "tg" if kind == "pg" else kind
    v = vendor_of(vendor) if vendor else None
    for key in (f"{kind}|{v}", f"*|{v}", kind):
        if key in inflation:
            return float(inflation[key])
    return 1.0


def lookup(
    bands: dict,
    kind: str,
    vendor: str | None,
    backend: str | None,
    split: str = "layer",
    inflation: dict[str, float] | None = None,
) -> dict:
    """The band entry that applies (most specific group with its own band), its half-width
    multiplied by the vendor's inflation factor."""
    factor = inflation_for(inflation, kind, vendor)
    v = vendor_of(vendor) if vendor else None
    # a vendor with no band group of its own (too few rows or devices) borrows the pooled band,
    # widened as for a single device: its devices are far from the training set
    unseen = v is not None and ("tg" if kind == "pg" else kind) + "|" + v not in bands
    vendor_group = bands.get(("tg" if kind == "pg" else kind) + "|" + (v or ""))
    for k in band_keys(kind, vendor, backend, split):
        if k in bands:
            entry = _inflate(bands[k], factor * (1.0 + FEW_DEVICES_WIDEN if unseen else 1.0))
            if unseen:
                return {**entry, "vendor_devices": 0, "vendor_rows": 0}
            if vendor_group is not None:
                entry = {**entry, "vendor_rows": int(vendor_group.get("n", 0))}
            return entry
    return DEFAULT_BAND


def is_wide(entry: dict) -> bool:
    """Whether a band rests on few devices, on none of this vendor, or on fewer than
    MIN_VENDOR_ROWS measurements of this vendor (such bands are widened or less certain)."""
    return (
        int(entry.get("devices", FEW_DEVICES)) < FEW_DEVICES
        or entry.get("vendor_devices") == 0
        or int(entry.get("vendor_rows", MIN_VENDOR_ROWS)) < MIN_VENDOR_ROWS
    )


def nested_coverage(
    residuals: Sequence[Residual], inflation: dict[str, float] | None = None
) -> list[tuple[Residual, float, float]]:
    """Honest band check: each device's rows against bands fitted on the OTHER devices only.

    Returns (residual, p10, p90) per row; the row is covered when p10 ≤ log_ratio ≤ p90."""
    by_dev: defaultdict[str, list[Residual]] = defaultdict(list)
    for r in residuals:
        by_dev[r.device].append(r)
    out = []
    for dev, rs in by_dev.items():
        bands = fit_bands(r for r in residuals if r.device != dev)
        for r in rs:
            e = lookup(bands, r.kind, r.vendor, r.backend, r.split, inflation)
            out.append((r, float(e["p10"]), float(e["p90"])))
    return out


def held_out_coverage(residuals: Sequence[Residual]) -> list[tuple[Residual, float, float]]:
    """Like :func:`nested_coverage`, but the inflation factors are refitted without the held-out
    device too: nothing of a device's own rows reaches its band (the strictest check)."""
    by_dev: defaultdict[str, list[Residual]] = defaultdict(list)
    for r in residuals:
        by_dev[r.device].append(r)
    out = []
    for dev, rs in by_dev.items():
        others = [r for r in residuals if r.device != dev]
        inflation = fit_inflation(others)
        bands = fit_bands(others)
        for r in rs:
            e = lookup(bands, r.kind, r.vendor, r.backend, r.split, inflation)
            out.append((r, float(e["p10"]), float(e["p90"])))
    return out


__all__ = [
    "DEFAULT_BAND",
    "FEW_DEVICES",
    "Residual",
    "band_keys",
    "fit_bands",
    "fit_inflation",
    "held_out_coverage",
    "inflation_for",
    "is_wide",
    "lookup",
    "nested_coverage",
    "vendor_of",
    "weighted_quantiles",
]
