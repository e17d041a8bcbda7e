"""Concurrency: batched decode physics, max users, llama.cpp / vLLM memory limits, options."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import resolve_model
from rigfit.errors import RigfitError
from rigfit.estimate.concurrency import (
    batched_decode,
    batched_tps,
    check_users,
    concurrency,
    max_users_for_memory,
)
from rigfit.estimate.predict import resolve_hardware, resolve_work
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import PlanSettings

BOX = "RTX 3090 + Ryzen 9 5950X + 64GB DDR4-3200"


@pytest.fixture(scope="module")
def plan8b():
    spec = catalog_model_spec(resolve_model("llama-3.1-8b"), "Q4_K_M")
    return make_plan(spec, resolve_machine(BOX), PlanSettings(n_ctx=32768, n_parallel=8), with_speed=False)


def test_weights_are_read_once_per_step(plan8b):
    """Short requests on a GPU: the weight read dominates, so 2 users get almost twice the tokens."""
    one = batched_decode(plan8b, users=1, prompt_tokens=128, output_tokens=128)
    two = batched_decode(plan8b, users=2, prompt_tokens=128, output_tokens=128)
    assert one.limit == "weights"
    assert 1.8 < two.aggregate_tps.value / one.aggregate_tps.value <= 2.0
    assert two.per_user_tps.value <= one.per_user_tps.value


def test_long_contexts_make_kv_reads_the_limit(plan8b):
    """At 16K tokens per user, 8 users read 8 caches: per-user speed falls well below one user's."""
    one = batched_decode(plan8b, users=1, prompt_tokens=16000, output_tokens=256)
    eight = batched_decode(plan8b, users=8, prompt_tokens=16000, output_tokens=256)
    assert eight.limit == "kv"
    assert eight.per_user_tps.value < 0.6 * one.per_user_tps.value
    assert eight.aggregate_tps.value > one.aggregate_tps.value


def test_figures_are_labelled_with_bands(plan8b):
    b = batched_decode(plan8b, users=4, prompt_tokens=512, output_tokens=256)
    for f in (b.per_user_tps, b.aggregate_tps, b.ttft_s, b.ttft_burst_s):
        assert f.provenance == "estimated" and f.source
        assert f.low <= f.value <= f.high
    assert b.aggregate_tps.value == pytest.approx(4 * b.per_user_tps.value)
    # the last of 4 prompts sent at once waits for all 4 prefills
    assert b.ttft_burst_s.value > b.ttft_s.value


def test_max_users_keeps_the_floor(plan8b):
    c = concurrency(plan8b, users=4, prompt_tokens=512, output_tokens=256, min_tps=40.0)
    n = c.max_users_speed
    assert n is not None and n >= 1
    at_n = batched_decode(plan8b, users=n, prompt_tokens=512, output_tokens=256)
    assert at_n.per_user_tps.value >= 40.0
    if n < (c.max_users_memory or 10**9):
        above = batched_decode(plan8b, users=n + 1, prompt_tokens=512, output_tokens=256)
        assert above.per_user_tps.value < 40.0
    assert c.max_users == min(n, c.max_users_memory)
    j = c.to_json()
    assert j["at_users"]["per_user_decode_tps"]["provenance"] == "estimated"
    assert {"value", "low", "high"} <= set(j["at_users"]["aggregate_decode_tps"])


def test_memory_limit_counts_whole_requests(plan8b):
    n, how = max_users_for_memory(plan8b, 2500)
    assert n is not None and n > 8 and "-kvu" in how
    # twice as long requests: about half as many (the weights take the same space)
    n2, _ = max_users_for_memory(plan8b, 5000)
    assert n2 == pytest.approx(n / 2, abs=1)


def test_vllm_max_concurrency_is_the_kv_pool_over_the_request():
    spec = catalog_model_spec(resolve_model("llama-3.1-8b"), "Q4_K_M")
    p = make_plan(spec, resolve_machine("H100"), PlanSettings(runtime="vllm", n_ctx=8192), with_speed=False)
    n, how = max_users_for_memory(p, 2048)
    assert n == p.vllm.kv_cache_tokens // 2048
    assert "Maximum concurrency for 8,192 tokens per request" in how
    c = concurrency(p, users=16, prompt_tokens=1024, output_tokens=1024)
    assert c.engine == "vllm" and "vLLM" in c.at_users.per_user_tps.source


def test_moe_batch_reads_the_union_of_experts():
    """A MoE model's aggregate grows less than a dense model's: more tokens touch more experts."""
    m = resolve_hardware("NVIDIA GB10 (DGX Spark)", 1, "CUDA")
    moe = resolve_work("gpt-oss 20B MXFP4 MoE", "gpt-oss", 20.91, "MXFP4", 11.27)
    dense = resolve_work("qwen2 7B Q8_0", "qwen2", 7.62, "Q8_0", 7.54)
    gain = {}
    for name, w in (("moe", moe), ("dense", dense)):
        one, _, _ = batched_tps(w, m, backend="CUDA", users=1, depth=512, n_tokens=32, flash_attn=True)
        four, lo, hi = batched_tps(w, m, backend="CUDA", users=4, depth=512, n_tokens=32, flash_attn=True)
        assert lo <= four <= hi
        gain[name] = 4 * four / one
    assert gain["moe"] < gain["dense"]


def test_check_users_defaults_slots_and_context():
    users, out, floor, npar, ctx = check_users(8, 500, 20.0, 1, None, 2000)
    assert (users, out, floor, npar) == (8, 500, 20.0, 8)
    assert ctx == 20224 and ctx % 256 == 0 and ctx >= 8 * 2500
    # explicit -np and --ctx are kept
    assert check_users(8, 500, None, 4, 8192, 2000)[3:] == (4, 8192)
    # vLLM has no slots: its max_model_len and KV pool stay as they are
    assert check_users(8, 500, None, 1, None, 2000, slots=False)[3:] == (1, None)
    for bad in ((-1, 256, None), (2, 0, None), (2, 256, 0.0), (2, 256, float("nan"))):
        with pytest.raises(RigfitError):
            check_users(bad[0], bad[1], bad[2], 1, None, 512)
