"""config.json readers added for this year's models: LFM2 / LFM2-MoE, Nemotron-H (dense and MoE),
OLMo 3 and MiniMax M2, read as convert_hf_to_gguf.py writes them (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from rigfit.catalog.models import count_params
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.formats.hf import architecture_from_config, config_to_gguf_metadata

_LFM2_1B2: dict[str, Any] = {
    "architectures": ["Lfm2ForCausalLM"],
    "model_type": "lfm2",
    "num_hidden_layers": 16,
    "hidden_size": 2048,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "block_ff_dim": 12288,
    "block_auto_adjust_ff_dim": True,
    "block_ffn_dim_multiplier": 1.0,
    "block_multiple_of": 256,
    "full_attn_idxs": [2, 5, 8, 10, 12, 14],
    "conv_L_cache": 3,
    "vocab_size": 65536,
    "max_position_embeddings": 128000,
    "tie_word_embeddings": True,
}


def test_lfm2_attention_layers_from_full_attn_idxs_and_ffn_width_adjusted() -> None:
    m = config_to_gguf_metadata(_LFM2_1B2)
    assert m["general.architecture"] == "lfm2"
    kv = m["lfm2.attention.head_count_kv"]
    assert [i for i, h in enumerate(kv) if h] == [2, 5, 8, 10, 12, 14] and set(kv) == {0, 8}
    # int(2·12288/3) = 8192, already a multiple of 256
    assert m["lfm2.feed_forward_length"] == 8192
    assert m["lfm2.shortconv.l_cache"] == 3


def test_lfm2_layer_types_give_the_same_layers_as_full_attn_idxs() -> None:
    idxs = _LFM2_1B2["full_attn_idxs"]
    cfg = {k: v for k, v in _LFM2_1B2.items() if k != "full_attn_idxs"}
    cfg["layer_types"] = ["full_attention" if i in idxs else "conv" for i in range(16)]
    assert config_to_gguf_metadata(cfg) == config_to_gguf_metadata(_LFM2_1B2)


def test_lfm2_ffn_rounds_up_to_the_multiple() -> None:
    # LFM2-350M: int(2·6656/3) = 4437 → 4608
    cfg = {**_LFM2_1B2, "hidden_size": 1024, "num_attention_heads": 16, "block_ff_dim": 6656}
    assert config_to_gguf_metadata(cfg)["lfm2.feed_forward_length"] == 4608
    # the flag off: the width is taken as is
    cfg["block_auto_adjust_ff_dim"] = False
    assert config_to_gguf_metadata(cfg)["lfm2.feed_forward_length"] == 6656
    # no block_* keys (LFM2-350M's config.json has only block_ff_dim): transformers' defaults adjust
    bare = {k: v for k, v in cfg.items() if k not in ("block_auto_adjust_ff_dim", "block_ffn_dim_multiplier")}
    bare.pop("block_multiple_of")
    assert config_to_gguf_metadata(bare)["lfm2.feed_forward_length"] == 4608


def test_lfm2_1b2_counts_the_published_parameters() -> None:
    """LFM2-1.2B's safetensors hold 1,170,340,608 parameters (https://huggingface.co/LiquidAI/LFM2-1.2B)."""
    arch = architecture_from_config(_LFM2_1B2, "lfm2-1.2b")
    assert arch.arch == "lfm2" and arch.tied_embeddings
    assert count_params(arch) == (1_170_340_608, 1_170_340_608)
    assert [arch.is_recurrent(i) for i in range(4)] == [True, True, False, True]


def test_lfm2_moe_reads_dense_lead_and_experts() -> None:
    cfg = {
        **{k: v for k, v in _LFM2_1B2.items() if not k.startswith("block_")},
        "model_type": "lfm2_moe",
        "architectures": ["Lfm2MoeForCausalLM"],
        "intermediate_size": 7168,
        "moe_intermediate_size": 1792,
        "num_experts": 32,
        "num_experts_per_tok": 4,
        "num_dense_layers": 2,
    }
    arch = architecture_from_config(cfg, "lfm2-moe")
    assert arch.arch == "lfm2moe"
    assert arch.moe is not None and arch.moe.n_expert == 32 and arch.moe.n_dense_lead == 2
    assert not arch.is_moe_layer(1) and arch.is_moe_layer(2)
    total, active = count_params(arch)
    assert active < total / 3


_PATTERN = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME"
_NEMOTRON_NANO: dict[str, Any] = {
    "architectures": ["NemotronHForCausalLM"],
    "model_type": "nemotron_h",
    "num_hidden_layers": 52,
    "hidden_size": 2688,
    "num_attention_heads": 32,
    "num_key_value_heads": 2,
    "head_dim": 128,
    "hybrid_override_pattern": _PATTERN,
    "mamba_num_heads": 64,
    "mamba_head_dim": 64,
    "ssm_state_size": 128,
    "n_groups": 8,
    "conv_kernel": 4,
    "intermediate_size": 1856,
    "moe_intermediate_size": 1856,
    "moe_shared_expert_intermediate_size": 3712,
    "n_routed_experts": 128,
    "n_shared_experts": 1,
    "num_experts_per_tok": 6,
    "vocab_size": 131072,
    "max_position_embeddings": 262144,
    "tie_word_embeddings": False,
}


def test_nemotron_h_with_experts_is_nemotron_h_moe() -> None:
    m = config_to_gguf_metadata(_NEMOTRON_NANO)
    assert m["general.architecture"] == "nemotron_h_moe"
    assert not any(k.startswith("nemotron_h.") for k in m)
    assert m["nemotron_h_moe.ssm.inner_size"] == 64 * 64
    assert m["nemotron_h_moe.ssm.group_count"] == 8
    assert m["nemotron_h_moe.expert_shared_feed_forward_length"] == 3712
    kv, ff = m["nemotron_h_moe.attention.head_count_kv"], m["nemotron_h_moe.feed_forward_length"]
    for c, h, f in zip(_PATTERN, kv, ff, strict=True):
        assert (h > 0) == (c == "*") and (f > 0) == (c == "E")


def test_nemotron_h_layers_and_tensors() -> None:
    arch = architecture_from_config(_NEMOTRON_NANO, "nemotron-3-nano")
    assert [arch.is_recurrent(i) for i in range(6)] == [True, False, True, False, True, False]
    spec = catalog_model_spec(arch, "Q4_K_M")
    names = {t.name for t in spec.tensors}
    assert "blk.1.ffn_up_exps.weight" in names and "blk.1.ffn_up_shexp.weight" in names
    assert "blk.5.attn_q.weight" in names and "blk.0.ssm_in.weight" in names
    assert "blk.0.ffn_up_exps.weight" not in names and "blk.5.ffn_up_exps.weight" not in names
    # NVIDIA: 31.6B total, 3.2B active without embeddings (3.6B with them)
    total, active = count_params(arch)
    assert 30.0e9 < total < 32.5e9 and 3.0e9 < active < 3.7e9


def test_nemotron_h_layers_block_type_words_read_like_the_pattern() -> None:
    words = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
    cfg = {k: v for k, v in _NEMOTRON_NANO.items() if k != "hybrid_override_pattern"}
    cfg["layers_block_type"] = [words[c] for c in _PATTERN]
    assert config_to_gguf_metadata(cfg) == config_to_gguf_metadata(_NEMOTRON_NANO)


def test_dense_nemotron_h_stays_nemotron_h() -> None:
    pattern = "M-M-M*-M-"
    cfg = {
        **{k: v for k, v in _NEMOTRON_NANO.items() if "expert" not in k and k != "moe_intermediate_size"},
        "num_hidden_layers": len(pattern),
        "hybrid_override_pattern": pattern,
        "intermediate_size": 8192,
    }
    m = config_to_gguf_metadata(cfg)
    assert m["general.architecture"] == "nemotron_h"
    assert m["nemotron_h.feed_forward_length"] == tuple(8192 if c == "-" else 0 for c in pattern)


@pytest.mark.parametrize("model_type", ["olmo3", "olmo2"])
def test_olmo3_reads_as_olmo2_with_its_sliding_window(model_type: str) -> None:
    cfg = {
        "architectures": ["Olmo3ForCausalLM"],
        "model_type": model_type,
        "num_hidden_layers": 32,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "intermediate_size": 11008,
        "vocab_size": 100278,
        "max_position_embeddings": 65536,
        "sliding_window": 4096,
    }
    arch = architecture_from_config(cfg, "olmo")
    assert arch.arch == "olmo2" and arch.qk_norm and not arch.tied_embeddings
    assert arch.sliding_window == 4096
    # llama.cpp olmo2: set_swa_pattern(4): three sliding layers, then one full
    assert arch.swa_layers is not None and list(arch.swa_layers[:8]) == [True, True, True, False] * 2
    # Ai2: OLMo 3 7B holds 7.30B parameters
    assert 7.25e9 < count_params(arch)[0] < 7.35e9


def test_minimax_m2_reads_its_expert_width_from_intermediate_size() -> None:
    cfg = {
        "architectures": ["MiniMaxM2ForCausalLM"],
        "model_type": "minimax_m2",
        "num_hidden_layers": 62,
        "hidden_size": 3072,
        "num_attention_heads": 48,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 1536,
        "num_local_experts": 256,
        "num_experts_per_tok": 8,
        "rotary_dim": 64,
        "vocab_size": 200064,
        "max_position_embeddings": 196608,
        "tie_word_embeddings": False,
    }
    m = config_to_gguf_metadata(cfg)
    assert m["general.architecture"] == "minimax-m2"
    assert m["minimax-m2.expert_feed_forward_length"] == 1536
    assert m["minimax-m2.feed_forward_length"] == 1536  # llama.cpp sizes the expert tensors from it
    assert m["minimax-m2.rope.dimension_count"] == 64
    arch = architecture_from_config(cfg, "minimax-m2")
    names = {t.name for t in catalog_model_spec(arch, "Q4_K_M").tensors}
    assert "blk.0.exp_probs_b.bias" in names and "blk.0.ffn_gate_shexp.weight" not in names
    # MiniMax: 230B total, 10B activated (without the 1.2B of embedding and output head)
    total, active = count_params(arch)
    assert 225e9 < total < 232e9 and 10.5e9 < active < 11.5e9
