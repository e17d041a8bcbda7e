"""Review regression: `plan qwen3-8b --users 4 --prompt 100000` printed the Ollama settings
"num_ctx=404224 (env: OLLAMA_NUM_PARALLEL=4)": Ollama multiplies num_ctx by OLLAMA_NUM_PARALLEL,
so that asks for 1.6 M tokens of cache, four times llama.cpp's -c."""

from __future__ import annotations

import json

from clirun import run_cli


def test_ollama_num_ctx_is_per_request_with_parallel_slots():
    r = run_cli("plan", "qwen3-8b", "--on", "RTX 4090 + 64GB DDR5-6000", "--users", "4", "--json")
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    ollama = j["commands"]["ollama"]
    assert ollama["env"]["OLLAMA_NUM_PARALLEL"] == "4"
    assert ollama["parameters"]["num_ctx"] * 4 == j["n_ctx"]


def test_ollama_num_ctx_single_user_is_the_whole_context():
    r = run_cli("plan", "qwen3-8b", "--on", "RTX 4090 + 64GB DDR5-6000", "--json")
    j = json.loads(r.stdout)
    assert j["commands"]["ollama"]["parameters"]["num_ctx"] == j["n_ctx"]
