"""Issue 18, defect 9: nothing from a file or the command line reaches the terminal as Rich markup
or as a control sequence (ESC[2J, OSC-8 links) — in inspect, check and error messages."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rigfit.cli import _load_commands
from rigfit.cli.app import app

_load_commands([])
runner = CliRunner()

#: 15 bytes, the length of "synthetic llama", so the patched file stays valid
EVIL_NAME = b"[/bold]\x1b[2J[/]x"


def _no_raw_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


@pytest.fixture
def evil_gguf(tmp_path):
    from synth import write_llama

    path = write_llama(tmp_path / "m.gguf").path
    data = path.read_bytes()
    assert data.count(b"synthetic llama") == 1
    path.write_bytes(data.replace(b"synthetic llama", EVIL_NAME))
    return path


def test_inspect_shows_a_hostile_general_name_as_text(evil_gguf):
    result = runner.invoke(app, ["inspect", str(evil_gguf)])
    assert result.exit_code == 0, result.output
    _no_raw_controls(result.output)
    assert "[/bold]" in result.output and "\\x1b[2J" in result.output


def test_check_echoes_control_characters_escaped():
    line = "Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060 \x1b[2J\x1b]8;;http://x\x07[/]link"
    result = runner.invoke(app, ["check", "-"], input=line + "\n")
    _no_raw_controls(result.output)
    assert result.exit_code in (0, 2)


def test_error_messages_escape_file_names(tmp_path):
    name = tmp_path / "x\x1b[2J[/]y.gguf"
    result = runner.invoke(app, ["inspect", str(name)])
    assert result.exit_code == 2
    _no_raw_controls(result.output)
    assert "\\x1b" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_report_out_with_markup_is_one_clean_line(tmp_path):
    result = runner.invoke(app, ["report", "--on", "RTX 3060", "--out", str(tmp_path / "x[/]y" / "")])
    assert "Traceback" not in result.output
    _no_raw_controls(result.output)


def test_plan_shows_a_hostile_general_name_without_escape_sequences(evil_gguf):
    result = runner.invoke(app, ["plan", str(evil_gguf), "--on", "RTX 4090"])
    assert result.exit_code == 0, result.output
    _no_raw_controls(result.output)
