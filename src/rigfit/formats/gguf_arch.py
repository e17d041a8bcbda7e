"""Architecture of a GGUF model, read the way llama.cpp reads it.

The rules follow llama.cpp's ``llama_model_base::load_hparams`` (src/llama-model.cpp) and the
per-architecture ``load_arch_hparams`` in ``src/models/<arch>.cpp`` (read from the llama.cpp
copy vendored in llama-cpp-python 0.3.36, Nov 2026; reference only). Citations are given as
``models/<file>.cpp`` next to each rule.

What the file does not say, llama.cpp derives, and so do we — most importantly the
sliding-window layer pattern (``hparams.set_swa_pattern(n, dense_first)`` in
src/llama-hparams.cpp: layer ``il`` is SWA iff ``il % n < n - 1``, or ``il % n != 0`` when
``dense_first``; ``n == 0`` makes every layer SWA) and which layers of a hybrid are recurrent.
An architecture whose rule we do not know keeps ``sliding_window=None`` and says so in
``extra["notes"]`` rather than guessing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rigfit.catalog.arch import MLA, SSM, Architecture, ModelSpec, MoE, TensorInfo
from rigfit.errors import BadFileError
from rigfit.formats.gguf import GGUFFile, LazyArray, path_name, path_stem, read_gguf

if TYPE_CHECKING:
    from pathlib import Path

#: (default pattern n, dense_first, default n_swa, when) per arch; ``when``:
#: "always" (SWA regardless of the key), "if_key" (only if sliding_window > 0 is stored),
#: "unless_zero" (always unless the key is stored as 0).
SWA_RULES: dict[str, tuple[int, bool, int, str]] = {
    "gemma2": (2, False, 4096, "always"),  # models/gemma2.cpp: n_swa = 4096 default, pattern 2
    "gemma3": (6, False, 0, "if_key"),  # models/gemma3.cpp: pattern 6 if sliding_window > 0
    "gemma3n": (5, False, 0, "always"),  # models/gemma3n.cpp
    "gemma-embedding": (6, False, 0, "always"),  # models/gemma-embedding.cpp (symmetric)
    "cohere2": (4, False, 0, "always"),  # models/cohere2.cpp
    "cohere2moe": (4, True, 0, "always"),  # models/cohere2moe.cpp (dense first)
    "gpt-oss": (2, False, 0, "always"),  # models/openai-moe.cpp: n_swa from key (128)
    "llama4": (4, False, 8192, "unless_zero"),  # models/llama4.cpp: chunked 8192, 3 chunked : 1 full
    "olmo2": (4, False, 0, "if_key"),  # models/olmo2.cpp
    "afmoe": (4, False, 0, "if_key"),  # models/afmoe.cpp
    "smallthinker": (4, True, 4096, "if_key"),  # models/smallthinker.cpp: n_swa forced to 4096
    "exaone-moe": (4, False, 128, "always"),  # models/exaone-moe.cpp: n_swa = 128
    "mellum": (4, False, 0, "if_key"),  # models/mellum.cpp
    "plamo3": (8, False, 0, "if_key"),  # models/plamo3.cpp
    "muse-glimmer": (4, False, 0, "always"),  # models/muse-glimmer.cpp
    "laguna": (4, True, 0, "if_key"),  # models/laguna.cpp
    "modern-bert": (3, True, 0, "if_key"),  # models/modern-bert.cpp
}
#: Archs whose SWA layers are given only by a stored per-layer bool array.
SWA_ARRAY_ONLY = {"gemma4", "granite_swa", "mimo2", "step35"}
#: Archs that read sliding_window but run without SWA (models/phi3.cpp: "Phi SWA is currently
#: disabled"); qwen2/qwen3/mistral/llama store no SWA that llama.cpp uses.
SWA_DISABLED = {"phi3"}

PURE_RECURRENT = {"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"}  # llm_arch_is_recurrent
RECURRENT_IF_NO_KV = {"jamba", "granitehybrid", "plamo2", "lfm2", "lfm2moe", "kimi-linear"}
RECURRENT_IF_NO_KV_NO_FF = {"nemotron_h", "nemotron_h_moe"}  # models/nemotron-h.cpp
RECURRENT_INTERVAL = {"qwen3next", "qwen35", "qwen35moe", "qwen4exp"}  # models/qwen3next.cpp
ALL_LAYERS_SSM_AND_ATTN = {"falcon-h1"}  # models/falcon-h1.cpp: is_recr all true, attention too

#: Every ``general.architecture`` llama.cpp knows (src/llama-arch.cpp LLM_ARCH_NAMES, llama.cpp
#: vendored in llama-cpp-python 0.3.36). A file naming anything else cannot be run by llama.cpp.
_LLAMACPP_ARCH_WORDS = """
llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert
nomic-bert nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2
qwen2moe qwen2vl qwen3 qwen3moe qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3
phimoe plamo plamo2 plamo3 codeshell orion internlm2 minicpm minicpm3 gemma gemma2 gemma3 gemma3n
gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 maple jamba falcon-h1 xverse
command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek deepseek2
deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder jais jais2
nemotron nemotron_h nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7 arwkv7 granite
granitemoe granitehybrid graniteswitch granite_swa chameleon wavtokenizer-dec plm bailingmoe
bailingmoe2 bailingmoe3 dots1 dots3note arcee afmoe laguna ernie4_5 ernie4_5-moe hunyuan-moe
hunyuan-dense hunyuan_vl hy_v3 hy_v4 smollm3 gpt-oss lfm2 lfm2moe dream smallthinker llada llada-moe
seed_oss grovemoe apertus minimax-01 hrm_text minimax-m2 minimax-m3 cogvlm rnd1 pangu-embedded
mistral3 eagle3 dflash mistral4 paddleocr mimo2 step35 spark2_5 llama-embed maincoder kimi-linear
kimi-k3 glm5-next talkie mellum nanbeige qwen3tts pockettts clip
"""
LLAMACPP_ARCHS = frozenset(_LLAMACPP_ARCH_WORDS.split())

#: llama.cpp names its GPT-OSS arch ``gpt-oss`` (LLM_ARCH_OPENAI_MOE); accept the old alias.
ARCH_ALIASES = {"openai-moe": "gpt-oss"}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class _Keys:
    def __init__(self, g: GGUFFile, arch: str) -> None:
        self.g = g
        self.arch = arch

    def raw(self, suffix: str) -> Any:
        return self.g.metadata.get(f"{self.arch}.{suffix}")

    def u(self, suffix: str, default: int | None = None, required: bool = False) -> int | None:
        v = self.raw(suffix)
        if v is None:
            if required:
                raise BadFileError(self.g.path, f"missing required key {self.arch}.{suffix}")
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise BadFileError(
                self.g.path,
                f"key {self.arch}.{suffix} should be a number, not "
                f"{self.g.types.get(f'{self.arch}.{suffix}')}",
            )
        if v < 0:
            raise BadFileError(self.g.path, f"key {self.arch}.{suffix} is negative ({v})")
        return int(v)

    def per_layer(self, suffix: str, n: int, default: int | tuple[int, ...] | None) -> tuple[int, ...] | None:
        """llama.cpp get_key_or_arr: a scalar fills every layer; an array must have n_layer_all entries."""
        v = self.raw(suffix)
        if v is None:
            if default is None:
                return None
            return default if isinstance(default, tuple) else (default,) * n
        v = _layer_array(self.g, f"{self.arch}.{suffix}", v)
        if isinstance(v, tuple):
            if len(v) != n or not all(_is_int(x) and x >= 0 for x in v):
                raise BadFileError(
                    self.g.path,
                    f"per-layer key {self.arch}.{suffix} has {len(v)} entries "
                    f"(expected {n} non-negative integers)",
                )
            return tuple(int(x) for x in v)
        return (self.u(suffix),) * n


def _layer_array(g: GGUFFile, key: str, v: Any) -> Any:
    """Per-layer arrays are at most LLAMA_MAX_LAYERS (512) long, so never lazy: a long one is corrupt."""
    if isinstance(v, LazyArray):
        raise BadFileError(g.path, f"per-layer key {key} has {len(v):,} entries (llama.cpp allows 512)")
    return v


def _collapse(t: tuple[int, ...]) -> int | tuple[int, ...]:
    return t[0] if t and all(x == t[0] for x in t) else t


def _swa_pattern(n_layer: int, n_pattern: int, dense_first: bool) -> tuple[bool, ...]:
    """llama_hparams::set_swa_pattern (src/llama-hparams.cpp)."""
    if dense_first:
        return tuple(n_pattern == 0 or il % n_pattern != 0 for il in range(n_layer))
    return tuple(n_pattern == 0 or il % n_pattern < n_pattern - 1 for il in range(n_layer))


def _layer_tensor(tensors: dict[str, TensorInfo], il: int, name: str) -> TensorInfo | None:
    return tensors.get(f"blk.{il}.{name}.weight")


def architecture_from_gguf(g: GGUFFile, model_id: str | None = None) -> Architecture:
    """Build an :class:`Architecture` from a GGUF header exactly as llama.cpp's loader would."""
    arch = g.architecture
    if not arch:
        raise BadFileError(g.path, "no general.architecture key: not a model GGUF (a LoRA or mmproj?)")
    arch = ARCH_ALIASES.get(arch, arch)
    if arch not in LLAMACPP_ARCHS:
        raise BadFileError(
            g.path,
            f"unknown architecture {arch!r}: llama.cpp (2026) does not know it, so it cannot run this file",
            "Check the file came from llama.cpp's converter; a newer llama.cpp may support it.",
        )
    if arch == "clip":
        raise BadFileError(
            g.path,
            "this is a multimodal projector (mmproj) file, not a language model",
            "Inspect the main model GGUF instead.",
        )
    k = _Keys(g, g.architecture or arch)
    notes: list[str] = []
    extra: dict[str, Any] = {"gguf_version": g.version, "alignment": g.alignment}

    n_layer_all = k.u("block_count", required=True)
    if not 0 < n_layer_all <= 512:  # LLAMA_MAX_LAYERS
        raise BadFileError(g.path, f"block_count {n_layer_all} is outside 1..512")
    n_nextn = k.u("nextn_predict_layers", 0)
    if n_nextn > n_layer_all:
        raise BadFileError(g.path, f"nextn_predict_layers {n_nextn} exceeds block_count {n_layer_all}")
    n_layer = n_layer_all - n_nextn  # llama_hparams::n_layer()
    if n_nextn:
        extra["n_nextn_layers"] = extra["nextn_predict_layers"] = n_nextn
        extra["nextn_in_gguf"] = True
        notes.append(f"{n_nextn} multi-token-prediction layer(s) after the {n_layer} main layers")
    n_embd = k.u("embedding_length", required=True)
    n_ctx_train = k.u("context_length", 0)

    head = k.per_layer("attention.head_count", n_layer_all, 0)
    head_kv = k.per_layer("attention.head_count_kv", n_layer_all, head)  # default: n_head
    ff_meta = k.per_layer("feed_forward_length", n_layer_all, 0)
    n_head0 = head[0]
    if n_head0 > 0:
        if n_embd % n_head0 and k.raw("attention.key_length") is None:
            raise BadFileError(g.path, f"embedding_length {n_embd} is not divisible by head_count {n_head0}")
        head_k = k.u("attention.key_length", n_embd // n_head0)
        head_v = k.u("attention.value_length", n_embd // n_head0)
    else:  # non-transformer models have no attention heads (load_hparams)
        head_k = head_v = 0
    if k.raw("attention.key_length_swa") is not None:
        extra["n_embd_head_k_swa"] = k.u("attention.key_length_swa")
        extra["n_embd_head_v_swa"] = k.u("attention.value_length_swa", head_v)

    tensors = {t.name: t for t in g.tensors}

    # vocabulary: {arch}.vocab_size, else the tokenizer list, else the embedding matrix
    n_vocab = k.u("vocab_size")
    if n_vocab is None:
        n_vocab = g.array_len("tokenizer.ggml.tokens")
    if n_vocab is None:
        emb = tensors.get("token_embd.weight")
        n_vocab = emb.shape[1] if emb is not None and len(emb.shape) > 1 else 0
        if n_vocab:
            notes.append("vocabulary size taken from token_embd (no tokenizer in the file)")

    # --- MoE -------------------------------------------------------------------------------
    moe = None
    n_expert = k.u("expert_count", 0)
    used = k.per_layer("expert_used_count", n_layer_all, 0)
    n_used = max(used) if used else 0
    if n_expert:
        if n_used == 0 or n_used > n_expert:
            raise BadFileError(g.path, f"expert_used_count {n_used} is not in 1..expert_count ({n_expert})")
        exp_ff = k.per_layer("expert_feed_forward_length", n_layer_all, None)
        ff_exp = max(exp_ff) if exp_ff else 0
        if not ff_exp:  # fall back on the tensor shapes (ffn_up_exps: [n_embd, n_ff_exp, n_expert])
            for t in g.tensors:
                if t.name.endswith(("ffn_up_exps.weight", "ffn_gate_exps.weight")) and len(t.shape) == 3:
                    ff_exp = t.shape[1]
                    break
        if exp_ff and len(set(exp_ff)) > 1:
            extra["expert_ff_per_layer"] = exp_ff
        n_shared = k.u("expert_shared_count", 0)
        shared_ff = k.u("expert_shared_feed_forward_length")
        if shared_ff and not n_shared:
            n_shared = 1  # qwen2moe-style single shared expert of width n_ff_shexp
        moe = MoE(
            n_expert=n_expert,
            n_expert_used=n_used,
            expert_ff=ff_exp,
            n_expert_shared=n_shared,
            shared_ff=shared_ff,
            n_dense_lead=k.u("leading_dense_block_count", 0),
        )
        if len(set(used[:n_layer])) > 1:
            extra["expert_used_per_layer"] = used
        step = k.u("interleave_moe_layer_step")
        if step:  # llama4: only every step-th layer is MoE
            extra["interleave_moe_layer_step"] = step

    # dense FFN width per layer: from the tensors when present (exact), else the metadata
    step = k.u("interleave_moe_layer_step", 0) if moe is not None else 0

    def moe_layer(il: int) -> bool:
        return moe is not None and il >= moe.n_dense_lead and (step <= 1 or (il + 1) % step == 0)

    ff_layers = []
    for il in range(n_layer):
        down = _layer_tensor(tensors, il, "ffn_down")
        if down is not None and len(down.shape) == 2:
            ff_layers.append(down.shape[0])
        elif (tensors and (moe is not None or f"blk.{il}.ssm_in.weight" in tensors)) or (
            not tensors and moe_layer(il)
        ):
            ff_layers.append(0)
        else:
            ff_layers.append(ff_meta[il])
    if moe is not None:
        # catalog convention (rigfit.catalog.models): n_ff is the width of the *dense* FFN layers
        # (DeepSeek's leading dense blocks), 0 when every layer is MoE; use is_moe_layer().
        dense = {f for f in ff_layers if f}
        n_ff: int | tuple[int, ...] = (
            dense.pop() if len(dense) == 1 else (_collapse(tuple(ff_layers)) if dense else 0)
        )
    else:
        n_ff = _collapse(tuple(ff_layers))
    extra["feed_forward_length"] = _collapse(ff_meta[:n_layer])

    # --- MLA (models/deepseek2.cpp; llama_hparams::is_mla) ----------------------------------
    mla = None
    k_mla, v_mla = k.u("attention.key_length_mla", 0), k.u("attention.value_length_mla", 0)
    kv_lora = k.u("attention.kv_lora_rank", 0)
    if k_mla and v_mla:
        n_rot = k.u("rope.dimension_count", head_k)
        if n_rot > k_mla:
            raise BadFileError(g.path, f"rope.dimension_count {n_rot} exceeds key_length_mla {k_mla}")
        mla = MLA(
            kv_lora_rank=kv_lora,
            qk_nope_head_dim=k_mla - n_rot,
            qk_rope_head_dim=n_rot,
            v_head_dim=v_mla,
            q_lora_rank=k.u("attention.q_lora_rank") or None,
        )
    elif kv_lora:
        extra["kv_lora_rank"] = kv_lora
        notes.append(
            "low-rank KV projection without key_length_mla: llama.cpp caches full K/V "
            "(old-style DeepSeek2 GGUF)"
        )

    # --- SSM / recurrent ---------------------------------------------------------------------
    ssm = None
    if k.raw("ssm.conv_kernel") is not None or k.raw("ssm.state_size") is not None:
        ssm = SSM(
            d_conv=k.u("ssm.conv_kernel", 0),
            d_inner=k.u("ssm.inner_size", 0),
            d_state=k.u("ssm.state_size", 0),
            n_group=k.u("ssm.group_count", 0),
            n_head=k.u("ssm.time_step_rank", 0),
        )
    recurrent: tuple[bool, ...] | None = None
    hkv = head_kv[:n_layer]
    if arch in PURE_RECURRENT:
        recurrent = None if arch in ("mamba", "mamba2") else (True,) * n_layer
        for key in ("wkv.head_size", "token_shift_count"):
            if k.raw(key) is not None:
                extra[key.replace(".", "_")] = k.u(key)
    elif arch in RECURRENT_IF_NO_KV:
        recurrent = tuple(h == 0 for h in hkv)
    elif arch in RECURRENT_IF_NO_KV_NO_FF:
        recurrent = tuple(hkv[i] == 0 and ff_meta[i] == 0 for i in range(n_layer))
    elif arch in RECURRENT_INTERVAL:
        arr = k.raw("attention.recurrent_layers")
        if arr is not None:
            vals = _layer_array(g, f"{arch}.attention.recurrent_layers", arr)
            if not isinstance(vals, tuple) or len(vals) != n_layer_all:
                raise BadFileError(
                    g.path, f"{arch}.attention.recurrent_layers must have {n_layer_all} entries"
                )
            recurrent = tuple(bool(x) for x in vals[:n_layer])
        else:
            interval = k.u("full_attention_interval", 4) or 4
            recurrent = tuple((i + 1) % interval != 0 for i in range(n_layer))
    elif arch in ALL_LAYERS_SSM_AND_ATTN:
        recurrent = (True,) * n_layer
        notes.append("every layer has both attention (KV cache) and an SSM (recurrent state)")
    if k.raw("shortconv.l_cache") is not None:
        extra["shortconv_l_cache"] = k.u("shortconv.l_cache")

    if arch in RECURRENT_INTERVAL and recurrent is not None:
        # the file stores one head_count_kv; recurrent (Gated-DeltaNet) layers have no KV cache
        hkv = tuple(0 if recurrent[i] else hkv[i] for i in range(n_layer))

    # --- sliding window ----------------------------------------------------------------------
    sliding_window, swa_layers = _sliding_window(g, k, arch, n_layer, recurrent, notes, extra)

    # --- tensors-derived facts ---------------------------------------------------------------
    tied = "output.weight" not in tensors and bool(tensors)
    attn_bias = any(
        f"blk.{il}.{n}.bias" in tensors
        for il in range(min(n_layer, 4))
        for n in ("attn_q", "attn_qkv", "attn_k")
    )
    qk_norm = any(f"blk.{il}.attn_q_norm.weight" in tensors for il in range(min(n_layer, 4)))
    total = g.n_params
    active = None
    if moe is not None:
        exp_el = sum(t.n_elements for t in g.tensors if "_exps." in t.name)
        active = total - exp_el + exp_el * moe.n_expert_used // moe.n_expert
    heads_max = max(head[:n_layer]) if head[:n_layer] else 0
    if len(set(head[:n_layer])) > 1:
        extra["n_head_per_layer"] = head[:n_layer]
    ft = g.file_type
    if ft:
        extra["file_type"] = ft
    theta = k.raw("rope.freq_base")
    if isinstance(theta, (int, float)) and not isinstance(theta, bool):
        extra["rope_theta"] = float(theta)
    rope = k.u("rope.dimension_count")
    if rope is not None:
        extra["n_rot"] = rope
    if notes:
        extra["notes"] = notes

    name = g.get("general.name")
    return Architecture(
        id=model_id or path_stem(g.path),
        arch=arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=heads_max,
        n_head_kv=_collapse(hkv),
        n_embd_head_k=head_k,
        n_embd_head_v=head_v,
        n_ff=n_ff,
        n_vocab=n_vocab,
        n_ctx_train=n_ctx_train,
        name=name if isinstance(name, str) else "",
        family=str(g.get("general.basename") or ""),
        tied_embeddings=tied,
        attn_bias=attn_bias,
        qk_norm=qk_norm,
        sliding_window=sliding_window,
        swa_layers=swa_layers,
        moe=moe,
        mla=mla,
        ssm=ssm,
        recurrent_layers=recurrent,
        total_params=total,
        active_params=active,
        sources=(f"GGUF header of {path_name(g.path)}",),
        verified="gguf",
        notes="; ".join(notes) or None,
        extra=extra,
    )


def _sliding_window(
    g: GGUFFile,
    k: _Keys,
    arch: str,
    n_layer: int,
    recurrent: tuple[bool, ...] | None,
    notes: list[str],
    extra: dict,
) -> tuple[int | None, tuple[bool, ...] | None]:
    key_swa = k.u("attention.sliding_window")
    pat = k.raw("attention.sliding_window_pattern")
    if arch in SWA_DISABLED:
        if key_swa:
            notes.append(f"sliding_window {key_swa} stored but llama.cpp runs {arch} without SWA")
        return None, None
    if arch == "lfm2" and key_swa:  # models/lfm2.cpp: every attention layer is SWA
        return key_swa, tuple(not r for r in (recurrent or (False,) * n_layer))
    if arch == "exaone4":  # models/exaone4.cpp: SWA only for the 64-layer (32B) model
        if n_layer != 64:
            return None, None
        rule: tuple[int, bool, int, str] | None = (4, False, 4096, "always")
    else:
        rule = SWA_RULES.get(arch)
    if rule is None:
        if arch in SWA_ARRAY_ONLY or isinstance(pat, (tuple, LazyArray)):
            arr = _layer_array(g, "sliding_window_pattern", pat)
            if not isinstance(arr, tuple) or len(arr) < n_layer:
                if arch in SWA_ARRAY_ONLY:
                    notes.append(f"{arch}: sliding_window_pattern array missing; SWA layers unknown")
                return (key_swa or None), None
            return key_swa or None, tuple(bool(x) for x in arr[:n_layer])
        if key_swa:
            notes.append(f"sliding_window {key_swa} stored, but llama.cpp applies no SWA for {arch}")
        return None, None
    n_pattern, dense_first, default_swa, when = rule
    if when == "if_key" and not key_swa:
        return None, None
    if when == "unless_zero" and key_swa is not None and key_swa == 0:
        return None, None
    if arch == "llama4":
        n_swa = default_swa  # forced to 8192 (chunked attention)
        extra["swa_type"] = "chunked"
    elif arch == "smallthinker":
        n_swa = default_swa
    else:
        n_swa = key_swa if key_swa is not None else default_swa
    if arch == "gpt-oss" and key_swa is None:
        raise BadFileError(g.path, "gpt-oss.attention.sliding_window is required but missing")
    # load_swa_pattern: a stored bool array wins, else a stored u32 period, else the arch default
    if isinstance(pat, (tuple, LazyArray)):
        arr = _layer_array(g, "sliding_window_pattern", pat)
        if len(arr) < n_layer:
            raise BadFileError(g.path, f"sliding_window_pattern has {len(arr)} entries for {n_layer} layers")
        layers = tuple(bool(x) for x in arr[:n_layer])
    else:
        if _is_int(pat):
            n_pattern = pat
        layers = _swa_pattern(n_layer, n_pattern, dense_first)
        extra["swa_pattern"] = n_pattern
    return (n_swa or None), layers


def model_from_gguf(path: str | Path, g: GGUFFile | None = None) -> ModelSpec:
    """Read a GGUF (split parts included) into a :class:`ModelSpec` with exact tensor bytes."""
    g = g if g is not None else read_gguf(path)
    arch = architecture_from_gguf(g)
    return ModelSpec(
        arch=arch, tensors=g.tensors, file_type=g.file_type, origin="gguf", path=str(path), tensors_exact=True
    )
