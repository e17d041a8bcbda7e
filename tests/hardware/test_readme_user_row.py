"""The README's hardware.toml example works as printed."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from rigfit.cli import plan_cmd  # registers `rigfit plan` on the app
from rigfit.cli.app import app
from rigfit.hardware.names import resolve_device

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_hardware_toml_example_resolves_and_plans(tmp_path, monkeypatch):
    block = re.search(r"```toml\n(\[\[gpu\]\].*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None
    (tmp_path / "rigfit").mkdir()
    (tmp_path / "rigfit" / "hardware.toml").write_text(block.group(1))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    d = resolve_device("MTT S4000")
    assert d.memory_bytes == 48 * 2**30 and d.bandwidth_bytes_per_s == 768e9
    assert d.status["memory_bytes"] == "user" and d.tdp_w is None
    res = CliRunner().invoke(app, ["plan", "qwen3-32b", "--on", "MTT S4000 + 64GB DDR5-6000"])
    assert plan_cmd is not None and res.exit_code == 0, res.output
    assert "fits" in res.output
