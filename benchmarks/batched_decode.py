"""Batched decode on real llama.cpp: measured vs predicted per-user and aggregate tok/s.

    python benchmarks/batched_decode.py                 # table from the stored measurement
    python benchmarks/batched_decode.py --measure       # measure again (≈ 4 min), store, then table

``--measure`` loads the bundled Gemma 3 270M Q4_K_M in an xllamacpp server (CPU) with
``n_parallel`` = 8 slots and continuous batching, and for N = 1, 2, 4, 8 sends N completion
requests at once from N threads (``handle_completions``; random token prompts, ``ignore_eos``).
Per user (wall): llama-server's own ``predicted_n / predicted_ms`` of each request (the slot's
decode rate while it shared the batch with the others). Measured aggregate: tokens generated per
CPU-second of llama.cpp's busiest thread (the decode thread; per-thread times from
``/proc/self/task``) from the last first token to the last final token — on a shared machine the
neighbours' load slows the wall-clock figures by whatever share of the cores they take, while
the thread's CPU time is what it takes when it runs, so the table compares the prediction for
``--threads`` dedicated threads with it (per user = aggregate / N). The default is one thread:
with more, ggml's worker threads spin at every barrier while a descheduled partner catches up,
which a loaded machine turns into CPU time that is not decode. Each N is measured ``--repeat``
times (default 3); the table shows the median and the range (the machine's noise) and the load
average at each run.
The samples are written
to ``benchmarks/data/batched_decode_gemma3_270m.json`` with the date, xllamacpp version, CPU and
load average.

The prediction is :func:`rigfit.estimate.concurrency.batched_decode` for this machine (hardware
detection: ``--on local``), at the same prompt and output lengths and threads, with its p10–p90
band; at N = 1 it is ``rigfit plan``'s single-stream decode figure (on the CPU backend the
batched model of :mod:`rigfit.estimate.cpu_batch` starts from it; nothing in it is fitted to
this measurement).
Prints the table; exit 0 when every measured figure lies inside its band.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.estimate.concurrency import batched_decode  # noqa: E402
from rigfit.formats.bundled import bundled_gemma_path  # noqa: E402
from rigfit.formats.source import load_model_source  # noqa: E402
from rigfit.hardware.grammar import resolve_machine  # noqa: E402
from rigfit.plan import make_plan  # noqa: E402
from rigfit.plantypes import PlanSettings  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "batched_decode_gemma3_270m.json"
USERS = (1, 2, 4, 8)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of every thread of this process, by thread id (Linux /proc;
    empty elsewhere). llama.cpp's compute threads are native threads of this process."""
    out: dict[str, float] = {}
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[tid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (stat fields 14, 15)
    except OSError:
        pass
    return out


def _busiest_delta(before: dict[str, float], after: dict[str, float]) -> float:
    """CPU seconds of the thread that used the most between two :func:`_thread_cpu` snapshots:
    llama.cpp's decode thread (with ``--threads 1`` the server loop thread that computes the graph)."""
    return max((after[t] - before.get(t, 0.0) for t in after), default=0.0)


def _one(server: Any, prompt: list[int], gen: int, out: list[dict], lock: threading.Lock) -> None:
    """One streamed completion; records llama-server's timings and the wall times."""
    first: list[Any] = []
    final: list[dict] = []

    def on_chunk(chunk: dict) -> bool:
        if not first:
            first.append(time.perf_counter())
            first.append(time.process_time())
            first.append(_thread_cpu())
        if "timings" in chunk or "error" in chunk:
            final.append(chunk)
        return False

    t0 = time.perf_counter()
    req = {"prompt": prompt, "n_predict": gen, "ignore_eos": True, "temperature": 0, "stream": True}
    server.handle_completions(req, on_chunk)
    t_end = time.perf_counter()
    cpu_end = time.process_time()
    threads_end = _thread_cpu()
    if not final or "timings" not in final[-1]:
        raise RuntimeError(f"no timings: {final[-1] if final else 'nothing returned'}")
    t = final[-1]["timings"]
    with lock:
        out.append(
            {
                "t_start": t0,
                "t_first": first[0] if first else t_end,
                "t_end": t_end,
                "cpu_first": first[1] if first else cpu_end,
                "cpu_end": cpu_end,
                "threads_first": first[2] if first else threads_end,
                "threads_end": threads_end,
                "prompt_n": int(t["prompt_n"]),
                "prompt_ms": float(t["prompt_ms"]),
                "predicted_n": int(t["predicted_n"]),
                "predicted_ms": float(t["predicted_ms"]),
            }
        )


def measure(prompt_tokens: int, gen: int, repeat: int, threads: int) -> dict:
    """Run the sweep on real llama.cpp; returns the stored record."""
    import xllamacpp  # lazy: optional llama.cpp binding (bench extra)

    n_slots = max(USERS)
    p = xllamacpp.CommonParams()
    p.model.path = str(bundled_gemma_path())
    p.n_parallel = n_slots
    p.n_ctx = n_slots * (prompt_tokens + gen + 64)
    p.cont_batching = True
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    server = xllamacpp.Server(p)
    rng = random.Random(0)
    runs: list[dict] = []
    load0 = os.getloadavg()[0]
    for rep in range(-1, repeat):  # rep -1: warm-up
        for n in USERS if rep >= 0 else (2,):
            reqs: list[dict] = []
            lock = threading.Lock()
            prompts = [[rng.randrange(100, 32000) for _ in range(prompt_tokens)] for _ in range(n)]
            ths = [threading.Thread(target=_one, args=(server, pr, gen, reqs, lock)) for pr in prompts]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            if rep < 0:
                continue
            t_decode0 = max(r["t_first"] for r in reqs)
            t_decode1 = max(r["t_end"] for r in reqs)
            last_first = max(reqs, key=lambda r: r["t_first"])
            last_end = max(reqs, key=lambda r: r["t_end"])
            cpu_s = last_end["cpu_end"] - last_first["cpu_first"]
            thread_s = _busiest_delta(last_first["threads_first"], last_end["threads_end"])
            tokens = sum(r["predicted_n"] - 1 for r in reqs)
            per_user = [r["predicted_n"] / (r["predicted_ms"] / 1000.0) for r in reqs]
            runs.append(
                {
                    "users": n,
                    "repeat": rep,
                    "per_user_tps": per_user,
                    "aggregate_tps_wall": sum(r["predicted_n"] for r in reqs) / (t_decode1 - t_decode0)
                    if t_decode1 > t_decode0
                    else None,
                    "aggregate_tps_sum": sum(per_user),
                    # tokens per CPU-second of this process over the same window: what one
                    # dedicated core per thread would give, whatever the neighbours' load
                    "aggregate_tps_cpu": tokens / cpu_s if cpu_s > 0 else None,
                    # tokens per CPU-second of llama.cpp's busiest (decode) thread: without the
                    # client threads' and the HTTP layer's CPU time that the process figure counts
                    "aggregate_tps_thread": tokens / thread_s if thread_s > 0 else None,
                    "load_average": os.getloadavg()[0],
                    "ttft_s": [r["t_first"] - r["t_start"] for r in reqs],
                }
            )
            print(f"N={n} rep {rep}: per user {min(per_user):.1f}–{max(per_user):.1f} tok/s", flush=True)
    del server
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "xllamacpp": getattr(xllamacpp, "__version__", ""),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "load_average_before": load0,
        "load_average_after": os.getloadavg()[0],
        "model": "gemma3-270m Q4_K_M (bundled)",
        "n_parallel": n_slots,
        "cont_batching": True,
        "prompt_tokens": prompt_tokens,
        "gen_tokens": gen,
        "repeat": repeat,
        "runs": runs,
    }


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def _measured(runs: list[dict]) -> tuple[float, float, float, str]:
    """Aggregate tok/s of one N over its repeats: (median, lowest, highest, which metric).
    Preferred: per CPU-second of llama.cpp's decode thread; older records: per process
    CPU-second; else the wall-clock sum of llama-server's per-slot rates."""
    for key, what in (("aggregate_tps_thread", "thread CPU"), ("aggregate_tps_cpu", "process CPU")):
        xs = [float(r[key]) for r in runs if r.get(key)]
        if xs:
            return _median(xs), min(xs), max(xs), what
    xs = [float(r["aggregate_tps_sum"]) for r in runs]
    return _median(xs), min(xs), max(xs), "wall"


def table(record: dict) -> bool:
    """Print measured (median over the repeats, and their range: the machine's noise) against
    the predicted band; True when every median lies inside its band."""
    spec = load_model_source(str(bundled_gemma_path()), None)
    machine = resolve_machine("local")
    p, g = int(record["prompt_tokens"]), int(record["gen_tokens"])
    print(
        f"Batched decode, {record['model']}, xllamacpp {record['xllamacpp']}, {record['cpu']} "
        f"({record['threads']} threads, load {record['load_average_before']:.1f}→"
        f"{record['load_average_after']:.1f}), measured {record['date']}; prompt {p}, output {g} tokens"
    )
    head = ("N", "per-user meas.", "predicted (p10–p90)", "aggr. meas. (repeats)", "predicted (p10–p90)")
    print(f"{head[0]:>3} {head[1]:>15} {head[2]:>26} {head[3]:>27} {head[4]:>28}  load")
    ok = True
    metric = ""
    for n in USERS:
        runs = [r for r in record["runs"] if r["users"] == n]
        if not runs:
            continue
        agg, agg_lo, agg_hi, metric = _measured(runs)
        wall = max(r["aggregate_tps_sum"] for r in runs)
        per = agg / n
        settings = PlanSettings(n_ctx=n * (p + g), n_parallel=n, prompt_tokens=p)
        plan = make_plan(spec, machine, settings, with_speed=False)
        est = batched_decode(plan, users=n, prompt_tokens=p, output_tokens=g, threads=record["threads"])
        pu, ag = est.per_user_tps, est.aggregate_tps
        assert pu.low is not None and pu.high is not None and ag.low is not None and ag.high is not None
        in_pu = pu.low <= per <= pu.high
        in_ag = ag.low <= agg <= ag.high
        ok &= in_pu and in_ag
        loads = "/".join(f"{r['load_average']:.1f}" for r in runs if "load_average" in r) or "-"
        print(
            f"{n:>3} {per:>15.1f} {pu.value:>9.1f} ({pu.low:6.1f}–{pu.high:6.1f}) {'in ' if in_pu else 'OUT'}"
            f" {agg:>10.1f} ({agg_lo:6.1f}–{agg_hi:6.1f}) {ag.value:>10.1f} ({ag.low:7.1f}–{ag.high:7.1f})"
            f" {'in ' if in_ag else 'OUT'} {loads}   (wall-clock aggregate {wall:.1f}; limit {est.limit})"
        )
    print(f"measured: tokens per {metric} second, median of {record.get('repeat', '?')} repeats (range)")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", action="store_true", help="measure again with xllamacpp and store it")
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--gen", type=int, default=96)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (default 1: see above)")
    args = ap.parse_args(argv)
    if args.measure:
        record = measure(args.prompt, args.gen, args.repeat, args.threads)
        DATA.parent.mkdir(parents=True, exist_ok=True)
        DATA.write_text(json.dumps(record, indent=1) + "\n")
        print(f"stored {DATA.relative_to(ROOT)}")
    if not DATA.exists():
        print("no stored measurement: run with --measure (needs xllamacpp)")
        return 1
    return 0 if table(json.loads(DATA.read_text())) else 1


if __name__ == "__main__":
    sys.exit(main())
