"""Review regression: `plan mamba-codestral-7b --kv-types` printed a table of nine KV types, all
0.00 GiB and the same speed, with "0.0010 pub." quality costs, for a model with no KV cache."""

from __future__ import annotations

from clirun import run_cli


def test_kv_types_of_an_attention_free_model_say_there_is_no_kv_cache():
    r = run_cli("plan", "mamba-codestral-7b", "--on", "RTX 3060 12GB", "--kv-types")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "has no KV cache" in text and "pub." not in text


def test_kv_types_table_stays_for_attention_models():
    r = run_cli("plan", "llama-3.2-1b", "--on", "RTX 3060 12GB", "--kv-types")
    assert r.exit_code == 0, r.output
    assert "KV cache types at" in r.stdout
