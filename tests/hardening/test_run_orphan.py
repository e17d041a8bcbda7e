"""Issue 18, defect 6, for ``rigfit run``: the llama.cpp server it launched never outlives it by more
than 1 s, whether rigfit gets SIGTERM, SIGHUP or SIGKILL (handlers stop the process group; for
``kill -9``, which no handler sees, the child's PR_SET_PDEATHSIG).

The server is a stand-in ``llama-server`` (``--engine-bin``): it logs the plan's buffers and a
listening line as llama.cpp does, records its pid, and then serves until killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

import synth
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import PlanSettings, make_plan

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PDEATHSIG and /proc: Linux")
MIB = 1024**2
BOX = "Ryzen 7 5800X + 32GB"


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    return synth.write_llama(tmp_path_factory.mktemp("m") / "tiny.gguf", n_embd=256, n_ff=512).path


def _stand_in(path: Path, gguf: Path, pid_file: Path) -> Path:
    plan = make_plan(load_model_source(str(gguf)), resolve_machine(BOX), PlanSettings(), with_speed=False)
    (cpu,) = plan.devices
    log = (
        f"load_tensors:   CPU_Mapped model buffer size = {cpu.weights_bytes / MIB:8.2f} MiB\n"
        f"llama_context:        CPU  output buffer size = {cpu.output_bytes / MIB:8.2f} MiB\n"
        f"llama_kv_cache:        CPU KV buffer size = {cpu.kv_bytes / MIB:8.2f} MiB\n"
        f"sched_reserve:        CPU compute buffer size = {cpu.compute_bytes / MIB:8.2f} MiB\n"
        "main: server is listening on http://127.0.0.1:1 - starting the main loop\n"
    )
    path.write_text(
        textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys, time
        if "--help" in sys.argv:
            print("--fit [on|off]")
            sys.exit(0)
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        sys.stderr.write({log!r})
        sys.stderr.flush()
        while True:
            time.sleep(1)
        """)
    )
    path.chmod(0o755)
    return path


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["SIGTERM", "SIGHUP", "SIGKILL"]
)
def test_no_server_outlives_rigfit_run(tmp_path, gguf, sig) -> None:
    pid_file = tmp_path / "server.pid"
    engine = _stand_in(tmp_path / "llama-server", gguf, pid_file)
    env = dict(os.environ, RIGFIT_DATA_DIR=str(tmp_path / "data"))
    cmd = [sys.executable, "-m", "rigfit", "run", str(gguf), "--on", BOX, "--engine-bin", str(engine)]
    proc = subprocess.Popen(
        [*cmd, "--port", "0", "--no-store"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
    server = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("Serving until Ctrl-C" in ln for ln in lines):
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.1)
        assert any("Serving until Ctrl-C" in ln for ln in lines), "".join(lines)
        server = int(pid_file.read_text())
        assert not _gone(server)
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)
        died = time.monotonic()
        while not _gone(server) and time.monotonic() - died < 5:
            time.sleep(0.02)
        outlived = time.monotonic() - died
    finally:
        if proc.poll() is None:
            proc.kill()
        if server and not _gone(server):
            os.kill(server, signal.SIGKILL)
    assert outlived <= 1.0, f"the server outlived rigfit run by {outlived:.2f} s"
    assert "Traceback" not in "".join(lines)
