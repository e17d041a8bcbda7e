"""The cyclic garbage collector around recommend (issue 15): off for a whole ``rigfit recommend``
process, restored for in-process callers; the library call (also run by ``rigfit serve``) pauses it
for the ladder and restores it."""

from __future__ import annotations

import gc

import pytest

from rigfit import recommend as recommend_module
from rigfit.catalog.models import get_model
from rigfit.cli import _gc_off_for, main
from rigfit.gcpause import collector_paused
from rigfit.hardware.grammar import resolve_machine
from rigfit.recommend import recommend


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


def test_library_recommend_pauses_and_restores_the_collector() -> None:
    """In-process (``rigfit serve``): the collector is off during the ladder and on after, the
    ladder's survivors frozen; a second ladder unfreezes them first; a collector that was off
    stays off and nothing is frozen then."""
    box = resolve_machine("RTX 3060 12GB + 32GB DDR4-3200")
    models = [get_model("llama-3.1-8b"), get_model("qwen3-8b")]
    gc.enable()
    gc.unfreeze()
    seen: list[bool] = []
    real = recommend_module._recommend

    def spy(*args: object) -> object:
        seen.append(gc.isenabled())
        seen.append(gc.get_freeze_count() == 0)
        return real(*args)  # type: ignore[arg-type]

    recommend_module._recommend = spy  # type: ignore[assignment]
    try:
        rec = recommend(box, "chat", models=models, limit=2)
        assert rec.picks and gc.isenabled() and gc.get_freeze_count() > 0
        recommend(box, "chat", models=models, limit=2)
    finally:
        recommend_module._recommend = real  # type: ignore[assignment]
    assert seen == [False, True, False, True]  # off inside, and the last ladder's objects unfrozen
    gc.unfreeze()
    gc.disable()
    recommend(box, "chat", models=models, limit=2)
    assert not gc.isenabled() and gc.get_freeze_count() == 0


def test_concurrent_pauses_share_one() -> None:
    """Two overlapping pauses (two serve threads): the collector comes back on only when both end."""
    gc.enable()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.unfreeze()
