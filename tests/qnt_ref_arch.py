"""Architecture objects built straight from the reference data (HF config.json numbers).

Used by the quantization tests so that they do not depend on how the model catalog stores its
records; ``data/reference/models.json`` is the curated source both are made from.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from rigfit.catalog.arch import MLA, Architecture, MoE

_REF = next(
    (
        p / "data" / "reference" / "models.json"
        for p in Path(__file__).resolve().parents
        if (p / "data" / "reference").is_dir()
    ),
    Path("data/reference/models.json"),
)

_ARCH = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "MixtralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "Qwen3MoeForCausalLM": "qwen3moe",
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3",
    "Gemma3ForConditionalGeneration (text_config)": "gemma3",
    "Phi3ForCausalLM": "phi3",
    "DeepseekV3ForCausalLM": "deepseek2",
    "GptOssForCausalLM": "gpt-oss",
    "Glm4MoeForCausalLM": "glm4moe",
}


def ref_available() -> bool:
    return _REF.exists()


@lru_cache(maxsize=1)
def _records() -> dict[str, dict]:
    data = json.loads(_REF.read_text())
    return {m["id"]: m for m in data["models"]}


def ref_ids() -> list[str]:
    return list(_records())


def ref_arch(model_id: str) -> Architecture:
    m = _records()[model_id]
    arch = _ARCH[m["architecture"]]
    moe = None
    if m.get("moe"):
        mo = m["moe"]
        n_exp = mo.get("num_experts") or mo.get("n_routed_experts") or mo.get("num_local_experts")
        shared = mo.get("n_shared_experts") or mo.get("shared_experts") or 0
        moe = MoE(
            n_expert=n_exp,
            n_expert_used=mo["num_experts_per_tok"],
            expert_ff=mo["moe_intermediate_size"],
            n_expert_shared=shared,
            n_dense_lead=mo.get("first_k_dense_replace") or 0,
        )
    mla = None
    if m.get("mla"):
        ml = m["mla"]
        mla = MLA(
            kv_lora_rank=ml["kv_lora_rank"],
            qk_nope_head_dim=ml["qk_nope_head_dim"],
            qk_rope_head_dim=ml["qk_rope_head_dim"],
            v_head_dim=ml["v_head_dim"],
            q_lora_rank=ml.get("q_lora_rank"),
        )
    hd = m["head_dim"] or (m["hidden_size"] // m["num_attention_heads"])
    rs = m.get("rope_scaling") or {}
    extra = {
        "rope_type": rs.get("rope_type") or rs.get("type"),
        "partial_rotary_factor": m.get("partial_rotary_factor"),
        "n_nextn_layer": m.get("num_nextn_predict_layers"),
    }
    return Architecture(
        id=m["id"],
        arch=arch,
        n_layer=m["num_hidden_layers"],
        n_embd=m["hidden_size"],
        n_head=m["num_attention_heads"],
        n_head_kv=m["num_key_value_heads"],
        n_embd_head_k=hd,
        n_embd_head_v=hd,
        n_ff=m["intermediate_size"],
        n_vocab=m["vocab_size"],
        n_ctx_train=m["max_position_embeddings"],
        tied_embeddings=bool(m["tie_word_embeddings"]),
        attn_bias=bool(m.get("qkv_bias")) or arch in ("qwen2", "glm4moe"),
        qk_norm=arch in ("qwen3", "qwen3moe", "gemma3"),
        moe=moe,
        mla=mla,
        total_params=m.get("total_params"),
        extra=extra,
    )
