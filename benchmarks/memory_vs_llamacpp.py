"""Predicted vs measured memory: rigfit's llama.cpp memory model against real llama.cpp and published logs.

Part 1 (``--skip-live`` turns it off): create contexts in the installed llama.cpp (xllamacpp, CPU)
for the bundled Gemma 3 270M and synthetic llama / deepseek2-MLA / MoE / mamba2 GGUFs and print
predicted vs logged model, KV/RS and compute buffers (MiB).

Part 2: the published rows of data/ground-truth/memory.csv (old builds, GPUs), predicted with
the matching build profile (the row's build number → b1650-2023-12 / b2800-2024-05; FA off,
n_batch = n_ubatch = 512),
and the error per source.

    python benchmarks/memory_vs_llamacpp.py [--skip-live] [--csv PATH]
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rigfit.catalog.models import resolve_model
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.formats.source import load_model_source
from rigfit.hardware.devices import Device, Machine
from rigfit.plan import PlanSettings, device_memory

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only", ram_bytes=64 * 1024**3)
DEFAULT_CSV = Path(__file__).resolve().parents[1] / "data" / "ground-truth" / "memory.csv"


def live_table() -> None:
    import synth
    from rigfit.formats.bundled import bundled_gemma_path
    from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp

    d = Path(tempfile.mkdtemp())
    files = {
        "gemma3-270m": bundled_gemma_path(),
        "llama": synth.write_llama(d / "llama.gguf", n_embd=512, n_ff=1536, n_head=8, n_head_kv=2).path,
        "deepseek2-mla": synth.write_deepseek2_mla(d / "mla.gguf").path,
        "moe": synth.write_moe(d / "moe.gguf").path,
        "mamba2": synth.write_mamba2(d / "mamba2.gguf").path,
    }
    grid = [
        (512, "on", 1, False, False, 512, "f16"),
        (512, "off", 1, False, False, 512, "f16"),
        (4096, "on", 1, False, False, 512, "f16"),
        (4096, "off", 1, False, False, 512, "f16"),
        (32768, "on", 1, False, False, 512, "f16"),
        (32768, "off", 1, False, False, 512, "f16"),
        (32768, "on", 1, False, False, 512, "q8_0"),
        (32768, "auto", 4, False, False, 512, "f16"),
        (32768, "auto", 4, True, False, 512, "f16"),
        (32768, "auto", 1, False, True, 512, "f16"),
        (32768, "auto", 1, False, False, 2048, "f16"),
    ]
    jobs = [(m, g) for m in files for g in grid if m == "gemma3-270m" or g[0] <= 16384 or g[1] != "off"]
    cfgs = [
        RunConfig(
            str(files[m]),
            n_ctx=c,
            flash_attn=fa,
            n_parallel=n,
            kv_unified=u,
            swa_full=sf,
            n_ubatch=ub,
            type_k=kt,
            type_v=kt,
        )
        for m, (c, fa, n, u, sf, ub, kt) in jobs
    ]
    logs = run_llamacpp(cfgs, per_process=11)
    specs = {m: load_model_source(p) for m, p in files.items()}
    print("## Predicted vs llama.cpp (xllamacpp, CPU), MiB: predicted / measured")
    print(f"{'model':14} {'config':28} {'model buf':>17} {'KV+RS':>17} {'compute':>17} {'ok'}")
    worst = 0.0
    for (m, (c, fa, n, u, sf, ub, kt)), log in zip(jobs, logs, strict=True):
        label = f"c{c} fa={fa} np={n}{' kvu' if u else ''}{' swa-full' if sf else ''} ub={ub} {kt}"
        if not log.ok:
            print(f"{m:14} {label:28} llama.cpp refused: {log.error}")
            continue
        s = PlanSettings(
            n_ctx=c,
            flash_attn=fa,
            n_parallel=n,
            kv_unified=u,
            swa_full=sf,
            n_ubatch=ub,
            kv_type_k=kt,
            kv_type_v=kt,
            ngl=0,
        )
        _, devs = device_memory(specs[m], CPU_BOX, s, c, 0, mem.build_profile())
        h = devs[-1]
        pairs = [
            ((h.weights_bytes + h.repack_bytes) / MIB, log.mib("model")),
            ((h.kv_bytes + h.recurrent_bytes) / MIB, log.mib("KV") + log.mib("RS")),
            (h.compute_bytes / MIB, log.mib("compute")),
        ]
        ok = all(abs(p - q) <= max(1.0, 0.01 * q) for p, q in pairs)
        worst = max(worst, max(abs(p - q) for p, q in pairs))
        cells = " ".join(f"{p:8.2f}/{q:8.2f}" for p, q in pairs)
        print(f"{m:14} {label:28} {cells} {'ok' if ok else 'MISS'}")
    print(f"largest absolute difference: {worst:.2f} MiB\n")


_MODEL_IDS = [
    (r"llama 2 70b", "llama-2-70b"),
    (r"llama 2 13b", "llama-2-13b"),
    (r"llama 2 7b", "llama-2-7b"),
    (r"llama 1 65b|llama 65b", "llama-1-65b"),
    (r"llama 1 30b|llama 33b|llama 30b", "llama-1-30b"),
    (r"llama 1 13b|llama 13b", "llama-1-13b"),
    (r"llama 1 7b|llama 7b", "llama-1-7b"),
    (r"llama 3 8b", "llama-3-8b"),
    (r"llama-3.1-70b", "llama-3.1-70b"),
]


def _model_id(name: str) -> str | None:
    n = name.lower().replace("-v2", "").replace("-v3", "")
    n = re.sub(r"^meta-", "", n)
    for pat, mid in _MODEL_IDS:
        if re.search(pat, n):
            return mid
    return None


def _gt_machine(hardware: str) -> Machine:
    """A stand-in machine with the row's number and kind of accelerators (capacity irrelevant)."""
    m = re.search(r"\bx(\d+)\s*$", hardware.strip())
    n = int(m.group(1)) if m else 1
    apple = "apple" in hardware.lower()
    dev = Device(
        id="gt",
        name=hardware,
        kind="apple" if apple else "gpu",
        vendor="Apple" if apple else "NVIDIA",
        memory_bytes=1 << 40,
    )
    return Machine(name=hardware, accelerators=(dev,) * n, ram_bytes=1 << 40, unified_memory=apple)


def _gt_profile(notes: str) -> mem.BuildProfile:
    m = re.search(r"\((\d{3,5})\)\s*$", notes) or re.search(r"\bb(\d{3,5})\b", notes)
    return mem.build_profile(f"b{m.group(1)}" if m else "b1650-2023-12")


def ground_truth(path: Path) -> None:
    rows = list(csv.DictReader(path.open()))
    errs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    skipped: dict[str, int] = defaultdict(int)
    profiles: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        src = "/".join(r["source_url"].split("/")[2:5])
        mid = _model_id(r["model"])
        if mid is None or not r["context"] or "peak" in r["notes"]:
            skipped[src] += 1
            continue
        try:
            spec = catalog_model_spec(resolve_model(mid), r["quant"])
        except RigfitError:
            skipped[src] += 1
            continue
        ctx = int(r["context"])
        kvt = "q8_0" if r["kv_type"].startswith("q8_0") else "f16"
        prof = _gt_profile(r["notes"])
        profiles[src].add(prof.name)
        fa = "on" if kvt == "q8_0" else "off"  # 2023–2024 builds: flash attention off unless -fa
        settings = PlanSettings(
            n_ctx=ctx,
            n_ubatch=512,
            n_batch=512,
            flash_attn=fa,
            kv_type_k=kvt,
            kv_type_v=kvt,
            llama_build=prof.name,
        )
        machine = _gt_machine(r["hardware"])
        _, devs = device_memory(spec, machine, settings, ctx, None, prof)
        gpus = [d for d in devs if d.name != "CPU"]
        w = sum(d.weights_bytes for d in gpus) / MIB
        kv = sum(d.kv_bytes for d in gpus) / MIB
        comp = sum(d.compute_bytes for d in gpus) / MIB
        for key, pred in (("weights_mib", w), ("kv_mib", kv), ("compute_mib", comp)):
            if r[key]:
                meas = float(r[key])
                errs[src][key].append((pred - meas) / meas * 100)
        if r["total_mib"]:
            meas = float(r["total_mib"])
            # "as printed"/"derived" totals are llama.cpp's buffers only; others include the context
            logged_only = (
                "as printed by llama.cpp" in r["notes"]
                or "derived sum" in r["notes"]
                or "cumulative allocated" in r["notes"]
            )
            extra = 0 if logged_only else sum(d.overhead_bytes for d in gpus) / MIB
            errs[src]["total_mib"].append((w + kv + comp + extra - meas) / meas * 100)
    print("## Published memory rows (data/ground-truth/memory.csv), error = predicted − published")
    print(f"{'source':58} {'field':12} {'rows':>5} {'median %':>9} {'max |%|':>8}  profiles")
    for src, fields in errs.items():
        for key, e in fields.items():
            print(
                f"{src:58} {key:12} {len(e):5d} {statistics.median(e):9.1f} {max(abs(x) for x in e):8.1f}"
                f"  {', '.join(sorted(profiles[src]))}"
            )
    for src, n in skipped.items():
        print(f"{src:58} skipped {n} rows (model not in the catalog or peak-only measurements)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-live", action="store_true", help="do not run llama.cpp")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    a = ap.parse_args()
    if not a.skip_live:
        live_table()
    if a.csv.exists():
        ground_truth(a.csv)
    else:
        print(f"{a.csv} not found: skipping the published rows")


if __name__ == "__main__":
    main()
