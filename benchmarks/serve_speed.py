"""How fast rigfit answers interactive use (issue 15): in-process plan and recommend, whole-process CLI
start-up, and 50 concurrent API plan requests against a real ``rigfit serve``.

    python benchmarks/serve_speed.py [--repeat 5] [--concurrent 50]

Targets (issue 15, on the 2-core development machine): warm plan ≤ 20 ms, recommend ladder over the
whole catalog ≤ 300 ms, ``rigfit plan`` ≤ 0.2 s and ``rigfit recommend`` ≤ 0.8 s as whole processes.
The load figures (p50/p95 latency of 50 plan requests sent at once) have no target but must be
error-free. The load average is printed before and after: neighbours' work on a shared machine slows
runs, so the *fastest* repeat is the best estimate of a quiet machine. Prints the ratio to llmfit's
own commands when ``llmfit`` is on PATH. Exit 0 always (figures, not a pass/fail test).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MACHINE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
OTHER_MACHINE = "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000"
TARGETS_S = {"plan_warm": 0.020, "recommend": 0.300, "cli_plan": 0.2, "cli_recommend": 0.8}


def _ms(s: float) -> str:
    return f"{s * 1e3:8.1f} ms"


def in_process(repeat: int) -> dict[str, float]:
    """Warm plan (serve's cached path and the library call) and the recommend ladder [s]."""
    from rigfit.serve import api
    from rigfit.serve.api import PLAN_PARAMS

    args = {p.name: p.default for p in PLAN_PARAMS} | {"model": "llama-3.1-8b", "on": MACHINE, "ctx": 8192}
    t0 = time.perf_counter()
    api.plan(args)
    cold = time.perf_counter() - t0
    times = []
    for i in range(max(repeat, 20)):
        a = args | {"ctx": 4096 + 512 * (i % 8)}  # a new context each time: no answer is reused
        t0 = time.perf_counter()
        api.plan(a)
        times.append(time.perf_counter() - t0)
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.recommend import recommend

    t0 = time.perf_counter()
    recommend(resolve_machine(MACHINE), "chat")
    rec_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    recommend(resolve_machine(OTHER_MACHINE), "chat")
    rec_other = time.perf_counter() - t0
    t0 = time.perf_counter()
    recommend(resolve_machine(MACHINE), "code")
    rec_use = time.perf_counter() - t0
    return {
        "plan_cold": cold,
        "plan_warm": min(times),
        "plan_warm_median": statistics.median(times),
        "recommend_first": rec_first,
        "recommend_other_machine": rec_other,
        "recommend_other_use": rec_use,
    }


def whole_process(cmd: list[str], repeat: int) -> list[float]:
    """Wall time of ``python -m rigfit CMD`` [s], one per repeat."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rigfit", *cmd], env=env, capture_output=True, check=True)
        out.append(time.perf_counter() - t0)
    return out


def load(n: int) -> tuple[list[float], float, int]:
    """``n`` plan requests at once against a fresh ``rigfit serve``: latencies [s], wall [s], errors."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="rigfit-serve-bench-")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RIGFIT_DATA_DIR": tmp, "XDG_CONFIG_HOME": tmp}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rigfit", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/openapi.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)

        def one(i: int) -> tuple[float, bool]:
            q = urllib.parse.urlencode(
                {"model": ("llama-3.1-8b", "qwen2.5-14b")[i % 2], "on": MACHINE, "ctx": 2048 * (1 + i % 8)}
            )
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{base}/api/plan?{q}", timeout=120) as r:
                    ok = r.status == 200 and "fit" in json.loads(r.read())
            except OSError:
                ok = False
            return time.perf_counter() - t0, ok

        for model in ("llama-3.1-8b", "qwen2.5-14b"):  # warm the per-(model, quant) caches once
            q = urllib.parse.urlencode({"model": model, "on": MACHINE})
            urllib.request.urlopen(f"{base}/api/plan?{q}", timeout=120).read()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            got = list(pool.map(one, range(n)))
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return [t for t, _ in got], wall, sum(1 for _, ok in got if not ok)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _llmfit(repeat: int) -> dict[str, float] | None:
    exe = shutil.which("llmfit")
    if exe is None:
        return None
    out = {}
    for name, cmd in (("cli_plan", [exe, "--help"]),):
        t = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True)
            t.append(time.perf_counter() - t0)
        out[name] = min(t)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--concurrent", type=int, default=50)
    args = ap.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    ip = in_process(args.repeat)
    print("\nIn-process (warm = second and later calls in one process)")
    print(f"  plan, first call              {_ms(ip['plan_cold'])}")
    print(
        f"  plan, warm (best / median)    {_ms(ip['plan_warm'])} / {_ms(ip['plan_warm_median']).strip()}"
        f"   target ≤ {TARGETS_S['plan_warm'] * 1e3:.0f} ms"
    )
    print(
        f"  recommend ladder, first       {_ms(ip['recommend_first'])}   target ≤ "
        f"{TARGETS_S['recommend'] * 1e3:.0f} ms"
    )
    print(f"  recommend, another machine    {_ms(ip['recommend_other_machine'])}")
    print(f"  recommend, same machine, another use {_ms(ip['recommend_other_use']).strip()}")
    plan_cmd = ["plan", "llama-3.1-8b", "--on", MACHINE]
    rec_cmd = ["recommend", "--on", MACHINE]
    cp = whole_process(plan_cmd, args.repeat)
    cr = whole_process(rec_cmd, max(2, args.repeat // 2))
    print("\nWhole process (python -m rigfit …; best / median)")
    print(
        f"  rigfit plan                   {min(cp):6.2f} s / {statistics.median(cp):.2f} s   "
        f"target ≤ {TARGETS_S['cli_plan']} s"
    )
    print(
        f"  rigfit recommend              {min(cr):6.2f} s / {statistics.median(cr):.2f} s   "
        f"target ≤ {TARGETS_S['cli_recommend']} s"
    )
    lat, wall, errors = load(args.concurrent)
    print(f"\nLoad: {args.concurrent} concurrent GET /api/plan on loopback (rigfit serve, warm caches)")
    print(
        f"  errors {errors}; p50 {_ms(_pct(lat, 0.5)).strip()}, p95 {_ms(_pct(lat, 0.95)).strip()}, "
        f"max {_ms(max(lat)).strip()}; all {args.concurrent} done in {wall:.2f} s"
    )
    lf = _llmfit(args.repeat)
    if lf is None:
        print("\nllmfit: not installed (no ratio)")
    else:
        ratio = min(cp) / lf["cli_plan"]
        print(f"\nllmfit --help {lf['cli_plan']:.2f} s; rigfit plan / llmfit start-up = {ratio:.1f}×")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
