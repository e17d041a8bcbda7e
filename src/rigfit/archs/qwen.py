"""Qwen family: qwen2, qwen2moe, qwen3, qwen3moe, and the hybrid Gated-DeltaNet models
(qwen3next, qwen35, qwen35moe, qwen4exp) whose tensor table rigfit does not predict yet.

Sources: llama.cpp ``src/models/qwen2.cpp``, ``qwen3.cpp``, ``qwen3moe.cpp``, ``qwen3next.cpp``
(https://github.com/ggml-org/llama.cpp/tree/master/src/models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.llama import llama_like
from rigfit.archs.registry import ArchFamily, register
from rigfit.catalog.arch import Architecture


def _qwen2_70b(arch: Architecture) -> bool:
    """LLM_TYPE_70B for qwen2 (Qwen2/2.5 72B): 80 layers."""
    return arch.n_layer == 80


def _hf_qwen3next(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py Qwen3NextModel: Gated-DeltaNet sizes as ``ssm.*`` keys."""
    put("ssm.conv_kernel", g("linear_conv_kernel_dim", default=4))
    put("ssm.inner_size", g("linear_num_value_heads", default=32) * g("linear_value_head_dim", default=128))
    put("ssm.state_size", g("linear_key_head_dim", default=128))
    put("ssm.time_step_rank", g("linear_num_value_heads", default=32))
    put("ssm.group_count", g("linear_num_key_heads", default=16))
    put("full_attention_interval", g("full_attention_interval", default=4))


register(
    ArchFamily(
        "qwen2",
        build_shapes=llama_like(bias=True),
        is_70b=_qwen2_70b,
        hf_model_types=("qwen2",),
        hf_sliding_window=False,
        hf_attn_bias_default=True,
    )
)
register(ArchFamily("qwen2moe", hf_model_types=("qwen2_moe",), hf_sliding_window=False))
register(
    ArchFamily(
        "qwen3",
        build_shapes=llama_like(qk_norms=True),
        hf_model_types=("qwen3",),
        hf_sliding_window=False,
        hf_qk_norm_default=True,
    )
)
register(
    ArchFamily(
        "qwen3moe",
        aliases=("qwen3_moe",),
        build_shapes=llama_like(qk_norms=True),
        hf_model_types=("qwen3_moe",),
        hf_sliding_window=False,
        hf_qk_norm_default=True,
    )
)
# models/qwen3next.cpp: recurrent layers from the stored array or full_attention_interval
register(
    ArchFamily(
        "qwen3next",
        aliases=("qwen3_next",),
        recurrent="interval",
        hf_model_types=("qwen3_next",),
        hf_metadata=_hf_qwen3next,
        hf_qk_norm_default=True,
    )
)
for _name in ("qwen35", "qwen35moe", "qwen4exp"):
    register(ArchFamily(_name, recurrent="interval"))
