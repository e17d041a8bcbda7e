"""The cyclic garbage collector around recommend (issue 15): off for a whole ``rigfit recommend``
process, restored for in-process callers; a ladder's objects frozen when it resumes."""

from __future__ import annotations

import gc

import pytest

from rigfit.cli import _gc_off_for, main
from rigfit.recommend import _gc_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> object:
    was_on = gc.isenabled()
    yield
    gc.unfreeze()
    if was_on:
        gc.enable()


def test_gc_off_only_for_recommend() -> None:
    gc.enable()
    assert not _gc_off_for(["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB"])
    assert gc.isenabled()
    assert not _gc_off_for([])
    assert gc.isenabled()
    assert _gc_off_for(["recommend", "--on", "RTX 3060 12GB"])
    assert not gc.isenabled()
    assert not _gc_off_for(["recommend", "--on", "RTX 3060 12GB"])  # already off: not ours to restore


def test_in_process_main_restores_the_collector() -> None:
    gc.enable()
    with pytest.raises(SystemExit) as exc:
        main(["recommend", "--on", "no such machine at all 123"])
    assert exc.value.code != 0
    assert gc.isenabled()


def test_ladder_objects_frozen_then_unfrozen_by_the_next_ladder() -> None:
    gc.enable()
    gc.unfreeze()
    with _gc_paused():
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)
    with _gc_paused():
        assert gc.get_freeze_count() == 0  # back in the oldest generation: full passes reach them
    gc.disable()
    with _gc_paused():  # the caller's collector off: left as it was, nothing frozen
        pass
    assert not gc.isenabled()
