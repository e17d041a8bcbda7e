"""Compute buffers from per-layer stage terms (rigfit.estimate.tablecache.StageTerms) equal
llama.cpp's allocation model itself (rigfit.estimate.memory.compute_stage_bytes) for every layer
set, settings and build profile: the terms only move the per-layer work out of the layer-set loop."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import get_model, load_models
from rigfit.estimate import memory as mem
from rigfit.estimate import tablecache as tc


def _one_per_family() -> list[str]:
    """The first catalog model of every llama.cpp architecture the catalog has."""
    seen: dict[str, str] = {}
    for arch in load_models():
        seen.setdefault(arch.arch, arch.id)
    return sorted(seen.values())


MODELS = _one_per_family()
SETTINGS = [
    mem.LlamaSettings(n_ctx=8192),
    mem.LlamaSettings(n_ctx=4096, flash_attn="off", type_k="q8_0", type_v="q8_0", n_parallel=2),
    mem.LlamaSettings(n_ctx=65536, flash_attn="on", type_k="q4_0", type_v="q4_0"),
]


@pytest.mark.parametrize("model", MODELS)
def test_terms_equal_the_model(model: str) -> None:
    arch = get_model(model)
    n = arch.n_layer
    sets = [list(range(n)), list(range(n // 2)), list(range(n // 2, n)), [], [0], [n - 1], [1, 3, n - 2]]
    checked = 0
    for profile in mem.PROFILES.values():
        for ls in SETTINGS:
            tc._STAGE_TERMS.clear()
            for layers in sets:
                for out in (False, True):
                    want = mem.compute_stage_bytes(arch, ls, layers, out, profile)
                    got = tc._stage_bytes(arch, ls, layers, out, profile)
                    assert (got, type(got)) == (want, type(want)), (profile.name, ls, layers, out)
                    checked += 1
    assert len(MODELS) >= 30  # every family: SWA, MLA, DSA, MoE, recurrent and hybrid layers
    assert checked == len(mem.PROFILES) * len(SETTINGS) * len(sets) * 2


def test_layers_outside_the_trunk_use_the_model() -> None:
    arch = get_model("llama-3.1-8b")
    ls, p = mem.LlamaSettings(n_ctx=8192), mem.build_profile()
    layers = [arch.n_layer]  # an MTP layer past the trunk: no terms, the model itself
    assert tc._stage_bytes(arch, ls, layers, False, p) == mem.compute_stage_bytes(arch, ls, layers, False, p)
