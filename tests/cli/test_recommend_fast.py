"""``rigfit recommend`` without Typer (rigfit.cli.recommend_fast) prints what the Typer command prints.

As tests/cli/test_plan_fast.py does for ``rigfit plan``: the fast path's option table against the
options Typer builds from ``rigfit.cli.recommend_cmd.recommend``, byte-identical output and exit
codes on good and bad command lines with the fast path on and off, which command lines it takes,
and (structurally, not by a clock) that a plain ``rigfit recommend`` process imports neither Typer
nor Click, nor rich's progress bars when stderr is not a terminal.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from tests.clirun import run_cli

import rigfit.cli
from rigfit.cli import _load_commands, recommend_fast
from rigfit.cli.recommend_view import run_recommend

SRC = Path(__file__).resolve().parents[2] / "src"
ON = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def _typer_recommend_command():
    _load_commands(["recommend"])
    from rigfit.cli.app import app

    return typer.main.get_command(app).commands["recommend"]  # type: ignore[attr-defined]


def test_option_table_matches_the_typer_command() -> None:
    params = _typer_recommend_command().params
    options = {p.name: p for p in params}
    assert set(options) == set(recommend_fast.OPTIONS)
    for name, (flags, kind) in recommend_fast.OPTIONS.items():
        p = options[name]
        assert p.param_type_name == "option", name
        assert tuple(p.opts) == flags and not p.secondary_opts, name
        assert p.type_descriptor.annotation is kind, name
        assert bool(p.is_flag) == (kind is bool) and not p.multiple and p.nargs == 1, name
        assert p.envvar is None and p.callback is None, name  # the fast path runs no callbacks
    assert options["on"].required and all(not p.required for n, p in options.items() if n != "on")
    defaults = run_recommend.__kwdefaults__ or {}
    assert defaults == {name: p.default for name, p in options.items() if name != "on"}
    assert list(inspect.signature(run_recommend).parameters) == [p.name for p in params]


#: Command lines the fast path runs; the first few plan the whole ladder (slow), the rest stop early.
TAKEN = [
    ["recommend", "--on", ON, "--limit", "3"],
    ["recommend", "--on", ON, "--use", "code", "--limit", "2", "--json"],
    ["recommend", f"--on={ON}", "--min-ctx=32768", "--min-tps", "5.5", "--users", "2", "--limit", "2"],
    ["recommend", "--on", "nosuch gpu"],
    ["recommend", "--on", "nosuch gpu", "--json"],
    ["recommend", "--on", ON, "--use", "poetry"],
    ["recommend", "--on", ON, "--min-ctx", "100"],
    ["recommend", "--on", ON, "--reserve-ram", "lots", "--json"],
    ["recommend", "--on", "RTX 3090", "--on", ON, "--limit", "0"],
]

GIVEN_TO_TYPER = [
    ["recommend", "--help"],
    ["recommend"],
    ["recommend", "--limit", "3"],
    ["recommend", "extra", "--on", ON],
    ["recommend", "--on", ON, "--limit", "1e3"],
    ["recommend", "--on", ON, "--limit", "-5"],
    ["recommend", "--on", ON, "--min-tps", "0"],
    ["recommend", "--on", ON, "--max-quality-loss", "500"],
    ["recommend", "--on", ON, "--json=yes"],
    ["recommend", "--on", ON, "--limit"],
    ["recommend", "--on", "--json"],
    ["recommend", "--on", ON, "--lmit", "3"],
    ["recommend", "--on", ON, "--", "x"],
    ["recommend", "--on", "bad\udcff"],
    ["--json", "recommend", "--on", ON],
]


def test_which_command_lines_the_fast_path_takes() -> None:
    defaults = run_recommend.__kwdefaults__ or {}
    for args in TAKEN:
        assert recommend_fast.parse(args[1:], defaults) is not None, args
    for args in GIVEN_TO_TYPER:
        assert args[:1] != ["recommend"] or recommend_fast.parse(args[1:], defaults) is None, args
    assert recommend_fast.parse(TAKEN[2][1:], defaults) == {
        "on": ON,
        "min_ctx": 32768,
        "min_tps": 5.5,
        "users": 2,
        "limit": 2,
    }


@pytest.mark.parametrize("args", TAKEN + GIVEN_TO_TYPER, ids=lambda a: " ".join(a)[:70])
def test_same_output_with_and_without_fast_path(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = run_cli(*args)
    with monkeypatch.context() as m:
        m.setattr(rigfit.cli, "_recommend_fast", lambda argv: False)
        slow = run_cli(*args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_plain_recommend_process_imports_neither_typer_nor_click() -> None:
    """The gain of the fast path, held structurally: a plain ``rigfit recommend`` with stderr not a
    terminal imports neither the CLI framework, the other commands' modules nor rich's progress
    bars (there is no bar to draw)."""
    code = (
        "import sys; from rigfit.cli import main\n"
        f"main(['recommend', '--on', {ON!r}, '--limit', '2', '--min-ctx', '4096'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')"
        " or m.endswith('_cmd') or m in ('rigfit.cli.app', 'rich.progress')), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert "Recommended for chat" in r.stdout
    assert r.stderr.strip().splitlines()[-1] == "[]"
