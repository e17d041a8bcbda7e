"""The cyclic garbage collector around recommend (issue 15): off for a whole ``rigfit recommend``
process, restored for in-process callers; the library call (also run by ``rigfit serve``, a
long-lived process) leaves it alone."""

from __future__ import annotations

import gc

import pytest

from rigfit.catalog.models import get_model
from rigfit.cli import _gc_off_for, main
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


def test_library_recommend_leaves_the_collector_alone() -> None:
    """No pause and no ``gc.freeze`` in the library: in a server both are process-wide, and a
    freeze would keep every object alive then (the server's too) out of the collector's passes."""
    box = resolve_machine("RTX 3060 12GB + 32GB DDR4-3200")
    models = [get_model("llama-3.1-8b"), get_model("qwen3-8b")]
    gc.enable()
    gc.unfreeze()
    rec = recommend(box, "chat", models=models, limit=2)
    assert rec.picks and gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    recommend(box, "chat", models=models, limit=2)
    assert not gc.isenabled()
