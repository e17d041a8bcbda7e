"""llama.cpp's per-architecture rules that GGUF files do not store (SWA pattern, recurrent layers).

Each case builds header metadata directly (no file) and checks the Architecture against the rule
in llama.cpp's src/models/<arch>.cpp load_arch_hparams (llama-cpp-python 0.3.36 vendor copy).
"""

from __future__ import annotations

import pytest

from rigfit.errors import BadFileError
from rigfit.formats.gguf import GGUFFile
from rigfit.formats.gguf_arch import architecture_from_gguf


def arch_of(arch: str, n_layer: int = 8, **keys) -> object:
    meta = {
        "general.architecture": arch,
        f"{arch}.block_count": n_layer,
        f"{arch}.embedding_length": 256,
        f"{arch}.attention.head_count": 8,
        f"{arch}.context_length": 8192,
        f"{arch}.vocab_size": 1000,
        f"{arch}.feed_forward_length": 512,
    }
    for k, v in keys.items():
        meta[f"{arch}.{k.replace('__', '.')}"] = v
    meta = {k: v for k, v in meta.items() if v is not None}
    g = GGUFFile(
        path="mem.gguf",
        version=3,
        byte_order="<",
        alignment=32,
        metadata=meta,
        types={k: "u32" for k in meta},
        tensors=(),
        parts=(),
    )
    return architecture_from_gguf(g)


def full_layers(a) -> list[int]:
    return [i for i in range(a.n_layer) if not a.is_swa(i)]


def test_gemma2_alternates_with_default_window():
    a = arch_of("gemma2", 6)  # models/gemma2.cpp: n_swa = 4096 default, pattern 2
    assert a.sliding_window == 4096 and full_layers(a) == [1, 3, 5]
    assert arch_of("gemma2", 6, attention__sliding_window=2048).sliding_window == 2048


def test_gemma3_only_with_window_key():
    assert arch_of("gemma3", 12).sliding_window is None
    a = arch_of("gemma3", 12, attention__sliding_window=1024)
    assert full_layers(a) == [5, 11]


def test_stored_pattern_overrides_default():
    a = arch_of("gemma3", 8, attention__sliding_window=512, attention__sliding_window_pattern=4)
    assert full_layers(a) == [3, 7]
    arr = (True, False) * 4
    a = arch_of("gemma3", 8, attention__sliding_window=512, attention__sliding_window_pattern=arr)
    assert full_layers(a) == [1, 3, 5, 7]


def test_gpt_oss():
    a = arch_of(
        "gpt-oss",
        6,
        attention__sliding_window=128,
        expert_count=32,
        expert_used_count=4,
        expert_feed_forward_length=2880,
    )
    assert a.sliding_window == 128 and full_layers(a) == [1, 3, 5]
    assert a.moe.n_expert == 32 and a.n_ff == 0
    with pytest.raises(BadFileError, match="sliding_window"):
        arch_of("gpt-oss", 6, expert_count=32, expert_used_count=4, expert_feed_forward_length=2880)


def test_llama4_chunked_unless_zero():
    a = arch_of(
        "llama4",
        8,
        expert_count=16,
        expert_used_count=1,
        expert_feed_forward_length=8192,
        interleave_moe_layer_step=1,
    )
    assert a.sliding_window == 8192 and a.extra["swa_type"] == "chunked" and full_layers(a) == [3, 7]
    assert arch_of("llama4", 8, attention__sliding_window=0).sliding_window is None


def test_dense_first_patterns():
    a = arch_of("cohere2moe", 8, attention__sliding_window=4096)
    assert full_layers(a) == [0, 4]
    a = arch_of("smallthinker", 8, attention__sliding_window=1)  # window forced to 4096
    assert a.sliding_window == 4096 and full_layers(a) == [0, 4]


def test_conditional_and_disabled():
    assert arch_of("olmo2", 8).sliding_window is None
    assert full_layers(arch_of("olmo2", 8, attention__sliding_window=4096)) == [3, 7]
    a = arch_of("phi3", 8, attention__sliding_window=2047)  # models/phi3.cpp: SWA disabled
    assert a.sliding_window is None and "without SWA" in a.notes
    assert arch_of("exaone4", 8, attention__sliding_window=4096).sliding_window is None
    assert full_layers(arch_of("exaone4", 64, attention__sliding_window=4096))[:2] == [3, 7]
    a = arch_of("qwen2", 8, attention__sliding_window=32768)
    assert a.sliding_window is None and "no SWA" in a.notes


def test_recurrent_rules():
    kv = (0, 0, 4, 0, 0, 4, 0, 0)
    ssm = dict(
        ssm__conv_kernel=4, ssm__inner_size=512, ssm__state_size=64, ssm__time_step_rank=8, ssm__group_count=1
    )
    a = arch_of("granitehybrid", 8, attention__head_count_kv=kv, **ssm)
    assert [a.is_recurrent(i) for i in range(8)] == [k == 0 for k in kv]
    assert a.n_head_kv == kv
    a = arch_of(
        "qwen3next",
        8,
        attention__head_count_kv=2,
        expert_count=8,
        expert_used_count=2,
        expert_feed_forward_length=64,
        **ssm,
    )
    assert [i for i in range(8) if not a.is_recurrent(i)] == [3, 7]  # (il + 1) % 4 == 0 is attention
    assert a.n_head_kv == (0, 0, 0, 2, 0, 0, 0, 2)
    a = arch_of(
        "qwen3next",
        8,
        full_attention_interval=2,
        expert_count=8,
        expert_used_count=2,
        expert_feed_forward_length=64,
        **ssm,
    )
    assert [i for i in range(8) if not a.is_recurrent(i)] == [1, 3, 5, 7]
    ff = (0, 512, 0, 0, 512, 0, 0, 0)
    a = arch_of(
        "nemotron_h", 8, attention__head_count_kv=(0, 0, 4, 0, 0, 0, 0, 0), feed_forward_length=ff, **ssm
    )
    assert [i for i in range(8) if a.is_recurrent(i)] == [0, 3, 5, 6, 7]
    a = arch_of("falcon-h1", 4, attention__head_count_kv=2, **ssm)
    assert all(a.is_recurrent(i) for i in range(4)) and a.n_head_kv == 2


def test_mla_keys_and_old_layout():
    keys = dict(
        attention__head_count_kv=1,
        attention__key_length=576,
        attention__value_length=512,
        attention__key_length_mla=192,
        attention__value_length_mla=128,
        attention__kv_lora_rank=512,
        attention__q_lora_rank=1536,
        rope__dimension_count=64,
        expert_count=256,
        expert_used_count=8,
        expert_feed_forward_length=2048,
        expert_shared_count=1,
        leading_dense_block_count=3,
    )
    a = arch_of("deepseek2", 8, **keys)
    assert a.mla.cache_elems_per_token == 576 and a.mla.qk_nope_head_dim == 128
    old = dict(
        keys,
        attention__head_count_kv=8,
        attention__key_length=192,
        attention__value_length=128,
        attention__key_length_mla=None,
        attention__value_length_mla=None,
    )
    a = arch_of("deepseek2", 8, **old)  # pre-2025 GGUF: llama.cpp caches decompressed K/V
    assert a.mla is None and a.extra["kv_lora_rank"] == 512 and a.n_embd_head_k == 192


def test_per_layer_arrays_and_nextn():
    a = arch_of(
        "llama",
        4,
        attention__head_count=(8, 8, 16, 16),
        attention__head_count_kv=(2, 2, 4, 4),
        feed_forward_length=(512, 512, 1024, 1024),
    )
    assert a.n_head == 16 and a.n_head_kv == (2, 2, 4, 4) and a.n_ff == (512, 512, 1024, 1024)
    assert a.n_embd_head_k == 256 // 8  # llama.cpp: n_embd / n_head(0)
    with pytest.raises(BadFileError, match="3 entries"):
        arch_of("llama", 4, attention__head_count_kv=(2, 2, 4))
    a = arch_of(
        "glm4moe",
        5,
        nextn_predict_layers=1,
        expert_count=8,
        expert_used_count=2,
        expert_feed_forward_length=64,
        leading_dense_block_count=1,
    )
    assert a.n_layer == 4 and a.extra["n_nextn_layers"] == 1


def test_bad_values():
    with pytest.raises(BadFileError, match="expert_used_count"):
        arch_of("qwen3moe", 4, expert_count=4, expert_used_count=8)
    with pytest.raises(BadFileError, match="where a whole number belongs"):
        arch_of("llama", 4, embedding_length="wide")
    with pytest.raises(BadFileError, match="mmproj"):
        arch_of("clip", 4)
