"""Calibration data set, fit and leave-one-device-out evaluation (shared by the benchmarks).

``benchmarks/calibrate.py`` fits and writes the constants; ``benchmarks/accuracy.py`` reports
how well the full predictor (with its floors and roofline caps) does on devices it was not
fitted on. Both use these functions, so the accuracy figures are those of the shipped model.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rigfit.estimate.calibration import FitRow, fit, predict_time
from rigfit.estimate.exclusions import Exclusion, default_exclusions_path, exclusion_reason, read_exclusions
from rigfit.estimate.predict import Unresolved, case_features, predict_resolved, resolve_case
from rigfit.estimate.speed.bands import Residual, fit_bands, fit_inflation, vendor_of
from rigfit.estimate.speed.coefficients import param_name
from rigfit.estimate.speed.osdriver import fit_with_os
from rigfit.measure.groundtruth import read_cases


def build_fit_rows(
    path: str | Path,
    C: dict,
    extra_columns: str | Path | None = None,
    exclusions: list[Exclusion] | None = None,
) -> tuple[list[FitRow], Counter, int]:
    """Resolve every measured row; (fit rows, unresolved reasons, total rows).

    ``extra_columns``: per-source facts to add (see :func:`rigfit.measure.groundtruth.read_cases`).
    ``exclusions``: rows to leave out, counted as ``excluded: <rule name>``
    (:mod:`rigfit.estimate.exclusions`)."""
    cases = read_cases(path, extra_columns)
    rows: list[FitRow] = []
    unresolved: Counter = Counter()
    for case in cases:
        why = exclusion_reason(case, exclusions or [])
        if why is not None:
            unresolved[f"excluded: {why}"] += 1
            continue
        if case.tokens_per_s is None or case.tokens_per_s <= 0:
            unresolved["no measured tokens/s"] += 1
            continue
        try:
            rc = resolve_case(case)
            feats, tokens = case_features(rc, C)
        except (Unresolved, ValueError) as exc:
            unresolved[str(exc)] += 1
            continue
        rows.append(
            FitRow(
                feats,
                tokens,
                case.tokens_per_s,
                rc.device_key,
                rc.kind,
                rc.settings.backend or "?",
                rc.hardware_kind,
                rc,
            )
        )
    return rows, unresolved, len(cases)


def fit_constants(rows: list[FitRow]) -> dict[str, float]:
    """The coefficients (fitted with the OS factors of :func:`fit_model`)."""
    return fit_model(rows)[0]


def fit_model(rows: list[FitRow]) -> tuple[dict[str, float], dict[str, dict]]:
    """(coefficients, OS / driver factors): see :mod:`rigfit.estimate.speed.osdriver`."""
    return fit_with_os(rows, fit, _linear_time)


def _linear_time(coefs: Mapping[str, float], features: Mapping[str, float]) -> float:
    """Σ coefficient × feature with the fit's parameter names (shared '|*' keys folded)."""
    folded: dict[str, float] = {}
    for k, v in features.items():
        pk = param_name(k)
        folded[pk] = folded.get(pk, 0.0) + v
    return predict_time(dict(coefs), folded)


def _with(C: dict, coefs: dict[str, float], os_factors: dict[str, dict] | None = None) -> dict:
    out = dict(C)
    out["coefficients"] = coefs
    out["os_factors"] = os_factors or {}
    return out


def lodo_predictions(rows: list[FitRow], C: dict) -> list[tuple[FitRow, float]]:
    """For each device: fit without it, predict its rows with the full model."""
    by_dev: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_dev[r.device].append(i)
    preds: list[float] = [math.nan] * len(rows)
    for _dev, idxs in by_dev.items():
        held = set(idxs)
        train = [r for i, r in enumerate(rows) if i not in held]
        Cd = _with(C, *fit_model(train))
        for i in idxs:
            ref = rows[i].ref
            if ref is not None:  # every fit row carries its resolved case
                preds[i] = predict_resolved(ref, Cd)[0]
    return list(zip(rows, preds, strict=True))


def ape(obs: float, pred: float) -> float:
    return abs(pred - obs) / obs


def summarise(pairs: list[tuple[FitRow, float]]) -> dict:
    """MdAPE and p90 APE by kind, kind × backend and kind × hardware kind."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r, p in pairs:
        if not math.isfinite(p):
            continue
        e = ape(r.observed_tps, p)
        groups[r.kind].append(e)
        groups[f"{r.kind}|backend={r.backend}"].append(e)
        groups[f"{r.kind}|hw={r.hardware_kind}"].append(e)
        split = getattr(getattr(r.ref, "settings", None), "split_mode", "layer")
        groups[f"{r.kind}|split={split}"].append(e)
    out = {}
    for k, v in sorted(groups.items()):
        arr = np.array(v)
        out[k] = {"n": int(arr.size), "mdape": float(np.median(arr)), "p90": float(np.quantile(arr, 0.9))}
    return out


def residuals_of(pairs: list[tuple[FitRow, float]]) -> list[Residual]:
    """Held-out log(observed/predicted) of each row with its band groups (vendor, backend, split)."""
    out = []
    for r, p in pairs:
        if not math.isfinite(p) or p <= 0:
            continue
        split = getattr(getattr(r.ref, "settings", None), "split_mode", "layer")
        out.append(
            Residual(
                math.log(r.observed_tps / p),
                r.device,
                "tg" if r.kind == "pg" else r.kind,
                vendor_of(r.hardware_kind),
                r.backend,
                split,
            )
        )
    return out


def lodo_residuals(rows: list[FitRow], C: dict) -> dict:
    """Leave-one-device-out: summary table and bands (p10/p90 of log(observed/predicted)) by
    kind × vendor × backend × split mode (:mod:`rigfit.estimate.speed.bands`)."""
    pairs = lodo_predictions(rows, C)
    res = residuals_of(pairs)
    inflation = fit_inflation(res)
    bands = fit_bands(res)
    return {"bands": bands, "band_inflation": inflation, "summary": summarise(pairs), "pairs": pairs}


def read_fit_rows(
    paths: list[Path],
    C: dict,
    extra_columns: str | Path | None = None,
    exclusions: str | Path | None = None,
) -> tuple[list[FitRow], Counter, int]:
    """:func:`build_fit_rows` over several ground-truth files (rows, unresolved, total).

    ``exclusions``: the exclusion list to apply (default: data/ground-truth/excluded_rows.csv of
    this checkout, where present)."""
    rules = read_exclusions(exclusions if exclusions is not None else default_exclusions_path())
    rows: list[FitRow] = []
    unresolved: Counter = Counter()
    total = 0
    for path in paths:
        r, u, n = build_fit_rows(path, C, extra_columns, rules)
        rows += r
        unresolved.update(u)
        total += n
    return rows, unresolved, total


__all__ = [
    "ape",
    "build_fit_rows",
    "fit_constants",
    "fit_model",
    "lodo_predictions",
    "lodo_residuals",
    "read_fit_rows",
    "residuals_of",
    "summarise",
]
