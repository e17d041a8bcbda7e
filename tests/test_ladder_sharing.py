"""The warm recommend ladder's sharing changes no figure (issue 15):

* device rows shared between machines with the same GPU names (rigfit.plan._DEVICE_ROWS): each
  machine's rows equal those worked out afresh for it, capacities included;
* screening plans (rigfit.plan_screening): the same plan as outside screening, and the decode
  figure the MoE offload choice keeps is the one the ranking would work out;
* hashes kept per instance (rigfit.hashcache): the generated hash, out of pickles and copies.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import asdict, replace

import pytest

from rigfit import plan as plan_mod
from rigfit import recommend as rec
from rigfit.catalog.models import get_model
from rigfit.estimate import memory as mem
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plan_screening import screening
from rigfit.plan_speed import decode_at_context
from rigfit.plantypes import PlanSettings, Verdict

#: one CUDA GPU each (the same GPU names: rows are shared), then a unified-memory Mac
SAME_NAMES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "RTX 4090 + 24GB DDR5-6000",
    "RTX 4060 Ti 16GB + 64GB DDR5-5600",
)
MODELS = (("llama-3.1-8b", "Q4_K_M"), ("qwen3-30b-a3b", "Q4_K_M"), ("gpt-oss-20b", "MXFP4"))


@pytest.mark.parametrize(("model_id", "quant"), MODELS)
def test_shared_rows_equal_rows_worked_out_for_each_machine(model_id: str, quant: str) -> None:
    spec = rec._spec(model_id, quant)
    settings, profile = PlanSettings(n_ctx=8192), mem.build_profile(None)
    n = spec.arch.n_layer
    shared = 0
    for name in (*SAME_NAMES, "M2 Max 64GB"):
        box = resolve_machine(name)
        for ngl in (None, 0, n // 2):
            before = len(plan_mod._DEVICE_ROWS._entries)
            _, got = plan_mod.device_memory(spec, box, settings, 8192, ngl, profile)
            shared += len(plan_mod._DEVICE_ROWS._entries) == before  # a kept row set was used
            accels = plan_mod.accelerators_for_llamacpp(box)
            pl = plan_mod.place(spec, box, ngl=ngl)
            fresh = plan_mod._device_rows(spec, box, settings, 8192, pl, profile, accels)
            assert [asdict(d) for d in got] == [asdict(d) for d in fresh], (name, ngl)
    assert shared >= 6  # the other single-GPU machines used the first one's rows


CANDIDATES = (
    ("qwen3-30b-a3b", "Q4_K_M", "RTX 4060 Ti 16GB + 32GB DDR5-5600"),  # experts in RAM
    ("gpt-oss-120b", "MXFP4", "RTX 4090 + 64GB DDR5-6000"),
    ("glm-4.5-air", "Q4_K_M", "2x RTX 3090 + 128GB DDR4-3200"),
    ("mixtral-8x7b", "Q4_K_M", "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"),
    ("llama-3.1-8b", "Q4_K_M", "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"),  # fits
)


@pytest.mark.parametrize(("model_id", "quant", "machine"), CANDIDATES)
def test_screening_plan_is_the_plan(model_id: str, quant: str, machine: str) -> None:
    try:
        spec = rec._spec(model_id, quant)
    except Exception:  # a model the catalog lacks at this quant: nothing to compare
        pytest.skip(f"{model_id} {quant} not in the catalog")
    box = resolve_machine(machine)
    settings = PlanSettings(n_ctx=8192, prompt_tokens=2048)
    full = make_plan(spec, box, settings, with_speed=False)
    with screening() as seen:
        quick = make_plan(spec, box, settings, with_speed=False)
    for field in ("fit", "ngl", "n_ctx", "experts_in_ram", "offload", "placement"):
        assert getattr(quick, field) == getattr(full, field), field
    assert quick.settings == full.settings
    assert [asdict(d) for d in quick.devices] == [asdict(d) for d in full.devices]
    assert not quick.commands and quick.alternative is None
    kept = seen.decode_at_context(quick)
    if kept is not None:  # the MoE choice's figure: the ranking's own, to the last bit
        assert quick.experts_in_ram > 0
        assert kept == decode_at_context(quick) == decode_at_context(full)
    if full.alternative is not None and full.experts_in_ram and quick.fit is not Verdict.NO:
        assert kept is not None  # the choice compared speeds: it kept the figure


def test_cached_hash_is_the_generated_hash() -> None:
    box = resolve_machine(SAME_NAMES[0])
    arch = get_model("llama-3.1-8b")
    s = PlanSettings(n_ctx=8192)
    for obj in (box, arch, s, mem.build_profile(None), s.llama(8192)):
        h = hash(obj)
        assert hash(obj) == h and hash(copy.deepcopy(obj)) == h
        back = pickle.loads(pickle.dumps(obj))
        assert back == obj and "_cached_hash" not in back.__dict__ and hash(back) == h
    other = replace(s, n_ctx=4096)
    assert other != s and hash(other) == hash(PlanSettings(n_ctx=4096))
