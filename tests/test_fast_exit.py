"""``rigfit recommend`` as a whole process leaves without the interpreter's teardown (issue 15):
the same exit status, stdout, stderr and exit handlers as the normal exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rigfit.cli import _exit_now

SRC = Path(__file__).resolve().parents[1] / "src"

#: A console-script run (``main()`` with no argv) of a recommend that fails fast, with an exit
#: handler of its own that must still run and whose output must still reach stdout.
SCRIPT = """
import atexit, sys
sys.argv = ["rigfit", "recommend", "--on", "no such machine at all 123"]
atexit.register(lambda: print("handler ran"))
from rigfit.cli import main
main({argv})
"""


def _run(argv: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(SRC), "RIGFIT_NO_TABLE_CACHE": "1"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(argv=argv)], capture_output=True, text=True, env=env, timeout=120
    )


def test_console_script_exit_keeps_status_output_and_handlers() -> None:
    fast = _run("")  # the console script: the fast exit
    normal = _run("sys.argv[1:]")  # an in-process call: the interpreter's own exit
    assert fast.returncode == normal.returncode == 2
    assert fast.stdout == normal.stdout == "handler ran\n"  # the handler ran once, its output flushed
    assert fast.stderr == normal.stderr
    assert "no such machine at all 123" in fast.stderr


def test_unusual_exit_codes_take_the_normal_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fast_exit(code: int) -> None:
        raise AssertionError(f"os._exit({code}) for an exit the normal path must handle")

    monkeypatch.setattr(os, "_exit", no_fast_exit)
    assert _exit_now(SystemExit("a message, not a status")) is None  # Python prints it: normal path


def test_fast_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def fake_exit(code: int) -> None:
        seen.append(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr("atexit._run_exitfuncs", lambda: None)
    # a pytest-xdist worker runs its own threads; the console script has only the main one
    monkeypatch.setattr("threading.active_count", lambda: 1)
    _exit_now(SystemExit(None))
    _exit_now(SystemExit(2))
    _exit_now(SystemExit(130))
    assert seen == [0, 2, 130]
