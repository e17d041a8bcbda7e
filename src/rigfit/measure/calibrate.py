"""Predictions for a bench, and this machine's correction factors fitted from its stored results.

Model (per machine fingerprint ``m`` and test kind ``k`` ∈ {``pp`` prefill, ``tg`` decode}):

    tps_calibrated = f[m, k] · tps_predicted
    f[m, k] = exp( median_i  ln(tps_measured_i / tps_predicted_i) )

The median of log ratios is robust to a noisy run; with one result the factor is that ratio.
``tps_predicted`` is always the *uncalibrated* prediction of rigfit's speed model
(:mod:`rigfit.estimate.speed`), recomputed at fit time when the model file is still there, so
refitting never compounds an earlier calibration.

Where the factors live: table ``calibrations`` of the results store (one row per fit; the latest
row of a machine wins), ``factors_json = {"pp": f_pp, "tg": f_tg}``. Any predictor applies them
with :func:`machine_factors` and :func:`calibrate_figure` (provenance becomes ``"calibrated"``).

Errors are reported as the median absolute percentage error (MdAPE) of the stored results
before and after. "After" is out of sample: each run's results are scored by a factor fitted
without that run (leave-one-run-out), so the figure is not flattered by fitting the very points
it scores; with a single run there is no out-of-sample figure (None), never an in-sample 0.0 %.
A fit from one run whose repeats disagree by more than :data:`NOISY_SPREAD_PCT` is refused
(:class:`NoisyRunError`): its median is not this machine's speed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rigfit.estimate.speed import RunSettings, band, load_constants, model_work, predict_test
from rigfit.figures import Figure
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import detect_local_machine
from rigfit.measure.fingerprint import detect_fingerprint
from rigfit.measure.overheads import fit_offsets, machine_runs
from rigfit.measure.store import Calibration, Result, ResultStore, default_db_path, open_store

KINDS = ("pp", "tg")


# --------------------------------------------------------------------------------------------
# prediction for a bench
# --------------------------------------------------------------------------------------------


def this_machine() -> Any:
    """rigfit's Machine for the box it runs on (the hardware catalog's detection), or None."""
    try:
        return detect_local_machine()
    except Exception:
        return None


def predict_tests(
    model_path: str | Path,
    tests: Iterable[tuple[str, int, int, int]],
    threads: int | None = None,
    ngl: int | None = None,
    machine: Any = None,
) -> dict:
    """Uncalibrated predictions of llama-bench tests on this machine.

    tests: (kind, prompt, gen, depth) with kind pp / tg. Returns
    ``{"tests": {name: {"tps", "low", "high", "roofline_tps"}}, "provenance": "estimated"}``, or
    ``{"error": reason}`` when the model or the machine cannot be resolved (never a guess).
    """
    machine = machine if machine is not None else this_machine()
    if machine is None:
        return {"error": "this machine is not in rigfit's hardware catalog"}
    try:
        spec = load_model_source(str(model_path))
        work = model_work(spec)
        C = load_constants()
        cpu_only = not getattr(machine, "accelerators", ())
        settings = RunSettings(
            threads=threads, ngl=ngl, cpu_only=cpu_only, backend="CPU" if cpu_only else None
        )
        out: dict[str, dict] = {}
        for kind, prompt, gen, depth in tests:
            tps, roof = predict_test(work, machine, settings, kind, prompt, gen, depth, C)
            if not (math.isfinite(tps) and tps > 0):
                return {"error": "no finite prediction (machine figures unknown)"}
            lo, hi = band(C, kind, settings.backend, tps)
            name = f"pp{prompt}" + (f"@d{depth}" if depth else "") if kind == "pp" else f"tg{gen}@d{depth}"
            out[name] = {
                "tps": min(tps, roof),
                "low": min(lo, tps),
                "high": min(max(hi, tps), roof),
                "roofline_tps": roof if math.isfinite(roof) else None,
            }
    except Exception as exc:  # an estimator that cannot handle this model must not break a bench
        return {"error": f"no prediction: {type(exc).__name__}: {exc}"}
    return {"tests": out, "provenance": "estimated", "machine": getattr(machine, "name", None)}


# --------------------------------------------------------------------------------------------
# fitting and applying
# --------------------------------------------------------------------------------------------


#: Relative spread (max − min) / median [%] of a run's repeats above which the run is noise, not
#: the machine's speed. rigfit's own threshold, the same as ``rigfit bench``'s warning: idle-machine
#: repeats agree within a few per cent (README bench run: 2 %).
NOISY_SPREAD_PCT = 10.0


class NoisyRunError(ValueError):
    """The only run to fit from is too noisy to trust."""


@dataclass(frozen=True)
class KindFit:
    """The fit for one test kind: factor, result count, MdAPE before / after [%].

    mdape_after: out-of-sample (leave-one-run-out) error, None with a single run. runs: distinct
    runs the results come from. loo: True when mdape_after is out of sample.
    """

    kind: str
    factor: float
    n: int
    mdape_before: float
    mdape_after: float | None
    loo: bool
    runs: int = 1


def _mdape(ratios: list[float]) -> float:
    return 100.0 * statistics.median(abs(r - 1.0) for r in ratios)


def fit_factor(measured: list[float], predicted: list[float]) -> float:
    """exp(median ln(measured/predicted)) — the per-machine correction factor."""
    logs = [math.log(m / p) for m, p in zip(measured, predicted, strict=True) if m > 0 and p > 0]
    if not logs:
        raise ValueError("no positive measured/predicted pairs")
    return math.exp(statistics.median(logs))


def fit_kind(
    kind: str, measured: list[float], predicted: list[float], runs: list[int | None] | None = None
) -> KindFit:
    """Factor and errors of one kind; ``runs``: the run of each result (default: one run each).

    The error after is leave-one-run-out: each run's results scored by a factor fitted from the
    other runs; None when all results come from one run.
    """
    f = fit_factor(measured, predicted)
    before = [m / p for m, p in zip(measured, predicted, strict=True)]
    n = len(before)
    run_of = list(runs) if runs is not None else list(range(n))
    distinct = list(dict.fromkeys(run_of))
    after: list[float] = []
    if len(distinct) >= 2:
        for run in distinct:
            rest = [i for i in range(n) if run_of[i] != run]
            fi = fit_factor([measured[i] for i in rest], [predicted[i] for i in rest])
            after += [measured[i] / (predicted[i] * fi) for i in range(n) if run_of[i] == run]
    out_of_sample = _mdape(after) if after else None
    return KindFit(kind, f, n, _mdape(before), out_of_sample, bool(after), len(distinct))


def run_spread_pct(result: Result) -> float | None:
    """(max − min) / median of a result's repeats [%], or None without repeats."""
    s = [x for x in result.samples or [] if x]
    if len(s) < 2:
        return None
    return 100.0 * (max(s) - min(s)) / statistics.median(s)


def refuse_noisy_single_run(results: list[Result]) -> None:
    """Raise :class:`NoisyRunError` when every result comes from one run with noisy repeats."""
    if len({r.run_id for r in results}) != 1:
        return
    spreads = [(r.test, p) for r in results if (p := run_spread_pct(r)) is not None]
    noisy = [(t, p) for t, p in spreads if p > NOISY_SPREAD_PCT]
    if noisy:
        worst = ", ".join(f"{t} {p:.0f}%" for t, p in noisy)
        raise NoisyRunError(
            f"the only run's repeats disagree by more than {NOISY_SPREAD_PCT:.0f}% ({worst}): "
            "the machine was busy, so its median is not this machine's speed"
        )


def fit_machine(results: Iterable[Result], base_predictions: dict[int, float] | None = None) -> list[KindFit]:
    """Fit factors from results that have a prediction; ``base_predictions`` (result id → tps)
    overrides the stored one (a fresh, uncalibrated prediction)."""
    pairs: dict[str, tuple[list[float], list[float], list[int | None]]] = {k: ([], [], []) for k in KINDS}
    for r in results:
        pred = (base_predictions or {}).get(r.id or -1, r.predicted_tokens_per_s)
        if r.kind in pairs and r.tokens_per_s and pred:
            pairs[r.kind][0].append(r.tokens_per_s)
            pairs[r.kind][1].append(pred)
            pairs[r.kind][2].append(r.run_id)
    return [fit_kind(k, m, p, runs) for k, (m, p, runs) in pairs.items() if m]


def machine_factors(
    machine_id: str | None = None, store: ResultStore | None = None
) -> dict[str, float] | None:
    """The latest fitted factors of a machine (default: this one): {"pp": f, "tg": f} or None."""
    mid = machine_id or detect_fingerprint().id
    if store is None:
        if not default_db_path().exists():
            return None
        with open_store() as s:
            cal = s.latest_calibration(mid)
    else:
        cal = store.latest_calibration(mid)
    return dict(cal.factors) if cal else None


def calibrate_figure(fig: Figure, factor: float | None) -> Figure:
    """A tokens/s figure scaled by this machine's factor, labelled ``calibrated``."""
    if factor is None or fig.value is None:
        return fig
    return replace(
        fig,
        value=fig.value * factor,
        low=None if fig.low is None else fig.low * factor,
        high=None if fig.high is None else fig.high * factor,
        provenance="calibrated",
        source=f"{fig.source + '; ' if fig.source else ''}× {factor:.3g} fitted by rigfit calibrate",
    )


def calibrate_speed(est: Any, factors: dict[str, float] | None) -> Any:
    """A :class:`rigfit.estimate.speed.SpeedEstimate` with this machine's factors applied:
    prefill × f_pp (time to first token ÷ f_pp), decode figures × f_tg. Unchanged without factors."""
    if not factors or est is None:
        return est
    pp, tg = factors.get("pp"), factors.get("tg")
    changes: dict[str, Any] = {}
    if pp:
        changes["prefill_tps"] = calibrate_figure(est.prefill_tps, pp)
        t = est.ttft_s
        if t is not None and t.value is not None:
            changes["ttft_s"] = replace(
                t,
                value=t.value / pp,
                low=None if t.low is None else t.low / pp,
                high=None if t.high is None else t.high / pp,
                provenance="calibrated",
                source=f"{t.source + '; ' if t.source else ''}÷ {pp:.3g} (prefill factor, rigfit calibrate)",
            )
    if tg:
        for name in ("decode_tps", "decode_tps_ctx", "aggregate_tps", "per_user_tps"):
            fig = getattr(est, name, None)
            if fig is not None:
                changes[name] = calibrate_figure(fig, tg)
    return replace(est, **changes)


def apply_factors(prediction: dict, factors: dict[str, float] | None) -> dict:
    """A :func:`predict_tests` result with calibrated ``tps`` (``base_tps`` keeps the original)."""
    if not factors or "tests" not in prediction:
        return prediction
    out = dict(prediction, tests={}, provenance="calibrated", factors=dict(factors))
    for name, t in prediction["tests"].items():
        f = factors.get("tg" if name.startswith("tg") else "pp")
        t = dict(t, base_tps=t["tps"])
        if f:
            for key in ("tps", "low", "high"):
                if t.get(key) is not None:
                    t[key] = t[key] * f
        out["tests"][name] = t
    return out


def calibrate_machine(
    store: ResultStore, machine_id: str, repredict: bool = True
) -> tuple[Calibration, list[KindFit]]:
    """Fit this machine's factors from its stored bench results, and its per-backend buffer
    offsets from its stored ``rigfit run`` loads (:mod:`rigfit.measure.overheads`), and save them in
    the store (``details["buffer_offsets"]``).

    Raises ValueError when the machine has neither a result with a prediction nor a run load.
    """
    results = [r for r in store.results(machine_id=machine_id) if r.tokens_per_s]
    refuse_noisy_single_run(results)
    fresh: dict[int, float] = {}
    if repredict:
        fresh = _repredict(store, results)
    fits = fit_machine(results, fresh)
    offsets = fit_offsets(machine_runs(store, machine_id))
    if not fits and not offsets:
        raise ValueError(
            "no stored result of this machine has a prediction to compare with, and no rigfit run "
            "load has buffers to compare"
        )
    total_before = _weighted([(f.mdape_before, f.n) for f in fits]) if fits else None
    out_of_sample = [(f.mdape_after, f.n) for f in fits if f.mdape_after is not None]
    total_after = _weighted(out_of_sample) if out_of_sample else None
    cal = Calibration(
        machine_id=machine_id,
        factors={f.kind: f.factor for f in fits},
        n_results=sum(f.n for f in fits),
        error_before=total_before,
        error_after=total_after,
        details={
            "fits": [f.__dict__ for f in fits],
            "repredicted": len(fresh),
            "buffer_offsets": {o.backend: o.to_json() for o in offsets},
        },
    )
    store.add_calibration(cal)
    return cal, fits


def _weighted(pairs: list[tuple[float, int]]) -> float:
    n = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / n if n else float("nan")


def _repredict(store: ResultStore, results: list[Result]) -> dict[int, float]:
    """Fresh uncalibrated predictions for bench results whose model file still exists."""
    runs = {r.id: r for r in store.runs()}
    out: dict[int, float] = {}
    by_run: dict[int, list[Result]] = {}
    for r in results:
        if r.run_id in runs and runs[r.run_id].model_path:
            by_run.setdefault(r.run_id, []).append(r)
    for run_id, rs in by_run.items():
        run = runs[run_id]
        if not Path(run.model_path).exists():
            continue
        tests = []
        for r in rs:
            if r.kind == "pp":
                tests.append(("pp", r.prompt_tokens or 0, 0, r.depth or 0))
            elif r.kind == "tg":
                tests.append(("tg", 0, r.gen_tokens or 0, r.depth or 0))
        settings = run.settings or {}
        pred = predict_tests(run.model_path, tests, threads=settings.get("threads"), ngl=settings.get("ngl"))
        for r in rs:
            t = pred.get("tests", {}).get(r.test)
            if t and r.id is not None:
                out[r.id] = t["tps"]
    return out


__all__ = [
    "KINDS",
    "KindFit",
    "apply_factors",
    "calibrate_figure",
    "calibrate_machine",
    "fit_factor",
    "fit_kind",
    "fit_machine",
    "machine_factors",
    "predict_tests",
    "this_machine",
]
