"""``rigfit serve`` as a command: loopback by default, a warning beyond it, one line for a busy port,
and no web stack imported by the other commands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rigfit.cli.serve_cmd import is_loopback

pytestmark = pytest.mark.xdist_group("serve")


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")


def test_binding_beyond_localhost_warns(launch, tmp_path):
    start_server, free_port, server_env = launch
    port = free_port()
    proc = start_server(server_env(tmp_path), port, "--host", "0.0.0.0")
    try:
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "warning:" in err and "0.0.0.0" in err and "--host 127.0.0.1" in err


def test_default_binds_loopback_only(launch, tmp_path):
    start_server, free_port, server_env = launch
    port = free_port()
    proc = start_server(server_env(tmp_path), port)
    try:
        conns = [
            c
            for c in __import__("psutil").net_connections("tcp")
            if c.laddr and c.laddr.port == port and c.status == "LISTEN"
        ]
        assert conns and all(c.laddr.ip == "127.0.0.1" for c in conns)
    except (PermissionError, __import__("psutil").AccessDenied):
        pytest.skip("listing sockets needs privileges here")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "warning" not in err


def test_busy_port_is_one_line_and_exit_2(launch, tmp_path):
    _, _, server_env = launch
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "rigfit", "serve", "--port", str(port)],
            env=server_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2
    assert "Cannot listen on" in out.stderr and "Traceback" not in out.stderr
    assert f"--port {port + 1}" in out.stderr


def test_other_commands_do_not_import_the_web_stack():
    src = str(Path(__file__).resolve().parents[2] / "src")
    code = (
        "import sys; from rigfit.cli import _load_commands; _load_commands([]); "
        "from rigfit.cli import plan_cmd; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'rigfit.serve.app') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
