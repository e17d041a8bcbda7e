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


def test_ollama_line_says_it_has_no_speculative_decoding():
    """`plan ... --draft llama-3.2-1b` printed an Ollama line with no word that Ollama cannot draft."""
    args = ("plan", "llama-3.1-70b", "--on", "2x RTX 3090", "--draft", "llama-3.2-1b", "--json")
    j = json.loads(run_cli(*args).stdout)
    assert "no speculative decoding" in j["commands"]["ollama"]["note"]
    plain = json.loads(run_cli("plan", "llama-3.1-70b", "--on", "2x RTX 3090", "--json").stdout)
    assert not plain["commands"]["ollama"]["note"]
