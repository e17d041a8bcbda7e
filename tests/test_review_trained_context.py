"""Review regression: Mamba-2 2.7B (trained at 2,048 tokens; its GGUF context_length 2^20 is a
placeholder) was recommended for long-context use with "max ctx 1,048,576", and `plan --ctx 65536`
gave no beyond-training warning."""

from __future__ import annotations

import json

from clirun import run_cli
from rigfit.catalog.models import get_model
from rigfit.estimate.kvtypes import rope_scaling_advice


def test_trained_ctx_prefers_the_real_training_length():
    a = get_model("mamba2-2.7b")
    assert a.n_ctx_train == 1 << 20  # llama.cpp's view stays for memory
    assert a.trained_ctx == 2048
    assert get_model("llama-3.1-8b").trained_ctx == get_model("llama-3.1-8b").n_ctx_train


def test_context_beyond_training_is_flagged_for_mamba2():
    advice = rope_scaling_advice(get_model("mamba2-2.7b"), 65536)
    assert advice is not None and not advice.supported and advice.n_ctx_train == 2048


def test_long_context_recommendation_skips_a_2k_model():
    r = run_cli("recommend", "--on", "Raspberry Pi 5 16GB", "--use", "long-context", "--json")
    assert r.exit_code == 0, r.output
    ids = json.dumps(json.loads(r.stdout))
    assert "mamba2-2.7b" not in ids


def test_models_min_ctx_uses_the_training_length():
    r = run_cli("models", "--min-ctx", "1000000")
    assert r.exit_code == 0, r.output
    assert "mamba2-2.7b" not in r.stdout and "llama-4-scout" in r.stdout
