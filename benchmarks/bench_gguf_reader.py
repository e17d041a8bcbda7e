"""Speed of rigfit's GGUF header reader vs ``gguf.GGUFReader`` on the bundled Gemma 3 270M.

    python benchmarks/bench_gguf_reader.py [PATH.gguf] [--reader-runs N]

Prints three times for the same file (Gemma 3 270M Q4_K_M: 262,144-token vocabulary):
  * ``gguf.GGUFReader(path)``                      (gguf-py; builds numpy views of every array)
  * rigfit in-process: read_gguf + Architecture + inspect summary (what plan/bench use)
  * ``rigfit inspect PATH --json`` as a whole command in a fresh interpreter (startup, CLI
    imports, catalog match, header, JSON output): the ``rigfit`` console script beside this
    Python (``python -m rigfit`` if there is none), run twice over:
      - as this environment runs it (with PYTHONDONTWRITEBYTECODE=1, as in rigfit's dev setup,
        every run recompiles rigfit's modules from source: ~15 ms);
      - with rigfit's bytecode compiled once into a temporary PYTHONPYCACHEPREFIX, as a pip
        install has it (compiled at install time). Only bytecode is kept between runs; every run
        still reads and parses the file.
and the speed-ups. Medians over several runs; page cache warm (the file is read once first).
Timings depend on the machine's load: the script prints the 1-minute load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", help="GGUF file (default: the bundled Gemma 3 270M)")
    ap.add_argument("--reader-runs", type=int, default=3, help="GGUFReader runs (slow: ~10 s each)")
    ap.add_argument("--cli-runs", type=int, default=9)
    ap.add_argument("--lib-runs", type=int, default=30)
    args = ap.parse_args()

    if args.path:
        path = Path(args.path)
    else:
        from rigfit.formats.bundled import bundled_gemma_path

        path = bundled_gemma_path()
    Path(path).read_bytes()  # warm the page cache for every contender alike

    from gguf import GGUFReader

    from rigfit.formats.gguf import read_gguf
    from rigfit.formats.gguf_arch import model_from_gguf
    from rigfit.formats.inspect import summarize

    def ours() -> dict:
        g = read_gguf(path)
        return summarize(model_from_gguf(path, g), g)

    s = ours()
    t_lib = _median_time(ours, args.lib_runs)
    script = shutil.which("rigfit", path=str(Path(sys.executable).parent))
    cmd = [script] if script else [sys.executable, "-m", "rigfit"]
    cmd += ["inspect", str(path), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    assert f'"n_tensors": {s["n_tensors"]}' in out
    t_cli = _median_time(lambda: subprocess.run(cmd, check=True, capture_output=True), args.cli_runs)
    with tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        subprocess.run(cmd, check=True, capture_output=True, env=env)  # compiles the bytecode
        t_pyc = _median_time(
            lambda: subprocess.run(cmd, check=True, capture_output=True, env=env), args.cli_runs
        )
    t_bare = _median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5)

    def reader() -> None:
        r = GGUFReader(str(path))
        assert len(r.tensors) == s["n_tensors"]

    t_reader = _median_time(reader, args.reader_runs)

    print(f"file: {path} ({Path(path).stat().st_size:,} B)")
    print(
        f"tensors: {s['n_tensors']}, tensor bytes: {s['tensor_bytes']:,}, arch: {s['architecture']}, "
        f"file type: {s['file_type']}"
    )
    print(
        f"gguf.GGUFReader(path)                 : {t_reader * 1000:9.1f} ms  (median of {args.reader_runs})"
    )
    print(
        f"rigfit read+arch+summary (in process) : {t_lib * 1000:9.1f} ms  (median of {args.lib_runs})"
        f"  -> {t_reader / t_lib:,.0f}x faster"
    )
    print(
        f"`rigfit inspect --json` whole command : {t_cli * 1000:9.1f} ms  (median of {args.cli_runs})"
        f"  -> {t_reader / t_cli:,.0f}x faster"
        + ("  [no .pyc: PYTHONDONTWRITEBYTECODE]" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "")
    )
    print(
        f"  same, bytecode compiled (as installed): {t_pyc * 1000:7.1f} ms  (median of {args.cli_runs})"
        f"  -> {t_reader / t_pyc:,.0f}x faster"
    )
    print(f"  (of which a bare `python -c pass` start: {t_bare * 1000:.1f} ms)")
    shown = "rigfit" if script else "python -m rigfit"
    print(f"  command: {shown} inspect PATH --json; load average (1 min): {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
