"""The host RAM kept for the OS (rigfit.hardware.osreserve): defaults by kind of machine, the
``(reserve N)`` grammar, ``--reserve-ram``, and what plans, recommend and JSON make of it."""

from __future__ import annotations

import pytest

from clirun import run_cli
from jsonschemas import checked_json
from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.osreserve import (
    DESKTOP_RESERVE_BYTES,
    SBC_RESERVE_BYTES,
    SERVER_RESERVE_BYTES,
    apply_option,
    os_kind,
    parse_reserve,
    ram_reserve,
    split_reserve,
)
from rigfit.plan import apple_system_share_bytes, plan_with, usable_fast_memory_bytes
from rigfit.plantypes import Verdict
from rigfit.recommend import _spec
from rigfit.units import GIB, MIB

BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def _host(plan):  # the CPU row (always last)
    assert plan.devices[-1].kind == "cpu"
    return plan.devices[-1]


# --- the kind of machine and its default ------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "kind", "reserve"),
    [
        (BOX, "desktop", DESKTOP_RESERVE_BYTES),
        ("RTX 4090 + 64GB", "desktop", DESKTOP_RESERVE_BYTES),  # no CPU named: the home desktop
        ("Xeon w9-3495X + 256GB", "desktop", DESKTOP_RESERVE_BYTES),  # a workstation part
        ("Ryzen AI Max+ 395 128GB", "desktop", DESKTOP_RESERVE_BYTES),  # an APU box runs a desktop OS
        ("EPYC 9654 + 384GB DDR5-4800", "server", SERVER_RESERVE_BYTES),  # overlay row: by name
        ("Xeon 6980P + 768GB", "server", SERVER_RESERVE_BYTES),
        ("2x EPYC 9654 + 768GB", "server", SERVER_RESERVE_BYTES),
        ("Raspberry Pi 5 8GB", "sbc", SBC_RESERVE_BYTES),  # catalog segment "sbc"
        ("M3 Max 64GB", "apple", 0),
    ],
)
def test_default_reserve_by_kind_of_machine(on: str, kind: str, reserve: int) -> None:
    m = resolve_machine(on)
    assert os_kind(m) == kind
    r = ram_reserve(m)
    assert (r.kind, r.bytes) == (kind, reserve)
    assert r.source  # every default says its basis


def test_the_figures_are_the_sourced_ones() -> None:
    assert (DESKTOP_RESERVE_BYTES, SERVER_RESERVE_BYTES, SBC_RESERVE_BYTES) == (4 * GIB, 2 * GIB, 1 * GIB)


# --- sizes and the grammar -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n"),
    [("4GB", 4 * GIB), ("2.5 GiB", int(2.5 * GIB)), ("512MB", 512 * MIB), ("0", 0), ("3", 3 * GIB)],
)
def test_parse_reserve(text: str, n: int) -> None:
    assert parse_reserve(text) == n


@pytest.mark.parametrize("text", ["lots", "4TB", "-1GB", "2000GB", ""])
def test_parse_reserve_refuses_nonsense(text: str) -> None:
    with pytest.raises(RigfitError):
        parse_reserve(text)


def test_split_reserve() -> None:
    assert split_reserve(BOX) == (BOX, None)
    rest, n = split_reserve(BOX + " (reserve 2GB)")
    assert (rest, n) == (BOX, 2 * GIB)
    with pytest.raises(RigfitError, match="twice"):
        split_reserve("RTX 4090 (reserve 1GB) + 64GB (reserve 2GB)")


def test_machine_description_sets_the_reserve() -> None:
    m = resolve_machine(BOX + " (reserve 6GB)")
    plain = resolve_machine(BOX)
    assert m.ram_reserve_bytes == 6 * GIB and plain.ram_reserve_bytes is None
    assert (m.ram_bytes, m.accelerators, m.cpu) == (plain.ram_bytes, plain.accelerators, plain.cpu)
    r = ram_reserve(m)
    assert (r.kind, r.bytes) == ("given", 6 * GIB) and "machine description" in r.source
    # also on a unified-memory system, which the grammar reads apart
    assert resolve_machine("M3 Max 64GB (os reserve 20GB)").ram_reserve_bytes == 20 * GIB


def test_option_wins_over_the_description() -> None:
    m = apply_option(resolve_machine(BOX + " (reserve 6GB)"), "1GB")
    r = ram_reserve(m)
    assert r.bytes == 1 * GIB and "--reserve-ram" in r.source
    assert apply_option(resolve_machine(BOX), None).ram_reserve_bytes is None


# --- plans ------------------------------------------------------------------------------------


def test_plan_host_capacity_is_ram_less_reserve_and_says_so() -> None:
    p = plan_with(_spec("llama-3.1-8b", "Q4_K_M"), resolve_machine(BOX))
    h = _host(p)
    assert h.capacity_bytes == 32 * GIB - 4 * GIB
    assert "4.00 GiB kept for the OS" in h.capacity_source and "Windows 11" in h.capacity_source
    h0 = _host(plan_with(_spec("llama-3.1-8b", "Q4_K_M"), resolve_machine(BOX + " (reserve 0)")))
    assert h0.capacity_bytes == 32 * GIB


def test_experts_no_longer_fill_the_reserve() -> None:
    """The last stop's case: 30.5 GiB of qwen3-next experts in 32 GiB of DDR4 ran only because the
    OS was given nothing; with the desktop reserve that plan is gone."""
    spec = _spec("qwen3-next-80b-a3b", "IQ4_XS")
    bare = plan_with(spec, resolve_machine(BOX + " (reserve 0)"), n_ctx=8192)
    assert bare.fit is Verdict.OFFLOAD and _host(bare).total_bytes > 28 * GIB
    p = plan_with(spec, resolve_machine(BOX), n_ctx=8192)
    assert p.fit is Verdict.NO or _host(p).total_bytes <= 28 * GIB


def test_pi_keeps_a_small_reserve() -> None:
    """A headless Pi 5 8GB keeps 1 GiB: qwen3-8b Q4_K_M still fits; a desktop-sized reserve would not."""
    spec = _spec("qwen3-8b", "Q4_K_M")
    assert plan_with(spec, resolve_machine("Raspberry Pi 5 8GB")).fit is Verdict.FITS
    assert plan_with(spec, resolve_machine("Raspberry Pi 5 8GB (reserve 4GB)")).fit is Verdict.NO


def test_mac_counts_macos_once() -> None:
    """On a Mac the RAM outside Metal's working set already is macOS's: no reserve on top of it, and
    a reserve the user gives counts only where it exceeds that share."""
    spec = _spec("llama-3.1-8b", "Q4_K_M")
    p = plan_with(spec, resolve_machine("M3 Max 64GB"))
    gpus = p.devices[:-1]
    system = apple_system_share_bytes(64 * GIB, gpus)
    gpu_used = sum(d.total_bytes for d in gpus)
    assert system > 0 and _host(p).capacity_bytes == 64 * GIB - system - gpu_used
    small = plan_with(spec, resolve_machine("M3 Max 64GB (reserve 2GB)"))
    assert _host(small).capacity_bytes == _host(p).capacity_bytes  # inside macOS's share
    big = plan_with(spec, resolve_machine("M3 Max 64GB (reserve 20GB)"))
    assert _host(big).capacity_bytes == 64 * GIB - 20 * GIB - gpu_used


def test_apu_reserve_comes_out_of_the_shared_ram() -> None:
    p = plan_with(_spec("llama-3.1-8b", "Q4_K_M"), resolve_machine("Ryzen AI Max+ 395 128GB"))
    gpu_used = sum(d.total_bytes for d in p.devices[:-1])
    assert _host(p).capacity_bytes == 128 * GIB - 4 * GIB - gpu_used


def test_cpu_only_fast_memory_and_server_reserve() -> None:
    m = resolve_machine("EPYC 9654 + 384GB DDR5-4800")
    assert usable_fast_memory_bytes(m) == 384 * GIB - 2 * GIB
    assert _host(plan_with(_spec("llama-3.1-8b", "Q4_K_M"), m)).capacity_bytes == 382 * GIB


# --- command line and JSON --------------------------------------------------------------------


def test_plan_json_states_the_reserve() -> None:
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX, "--reserve-ram", "8GB", "--json")
    assert r.exit_code == 0, r.stderr
    out = checked_json(r.stdout, "rigfit.plan/1")
    assert out["machine"]["ram_reserve_bytes"] == 8 * GIB
    assert "--reserve-ram 8GB" in out["machine"]["ram_reserve_source"]
    cpu = out["memory"]["devices"][-1]
    assert cpu["capacity_bytes"] == 24 * GIB


def test_plan_text_states_reserve_and_source() -> None:
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX)
    assert r.exit_code == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "less 4.00 GiB kept for the OS (desktop OS: Windows 11's 4 GB minimum RAM)" in text


def test_bad_reserve_option_is_one_line() -> None:
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX, "--reserve-ram", "plenty")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "--reserve-ram" in r.stderr


def test_recommend_json_has_the_reserve_and_leaves_the_os_its_ram() -> None:
    r = run_cli("recommend", "--on", BOX, "--limit", "3", "--json")
    assert r.exit_code == 0, r.stderr
    out = checked_json(r.stdout, "rigfit.recommend/1")
    assert out["ram_reserve_bytes"] == 4 * GIB and "Windows 11" in out["ram_reserve_source"]
    for pick in out["picks"]:  # nothing counts on the OS's 4 GiB: RAM used ≤ 32 − 4 GiB
        assert pick["ram_bytes"] <= 28 * GIB


def test_hardware_view_shows_the_reserve() -> None:
    r = run_cli("hardware", "Raspberry Pi 5 8GB", "--json")
    assert r.exit_code == 0, r.stderr
    host = checked_json(r.stdout, "rigfit.hardware/1")["machine"]["host"]
    assert host["ram_reserve_bytes"] == 1 * GIB and "single-board" in host["ram_reserve_source"]


def test_saved_machine_keeps_its_reserve_and_a_given_one_wins(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    r = run_cli("machine", "save", "homebox", BOX + " (reserve 6GB)")
    assert r.exit_code == 0, r.output
    assert resolve_machine("homebox").ram_reserve_bytes == 6 * GIB
    assert resolve_machine("homebox (reserve 3GB)").ram_reserve_bytes == 3 * GIB
