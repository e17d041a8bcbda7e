"""Fit the speed model's constants to the ground truth and write the ONE constants file.

    python benchmarks/calibrate.py [--data FILE ...] [--out src/rigfit/catalog/data/speed_constants.json]

Default data: every ``speed_*.csv`` in data/ground-truth.

Steps: resolve every published row (hardware catalog, model catalog, tensor table); compute the
physics features of its test; fit coefficients (inverse efficiencies by backend, device class,
quant family and build era; per-token and per-ubatch overheads; hop costs) by robust ridge least
squares on relative time error; refit leaving each device out to get honest out-of-sample
residuals; store their p10/p90 (by kind × vendor × backend × split mode, see
rigfit.estimate.speed.bands) as the prediction bands.
Unresolved rows are listed by reason (so the catalogs can learn the missing names).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# one BLAS thread: the fits are many small least-squares problems, which threads only slow down
# on a shared machine (44 s → 3.5 s per fit measured on a loaded 2-core box)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(ROOT / "src"))

from rigfit.estimate.calibration import (  # noqa: E402
    PRIOR_INV_ETA_C,
    STATIC,
    prior,
)
from rigfit.estimate.lodo import fit_model, lodo_residuals, read_fit_rows  # noqa: E402
from rigfit.estimate.speed import BACKENDS  # noqa: E402
from rigfit.measure.groundtruth import ground_truth_dir  # noqa: E402

#: Host PCIe links of the sources that state their host (see host_links_from_notebooks.py).
HOST_LINKS = ROOT / "benchmarks" / "data" / "groundtruth_host_links.csv"

DEFAULT_OUT = ROOT / "src" / "rigfit" / "catalog" / "data" / "speed_constants.json"


def prior_table() -> dict[str, float]:
    """Priors for every base coefficient of every backend (used for what the data never saw)."""
    out: dict[str, float] = {}
    for b in (*BACKENDS, "OpenCL"):
        for suffix in ("w", "t0", "t0l", "ub", "wub"):
            out[f"{b}:{suffix}"] = prior(f"{b}:{suffix}")
        for mod in ("fa0", "fa1"):
            out[f"{b}|{mod}:kv"] = prior(f"{b}|{mod}:kv")
            out[f"{b}|{mod}:attn"] = prior(f"{b}|{mod}:attn")
        out[f"hop:gpu|{b}"] = prior(f"hop:gpu|{b}")
    out["ROCm|fa1vec:attn"] = prior("ROCm|fa1vec:attn")
    for key in PRIOR_INV_ETA_C:
        out[f"{key}:c"] = PRIOR_INV_ETA_C[key]
    for path in ("int8", "fp16", "fp32"):
        for b in ("ROCm", "Vulkan", "SYCL", "Metal", "OpenCL", "CUDA"):
            out.setdefault(f"{b}|p={path}:c", prior(f"{b}|p={path}:c"))
    out["hop:cpu"] = prior("hop:cpu")
    out["hop:allreduce|nvlink"] = prior("hop:allreduce|nvlink")
    out["hop:allreduce|pcie"] = prior("hop:allreduce|pcie")
    out["offload:pcie"] = prior("offload:pcie")
    return {k: v for k, v in out.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, action="append", help="ground-truth CSV (repeat; default: all)")
    ap.add_argument(
        "--host-links",
        type=Path,
        default=HOST_LINKS,
        help="per-source host PCIe links to add (benchmarks/host_links_from_notebooks.py)",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--no-lodo", action="store_true", help="skip the leave-one-device-out bands")
    args = ap.parse_args(argv)
    folder = ground_truth_dir()
    paths = args.data or (sorted(folder.glob("speed_*.csv")) if folder is not None else [])
    if not paths or any(not p.exists() for p in paths):
        print("calibrate: ground-truth CSV not found (use --data)", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    C = dict(STATIC)
    C["priors"] = prior_table()
    C["coefficients"] = {}
    rows, unresolved, n_total = read_fit_rows(paths, C, args.host_links)
    # rows of the exclusion list (data/ground-truth/excluded_rows.csv, each rule with its reason)
    n_excluded = sum(n for reason, n in unresolved.items() if reason.startswith("excluded: "))
    n_total -= n_excluded
    print(
        f"rows: {n_total}; resolved: {len(rows)} ({len(rows) / n_total:.1%}); "
        f"unresolved: {sum(unresolved.values()) - n_excluded}; excluded: {n_excluded}"
    )
    for reason, n in Counter(unresolved).most_common(30):
        print(f"  {n:5d}  {reason}")
    coefs, os_factors = fit_model(rows)
    C["coefficients"] = {k: float(f"{v:.6g}") for k, v in sorted(coefs.items())}
    # OS / driver factors (rigfit.estimate.speed.osdriver), written before the LODO bands use them
    C["os_factors"] = {k: os_factors[k] for k in sorted(os_factors)}
    if not args.no_lodo:
        res = lodo_residuals(rows, C)
        C["bands"] = res["bands"]
        C["band_inflation"] = res["band_inflation"]
        C["fit"] = {"lodo": res["summary"]}
    C.setdefault("fit", {})
    C["fit"].update(
        {
            "data": ", ".join(f"data/ground-truth/{p.name}" for p in paths),
            "rows": n_total,
            "excluded": n_excluded,
            "resolved": len(rows),
            "devices": len({r.device for r in rows}),
            "method": "robust ridge least squares on relative test time; bands = leave-one-device-out "
            "log(observed/predicted) p10/p90 by kind x vendor x backend x split mode, device-weighted, "
            "widened for few devices and inflated to 80 % coverage on held-out devices",
        }
    )
    C["schema_version"] = 1
    C["generated_by"] = "benchmarks/calibrate.py"
    args.out.write_text(json.dumps(C, indent=1, sort_keys=True) + "\n")
    took = time.perf_counter() - t_start
    print(f"wrote {args.out} ({len(C['coefficients'])} coefficients) in {took:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
