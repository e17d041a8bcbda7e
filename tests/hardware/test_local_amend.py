"""``local + 64GB DDR5-6000``: amend the detected machine's host RAM (rigfit.hardware.amend)."""

from __future__ import annotations

import pytest

from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.profiles import save_profile

GIB = 1024**3


def test_ram_size_and_speed_override_detected(monkeypatch):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 4090 + Ryzen 9 7950X + 32GB DDR5-4800")
    base = resolve_machine("local")
    assert base.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 4800e6)
    m = resolve_machine("local + 64GB DDR5-6000")
    assert m.detected and m.accelerators == base.accelerators and m.cpu == base.cpu
    assert m.ram_bytes == 64 * GIB
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 6000e6)  # 2 channels from the 7950X spec
    assert m.ram_type == "DDR5-6000"
    assert "7950X spec" in m.sources["ram_bandwidth_bytes_per_s"]
    assert "detected: 32.0 GiB" in m.sources["ram_bytes"]
    assert "64GB DDR5-6000" in m.name
    assert resolve_machine("Local+64GB DDR5-6000") == m  # spacing and case as users type it


def test_size_only_keeps_detected_speed(monkeypatch):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 4090 + Ryzen 9 7950X + 32GB DDR5-4800")
    m = resolve_machine("local + 96GB")
    base = resolve_machine("local")
    assert m.ram_bytes == 96 * GIB
    assert m.ram_bandwidth_bytes_per_s == base.ram_bandwidth_bytes_per_s
    assert m.ram_type == base.ram_type == "DDR5-4800"


def test_unknown_cpu_gets_bandwidth_from_given_speed(monkeypatch):
    """Detected CPU without a catalog row: RAM bandwidth was unknown; a given speed sets it (2 ch assumed)."""
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 3060 12GB + 8 cores AVX2 + 32GB")
    assert resolve_machine("local").ram_bandwidth_bytes_per_s is None
    m = resolve_machine("local + 64GB DDR4-3200")
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 3200e6)
    assert "assumed" in m.sources["ram_bandwidth_bytes_per_s"]
    assert any("channels not given" in n for n in m.notes)
    m4 = resolve_machine("local + 64GB DDR4-3200 quad-channel")
    assert m4.ram_bandwidth_bytes_per_s == pytest.approx(4 * 8 * 3200e6)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("local + RTX 3090", "Only host RAM can be added"),
        ("local + 64GB + RTX 3090", "Only host RAM can be added"),
        ("local + ", "Only host RAM can be added"),
        ("local + DDR5-6000", "Only host RAM can be added"),
        ("local + -64GB DDR5-6000", "Only host RAM"),
    ],
)
def test_non_ram_parts_refused(monkeypatch, spec, match):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 4090 + 32GB DDR5-4800")
    with pytest.raises(RigfitError, match=match):
        resolve_machine(spec)


def test_impossible_ram_is_one_error(monkeypatch):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 4090 + 32GB DDR5-4800")
    with pytest.raises(RigfitError):
        resolve_machine("local + 0GB DDR5-6000")


def test_unified_memory_local_refused(monkeypatch):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "M4 Pro 48GB")
    with pytest.raises(RigfitError, match="unified memory"):
        resolve_machine("local + 64GB")


def test_amended_local_can_be_saved(monkeypatch):
    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 4090 + Ryzen 9 7950X + 32GB DDR5-4800")
    save_profile("rig", "local + 64GB DDR5-6000", resolve_machine)
    assert resolve_machine("rig").ram_bytes == 64 * GIB


def test_hardware_cli_on_amended_local_shows_given_ram_speed(monkeypatch, capsys):
    from rigfit.cli import main

    monkeypatch.setenv("RIGFIT_FAKE_LOCAL", "RTX 4090 + Ryzen 9 7950X + 32GB DDR5-4800")
    with pytest.raises(SystemExit) as exc:
        main(["hardware", "local + 64GB DDR5-6000"])
    assert exc.value.code in (0, None)
    out = capsys.readouterr().out
    assert "96.0 GB/s" in out and "DDR5-6000" in out
