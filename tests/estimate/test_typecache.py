"""The on-disk cache of predicted tensor types (rigfit.estimate.typecache): what it reads back is
what the rules compute, it is off in tests unless pointed at a folder, and a damaged or unwritable
cache changes nothing but the speed."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rigfit.catalog.models import get_model
from rigfit.catalog.quant import resolve_file_type
from rigfit.estimate import tensors, typecache

CASES = [
    ("llama-3.1-8b", "Q4_K_M"),
    ("llama-3.1-8b", "Q2_K"),
    ("qwen3-30b-a3b", "Q3_K_M"),
    ("gemma-3-27b", "Q6_K"),
    ("gpt-oss-20b", "MXFP4_MOE"),
    ("deepseek-v3", "Q4_K_M"),
]


def _fresh(model: str, quant: str) -> tuple[tuple[str, tuple[int, ...], str], ...]:
    """The types by the rules themselves, no cache of any kind."""
    ft = resolve_file_type(quant)
    return tuple(
        tensors._tensor_types(get_model(model), ft, imatrix=True, legacy_qkv=False, allow_requantize=False)
    )


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache folder, with every in-process cache forgotten before and after."""
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("RIGFIT_NO_TABLE_CACHE", raising=False)
    monkeypatch.setattr(typecache, "FIRST_TABLES", 0)  # from the first table on
    typecache.reset()
    tensors._tensor_types_cached.cache_clear()
    tensors._weights_cached.cache_clear()
    yield tmp_path
    typecache.reset()
    tensors._tensor_types_cached.cache_clear()
    tensors._weights_cached.cache_clear()


def test_read_back_equals_the_rules(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = {c: _fresh(*c) for c in CASES}
    for model, quant in CASES:  # computed and kept
        assert tuple(tensors.tensor_types(get_model(model), quant)) == fresh[model, quant]
    typecache.flush()
    assert len(list(cache_dir.glob("tensor-types-*.json"))) == 1
    # a new process: nothing in memory and the rules unavailable, so every answer comes from disk
    typecache.reset()
    tensors._tensor_types_cached.cache_clear()
    tensors._weights_cached.cache_clear()

    def no_rules(*a: object, **k: object) -> None:
        raise AssertionError("computed, not read from the cache")

    monkeypatch.setattr(tensors, "_tensor_types", no_rules)
    for (model, quant), want in fresh.items():
        assert tuple(tensors.tensor_types(get_model(model), quant)) == want
        assert tensors.catalog_weights_bytes(get_model(model), quant) == sum(
            tensors._nbytes(t, tuple(shape)) for _, shape, t in want
        )


def test_another_architecture_is_another_entry(cache_dir: Path) -> None:
    arch = get_model("llama-3.1-8b")
    ft = resolve_file_type("Q4_K_M")
    key = tensors._disk_key(arch, tensors._extra_key(arch), ft, (True, False, False))
    other = replace(arch, n_layer=arch.n_layer - 1)
    assert tensors._disk_key(other, tensors._extra_key(other), ft, (True, False, False)) != key
    assert tensors._disk_key(arch, tensors._extra_key(arch), ft, (False, False, False)) != key


def test_off_in_tests_unless_pointed_at_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIGFIT_CACHE_DIR", raising=False)
    assert not typecache.enabled()
    monkeypatch.setenv("RIGFIT_CACHE_DIR", "/nonexistent-rigfit-test")
    assert typecache.enabled()
    monkeypatch.setenv("RIGFIT_NO_TABLE_CACHE", "1")
    assert not typecache.enabled()


def test_extra_key_follows_changes_to_extra_made_in_place() -> None:
    """The key of ``extra`` is kept per architecture (issue 15) but follows any change to the dict,
    even one made in place or one that keeps equality (1 -> 1.0), as the uncached key does."""
    arch = replace(get_model("llama-3.1-8b"), extra={"a": 1, "b": [1, 2], "c": {"d": "x"}})

    def uncached() -> tuple[str, str]:
        return tensors._extra_repr(arch.extra), repr(arch)

    seen = set()
    ft = resolve_file_type("Q4_K_M")
    for change in (
        lambda e: None,
        lambda e: e["b"].append(3),  # a list changed in place
        lambda e: e["c"].update(d="y"),  # a nested dict changed in place
        lambda e: e.update(a=1.0),  # equal, not the same: repr differs
        lambda e: e.update(a=True),
        lambda e: e.pop("c"),
        lambda e: e.clear(),
    ):
        change(arch.extra)
        want = uncached()
        assert (tensors._extra_key(arch), tensors._arch_repr(arch)) == want
        assert (tensors._extra_key(arch), tensors._arch_repr(arch)) == want  # read back from the memo
        for _ in range(2):  # the disk key: as key_of gives it, renewed with extra
            assert tensors._arch_key_of(arch, repr(ft), (True, False, False)) == typecache.key_of(
                want[1], repr(ft), (True, False, False)
            )
        seen.add(want)
    assert len(seen) == 7
    assert replace(arch) == arch and "_extra_key_memo" not in replace(arch).__dict__  # not a field


def test_extra_key_of_values_marshal_refuses() -> None:
    """Values ``marshal`` cannot write (an enum) are keyed afresh every time, by ``repr``."""
    import enum

    class Kind(enum.IntEnum):
        A = 1
        B = 2

    arch = replace(get_model("llama-3.1-8b"), extra={"k": Kind.A})
    first = tensors._extra_key(arch)
    arch.extra["k"] = Kind.B
    assert tensors._extra_key(arch) == tensors._extra_repr(arch.extra) != first
    assert tensors._arch_repr(arch) == repr(arch)
    assert tensors._arch_key_of(arch, "F16", ()) == typecache.key_of(repr(arch), "F16", ())


def test_on_is_decided_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`typecache.on` reads the environment once (until reset), and is off under pytest
    without a cache folder: a later change does not turn it on for the user's folder."""
    monkeypatch.delenv("RIGFIT_CACHE_DIR", raising=False)
    monkeypatch.delenv("RIGFIT_NO_TABLE_CACHE", raising=False)
    typecache.reset()
    try:
        assert not typecache.on()
        monkeypatch.setenv("RIGFIT_CACHE_DIR", "/nonexistent-rigfit-test")
        assert not typecache.on()  # decided
        typecache.reset()
        assert typecache.on()
        monkeypatch.setenv("RIGFIT_NO_TABLE_CACHE", "1")
        typecache.reset()
        assert not typecache.on()
    finally:
        typecache.reset()


def _key(model: str, quant: str) -> str:
    arch = get_model(model)
    return tensors._disk_key(arch, tensors._extra_key(arch), resolve_file_type(quant), (True, False, False))


@pytest.mark.parametrize(
    "text",
    ["{not json", '{"entries": []}', '{"entries": {"KEY": [1, [], "zz"]}}', '{"entries": {"KEY": 5}}'],
)
def test_damaged_cache_is_ignored(cache_dir: Path, text: str) -> None:
    want = _fresh("llama-3.1-8b", "Q5_K_M")
    path = typecache._path()
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("KEY", _key("llama-3.1-8b", "Q5_K_M")), encoding="utf-8")
    assert tuple(tensors.tensor_types(get_model("llama-3.1-8b"), "Q5_K_M")) == want
    weights = sum(tensors._nbytes(t, tuple(shape)) for _, shape, t in want)
    tensors._tensor_types_cached.cache_clear()
    tensors._weights_cached.cache_clear()
    assert tensors.catalog_weights_bytes(get_model("llama-3.1-8b"), "Q5_K_M") == weights


def test_unwritable_cache_is_ignored(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = _fresh("llama-3.1-8b", "Q5_K_M")
    blocker = cache_dir / "blocker"  # a file where the folder should be: nothing can be written
    blocker.write_text("x")
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(blocker / "sub"))
    typecache.reset()
    assert tuple(tensors.tensor_types(get_model("llama-3.1-8b"), "Q5_K_M")) == want
    typecache.flush()
    assert blocker.read_text() == "x"


def test_other_versions_files_are_removed_when_stale(cache_dir: Path) -> None:
    stale, recent = cache_dir / "tensor-types-old.json", cache_dir / "tensor-types-new.json"
    for f in (stale, recent):
        f.write_text("{}")
    week_ago = time.time() - typecache.STALE_AFTER_S - 60
    os.utime(stale, (week_ago, week_ago))
    tensors.tensor_types(get_model("llama-3.1-8b"), "Q4_0")
    typecache.flush()
    assert not stale.exists() and recent.exists()
    assert typecache._path() is not None and typecache._path().exists()


def test_a_process_first_tables_leave_the_disk_alone(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rigfit plan`` types a table or two: cheaper than reading the cache file."""
    monkeypatch.setattr(typecache, "FIRST_TABLES", 8)
    typecache.reset()
    for quant in ("Q4_K_M", "Q5_K_M", "Q6_K"):
        tensors.catalog_weights_bytes(get_model("llama-3.1-8b"), quant)
        tensors.tensor_types(get_model("llama-3.1-8b"), quant)
    typecache.flush()
    assert "path" not in typecache._state and not list(cache_dir.iterdir())
