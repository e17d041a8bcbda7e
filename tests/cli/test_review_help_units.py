"""Review regression: units in square brackets in --help were eaten as rich markup
("--min-params  Smallest total size ." instead of "[billions of parameters]")."""

from __future__ import annotations

import pytest

from clirun import run_cli


@pytest.mark.parametrize(
    ("command", "unit"),
    [
        ("models", "[billions of parameters]"),
        ("models", "[tokens]"),
        ("plan", "[tok/s]"),
        ("cost", "[USD/kWh]"),
        ("cost", "[USD]"),
        ("run", "[GiB]"),
    ],
)
def test_help_shows_bracketed_units(command, unit):
    r = run_cli(command, "--help", env={"COLUMNS": "250"})
    assert r.exit_code == 0
    assert unit in " ".join(r.stdout.split()), r.stdout
