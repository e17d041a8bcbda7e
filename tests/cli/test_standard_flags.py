"""Standard flags: ``rigfit --version`` and Typer's shell completion (issue 17)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from rigfit import __version__
from rigfit.about import version_lines
from rigfit.cli import main
from rigfit.estimate.memory import build_profile


def cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_lines_name_rigfit_llama_build_and_python():
    lines = version_lines()
    assert lines[0] == f"rigfit {__version__}"
    assert f"llama.cpp build profile {build_profile().name}" in lines[1]
    assert lines[2].startswith(f"Python {platform.python_version()}")


@pytest.mark.parametrize("args", [("--version",), ("version",)])
def test_version_flag_and_command_print_the_same(capsys, args):
    code, out, err = cli(capsys, *args)
    assert code == 0 and err == ""
    text = " ".join(out.split())
    for line in version_lines():
        assert " ".join(line.split()) in text


def test_version_flag_wins_over_a_command(capsys):
    code, out, _ = cli(capsys, "--version", "plan", "no-such-model")
    assert code == 0 and f"rigfit {__version__}" in out


@pytest.mark.parametrize("shell, marker", [("bash", "complete "), ("zsh", "compdef"), ("fish", "complete ")])
def test_show_completion_prints_a_script(shell, marker):
    """Typer detects the user's shell; its test switch lets the shell be named instead."""
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "rigfit", "--show-completion", shell],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert marker in out.stdout and "_RIGFIT_COMPLETE" in out.stdout


def test_completion_completes_commands(monkeypatch, capsys):
    monkeypatch.setenv("_RIGFIT_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "rigfit mach")
    monkeypatch.setenv("COMP_CWORD", "1")
    code, out, _ = cli(capsys)
    assert code == 0 and out.split() == ["machine"]
    monkeypatch.setenv("COMP_WORDS", "rigfit machine ")
    monkeypatch.setenv("COMP_CWORD", "2")
    code, out, _ = cli(capsys)
    assert set(out.split()) == {"save", "list", "remove"}


def test_help_lists_completion_options(capsys):
    code, out, _ = cli(capsys, "--help")
    assert code == 0 and "--install-completion" in out and "--version" in out
