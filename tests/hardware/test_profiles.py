"""Saved machines (rigfit.hardware.profiles, ``rigfit machine save|list|remove``, ``--on NAME``)."""

from __future__ import annotations

import tomllib

import pytest

from rigfit.cli import main
from rigfit.errors import RigfitError
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.profiles import (
    expand,
    load_profiles,
    profiles_file,
    remove_profile,
    save_profile,
)

HOME = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_profiles_file_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert profiles_file() == tmp_path / "rigfit" / "machines.toml"


def test_save_then_resolve_by_name():
    name, replaced = save_profile("home", HOME, resolve_machine)
    assert not replaced and "RTX 3060 12 GB" in name
    data = tomllib.loads(profiles_file().read_text())
    assert data == {"machines": {"home": HOME}}
    m = resolve_machine("home")
    assert m == resolve_machine(HOME)
    assert resolve_machine("HOME ") == m  # names match case-insensitively
    assert expand("work") == "work" and expand(HOME) == HOME


def test_save_replaces_and_remove_deletes():
    save_profile("box", "RTX 4090", resolve_machine)
    _, replaced = save_profile("Box", "2x RTX 3090 + 64GB DDR4-3200", resolve_machine)
    assert replaced and load_profiles() == {"Box": "2x RTX 3090 + 64GB DDR4-3200"}
    assert resolve_machine("box").n_accelerators == 2
    remove_profile("BOX")
    assert load_profiles() == {}
    with pytest.raises(RigfitError, match="No saved machine named 'box'"):
        remove_profile("box")


def test_save_copies_a_saved_name_as_description():
    save_profile("home", HOME, resolve_machine)
    save_profile("copy", "home", resolve_machine)
    assert load_profiles()["copy"] == HOME


@pytest.mark.parametrize(
    "name, match",
    [
        ("4090", "already a device name in the catalog"),
        ("3090", "already a device name in the catalog"),
        ("H100", "already a device name"),
        ("local", "already means this computer"),
        ("auto", "already means this computer"),
        ("my box", "not one word"),
        ("home+gpu", "not one word"),
        ("", "not one word"),
    ],
)
def test_bad_names_refused(name, match):
    with pytest.raises(RigfitError, match=match):
        save_profile(name, "RTX 4090", resolve_machine)
    assert not profiles_file().exists()


def test_description_is_checked_before_saving():
    with pytest.raises(RigfitError, match="Unknown hardware"):
        save_profile("home", "RTX 9999", resolve_machine)
    assert not profiles_file().exists()


def test_bad_file_is_one_error_line():
    profiles_file().parent.mkdir(parents=True, exist_ok=True)
    profiles_file().write_text("[machines]\nhome = 3\n")
    with pytest.raises(RigfitError, match="must hold name"):
        resolve_machine("home")
    profiles_file().write_text("not toml [")
    with pytest.raises(RigfitError, match="not valid TOML"):
        load_profiles()
    assert resolve_machine("RTX 4090").n_accelerators == 1  # device names never read the file


def test_machine_cli_save_list_remove_and_on(capsys):
    code, out, _ = cli(capsys, "machine", "save", "home", HOME)
    assert code == 0 and "saved machine home" in out
    code, out, _ = cli(capsys, "machine", "list")
    assert code == 0 and "home" in out and HOME in out
    code, out, _ = cli(capsys, "machine", "list", "--json")
    assert '"description": "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"' in out
    code, out, _ = cli(capsys, "plan", "llama-3.1-8b", "--on", "home")
    assert code == 0 and "RTX 3060 12 GB" in out
    code, _, err = cli(capsys, "machine", "save", "4090", "RTX 4090")
    assert code == 2 and "already a device name" in err and "Traceback" not in err
    code, out, _ = cli(capsys, "machine", "remove", "home")
    assert code == 0 and "removed" in out
    code, _, err = cli(capsys, "plan", "llama-3.1-8b", "--on", "home")
    assert code == 2 and "home" in err


def test_hand_edits_of_the_file_are_seen():
    save_profile("home", "RTX 4090", resolve_machine)
    assert resolve_machine("home").accelerators[0].name == "GeForce RTX 4090"
    profiles_file().write_text('[machines]\nhome = "2x RTX 3090"\n')
    assert resolve_machine("home").n_accelerators == 2


def test_a_saved_machine_is_amended_by_the_parts_after_it():
    save_profile("home", HOME, resolve_machine)
    m = resolve_machine("home + 64GB DDR4-3600")
    assert m.ram_bytes == 64 * 1024**3  # the given RAM replaces the saved 32GB
    assert m.cpu is not None and "5800X" in m.cpu.name
    assert [d.name for d in m.accelerators] == [d.name for d in resolve_machine(HOME).accelerators]
    two = resolve_machine("home + RTX 3090")
    assert len(two.accelerators) == 2 and two.ram_bytes == resolve_machine(HOME).ram_bytes
