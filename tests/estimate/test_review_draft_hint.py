"""Review regression: `plan llama-3.1-70b --draft qwen3-0.6b` was refused (vocabularies differ)
with the hint "e.g. qwen3-0.6b for Qwen3" — the very draft just refused, of the wrong family."""

from __future__ import annotations

from clirun import run_cli


def test_vocab_refusal_suggests_drafts_for_the_target():
    r = run_cli("plan", "llama-3.1-70b", "--on", "2x RTX 3090", "--draft", "qwen3-0.6b")
    assert r.exit_code == 2
    hint = r.stderr.split("tokenizer.")[1]
    assert "llama-3.2-1b" in hint and "qwen3" not in hint


def test_vocab_refusal_suggests_qwen_drafts_for_a_qwen_target():
    r = run_cli("plan", "qwen3-32b", "--on", "2x RTX 3090", "--draft", "llama-3.2-1b")
    assert r.exit_code == 2
    assert "qwen3-0.6b" in r.stderr.split("tokenizer.")[1]
