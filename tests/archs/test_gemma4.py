"""Gemma 4 as released (data/model-configs/google__gemma-4-*.json): the Hugging Face reader turns
each config.json into the tensor table and caches llama.cpp builds (convert_hf_to_gguf.py
``Gemma4Model``, src/models/gemma4.cpp), and the catalog plans them. The synthetic GGUFs with the
same shape rules are checked against real llama.cpp in test_shapes.py / test_sweep.py."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rigfit.archs.gemma import gemma4_k_eq_v
from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import count_params
from rigfit.catalog.names import resolve_name
from rigfit.estimate.memory import LlamaSettings, kv_cache_bytes, layer_has_kv
from rigfit.estimate.tensors import tensor_shapes
from rigfit.formats.hf import architecture_from_config

sys.path.insert(0, str(Path(__file__).resolve().parent))

CONFIGS = Path(__file__).resolve().parents[2] / "data" / "model-configs"
GIB = 1024**3


def _arch(repo: str) -> Architecture:
    cfg = json.loads((CONFIGS / f"google__{repo}.json").read_text(encoding="utf-8"))
    return architecture_from_config({k: v for k, v in cfg.items() if not k.startswith("_")}, repo)


def _layer(shapes: list[tuple[str, tuple[int, ...]]], il: int) -> dict[str, tuple[int, ...]]:
    p = f"blk.{il}."
    return {n[len(p) :]: s for n, s in shapes if n.startswith(p)}


def test_31b_global_layers_share_k_as_v_with_fewer_wider_heads():
    """31B: sliding layers 16 KV heads of 256, global layers (every 6th) 4 KV heads of 512 and no
    V projection (attention_k_eq_v)."""
    a = _arch("gemma-4-31B-it")
    assert gemma4_k_eq_v(a)
    assert [a.is_swa(il) for il in range(12)] == [True] * 5 + [False] + [True] * 5 + [False]
    shapes = tensor_shapes(a)
    swa, full = _layer(shapes, 0), _layer(shapes, 5)
    assert swa["attn_q.weight"] == (5376, 32 * 256) and swa["attn_k.weight"] == (5376, 16 * 256)
    assert swa["attn_v.weight"] == (5376, 16 * 256)
    assert full["attn_q.weight"] == (5376, 32 * 512) and full["attn_k.weight"] == (5376, 4 * 512)
    assert "attn_v.weight" not in full
    assert ("rope_freqs.weight", (256,)) in shapes  # one, for the global layers' 512-wide heads
    assert sum(n.endswith("layer_output_scale.weight") for n, _ in shapes) == 60


def test_31b_kv_cache_by_hand():
    """f16 KV at 32k tokens, one slot: 10 global layers × 4 heads × 512 × (K + V) × 32768 cells and
    50 sliding layers × 16 × 256 × (K + V) × (1024 window + 512 ubatch) cells."""
    a = _arch("gemma-4-31B-it")
    s = LlamaSettings(n_ctx=32768, n_parallel=1)
    full = 10 * 4 * 512 * 2 * 2 * 32768
    swa = 50 * 16 * 256 * 2 * 2 * (1024 + 512)
    assert kv_cache_bytes(a, s) == full + swa
    assert round((full + swa) / GIB, 2) == 3.67


def test_e2b_shared_kv_layers_and_double_wide_ffn():
    """E2B: 4 sliding : 1 global, the last 20 of 35 layers reuse earlier caches (no K/V weights,
    no KV cache) and have a twice-as-wide FFN (use_double_wide_mlp); per-layer embeddings 256."""
    a = _arch("gemma-4-E2B-it")
    assert not gemma4_k_eq_v(a)
    assert [a.is_swa(il) for il in range(5)] == [True] * 4 + [False]
    assert [layer_has_kv(a, il) for il in range(35)] == [True] * 15 + [False] * 20
    shapes = tensor_shapes(a)
    own, shared = _layer(shapes, 14), _layer(shapes, 15)
    assert own["attn_k.weight"] == (1536, 512) and own["attn_v.weight"] == (1536, 512)
    assert not {"attn_k.weight", "attn_v.weight", "attn_k_norm.weight"} & set(shared)
    assert own["ffn_up.weight"] == (1536, 6144) and shared["ffn_up.weight"] == (1536, 12288)
    assert dict(shapes)["per_layer_token_embd.weight"] == (256 * 35, 262144)
    # 3 global + 12 sliding layers hold a cache: 3 × 1 × 512 × 2 × 2 B × 4096 + 12 × 1 × 256 × 2 × 2 B × 1024
    s = LlamaSettings(n_ctx=4096, n_parallel=1)
    assert kv_cache_bytes(a, s) == 3 * 512 * 4 * 4096 + 12 * 256 * 4 * 1024


def test_26b_a4b_experts_next_to_dense_ffn():
    """26B-A4B: 128 experts of 704 (8 used) next to a dense 2112-wide FFN in every layer; the
    language model counts 25.2B total / 3.8B active, the figures Google gives for the model
    (https://ai.google.dev/gemma/docs/core/model_card_4, as quoted in its derived repos)."""
    a = _arch("gemma-4-26B-A4B-it")
    assert a.moe is not None and (a.moe.n_expert, a.moe.n_expert_used, a.moe.expert_ff) == (128, 8, 704)
    layer = _layer(tensor_shapes(a), 29)
    assert layer["ffn_down.weight"] == (2112, 2816)
    assert layer["ffn_down_exps.weight"] == (704, 2816, 128)
    assert "attn_v.weight" not in layer and layer["attn_k.weight"] == (2816, 2 * 512)
    total, active = count_params(a)
    assert round(total / 1e9, 1) == 25.2 and round(active / 1e9, 1) == 3.8


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("google/gemma-4-31B-it", "gemma-4-31b"),
        ("gemma4:26b", "gemma-4-26b-a4b"),
        ("gemma4:e2b", "gemma-4-e2b"),
        ("unsloth/gemma-4-E4B-it-GGUF:Q4_K_M", "gemma-4-e4b"),
        ("gemma-4-26B-A4B-it-UD-Q4_K_XL.gguf", "gemma-4-26b-a4b"),
        ("gemma 4 31b", "gemma-4-31b"),
    ],
)
def test_names_resolve(spelling, expected):
    assert resolve_name(spelling).id == expected


def test_image_tokens_between_40_and_280():
    """gemma4v (clip.cpp: patch 16, 3×3 pooling, 40–280 tokens): a 1024×768 photo is scaled to fit
    280 tokens of 48×48 px keeping its aspect: 1.091× down → 19 × 14 = 266 tokens; a 224 px image
    is scaled up to at least 40 tokens (7 × 7 = 49); without a size the budget, 280."""
    from rigfit.estimate.vision import VisionSettings, tokens_for

    assert tokens_for(VisionSettings(images=1, image_size=(1024, 768)), "gemma4").tokens == 266
    assert tokens_for(VisionSettings(images=1, image_size=(224, 224)), "gemma4").tokens == 49
    assert tokens_for(VisionSettings(images=1), "gemma4").tokens == 280


def test_12b_unified_reads_as_gemma4():
    """Gemma 4 12B (model_type gemma4_unified, no vision tower) is the gemma4 language model:
    8 KV heads of 256 on sliding layers, 1 of 512 with K = V on the global ones."""
    a = _arch("gemma-4-12B-it")
    assert a.arch == "gemma4" and gemma4_k_eq_v(a)
    full = _layer(tensor_shapes(a), 5)
    assert full["attn_k.weight"] == (3840, 512) and "attn_v.weight" not in full
    assert resolve_name("gemma4:12b").id == "gemma-4-12b"


def test_projector_estimate_by_tower(tmp_path):
    """--images on a catalog Gemma 4 model adds the F16 projector of its tower: 31B's 27 layers of
    1152 (Q/K/V/O, gated FFN of 4304) plus patch embedding, 2 × 10240 F32 positions and the
    projection to 5376; E2B/E4B (per-layer embeddings) the 16 × 768 tower, byte for byte the
    synthetic writer's file of that size; 12B has none."""
    from rigfit.estimate.vision import catalog_projector

    a = _arch("gemma-4-31B-it")
    e, f = 1152, 4304
    f16 = 3 * 256 * e + 27 * (4 * e * e + 3 * e * f) + e * 5376
    f32 = 2 * 10240 * e + 27 * (4 * e + 2 * 72) + 2 * e
    p = catalog_projector("gemma4", a.n_embd, a.extra)
    assert p is not None and p.weights_bytes == 2 * f16 + 4 * f32 and p.n_patches == 48 * 48
    e2b = _arch("gemma-4-E2B-it")
    small = catalog_projector("gemma4", e2b.n_embd, e2b.extra)
    assert small is not None and (small.n_embd, small.n_layer) == (768, 16)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from synth_mmproj import write_gemma4v_mmproj

    written = write_gemma4v_mmproj(
        tmp_path / "e2b.gguf",
        n_embd=768,
        n_ff=3072,
        n_layer=16,
        n_head=12,
        positions=10240,
        projection_dim=1536,
    )
    assert small.weights_bytes == sum(written.tensor_bytes.values())
    u = _arch("gemma-4-12B-it")
    assert catalog_projector("gemma4", u.n_embd, u.extra) is None


#: llama.cpp b11549 (xllamacpp 2026.10.11549) CPU compute buffers [MiB] of synthetic gemma4 GGUFs
#: (gemma3n_synth.write_gemma4: E 256, 4 heads of 128 / 64, 1 KV head, 4:1 SWA, F16), measured
#: with benchmarks/arch_sweep.py's loader (sweep.compare): (writer arguments, setting, MiB).
#: The first four are sweep.FAMILIES["gemma4-e2b"], where the rule with two per-layer-input rows
#: in the FFN stage was 2 MiB high (issue 12); E 256, 4 heads, 2 KV heads, 5:1 SWA unless named.
_E2B = dict(n_layer=10, swa_period=5, n_head_kv=1, ple=64)
_E2B_SHARED = dict(_E2B, shared_kv_layers=5, double_wide_mlp=True)
_31B = dict(n_layer=12, n_head=8, n_head_kv=4, n_head_kv_global=1, k_eq_v=True)
COMPUTE_MEASURED = [
    (_E2B_SHARED, "-c 512 -fa on", 10.03),
    (_E2B_SHARED, "-c 4096 -fa on", 14.03),
    (_E2B_SHARED, "-c 4096 -ctk/-ctv q8_0", 16.14),
    (_E2B_SHARED, "-c 4096 -np 4 -kvu", 15.53),
    # the widest (double-wide) FFN fits the freed input block: its intermediate, not a
    # per-layer-input row, leaves the stage (gemma4_ffn_ple_values; 1.48 MiB high before)
    (_E2B_SHARED, "-c 4096 -ub 1024", 29.06),
    (_E2B_SHARED, "-c 4096 -ub 128", 3.44),
    (dict(_E2B_SHARED, ple=32, n_ff=384), "-c 512 -fa on", 7.78),
    (dict(_E2B_SHARED, ple=32, n_ff=416), "-c 512 -fa on", 8.03),
    (dict(_E2B_SHARED, ple=128, n_ff=896), "-c 512 -fa on", 15.53),
    (dict(_E2B_SHARED, ple=128, n_ff=384), "-c 512 -fa on", 11.03),
    (dict(n_layer=8, ple=64, shared_kv_layers=2), "-c 4096 -ub 1024", 24.06),
    (dict(_E2B, n_ff=1024), "-c 4096 -fa on", 14.78),
    (dict(_E2B, n_ff=1024), "-c 4096 -ctk/-ctv q8_0", 16.14),
    (dict(_E2B, ple=32), "-c 4096 -fa on", 11.15),
    (dict(_E2B, n_ff=2048), "-c 4096 -ub 1024", 45.06),
    # flash attention off without per-layer embeddings (_global_before_sliding): the 31B shape
    # (sweep.FAMILIES["gemma4-31b"], 1.5 MiB short before), 12 and 6 layers of the default shape
    (_31B, "-c 512 -fa off", 18.52),
    (_31B, "-c 4096 -fa off", 82.52),
    (dict(n_layer=12), "-c 512 -fa off", 12.02),
    (dict(n_layer=6), "-c 512 -fa off", 11.02),
]


@pytest.mark.parametrize(("kw", "label", "mib"), COMPUTE_MEASURED)
def test_ffn_stage_per_layer_input_rows_against_recorded_llamacpp(tmp_path, kw, label, mib):
    """The FFN stage holds one per-layer-input row where the widest FFN fits the block the input
    stage frees, two otherwise (gemma4_ffn_ple_rows); FA off, the attention stage 3 more rows of
    E where a global layer precedes others: within issue 12's 1 MiB / 1 %."""
    import sweep
    from gemma3n_synth import write_gemma4

    from rigfit.formats.source import load_model_source

    spec = load_model_source(str(write_gemma4(tmp_path / "g.gguf", **kw).path))
    setting = next(s for s in sweep.SETTINGS if s.label == label)
    assert sweep.within(sweep.predicted(spec, setting)["compute"], mib), (kw, label, mib)


def test_ffn_ple_rows_threshold():
    """2 rows where the widest FFN is wider than A·L + 2·E (− q with rotated KV), else 1; the
    released E2B keeps 2 (its shared layers' FFN of 12288 > 256·35 + 2·1536)."""
    from rigfit.archs.gemma import gemma4_ffn_ple_rows

    e2b = _arch("gemma-4-E2B-it")
    assert gemma4_ffn_ple_rows(e2b) == 2
    small = replace(e2b, n_layer=10, n_embd=256, n_ff=1024, n_head=4, n_embd_head_k=128)
    small = replace(small, extra={**small.extra, "embedding_length_per_layer_input": 64})
    assert gemma4_ffn_ple_rows(small) == 1  # 1024 ≤ 640 + 512
    assert gemma4_ffn_ple_rows(small, kv_rot=True) == 2  # 1024 > 640 + 512 − 512
    assert gemma4_ffn_ple_rows(replace(small, n_ff=2048)) == 2


def test_ffn_ple_values_double_wide():
    """Layers of one width keep rows·A·L; where the widest FFN (E2B's double-wide shared-KV
    layers) comes after narrower ones and fits the freed block, the stage holds
    2·A·L − max(w, A·L); wider than the block, two rows as before."""
    from rigfit.archs.gemma import gemma4_ffn_ple_values

    e2b = _arch("gemma-4-E2B-it")
    a_l = int(e2b.extra["embedding_length_per_layer_input"]) * e2b.n_layer
    assert gemma4_ffn_ple_values(e2b) == 2 * a_l  # 12288 > A·L + 2·E
    small = replace(e2b, n_layer=10, n_embd=256, n_ff=512, n_head=4, n_embd_head_k=128)
    small = replace(small, extra={**small.extra, "embedding_length_per_layer_input": 64})
    assert gemma4_ffn_ple_values(small) == 640  # one width: one row
    wide = replace(small, n_ff=tuple(512 if il < 5 else 1024 for il in range(10)))
    assert gemma4_ffn_ple_values(wide) == 2 * 640 - 1024
    narrow = replace(wide, n_ff=tuple(256 if il < 5 else 512 for il in range(10)))
    assert gemma4_ffn_ple_values(narrow) == 640  # w 512 < A·L 640: one row
    assert gemma4_ffn_ple_values(wide, kv_rot=True) == 2 * 640  # 1024 > 1152 − 512


#: llama.cpp b11549 (xllamacpp 2026.10.11549) CPU compute buffers [MiB] at -c 4096 -fa off of
#: synthetic gemma4 GGUFs at the released widths (gemma3n_synth.write_gemma4 with the config's
#: E, heads, head sizes, KV heads, K = V, n_ff, sliding window 1024; 3 layers sliding, global,
#: sliding; vocabulary 1000; Q4_0; 26B-A4B with 16 of its 128 experts): (repo, KV heads per
#: layer, MiB). The FA-off rule without gemma._released_width_rows was 5.5 / 2.5 / 7.0 MiB low.
RELEASED_WIDTH_FA_OFF = [
    ("gemma-4-12B-it", (8, 1, 8), 224.52),
    ("gemma-4-31B-it", (16, 4, 16), 415.52),
    ("gemma-4-26B-A4B-it", (8, 2, 8), 220.02),
]


@pytest.mark.parametrize(("repo", "hkv", "mib"), RELEASED_WIDTH_FA_OFF)
def test_fa_off_attention_at_released_widths(repo, hkv, mib):
    """At the released widths a global layer's FA-off attention stage holds 3·q + 5·E (K/V rows
    narrower than E), one more E with routed experts: the recorded reserves to 0.01 MiB."""
    from rigfit.estimate.memory import LlamaSettings, compute_stage_bytes

    a = _arch(repo)
    a3 = replace(a, n_layer=3, swa_layers=(True, False, True), n_head_kv=hkv, n_vocab=1000, n_ff=a.ff(0))
    if a.moe is not None:
        a3 = replace(a3, moe=replace(a.moe, n_expert=16))
    got = compute_stage_bytes(a3, LlamaSettings(n_ctx=4096, flash_attn="off"), [0, 1, 2], True) / 1024**2
    assert abs(got - mib) <= 0.01, (repo, got, mib)
