"""``rigfit plan`` without Typer (rigfit.cli.plan_fast) prints what the Typer command prints.

The fast path reads the plain command lines itself and hands every other one to Typer. These tests
hold it to Typer's answers: its option table against the options Typer builds from
``rigfit.cli.plan_cmd.plan``, byte-identical output and exit codes on good and bad command lines
with the fast path on and off, which command lines it takes, and (structurally, not by a clock)
that a plain ``rigfit plan`` process imports neither Typer nor Click.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import typer.main
from tests.clirun import run_cli

import rigfit.cli
from rigfit.cli import _load_commands, plan_fast
from rigfit.cli.plan_options import DEFAULTS, PlanOptions

SRC = Path(__file__).resolve().parents[2] / "src"
ON = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def _typer_plan_command():
    _load_commands(["plan"])
    from rigfit.cli.app import app

    return typer.main.get_command(app).commands["plan"]  # type: ignore[attr-defined]


def test_option_table_matches_the_typer_command() -> None:
    """Both commands are made from PlanOptions: the fast path's flags and value types read as Typer
    reads them (no callbacks, no environment variables, one value each), and its defaults."""
    params = _typer_plan_command().params
    assert params[0].name == "model" and params[0].required
    options = {p.name: p for p in params[1:]}
    assert list(options) == [f.name for f in fields(PlanOptions)] == list(plan_fast.OPTIONS)
    for name, (flags, kind) in plan_fast.OPTIONS.items():
        p = options[name]
        assert tuple(p.opts) == flags and not p.secondary_opts, name
        assert p.type_descriptor.annotation is kind, name
        assert bool(p.is_flag) == (kind is bool) and not p.multiple and p.nargs == 1, name
        assert p.envvar is None and p.callback is None, name  # the fast path runs no callbacks
        assert p.default == DEFAULTS[name] == getattr(PlanOptions(), name), name


TAKEN = [
    ["plan", "llama-3.1-8b", "--on", ON],
    ["plan", "llama-3.1-8b", "--on", ON, "--json"],
    ["plan", "--on", ON, "qwen2.5-14b", "-q", "Q5_K_M", "--ctx", "16384"],
    ["plan", "llama-3.1-8b", f"--on={ON}", "-np=2", "--ubatch=256", "--kv-type", "q8_0", "--max-ctx"],
    ["plan", "qwen3-30b-a3b", "--on", ON, "--n-cpu-moe", "10", "--os", "linux", "--json"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--users", "4", "--min-tps", "20.5", "--json"],
    ["plan", "llama-3.1-8b", "-q", "Q8_0", "--draft", "llama-3.2-1b", "--draft-max", "5", "--on", ON],
    [
        "plan",
        "qwen2.5-14b",
        "--on",
        "RTX 4090",
        "--ctx",
        "65536",
        "-ctk",
        "q8_0",
        "-ctv",
        "q5_1",
        "--kv-types",
    ],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "0", "--gpu-memory-utilization", "0.85"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--on", "RTX 3090", "--ctx", "2048", "--ctx", "4096"],
    ["plan", "llama-3.3-70b", "--on", ON],
    ["plan", "nosuchmodel", "--on", "RTX 3060 12GB"],
    ["plan", "nosuchmodel", "--on", "RTX 3060 12GB", "--json"],
    ["plan", "llama-3.1-8b", "--on", "nosuch gpu", "--json"],
    ["plan", "llama-3.1-8b", "--on", ON, "--fa", "sometimes"],
    ["plan", "llama-3.1-8b", "--on", ON, "--reserve-ram", "lots"],
    ["plan", "", "--on", ON],
]

GIVEN_TO_TYPER = [
    ["plan", "--help"],
    ["plan", "llama-3.1-8b", "--help", "--on", ON],
    ["plan"],
    ["plan", "--on", ON],
    ["plan", "llama-3.1-8b", "qwen3-8b", "--on", ON],
    ["plan", "bad\udcff", "--on", ON],
    ["plan", "llama-3.1-8b", "--on", ON, "--ctx", "1e3"],
    ["plan", "llama-3.1-8b", "--on", ON, "--ctx", "-5"],
    ["plan", "llama-3.1-8b", "--on", ON, "--ctx", "99999999999"],
    ["plan", "llama-3.1-8b", "--on", ON, "--users", "2.5"],
    ["plan", "llama-3.1-8b", "--on", ON, "-c=4096"],
    ["plan", "llama-3.1-8b", "--on", ON, "-c4096"],
    ["plan", "llama-3.1-8b", "--on", ON, "--json=yes"],
    ["plan", "llama-3.1-8b", "--on", ON, "--ctx"],
    ["plan", "llama-3.1-8b", "--on", "--json"],
    ["plan", "llama-3.1-8b", "--on", ON, "--cxt", "4096"],
    ["plan", "llama-3.1-8b", "--on", ON, "--", "x"],
    ["plan", "llama-3.1-8b", "--on", ON, "--min-tps", "0"],
    ["--json", "plan", "llama-3.1-8b", "--on", ON],
]


def test_which_command_lines_the_fast_path_takes() -> None:
    for args in TAKEN:
        assert plan_fast.parse(args[1:], DEFAULTS) is not None, args
    for args in GIVEN_TO_TYPER:
        assert args[:1] != ["plan"] or plan_fast.parse(args[1:], DEFAULTS) is None, args
    got = plan_fast.parse(TAKEN[3][1:], DEFAULTS)
    assert got == {
        "model": "llama-3.1-8b",
        "on": ON,
        "parallel": 2,
        "ubatch": 256,
        "kv_type": "q8_0",
        "max_ctx": True,
    }


@pytest.mark.parametrize("args", TAKEN + GIVEN_TO_TYPER, ids=lambda a: " ".join(a)[:70])
def test_same_output_with_and_without_fast_path(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = run_cli(*args)
    with monkeypatch.context() as m:
        m.setattr(rigfit.cli, "_plan_fast", lambda argv: False)
        slow = run_cli(*args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_plain_plan_process_imports_neither_typer_nor_click() -> None:
    """The gain of the fast path, held structurally: a plain ``rigfit plan`` never imports the
    CLI framework (nor the other commands' modules)."""
    code = (
        "import sys; from rigfit.cli import main\n"
        f"main(['plan', 'llama-3.1-8b', '--on', {ON!r}, '--json', '--ctx', '4096'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')"
        " or m.endswith('_cmd') or m == 'rigfit.cli.app'), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[]"
