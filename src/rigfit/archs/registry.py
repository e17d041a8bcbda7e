"""The architecture registry: one :class:`ArchFamily` per llama.cpp ``general.architecture``.

Every rule that depends on an architecture name lives in a family module of this package
(``rigfit.archs.llama``, ``rigfit.archs.gemma`` …) and is looked up here; the estimators
(``estimate/memory.py``, ``estimate/speed.py``, ``estimate/tensors.py``) and the readers
(``formats/gguf_arch.py``, ``formats/hf.py``) ask :func:`family_for` and never compare
architecture names themselves.

A family records, for its architecture:

* tensor shapes — ``build_shapes(arch)`` lists the GGUF tensors the converter writes
  (``None``: rigfit cannot predict the tensor table; a real GGUF is needed);
* quantization overrides — the ``llama_tensor_get_type`` conditions that name an architecture
  (``quant_falcon``, ``is_70b``, ``kv_heads_for_gqa``, ``source_type``);
* GGUF key mappings — sliding-window rule (:class:`SwaRule`, ``swa_mode``), recurrent layer rule
  (``recurrent``), accepted old spellings (``gguf_aliases``), shared experts llama.cpp creates
  without a key (``implicit_shared_experts``, each of the routed-expert width: Llama 4);
* Hugging Face ``config.json`` mappings — which ``model_type`` values map to it and the extra
  GGUF keys the converter writes (``hf_metadata``);
* cache kinds — KV / SWA / MLA / recurrent state / KV on recurrent layers (``kv_on_recurrent``);
* compute-graph terms — values the memory model adds for this family (``attn_extra_embd_fa_off``:
  n_embd rows per token live in attention with FA off; ``attn_kv_rows_live``: False where the
  graph finishes Q before computing K and V, so with FA on K/V rows never add to Q's peak (gemma4);
  ``ffn_extra_embd``: n_embd rows live during the FFN, e.g. the attention output of a parallel
  attention+FFN block; ``moe_dense_ffn``: every MoE layer also has a dense FFN of
  ``feed_forward_length`` (gemma4 26B-A4B), so a table read without tensors keeps that width;
  ``moe_stage_per_token``: f32 values per token live in an MoE layer's FFN, where the family's
  graph differs from the generic ``3·(routed + shared width) + 5·n_embd``;
  ``output_embd_rows``: n_embd rows of the output stage; ``stage_extra_per_token``: f32 values per
  token a family adds to the graph's stages "input" (before layer 0), "attention" and "ffn"
  (arguments: architecture, stage, flash attention, a rotated quantized KV cache);
* recurrent stage — ``recurrent_stage_per_token``: f32 values per token live in a recurrent
  layer, where the family's block is not Mamba-2 (Gated DeltaNet: qwen3next, qwen35);
  ``ssm_scan``: how the SSM scan's result adds to it (:data:`SSM_SCAN_RULES`);
* KV sharing — ``n_layer_kv_from_start``: layers from this index on reuse an earlier layer's
  cache and allocate none (llama_hparams::has_kv; gemma3n, gemma4);
* sparse attention — ``indexer(arch, il)``: (heads, head size, top-k) of layer ``il``'s DSA
  lightning indexer (deepseek32, glm-dsa; heads and size 0 on a layer that reuses the previous
  layer's top-k): a second, K-only cache of one head per token in the ``-ctk`` type beside the
  MLA cache, and the indexer's scores and top-k in the compute graph;
* skipped MTP tensors in the mapping — ``mtp_span_tensor(name)``: tensors of the MTP block that
  llama.cpp creates (unloaded) without MTP, so that the ``CPU_Mapped`` span reaches them
  (deepseek32, glm-dsa: attention, indexer, norms and router);
* extra GGUF keys — ``gguf_extra_keys``: ``<arch>.<key>`` values copied into the catalog
  ``extra`` (dots become underscores) for the family's own rules.

Adding an architecture = one family module (registered by ``rigfit/archs/__init__.py``) plus its
catalog rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rigfit.errors import RigfitError

if TYPE_CHECKING:
    from rigfit.catalog.arch import Architecture

Shape = tuple[int, ...]
ShapeList = list[tuple[str, Shape]]
#: ``hf_metadata(g, put, meta)``: g(*config keys, default=) reads the config, put(key, value)
#: writes ``<arch>.<key>`` GGUF metadata (None skipped), meta is the metadata written so far.
HfMetadata = Callable[[Callable[..., Any], Callable[[str, Any], None], dict[str, Any]], None]

#: ``recurrent`` rules (how llama.cpp decides which layers are recurrent, llama-model.cpp):
#: "none" — no recurrent layers; "ssm" — pure Mamba (Architecture.is_recurrent decides: every
#: layer); "all" — every layer (RWKV: ``llm_arch_is_recurrent``); "if_no_kv" — layers without KV
#: heads (jamba, granitehybrid, lfm2 …); "if_no_kv_no_ff" — without KV heads and FFN (nemotron_h);
#: "interval" — ``recurrent_layers`` array or ``full_attention_interval`` (qwen3next);
#: "all_with_kv" — every layer has an SSM and attention (falcon-h1).
RECURRENT_RULES = ("none", "ssm", "all", "if_no_kv", "if_no_kv_no_ff", "interval", "all_with_kv")
#: ``swa_mode``: "rule" (:class:`SwaRule` or none), "array_only" (only a stored per-layer bool
#: array says which layers are SWA), "disabled" (llama.cpp reads the key but runs without SWA),
#: "attention_layers" (every non-recurrent layer is SWA when a window is stored: lfm2).
SWA_MODES = ("rule", "array_only", "disabled", "attention_layers")
#: ``ssm_scan``: how the result of ``ggml_ssm_scan`` (y for every token plus the final state of
#: every sequence, ggml.c) adds to the compute buffer (estimate/memory.py ssm_scan_extra_bytes):
#: "states" — the n_seq final states come on top of the fitted per-token stage (mamba2);
#: "conv_hole" — the whole result reuses the block freed by the convolution input when it fits
#: there and is a new block otherwise (falcon-h1, whose attention output stays alive beside it).
SSM_SCAN_RULES = ("states", "conv_hole")


@dataclass(frozen=True)
class SwaRule:
    """Sliding-window rule of ``load_arch_hparams`` (``hparams.set_swa_pattern(n, dense_first)``).

    n_pattern: default period (layer ``il`` is SWA iff ``il % n < n - 1``; ``il % n != 0`` when
        dense_first). default_swa: n_swa when the file stores none [tokens].
    when: "always" (SWA regardless of the key), "if_key" (only if sliding_window > 0 is stored),
        "unless_zero" (always unless the key is stored as 0).
    forced_swa: n_swa is ``default_swa`` whatever the file says. swa_type: "chunked" for Llama 4.
    required: the key must be present (the loader fails without it).
    only_n_layer: the rule applies only to models with this many layers (EXAONE 4 32B).
    """

    n_pattern: int
    dense_first: bool = False
    default_swa: int = 0
    when: str = "always"
    forced_swa: bool = False
    swa_type: str | None = None
    required: bool = False
    only_n_layer: int | None = None


def _false(arch: Architecture) -> bool:
    return False


def _no_source_type(name: str) -> str | None:
    return None


@dataclass(frozen=True)
class ArchFamily:
    """Everything rigfit knows about one llama.cpp architecture (see the module docstring).

    name: llama.cpp ``general.architecture``. aliases: other spellings of the same tensor layout
    (catalog / HF names: "mistral", "qwen3_moe" …). tensor_arch: the name its tensor table and
    quantization rules use (mistral3 → llama); defaults to ``name``.
    """

    name: str
    aliases: tuple[str, ...] = ()
    tensor_arch: str | None = None
    # --- tensor shapes and quantization (estimate/tensors.py) ---------------------------------
    build_shapes: Callable[[Architecture], ShapeList] | None = None
    quant_falcon: bool = False
    kv_heads_for_gqa: Callable[[Architecture], int] | None = None
    is_70b: Callable[[Architecture], bool] = _false
    source_type: Callable[[str], str | None] = _no_source_type
    rope_freqs_default: Callable[[Architecture], bool] = _false
    exp_probs_b_default: Callable[[Architecture], bool] = _false
    nextn_kept_default: Callable[[Architecture], bool] = _false
    nextn_min_layers: int = 0
    # --- GGUF reading (formats/gguf_arch.py) --------------------------------------------------
    gguf_aliases: tuple[str, ...] = ()
    implicit_shared_experts: int = 0
    swa: SwaRule | None = None
    swa_mode: str = "rule"
    recurrent: str = "none"
    not_a_model: str | None = None
    # --- Hugging Face config (formats/hf.py) --------------------------------------------------
    hf_model_types: tuple[str, ...] = ()
    hf_outer_model_types: tuple[str, ...] = ()
    hf_metadata: HfMetadata | None = None
    hf_head_dim: bool = True
    hf_sliding_window: bool = True
    hf_expert_ff_is_intermediate: bool = False
    hf_tied_default: bool = False
    hf_attn_bias_default: bool = False
    hf_qk_norm_default: bool = False
    # --- cache kinds and compute graph (estimate/memory.py) -----------------------------------
    ssm_conv_uses_groups: bool = True
    kv_on_recurrent: bool = False
    attn_extra_embd_fa_off: int = 0
    attn_kv_rows_live: bool = True
    moe_dense_ffn: bool = False
    ffn_extra_embd: int = 0
    moe_stage_per_token: Callable[[Architecture], int] | None = None
    output_embd_rows: int = 1
    stage_extra_per_token: Callable[[Architecture, str, bool, bool], int] | None = None
    recurrent_stage_per_token: Callable[[Architecture], int] | None = None
    ssm_scan: str = "states"
    #: with a Hadamard-rotated KV cache (estimate/memory.py attn_rotation_bytes), ggml-alloc puts
    #: one more q-sized block (n_head·head_dim per token) beside the recurrent stage when
    #: n_head·head_dim > n_embd (falcon-h1, whose attention branch runs beside the SSM)
    attn_rot_block: bool = False
    n_layer_kv_from_start: Callable[[Architecture], int | None] | None = None
    indexer: Callable[[Architecture, int], tuple[int, int, int]] | None = None
    mtp_span_tensor: Callable[[str], bool] | None = None
    gguf_extra_keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def tensor_name(self) -> str:
        """Architecture name of the tensor table / quantization rules (llama for mistral3)."""
        return self.tensor_arch or self.name

    @property
    def predicts_tensors(self) -> bool:
        return self.build_shapes is not None


_FAMILIES: dict[str, ArchFamily] = {}
_BY_ALIAS: dict[str, ArchFamily] = {}
_BY_HF: dict[str, ArchFamily] = {}
_BY_HF_OUTER: dict[str, ArchFamily] = {}
_BARE: dict[str, ArchFamily] = {}  # families handed out for unregistered names


def register(family: ArchFamily) -> ArchFamily:
    """Add a family (a module calls this at import time). A name may be registered once."""
    if family.name in _FAMILIES:
        raise ValueError(f"architecture {family.name!r} is registered twice")
    if (
        family.recurrent not in RECURRENT_RULES
        or family.swa_mode not in SWA_MODES
        or family.ssm_scan not in SSM_SCAN_RULES
    ):
        raise ValueError(f"{family.name}: unknown recurrent rule, swa_mode or ssm_scan rule")
    _FAMILIES[family.name] = family
    for a in (family.name, *family.aliases):
        _BY_ALIAS.setdefault(a.lower(), family)
    for mt in family.hf_model_types:
        _BY_HF[mt] = family
    for mt in family.hf_outer_model_types:
        _BY_HF_OUTER[mt] = family
    return family


def families() -> tuple[ArchFamily, ...]:
    """Registered families, in registration order."""
    return tuple(_FAMILIES.values())


def is_known(name: str) -> bool:
    """Whether llama.cpp knows ``general.architecture`` = ``name`` (a registered family)."""
    return name in _FAMILIES


def family_for(name: str) -> ArchFamily:
    """The family of an architecture name (llama.cpp name or an alias); a bare family (no
    special rules, no tensor prediction) for a name nobody registered."""
    fam = _FAMILIES.get(name) or _BY_ALIAS.get(name.strip().lower())
    if fam is None:
        fam = _BARE.get(name)
        if fam is None:
            fam = _BARE[name] = ArchFamily(name)
    return fam


def gguf_family(name: str) -> ArchFamily | None:
    """Family of a GGUF ``general.architecture`` (its own name or an old spelling), or None."""
    if name in _FAMILIES:
        return _FAMILIES[name]
    for fam in _FAMILIES.values():
        if name in fam.gguf_aliases:
            return fam
    return None


def hf_family(model_type: str, outer_model_type: str = "") -> ArchFamily | None:
    """Family of a HF ``model_type`` (convert_hf_to_gguf.py's mapping); a multimodal wrapper's
    outer type wins where it names its own architecture (mistral3) and its language model has
    the wrapper's tensor layout. An inner type of another layout wins: a ``mistral3`` wrapper
    around a ``deepseek_v3`` language model (Mistral Large 3) is deepseek2, as
    convert_hf_to_gguf's ``MistralMoeModel`` converts it
    (https://github.com/ggml-org/llama.cpp/blob/master/conversion/mistral.py)."""
    inner = _BY_HF.get(model_type)
    if outer_model_type in _BY_HF_OUTER:
        outer = _BY_HF_OUTER[outer_model_type]
        if inner is None or inner.tensor_name == outer.tensor_name:
            return outer
        return inner
    return inner or _BY_HF.get(outer_model_type)


def hf_model_types() -> dict[str, str]:
    """HF ``model_type`` → llama.cpp architecture, for every registered mapping."""
    return {mt: fam.name for mt, fam in _BY_HF.items()}


class UnsupportedArchitectureError(RigfitError):
    """No tensor-table model for this architecture (yet): the user should read a GGUF instead."""

    def __init__(self, arch: str, model_id: str = "") -> None:
        who = f"{model_id} ({arch})" if model_id else arch
        super().__init__(
            f"Predicting GGUF tensors for architecture {who!r} is not supported yet.",
            "Point rigfit at a real GGUF file of the model instead (its header gives exact sizes); "
            f"catalog prediction covers: {', '.join(supported_archs())}.",
        )


def supported_archs() -> tuple[str, ...]:
    """llama.cpp architectures whose tensor table rigfit predicts."""
    return tuple(f.name for f in _FAMILIES.values() if f.predicts_tensors)


def tensor_family(arch: Architecture | str) -> ArchFamily:
    """Family whose tensor rules plan ``arch`` (by name, alias, or the catalog's
    ``extra.gguf_arch_aliases``); raises :class:`UnsupportedArchitectureError` if none predicts it."""
    name = arch if isinstance(arch, str) else arch.arch
    fam = _BY_ALIAS.get(name.strip().lower())
    if (fam is None or not fam.predicts_tensors) and not isinstance(arch, str):
        for alias in (arch.extra or {}).get("gguf_arch_aliases", []) or []:
            fam = _BY_ALIAS.get(str(alias).lower())
            if fam is not None and fam.predicts_tensors:
                break
    if fam is None or not fam.predicts_tensors:
        raise UnsupportedArchitectureError(name, "" if isinstance(arch, str) else arch.id)
    return _FAMILIES.get(fam.tensor_name, fam)


def canonical_arch(arch: Architecture | str) -> str:
    """llama.cpp architecture name whose tensor rules plan ``arch`` (mistral3 → llama)."""
    return tensor_family(arch).tensor_name


#: Routed-expert tensors: GGUF ``blk.N.ffn_(up|down|gate|gate_up)_(ch)exps.*`` (common/arg.cpp
#: ``llm_ffn_exps_block_regex``, what --cpu-moe keeps in RAM) and Hugging Face
#: ``…mlp.experts.N.*`` / ``…block_sparse_moe.experts.N.*``.
_EXPERT_RE = re.compile(r"\.ffn_(up|down|gate|gate_up)_(ch|)exps|\.experts\.")


@lru_cache(maxsize=16384)  # pure in the name; the planner asks for every tensor of every placement
def is_expert_tensor(name: str) -> bool:
    """Whether tensor ``name`` is a routed-expert weight (the one definition rigfit uses)."""
    return _EXPERT_RE.search(name) is not None
