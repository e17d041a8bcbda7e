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
``extra["notes"]`` rather than guessing. The per-architecture rules (SWA pattern, recurrent
layers, old spellings) come from the architecture registry (:mod:`rigfit.archs`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal, overload

from rigfit.archs import ArchFamily, SwaRule, families, gguf_family, is_expert_tensor
from rigfit.catalog.arch import MLA, SSM, Architecture, ModelSpec, MoE, TensorInfo
from rigfit.errors import BadFileError
from rigfit.formats.gguf import GGUFFile, LazyArray, path_name, path_stem, read_gguf
from rigfit.formats.mmproj import CLIP_ARCH
from rigfit.safeio import clean_text

if TYPE_CHECKING:
    from pathlib import Path

#: Every ``general.architecture`` llama.cpp knows (one registered family each, rigfit.archs).
#: A file naming anything else cannot be run by llama.cpp.
LLAMACPP_ARCHS = frozenset(f.name for f in families())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_U64_MAX = 2**64 - 1
#: Plausible maxima of structural sizes and counts: each is far above any published model (largest
#: today: hidden size 18,432, FFN 73,728, 256 routed experts, 128 heads, vocabulary 262,144 —
#: e.g. https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json,
#: https://huggingface.co/google/gemma-3-27b-it/blob/main/config.json), so a header with
#: embedding_length 2^63 is refused instead of planning 10^29 GiB.
_COUNT_MAX: dict[str, int] = {
    "embedding_length": 2**20,
    "feed_forward_length": 2**22,
    "attention.head_count": 2**16,
    "attention.head_count_kv": 2**16,
    "attention.key_length": 2**16,
    "attention.value_length": 2**16,
    "vocab_size": 2**24,
    "context_length": 2**32,
    "expert_count": 2**16,
    "expert_used_count": 2**16,
    "expert_feed_forward_length": 2**22,
    "attention.kv_lora_rank": 2**16,
    "attention.q_lora_rank": 2**16,
}

#: Keys that must hold whole numbers (a float layer count is a damaged header, not 12 layers).
_WHOLE_KEYS = frozenset(_COUNT_MAX) | {
    "block_count",
    "nextn_predict_layers",
    "leading_dense_block_count",
    "expert_shared_count",
}


def _describe(v: Any) -> str:
    """A metadata value in words for an error message (never its raw bytes)."""
    if isinstance(v, str):
        return f"text ({len(v):,} characters)"
    if isinstance(v, (list, tuple, LazyArray)):
        return f"a list of {len(v):,} values"
    return f"a {type(v).__name__}"


class _Keys:
    def __init__(self, g: GGUFFile, arch: str) -> None:
        self.g = g
        self.arch = arch

    def raw(self, suffix: str) -> Any:
        return self.g.metadata.get(f"{self.arch}.{suffix}")

    @overload
    def u(self, suffix: str, default: int, required: bool = False) -> int: ...
    @overload
    def u(self, suffix: str, default: None = None, *, required: Literal[True]) -> int: ...
    @overload
    def u(self, suffix: str, default: None = None, required: bool = False) -> int | None: ...

    def u(self, suffix: str, default: int | None = None, required: bool = False) -> int | None:
        """An unsigned integer key: ``default`` when absent (an error when ``required``)."""
        v = self.raw(suffix)
        key = f"{self.arch}.{suffix}"
        if v is None:
            if required:
                raise BadFileError(self.g.path, f"missing required key {key}")
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise BadFileError(self.g.path, f"key {key} holds {_describe(v)} where a whole number belongs")
        if isinstance(v, float) and not (math.isfinite(v) and (v.is_integer() or suffix not in _WHOLE_KEYS)):
            raise BadFileError(self.g.path, f"key {key} is {v!r}, not a whole number")
        if v < 0:
            raise BadFileError(self.g.path, f"key {key} is negative ({v})")
        limit = _COUNT_MAX.get(suffix, _U64_MAX)
        if v > limit:
            raise BadFileError(
                self.g.path, f"key {key} is {int(v):,}, beyond any real model (at most {limit:,})"
            )
        return int(v)

    @overload
    def per_layer(self, suffix: str, n: int, default: int | tuple[int, ...]) -> tuple[int, ...]: ...
    @overload
    def per_layer(self, suffix: str, n: int, default: None) -> tuple[int, ...] | None: ...

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
        return (self.u(suffix, 0),) * n  # present: the default is never used


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


def _family(g: GGUFFile) -> tuple[str, ArchFamily]:
    """(llama.cpp name, family) of the file's architecture; rejects what llama.cpp cannot run."""
    name = g.architecture
    if not name:
        raise BadFileError(g.path, "no general.architecture key: not a model GGUF (a LoRA or mmproj?)")
    fam = gguf_family(name)
    if fam is None:
        raise BadFileError(
            g.path,
            f"unknown architecture {name!r}: llama.cpp (2026) does not know it, so it cannot run this file",
            "Check the file came from llama.cpp's converter; a newer llama.cpp may support it.",
        )
    if fam.not_a_model:
        hint = (
            "Plan the main model with --mmproj THIS_FILE."
            if name == CLIP_ARCH  # a projector file (formats/mmproj.py)
            else "Inspect the main model GGUF instead."
        )
        raise BadFileError(g.path, fam.not_a_model, hint)
    return fam.name, fam


def _layer_counts(g: GGUFFile, k: _Keys, extra: dict, notes: list[str]) -> tuple[int, int]:
    """(n_layer_all, n_layer): GGUF blocks and decoder layers (without kept MTP layers)."""
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
    return n_layer_all, n_layer


def _head_dims(g: GGUFFile, k: _Keys, n_embd: int, n_head0: int, extra: dict) -> tuple[int, int]:
    """(n_embd_head_k, n_embd_head_v) as load_hparams reads them (0 without attention heads)."""
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
    return head_k, head_v


def _vocab_size(g: GGUFFile, k: _Keys, tensors: dict[str, TensorInfo], notes: list[str]) -> int:
    """{arch}.vocab_size, else the tokenizer list, else the embedding matrix."""
    n_vocab = k.u("vocab_size")
    if n_vocab is None:
        n_vocab = g.array_len("tokenizer.ggml.tokens")
    if n_vocab is None:
        emb = tensors.get("token_embd.weight")
        n_vocab = emb.shape[1] if emb is not None and len(emb.shape) > 1 else 0
        if n_vocab:
            notes.append("vocabulary size taken from token_embd (no tokenizer in the file)")
    return n_vocab


def _read_moe(
    g: GGUFFile, k: _Keys, fam: ArchFamily, n_layer_all: int, n_layer: int, extra: dict
) -> MoE | None:
    """Mixture-of-experts hparams (expert counts, widths, shared experts, dense lead)."""
    n_expert = k.u("expert_count", 0)
    if not n_expert:
        return None
    used = k.per_layer("expert_used_count", n_layer_all, 0)
    n_used = max(used) if used else 0
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
    if not n_shared and not shared_ff:  # llama4: one shared expert of width n_ff_exp, no key
        n_shared = fam.implicit_shared_experts
    if len(set(used[:n_layer])) > 1:
        extra["expert_used_per_layer"] = used
    step = k.u("interleave_moe_layer_step")
    if step:  # llama4: only every step-th layer is MoE
        extra["interleave_moe_layer_step"] = step
    return MoE(
        n_expert=n_expert,
        n_expert_used=n_used,
        expert_ff=ff_exp,
        n_expert_shared=n_shared,
        shared_ff=shared_ff,
        n_dense_lead=k.u("leading_dense_block_count", 0),
    )


def _dense_ff(
    k: _Keys,
    tensors: dict[str, TensorInfo],
    moe: MoE | None,
    ff_meta: tuple[int, ...],
    n_layer: int,
    moe_dense_ffn: bool = False,
) -> int | tuple[int, ...]:
    """Dense FFN width per layer: from the tensors when present (exact), else the metadata.

    Catalog convention (rigfit.catalog.models): for MoE models n_ff is the width of the *dense*
    FFN layers (DeepSeek's leading dense blocks), 0 when every layer is MoE.
    """
    step = k.u("interleave_moe_layer_step", 0) if moe is not None else 0

    def moe_layer(il: int) -> bool:
        return moe is not None and il >= moe.n_dense_lead and (step <= 1 or (il + 1) % step == 0)

    ff_layers = []
    for il in range(n_layer):
        down = _layer_tensor(tensors, il, "ffn_down")
        if down is not None and len(down.shape) == 2:
            ff_layers.append(down.shape[0])
        elif (tensors and (moe is not None or f"blk.{il}.ssm_in.weight" in tensors)) or (
            not tensors and moe_layer(il) and not moe_dense_ffn
        ):
            ff_layers.append(0)
        else:
            ff_layers.append(ff_meta[il])
    if moe is None:
        return _collapse(tuple(ff_layers))
    dense = {f for f in ff_layers if f}
    return dense.pop() if len(dense) == 1 else (_collapse(tuple(ff_layers)) if dense else 0)


def _read_mla(g: GGUFFile, k: _Keys, head_k: int, extra: dict, notes: list[str]) -> MLA | None:
    """Multi-head latent attention (models/deepseek2.cpp; llama_hparams::is_mla)."""
    k_mla, v_mla = k.u("attention.key_length_mla", 0), k.u("attention.value_length_mla", 0)
    kv_lora = k.u("attention.kv_lora_rank", 0)
    if k_mla and v_mla:
        n_rot = k.u("rope.dimension_count", head_k)
        if n_rot > k_mla:
            raise BadFileError(g.path, f"rope.dimension_count {n_rot} exceeds key_length_mla {k_mla}")
        return MLA(
            kv_lora_rank=kv_lora,
            qk_nope_head_dim=k_mla - n_rot,
            qk_rope_head_dim=n_rot,
            v_head_dim=v_mla,
            q_lora_rank=k.u("attention.q_lora_rank") or None,
        )
    if kv_lora:
        extra["kv_lora_rank"] = kv_lora
        notes.append(
            "low-rank KV projection without key_length_mla: llama.cpp caches full K/V "
            "(old-style DeepSeek2 GGUF)"
        )
    return None


def _read_ssm(k: _Keys) -> SSM | None:
    if k.raw("ssm.conv_kernel") is None and k.raw("ssm.state_size") is None:
        return None
    return SSM(
        d_conv=k.u("ssm.conv_kernel", 0),
        d_inner=k.u("ssm.inner_size", 0),
        d_state=k.u("ssm.state_size", 0),
        n_group=k.u("ssm.group_count", 0),
        n_head=k.u("ssm.time_step_rank", 0),
    )


def _recurrent_layers(
    g: GGUFFile,
    k: _Keys,
    fam: ArchFamily,
    n_layer: int,
    n_layer_all: int,
    hkv: tuple[int, ...],
    ff_meta: tuple[int, ...],
    extra: dict,
    notes: list[str],
) -> tuple[tuple[bool, ...] | None, tuple[int, ...]]:
    """(recurrent flag per layer, KV heads per layer) by the family's rule (``ArchFamily.recurrent``)."""
    rule = fam.recurrent
    recurrent: tuple[bool, ...] | None = None
    if rule in ("ssm", "all"):
        recurrent = None if rule == "ssm" else (True,) * n_layer
        for key in ("wkv.head_size", "token_shift_count"):
            if k.raw(key) is not None:
                extra[key.replace(".", "_")] = k.u(key)
    elif rule == "if_no_kv":
        recurrent = tuple(h == 0 for h in hkv)
    elif rule == "if_no_kv_no_ff":
        recurrent = tuple(hkv[i] == 0 and ff_meta[i] == 0 for i in range(n_layer))
    elif rule == "interval":
        arr = k.raw("attention.recurrent_layers")
        if arr is not None:
            vals = _layer_array(g, f"{k.arch}.attention.recurrent_layers", arr)
            if not isinstance(vals, tuple) or len(vals) != n_layer_all:
                raise BadFileError(
                    g.path, f"{k.arch}.attention.recurrent_layers must have {n_layer_all} entries"
                )
            recurrent = tuple(bool(x) for x in vals[:n_layer])
        else:
            interval = k.u("full_attention_interval", 4) or 4
            recurrent = tuple((i + 1) % interval != 0 for i in range(n_layer))
        # the file stores one head_count_kv; recurrent (Gated-DeltaNet) layers have no KV cache
        hkv = tuple(0 if recurrent[i] else hkv[i] for i in range(n_layer))
    elif rule == "all_with_kv":
        recurrent = (True,) * n_layer
        notes.append("every layer has both attention (KV cache) and an SSM (recurrent state)")
    if k.raw("shortconv.l_cache") is not None:
        extra["shortconv_l_cache"] = k.u("shortconv.l_cache")
    for key in fam.gguf_extra_keys:  # the family's own keys (ArchFamily.gguf_extra_keys)
        v = k.raw(key)
        if isinstance(v, (list, tuple)):  # a per-layer array (llama.cpp get_key_or_arr)
            extra[key.replace(".", "_")] = list(k.per_layer(key, n_layer, None) or ())
        elif v is not None:
            extra[key.replace(".", "_")] = k.u(key)
    return recurrent, hkv


def architecture_from_gguf(g: GGUFFile, model_id: str | None = None) -> Architecture:
    """Build an :class:`Architecture` from a GGUF header exactly as llama.cpp's loader would."""
    arch, fam = _family(g)
    k = _Keys(g, g.architecture or arch)
    notes: list[str] = []
    extra: dict[str, Any] = {"gguf_version": g.version, "alignment": g.alignment}

    n_layer_all, n_layer = _layer_counts(g, k, extra, notes)
    n_embd = k.u("embedding_length", required=True)
    n_ctx_train = k.u("context_length", 0)
    head = k.per_layer("attention.head_count", n_layer_all, 0)
    head_kv = k.per_layer("attention.head_count_kv", n_layer_all, head)  # default: n_head
    if fam.recurrent == "none" and not fam.not_a_model and not any(head[:n_layer]):
        raise BadFileError(g.path, f"{arch}.attention.head_count is 0: a transformer needs attention heads")
    ff_meta = k.per_layer("feed_forward_length", n_layer_all, 0)
    head_k, head_v = _head_dims(g, k, n_embd, head[0], extra)
    tensors = {t.name: t for t in g.tensors}
    n_vocab = _vocab_size(g, k, tensors, notes)

    moe = _read_moe(g, k, fam, n_layer_all, n_layer, extra)
    n_ff = _dense_ff(k, tensors, moe, ff_meta, n_layer, fam.moe_dense_ffn)
    extra["feed_forward_length"] = _collapse(ff_meta[:n_layer])
    mla = _read_mla(g, k, head_k, extra, notes)
    ssm = _read_ssm(k)
    recurrent, hkv = _recurrent_layers(
        g, k, fam, n_layer, n_layer_all, head_kv[:n_layer], ff_meta, extra, notes
    )
    sliding_window, swa_layers = _sliding_window(g, k, fam, n_layer, recurrent, notes, extra)

    # --- tensors-derived facts ---------------------------------------------------------------
    total = g.n_params
    active = None
    if moe is not None:
        exp_el = sum(t.n_elements for t in g.tensors if is_expert_tensor(t.name))
        active = total - exp_el + exp_el * moe.n_expert_used // moe.n_expert
    if len(set(head[:n_layer])) > 1:
        extra["n_head_per_layer"] = head[:n_layer]
    _file_extras(g, k, extra)
    if notes:
        extra["notes"] = notes

    name = g.get("general.name")
    return Architecture(
        id=model_id or path_stem(g.path),
        arch=arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=max(head[:n_layer]) if head[:n_layer] else 0,
        n_head_kv=_collapse(hkv),
        n_embd_head_k=head_k,
        n_embd_head_v=head_v,
        n_ff=n_ff,
        n_vocab=n_vocab,
        n_ctx_train=n_ctx_train,
        # a display name from the file: control characters (ESC[2J, OSC-8 links) shown as \xNN
        name=clean_text(name, 256) if isinstance(name, str) else "",
        family=str(g.get("general.basename") or ""),
        tied_embeddings="output.weight" not in tensors and bool(tensors),
        attn_bias=any(
            f"blk.{il}.{n}.bias" in tensors
            for il in range(min(n_layer, 4))
            for n in ("attn_q", "attn_qkv", "attn_k")
        ),
        qk_norm=any(f"blk.{il}.attn_q_norm.weight" in tensors for il in range(min(n_layer, 4))),
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


def _file_extras(g: GGUFFile, k: _Keys, extra: dict) -> None:
    """File type, RoPE base and rotary dims, kept in ``extra`` for display and speed."""
    ft = g.file_type
    if ft:
        extra["file_type"] = ft
    theta = k.raw("rope.freq_base")
    if isinstance(theta, (int, float)) and not isinstance(theta, bool):
        extra["rope_theta"] = float(theta)
    rope = k.u("rope.dimension_count")
    if rope is not None:
        extra["n_rot"] = rope


def _swa_array(
    g: GGUFFile, fam: ArchFamily, pat: Any, key_swa: int | None, n_layer: int, notes: list[str]
) -> tuple[int | None, tuple[bool, ...] | None]:
    """No period rule: SWA layers only from a stored per-layer bool array."""
    arr = _layer_array(g, "sliding_window_pattern", pat)
    if not isinstance(arr, tuple) or len(arr) < n_layer:
        if fam.swa_mode == "array_only":
            notes.append(f"{fam.name}: sliding_window_pattern array missing; SWA layers unknown")
        return (key_swa or None), None
    return key_swa or None, tuple(bool(x) for x in arr[:n_layer])


def _sliding_window(
    g: GGUFFile,
    k: _Keys,
    fam: ArchFamily,
    n_layer: int,
    recurrent: tuple[bool, ...] | None,
    notes: list[str],
    extra: dict,
) -> tuple[int | None, tuple[bool, ...] | None]:
    """(n_swa, SWA flag per layer) by the family's rule (``ArchFamily.swa`` / ``swa_mode``)."""
    key_swa = k.u("attention.sliding_window")
    pat = k.raw("attention.sliding_window_pattern")
    if fam.swa_mode == "disabled":
        if key_swa:
            notes.append(f"sliding_window {key_swa} stored but llama.cpp runs {fam.name} without SWA")
        return None, None
    if fam.swa_mode == "attention_layers" and key_swa:  # every attention layer is SWA (lfm2)
        return key_swa, tuple(not r for r in (recurrent or (False,) * n_layer))
    rule: SwaRule | None = fam.swa
    if rule is not None and rule.only_n_layer is not None and n_layer != rule.only_n_layer:
        return None, None
    if rule is None:
        if fam.swa_mode == "array_only" or isinstance(pat, (tuple, LazyArray)):
            return _swa_array(g, fam, pat, key_swa, n_layer, notes)
        if key_swa:
            notes.append(f"sliding_window {key_swa} stored, but llama.cpp applies no SWA for {fam.name}")
        return None, None
    if rule.when == "if_key" and not key_swa:
        return None, None
    if rule.when == "unless_zero" and key_swa is not None and key_swa == 0:
        return None, None
    n_swa = key_swa if key_swa is not None and not rule.forced_swa else rule.default_swa
    if rule.swa_type:
        extra["swa_type"] = rule.swa_type
    if rule.required and key_swa is None:
        raise BadFileError(g.path, f"{fam.name}.attention.sliding_window is required but missing")
    # load_swa_pattern: a stored bool array wins, else a stored u32 period, else the arch default
    if isinstance(pat, (tuple, LazyArray)):
        arr = _layer_array(g, "sliding_window_pattern", pat)
        if len(arr) < n_layer:
            raise BadFileError(g.path, f"sliding_window_pattern has {len(arr)} entries for {n_layer} layers")
        layers = tuple(bool(x) for x in arr[:n_layer])
    else:
        n_pattern = pat if _is_int(pat) else rule.n_pattern
        layers = _swa_pattern(n_layer, n_pattern, rule.dense_first)
        extra["swa_pattern"] = n_pattern
    return (n_swa or None), layers


def model_from_gguf(path: str | Path, g: GGUFFile | None = None) -> ModelSpec:
    """Read a GGUF (split parts included) into a :class:`ModelSpec` with exact tensor bytes."""
    g = g if g is not None else read_gguf(path)
    arch = architecture_from_gguf(g)
    return ModelSpec(
        arch=arch, tensors=g.tensors, file_type=g.file_type, origin="gguf", path=str(path), tensors_exact=True
    )
