"""Hugging Face config.json / safetensors -> the same Architecture as the catalog and as a GGUF."""

from __future__ import annotations

import json
import struct

import pytest

from rigfit.catalog.models import get_model
from rigfit.errors import BadFileError, RigfitError
from rigfit.formats.hf import architecture_from_config, hf_cache_snapshot, model_from_hf
from rigfit.formats.safetensors import read_safetensors_header

# Published config.json files (the fields that matter), as on huggingface.co.
CONFIGS = {
    "llama-3.1-8b": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "attention_bias": False,
    },
    "qwen3-30b-a3b": {
        "architectures": ["Qwen3MoeForCausalLM"],
        "model_type": "qwen3_moe",
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "moe_intermediate_size": 768,
        "num_experts": 128,
        "num_experts_per_tok": 8,
        "num_hidden_layers": 48,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_position_embeddings": 40960,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": False,
        "sliding_window": None,
    },
    "deepseek-v3": {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "deepseek_v3",
        "hidden_size": 7168,
        "intermediate_size": 18432,
        "moe_intermediate_size": 2048,
        "n_routed_experts": 256,
        "n_shared_experts": 1,
        "num_experts_per_tok": 8,
        "first_k_dense_replace": 3,
        "num_hidden_layers": 61,
        "num_attention_heads": 128,
        "num_key_value_heads": 128,
        "q_lora_rank": 1536,
        "kv_lora_rank": 512,
        "qk_nope_head_dim": 128,
        "qk_rope_head_dim": 64,
        "v_head_dim": 128,
        "vocab_size": 129280,
        "max_position_embeddings": 163840,
        "tie_word_embeddings": False,
        "num_nextn_predict_layers": 1,
    },
    "gemma-3-270m": {
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "hidden_size": 640,
        "intermediate_size": 2048,
        "num_hidden_layers": 18,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "head_dim": 256,
        "vocab_size": 262144,
        "max_position_embeddings": 32768,
        "sliding_window": 512,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": True,
    },
    "gpt-oss-20b": {
        "architectures": ["GptOssForCausalLM"],
        "model_type": "gpt_oss",
        "hidden_size": 2880,
        "intermediate_size": 2880,
        "num_local_experts": 32,
        "num_experts_per_tok": 4,
        "experts_per_token": 4,
        "num_hidden_layers": 24,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "vocab_size": 201088,
        "max_position_embeddings": 131072,
        "sliding_window": 128,
        "tie_word_embeddings": False,
        "attention_bias": True,
    },
    "mamba2-2.7b": {
        "model_type": "mamba2",
        "hidden_size": 2560,
        "num_hidden_layers": 64,
        "state_size": 128,
        "expand": 2,
        "conv_kernel": 4,
        "n_groups": 1,
        "num_heads": 80,
        "head_dim": 64,
        "vocab_size": 50288,
        "max_position_embeddings": 1048576,
        "tie_word_embeddings": True,
    },
    "gemma-2-2b": {
        "architectures": ["Gemma2ForCausalLM"],
        "model_type": "gemma2",
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_hidden_layers": 26,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "vocab_size": 256000,
        "max_position_embeddings": 8192,
        "sliding_window": 4096,
        "tie_word_embeddings": True,
    },
    "qwen3-next-80b-a3b": {
        "model_type": "qwen3_next",
        "hidden_size": 2048,
        "intermediate_size": 5120,
        "moe_intermediate_size": 512,
        "shared_expert_intermediate_size": 512,
        "num_experts": 512,
        "num_experts_per_tok": 10,
        "num_hidden_layers": 48,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "head_dim": 256,
        "vocab_size": 151936,
        "max_position_embeddings": 262144,
        "full_attention_interval": 4,
        "linear_conv_kernel_dim": 4,
        "linear_key_head_dim": 128,
        "linear_value_head_dim": 128,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 32,
        "partial_rotary_factor": 0.25,
    },
}

FIELDS = (
    "arch",
    "n_layer",
    "n_embd",
    "n_head",
    "n_head_kv",
    "n_embd_head_k",
    "n_embd_head_v",
    "n_ff",
    "n_vocab",
    "n_ctx_train",
    "tied_embeddings",
    "sliding_window",
    "swa_layers",
    "moe",
    "mla",
    "ssm",
    "recurrent_layers",
    "total_params",
)


@pytest.mark.parametrize("model_id", sorted(CONFIGS))
def test_config_matches_catalog(model_id):
    a = architecture_from_config(CONFIGS[model_id], model_id)
    cat = get_model(model_id)
    diffs = {f: (getattr(a, f), getattr(cat, f)) for f in FIELDS if getattr(a, f) != getattr(cat, f)}
    assert not diffs


def test_multimodal_text_config():
    inner = dict(CONFIGS["gemma-3-270m"])
    cfg = {
        "model_type": "gemma3",
        "architectures": ["Gemma3ForConditionalGeneration"],
        "text_config": dict(inner, model_type="gemma3_text"),
        "vision_config": {"hidden_size": 1152},
    }
    a = architecture_from_config(cfg, "g")
    assert a.arch == "gemma3" and a.n_layer == 18 and a.sliding_window == 512


def test_unsupported_model_type():
    with pytest.raises(RigfitError, match="unsupported model_type"):
        architecture_from_config({"model_type": "t5", "num_hidden_layers": 2, "hidden_size": 8}, "x")
    with pytest.raises(BadFileError, match="num_hidden_layers"):
        architecture_from_config({"model_type": "llama", "hidden_size": 8}, "x")


def _write_st(path, tensors: dict[str, tuple[str, list[int]]], truncate: int = 0) -> int:
    size = {"F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1}
    header, off = {}, 0
    for name, (dt, shape) in tensors.items():
        n = size[dt]
        for d in shape:
            n *= d
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * (off - truncate))
    return off


def test_safetensors_folder(tmp_path):
    cfg = dict(
        CONFIGS["llama-3.1-8b"],
        num_hidden_layers=1,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=100,
    )
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    t = {
        "model.embed_tokens.weight": ("BF16", [100, 64]),
        "lm_head.weight": ("BF16", [100, 64]),
        "model.layers.0.self_attn.q_proj.weight": ("BF16", [64, 64]),
        "model.layers.0.mlp.up_proj.weight": ("F8_E4M3", [128, 64]),
        "model.norm.weight": ("F32", [64]),
    }
    n = _write_st(tmp_path / "model.safetensors", t)
    spec = model_from_hf(tmp_path)
    assert spec.origin == "hf" and spec.tensors_exact and spec.file_type == "BF16"
    assert spec.weights_bytes == n
    emb = next(x for x in spec.tensors if x.name == "model.embed_tokens.weight")
    assert emb.shape == (64, 100)  # GGUF order: ne0 first
    assert spec.arch.total_params == sum(x.n_elements for x in spec.tensors)
    assert not spec.arch.tied_embeddings
    assert model_from_hf(tmp_path / "config.json").weights_bytes == n


def test_safetensors_bad(tmp_path):
    p = tmp_path / "m.safetensors"
    _write_st(p, {"a": ("F32", [1000])}, truncate=100)
    with pytest.raises(BadFileError, match="outside"):
        read_safetensors_header(p)
    p.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(BadFileError, match="claims"):
        read_safetensors_header(p)
    p.write_bytes(struct.pack("<Q", 5) + b"{oops")
    with pytest.raises(BadFileError, match="JSON"):
        read_safetensors_header(p)


def test_hf_cache_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    snap = tmp_path / "models--acme--tiny" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (tmp_path / "models--acme--tiny" / "refs").mkdir()
    (tmp_path / "models--acme--tiny" / "refs" / "main").write_text("abc123")
    (snap / "config.json").write_text(json.dumps(CONFIGS["gemma-3-270m"]))
    assert hf_cache_snapshot("acme/tiny") == snap
    assert hf_cache_snapshot("acme/other") is None
    spec = model_from_hf(snap)
    assert spec.arch.id == "acme/tiny" and not spec.tensors_exact and spec.arch.total_params == 268_098_176
