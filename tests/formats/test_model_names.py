"""GGUF file names and bare Ollama library names read as catalog models (issue 17).

A table of real-world spellings: each must resolve to the RIGHT catalog model and quant, or be
refused with one error line; nothing may resolve to a look-alike.
"""

from __future__ import annotations

import json
import shutil

import pytest

import synth
from rigfit.catalog.ollama_names import LIBRARY, resolve_ollama_library
from rigfit.errors import BadFileError, RigfitError, UnknownNameError
from rigfit.formats.source import load_model_source, name_assumption


@pytest.fixture(autouse=True)
def _no_local_stores(tmp_path, monkeypatch):
    """An empty home (no Ollama store, no HF cache) and offline, whatever the developer's machine has."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("OLLAMA_MODELS", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


RESOLVES = [
    # GGUF file names (no such file here): model and quant from the name
    ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "llama-3.1-8b", "Q4_K_M"),
    ("Llama-3.2-3B-Instruct-Q8_0.gguf", "llama-3.2-3b", "Q8_0"),
    ("Qwen3-8B-Q4_K_M.gguf", "qwen3-8b", "Q4_K_M"),
    ("Qwen2.5-Coder-32B-Instruct-Q5_K_M.gguf", "qwen2.5-coder-32b", "Q5_K_M"),
    ("DeepSeek-R1-Distill-Qwen-32B-Q4_K_M.gguf", "deepseek-r1-distill-qwen-32b", "Q4_K_M"),
    ("gemma-3-27b-it-Q4_K_M.gguf", "gemma-3-27b", "Q4_K_M"),
    ("Phi-4-mini-instruct-Q4_K_M.gguf", "phi-4-mini", "Q4_K_M"),
    ("Mistral-Small-3.2-24B-Instruct-2506-Q4_K_M.gguf", "mistral-small-3.2-24b", "Q4_K_M"),
    ("llama-2-7b-chat.Q4_K_M.gguf", "llama-2-7b", "Q4_K_M"),
    ("Llama-3.3-70B-Instruct-Q4_K_M-00001-of-00002.gguf", "llama-3.3-70b", "Q4_K_M"),
    ("Llama-3.1-8B-Instruct-IQ4_XS.gguf", "llama-3.1-8b", "IQ4_XS"),
    ("gpt-oss-20b-mxfp4.gguf", "gpt-oss-20b", "MXFP4_MOE"),
    ("gpt-oss-20b-F16.gguf", "gpt-oss-20b", "F16"),
    # bare Ollama library names: latest, sizes, variants, quant tags
    ("llama3.3", "llama-3.3-70b", "Q4_K_M"),
    ("llama3.3:latest", "llama-3.3-70b", "Q4_K_M"),
    ("llama3.3:70b-instruct-q4_K_M", "llama-3.3-70b", "Q4_K_M"),
    ("llama3.2", "llama-3.2-3b", "Q4_K_M"),
    ("llama3.1", "llama-3.1-8b", "Q4_K_M"),
    ("llama3.1:8b-instruct-q8_0", "llama-3.1-8b", "Q8_0"),
    ("llama3.1:8b-text-q4_0", "llama-3.1-8b", "Q4_0"),
    ("llama3.1:70b-instruct-fp16", "llama-3.1-70b", "F16"),
    ("deepseek-r1:32b", "deepseek-r1-distill-qwen-32b", "Q4_K_M"),
    ("deepseek-r1:14b", "deepseek-r1-distill-qwen-14b", "Q4_K_M"),
    ("deepseek-r1:70b", "deepseek-r1-distill-llama-70b", "Q4_K_M"),
    ("deepseek-r1:671b", "deepseek-r1", "Q4_K_M"),
    ("gemma3:4b-it-qat", "gemma-3-4b", "Q4_0"),
    ("gemma3:27b-it-qat", "gemma-3-27b", "Q4_0"),
    ("gemma3", "gemma-3-4b", "Q4_K_M"),
    ("gemma3:12b-it-q8_0", "gemma-3-12b", "Q8_0"),
    ("qwen3", "qwen3-8b", "Q4_K_M"),
    ("qwen3:30b", "qwen3-30b-a3b", "Q4_K_M"),
    ("qwen3:30b-a3b-instruct-2507-q4_K_M", "qwen3-30b-a3b-instruct-2507", "Q4_K_M"),
    ("qwen2.5-coder", "qwen2.5-coder-7b", "Q4_K_M"),
    ("qwen3-coder:30b", "qwen3-coder-30b-a3b", "Q4_K_M"),
    ("gpt-oss", "gpt-oss-20b", "MXFP4_MOE"),
    ("gpt-oss:120b", "gpt-oss-120b", "MXFP4_MOE"),
    ("mistral", "mistral-7b-v0.3", "Q4_K_M"),
    ("mistral:7b-instruct-v0.3-q4_K_M", "mistral-7b-v0.3", "Q4_K_M"),
    ("mixtral:8x7b-instruct-v0.1-q4_K_M", "mixtral-8x7b", "Q4_K_M"),
    ("llama4", "llama-4-scout", "Q4_K_M"),
    # checkpoints the catalog gained (issue 12): no longer refused as look-alikes
    ("DeepSeek-R1-0528-Qwen3-8B-Q4_K_M.gguf", "deepseek-r1-0528-qwen3-8b", "Q4_K_M"),
    ("Qwen2.5-7B-Instruct-1M-Q4_K_M.gguf", "qwen2.5-7b-1m", "Q4_K_M"),
    ("Llama-3.1-Nemotron-70B-Instruct-HF-Q4_K_M.gguf", "llama-3.1-nemotron-70b", "Q4_K_M"),
    ("deepseek-r1:8b", "deepseek-r1-0528-qwen3-8b", "Q4_K_M"),  # Ollama's 8b: the Qwen3-8B distill
    ("deepseek-r1:1.5b", "deepseek-r1-distill-qwen-1.5b", "Q4_K_M"),
    ("deepseek-coder", "deepseek-coder-1.3b", "Q4_K_M"),  # latest = 1.3b
    # catalog names keep their catalog meaning
    ("deepseek-r1", "deepseek-r1", "Q4_K_M"),
    ("phi4", "phi-4", "Q4_K_M"),
    ("llama-3.1-8b", "llama-3.1-8b", "Q4_K_M"),
]


@pytest.mark.parametrize("ref, model_id, file_type", RESOLVES)
def test_spelling_resolves_to_the_right_model(ref, model_id, file_type):
    spec = load_model_source(ref)
    assert (spec.arch.id, spec.file_type) == (model_id, file_type)
    assert spec.origin == "catalog" and not spec.tensors_exact


REFUSED = [
    # a look-alike must not be taken: these are other checkpoints
    ("Qwen3-VL-8B-Instruct-Q4_K_M.gguf", BadFileError),
    ("Meta-Llama-3.1-8B-Instruct-abliterated-Q4_K_M.gguf", BadFileError),
    ("foo.gguf", BadFileError),
    ("wizardlm2:7b", UnknownNameError),  # Ollama's 7b is not in the catalog
    ("codellama:70b", UnknownNameError),
    ("llama3.3:8b", UnknownNameError),  # no such size
    ("qwen3:30b-a3b-thinking-2507-q4_K_M", UnknownNameError),  # a dated checkpoint the catalog lacks
    ("mistral:7b-instruct-v0.2-q4_K_M", UnknownNameError),  # v0.2, not the catalog's v0.3
    ("llava", UnknownNameError),
    ("nomic-embed-text", UnknownNameError),
    # a path with a folder stays a file error
    ("models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", BadFileError),
    ("./Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", BadFileError),
    ("~/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", BadFileError),
]


@pytest.mark.parametrize("ref, error", REFUSED)
def test_spelling_is_refused_not_guessed(ref, error):
    with pytest.raises(error) as exc:
        load_model_source(ref)
    assert "\n" not in exc.value.message


def test_explicit_quant_wins_over_the_name():
    assert load_model_source("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q8_0").file_type == "Q8_0"
    assert load_model_source("gemma3:4b-it-qat", "Q6_K").file_type == "Q6_K"


def test_library_table_points_at_catalog_models():
    from rigfit.catalog.models import get_model

    for name, (latest, sizes) in LIBRARY.items():
        assert latest in sizes, name
        for cid in sizes.values():
            if cid is not None:
                get_model(cid)  # raises for an id the catalog lacks


def test_refusal_names_the_sizes_rigfit_knows():
    with pytest.raises(UnknownNameError) as exc:
        resolve_ollama_library("wizardlm2")  # latest = 7b, not in the catalog
    assert "wizardlm2:8x22b" in (exc.value.suggestion or "")
    assert resolve_ollama_library("llava") is None


def test_real_file_wins_over_the_name(tmp_path):
    m = synth.write_llama(tmp_path / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", n_layer=2)
    spec = load_model_source(m.path.name)  # cwd is tmp_path
    assert spec.tensors_exact and spec.origin == "gguf"
    assert name_assumption(m.path.name, spec) is None


def test_local_ollama_store_wins_over_the_catalog(tmp_path):
    oll = tmp_path / "home" / ".ollama" / "models"
    m = synth.write_llama(tmp_path / "l.gguf", n_layer=2)
    blob = oll / "blobs" / "sha256-0123abcd"
    blob.parent.mkdir(parents=True)
    shutil.copy(m.path, blob)
    mf = oll / "manifests" / "registry.ollama.ai" / "library" / "llama3.2" / "latest"
    mf.parent.mkdir(parents=True)
    mf.write_text(
        json.dumps(
            {"layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:0123abcd"}]}
        )
    )
    spec = load_model_source("llama3.2")
    assert spec.tensors_exact and spec.arch.n_layer == 2
    assert name_assumption("llama3.2", spec) is None
    assert load_model_source("llama3.2:1b").arch.id == "llama-3.2-1b"  # not in the store: catalog


def test_ollama_prefix_offline_falls_back_to_the_catalog():
    spec = load_model_source("ollama:gemma3:4b-it-qat", offline=True)
    assert (spec.arch.id, spec.file_type) == ("gemma-3-4b", "Q4_0")
    with pytest.raises(RigfitError):
        load_model_source("ollama:someone/gemma3", offline=True)  # not the library: no guess


def test_name_assumption_says_what_was_assumed():
    spec = load_model_source("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    note = name_assumption("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", spec)
    assert note and "no file" in note and "llama-3.1-8b" in note and "Q4_K_M" in note
    note = name_assumption("deepseek-r1:32b", load_model_source("deepseek-r1:32b"))
    assert note and "Ollama name" in note and "deepseek-r1-distill-qwen-32b" in note
    assert name_assumption("llama-3.1-8b", load_model_source("llama-3.1-8b")) is None
    assert name_assumption("deepseek-r1", load_model_source("deepseek-r1")) is None


def test_plan_cli_prints_the_assumption(capsys):
    from rigfit.cli import main

    try:  # the plain-plan fast path returns; Typer's standalone mode exits 0
        main(["plan", "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "--on", "RTX 3060 12GB", "--json"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr()
    assert json.loads(out.out)["model"]["id"] == "llama-3.1-8b"
    assert "assumed the catalog model Llama 3.1 8B" in out.err
