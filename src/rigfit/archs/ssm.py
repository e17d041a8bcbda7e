"""State-space and recurrent families: mamba, mamba2, RWKV, and the hybrids that mix SSM (or
linear-attention) layers with attention layers (granitehybrid, falcon-h1, jamba, nemotron_h,
plamo2, lfm2, kimi-linear).

Cache kinds: recurrent layers keep a fixed-size state per sequence (conv + SSM state, F32)
instead of a KV cache; falcon-h1 layers keep both. Which layers are recurrent follows
``llama_model::load_hparams`` / ``create_memory`` (llama-model.cpp).
Sources: llama.cpp ``src/models/mamba.cpp``, ``mamba2.cpp``, ``granite-hybrid.cpp``,
``falcon-h1.cpp``, ``nemotron-h.cpp``, ``lfm2.cpp`` (https://github.com/ggml-org/llama.cpp/tree/master/src/models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.common import (
    dense_ffn,
    extra,
    gqa_attn,
    head,
    mamba2_in_proj,
    moe_ffn,
    qk_norm,
    ssm_block,
)
from rigfit.archs.registry import ArchFamily, ShapeList, register
from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError


def _mamba2_shapes(arch: Architecture) -> ShapeList:
    if arch.ssm is None:
        raise RigfitError(f"{arch.id}: mamba2 architecture without SSM parameters.")
    out: ShapeList = []
    head(out, arch)
    in_proj = mamba2_in_proj(arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (arch.n_embd,)))
        ssm_block(out, p, arch, in_proj=in_proj)
    return out


def _granitehybrid_shapes(arch: Architecture) -> ShapeList:
    if arch.ssm is None:
        raise RigfitError(f"{arch.id}: granitehybrid architecture without SSM parameters.")
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch)
    in_proj = mamba2_in_proj(arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        if arch.is_recurrent(il):
            ssm_block(out, p, arch, in_proj=in_proj)
        else:
            gqa_attn(out, p, arch, il, bias=arch.attn_bias)
        out.append((p + "ffn_norm.weight", (e,)))
        if arch.is_moe_layer(il):
            moe_ffn(out, p, e, arch)
        elif arch.ff(il):
            dense_ffn(out, p, e, arch.ff(il))
    return out


def _falcon_h1_shapes(arch: Architecture) -> ShapeList:
    """models/falcon-h1.cpp: every layer has attention, a Mamba-2 mixer and a gated FFN; the FFN
    norm is ``blk.N.ffn_norm`` without a ``.weight`` suffix."""
    if arch.ssm is None:
        raise RigfitError(f"{arch.id}: falcon-h1 architecture without SSM parameters.")
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch, tied=False)
    in_proj = mamba2_in_proj(arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        gqa_attn(out, p, arch, il, bias=arch.attn_bias)
        ssm_block(out, p, arch, in_proj=in_proj)
        out.append((p + "ffn_norm", (e,)))
        dense_ffn(out, p, e, arch.ff(il))
    return out


def _lfm2_shapes(arch: Architecture) -> ShapeList:
    """models/lfm2.cpp, lfm2moe.cpp: short-convolution layers (no KV heads: conv [l_cache, n_embd], in_proj
    3·n_embd, out_proj) and attention layers with QK norms; the output norm is named
    ``token_embd_norm``; every layer has a gated FFN."""
    out: ShapeList = []
    e = arch.n_embd
    l_cache = int(extra(arch, "shortconv_l_cache", "conv_L_cache", default=3))
    out.append(("token_embd.weight", (e, arch.n_vocab)))
    out.append(("token_embd_norm.weight", (e,)))
    if not arch.tied_embeddings:
        out.append(("output.weight", (e, arch.n_vocab)))
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        if arch.head_kv(il) > 0:
            gqa_attn(out, p, arch, il, bias=False)
            qk_norm(out, p, arch)
        else:
            out += [
                (p + "shortconv.conv.weight", (l_cache, e)),
                (p + "shortconv.in_proj.weight", (e, 3 * e)),
                (p + "shortconv.out_proj.weight", (e, e)),
            ]
        out.append((p + "ffn_norm.weight", (e,)))
        if arch.is_moe_layer(il):  # lfm2moe: routed experts with a score bias, no shared expert
            moe_ffn(out, p, e, arch, shexp=False, probs_b=True)
        else:
            dense_ffn(out, p, e, arch.ff(il))
    return out


def _nemotron_h_shapes(arch: Architecture) -> ShapeList:
    """models/nemotron-h.cpp: each layer is Mamba-2 (no KV heads, no FFN), attention (KV heads,
    no FFN) or an FFN: ReLU² up/down, or (nemotron_h_moe) a router with score bias, up/down
    routed experts and an up/down shared expert."""
    if arch.ssm is None:
        raise RigfitError(f"{arch.id}: nemotron_h architecture without SSM parameters.")
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch)
    in_proj = mamba2_in_proj(arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        if arch.is_recurrent(il):
            ssm_block(out, p, arch, in_proj=in_proj)
        elif arch.ff(il) == 0 and arch.head_kv(il) > 0:
            gqa_attn(out, p, arch, il, bias=arch.attn_bias)
        elif arch.moe is not None:
            m = arch.moe
            ne, ff, sff = m.n_expert, m.expert_ff, m.shared_ff_total
            out += [
                (p + "ffn_gate_inp.weight", (e, ne)),
                (p + "exp_probs_b.bias", (ne,)),
                (p + "ffn_down_exps.weight", (ff, e, ne)),
                (p + "ffn_up_exps.weight", (e, ff, ne)),
                (p + "ffn_down_shexp.weight", (sff, e)),
                (p + "ffn_up_shexp.weight", (e, sff)),
            ]
        else:
            out += [(p + "ffn_down.weight", (arch.ff(il), e)), (p + "ffn_up.weight", (e, arch.ff(il)))]
    return out


def _falcon_h1_ssm_stage(arch: Architecture) -> int:
    """f32 values per token live in a falcon-h1 layer's Mamba-2 stage [elements]: the Mamba-2
    stage with 5·n_embd rows whatever d_inner (the attention branch runs beside it), i.e.
    ``5·d_inner + 6·n_group·d_state + n_head + 5·n_embd``. Measured on llama.cpp b11549 CPU
    reserves of synthetic falcon-h1 GGUFs (tests/archs/falcon_h1_synth.py): within 0.12 MiB for
    n_embd 256/512 at d_inner 512, 0.76 MiB low at d_inner 1024 (n_ubatch 512, one slot).
    """
    s = arch.ssm
    assert s is not None
    return 5 * s.d_inner + 6 * s.n_group * s.d_state + s.n_head + 5 * arch.n_embd


def _hf_mamba(groups_default: int) -> Callable[..., None]:
    """convert_hf_to_gguf.py MambaModel / Mamba2Model: SSM keys, no attention, no FFN."""

    def put_keys(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
        n_embd = g("hidden_size", "d_model", "n_embd")
        put("attention.head_count", 0)
        put("attention.head_count_kv", 0)
        put("feed_forward_length", 0)
        put("ssm.conv_kernel", g("conv_kernel", "d_conv", default=4))
        put("ssm.inner_size", g("intermediate_size", default=g("expand", default=2) * n_embd))
        put("ssm.state_size", g("state_size", "d_state", default=128))
        put("ssm.time_step_rank", g("num_heads", "time_step_rank"))
        put("ssm.group_count", g("n_groups", default=groups_default))

    return put_keys


def _hf_hybrid(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """Hybrid Mamba-2 + attention configs (GraniteMoeHybrid, Falcon-H1, Jamba, Nemotron-H): SSM
    keys from ``mamba_*`` and per-layer KV heads (0 for Mamba layers) from ``layer_types``."""
    n_embd = g("hidden_size", "d_model", "n_embd")
    n_layer = g("num_hidden_layers", "n_layer", "num_layers")
    n_head = g("num_attention_heads", "n_head", default=0)
    put("ssm.conv_kernel", g("mamba_d_conv", "conv_kernel", default=4))
    n_h = g("mamba_n_heads")
    d_h = g("mamba_d_head")
    inner = n_h * d_h if n_h and d_h else g("mamba_expand", default=2) * n_embd
    put("ssm.inner_size", inner)
    put("ssm.state_size", g("mamba_d_state", "state_size", default=128))
    put("ssm.time_step_rank", n_h)
    put("ssm.group_count", g("mamba_n_groups", "n_groups", default=1))
    types = g("layer_types", "layers_block_type")
    if isinstance(types, list) and len(types) == n_layer:
        kvh = g("num_key_value_heads", default=n_head)
        put("attention.head_count_kv", tuple(0 if "mamba" in str(t) else kvh for t in types))


def hf_moe_variant(m: dict[str, Any], moe_arch: str) -> None:
    """Rename the metadata ``m`` to ``moe_arch`` (``general.architecture`` and every key prefix):
    one HF model_type that convert_hf_to_gguf.py writes as a separate MoE architecture when the
    config has routed experts (Nemotron-H → nemotron_h_moe)."""
    old = str(m["general.architecture"])
    for k in [k for k in m if k.startswith(old + ".")]:
        m[moe_arch + k[len(old) :]] = m.pop(k)
    m["general.architecture"] = moe_arch


def _hf_nemotron_h(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py NemotronHModel: ``hybrid_override_pattern`` names each layer (M Mamba-2,
    ``*`` attention, ``-`` MLP, E MoE): KV heads on attention layers only, ``feed_forward_length``
    on MLP/MoE layers only (the others 0: llama.cpp's recurrent rule is no KV and no FFN);
    d_inner = mamba_num_heads · mamba_head_dim; routed experts make it ``nemotron_h_moe``
    (https://github.com/ggml-org/llama.cpp/blob/master/convert_hf_to_gguf.py NemotronHModel)."""
    _hf_hybrid(g, put, m)
    n_layer = g("num_hidden_layers", "n_layer", "num_layers")
    n_h, d_h = g("mamba_num_heads", "mamba_n_heads"), g("mamba_head_dim", "mamba_d_head")
    if n_h and d_h:
        put("ssm.inner_size", n_h * d_h)
        put("ssm.time_step_rank", n_h)
    put("ssm.state_size", g("ssm_state_size", "mamba_d_state", default=128))
    put("ssm.group_count", g("n_groups", "mamba_n_groups", default=1))
    put("ssm.conv_kernel", g("conv_kernel", "mamba_d_conv", default=4))
    pattern = g("hybrid_override_pattern")
    types = g("layers_block_type")  # newer transformers configs: the same pattern as words
    if pattern is None and isinstance(types, list):
        pattern = "".join(
            {"mamba": "M", "attention": "*", "mlp": "-", "moe": "E"}.get(str(t), "?") for t in types
        )
    if isinstance(pattern, str) and len(pattern) == n_layer:
        kvh = g("num_key_value_heads", default=g("num_attention_heads", default=0))
        ff = g("intermediate_size", default=0)
        put("attention.head_count_kv", tuple(kvh if c == "*" else 0 for c in pattern))
        put("feed_forward_length", tuple(ff if c in "-E" else 0 for c in pattern))
    if g("n_routed_experts"):
        put("expert_shared_feed_forward_length", g("moe_shared_expert_intermediate_size"))
        put("expert_shared_count", g("n_shared_experts", default=1))
        hf_moe_variant(m, "nemotron_h_moe")


def _hf_lfm2(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py LFM2Model / LFM2MoeModel: KV heads only on attention layers
    (``layer_types`` "conv" / "full_attention", or older configs' ``full_attn_idxs``), the short
    convolution's ``conv_L_cache``, and the FFN width ``block_ff_dim`` shrunk to 2/3, times
    ``block_ffn_dim_multiplier``, rounded up to ``block_multiple_of`` when
    ``block_auto_adjust_ff_dim`` (dense LFM2 only; LFM2-MoE stores ``intermediate_size`` as is)
    (https://github.com/ggml-org/llama.cpp/blob/master/convert_hf_to_gguf.py LFM2Model)."""
    n_layer = g("num_hidden_layers", "n_layer", "num_layers")
    kvh = g("num_key_value_heads", default=g("num_attention_heads", default=0))
    types = g("layer_types")
    idxs = g("full_attn_idxs")
    if isinstance(types, list) and len(types) == n_layer:
        put("attention.head_count_kv", tuple(0 if t == "conv" else kvh for t in types))
    elif isinstance(idxs, list):
        put("attention.head_count_kv", tuple(kvh if i in idxs else 0 for i in range(n_layer)))
    put("shortconv.l_cache", g("conv_L_cache", default=3))
    if g("num_experts"):  # lfm2moe: dense lead layers, routed experts with a score bias
        put("leading_dense_block_count", g("num_dense_layers", default=0))
        return
    ff = g("block_ff_dim", "intermediate_size")
    # transformers' Lfm2Config defaults (what convert reads when config.json omits the keys):
    # auto-adjust on, multiplier 1.0, multiple of 256
    if ff and g("block_auto_adjust_ff_dim", default=True):
        ff = int(2 * ff / 3)
        mult = g("block_ffn_dim_multiplier", default=1.0)
        if mult is not None:
            ff = int(mult * ff)
        of = g("block_multiple_of", default=256)
        ff = of * ((ff + of - 1) // of)
    if ff:
        put("feed_forward_length", ff)


# Mamba-1 conv state has no B/C groups (llama-hparams.cpp n_embd_r)
register(
    ArchFamily(
        "mamba",
        recurrent="ssm",
        ssm_conv_uses_groups=False,
        hf_model_types=("mamba",),
        hf_metadata=_hf_mamba(0),
    )
)
register(
    ArchFamily(
        "mamba2",
        build_shapes=_mamba2_shapes,
        recurrent="ssm",
        hf_model_types=("mamba2",),
        hf_metadata=_hf_mamba(1),
    )
)
for _name in ("rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"):  # llm_arch_is_recurrent
    register(ArchFamily(_name, recurrent="all"))
register(
    ArchFamily(
        "granitehybrid",
        aliases=("granite_hybrid",),
        build_shapes=_granitehybrid_shapes,
        recurrent="if_no_kv",
        hf_model_types=("granitemoehybrid",),
        hf_expert_ff_is_intermediate=True,
        hf_metadata=_hf_hybrid,
    )
)
register(ArchFamily("jamba", recurrent="if_no_kv", hf_model_types=("jamba",), hf_metadata=_hf_hybrid))
register(ArchFamily("plamo2", recurrent="if_no_kv"))
register(ArchFamily("kimi-linear", recurrent="if_no_kv"))
# models/lfm2.cpp: short-conv layers have no KV heads; every attention layer is SWA when stored
register(
    ArchFamily(
        "lfm2",
        build_shapes=_lfm2_shapes,
        recurrent="if_no_kv",
        swa_mode="attention_layers",
        hf_model_types=("lfm2",),
        hf_metadata=_hf_lfm2,
    )
)
register(
    ArchFamily(
        "lfm2moe",
        build_shapes=_lfm2_shapes,
        recurrent="if_no_kv",
        hf_model_types=("lfm2_moe",),
        hf_metadata=_hf_lfm2,
    )
)
# models/nemotron-h.cpp: recurrent = no KV heads and no FFN
register(
    ArchFamily(
        "nemotron_h",
        build_shapes=_nemotron_h_shapes,
        recurrent="if_no_kv_no_ff",
        hf_model_types=("nemotron_h",),
        hf_metadata=_hf_nemotron_h,
    )
)
register(ArchFamily("nemotron_h_moe", build_shapes=_nemotron_h_shapes, recurrent="if_no_kv_no_ff"))
# models/falcon-h1.cpp: every layer has both attention (KV cache) and an SSM (recurrent state)
register(
    ArchFamily(
        "falcon-h1",
        build_shapes=_falcon_h1_shapes,
        recurrent="all_with_kv",
        recurrent_stage_per_token=_falcon_h1_ssm_stage,
        ssm_scan="conv_hole",
        attn_rot_block=True,
        kv_on_recurrent=True,
        hf_model_types=("falcon_h1",),
        hf_metadata=_hf_hybrid,
    )
)
