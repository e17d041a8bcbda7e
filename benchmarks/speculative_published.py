"""Speculative decoding and MTP: fit and check rigfit's step model on published llama.cpp runs.

Reads data/ground-truth/speculative.csv (one source URL per row) and prints:

1. the per-token acceptance ``a`` of every row (llama.cpp's 'draft acceptance rate' converted with
   rigfit.estimate.speculative.acceptance_from_llamacpp_rate) and the p10 / median / p90 band per
   task — the figures behind ``TASK_ACCEPTANCE``;
2. the fit of the verify-growth constants β (per extra token) and η (extra routed-expert reads per
   extra token, MoE) on the rows with a measured baseline and speculative tok/s, and the
   leave-one-source-out MdAPE of the speculative tok/s predicted from the measured baseline and the
   measured acceptance (the step model alone);
3. the MdAPE when the acceptance is not known and the task band's median is used instead
   (the figure ``rigfit plan --draft/--mtp`` shows without ``--accept-rate``).

Model shapes: the draft/target byte ratio and the experts' byte share come from rigfit's catalog;
models not in the catalog use a stand-in of the same kind (listed in STAND_INS and printed).

    PYTHONPATH=src python benchmarks/speculative_published.py [--csv PATH]
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from rigfit.catalog.models import resolve_model
from rigfit.estimate.speculative import (
    MOE_EXPERT_GROWTH_PER_TOKEN,
    STEP_COST_REL_BAND,
    TASK_ACCEPTANCE,
    VERIFY_GROWTH_PER_TOKEN,
    acceptance_from_llamacpp_rate,
    expert_share,
    mtp_draft_ratio,
    resolve_task,
)
from rigfit.estimate.speed import model_work
from rigfit.estimate.tensors import catalog_model_spec

DEFAULT_CSV = Path(__file__).resolve().parents[1] / "data" / "ground-truth" / "speculative.csv"

#: Published model → (catalog id, file type) used for its shape. Stand-ins (not the same model)
#: are marked; they set only the byte ratios of the step model.
STAND_INS: dict[str, tuple[str, str, bool]] = {
    "Qwen3.8-27B": ("qwen3-32b", "Q4_K_M", True),  # dense Qwen, 64 layers, hidden 5120
    "Qwen3.6-35B-A3B": ("qwen3-30b-a3b", "Q4_K_M", True),  # Qwen MoE, ~3B active
    "Llama-3.1-8B": ("llama-3.1-8b", "Q8_0", False),
    "Llama-3.2-1B": ("llama-3.2-1b", "Q8_0", False),
    "Qwen2.5-Coder-32B": ("qwen2.5-coder-32b", "Q4_K_M", False),  # published Q4_K_L
    "Qwen2.5-Coder-3B": ("qwen2.5-3b", "Q4_0", True),  # same shape as the coder 3B
    "Llama-2-70B": ("llama-2-70b", "F16", False),
    "Llama-2-7B": ("llama-2-7b", "Q8_0", False),
}


@dataclass
class Row:
    url: str
    kind: str
    target: str
    draft: str
    hardware: str
    n_max: int
    task: str
    rate: float
    k_eff: float
    tokens_per_step: float
    baseline_tps: float | None
    spec_tps: float | None

    @property
    def accept(self) -> float:
        return acceptance_from_llamacpp_rate(self.rate, self.k_eff)


def read_rows(path: Path) -> list[Row]:
    rows = []
    for r in csv.DictReader(path.open()):
        k = int(r["n_max"])
        rate = float(r["accept_rate"])
        if r["predicted"]:  # llama-speculative counts: steps = predicted − accepted
            pred, acc, drafted = int(r["predicted"]), int(r["accepted"]), int(r["drafted"])
            steps = pred - acc
            k_eff, e = drafted / steps, pred / steps
        else:
            k_eff, e = float(k), 1 + k * rate
        rows.append(
            Row(
                url=r["source_url"],
                kind=r["kind"],
                target=r["target_model"],
                draft=r["draft_model"],
                hardware=r["hardware"],
                n_max=k,
                task=r["task"],
                rate=rate,
                k_eff=k_eff,
                tokens_per_step=e,
                baseline_tps=float(r["baseline_tps"]) if r["baseline_tps"] else None,
                spec_tps=float(r["spec_tps"]) if r["spec_tps"] else None,
            )
        )
    return rows


def _shape(name: str):
    mid, q, _ = STAND_INS[name]
    spec = catalog_model_spec(resolve_model(mid), q)
    return spec, model_work(spec)


def draft_ratio_and_share(row: Row) -> tuple[float, float]:
    """(t_draft / t_target from bytes, experts' byte share of the target)."""
    spec, work = _shape(row.target)
    if row.kind == "mtp":
        return mtp_draft_ratio(spec, work), expert_share(work)
    _, dwork = _shape(row.draft)
    return dwork.bytes_per_token / work.bytes_per_token, expert_share(work)


def predict_tps(row: Row, e: float, ratio: float, share: float, beta: float, eta: float) -> float:
    assert row.baseline_tps is not None
    cost = 1.0 + row.k_eff * (beta + share * eta) + row.k_eff * ratio
    return row.baseline_tps * e / cost


def fit(rows: list[Row], shapes: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """(β, η) minimising the squared log error of speculative tok/s (grid search)."""
    best = (math.inf, 0.0, 0.0)
    has_moe = any(shapes[id(r)][1] > 0 for r in rows)
    for bi in range(0, 61):
        beta = bi * 0.005
        for ei in range(0, 61 if has_moe else 1):
            eta = ei * 0.02
            err = 0.0
            for r in rows:
                ratio, share = shapes[id(r)]
                assert r.spec_tps is not None
                p = predict_tps(r, r.tokens_per_step, ratio, share, beta, eta)
                err += math.log(p / r.spec_tps) ** 2
            if err < best[0]:
                best = (err, beta, eta)
    return best[1], best[2]


def _mdape(errs: list[float]) -> float:
    return statistics.median(abs(e) for e in errs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = ap.parse_args()
    rows = read_rows(args.csv)

    print("## Per-token acceptance by task (llama.cpp rate → a)")
    by_task: dict[str, list[float]] = {}
    for r in rows:
        by_task.setdefault(r.task, []).append(r.accept)
    for task, vals in sorted(by_task.items()):
        vals.sort()
        q = statistics.quantiles(vals, n=10, method="inclusive") if len(vals) > 1 else [vals[0]] * 9
        print(
            f"{task:9} n={len(vals):2}  p10 {q[0]:.3f}  median {statistics.median(vals):.3f}  "
            f"p90 {q[-1]:.3f}   (rigfit: {TASK_ACCEPTANCE.get(resolve_task(task))})"
        )

    speed = [r for r in rows if r.baseline_tps and r.spec_tps]
    shapes = {id(r): draft_ratio_and_share(r) for r in speed}
    beta, eta = fit(speed, shapes)
    print(
        f"\n## Step model fit on {len(speed)} rows: β = {beta:.3f}, η = {eta:.2f} "
        f"(rigfit uses β = {VERIFY_GROWTH_PER_TOKEN}, η = {MOE_EXPERT_GROWTH_PER_TOKEN})"
    )
    print("stand-ins: " + ", ".join(f"{k} → {v[0]}" for k, v in STAND_INS.items() if v[2]))
    print(
        f"\n{'source':58} {'kind':5} {'k':>4} {'a':>5} {'E':>5} {'base':>7} {'meas':>7} "
        f"{'pred':>7} {'LOSO':>7} {'band':>7} {'err%':>6} {'LOSO%':>7}"
    )
    errs, loo_errs, band_errs = [], [], []
    for r in speed:
        ratio, share = shapes[id(r)]
        assert r.spec_tps is not None
        p = predict_tps(
            r, r.tokens_per_step, ratio, share, VERIFY_GROWTH_PER_TOKEN, MOE_EXPERT_GROWTH_PER_TOKEN
        )
        others = [o for o in speed if o.url != r.url]  # leave the whole source out
        b_l, e_l = fit(others, shapes)
        p_loo = predict_tps(r, r.tokens_per_step, ratio, share, b_l, e_l)
        # without the measured acceptance: the task band's median (at the row's draft length)
        a_band = TASK_ACCEPTANCE[resolve_task(r.task)][1]
        k = r.k_eff
        e_band = (1 - a_band ** (k + 1)) / (1 - a_band)
        p_band = predict_tps(r, e_band, ratio, share, VERIFY_GROWTH_PER_TOKEN, MOE_EXPERT_GROWTH_PER_TOKEN)
        err = (p - r.spec_tps) / r.spec_tps * 100
        err_loo = (p_loo - r.spec_tps) / r.spec_tps * 100
        errs.append(err)
        loo_errs.append(err_loo)
        band_errs.append((p_band - r.spec_tps) / r.spec_tps * 100)
        src = r.url.replace("https://github.com/", "")
        print(
            f"{src[:58]:58} {r.kind:5} {r.k_eff:4.1f} {r.accept:5.3f} {r.tokens_per_step:5.2f} "
            f"{r.baseline_tps:7.2f} {r.spec_tps:7.2f} {p:7.2f} {p_loo:7.2f} {p_band:7.2f} "
            f"{err:+6.1f} {err_loo:+7.1f}"
        )
    n = len(speed)
    print(f"\nMdAPE, measured acceptance, fitted constants: {_mdape(errs):.1f} % (n={n})")
    print(f"MdAPE, measured acceptance, leave-one-source-out fit: {_mdape(loo_errs):.1f} % (n={n})")
    print(f"MdAPE, task-band median acceptance (no measured acceptance): {_mdape(band_errs):.1f} % (n={n})")
    q = statistics.quantiles([abs(e) for e in loo_errs], n=10, method="inclusive")
    print(
        f"leave-one-source-out |error| p90: {q[-1]:.1f} % "
        f"(rigfit's step-cost band: ±{STEP_COST_REL_BAND:.0%})"
    )


if __name__ == "__main__":
    main()
