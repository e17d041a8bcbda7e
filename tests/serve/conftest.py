"""A real ``rigfit serve`` on a free 127.0.0.1 port, with its own results store and config folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigfit.measure.store import Result, Run, open_store

#: Machines and models the tests use (catalog names: no local detection, no files).
MACHINE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed_store(data_dir: Path) -> int:
    """Four results with predictions (two pp, two tg) and one without: the Measurements page's data."""
    rows = [
        Result(
            test="pp512",
            tokens_per_s=1480.0,
            predicted_tokens_per_s=1512.2,
            hardware="RTX 3060 12GB",
            model="llama-3.1-8b",
            quant="Q4_K_M",
            source="test seed",
            dedupe_key="seed-1",
        ),
        Result(
            test="tg128",
            tokens_per_s=61.0,
            predicted_tokens_per_s=58.3,
            hardware="RTX 3060 12GB",
            model="llama-3.1-8b",
            quant="Q4_K_M",
            source="test seed",
            dedupe_key="seed-2",
        ),
        Result(
            test="pp512",
            tokens_per_s=4100.0,
            predicted_tokens_per_s=3900.0,
            hardware="RTX 4090",
            model="qwen2.5-14b",
            quant="Q4_K_M",
            source="test seed",
            dedupe_key="seed-3",
        ),
        Result(
            test="tg128",
            tokens_per_s=55.0,
            predicted_tokens_per_s=62.0,
            hardware="RTX 4090",
            model="qwen2.5-14b",
            quant="Q4_K_M",
            source="test seed",
            dedupe_key="seed-4",
        ),
        Result(
            test="tg64",
            tokens_per_s=20.0,
            hardware="M3 Max",
            model="llama-3.1-8b",
            quant="Q8_0",
            source="test seed",
            dedupe_key="seed-5",
        ),
    ]
    with open_store(data_dir / "results.db") as store:
        store.add_run(Run(source="test seed"), rows)
    return len(rows)


def server_env(tmp: Path) -> dict[str, str]:
    """Environment for a child rigfit: this checkout's sources, an empty data and config folder."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["RIGFIT_DATA_DIR"] = str(tmp / "data")
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    env["NO_COLOR"] = "1"
    return env


def get(
    base: str, path: str, params: dict | list | None = None, timeout: float = 60
) -> tuple[int, dict | list]:
    """GET ``base + path`` with query ``params``; (status, decoded JSON) for 2xx and 4xx alike."""
    url = base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            assert r.headers["content-type"].startswith("application/json")
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        assert e.headers["content-type"].startswith("application/json"), e.headers["content-type"]
        return e.code, json.loads(e.read())


def start_server(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen:
    """``rigfit serve --port PORT`` as a child process; returns once it answers (or fails the test)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rigfit", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rigfit serve exited {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("rigfit serve did not answer within 60 s")


@pytest.fixture(scope="session")
def serve_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("serve")
    (tmp / "data").mkdir()
    _seed_store(tmp / "data")
    return server_env(tmp)


@pytest.fixture(scope="session")
def server(serve_env: dict[str, str]) -> Iterator[str]:
    """Base URL of a running ``rigfit serve`` (one per test session / xdist worker)."""
    port = free_port()
    proc = start_server(serve_env, port)
    first = proc.stdout.readline() if proc.stdout else ""
    assert f"http://127.0.0.1:{port}/" in first, first
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def cli_json(env: dict[str, str], *args: str) -> dict | list:
    """``rigfit ARGS --json`` in a child process (the CLI the API must agree with)."""
    out = subprocess.run(
        [sys.executable, "-m", "rigfit", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def api_get():
    """The :func:`get` helper (test modules here cannot import this conftest by name)."""
    return get


@pytest.fixture(scope="session")
def run_cli(serve_env: dict[str, str]):
    """``run_cli(*args)`` -> the CLI's ``--json`` output, in the server's environment."""
    return lambda *args: cli_json(serve_env, *args)


@pytest.fixture(scope="session")
def launch():
    """The :func:`start_server`, :func:`free_port` and :func:`server_env` helpers."""
    return start_server, free_port, server_env
