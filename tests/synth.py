"""Small synthetic GGUF models written with ``gguf.GGUFWriter``, valid for real llama.cpp.

Each ``write_*`` function writes every tensor and key llama.cpp's loader requires for that
architecture (see src/models/<arch>.cpp ``load_arch_hparams``/``load_arch_tensors``), plus a
minimal SentencePiece-style tokenizer (specials + 256 byte tokens + filler pieces), with small
random weights, and returns a :class:`SynthModel` that records exactly what was written
(metadata and, per tensor, GGUF shape, GGML type and byte count) for round-trip tests.

Other helpers' tests import these (``from synth import write_llama``) and load the files in
xllamacpp, so keep them loadable. Defaults are tiny: a file is 1–6 MB and writes in < 0.5 s.

Weight types: 2-D weights use ``wtype`` ("F16" default, or "F32", "Q8_0", "Q4_0", "Q5_0",
"BF16", "MXFP4"; "Q4_K", "Q6_K", "IQ4_NL" as zero blocks, which gguf-py cannot pack); norms,
biases and SSM vectors stay F32, as in converted models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFEndian, GGUFWriter, TokenType
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import quantize

_QUANTIZABLE = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "BF16", "MXFP4", "Q4_K", "Q6_K", "IQ4_NL"}


@dataclass
class SynthModel:
    """What a synthetic writer put in the file."""

    path: Path
    arch: str
    metadata: dict[str, Any] = field(default_factory=dict)
    #: name -> (GGUF shape (ne0 first), GGML type name, exact bytes)
    tensors: dict[str, tuple[tuple[int, ...], str, int]] = field(default_factory=dict)
    dims: dict[str, Any] = field(default_factory=dict)
    #: every file written (several for a split model, first part first)
    parts: list[Path] = field(default_factory=list)

    @property
    def tensor_bytes(self) -> int:
        return sum(b for _, _, b in self.tensors.values())


class _Builder:
    def __init__(
        self,
        path: str | Path,
        arch: str,
        wtype: str = "F16",
        seed: int = 0,
        big_endian: bool = False,
        split_max_tensors: int = 0,
    ) -> None:
        self.path = Path(path)
        self.arch = arch
        self.wtype = wtype
        self.rng = np.random.default_rng(seed)
        endian = GGUFEndian.BIG if big_endian else GGUFEndian.LITTLE
        self.w = GGUFWriter(str(self.path), arch, endianess=endian, split_max_tensors=split_max_tensors)
        self.model = SynthModel(self.path, arch)
        self.model.metadata["general.architecture"] = arch
        self.big_endian = big_endian

    # metadata -------------------------------------------------------------------------------
    def u32(self, key: str, value: int) -> None:
        self.w.add_uint32(key, int(value))
        self.model.metadata[key] = int(value)

    def f32(self, key: str, value: float) -> None:
        self.w.add_float32(key, float(value))
        self.model.metadata[key] = float(value)

    def arr(self, key: str, values: list) -> None:
        self.w.add_array(key, list(values))
        self.model.metadata[key] = tuple(values)

    def string(self, key: str, value: str) -> None:
        self.w.add_string(key, value)
        self.model.metadata[key] = value

    def a(self, suffix: str, value: int | float | list) -> None:
        key = f"{self.arch}.{suffix}"
        if isinstance(value, (list, tuple)):
            self.arr(key, list(value))
        elif isinstance(value, float):
            self.f32(key, value)
        else:
            self.u32(key, value)

    def tokenizer(self, n_vocab: int) -> None:
        """A minimal SentencePiece ("llama") vocabulary of exactly ``n_vocab`` tokens."""
        if n_vocab < 300:
            raise ValueError("n_vocab must be at least 300 (3 specials + 256 byte tokens + pieces)")
        toks = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
        types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
        letters = "abcdefghijklmnopqrstuvwxyz"
        i = 0
        while len(toks) < n_vocab:
            piece = (
                "\u2581"
                + letters[i % 26]
                + (letters[(i // 26) % 26] if i >= 26 else "")
                + (str(i // 676) if i >= 676 else "")
            )
            toks.append(piece)
            types.append(TokenType.NORMAL)
            i += 1
        scores = [0.0] * 259 + [-float(j) for j in range(n_vocab - 259)]
        self.w.add_tokenizer_model("llama")
        self.w.add_token_list(toks)
        self.w.add_token_scores(scores)
        self.w.add_token_types([int(t) for t in types])
        self.w.add_bos_token_id(1)
        self.w.add_eos_token_id(2)
        self.w.add_unk_token_id(0)
        self.model.metadata.update(
            {
                "tokenizer.ggml.model": "llama",
                "tokenizer.ggml.bos_token_id": 1,
                "tokenizer.ggml.eos_token_id": 2,
                "tokenizer.ggml.unknown_token_id": 0,
            }
        )
        self.model.dims["n_vocab"] = n_vocab

    # tensors --------------------------------------------------------------------------------
    def tensor(self, name: str, shape: tuple[int, ...], kind: str = "w", value: float | None = None) -> None:
        """Add a tensor of GGUF shape ``shape`` (ne0 first). kind: "w" weight (wtype), "f32"."""
        np_shape = tuple(reversed(shape))
        if value is not None:
            data = np.full(np_shape, value, dtype=np.float32)
        else:
            scale = 0.02 if kind == "w" else 1.0
            data = (self.rng.standard_normal(np_shape) * scale).astype(np.float32)
            if kind == "norm":
                data = np.ones(np_shape, dtype=np.float32)
        ttype = self.wtype if kind == "w" and len(shape) >= 2 else "F32"
        if ttype in ("F16",):
            self.w.add_tensor(name, data.astype(np.float16))
        elif ttype == "F32":
            self.w.add_tensor(name, data)
        elif ttype in _QUANTIZABLE:
            qt = GGMLQuantizationType[ttype]
            blck = GGML_QUANT_SIZES[qt][0]
            if shape[0] % blck:  # rows that are not whole blocks stay F16, as llama-quantize does
                ttype = "F16"
                self.w.add_tensor(name, data.astype(np.float16))
            else:
                try:
                    packed = quantize(data, qt)
                except NotImplementedError:  # gguf-py packs no K-/IQ-quants: zero blocks (sizes exact)
                    packed = np.zeros((*np_shape[:-1], shape[0] // blck * GGML_QUANT_SIZES[qt][1]), np.uint8)
                self.w.add_tensor(name, packed, raw_dtype=qt)
        else:
            raise ValueError(f"unsupported synthetic weight type {ttype}")
        qt = GGMLQuantizationType[ttype]
        blck, tsize = GGML_QUANT_SIZES[qt]
        n = int(np.prod(shape))
        self.model.tensors[name] = (tuple(int(s) for s in shape), ttype, n // blck * tsize)

    # blocks every writer shares (tensor and key order as convert_hf_to_gguf writes them) --------
    def head_keys(self, n_head: int, n_head_kv: int | list[int], head_dim: int) -> None:
        """Attention head counts and K/V head widths."""
        self.a("attention.head_count", n_head)
        self.a("attention.head_count_kv", n_head_kv)
        self.a("attention.key_length", head_dim)
        self.a("attention.value_length", head_dim)

    def ssm_keys(self, d_conv: int, d_inner: int, d_state: int, dt_rank: int, n_group: int) -> None:
        """Mamba-2 mixer sizes (``ssm.*``)."""
        self.a("ssm.conv_kernel", d_conv)
        self.a("ssm.inner_size", d_inner)
        self.a("ssm.state_size", d_state)
        self.a("ssm.time_step_rank", dt_rank)
        self.a("ssm.group_count", n_group)

    def mla_keys(
        self, n_head: int, q_lora_rank: int, kv_lora_rank: int, qk_nope: int, qk_rope: int, v_head: int
    ) -> None:
        """MLA heads in the current (split ``attn_k_b``/``attn_v_b``) layout, as convert_hf_to_gguf
        writes them now: key_length = kv_lora_rank + rope, value_length = kv_lora_rank, one KV
        head, key/value_length_mla = the decompressed head sizes; then the LoRA ranks."""
        self.a("attention.head_count", n_head)
        self.a("attention.head_count_kv", 1)
        self.a("attention.key_length", kv_lora_rank + qk_rope)
        self.a("attention.value_length", kv_lora_rank)
        self.a("attention.key_length_mla", qk_nope + qk_rope)
        self.a("attention.value_length_mla", v_head)
        self.a("attention.q_lora_rank", q_lora_rank)
        self.a("attention.kv_lora_rank", kv_lora_rank)

    def deepseek_moe_keys(
        self,
        qk_rope: int,
        n_dense_lead: int,
        n_expert: int,
        n_expert_used: int,
        n_expert_shared: int,
        n_ff_exp: int,
        weights_scale: float,
    ) -> None:
        """The DeepSeek MLA + MoE keys after the heads: RoPE over the ``qk_rope`` part of each head,
        the leading dense layers, and the routed / shared experts."""
        self.a("rope.dimension_count", qk_rope)
        self.a("rope.freq_base", 10000.0)
        self.a("leading_dense_block_count", n_dense_lead)
        self.a("expert_count", n_expert)
        self.a("expert_used_count", n_expert_used)
        self.a("expert_shared_count", n_expert_shared)
        self.a("expert_feed_forward_length", n_ff_exp)
        self.a("expert_weights_scale", weights_scale)

    def embed_out(
        self, n_embd: int, n_vocab: int, tied: bool = False, norm: str = "output_norm.weight"
    ) -> None:
        """Token embeddings, the output norm (named ``norm``) and, unless tied, the output head."""
        self.tensor("token_embd.weight", (n_embd, n_vocab))
        self.tensor(norm, (n_embd,), "norm")
        if not tied:
            self.tensor("output.weight", (n_embd, n_vocab))

    def attn(self, p: str, n_embd: int, n_head: int, n_head_kv: int, hd: int, bias: bool = False) -> None:
        """Q, K, V (with biases after them when ``bias``) and output projections of layer ``p``."""
        q, kv = n_head * hd, n_head_kv * hd
        self.tensor(p + "attn_q.weight", (n_embd, q))
        self.tensor(p + "attn_k.weight", (n_embd, kv))
        self.tensor(p + "attn_v.weight", (n_embd, kv))
        if bias:
            self.tensor(p + "attn_q.bias", (q,), "f32")
            self.tensor(p + "attn_k.bias", (kv,), "f32")
            self.tensor(p + "attn_v.bias", (kv,), "f32")
        self.tensor(p + "attn_output.weight", (q, n_embd))

    def qk_norm(self, p: str, hd: int) -> None:
        self.tensor(p + "attn_q_norm.weight", (hd,), "norm")
        self.tensor(p + "attn_k_norm.weight", (hd,), "norm")

    def ffn(self, p: str, n_embd: int, n_ff: int, kind: str = "") -> None:
        """Gated FFN: gate, up, down (``kind`` "_shexp": the shared expert)."""
        self.tensor(p + f"ffn_gate{kind}.weight", (n_embd, n_ff))
        self.tensor(p + f"ffn_up{kind}.weight", (n_embd, n_ff))
        self.tensor(p + f"ffn_down{kind}.weight", (n_ff, n_embd))

    def experts(self, p: str, n_embd: int, n_ff_exp: int, n_expert: int, wtype: str | None = None) -> None:
        """Routed experts (3-D gate, up, down), in ``wtype`` when given (gpt-oss: MXFP4)."""
        keep, self.wtype = self.wtype, wtype or self.wtype
        self.tensor(p + "ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert))
        self.tensor(p + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert))
        self.tensor(p + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert))
        self.wtype = keep

    def mla_attn(
        self,
        p: str,
        n_embd: int,
        n_head: int,
        q_lora_rank: int,
        kv_lora_rank: int,
        qk_nope: int,
        qk_rope: int,
        v_head: int,
    ) -> None:
        """MLA projections of layer ``p``: Q through its LoRA (a plain ``attn_q`` when
        ``q_lora_rank`` is 0), the compressed KV with its RoPE part, the split ``attn_k_b`` /
        ``attn_v_b`` decompressions, and the output."""
        if q_lora_rank > 0:
            self.tensor(p + "attn_q_a_norm.weight", (q_lora_rank,), "norm")
            self.tensor(p + "attn_q_a.weight", (n_embd, q_lora_rank))
            self.tensor(p + "attn_q_b.weight", (q_lora_rank, n_head * (qk_nope + qk_rope)))
        else:
            self.tensor(p + "attn_q.weight", (n_embd, n_head * (qk_nope + qk_rope)))
        self.tensor(p + "attn_kv_a_norm.weight", (kv_lora_rank,), "norm")
        self.tensor(p + "attn_kv_a_mqa.weight", (n_embd, kv_lora_rank + qk_rope))
        self.tensor(p + "attn_k_b.weight", (qk_nope, kv_lora_rank, n_head))
        self.tensor(p + "attn_v_b.weight", (kv_lora_rank, v_head, n_head))
        self.tensor(p + "attn_output.weight", (n_head * v_head, n_embd))

    def deepseek_ffn(
        self,
        p: str,
        n_embd: int,
        dense: bool,
        n_ff: int,
        n_expert: int,
        n_ff_exp: int,
        n_expert_shared: int,
        probs_bias: bool = False,
    ) -> None:
        """``ffn_norm``, then a dense FFN (``dense``: a leading dense layer) or the router (with the
        routed experts' score-correction bias ``exp_probs_b`` when ``probs_bias``), the routed
        experts and the shared expert."""
        self.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        if dense:
            self.ffn(p, n_embd, n_ff)
            return
        self.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        if probs_bias:
            self.tensor(p + "exp_probs_b.bias", (n_expert,), "f32")
        self.experts(p, n_embd, n_ff_exp, n_expert)
        self.ffn(p, n_embd, n_ff_exp * n_expert_shared, "_shexp")

    def ssm(
        self, p: str, n_embd: int, d_inner: int, d_state: int, dt_rank: int, n_group: int, d_conv: int = 4
    ) -> None:
        """Mamba-2 mixer of layer ``p`` (models/mamba-base.cpp ``build_mamba2_layer``)."""
        conv_dim = d_inner + 2 * n_group * d_state
        self.tensor(p + "ssm_in.weight", (n_embd, d_inner + conv_dim + dt_rank))
        self.tensor(p + "ssm_conv1d.weight", (d_conv, conv_dim), "f32")
        self.tensor(p + "ssm_conv1d.bias", (conv_dim,), "f32")
        self.tensor(p + "ssm_dt.bias", (dt_rank,), "f32")
        self.tensor(p + "ssm_a", (1, dt_rank), "f32", value=-1.0)
        self.tensor(p + "ssm_d", (1, dt_rank), "f32", value=1.0)
        self.tensor(p + "ssm_norm.weight", (d_inner // n_group, n_group), "norm")
        self.tensor(p + "ssm_out.weight", (d_inner, n_embd))

    def write(self, file_type: int | None = None, name: str | None = None) -> SynthModel:
        """name: ``general.name`` (default "synthetic <arch>"; llama.cpp's vocabulary loader keys
        token attributes on it, e.g. a name containing "phi3" needs an ``<|endoftext|>`` token)."""
        if file_type is not None:
            self.u32("general.file_type", file_type)
        self.string("general.name", name or f"synthetic {self.arch}")
        self.w.write_header_to_file(self.path)
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()
        if len(self.w.tensors) > 1:  # split: the model's path is its first part
            self.model.parts = self.w.format_shard_names(self.path)
            self.model.path = self.model.parts[0]
        else:
            self.model.parts = [self.path]
        return self.model


_FT = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "BF16": 32, "MXFP4": 38}


def _common(b: _Builder, n_layer: int, n_embd: int, n_ctx: int, n_vocab: int) -> None:
    b.a("context_length", n_ctx)
    b.a("embedding_length", n_embd)
    b.a("block_count", n_layer)
    b.a("attention.layer_norm_rms_epsilon", 1e-5)
    b.tokenizer(n_vocab)


def write_llama(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 4,
    n_ff: int = 512,
    n_vocab: int = 1000,
    n_ctx: int = 4096,
    tied: bool = False,
    wtype: str = "F16",
    head_dim: int | None = None,
    big_endian: bool = False,
    seed: int = 0,
    split_max_tensors: int = 0,
) -> SynthModel:
    """Llama-style dense GQA model (``llama`` arch: models/llama.cpp).

    split_max_tensors > 0 writes a split model ``<stem>-0000N-of-0000M.gguf`` (SynthModel.path is
    the first part); big_endian writes a big-endian GGUF (gguf-py's convert-endian layout).
    """
    hd = head_dim or n_embd // n_head
    b = _Builder(path, "llama", wtype, seed, big_endian, split_max_tensors)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("rope.dimension_count", hd)
    if head_dim:
        b.a("attention.key_length", hd)
        b.a("attention.value_length", hd)
    b.a("rope.freq_base", 500000.0)
    b.embed_out(n_embd, n_vocab, tied)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, hd)
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.ffn(p, n_embd, n_ff)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        head_dim=hd,
        n_ctx=n_ctx,
        tied=tied,
    )
    return b.write(_FT.get(wtype))


def write_moe(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 4,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 4096,
    head_dim: int = 64,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """Qwen3-MoE-style model (``qwen3moe``: models/qwen3moe.cpp): QK-norm, routed experts only."""
    b = _Builder(path, "qwen3moe", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff_exp * n_expert_used * 3)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.freq_base", 1000000.0)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_expert_used)
    b.a("expert_feed_forward_length", n_ff_exp)
    b.embed_out(n_embd, n_vocab, tied=False)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim)
        b.qk_norm(p, head_dim)
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        b.experts(p, n_embd, n_ff_exp, n_expert)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_expert=n_expert,
        n_expert_used=n_expert_used,
        n_ff_exp=n_ff_exp,
        head_dim=head_dim,
        n_ctx=n_ctx,
    )
    return b.write(_FT.get(wtype))


def write_deepseek2_mla(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    q_lora_rank: int = 128,
    kv_lora_rank: int = 128,
    qk_nope: int = 32,
    qk_rope: int = 32,
    v_head: int = 32,
    n_dense_lead: int = 1,
    n_ff: int = 512,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_expert_shared: int = 1,
    n_ff_exp: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 4096,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """DeepSeek-V2/V3-style MLA + MoE model in the current (split k_b/v_b) GGUF layout
    (:meth:`_Builder.mla_keys`)."""
    b = _Builder(path, "deepseek2", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.mla_keys(n_head, q_lora_rank, kv_lora_rank, qk_nope, qk_rope, v_head)
    b.deepseek_moe_keys(qk_rope, n_dense_lead, n_expert, n_expert_used, n_expert_shared, n_ff_exp, 1.0)
    b.embed_out(n_embd, n_vocab, tied=False)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.mla_attn(p, n_embd, n_head, q_lora_rank, kv_lora_rank, qk_nope, qk_rope, v_head)
        b.deepseek_ffn(p, n_embd, i < n_dense_lead, n_ff, n_expert, n_ff_exp, n_expert_shared)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        q_lora_rank=q_lora_rank,
        kv_lora_rank=kv_lora_rank,
        qk_nope=qk_nope,
        qk_rope=qk_rope,
        v_head=v_head,
        n_dense_lead=n_dense_lead,
        n_ff=n_ff,
        n_expert=n_expert,
        n_expert_used=n_expert_used,
        n_expert_shared=n_expert_shared,
        n_ff_exp=n_ff_exp,
        n_ctx=n_ctx,
    )
    return b.write(_FT.get(wtype))


def write_mamba2(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    d_inner: int = 512,
    d_state: int = 64,
    d_conv: int = 4,
    n_group: int = 1,
    head_dim: int = 64,
    n_vocab: int = 1000,
    n_ctx: int = 4096,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """Mamba-2 model (``mamba2``: models/mamba2.cpp); n_head (dt_rank) = d_inner / head_dim."""
    dt_rank = d_inner // head_dim
    b = _Builder(path, "mamba2", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", 0)
    b.a("attention.head_count", 0)
    b.ssm_keys(d_conv, d_inner, d_state, dt_rank, n_group)
    b.embed_out(n_embd, n_vocab, tied=False)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.ssm(p, n_embd, d_inner, d_state, dt_rank, n_group, d_conv)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        d_inner=d_inner,
        d_state=d_state,
        d_conv=d_conv,
        n_group=n_group,
        dt_rank=dt_rank,
        n_ctx=n_ctx,
    )
    return b.write(_FT.get(wtype))


def write_gemma3(
    path: str | Path,
    n_layer: int = 8,
    n_embd: int = 256,
    n_head: int = 4,
    n_head_kv: int = 1,
    head_dim: int = 64,
    n_ff: int = 512,
    n_vocab: int = 1000,
    n_ctx: int = 8192,
    sliding_window: int = 512,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """Gemma-3-style model (``gemma3``: models/gemma3.cpp): SWA 5:1 pattern, tied embeddings."""
    b = _Builder(path, "gemma3", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("attention.sliding_window", sliding_window)
    b.a("rope.freq_base", 1000000.0)
    b.embed_out(n_embd, n_vocab, tied=True)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim)
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        b.qk_norm(p, head_dim)
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.ffn(p, n_embd, n_ff)
        b.tensor(p + "post_ffw_norm.weight", (n_embd,), "norm")
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        head_dim=head_dim,
        n_ctx=n_ctx,
        sliding_window=sliding_window,
    )
    return b.write(_FT.get(wtype))


WRITERS = {
    "llama": write_llama,
    "moe": write_moe,
    "deepseek2_mla": write_deepseek2_mla,
    "mamba2": write_mamba2,
    "gemma3": write_gemma3,
}
