"""The speed-ups of issue 15 change no figure: plans and recommendations made through the caches
(rigfit.estimate.tablecache, rigfit.plan_reuse, recommend's weights pre-filter) equal those made
without them."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from rigfit.catalog.models import get_model
from rigfit.estimate import placement as placement_mod
from rigfit.estimate import speculative as spec_mod
from rigfit.estimate import tablecache
from rigfit.estimate.speed import work as work_mod
from rigfit.estimate.tensors import catalog_model_spec, catalog_weights_bytes
from rigfit.hardware.grammar import resolve_machine
from rigfit.jsonout import to_json_text
from rigfit.plan import make_plan
from rigfit.plan_reuse import finish_with_speed
from rigfit.plantypes import PlanSettings, Verdict
from rigfit.recommend import recommend

GPU_BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
TWO_GPUS = "2x RTX 3090 + 128GB DDR4-3200"
CPU_BOX = "Ryzen 7 5800X + 32GB DDR4-3200"
#: dense, dense too big for the GPU (layer offload), MoE (experts in RAM), MTP block, hybrid SSM,
#: sliding-window attention
CASES = [
    ("llama-3.1-8b", "Q4_K_M", GPU_BOX),
    ("llama-3.1-70b", "Q4_K_M", GPU_BOX),
    ("qwen3-30b-a3b", "Q4_K_M", GPU_BOX),
    ("glm-4.5-air", "Q4_K_M", TWO_GPUS),
    ("granite-4.0-h-small", "Q8_0", GPU_BOX),
    ("gemma-2-2b", "Q4_K_M", CPU_BOX),
    ("qwen2.5-14b", "Q8_0", TWO_GPUS),
]


def _uncached_spec(model_id: str, quant: str):
    """The spec with a fresh architecture object and a list (not a tuple) as its tensor table:
    no identity cache can answer for it."""
    spec = catalog_model_spec(get_model(model_id), quant)
    return replace(spec, arch=replace(spec.arch), tensors=list(spec.tensors))


def _plan_figures(plan) -> str:
    """Everything a plan says, placement included (tensor order kept)."""
    pl = plan.placement
    return to_json_text(
        {
            "plan": json.loads(to_json_text(plan)),
            "placement": {k: v for k, v in asdict(pl).items() if k != "tensor_device"},
            "tensor_device": list(pl.tensor_device.items()),
            "speed": json.loads(to_json_text(plan.speed)) if plan.speed is not None else plan.speed_reason,
        }
    )


@pytest.mark.parametrize(("model_id", "quant", "machine"), CASES)
def test_cached_plan_equals_uncached_plan(model_id: str, quant: str, machine: str) -> None:
    box = resolve_machine(machine)
    settings = PlanSettings(n_ctx=8192)
    cached = [make_plan(catalog_model_spec(get_model(model_id), quant), box, settings) for _ in range(2)]
    uncached = make_plan(_uncached_spec(model_id, quant), box, settings)
    assert _plan_figures(cached[0]) == _plan_figures(cached[1]) == _plan_figures(uncached)
    assert cached[0].devices and cached[0].placement.tensor_device


@pytest.mark.parametrize(("model_id", "quant", "machine"), CASES)
def test_speed_added_to_the_memory_plan_equals_a_full_plan(model_id: str, quant: str, machine: str) -> None:
    box = resolve_machine(machine)
    spec = catalog_model_spec(get_model(model_id), quant)
    for settings in (PlanSettings(n_ctx=4096), PlanSettings(n_ctx=16384, users=4, n_parallel=4)):
        memory_only = make_plan(spec, box, settings, with_speed=False)
        assert memory_only.speed is None
        finished = finish_with_speed(memory_only, spec, box, settings)
        full = make_plan(spec, box, settings)
        assert _plan_figures(finished) == _plan_figures(full)
        if full.fit is not Verdict.NO:
            assert finished.speed is not None or finished.speed_reason


@pytest.mark.parametrize(("model_id", "quant", "machine"), CASES)
def test_weights_prefilter_equals_the_spec_sum(model_id: str, quant: str, machine: str) -> None:
    arch = get_model(model_id)
    assert catalog_weights_bytes(arch, quant) == catalog_model_spec(arch, quant).weights_bytes > 0


def test_recommend_warm_equals_cold_and_a_short_table_keeps_its_rows() -> None:
    box = resolve_machine(GPU_BOX)
    models = [get_model(m) for m, _, _ in CASES] + [get_model("qwen2.5-7b"), get_model("llama-3.2-3b")]
    first = json.loads(to_json_text(recommend(box, "chat", models=models, limit=None)))
    for cache in (
        placement_mod._RUNS,
        spec_mod._TRUNK_TENSORS,
        spec_mod._TRUNK_REFS,
        work_mod._MODEL_WORK,
        tablecache._CONTEXT_BUFFERS,
        tablecache._STAGE_BYTES,
    ):
        cache.clear()
    again = json.loads(to_json_text(recommend(box, "chat", models=models, limit=None)))
    assert first == again
    assert len(first["picks"]) >= 3
    short = json.loads(to_json_text(recommend(box, "chat", models=models, limit=2)))
    by_model = {(p["model"], p["quant"]): p for p in first["picks"]}
    assert short["picks"]
    for row in short["picks"]:  # context search and "why" for the shown rows: the same figures
        assert row == by_model[(row["model"], row["quant"])]


def _experts_in_ram_reference(model, pl) -> int:
    """The per-tensor count plan.py made before runs (kept here as the reference)."""
    return len(
        {
            t.layer
            for t in model.tensors
            if t.layer is not None
            and t.layer < len(pl.layer_device)
            and pl.layer_device[t.layer] != placement_mod.CPU
            and pl.tensor_device.get(t.name) == placement_mod.CPU
            and placement_mod.is_expert_tensor(t.name)
        }
    )


@pytest.mark.parametrize("model_id", ["qwen3-30b-a3b", "glm-4.5-air", "llama-3.1-8b"])
@pytest.mark.parametrize("n_cpu_moe", [0, 1, 7, 200])
def test_experts_in_ram_by_runs_equals_the_per_tensor_count(model_id: str, n_cpu_moe: int) -> None:
    spec = catalog_model_spec(get_model(model_id), "Q4_K_M")
    box = resolve_machine(TWO_GPUS)
    trunk = spec_mod.trunk_model(spec)
    for ngl in (None, 10):
        pl = placement_mod.place(trunk, box, ngl=ngl, n_cpu_moe=n_cpu_moe)
        want = _experts_in_ram_reference(spec, pl)
        assert placement_mod.experts_in_ram_layers(spec, pl) == want
        if spec.arch.moe is not None and n_cpu_moe >= 7 and ngl is None:  # (GLM: layer 0 is dense)
            assert want > 0


class _Key:
    """Equal to every other _Key, hashable: only identity tells two apart."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key)

    def __hash__(self) -> int:
        return 0


def test_identity_cache_answers_per_object_and_drops_the_oldest() -> None:
    cache: tablecache.IdentityCache[int] = tablecache.IdentityCache(2)
    a, b, c = _Key(), _Key(), _Key()
    calls: list[str] = []

    def build(tag: str, value: int):
        return lambda: calls.append(tag) or value

    assert cache.get(a, "k", build("a", 1)) == 1
    assert cache.get(b, "k", build("b", 2)) == 2  # an equal object is not the same object
    assert cache.get(a, "k", build("a again", 9)) == 1
    assert cache.get(a, "other key", build("a other", 3)) == 3  # evicts b (least recently used)
    assert cache.get(b, "k", build("b again", 4)) == 4
    assert cache.get(c, "k", build("c", 5)) == 5
    assert calls == ["a", "b", "a other", "b again", "c"]


def test_identity_cache_keeps_recently_used_entries_and_bounds_itself() -> None:
    cache: tablecache.IdentityCache[int] = tablecache.IdentityCache(3)
    objs = [_Key() for _ in range(6)]
    for i, o in enumerate(objs[:3]):
        cache.get(o, None, lambda i=i: i)
    assert cache.get(objs[0], None, lambda: -1) == 0  # a hit marks objs[0] as used
    for i, o in enumerate(objs[3:5], start=3):
        cache.get(o, None, lambda i=i: i)  # evict objs[1] and objs[2], not the used objs[0]
    assert len(cache._entries) == 3
    assert cache.get(objs[0], None, lambda: -1) == 0
    assert cache.get(objs[1], None, lambda: -1) == -1


def test_identity_cache_is_consistent_under_threads() -> None:
    """Lock-free hits against concurrent inserts and evictions (``rigfit serve`` plans from
    several threads): every answer is the value built for that object, and the size stays bounded."""
    import sys
    import threading

    cache: tablecache.IdentityCache[tuple[int, int]] = tablecache.IdentityCache(64)
    objs = [_Key() for _ in range(200)]
    errors: list[str] = []
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible

    def worker(seed: int) -> None:
        for n in range(20_000):
            i = (n * 7919 + seed * 104729) % len(objs)
            key = n % 3
            got = cache.get(objs[i], key, lambda i=i, key=key: (i, key))
            if got != (i, key):
                errors.append(f"{got} for {(i, key)}")
            if n % 1000 == 0 and len(cache._entries) > cache.maxsize + 1:  # (+1: mid-insert)
                errors.append(f"size {len(cache._entries)}")

    try:
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert errors == []
    assert len(cache._entries) <= cache.maxsize


@pytest.mark.parametrize(("model_id", "quant", "machine"), CASES[:4])
def test_kept_device_memory_is_a_fresh_copy_each_time(model_id: str, quant: str, machine: str) -> None:
    """device_memory keeps its answers (rigfit.plan._DEVICE_MEMORY): each caller gets rows of its
    own (the planner grades and changes them), equal to those worked out afresh."""
    from rigfit import plan as plan_mod
    from rigfit.estimate import memory as mem

    box = resolve_machine(machine)
    spec = catalog_model_spec(get_model(model_id), quant)
    settings, profile = PlanSettings(n_ctx=8192), mem.build_profile(None)
    for ngl in (None, 0, spec.arch.n_layer // 2):
        pl, first = plan_mod.device_memory(spec, box, settings, 8192, ngl, profile)
        want = [asdict(d) for d in plan_mod._device_memory(spec, box, settings, 8192, ngl, profile)[1]]
        assert [asdict(d) for d in first] == want
        for d in first:  # what a caller may do to its rows
            d.fit, d.weights_bytes = Verdict.NO, -1
        pl2, again = plan_mod.device_memory(spec, box, settings, 8192, ngl, profile)
        assert pl2 is pl and [asdict(d) for d in again] == want
