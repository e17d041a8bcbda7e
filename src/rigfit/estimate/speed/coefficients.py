"""The speed model's coefficients: the constants file, and time = Σ coefficient × feature.

Every time term of the model is ``coefficient × feature``; the coefficients — inverse
efficiencies, per-token overheads, hop costs — come from ONE data file,
``catalog/data/speed_constants.json``, written by ``benchmarks/calibrate.py`` from the ground truth
in ``data/ground-truth/``. Bands (p10–p90) are the calibration residuals around the central value.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

from rigfit.datafiles import read_text
from rigfit.estimate.speed.bands import lookup

CONSTANTS_FILE = "speed_constants.json"


@lru_cache(maxsize=4)
def load_constants(path: str | None = None) -> dict:
    """The calibrated constants (one JSON file). ``path`` overrides the bundled file."""
    if path:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    text = read_text("rigfit.catalog", "data", CONSTANTS_FILE)
    return json.loads(text)


def param_name(key: str) -> str:
    """The coefficient a feature uses: 'CUDA|*c=apu:w' → '*|c=apu:w' (shared by all backends)."""
    if "|*" in key:
        head, _, suffix = key.rpartition(":")
        return "*|" + head.split("|*", 1)[1] + ":" + suffix
    return key


#: :func:`coefficient` of the bundled constants (:func:`load_constants` without a path: read once,
#: never changed) per feature key, with that dict: a recommend ladder asks for the same few hundred
#: keys ~10⁴ times. Other dicts (benchmarks/calibrate.py's, tests' copies) are not kept.
_BUNDLED: tuple[dict, dict[str, float]] | None = None


def coefficient(C: dict, key: str) -> float:
    """A fitted coefficient: value in the constants file, else its prior, else 0 (a delta)."""
    global _BUNDLED
    kept = _BUNDLED
    if kept is None or kept[0] is not C:
        if C is not load_constants():
            return _coefficient(C, key)
        kept = _BUNDLED = (C, {})
    v = kept[1].get(key)
    if v is None:
        v = kept[1][key] = _coefficient(C, key)
    return v


def _coefficient(C: dict, key: str) -> float:
    """:func:`coefficient`, worked out afresh."""
    key = param_name(key)
    coefs = C.get("coefficients", {})
    if key in coefs:
        return float(coefs[key])
    pri = C.get("priors", {})
    if key in pri:
        return float(pri[key])
    base = key.split("|", 1)[0].split(":", 1)[0]
    suffix = key.rsplit(":", 1)[-1]
    if "|" in key.split(":", 1)[0]:
        return 0.0  # an unseen delta (quant family, class, era): no correction
    generic = pri.get(f"*:{suffix}")
    if generic is not None:
        return float(generic)
    del base
    return 0.0


def dot(C: dict, feats: dict[str, float]) -> float:
    return sum(coefficient(C, k) * v for k, v in feats.items())


def decode_time(C: dict, feats: dict[str, float]) -> float:
    """Decode step time [s] from features: η ≤ 1 for weights and KV, overheads ≥ 0."""
    if C is not load_constants():
        return _decode_time(C, feats)
    # the bundled constants: the steps per tuple of feature keys, worked out once
    # (:func:`_decode_steps`), then the same arithmetic in the same order as _decode_time
    keys = tuple(feats)
    steps = _DECODE_STEPS.get(keys)
    if steps is None:
        if len(_DECODE_STEPS) > 4096:
            _DECODE_STEPS.clear()
        steps = _DECODE_STEPS[keys] = _decode_steps(C, keys)
    vals = tuple(feats.values())
    t = 0.0
    for kind, i, coef, deltas in steps:
        v = vals[i]
        if kind == _WEIGHTS:
            for j, dc in deltas:
                coef += dc * (vals[j] / v if v else 0.0)
            t += max(coef, 1.0) * v
        elif kind == _KV:
            t += max(coef, 1.0) * v
        else:
            t += coef * v
    return max(t, 0.0)


#: Kinds of :func:`decode_time`'s steps: a base weight stream (with its deltas), a KV stream, an
#: overhead or hop term.
_WEIGHTS, _KV, _PLAIN = 0, 1, 2

#: :func:`_decode_steps` of the bundled constants per tuple of feature keys (few distinct: one per
#: layout shape and settings).
_DECODE_STEPS: dict[tuple[str, ...], tuple[tuple[int, int, float, tuple[tuple[int, float], ...]], ...]] = {}


def _decode_steps(
    C: dict, keys: tuple[str, ...]
) -> tuple[tuple[int, int, float, tuple[tuple[int, float], ...]], ...]:
    """:func:`_decode_time`'s terms for features with these keys, in its order: (kind, index of the
    feature, its coefficient, ((index, coefficient) of each weight delta, in the features' order));
    features it does not count have no step."""
    w_heads = [(j, kk.split(":", 1)[0]) for j, kk in enumerate(keys) if kk.endswith(":w")]
    steps = []
    for i, k in enumerate(keys):
        head = k.split(":", 1)[0]
        if k.endswith(":w") and "|" not in head:
            deltas = tuple((j, coefficient(C, keys[j])) for j, h in w_heads if h.startswith(head + "|"))
            steps.append((_WEIGHTS, i, coefficient(C, k), deltas))
        elif k.endswith(":kv"):
            steps.append((_KV, i, coefficient(C, k), ()))
        elif k.endswith(":t0") or k.endswith(":t0l") or k.startswith(("hop:", "row:")):
            steps.append((_PLAIN, i, coefficient(C, k), ()))
    return tuple(steps)


def _decode_time(C: dict, feats: dict[str, float]) -> float:
    """:func:`decode_time`, worked out key by key (any constants)."""
    t = 0.0
    # weights: base feature holds the bytes/BW; deltas re-use the same quantity
    w_heads = [(kk, kk.split(":", 1)[0]) for kk in feats if kk.endswith(":w")]
    for k, v in feats.items():
        head = k.split(":", 1)[0]
        if k.endswith(":w") and "|" not in head:
            base = head
            coef = coefficient(C, k)
            deltas = [kk for kk, h in w_heads if h.startswith(base + "|")]
            for dk in deltas:
                dv = feats[dk]
                coef += coefficient(C, dk) * (dv / v if v else 0.0)
            t += max(coef, 1.0) * v
        elif k.endswith(":kv"):
            t += max(coefficient(C, k), 1.0) * v
        elif k.endswith(":t0") or k.endswith(":t0l") or k.startswith(("hop:", "row:")):
            t += coefficient(C, k) * v
    return max(t, 0.0)


def prefill_time(C: dict, feats: dict[str, float]) -> float:
    """Prefill time [s]: compute terms with η ≤ 1, per-ubatch overhead, hops and PCIe."""
    t = 0.0
    comp: dict[str, float] = {}
    for k, v in feats.items():
        head = k.split(":", 1)[0]
        if k.endswith(":c"):
            base = head.split("|", 1)[0]
            comp[base] = comp.get(base, 0.0) + coefficient(C, k) * v
            if "|p=" in head:
                comp.setdefault("_ref_" + base, 0.0)
                comp["_ref_" + base] += v
        elif k.endswith(":attn") or k.endswith(":pcie"):
            t += max(coefficient(C, k), 1.0) * v
        else:
            t += coefficient(C, k) * v
    for base, val in comp.items():
        if base.startswith("_ref_"):
            continue
        ref = comp.get("_ref_" + base, 0.0)
        t += max(val, ref)  # η_c ≤ 1
    return max(t, 0.0)


def band(
    C: dict,
    kind: str,
    backend: str | None,
    value: float,
    split_mode: str = "layer",
    vendor: str | None = None,
) -> tuple[float, float]:
    """p10–p90 band around a central tokens/s value from calibration residuals (log ratios).

    Bands are kept by vendor × backend × split mode (see :mod:`rigfit.estimate.speed.bands`);
    the most specific group with its own band applies. Legacy row split has a band of its own:
    its speed hangs on the host's PCIe slots, which published results rarely state."""
    entry = band_entry(C, kind, backend, split_mode, vendor)
    return value * math.exp(entry["p10"]), value * math.exp(entry["p90"])


def centre_in_band(
    C: dict,
    kind: str,
    backend: str | None,
    value: float,
    split_mode: str = "layer",
    vendor: str | None = None,
) -> float:
    """The central tokens/s value moved inside its own p10–p90 band [tok/s].

    The band comes from calibration residuals, log(measured / predicted). Where those residuals lie
    all on one side of zero (Vulkan decode: p10 +0.05, p90 +0.41 — the model is low for 90 % of
    the rows), the band around ``value`` would exclude ``value`` itself, and a band whose p10
    equals its estimate says nothing. The value is then multiplied by exp((p10 + p90) / 2), the
    band's centre, so the estimate sits inside its band and the band's ends stay where the
    residuals put them (:func:`band` of the uncorrected value). Unchanged otherwise."""
    lo, hi = band(C, kind, backend, 1.0, split_mode, vendor)
    if lo <= 1.0 <= hi:
        return value
    return value * math.sqrt(lo * hi)


def band_entry(
    C: dict, kind: str, backend: str | None, split_mode: str = "layer", vendor: str | None = None
) -> dict:
    """The band table entry ({p10, p90, n, devices}) that applies to a prediction."""
    return lookup(C.get("bands", {}), kind, vendor, backend, split_mode, C.get("band_inflation"))
