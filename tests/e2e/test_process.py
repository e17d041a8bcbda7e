"""True end-to-end runs: ``python -m rigfit`` in a fresh process, as a user's shell runs it.

Everything else tests the CLI in-process (tests/clirun.py), where coverage sees it. These few check
what only a real process shows: the entry point, start-up time, exit codes and stderr as a shell
sees them, and that no traceback escapes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import synth

REFERENCE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def rigfit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m rigfit ARGS`` in a new interpreter (stdout and stderr captured apart)."""
    return subprocess.run(
        [sys.executable, "-m", "rigfit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, COLUMNS="100"),
    )


def test_help_lists_every_command():
    out = rigfit("--help")
    assert out.returncode == 0, out.stderr
    for command in (
        "plan",
        "hardware",
        "models",
        "inspect",
        "bench",
        "results",
        "calibrate",
        "check",
        "cost",
        "floor",
        "recommend",
        "report",
        "predict",
        "local",
        "version",
    ):
        assert command in out.stdout, command
    assert out.stderr == ""


def test_plan_json_in_a_fresh_process():
    out = rigfit("plan", "llama-3.1-8b", "--on", REFERENCE, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fit"] == "fits" and data["memory"]["devices"][0]["name"] == "CUDA0"


def test_user_errors_exit_2_with_one_line_and_no_traceback():
    bad = rigfit("hardware", "0x RTX 3090")
    assert bad.returncode == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert lines[0].startswith("error:") and len(lines) <= 2 and "Traceback" not in bad.stderr
    usage = rigfit("no-such-command")
    assert usage.returncode == 2 and "No such command" in usage.stderr and "Traceback" not in usage.stderr


def test_hardware_lookup_is_fast():
    """The catalog loads quickly in a new process (generous bound: shared, busy CI machine)."""
    t = time.perf_counter()
    ok = rigfit("hardware", "RTX 4090", "--json", timeout=60)
    elapsed = time.perf_counter() - t
    assert ok.returncode == 0 and json.loads(ok.stdout)["machine"]["accelerators"][0]["tdp_w"] == 450
    assert elapsed < 10


def test_inspect_json_fast_path_in_a_fresh_process(tmp_path):
    """``rigfit inspect FILE --json`` skips Typer and rich: same JSON and exit codes, in a real process."""
    model = synth.write_llama(tmp_path / "tiny.gguf", n_layer=2)
    out = rigfit("inspect", str(model.path), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tensor_bytes"] == model.tensor_bytes
    missing = rigfit("inspect", str(tmp_path / "missing.gguf"), "--json")
    assert missing.returncode == 2 and missing.stderr.startswith("error:")
    assert "Traceback" not in missing.stderr
