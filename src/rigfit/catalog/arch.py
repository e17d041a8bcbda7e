"""The architecture of a transformer / recurrent / hybrid LLM, as llama.cpp sees it.

One structure serves catalog models, GGUF files and Hugging Face configs, so that a file and a
catalog id plan identically. Field names follow llama.cpp's hparams (``n_layer``, ``n_embd``,
``n_head_kv``, ``n_embd_head_k`` …) because its allocations are what we reproduce.

Per-layer values (head counts, FFN widths, sliding-window and recurrent layers) are tuples of
length ``n_layer`` when they vary; use the accessor methods, which handle both cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import overload

from rigfit.hashcache import cached_hash


@dataclass(frozen=True)
class MoE:
    """Mixture-of-experts block.

    n_expert: routed experts per MoE layer.
    n_expert_used: experts chosen per token (top-k).
    expert_ff: FFN width of one routed expert.
    n_expert_shared: always-active shared experts (DeepSeek, Qwen2-MoE); 0 if none.
    shared_ff: total FFN width of the shared expert(s); None means n_expert_shared × expert_ff.
    n_dense_lead: leading dense layers before MoE layers start (DeepSeek first_k_dense_replace).
    """

    n_expert: int
    n_expert_used: int
    expert_ff: int
    n_expert_shared: int = 0
    shared_ff: int | None = None
    n_dense_lead: int = 0

    @property
    def shared_ff_total(self) -> int:
        if self.shared_ff is not None:
            return self.shared_ff
        return self.n_expert_shared * self.expert_ff


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention (DeepSeek V2/V3). The KV cache holds the compressed latent.

    q_lora_rank: rank of the query compression (None = no q compression, e.g. V2-Lite).
    kv_lora_rank: rank of the KV latent (512 for DeepSeek V3).
    qk_nope_head_dim, qk_rope_head_dim: per-head key dims without / with RoPE.
    v_head_dim: per-head value dim.
    """

    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int | None = None

    @property
    def cache_elems_per_token(self) -> int:
        """Elements cached per token per layer (K-only latent + rope part): 576 for DeepSeek V3."""
        return self.kv_lora_rank + self.qk_rope_head_dim


@dataclass(frozen=True)
class SSM:
    """Mamba-2 style selective state-space block (llama.cpp ``ssm_*`` hparams).

    d_conv: convolution kernel width. d_inner: inner width. d_state: state size per group.
    n_group: number of B/C groups. n_head: number of SSM heads (``ssm.time_step_rank``).
    """

    d_conv: int
    d_inner: int
    d_state: int
    n_group: int = 1
    n_head: int = 0


@cached_hash  # (rigfit.hashcache: the same hash, worked out once)
@dataclass(frozen=True)
class Architecture:
    """Everything about a model that memory and speed depend on.

    Units: dimensions are element counts; params are counts of weights.
    ``arch`` is llama.cpp's ``general.architecture`` (llama, qwen2, qwen3, qwen3moe, gemma2,
    gemma3, phi3, deepseek2, gpt-oss, mamba2, granitehybrid, …).
    """

    id: str
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int | tuple[int, ...]
    n_embd_head_k: int
    n_embd_head_v: int
    n_ff: int | tuple[int, ...]
    n_vocab: int
    n_ctx_train: int
    name: str = ""
    family: str = ""
    tied_embeddings: bool = False
    attn_bias: bool = False
    qk_norm: bool = False
    sliding_window: int | None = None
    swa_layers: tuple[bool, ...] | None = None
    moe: MoE | None = None
    mla: MLA | None = None
    ssm: SSM | None = None
    recurrent_layers: tuple[bool, ...] | None = None
    total_params: int | None = None
    active_params: int | None = None
    hf_repo: str | None = None
    sources: tuple[str, ...] = ()
    verified: str = "verified"
    notes: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def trained_ctx(self) -> int:
        """Context the model was trained at [tokens]: ``extra["trained_context"]`` where the GGUF's
        context_length is a placeholder (Mamba-2 converts write 2^20 for a model trained at 2,048
        tokens), else ``n_ctx_train``. Quality checks use this; memory keeps llama.cpp's n_ctx_train."""
        return int((self.extra or {}).get("trained_context") or self.n_ctx_train)

    # --- per-layer accessors -------------------------------------------------------------
    def head_kv(self, il: int) -> int:
        """KV heads of layer ``il`` (0 for a recurrent layer in a hybrid model)."""
        if isinstance(self.n_head_kv, tuple):
            return self.n_head_kv[il]
        return self.n_head_kv

    def ff(self, il: int) -> int:
        """Dense FFN width of layer ``il`` (0 where the layer is MoE-only or has no FFN)."""
        if isinstance(self.n_ff, tuple):
            return self.n_ff[il]
        return self.n_ff

    def is_swa(self, il: int) -> bool:
        """Whether layer ``il`` uses sliding-window attention."""
        if self.sliding_window is None or self.swa_layers is None:
            return False
        return self.swa_layers[il]

    def is_recurrent(self, il: int) -> bool:
        """Whether layer ``il`` is a recurrent (SSM) layer rather than attention."""
        if self.recurrent_layers is None:
            return self.ssm is not None and self.arch in ("mamba", "mamba2")
        return self.recurrent_layers[il]

    def is_moe_layer(self, il: int) -> bool:
        """Whether layer ``il`` has routed experts: after the leading dense layers, and only every
        ``extra["interleave_moe_layer_step"]``-th layer when set (Llama 4 Maverick: every 2nd)."""
        if self.moe is None or il < self.moe.n_dense_lead:
            return False
        step = int((self.extra or {}).get("interleave_moe_layer_step") or 1)
        return step <= 1 or (il + 1) % step == 0

    @property
    def n_embd_k_gqa_max(self) -> int:
        return max(self.head_kv(i) for i in range(self.n_layer)) * self.n_embd_head_k

    @property
    def gqa_ratio(self) -> float:
        kv = max(self.head_kv(i) for i in range(self.n_layer))
        return self.n_head / kv if kv else float("inf")

    @property
    def is_moe(self) -> bool:
        return self.moe is not None


class _BlockIndexOf:
    """``TensorInfo.layer``: :func:`block_index` of the tensor's name, parsed on first use and kept in
    the instance ``__dict__`` (a frozen dataclass may hold it there). Like
    ``functools.cached_property`` without its lock, which makes every first use cost microseconds on
    Python 3.11; the value is the same whichever thread computes it."""

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _BlockIndexOf: ...
    @overload
    def __get__(self, obj: TensorInfo, owner: type | None = None) -> int | None: ...
    def __get__(self, obj: TensorInfo | None, owner: type | None = None) -> int | _BlockIndexOf | None:
        if obj is None:
            return self
        value = block_index(obj.name)
        obj.__dict__["layer"] = value
        return value


@dataclass(frozen=True)
class TensorInfo:
    """One weight tensor, as in a GGUF tensor table.

    shape: GGUF order, row length first (``ne0``), e.g. ``(4096, 128256)`` for token_embd.
    ggml_type: GGML type name as gguf-py spells it ("F32", "F16", "Q4_K", "Q6_K", "MXFP4" …).
    n_bytes: exact bytes of the tensor data [B].
    offset: data offset inside the file (GGUF only) [B].
    """

    name: str
    shape: tuple[int, ...]
    ggml_type: str
    n_bytes: int
    offset: int | None = None

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    #: Block index for ``blk.N.*`` tensors, else None (token_embd, output, output_norm): parsed
    #: once per tensor and kept (planning asks it ~10⁶ times over a recommend ladder). Not a field.
    layer = _BlockIndexOf()


@lru_cache(maxsize=1 << 16)  # every quant of a model, and models of one family, share the names
def block_index(name: str) -> int | None:
    """Block index of a tensor name: N for ``blk.N.*``, else None (token_embd, output, …)."""
    if name.startswith("blk."):
        part = name.split(".", 2)[1]
        if part.isdigit():
            return int(part)
    return None


#: File types that name a float file: "F16" / "BF16" / "F32" as llama-bench prints them.
FLOAT_FILE_TYPES = ("F16", "BF16", "F32")


def routed_experts_type(tensors: tuple[TensorInfo, ...] | list[TensorInfo]) -> str | None:
    """The one GGML type of the routed expert tensors (3-D ``*_exps.*``) in ``tensors``, or None
    when there are none or they mix types."""
    kinds = {t.ggml_type for t in tensors if "_exps." in t.name and len(t.shape) > 2}
    return kinds.pop() if len(kinds) == 1 else None


def file_type_label(spec: ModelSpec) -> str | None:
    """The file type as the tensors hold it, for display: a float file ("F16" / "BF16" / "F32",
    its ``general.file_type``) whose routed experts are all MXFP4 reads "F16 (MXFP4 experts)":
    gpt-oss's converter keeps the released MXFP4 experts, so unsloth's gpt-oss-20b-F16.gguf
    (https://huggingface.co/unsloth/gpt-oss-20b-GGUF) is MXFP4 experts with F16 elsewhere (see
    :func:`rigfit.estimate.predict.kernel_file_type`). Read from the tensor types, not the name;
    any other file keeps its file type."""
    ft = spec.file_type
    if (ft or "").upper() not in FLOAT_FILE_TYPES or routed_experts_type(spec.tensors) != "MXFP4":
        return ft
    return f"{ft} (MXFP4 experts)"


@dataclass(frozen=True)
class ModelSpec:
    """A model ready to plan: its architecture plus its tensor table.

    origin: "catalog" (tensor table predicted from llama.cpp's quantization rules),
        "gguf" (read from a file: exact) or "hf" (from config.json / safetensors headers).
    file_type: llama.cpp file type name ("Q4_K_M", "Q8_0", "F16", "MXFP4_MOE" …) if known.
    tensors_exact: True when byte counts come from a real file, False when predicted.
    """

    arch: Architecture
    tensors: tuple[TensorInfo, ...]
    file_type: str | None = None
    origin: str = "catalog"
    path: str | None = None
    tensors_exact: bool = False

    @property
    def weights_bytes(self) -> int:
        """Sum of all tensor data bytes [B] (the GGUF file minus its header); kept once summed over
        an immutable table (a recommend ladder asks each spec again and again)."""
        kept = self.__dict__.get("_weights_bytes")
        if kept is None:
            kept = sum(t.n_bytes for t in self.tensors)
            if isinstance(self.tensors, tuple):
                self.__dict__["_weights_bytes"] = kept  # not a field: equality and replace() ignore it
        return kept

    def layer_tensors(self, il: int) -> list[TensorInfo]:
        return [t for t in self.tensors if t.layer == il]
