"""Dense families whose blocks norm the attention and FFN outputs: olmo2 (OLMo 2 / OLMo 3),
seed_oss (Seed-OSS) and exaone4 (EXAONE 4.0).

Sources: llama.cpp ``src/models/olmo2.cpp``, ``seed-oss.cpp``, ``exaone4.cpp``
(https://github.com/ggml-org/llama.cpp/tree/master/src/models), ``load_arch_tensors``:

* olmo2: no input norms; Q/K RMS norms over the whole projection (``attn_q_norm`` [n_head·head_dim],
  ``attn_k_norm`` [n_head_kv·head_dim]), ``post_attention_norm`` and ``post_ffw_norm``; the
  output head is required (never tied).
* seed_oss: ``attn_norm`` before attention, ``post_attention_norm`` before the FFN (no
  ``ffn_norm``), optional Q/K/V biases, output head optional (tied when absent).
* exaone4: no input norms; per-head Q/K norms, ``post_attention_norm``, ``post_ffw_norm``;
  optional ``rope_freqs`` (llama3 RoPE scaling); output head optional.
"""

from __future__ import annotations

from rigfit.archs.common import dense_ffn, gqa_attn, has_rope_freqs, head, n_rot, qk_norm
from rigfit.archs.registry import ArchFamily, ShapeList, SwaRule, register
from rigfit.catalog.arch import Architecture


def _olmo2_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch, tied=False)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        gqa_attn(out, p, arch, il, bias=False)
        out += [
            (p + "attn_q_norm.weight", (arch.n_head * arch.n_embd_head_k,)),
            (p + "attn_k_norm.weight", (arch.head_kv(il) * arch.n_embd_head_k,)),
            (p + "post_attention_norm.weight", (e,)),
        ]
        dense_ffn(out, p, e, arch.ff(il))
        out.append((p + "post_ffw_norm.weight", (e,)))
    return out


def _seed_oss_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        gqa_attn(out, p, arch, il, bias=arch.attn_bias)
        out.append((p + "post_attention_norm.weight", (e,)))
        dense_ffn(out, p, e, arch.ff(il))
    return out


def _exaone4_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch)
    if has_rope_freqs(arch):
        out.append(("rope_freqs.weight", (n_rot(arch) // 2,)))
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        gqa_attn(out, p, arch, il, bias=False)
        out.append((p + "post_attention_norm.weight", (e,)))
        qk_norm(out, p, arch)
        dense_ffn(out, p, e, arch.ff(il))
        out.append((p + "post_ffw_norm.weight", (e,)))
    return out


register(
    ArchFamily(
        "olmo2",
        build_shapes=_olmo2_shapes,
        swa=SwaRule(4, False, 0, "if_key"),  # models/olmo2.cpp: SWA only with a stored window
        # OLMo 3 (Olmo3ForCausalLM) converts to the olmo2 tensor layout with its sliding window
        # stored: convert_hf_to_gguf.py Olmo3Model(Olmo2Model) writes sliding_window (3 SWA : 1 full)
        hf_model_types=("olmo2", "olmo3"),
        hf_qk_norm_default=True,
    )
)
register(ArchFamily("seed_oss", build_shapes=_seed_oss_shapes, hf_model_types=("seed_oss",)))
register(
    ArchFamily(
        "exaone4",
        build_shapes=_exaone4_shapes,
        # models/exaone4.cpp: SWA (n_swa 4096, 3 SWA : 1 full) only for the 64-layer 32B model
        swa=SwaRule(4, False, 4096, "always", only_n_layer=64),
        hf_model_types=("exaone4",),
    )
)
