"""Memory model of llama.cpp: what each device allocates, buffer by buffer.

Family of models (docs/research/memory.md §1, re-derived from llama.cpp source ~b11549 and checked
against real llama.cpp runs through xllamacpp, see tests/test_memory_llamacpp.py):

    total(dev) = weights(dev) + KV(dev) + recurrent(dev) + compute(dev) + output(dev) + overhead(dev)

Naming: ``<quantity>_bytes(...)`` are plain functions of the architecture and settings; every
function documents its units in brackets. Behaviour that changed between llama.cpp builds is a
:class:`BuildProfile` (``--llama-build``):

* ``logits_reserve``: the compute graph is reserved for ``n_ubatch`` output rows (builds up to
  ~mid 2026, b9294 measured) or for ``n_seq`` rows (llama-server after PR #23861; b11549 measured).
* ``mla_v_less``: MLA models (DeepSeek V2/V3, Kimi K2) cache only the K latent since PR #19067
  (merged 2026-01-24); before, a V latent of ``kv_lora_rank`` values was cached too.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigfit.archs import family_for
from rigfit.catalog.arch import Architecture, ModelSpec
from rigfit.catalog.quant import KVType, resolve_kv_type
from rigfit.errors import RigfitError
from rigfit.hashcache import cached_hash
from rigfit.inputs import check_ctx
from rigfit.units import MIB

#: llama.cpp pads n_ctx and the SWA cache to 256 cells (llama-context.cpp / llama-kv-cache-iswa.cpp
#: ``GGML_PAD(..., 256)``; 2025–2026 builds).
KV_PAD = 256


# ---------------------------------------------------------------------------------------------
# build profiles
# ---------------------------------------------------------------------------------------------


@cached_hash  # (rigfit.hashcache: the same hash, worked out once)
@dataclass(frozen=True)
class BuildProfile:
    """llama.cpp behaviour that moves memory figures, for one range of builds.

    name: profile id accepted by ``--llama-build``.
    build: the first build number (``bNNNN``) the profile applies to; date: its release month.
    logits_reserve: "ubatch" (reserve n_ubatch logit rows) or "n_seq" (one row per slot).
    mla_v_less: MLA caches K only (PR #19067, 2026-01-24).
    kv_pad: padding of n_ctx / SWA cells [cells]; legacy: ``ctx_pad`` of 2023–2024 builds.
    legacy_compute: None, or the era ("2023-12" | "2024-05") of an older compute-buffer model
        fitted on published logs (data/ground-truth/memory.csv).
    attn_rot: a quantized KV cache is Hadamard-rotated (PR #21038, merged 2026-04-01,
        https://github.com/ggml-org/llama.cpp/pull/21038): see :func:`attn_rotation_bytes`.
    source: where the behaviour was observed.
    """

    name: str
    build: int
    date: str
    logits_reserve: str
    mla_v_less: bool
    kv_pad: int = KV_PAD
    legacy_compute: str | None = None
    attn_rot: bool = False
    source: str = ""


PROFILES: dict[str, BuildProfile] = {
    p.name: p
    for p in (
        BuildProfile(
            "b11549-2026-10",
            11549,
            "2026-10",
            "n_seq",
            True,
            attn_rot=True,
            source="measured: xllamacpp 2026.10.11549 (docs/research/memory.md §4)",
        ),
        BuildProfile(
            "b9294-2026-05",
            9294,
            "2026-05",
            "ubatch",
            True,
            attn_rot=True,
            source="measured: xllamacpp 2026.5.9294 (docs/research/memory.md §4)",
        ),
        BuildProfile(
            "b7800-2026-01",
            7800,
            "2026-01",
            "ubatch",
            False,
            source="llama.cpp before PR #19067 (V-less MLA cache, 2026-01-24)",
        ),
        BuildProfile(
            "b4000-2024-11",
            4000,
            "2024-11",
            "ubatch",
            False,
            source="assumed: the 2026 graph model with n_ubatch logit rows (no measurement)",
        ),
        BuildProfile(
            "b2800-2024-05",
            2400,
            "2024-05",
            "ubatch",
            False,
            kv_pad=32,
            legacy_compute="2024-05",
            source="published CUDA/Metal logs of builds b2795–b2843 (XiongjieDai GPU-Benchmarks)",
        ),
        BuildProfile(
            "b1650-2023-12",
            1650,
            "2023-12",
            "ubatch",
            False,
            kv_pad=32,
            legacy_compute="2023-12",
            source="published CUDA/Metal logs of builds b1619–b1691 (XiongjieDai GPU-Benchmarks)",
        ),
    )
}
ALIASES = {
    "current": "b11549-2026-10",
    "latest": "b11549-2026-10",
    "new": "b11549-2026-10",
    "old": "b9294-2026-05",
    "legacy": "b2800-2024-05",
}
DEFAULT_PROFILE = "b11549-2026-10"


def build_profile(name: str | int | None = None) -> BuildProfile:
    """Resolve ``--llama-build``: a profile name, an alias ("current"), or a build number
    ("b9294", 9294) → the profile of the nearest older build."""
    if name is None or name == "":
        return PROFILES[DEFAULT_PROFILE]
    if isinstance(name, BuildProfile):
        return name
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key in PROFILES:
        return PROFILES[key]
    digits = key[1:] if key.startswith("b") else key
    if digits.isdigit():
        n = int(digits)
        older = [p for p in PROFILES.values() if p.build <= n]
        if older:
            return max(older, key=lambda p: p.build)
        return min(PROFILES.values(), key=lambda p: p.build)
    raise RigfitError(
        f"Unknown llama.cpp build profile {name!r}.",
        "Known: " + ", ".join([*PROFILES, *ALIASES]) + ", or a build number like b9294.",
    )


# ---------------------------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------------------------


@cached_hash  # (rigfit.hashcache: the same hash, worked out once)
@dataclass(frozen=True)
class LlamaSettings:
    """The llama.cpp settings memory depends on (llama-server flag in brackets).

    n_ctx: requested context [tokens] (``-c``); 0 = the model's training context.
    n_parallel: slots / sequences (``-np``).
    kv_unified: one KV pool shared by all slots (``-kvu``); llama-server's default when -np is omitted.
    n_ubatch, n_batch: physical / logical batch [tokens] (``-ub``, ``-b``).
    flash_attn: "on" | "off" | "auto" (``-fa``); auto = on where the backend supports it (all
        mainstream backends in 2026 builds).
    type_k, type_v: KV cache types (``-ctk``, ``-ctv``).
    swa_full: full-size cache for sliding-window layers (``--swa-full``).
    """

    n_ctx: int = 4096
    n_parallel: int = 1
    kv_unified: bool = False
    n_ubatch: int = 512
    n_batch: int = 2048
    flash_attn: str = "auto"
    type_k: str = "f16"
    type_v: str = "f16"
    swa_full: bool = False

    @property
    def fa_enabled(self) -> bool:
        return self.flash_attn != "off"


def validate(arch: Architecture, s: LlamaSettings) -> None:
    """Reject settings llama.cpp would reject, with one clear message."""
    check_ctx(s.n_ctx)
    if s.n_parallel < 1:
        raise RigfitError(f"--parallel must be ≥ 1, got {s.n_parallel}.")
    if s.n_ubatch < 1 or s.n_batch < 1:
        raise RigfitError("--ubatch and --batch must be ≥ 1.")
    if s.flash_attn not in ("on", "off", "auto"):
        raise RigfitError(f"--fa must be on, off or auto, got {s.flash_attn!r}.")
    tv = resolve_kv_type(s.type_v)
    resolve_kv_type(s.type_k)
    if tv.v_needs_flash_attn and s.flash_attn == "off":
        raise RigfitError(
            f"A quantized V cache ({tv.name}) needs flash attention; llama.cpp refuses -ctv with -fa off.",
            "Use --fa on (or auto), or --kv-type f16.",
        )


def effective_n_ctx(arch: Architecture, s: LlamaSettings, profile: BuildProfile | None = None) -> int:
    """n_ctx after llama.cpp's defaults and padding [tokens] (llama_context ctor)."""
    return context_sizes(arch, s, profile)[0]


def _pad(x: int, n: int) -> int:
    return (x + n - 1) // n * n


def context_sizes(
    arch: Architecture, s: LlamaSettings, profile: BuildProfile | None = None
) -> tuple[int, int, int]:
    """(n_ctx, n_ctx_seq, n_stream) as llama_context computes them.

    n_ctx = pad(c or n_ctx_train, 256); unified: one stream of n_ctx cells; split: each of the
    n_seq streams gets pad(n_ctx / n_seq, 256) cells.
    """
    p = profile or build_profile()
    n_ctx = s.n_ctx or arch.n_ctx_train
    n_ctx = _pad(n_ctx, p.kv_pad)
    if s.kv_unified or s.n_parallel == 1:
        return n_ctx, n_ctx, 1
    n_ctx_seq = _pad(n_ctx // s.n_parallel, p.kv_pad)
    return n_ctx_seq * s.n_parallel, n_ctx_seq, s.n_parallel


# ---------------------------------------------------------------------------------------------
# KV cache and recurrent state
# ---------------------------------------------------------------------------------------------


def layer_attends(arch: Architecture, il: int) -> bool:
    """Layer ``il`` runs attention: has KV heads and is not recurrent, unless the family gives its
    recurrent layers attention too (``ArchFamily.kv_on_recurrent``: falcon-h1)."""
    if arch.head_kv(il) <= 0:
        return False
    return not arch.is_recurrent(il) or family_for(arch.arch).kv_on_recurrent


def layer_has_kv(arch: Architecture, il: int) -> bool:
    """Attention layer with its own KV cache (llama_hparams::has_kv): it attends and lies before
    the family's ``n_layer_kv_from_start`` (later layers read an earlier layer's cache: gemma3n)."""
    if not layer_attends(arch, il):
        return False
    kv_from = family_for(arch.arch).n_layer_kv_from_start
    n = kv_from(arch) if kv_from is not None else None
    return n is None or il < n


def kv_cells(arch: Architecture, il: int, s: LlamaSettings, profile: BuildProfile | None = None) -> int:
    """KV cells layer ``il`` allocates, all streams together [cells].

    Full attention: n_ctx_seq per stream. Sliding window (llama_kv_cache_iswa):
    ``min(n_ctx_seq, pad(n_swa · (unified ? n_seq : 1) + n_ubatch, 256))`` per stream, or n_ctx_seq
    with ``--swa-full``.
    """
    p = profile or build_profile()
    _, n_ctx_seq, n_stream = context_sizes(arch, s, p)
    size = n_ctx_seq
    if arch.is_swa(il) and not s.swa_full:
        unified = s.kv_unified or s.n_parallel == 1
        n_swa = arch.sliding_window or 0
        size = min(n_ctx_seq, _pad(n_swa * (s.n_parallel if unified else 1) + s.n_ubatch, p.kv_pad))
    return size * n_stream


def layer_head_dims(arch: Architecture, il: int) -> tuple[int, int]:
    """(K, V) head size of layer ``il`` [elements]: ``attention.key_length_swa`` /
    ``value_length_swa`` on sliding-window layers where the file stores them (gemma4:
    llama_hparams::n_embd_head_k(il)), else ``key_length`` / ``value_length``."""
    ex = arch.extra or {}
    if arch.is_swa(il) and ex.get("n_embd_head_k_swa"):
        return int(ex["n_embd_head_k_swa"]), int(ex.get("n_embd_head_v_swa") or ex["n_embd_head_k_swa"])
    return arch.n_embd_head_k, arch.n_embd_head_v


def kv_row_widths(arch: Architecture, il: int, profile: BuildProfile | None = None) -> tuple[int, int]:
    """(K, V) values cached per token for layer ``il`` [elements]: n_embd_head × n_head_kv;
    MLA: K = kv_lora_rank + rope dims, V = kv_lora_rank (0 on builds with the V-less cache)."""
    p = profile or build_profile()
    hkv = arch.head_kv(il)
    hd_k, hd_v = layer_head_dims(arch, il)
    k = hd_k * hkv
    v = hd_v * hkv
    if arch.mla is not None:
        k = arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim
        v = 0 if p.mla_v_less else arch.mla.kv_lora_rank
    return k, v


def kv_layer_bytes(
    arch: Architecture, il: int, s: LlamaSettings, profile: BuildProfile | None = None
) -> tuple[int, int]:
    """(K bytes, V bytes) of layer ``il``'s cache [B] = row(type, width) × cells."""
    if not layer_has_kv(arch, il):
        return 0, 0
    p = profile or build_profile()
    cells = kv_cells(arch, il, s, p)
    kw, vw = kv_row_widths(arch, il, p)
    if not s.fa_enabled and arch.mla is None:
        # FA off stores V transposed, every layer's rows as wide as the widest layer's
        # (llama-kv-cache.cpp: v_trans ? hparams.n_embd_v_gqa_max()); differs only where head
        # sizes or KV heads vary per layer (gemma4)
        vw = max(kv_row_widths(arch, j, p)[1] for j in range(arch.n_layer))
    tk: KVType = resolve_kv_type(s.type_k)
    tv: KVType = resolve_kv_type(s.type_v)
    if kw % tk.type.block_size or vw % tv.type.block_size:
        raise RigfitError(
            f"KV type {tk.name}/{tv.name} needs rows that are whole blocks of "
            f"{tk.type.block_size}; this model's K/V rows have {kw}/{vw} values.",
            "Use --kv-type f16.",
        )
    k_bytes = tk.row_bytes(kw) * cells
    idx = family_for(arch.arch).indexer
    if idx is not None:
        # DSA: the lightning indexer's keys, a second K-only cache of one head of the same cells
        # and type (llama_kv_cache_dsa, src/llama-kv-cache-dsa.cpp)
        k_bytes += tk.row_bytes(idx(arch, il)[1]) * cells
    return k_bytes, (tv.row_bytes(vw) * cells if vw else 0)


def recurrent_layer_bytes(arch: Architecture, il: int, s: LlamaSettings) -> int:
    """Recurrent (SSM / short-conv) state of layer ``il`` [B], F32 × max(1, n_seq) cells,
    independent of n_ctx.

    n_embd_r = (d_conv − 1)(d_inner + 2·n_group·d_state) (conv state),
    n_embd_s = d_state · d_inner (SSM state)  (llama-hparams.cpp n_embd_r / n_embd_s).
    """
    if not arch.is_recurrent(il):
        return 0
    if arch.ssm is None:
        # LFM2 short-convolution layers keep the last l_cache − 1 inputs (llama-hparams.cpp
        # n_embd_r = n_embd · (n_shortconv_l_cache − 1); no SSM state)
        l_cache = int((arch.extra or {}).get("shortconv_l_cache") or 0)
        return arch.n_embd * max(0, l_cache - 1) * 4 * max(1, s.n_parallel)
    ssm = arch.ssm
    n_group = ssm.n_group if family_for(arch.arch).ssm_conv_uses_groups else 0
    n_embd_r = (ssm.d_conv - 1) * (ssm.d_inner + 2 * n_group * ssm.d_state)
    n_embd_s = ssm.d_state * ssm.d_inner
    return (n_embd_r + n_embd_s) * 4 * max(1, s.n_parallel)


def kv_cache_bytes(arch: Architecture, s: LlamaSettings, profile: BuildProfile | None = None) -> int:
    """KV cache of all layers [B]."""
    return sum(sum(kv_layer_bytes(arch, il, s, profile)) for il in range(arch.n_layer))


def recurrent_bytes(arch: Architecture, s: LlamaSettings) -> int:
    """Recurrent state of all layers [B]."""
    return sum(recurrent_layer_bytes(arch, il, s) for il in range(arch.n_layer))


# ---------------------------------------------------------------------------------------------
# output buffer and compute buffer
# ---------------------------------------------------------------------------------------------


def output_buffer_bytes(arch: Architecture, s: LlamaSettings) -> int:
    """Logits buffer reserved at context creation [B] (llama_context::output_reserve):
    n_vocab × max(1, n_seq) × 4 (host memory; pinned when the output layer is on a GPU)."""
    return arch.n_vocab * max(1, s.n_parallel) * 4


def n_reserve_tokens(arch: Architecture, s: LlamaSettings, profile: BuildProfile | None = None) -> int:
    """Tokens of the worst-case graph llama.cpp reserves: min(n_ctx, n_ubatch) [tokens]."""
    return min(effective_n_ctx(arch, s, profile), s.n_ubatch)


def _ffn_width(arch: Architecture, il: int) -> int:
    """Width of the FFN intermediates of layer ``il`` [elements] (MoE: selected experts + shared)."""
    if arch.is_moe_layer(il) and arch.moe is not None:
        m = arch.moe
        return m.expert_ff * m.n_expert_used + m.shared_ff_total
    return arch.ff(il)


def attention_stage_per_token(arch: Architecture, il: int, fa: bool) -> int:
    """f32 values per token live while layer ``il``'s attention runs, without the KQ matrix and
    masks [elements].

    Fitted on llama.cpp b11549 CPU reserves of 5 models (tests/test_memory_llamacpp.py):
    ``3·q + (k + v) + c·n_embd`` with c = 1 (FA on) / 3 (FA off), without ``k + v`` (FA on) where
    the family computes Q first (``ArchFamily.attn_kv_rows_live``), plus the family's extra rows
    with FA off (``ArchFamily.attn_extra_embd_fa_off``: 1 for Gemma's post-attention norm);
    MLA (absorbed): ``n_head·(nope + rope) + 2·n_head·kv_lora + n_head·(kv_lora + rope) + n_embd``;
    MLA with a DSA indexer (deepseek32, glm-dsa):
    ``n_head·(nope + 3·rope + 2·kv_lora) + 4·n_embd + 261``, fitted on llama.cpp b11549 CPU
    reserves of synthetic deepseek32 GGUFs (tests/archs/dsa_synth.py: 4–32 heads, nope 32/96,
    rope 32/48, kv_lora 128/256, v_head 32/96, n_embd 256/512, indexer 4/8 heads of 64/128,
    top-k 128–1024) within 0.5 MiB, plus the n_kv terms of :func:`dsa_indexer_bytes`; the 128
    heads of the released models lie outside the fitted range.
    """
    if arch.mla is not None and family_for(arch.arch).indexer is not None:
        m = arch.mla
        per_head = m.qk_nope_head_dim + 3 * m.qk_rope_head_dim + 2 * m.kv_lora_rank
        return arch.n_head * per_head + 4 * arch.n_embd + 261
    if arch.mla is not None:
        m = arch.mla
        h = arch.n_head
        return (
            h * (m.qk_nope_head_dim + m.qk_rope_head_dim)
            + 2 * h * m.kv_lora_rank
            + h * (m.kv_lora_rank + m.qk_rope_head_dim)
            + arch.n_embd
        )
    hd_k, hd_v = layer_head_dims(arch, il)
    q = arch.n_head * hd_k
    fam = family_for(arch.arch)
    kv = arch.head_kv(il) * (hd_k + hd_v) if fam.attn_kv_rows_live or not fa else 0
    c = 1 if fa else 3 + fam.attn_extra_embd_fa_off
    return 3 * q + kv + c * arch.n_embd + stage_extra(arch, "attention", fa)


def ffn_stage_per_token(arch: Architecture, il: int, fa: bool, kv_rot: bool = False) -> int:
    """f32 values per token live while layer ``il``'s FFN (or SSM block) runs [elements].

    Dense/MoE: ``3·n_ff + 5·n_embd`` (MoE: n_ff = n_expert_used·expert_ff + shared FFN), plus the
    attention output (n_head·head_dim) that stays allocated with FA off, plus the family's
    ``ArchFamily.ffn_extra_embd`` rows (the attention output a parallel block adds after the FFN). Mamba-2:
    ``5·d_inner + 6·n_group·d_state + n_head + min(5·n_embd, 4·d_inner)``, fitted on llama.cpp
    b11549 CPU reserves of 8 synthetic mamba2 GGUFs (tests/synth.py: n_embd 128–512, d_inner
    512/1024, n_group·d_state 64–256, 8/16 heads) within 0.13 MiB at n_ubatch 512; other
    recurrent blocks: ``ArchFamily.recurrent_stage_per_token``. Dense/MoE fitted like
    :func:`attention_stage_per_token`.
    """
    fam = family_for(arch.arch)
    if arch.is_recurrent(il) and arch.ssm is not None:
        if fam.recurrent_stage_per_token is not None:
            return fam.recurrent_stage_per_token(arch)
        ssm = arch.ssm
        d, g = ssm.d_inner, ssm.n_group * ssm.d_state
        return 5 * d + 6 * g + ssm.n_head + min(5 * arch.n_embd, 4 * d)
    extra = (0 if fa else arch.n_head * arch.n_embd_head_v) + stage_extra(arch, "ffn", fa, kv_rot)
    if fam.moe_stage_per_token is not None and arch.is_moe_layer(il):
        return fam.moe_stage_per_token(arch) + extra
    return 3 * _ffn_width(arch, il) + (5 + fam.ffn_extra_embd) * arch.n_embd + extra


def ssm_scan_extra_bytes(arch: Architecture, s: LlamaSettings, n_t: int) -> int:
    """Compute-buffer bytes the SSM scan's result adds to a recurrent layer's fitted stage [B].

    ``ggml_ssm_scan`` returns one f32 tensor holding y for every token and the final state of
    every sequence, ``n_tok·d_inner + n_seq·d_state·d_inner`` values (ggml/src/ggml.c,
    https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml.c), and llama.cpp reserves
    the graph with ``n_seq = n_parallel`` sequences and ``n_tok`` rounded up to a multiple of
    them (``llama_context::graph_reserve``,
    https://github.com/ggml-org/llama.cpp/blob/master/src/llama-context.cpp), so it grows with
    the slots. By the family's ``ArchFamily.ssm_scan`` rule (``rigfit.archs.registry.SSM_SCAN_RULES``):

    * "states": the per-token fit covers y; the n_seq states come on top (Mamba-2: within
      0.25 MiB for 1–8 slots on the synthetic mamba2 GGUF, llama.cpp b11549 CPU);
    * "conv_hole" (falcon-h1): the whole result is placed in the block ggml-alloc freed after
      the convolution of the same layer, ``conv_x`` = ``(n_tok + (d_conv−1)·n_seq)·conv_dim``
      f32 (``build_mamba2_layer``, src/models/mamba-base.cpp), when it fits there (0 B), and
      is a new block of its full size otherwise. Measured on llama.cpp b11549 CPU reserves of
      synthetic falcon-h1 GGUFs (tests/archs/falcon_h1_synth.py, n_ctx 4096, 1–8 slots): with
      d_inner 512 it fits up to 2 slots (d_state 64, 1 group), 4 slots (2 groups), and no
      longer beyond, the compute buffer stepping up by the whole scan result (+1.4 MiB at
      3 slots); with d_inner 1024 the measured buffers stay ~1 MiB apart from this rule.
    """
    ssm = arch.ssm
    if ssm is None or not any(arch.is_recurrent(il) for il in range(arch.n_layer)):
        return 0
    n_seq = max(1, s.n_parallel)
    states = n_seq * ssm.d_state * ssm.d_inner * 4
    rule = family_for(arch.arch).ssm_scan
    if rule == "states":
        return states
    n_tok = -(-n_t // n_seq) * n_seq
    scan = n_tok * ssm.d_inner * 4 + states
    conv_dim = ssm.d_inner + 2 * ssm.n_group * ssm.d_state
    conv_x = (n_tok + (ssm.d_conv - 1) * n_seq) * conv_dim * 4
    return 0 if scan <= conv_x else scan


def attn_rotation_block_bytes(
    arch: Architecture, s: LlamaSettings, n_t: int, profile: BuildProfile | None = None
) -> int:
    """Extra compute-buffer block of a family whose attention branch runs beside its recurrent
    stage (``ArchFamily.attn_rot_block``: falcon-h1) when the KV cache is rotated [B].

    The rotation adds f32 intermediates to every attention (Q and K times the K matrix, V times
    the V matrix, the output times the V matrix again: ``llm_graph_context::build_attn``,
    src/llama-graph.cpp, https://github.com/ggml-org/llama.cpp/blob/master/src/llama-graph.cpp).
    Where attention is the peak stage they fit in the blocks it already frees (qwen3moe,
    minimax-m2, qwen3next: +0 MiB beyond the matrices, llama.cpp b11549 CPU). Beside falcon-h1's
    SSM stage, ggml-alloc's placement leaves one more block of ``n_t·n_head·head_dim_v`` f32 when
    n_head·head_dim_v > n_embd, and none otherwise: an empirical rule, fitted on 10 synthetic
    falcon-h1 shapes (tests/archs/test_falcon_h1.py MEASURED_ROTATION: q8_0 against f16 KV,
    -c 4096, 1 and 4 slots, llama.cpp b11549 CPU): +1.0 MiB at 8 heads × 64 over n_embd 256
    (also 4 × 128, d_state 128, 8 KV heads), +2.0 MiB at 16 × 64 with d_inner 1024, 0 where
    n_head·head_dim = n_embd (4 × 64 / 256, 8 × 64 / 512). Left over against the measured q8_0
    buffers: ≤ 0.05 MiB on those shapes; 16 × 64 with d_inner 512 −1.74 / −0.24 MiB (1 / 4 slots;
    its f16 buffer is already 1.0 MiB above rigfit's), d_inner 1024 +0.99 / +0.95 MiB and 768
    +0.49 / +0.46 MiB (where the rotation moved the one-slot buffer down by 1.0 / 0.5 MiB).
    """
    if not family_for(arch.arch).attn_rot_block:
        return 0
    if not any(attn_rotation(arch, s, swa, profile) != (0, 0) for swa in (False, True)):
        return 0
    q = arch.n_head * arch.n_embd_head_v
    return n_t * q * 4 if q > arch.n_embd else 0


def stage_extra(arch: Architecture, stage: str, fa: bool, kv_rot: bool = False) -> int:
    """f32 values per token the family adds to graph stage ``stage`` ("input", "attention",
    "ffn") [elements]: ``ArchFamily.stage_extra_per_token``, 0 for most families (``kv_rot``:
    the KV cache is quantized and Hadamard-rotated, :func:`attn_rotation`)."""
    f = family_for(arch.arch).stage_extra_per_token
    return f(arch, stage, fa, kv_rot) if f is not None else 0


def mla_v_transpose_bytes(
    arch: Architecture, il: int, s: LlamaSettings, n_t: int, profile: BuildProfile | None = None
) -> int:
    """Extra attention-stage memory of MLA with flash attention off [B]: V is the ``kv_lora_rank``
    part of the cached latent, made contiguous and transposed for the KQ·V product, f16 over every
    cell of every stream (``n_kv_all · kv_lora · 2``). ggml-alloc places it in the block freed by
    the absorbed query (``n_head · kv_lora · n_t`` f32) when it fits, so it costs memory only when
    it is larger than that block.

    Measured on llama.cpp b11549 CPU reserves of the synthetic deepseek2 GGUF (tests/synth.py,
    kv_lora 128, 8 heads): +0 MiB at n_ctx ≤ 8192, +4 MiB at 16384, +8 MiB at 32768 (n_ubatch
    256 and 512, 1 and 4 streams), as this rule gives.
    """
    if arch.mla is None or s.fa_enabled:
        return 0
    v_cont = kv_cells(arch, il, s, profile) * arch.mla.kv_lora_rank * 2
    q_block = arch.n_head * arch.mla.kv_lora_rank * n_t * 4
    return v_cont if v_cont > q_block else 0


def dsa_indexer_bytes(arch: Architecture, il: int, n_t: int, n_kv: int, fa: bool) -> int:
    """Attention-stage bytes of a DSA lightning indexer beside the MLA attention [B] (0 without one).

    The indexer scores every cached key for every token (``ggml_lightning_indexer``, f32
    ``n_kv × n_t``), masks them and keeps the ``min(top_k, n_kv)`` best
    (src/models/deepseek32.cpp, https://github.com/ggml-org/llama.cpp/blob/master/src/models/deepseek32.cpp);
    fitted on llama.cpp b11549 CPU reserves (see :func:`attention_stage_per_token`):

        n_kv·n_t·(6 FA on | 10 FA off) + k·16·min(top_k, n_kv)·n_t

    k = 2 where some layers share the previous layer's top-k (GLM-5.2's ``indexer.types``: the
    top-k stays alive across layers; measured +2 MiB on a synthetic glm-dsa with 3 of 8 full
    layers, top-k 256, n_ubatch 512), else 1; a shared layer has no score term.

    Exact (±0.02 MiB) with FA on from n_kv 2048 on and with FA off at n_kv 4096–32768 (8 heads,
    1 and 4 streams, n_ubatch 128–1024). Below, ggml-alloc reuses freed blocks: FA on the rule
    errs high by up to 2 MiB at n_kv 512–1536; FA off up to two score rows fit the block of the
    absorbed attention (``min(2, ⌊2·n_head·kv_lora / n_kv⌋)`` rows of 4·n_kv B per token, taken
    off: exact on synthetic deepseek32 with 8 and 16 heads at n_kv 512–4096, llama.cpp b11549).
    """
    idx = family_for(arch.arch).indexer
    if idx is None:
        return 0
    n_idx, _, top_k = idx(arch, il)
    scores = n_kv * n_t * (6 if fa else 10) if n_idx else 0  # a shared layer reuses the top-k
    if n_idx and not fa and arch.mla is not None:
        # FA off: up to two f32 score rows (4·n_kv B per token) go into the block the absorbed
        # attention frees, 2·n_head·kv_lora f32 per token (measured on synthetic deepseek32,
        # 8 / 16 heads, kv_lora 128, n_kv 512–4096: 8 / 4 / 0 B·n_kv·n_t over before, as this
        # count of rows that fit predicts)
        scores -= min(2, 2 * arch.n_head * arch.mla.kv_lora_rank // n_kv) * 4 * n_kv * n_t
    # with shared layers (GLM-5.2) the full layer's top-k stays alive for the next layers
    keep = 2 if any(idx(arch, j)[0] == 0 for j in range(arch.n_layer)) else 1
    return scores + keep * 16 * min(top_k, n_kv) * n_t


def _rotation_size(head: int) -> int:
    """Side of the K rotation matrix for a cache of head size ``head`` [elements]: the largest
    power of two from 64 up that divides it (``llama_kv_cache::build_input_k_rot``)."""
    n = 64
    while head % (2 * n) == 0:
        n *= 2
    return n


def attn_rotation(
    arch: Architecture, s: LlamaSettings, swa: bool, profile: BuildProfile | None = None
) -> tuple[int, int]:
    """(K, V) Hadamard rotation matrix sides of one KV cache (``swa``: the sliding-window cache of
    llama_kv_cache_iswa, else the base cache), 0 where that side is not rotated [elements].

    llama.cpp (PR #21038, https://github.com/ggml-org/llama.cpp/pull/21038; rule in
    ``llama_kv_cache::llama_kv_cache``, src/llama-kv-cache.cpp,
    https://github.com/ggml-org/llama.cpp/blob/master/src/llama-kv-cache.cpp) rotates K when the
    K type is quantized, every layer of the cache has the same K head size and the model's K head
    size is a multiple of 64 (``attn_rot_k``); likewise V (``attn_rot_v``). K uses an n×n matrix
    (n: :func:`_rotation_size`), V always 64×64 (none for MLA's V-less cache: deepseek2 measured
    +0 MiB); LLAMA_ATTN_ROT_DISABLE=1 turns both off.
    """
    p = profile or build_profile()
    if not p.attn_rot:
        return 0, 0
    heads = {
        layer_head_dims(arch, il)
        for il in range(arch.n_layer)
        if layer_has_kv(arch, il) and arch.is_swa(il) == swa
    }
    if not heads:
        return 0, 0
    heads_k, heads_v = {k for k, _ in heads}, {v for _, v in heads}
    rot_k = rot_v = 0
    if resolve_kv_type(s.type_k).type.quantized and len(heads_k) == 1 and arch.n_embd_head_k % 64 == 0:
        rot_k = _rotation_size(next(iter(heads_k)))
    v_less = arch.mla is not None and p.mla_v_less  # no V cache: n_embd_head_v_all stays 0
    quant_v = resolve_kv_type(s.type_v).type.quantized
    if quant_v and not v_less and len(heads_v) == 1 and arch.n_embd_head_v % 64 == 0:
        rot_v = 64
    return rot_k, rot_v


def attn_rotation_bytes(
    arch: Architecture, s: LlamaSettings, layers: list[int] | None = None, profile: BuildProfile | None = None
) -> int:
    """Graph inputs of the Hadamard rotation of a quantized KV cache [B]: per cache the layers in
    ``layers`` attend through (default: all), ``attn_inp_k_rot`` (n×n f32) and
    ``attn_inp_v_rot`` (64×64 f32), in the compute buffer like the KQ masks
    (``llama_kv_cache::build_input_k_rot`` / ``build_input_v_rot``, src/llama-kv-cache.cpp).
    Measured on llama.cpp b11549 CPU reserves, q8_0 against f16 KV at -c 4096 (synthetic GGUFs of
    benchmarks/arch_sweep.py; benchmarks/kv_rotation.py): +0.03 MiB with head size 64 (one
    cache), +0.06 MiB with two caches (gemma3, cohere2, gpt-oss), +0.11 MiB with 64 and 128
    (gemma4), 0 with head size 32."""
    caches = {
        arch.is_swa(il)
        for il in (range(arch.n_layer) if layers is None else layers)
        if layer_attends(arch, il)
    }
    total = 0
    for swa in caches:
        rot_k, rot_v = attn_rotation(arch, s, swa, profile)
        total += (rot_k * rot_k + rot_v * rot_v) * 4
    return total


#: graph inputs per token besides embeddings and masks (positions, KV indices, output ids) [B];
#: fitted (the ~0.02 MiB left over at n_ubatch 512 on every model measured).
_INPUTS_PER_TOKEN = 40


def compute_stage_bytes(
    arch: Architecture,
    s: LlamaSettings,
    layers: list[int],
    holds_output: bool,
    profile: BuildProfile | None = None,
) -> int:
    """Compute ("graph") buffer of one backend holding ``layers`` (+ the output layer) [B].

    ggml-alloc sizes one buffer per backend for the peak of simultaneously live intermediates
    of the worst-case graph llama.cpp reserves, ``n_t = min(n_ctx, n_ubatch)`` tokens with every
    KV cell in view (docs/research/memory.md §1.4). Modelled as the largest stage:

        attention = n_t·4·attention_stage_per_token + [FA off] n_t·n_head·n_kv·4
        ffn       = n_t·4·ffn_stage_per_token
        input     = n_t·4·stage_extra(input)     (on the device of layer 0; 0 for most families)
        layers    = max(input, attention, ffn) + masks + n_t·40
        masks     = Σ_caches n_kv(stream) · n_t/n_stream · (FA ? 2 : 4)      (f16 / f32)
        output    = n_out·n_vocab·4 + k·n_t·n_embd·4     (n_out = n_t or n_seq by build;
                    k = ArchFamily.output_embd_rows: 2 Gemma, else 1)
        recurrent = + ssm_scan_extra_bytes (final SSM states; falcon-h1: in the SSM stage)
        rotation  = + attn_rotation_bytes (quantized KV: Hadamard matrices, beside the masks)
                    + attn_rotation_block_bytes (falcon-h1: in the SSM stage)
        C         = max(layers, output)
    """
    p = profile or build_profile()
    if p.legacy_compute:
        return legacy_compute_bytes(arch, s, layers, holds_output, p)
    n_t = n_reserve_tokens(arch, s, p)
    fa = s.fa_enabled
    best = 0
    if layers:
        _, _, n_stream = context_sizes(arch, s, p)
        sizes = set()
        for il in layers:
            if layer_attends(arch, il):
                sizes.add((arch.is_swa(il), kv_cells(arch, il, s, p) // n_stream))
        masks = sum(n_kv * n_t * (2 if fa else 4) for _, n_kv in sizes)
        # the family's input stage (gemma3n: per-layer embeddings projected before layer 0)
        stage = n_t * 4 * stage_extra(arch, "input", fa) if 0 in layers else 0
        scan = ssm_scan_extra_bytes(arch, s, n_t)
        rot = attn_rotation_bytes(arch, s, layers, p)
        rot_block = attn_rotation_block_bytes(arch, s, n_t, p)
        kv_rot = rot > 0
        for il in layers:
            ffn = n_t * 4 * ffn_stage_per_token(arch, il, fa, kv_rot)
            if arch.is_recurrent(il) and family_for(arch.arch).ssm_scan == "conv_hole":
                ffn += scan
            if arch.is_recurrent(il) and layer_attends(arch, il):
                ffn += rot_block
            attn = 0
            if layer_attends(arch, il):
                attn = n_t * 4 * attention_stage_per_token(arch, il, fa)
                n_kv = kv_cells(arch, il, s, p) // n_stream
                attn += dsa_indexer_bytes(arch, il, n_t, n_kv, fa)
                if not fa:
                    attn += n_t * arch.n_head * n_kv * 4 + mla_v_transpose_bytes(arch, il, s, n_t, p)
            stage = max(stage, ffn, attn)
        best = stage + masks + rot + n_t * _INPUTS_PER_TOKEN
        if family_for(arch.arch).ssm_scan == "states" and any(arch.is_recurrent(il) for il in layers):
            best += scan
    if holds_output:
        n_out = n_t if p.logits_reserve == "ubatch" else max(1, s.n_parallel)
        k = family_for(arch.arch).output_embd_rows
        best = max(best, n_out * arch.n_vocab * 4 + k * n_t * arch.n_embd * 4)
    return best


def legacy_compute_bytes(
    arch: Architecture, s: LlamaSettings, layers: list[int], holds_output: bool, profile: BuildProfile
) -> int:
    """Compute buffer of 2023–2024 builds [B] (flash attention off, f32 KQ, logits for every
    batch token), fitted on published logs (data/ground-truth/memory.csv, XiongjieDai):

    2024-05 (b2795–b2843; Llama 3 8B at n_ctx 512 and 8192 exact):
        C = max(n_t·n_vocab·4 + n_t·n_embd·4,  n_t·n_head·n_ctx·4 + 4·n_t·q·4 + mask)
    2023-12 (b1619–b1691; LLaMA/Llama 2 7B–70B at n_ctx 512, within 2 %):
        C = max(n_t·n_vocab·4 + 1.4·n_t·n_embd·4,  n_t·4·(2·n_ff + 2.25·n_embd)) + 0.19 MiB
    """
    n_t = n_reserve_tokens(arch, s, profile)
    n_ctx = effective_n_ctx(arch, s, profile)
    q = arch.n_head * arch.n_embd_head_k
    ff = max((_ffn_width(arch, il) for il in layers), default=0)
    best = 0
    if profile.legacy_compute == "2023-12":
        if layers:
            best = int(n_t * 4 * (2 * ff + 2.25 * arch.n_embd))
        if holds_output:
            best = max(best, int(n_t * arch.n_vocab * 4 + 1.4 * n_t * arch.n_embd * 4))
        return best + int(0.19 * MIB)
    if layers:
        best = n_t * arch.n_head * n_ctx * 4 + 4 * n_t * q * 4 + n_ctx * n_t * 4
    if holds_output:
        best = max(best, n_t * arch.n_vocab * 4 + n_t * arch.n_embd * 4)
    return best


#: Graph copies the scheduler keeps for pipeline parallelism across several GPUs
#: (ggml-backend.c GGML_SCHED_MAX_COPIES = 4; llama.cpp enables it for a full layer-split offload).
PIPELINE_COPIES = 4


def mask_bytes(arch: Architecture, s: LlamaSettings, profile: BuildProfile | None = None) -> int:
    """KQ masks of the reserved graph [B]: one per distinct cache (full / SWA), n_kv × n_t,
    f16 with flash attention, f32 without."""
    p = profile or build_profile()
    n_t = n_reserve_tokens(arch, s, p)
    _, _, n_stream = context_sizes(arch, s, p)
    sizes = {
        (arch.is_swa(il), kv_cells(arch, il, s, p) // n_stream)
        for il in range(arch.n_layer)
        if layer_attends(arch, il)
    }
    return sum(n_kv * n_t * (2 if s.fa_enabled else 4) for _, n_kv in sizes)


def input_buffer_bytes(arch: Architecture, s: LlamaSettings, profile: BuildProfile | None = None) -> int:
    """Host-side compute buffer of a fully offloaded model [B] (``CUDA_Host compute buffer``):
    the input embeddings (get_rows of token_embd on the CPU, n_embd × n_t f32) and the KQ masks.
    Published check: Llama 3 8B, n_ctx 8192, FA off: 8 + 16 = 24.01 MiB logged."""
    return (
        arch.n_embd * n_reserve_tokens(arch, s, profile) * 4
        + mask_bytes(arch, s, profile)
        + attn_rotation_bytes(arch, s, None, profile)
    )


def model_has_output(model: ModelSpec) -> bool:
    return any(t.name in ("output.weight", "token_embd.weight") for t in model.tensors)
