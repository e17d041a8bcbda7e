"""The decode-only shortcuts fall back to the full estimate only where the speed model cannot say.

``rigfit.plan._decode_figures`` (the MoE offload choice's two decode passes) and
``rigfit.plan_speed.decode_at_context`` (recommend's screening) once caught every exception and
fell back to the full estimate, which reports any error as "no speed": a missing argument in the
fast path (a TypeError) then looked like an unknown speed. They now fall back on the speed model's
own "cannot say" errors alone (RigfitError, and the ValueError of a device with no memory
bandwidth known); a programming error propagates.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import rigfit.plan as plan_mod
import rigfit.plan_speed as plan_speed_mod
from rigfit.errors import RigfitError
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plan_speed import NeedsFullEstimate, decode_at_context
from rigfit.plantypes import PlanSettings

BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
#: qwen3-30b-a3b at 16k on a 12 GB card: the planner compares experts in RAM with layer offload
#: by their decode speeds (tests/test_plan.py::test_moe_spill_picks_experts_in_ram)
SETTINGS = PlanSettings(n_ctx=16384)


@pytest.fixture(scope="module")
def box():
    return resolve_machine(BOX)


@pytest.fixture(scope="module")
def moe30b():
    return load_model_source("qwen3-30b-a3b", "Q4_K_M")


def _raiser(exc: Exception):
    def fast_path(*args: object, **kwargs: object) -> object:
        raise exc

    return fast_path


@pytest.mark.parametrize("exc", [TypeError("missing argument"), AttributeError("no such field")])
def test_defect_in_plan_fast_path_propagates(moe30b, box, monkeypatch, exc) -> None:
    monkeypatch.setattr(plan_mod, "estimate_decode_at_start_and_context", _raiser(exc))
    with pytest.raises(type(exc), match=str(exc)):
        make_plan(moe30b, box, SETTINGS, with_speed=False)


@pytest.mark.parametrize(
    "exc", [ValueError("no memory bandwidth known for X"), RigfitError("cannot estimate")]
)
def test_speed_model_cannot_say_falls_back_to_full_estimate(moe30b, box, monkeypatch, exc) -> None:
    want = make_plan(moe30b, box, SETTINGS, with_speed=False)
    assert want.alternative is not None and want.alternative.decode_tps is not None
    monkeypatch.setattr(plan_mod, "estimate_decode_at_start_and_context", _raiser(exc))
    got = make_plan(moe30b, box, SETTINGS, with_speed=False)
    # the full estimate gives the same decode figures: the same choice and the same note
    assert got.settings.n_cpu_moe == want.settings.n_cpu_moe > 0
    assert got.alternative == want.alternative
    assert list(got.notes) == list(want.notes)


def test_gpu_without_bandwidth_plans_with_unknown_speed(moe30b, box) -> None:
    """The real case the fallback is for: the speed model raises ValueError (no memory bandwidth
    known for the GPU); the full estimate says "no speed" and the plan still chooses experts in RAM
    (llama.cpp -fit's order without speed figures)."""
    gpu = replace(box.accelerators[0], bandwidth_bytes_per_s=None)
    m = replace(box, accelerators=(gpu,))
    with pytest.raises(ValueError, match="no memory bandwidth"):
        model, kwargs = plan_mod.speed_inputs(make_plan(moe30b, m, SETTINGS, with_speed=False))
        plan_mod.estimate_decode_at_start_and_context(model, m, **kwargs)
    p = make_plan(moe30b, m, SETTINGS)
    assert p.offload == "experts" and p.settings.n_cpu_moe > 0
    assert p.alternative is not None and p.alternative.decode_tps is None
    assert p.speed is None and "no memory bandwidth" in (p.speed_reason or "")
    assert any("an unknown speed" in n for n in p.notes)


def test_screening_fast_path(moe30b, box, monkeypatch) -> None:
    """recommend's decode-only screening: a defect propagates, "cannot say" asks for the full
    estimate."""
    p = make_plan(moe30b, resolve_machine("RTX 5090 + 64GB DDR5"), SETTINGS, with_speed=False)
    assert decode_at_context(p) is not None
    monkeypatch.setattr(plan_speed_mod, "estimate_decode_at_context", _raiser(TypeError("bug")))
    with pytest.raises(TypeError, match="bug"):
        decode_at_context(p)
    monkeypatch.setattr(plan_speed_mod, "estimate_decode_at_context", _raiser(ValueError("no bw")))
    with pytest.raises(NeedsFullEstimate):
        decode_at_context(p)
