"""Saved machines: a short name for a machine description, usable wherever a machine is accepted.

``rigfit machine save home "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"`` stores the
description under ``home``; ``--on home`` then means that description. Profiles live in
``$XDG_CONFIG_HOME/rigfit/machines.toml`` (platformdirs' user config folder when
``XDG_CONFIG_HOME`` is unset, as for ``hardware.toml``)::

    [machines]
    home = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
    work = "2x RTX 3090 NVLink + 128GB DDR4-3200"

A profile name is one word (letters, digits, ``-``, ``_``, ``.``); it may not be a catalog device
name or ``local``, so a name never hides hardware. A description is checked (resolved) before it is
saved. The file is written atomically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from rigfit.errors import AmbiguousNameError, RigfitError, UnknownNameError
from rigfit.hardware.devices import Machine
from rigfit.hardware.names import resolve_device
from rigfit.hardware.userrows import user_hardware_file
from rigfit.safeio import atomic_output, clean_text

PROFILES_FILE_NAME = "machines.toml"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
#: words that already mean "this computer" in a machine description
LOCAL_WORDS = ("local", "this", "here", "auto")


def profiles_file() -> Path:
    """Where saved machines live: ``machines.toml`` beside the user's ``hardware.toml``."""
    return user_hardware_file().with_name(PROFILES_FILE_NAME)


def load_profiles() -> dict[str, str]:
    """Saved machines, name -> description (empty when the file does not exist).

    Raises RigfitError (one line naming the file) when the file is not valid TOML or holds
    something other than ``name = "description"`` rows under ``[machines]``.
    """
    path = profiles_file()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RigfitError(f"Cannot read {clean_text(str(path))}: {exc.strerror or exc}.") from None
    return dict(_parse_file(str(path), (st.st_mtime_ns, st.st_size, st.st_ino)))


@lru_cache(maxsize=4)
def _parse_file(path_text: str, identity: tuple[int, int, int]) -> dict[str, str]:
    """The ``[machines]`` table of the file at ``path_text``, cached per file identity
    (modification time [ns], size [B], inode: every atomic write makes a new inode)."""
    path = Path(path_text)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RigfitError(f"Cannot read {clean_text(str(path))}: {exc.strerror or exc}.") from None
    import tomllib  # lazy: only when the user has a machines file

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RigfitError(
            f"{clean_text(str(path))} is not valid TOML: {exc}.",
            "Fix or delete the file; 'rigfit machine save' writes it.",
        ) from None
    table = data.get("machines", {})
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise RigfitError(
            f'{clean_text(str(path))}: [machines] must hold name = "description" rows.',
            "Fix or delete the file; 'rigfit machine save' writes it.",
        )
    return dict(table)


def _find(profiles: dict[str, str], name: str) -> str | None:
    """The stored key matching ``name`` case-insensitively, or None."""
    low = name.strip().lower()
    return next((k for k in profiles if k.lower() == low), None)


#: how a machine description splits into parts (as the machine grammar reads it) and what a host RAM
#: part looks like ("64GB DDR5-6000"), to amend a saved machine
_PARTS = re.compile(r"\s+\+\s+")
_RAM_PART = re.compile(r"^\s*\d+(?:\.\d+)?\s*(?:gb|gib|tb|tib)\b", re.IGNORECASE)


def expand(spec: str) -> str:
    """``spec`` itself, or the saved description when ``spec`` is a saved machine's name.

    ``NAME + PART …`` amends a saved machine: the parts are added to its description, and a host
    RAM part replaces the saved one ("home + 64GB DDR5-6000" is home with that RAM).
    """
    if not spec:
        return spec
    parts = _PARTS.split(spec.strip())
    if not _NAME_RE.match(parts[0]):
        return spec
    profiles = load_profiles()
    key = _find(profiles, parts[0])
    if key is None:
        return spec
    extra = parts[1:]
    saved = _PARTS.split(profiles[key].strip())
    if any(_RAM_PART.match(p) for p in extra):
        saved = [p for p in saved if not _RAM_PART.match(p)]
    return " + ".join(saved + extra)


def check_name(name: str) -> str:
    """Return ``name`` stripped if it can name a saved machine, else raise one RigfitError line."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise RigfitError(
            f"Machine name {clean_text(name)!r} is not one word of letters, digits, '-', '_', '.'.",
            "e.g. 'rigfit machine save home \"RTX 3060 12GB + 32GB DDR4-3200\"'.",
        )
    if name.lower() in LOCAL_WORDS:
        raise RigfitError(f"{name!r} already means this computer.", "Pick another name, e.g. 'home'.")
    try:
        dev = resolve_device(name)
    except AmbiguousNameError:
        raise RigfitError(
            f"{name!r} is already a device name in the catalog.",
            "Pick a name that is not hardware, e.g. 'home' or 'workstation'.",
        ) from None
    except (UnknownNameError, RigfitError):
        return name
    raise RigfitError(
        f"{name!r} is already a device name in the catalog ({dev.name}).",
        "Pick a name that is not hardware, e.g. 'home' or 'workstation'.",
    )


def _write(profiles: dict[str, str]) -> Path:
    """Write all profiles to :func:`profiles_file` atomically; return the path."""
    path = profiles_file()
    lines = [
        "# rigfit saved machines: 'rigfit machine save NAME DESCRIPTION' writes this file.",
        "[machines]",
    ]
    lines += [f"{name} = {json.dumps(desc)}" for name, desc in sorted(profiles.items())]
    with atomic_output(path, "w", force=True, encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def save_profile(name: str, description: str, resolve: Callable[[str], Machine]) -> tuple[str, bool]:
    """Save ``description`` under ``name``; return (the resolved machine's name, replaced?).

    The description is resolved first with ``resolve`` (the machine grammar's ``resolve_machine``,
    passed in because the grammar itself reads saved names): a description that does not resolve is
    not saved (its RigfitError propagates). A saved machine's name as the description copies its description.
    """
    name = check_name(name)
    desc = expand(" ".join(description.split()))
    machine = resolve(desc)
    profiles = load_profiles()
    old = _find(profiles, name)
    if old is not None:
        del profiles[old]
    profiles[name] = desc
    _write(profiles)
    return machine.name, old is not None


def remove_profile(name: str) -> None:
    """Delete the saved machine ``name``; RigfitError when there is none by that name."""
    profiles = load_profiles()
    key = _find(profiles, name)
    if key is None:
        known = ", ".join(sorted(profiles)) or "none saved yet"
        raise RigfitError(f"No saved machine named {clean_text(name)!r}.", f"Saved machines: {known}.")
    del profiles[key]
    _write(profiles)
