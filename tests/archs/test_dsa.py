"""DeepSeek sparse attention (deepseek32: DeepSeek-V3.2, glm-dsa: GLM-5): the lightning
indexer's tensors, its K cache and compute terms, and the skipped MTP block's share of the
CPU_Mapped span, against the buffers xllamacpp 2026.10.11549 logged for the synthetic models of
tests/archs/dsa_synth.py (CPU; `python benchmarks/arch_sweep.py --families deepseek32,glm-dsa`
reproduces every figure below; the live comparison is tests/archs/test_sweep.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sweep
from dsa_synth import write_dsa

from rigfit.catalog.models import get_model
from rigfit.estimate import memory as mem
from rigfit.formats.source import load_model_source

ROOT = Path(__file__).resolve().parents[2]


def _pred(tmp_path: Path, setting: sweep.Setting, **kw: object) -> dict[str, float]:
    spec = load_model_source(str(write_dsa(tmp_path / "m.gguf", **kw).path))
    return sweep.predicted(spec, setting)


#: (setting, llama.cpp KV MiB, compute MiB) logged for write_dsa("deepseek32") defaults: KV is the
#: MLA latent (4 layers × 160 values) plus the indexer keys (4 layers × 64 values), f16 or q8_0
LOGGED = [
    (sweep.Setting("-c 4096 -fa on", 4096), 7.00, 26.53),
    (sweep.Setting("-c 4096 -fa off", 4096, "off"), 7.00, 102.53),
    (sweep.Setting("-c 32768 -fa off", 32768, "off"), 56.00, 754.53),
    (sweep.Setting("-c 32768 -ctk/-ctv q8_0", 32768, kv_type="q8_0"), 29.75, 138.53),
    (sweep.Setting("-c 4096 -np 4", 4096, n_parallel=4), 7.00, 14.53),
    (sweep.Setting("-c 4096 -ub 1024", 4096, n_ubatch=1024), 7.00, 53.05),
    # FA off below n_kv 3072: score rows in the absorbed attention's freed block (issue 12; the
    # rule without it was 2 / 4 / 4 MiB high at n_kv 512 / 1024 / 2048)
    (sweep.Setting("-c 512 -fa off", 512, "off"), 0.87, 20.03),
    (sweep.Setting("-c 1024 -fa off", 1024, "off"), 1.75, 29.53),
    (sweep.Setting("-c 2048 -fa off", 2048, "off"), 3.50, 52.53),
]


@pytest.mark.parametrize(("setting", "kv_mib", "compute_mib"), LOGGED, ids=[s.label for s, _, _ in LOGGED])
def test_kv_and_compute_match_logged(tmp_path, setting, kv_mib, compute_mib):
    p = _pred(tmp_path, setting)
    assert p["KV"] == pytest.approx(kv_mib, abs=0.01)
    assert p["compute"] == pytest.approx(compute_mib, abs=0.02)


def test_indexer_cache_is_one_head_per_layer(tmp_path):
    """The indexer K cache (llama_kv_cache_dsa) is idx_dim values per token and layer in the
    -ctk type: doubling idx_dim adds exactly 4 layers × 4096 cells × 64 × 2 B."""
    s = sweep.Setting("-c 4096 -fa on", 4096)
    a = _pred(tmp_path, s)["KV"]
    b = _pred(tmp_path, s, idx_dim=128)["KV"]
    assert b - a == pytest.approx(4 * 4096 * 64 * 2 / 2**20)


@pytest.mark.parametrize(("n_nextn", "mapped_mib"), [(0, 9.27), (1, 9.90), (2, 13.43)])
def test_skipped_mtp_blocks_widen_the_mapping(tmp_path, n_nextn, mapped_mib):
    """Without MTP llama.cpp still maps the MTP blocks' attention, indexer, norms and router
    (not their experts nor the nextn head): CPU_Mapped 9.27 / 9.90 / 13.43 MiB logged."""
    p = _pred(tmp_path, sweep.Setting("-c 4096 -fa on", 4096), n_nextn=n_nextn)
    assert p["weights"] == pytest.approx(mapped_mib, abs=0.01)


def test_glm5_catalog_record_from_config():
    """GLM-5 comes from its own config.json (glm_moe_dsa → glm-dsa) with the indexer sizes."""
    saved = json.loads((ROOT / "data/model-configs/zai-org__GLM-5.json").read_text(encoding="utf-8"))
    arch = get_model("glm-5")
    assert arch.arch == "glm-dsa" and saved["model_type"] == "glm_moe_dsa"
    ex = arch.extra
    assert (ex["attention_indexer_head_count"], ex["attention_indexer_key_length"]) == (
        saved["index_n_heads"],
        saved["index_head_dim"],
    )
    assert ex["attention_indexer_top_k"] == saved["index_topk"] == 2048
    assert ex["n_nextn_layers"] == saved["num_nextn_predict_layers"] == 1
    assert arch.extra["config_source"] == "https://huggingface.co/zai-org/GLM-5/blob/main/config.json"


def test_deepseek_v32_kv_per_token():
    """DeepSeek-V3.2: 61 layers × (512 + 64 latent + 128 indexer) f16 values per token."""
    arch = get_model("deepseek-v3.2")
    assert arch.arch == "deepseek32"
    s = mem.LlamaSettings(n_ctx=131072)
    assert mem.kv_cache_bytes(arch, s) == 61 * (512 + 64 + 128) * 2 * 131072
    # the indexer's top-k only bounds the kept keys: compute grows with n_kv (scores of every key)
    short = mem.compute_stage_bytes(arch, mem.LlamaSettings(n_ctx=4096), list(range(61)), False)
    long = mem.compute_stage_bytes(arch, s, list(range(61)), False)
    assert long > short


def test_mistral3_wrapper_around_deepseek_v3_is_deepseek2():
    """Mistral Large 3's language model is DeepSeek-V3's (llama.cpp converts it to deepseek2,
    conversion/mistral.py MistralMoeModel); a mistral3 wrapper around a dense Mistral stays mistral3."""
    from rigfit.archs import hf_family
    from rigfit.formats.hf import architecture_from_config

    assert hf_family("deepseek_v3", "mistral3").name == "deepseek2"
    assert hf_family("mistral", "mistral3").name == "mistral3"
    text = {  # illustrative DeepSeek-V3-shaped sizes, not a published config
        "model_type": "deepseek_v3",
        "num_hidden_layers": 4,
        "hidden_size": 256,
        "num_attention_heads": 8,
        "intermediate_size": 512,
        "moe_intermediate_size": 128,
        "n_routed_experts": 8,
        "num_experts_per_tok": 2,
        "n_shared_experts": 1,
        "first_k_dense_replace": 1,
        "q_lora_rank": 128,
        "kv_lora_rank": 128,
        "qk_nope_head_dim": 32,
        "qk_rope_head_dim": 32,
        "v_head_dim": 32,
        "vocab_size": 1000,
        "max_position_embeddings": 4096,
    }
    arch = architecture_from_config({"model_type": "mistral3", "text_config": text}, "x")
    assert arch.arch == "deepseek2" and arch.mla is not None and arch.mla.kv_lora_rank == 128


def test_glm52_shared_indexer_layers(tmp_path):
    """GLM-5.2 (``attention.indexer.types``): only full layers have an indexer and an indexer
    cache; logged for 8 layers of which 3 full, n_ctx 4096, FA on: KV 10.00 + 1.50 MiB,
    compute 28.53 MiB, CPU_Mapped 18.65 MiB."""
    kw = dict(arch="glm-dsa", n_layer=8, indexer_types=[1, 1, 0, 0, 1, 0, 0, 0], n_nextn=1)
    p = _pred(tmp_path, sweep.Setting("-c 4096 -fa on", 4096), **kw)
    assert p["KV"] == pytest.approx(11.50, abs=0.01)
    assert p["compute"] == pytest.approx(28.53, abs=0.02)
    assert p["weights"] == pytest.approx(18.65, abs=0.01)


def test_glm52_default_indexer_layout_without_the_key():
    """glm-dsa files of a 1M-token context without ``indexer.types`` get GLM-5.2's layout
    (layers 0–2 and every fourth from 6 full); shorter contexts (GLM-5 / 5.1) are all full."""
    from dataclasses import replace

    from rigfit.archs.deepseek import indexer_full

    glm5 = get_model("glm-5")
    assert all(indexer_full(glm5, il) for il in range(glm5.n_layer))
    glm52 = replace(glm5, n_ctx_train=1048576)
    full = [il for il in range(glm52.n_layer) if indexer_full(glm52, il)]
    assert full[:6] == [0, 1, 2, 6, 10, 14] and len(full) == 21


def test_decode_reads_latent_and_indexer_keys():
    """Speed: llama.cpp applies the top-k as a mask over every cell, so a decoded token is priced
    as reading the whole latent (512 + 64, an upper bound) and the indexer keys (128) of every
    cached token and layer."""
    from rigfit.estimate.speed.work import model_work
    from rigfit.estimate.tensors import catalog_model_spec

    work = model_work(catalog_model_spec(get_model("deepseek-v3.2"), "Q4_K_M"))
    assert set(work.layer_kv_elems) == {512 + 64 + 128}
