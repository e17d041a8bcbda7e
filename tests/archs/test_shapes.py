"""Catalog tensor tables (``ArchFamily.build_shapes``) of the families issue 12 added, checked
against the synthetic GGUFs real llama.cpp loads (tests/archs/sweep.py writers): the table
rigfit predicts from the architecture read back from the file equals the file's tensors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sweep

from rigfit.estimate.tensors import tensor_shapes
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import architecture_from_gguf

FAMILIES = [
    "falcon-h1",
    "lfm2",
    "lfm2moe",
    "nemotron_h",
    "nemotron_h_moe",
    "qwen3next",
    "qwen35",
    "qwen35moe",
    "gemma3n",
    "gemma4",
    "gemma4-ple256",
    "gemma4-moe",
    "gemma4-ple-shared-kv",
    "gemma4-e2b",
    "gemma4-31b",
    "gemma4-26b-a4b",
    "granitehybrid",
    "granitehybrid-moe",
    "gpt-oss",
    "qwen2",
    "qwen3",
    "gemma2",
    "granite",
    "smollm3",
    "gemma",
    "olmo2",
    "olmo2-swa",
    "seed_oss",
    "exaone4",
    "phimoe",
    "phimoe-longrope",
    "minimax-m2",
    "deepseek32",
    "glm-dsa",
]
# glm4moe and phi3 are left out: their synthetic files lack the MTP block (GLM-4.5 GGUFs carry
# one) and the LongRoPE factors (Phi-3 with a 32k+ context carries them), which the catalog
# rules add by default.


@pytest.mark.parametrize("family", FAMILIES)
def test_predicted_table_equals_file(tmp_path, family):
    g = read_gguf(sweep.FAMILIES[family](tmp_path / f"{family}.gguf", wtype="F16").path)
    arch = architecture_from_gguf(g)
    predicted = sorted(tensor_shapes(arch))
    actual = sorted((t.name, tuple(t.shape)) for t in g.tensors)
    missing = sorted(set(actual) - set(predicted))
    extra = sorted(set(predicted) - set(actual))
    assert not missing and not extra, f"{family}: missing {missing[:6]}, extra {extra[:6]}"
