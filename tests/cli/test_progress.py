"""Progress bars on long work go to stderr, only in a terminal (issue 17, "Long work is silent")."""

from __future__ import annotations

import io

from rich.console import Console

from clirun import run_cli
from rigfit.cli.progress import steps, track


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=80), buf


def test_track_draws_a_bar_in_a_terminal_and_yields_every_item():
    console, buf = _console(terminal=True)
    assert list(track(range(5), "planning catalog models", console=console)) == [0, 1, 2, 3, 4]
    drawn = buf.getvalue()
    assert "planning catalog models" in drawn and "5/5" in drawn


def test_no_bar_when_not_a_terminal():
    console, buf = _console(terminal=False)
    assert list(track(["a", "b"], "sizing", console=console)) == ["a", "b"]
    with steps("report", 3, console=console) as done:
        for what in ("one", "two", "three"):
            done(what)
    assert buf.getvalue() == ""


def test_steps_name_each_step():
    console, buf = _console(terminal=True)
    with steps("report", 2, console=console) as done:
        done("quantisation matrix")
        done("verdict matrix")
    assert "report: verdict matrix" in buf.getvalue() and "2/2" in buf.getvalue()


def test_piped_commands_print_no_bar_frames():
    out = run_cli("recommend", "--on", "M4 Pro 48GB", "--limit", "3")
    assert out.exit_code == 0, out.stderr
    # stderr may carry notes (an assumed GPU core count) but no progress frames
    assert "planning catalog models" not in out.stderr and "\r" not in out.stderr
    assert all(line.startswith("note: ") for line in out.stderr.splitlines()), out.stderr
    assert "planning catalog models" not in out.stdout
