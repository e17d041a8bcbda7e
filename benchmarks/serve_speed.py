"""How fast rigfit answers interactive use (issue 15): in-process plan and recommend, whole-process CLI
start-up, and 50 concurrent API plan requests against a real ``rigfit serve``.

    python benchmarks/serve_speed.py [--repeat 5] [--concurrent 50] [--skip-load]
        [--llmfit-plan ARGS] [--llmfit-recommend ARGS]

Targets (issue 15, on the 2-core development machine): warm plan ≤ 20 ms, recommend ladder over the
whole catalog ≤ 300 ms, ``rigfit plan`` ≤ 0.2 s and ``rigfit recommend`` ≤ 0.8 s as whole processes.
The load figures (p50/p95 latency of 50 plan requests sent at once) have no target but must be
error-free. Every figure is a median over repeats with the 1-minute load average next to it:
neighbours' work on a shared machine slows runs, so compare figures taken at similar loads.
Whole-process runs use a bytecode cache (as an installed package has; the first, compiling run is
not counted) even where ``PYTHONDONTWRITEBYTECODE`` is set. Prints the ratio to llmfit's own
commands when ``llmfit`` is on PATH (``pip install llmfit`` ships its binary; by default it is given the
reference box's 12 GB GPU and 32 GB RAM, as rigfit is). Exit 0 always (figures, not a pass/fail test).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
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
#: Machines for the warm recommend ladder (each a new set of plans; the tensor tables are warm).
WARM_MACHINES = (
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "RTX 4060 Ti 16GB + 32GB DDR5-5600",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RTX 3080 + 64GB DDR4-3600",
    "RX 7900 XTX + 64GB DDR5-6000",
)
TARGETS_S = {"plan_warm": 0.020, "recommend": 0.300, "cli_plan": 0.2, "cli_recommend": 0.8}


def _ms(s: float) -> str:
    return f"{s * 1e3:8.1f} ms"


def _loadavg() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def in_process(repeat: int) -> dict[str, tuple[float, str]]:
    """Warm plan (serve's cached path and the library call) and the recommend ladder: (median [s], load)."""
    from rigfit.catalog.models import get_model
    from rigfit.estimate.tensors import catalog_model_spec
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.plan import make_plan
    from rigfit.plantypes import PlanSettings
    from rigfit.recommend import recommend
    from rigfit.serve import api
    from rigfit.serve.api import PLAN_PARAMS

    out: dict[str, tuple[float, str]] = {}
    args = {p.name: p.default for p in PLAN_PARAMS} | {"model": "llama-3.1-8b", "on": MACHINE, "ctx": 8192}
    t0 = time.perf_counter()
    api.plan(args)
    out["plan_cold"] = (time.perf_counter() - t0, _loadavg())
    times = []
    for i in range(max(repeat, 20)):
        a = args | {"ctx": 4096 + 512 * (i % 8)}  # answers for these contexts may be reused by serve
        t0 = time.perf_counter()
        api.plan(a)
        times.append(time.perf_counter() - t0)
    out["plan_warm_api"] = (statistics.median(times), _loadavg())
    box = resolve_machine(MACHINE)
    spec = catalog_model_spec(get_model("llama-3.1-8b"), "Q4_K_M")
    times = []
    for i in range(max(repeat, 20)):
        settings = PlanSettings(n_ctx=4096 + 256 * i)  # a new context each time: no plan is reused
        t0 = time.perf_counter()
        make_plan(spec, box, settings)
        times.append(time.perf_counter() - t0)
    out["plan_warm"] = (statistics.median(times), _loadavg())

    t0 = time.perf_counter()
    recommend(box, "chat")
    out["recommend_first"] = (time.perf_counter() - t0, _loadavg())
    # warm: the catalog's tensor tables are built; every plan is new (another machine or use)
    times = []
    for m in WARM_MACHINES[: max(repeat, 1)]:
        other = resolve_machine(m)
        t0 = time.perf_counter()
        recommend(other, "chat")
        times.append(time.perf_counter() - t0)
        out[f"recommend_on {m}"] = (times[-1], _loadavg())  # each machine's own ladder (one run)
    out["recommend_other_machine"] = (statistics.median(times), _loadavg())
    t0 = time.perf_counter()
    recommend(box, "code")
    out["recommend_other_use"] = (time.perf_counter() - t0, _loadavg())
    return out


def _cli_env() -> dict[str, str]:
    """The environment of the whole-process runs: this source tree, a bytecode cache."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT / "src")
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "rigfit-bench-pycache")
    return env


def whole_process(cmd: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) time of ``python -m rigfit CMD`` [s], one per repeat (after one
    uncounted run). CPU time hardly moves with the neighbours' load; wall time does."""
    env = _cli_env()
    subprocess.run([sys.executable, "-m", "rigfit", *cmd], env=env, capture_output=True, check=True)
    wall, cpu = [], []
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rigfit", *cmd], env=env, capture_output=True, check=True)
        wall.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return wall, cpu


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


def _llmfit(repeat: int, commands: dict[str, str]) -> dict[str, tuple[float, float, int]] | None:
    """Median wall and CPU time [s] and the last exit status of each llmfit command (``commands``:
    figure name -> arguments), after one uncounted run."""
    exe = shutil.which("llmfit")
    if exe is None:
        return None
    out = {}
    for name, cmd in commands.items():
        subprocess.run([exe, *shlex.split(cmd)], capture_output=True)
        wall, cpu, rc = [], [], 0
        for _ in range(repeat):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            rc = subprocess.run([exe, *shlex.split(cmd)], capture_output=True).returncode
            wall.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        out[name] = (statistics.median(wall), statistics.median(cpu), rc)
    return out


def _line(label: str, fig: tuple[float, str], target_s: float | None = None) -> str:
    value, load = fig
    target = f"   target ≤ {target_s * 1e3:.0f} ms" if target_s is not None else ""
    return f"  {label:<42}{_ms(value)}   ({load}){target}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--skip-load", action="store_true", help="leave out the rigfit serve load test")
    # the reference box's 12 GB GPU and 32 GB RAM, as rigfit is given it (llmfit's global overrides)
    box = "--memory 12G --ram 32G --cpu-cores 8"
    ap.add_argument(
        "--llmfit-plan",
        default=f"{box} plan meta-llama/Llama-3.1-8B-Instruct --context 8192",
        help="llmfit's arguments for one model",
    )
    ap.add_argument(
        "--llmfit-recommend", default=f"{box} recommend --json", help="llmfit's arguments for a ranking"
    )
    args = ap.parse_args(argv)
    print(f"{_loadavg()} before ({os.cpu_count()} CPUs); figures are medians, load = 1-minute average")
    ip = in_process(args.repeat)
    print("\nIn-process (warm = second and later calls in one process)")
    print(_line("plan, first call (serve API)", ip["plan_cold"]))
    print(_line("plan, warm (serve API)", ip["plan_warm_api"]))
    print(_line("plan, warm (make_plan, new context each)", ip["plan_warm"], TARGETS_S["plan_warm"]))
    print(_line("recommend ladder, first (builds tables)", ip["recommend_first"]))
    print(
        _line(
            "recommend ladder, warm (another machine)", ip["recommend_other_machine"], TARGETS_S["recommend"]
        )
    )
    for key in (k for k in ip if k.startswith("recommend_on ")):
        print(_line("    on " + key.removeprefix("recommend_on ").split(" + ")[0] + " (one run)", ip[key]))
    print(_line("recommend ladder, warm (another use)", ip["recommend_other_use"]))
    plan_cmd = ["plan", "llama-3.1-8b", "--on", MACHINE]
    rec_cmd = ["recommend", "--on", MACHINE]
    cp, cp_cpu = whole_process(plan_cmd, args.repeat)
    load_plan = _loadavg()
    cr, cr_cpu = whole_process(rec_cmd, max(3, args.repeat // 2))
    load_rec = _loadavg()
    print("\nWhole process (python -m rigfit …, bytecode cached; wall median / best, CPU median)")
    print(
        f"  rigfit plan                   {statistics.median(cp):6.2f} s / {min(cp):.2f} s, "
        f"CPU {statistics.median(cp_cpu):.2f} s   ({load_plan})   target ≤ {TARGETS_S['cli_plan']} s"
    )
    print(
        f"  rigfit recommend              {statistics.median(cr):6.2f} s / {min(cr):.2f} s, "
        f"CPU {statistics.median(cr_cpu):.2f} s   ({load_rec})   target ≤ {TARGETS_S['cli_recommend']} s"
    )
    if not args.skip_load:
        lat, wall, errors = load(args.concurrent)
        print(f"\nLoad: {args.concurrent} concurrent GET /api/plan on loopback (rigfit serve, warm caches)")
        print(
            f"  errors {errors}; p50 {_ms(_pct(lat, 0.5)).strip()}, p95 {_ms(_pct(lat, 0.95)).strip()}, "
            f"max {_ms(max(lat)).strip()}; all {args.concurrent} done in {wall:.2f} s ({_loadavg()})"
        )
    lf = _llmfit(args.repeat, {"cli_plan": args.llmfit_plan, "cli_recommend": args.llmfit_recommend})
    if lf is None:
        print("\nllmfit: not on PATH (no ratio)")
    else:
        print(f"\nllmfit (wall median / CPU median, {_loadavg()}): rigfit / llmfit by wall and by CPU")
        for key, label, wall, cpu in (
            ("cli_plan", args.llmfit_plan, cp, cp_cpu),
            ("cli_recommend", args.llmfit_recommend, cr, cr_cpu),
        ):
            lw, lc, rc = lf[key]
            status = "" if rc == 0 else f"   (exit {rc}: check the arguments)"
            ratio_wall = statistics.median(wall) / lw
            ratio_cpu = statistics.median(cpu) / max(lc, 1e-3)
            print(
                f"  llmfit {label}\n    {lw:6.2f} s / CPU {lc:.2f} s   rigfit {key[4:]} / llmfit = "
                f"{ratio_wall:.1f}× wall, {ratio_cpu:.1f}× CPU{status}"
            )
    print(f"\n{_loadavg()} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
