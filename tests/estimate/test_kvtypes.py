"""KV cache types (bytes, FA rule, published quality, table) and rope-scaling advice."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import resolve_model
from rigfit.catalog.quant import KV_TYPES
from rigfit.commands import commands_for
from rigfit.errors import RigfitError
from rigfit.estimate.kvtypes import check_kv_types, kv_quality, kv_type_rows, rope_scaling_advice
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import NoteCode, PlanSettings, note_code

BOX = "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000"


def test_every_llamacpp_cache_type_is_known():
    assert {k.name for k in KV_TYPES} == {
        "f32",
        "f16",
        "bf16",
        "q8_0",
        "q4_0",
        "q4_1",
        "iq4_nl",
        "q5_0",
        "q5_1",
    }
    # bytes per value from the GGML block layout: q8_0 34 B / 32, q4_0 18 B / 32, q5_1 24 B / 32
    b = {k.name: k.bytes_per_element for k in KV_TYPES}
    assert (b["q8_0"], b["q4_0"], b["q5_1"], b["iq4_nl"]) == (34 / 32, 18 / 32, 24 / 32, 18 / 32)


def test_quantized_v_needs_flash_attention():
    assert check_kv_types("Q8_0", "f16", "off") == ("q8_0", "f16")  # a quantized K alone is fine
    assert check_kv_types("q4_0", "iq4_nl", "auto") == ("q4_0", "iq4_nl")
    with pytest.raises(RigfitError, match="flash attention"):
        check_kv_types("f16", "q4_0", "off")


def test_published_quality_has_a_source():
    q = kv_quality("q8_0", "q8_0")
    assert q is not None and q.kld == pytest.approx(0.00098) and q.source.startswith("https://github.com/")
    assert kv_quality("f16", "q8_0").kld < kv_quality("f16", "q5_1").kld
    assert kv_quality("q4_0", "q4_0") is None  # nothing published: unknown, not guessed


def test_kv_table_bytes_scale_with_the_block_size():
    spec = catalog_model_spec(resolve_model("llama-3.1-8b"), "Q4_K_M")
    p = make_plan(spec, resolve_machine(BOX), PlanSettings(n_ctx=32768))
    rows = {r.kv_type: r for r in kv_type_rows(p)}
    assert set(rows) == {k.name for k in KV_TYPES}
    f16 = rows["f16"].kv_bytes
    assert f16 == 32768 * 32 * 2 * 1024 * 2  # cells × layers × (K+V) × 8 heads·128 × 2 B
    assert rows["q8_0"].kv_bytes == f16 * 34 // 64
    assert rows["q4_0"].kv_bytes == f16 * 18 // 64
    # fewer bytes to read: decode at depth is faster, and slows down less with depth
    assert rows["q4_0"].decode_tps_ctx.value > rows["f16"].decode_tps_ctx.value
    assert rows["q4_0"].slowdown < rows["f16"].slowdown < rows["f32"].slowdown
    assert rows["q8_0"].needs_fa and not rows["f16"].needs_fa


def test_k_and_v_types_may_differ():
    spec = catalog_model_spec(resolve_model("llama-3.1-8b"), "Q4_K_M")
    m = resolve_machine(BOX)
    mixed = make_plan(spec, m, PlanSettings(n_ctx=8192, kv_type_k="q8_0", kv_type_v="q4_0"))
    same = make_plan(spec, m, PlanSettings(n_ctx=8192, kv_type_k="q8_0", kv_type_v="q8_0"))
    kv = lambda p: sum(d.kv_bytes for d in p.devices)  # noqa: E731
    half = 8192 * 32 * 1024  # K (or V) values
    assert kv(mixed) == half * 34 // 32 + half * 18 // 32
    assert kv(same) - kv(mixed) == half * 16 // 32
    assert "-ctk q8_0 -ctv q4_0" in mixed.commands["llama_server_line"]


def test_yarn_advice_for_a_model_whose_card_supports_it():
    arch = resolve_model("qwen2.5-7b")
    assert rope_scaling_advice(arch, 32768) is None
    a = rope_scaling_advice(arch, 65536)
    assert a.supported and a.factor == 2 and a.orig_ctx == 32768
    assert a.llama_flags == "--rope-scaling yarn --rope-scale 2 --yarn-orig-ctx 32768"
    assert "huggingface.co/Qwen" in a.source
    far = rope_scaling_advice(arch, 262144)  # beyond the card's 4×: capped, and said so
    assert far.factor == 4 and "at most" in far.text()


def test_unknown_quality_beyond_training_without_yarn():
    arch = resolve_model("llama-3.1-8b")
    a = rope_scaling_advice(arch, arch.n_ctx_train * 2)
    assert a is not None and not a.supported and a.llama_flags is None
    assert "unknown" in a.text()


def test_plan_prints_the_rope_flags():
    spec = catalog_model_spec(resolve_model("qwen2.5-7b"), "Q4_K_M")
    p = make_plan(spec, resolve_machine("H100 + 128GB"), PlanSettings(n_ctx=65536), with_speed=False)
    line = commands_for(p)["llama_server_line"]
    assert line.endswith("--rope-scaling yarn --rope-scale 2 --yarn-orig-ctx 32768")
    assert any(note_code(n) is NoteCode.BEYOND_TRAINING_CTX and "YaRN" in n for n in p.notes)
    # four slots of 16K each stay within the native context: no rope scaling
    p4 = make_plan(
        spec, resolve_machine("H100 + 128GB"), PlanSettings(n_ctx=65536, n_parallel=4), with_speed=False
    )
    assert "--rope-scaling" not in commands_for(p4)["llama_server_line"]
