"""cohere2 (Command R7B), the architecture added through the registry alone (rigfit/archs/cohere.py
plus its catalog row): tensor table, GGUF and HF reading, and memory against real llama.cpp.

Synthetic cohere2 GGUFs (tests/archs/cohere2_synth.py) are loaded by xllamacpp at several
settings; every buffer must match rigfit within 1 % or 1 MiB, like tests/test_memory_llamacpp.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sweep
from cohere2_synth import write_cohere2
from sweep import Setting

from rigfit.catalog.models import get_model, resolve_model
from rigfit.estimate.tensors import catalog_model_spec, tensor_shapes, tensor_types
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import architecture_from_gguf
from rigfit.formats.hf import architecture_from_config

#: Command R7B config.json (https://huggingface.co/CohereLabs/c4ai-command-r7b-12-2024/blob/main/config.json),
#: the keys the converter reads
R7B_CONFIG = {
    "architectures": ["Cohere2ForCausalLM"],
    "model_type": "cohere2",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 256000,
    "max_position_embeddings": 132096,
    "rope_theta": 50000.0,
    "sliding_window": 4096,
    "sliding_window_pattern": 4,
    "rotary_pct": 1.0,
    "logit_scale": 0.25,
    "layer_norm_eps": 1e-05,
}


@pytest.mark.parametrize("wtype", ["F16", "Q8_0"])
def test_tensor_table_equals_the_file(tmp_path, wtype):
    """The tensors rigfit predicts for a cohere2 architecture are the ones a cohere2 GGUF holds."""
    m = write_cohere2(tmp_path / "c.gguf", wtype=wtype)
    arch = architecture_from_gguf(read_gguf(m.path))
    assert arch.arch == "cohere2" and arch.tied_embeddings
    assert sorted(tensor_shapes(arch)) == sorted((n, s) for n, (s, _, _) in m.tensors.items())
    if wtype == "F16":  # the converter's F16 file: 2-D weights F16, norms F32
        assert {n: t for n, _, t in tensor_types(arch, "F16")} == {n: t for n, (_, t, _) in m.tensors.items()}


def test_gguf_swa_pattern_is_three_sliding_one_global(tmp_path):
    arch = architecture_from_gguf(read_gguf(write_cohere2(tmp_path / "c.gguf", n_layer=8).path))
    assert arch.sliding_window == 512
    assert arch.swa_layers == (True, True, True, False) * 2


def test_hf_config_plans_like_the_catalog_row():
    """config.json → the converter's GGUF keys → the same Architecture as the catalog row."""
    hf = architecture_from_config(R7B_CONFIG, "CohereLabs/c4ai-command-r7b-12-2024")
    cat = get_model("command-r7b")
    for f in (
        "arch",
        "n_layer",
        "n_embd",
        "n_head",
        "n_head_kv",
        "n_embd_head_k",
        "n_ff",
        "n_vocab",
        "n_ctx_train",
        "sliding_window",
        "swa_layers",
        "tied_embeddings",
        "attn_bias",
        "qk_norm",
    ):
        assert getattr(hf, f) == getattr(cat, f), f
    assert hf.extra["n_rot"] == 128
    assert [t.name for t in catalog_model_spec(hf, "Q4_K_M").tensors] == [
        t.name for t in catalog_model_spec(cat, "Q4_K_M").tensors
    ]


def test_catalog_row_resolves_and_quantizes():
    assert resolve_model("c4ai-command-r7b-12-2024").id == "command-r7b"
    spec = catalog_model_spec(get_model("command-r7b"), "Q4_K_M")
    types = {t.name: t.ggml_type for t in spec.tensors}
    assert "output.weight" not in types and types["token_embd.weight"] == "Q6_K"  # tied: output rules
    assert 4.9e9 < spec.weights_bytes < 5.2e9


# --- memory against real llama.cpp --------------------------------------------------------------

SETTINGS = (
    Setting("ctx512-fa-on", 512, "on"),
    Setting("ctx4096-fa-on", 4096, "on"),
    Setting("ctx4096-fa-off", 4096, "off"),
    Setting("ctx8192-fa-off", 8192, "off"),
    Setting("ctx4096-np4", 4096, "auto", n_parallel=4),
    Setting("ctx4096-np4-kvu", 4096, "auto", n_parallel=4, kv_unified=True),
    Setting("ctx4096-swa-full", 4096, "auto", swa_full=True),
    Setting("ctx4096-ub128", 4096, "auto", n_ubatch=128),
    Setting("ctx4096-ub1024-fa-off", 4096, "off", n_ubatch=1024),
    Setting("ctx4096-q8_0", 4096, "on", kv_type="q8_0"),
)
SHAPES = {
    "small-F16": {"wtype": "F16"},
    "wide-F16": {"wtype": "F16", "n_embd": 768, "n_head": 12, "n_head_kv": 4, "n_ff": 2048, "n_layer": 12},
    "small-Q8_0": {"wtype": "Q8_0"},
}


@pytest.mark.oracle
@pytest.mark.xdist_group("llamacpp")
@pytest.mark.parametrize("shape", list(SHAPES))
def test_buffers_match_llamacpp(tmp_path, shape):
    pytest.importorskip("xllamacpp")
    path = str(write_cohere2(tmp_path / f"{shape}.gguf", **SHAPES[shape]).path)
    bad = sweep.misses(sweep.compare(path, SETTINGS, timeout_s=240))
    assert not bad, f"predicted vs llama.cpp (MiB) for cohere2 {shape}: {bad}"


@pytest.mark.oracle
@pytest.mark.xdist_group("llamacpp")
def test_llamacpp_reads_cohere2_like_rigfit(tmp_path):
    pytest.importorskip("xllamacpp")
    import llamacpp_oracle

    path = write_cohere2(tmp_path / "c.gguf").path
    info = llamacpp_oracle.llamacpp_reading(path)
    assert info["ok"], info["error"]
    assert llamacpp_oracle.compare(architecture_from_gguf(read_gguf(path)), info) == []
    assert info["kv_layers"] == [2, 6]  # 2 global-attention layers, 6 SWA layers
