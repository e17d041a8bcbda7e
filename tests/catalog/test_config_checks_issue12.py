"""Recalled configs checked against public copies (issue 12): counts, labels, and fine-tune fields
the base model's config cannot vouch for."""

from __future__ import annotations

import json

from model_configs_kit import BY_ID, CONFIGS, ROWS, model_configs
from model_configs_kit import saved_config as _saved
from rigfit.catalog.names import resolve_name

ROWS_BY_REPO = {r["repo"]: r for r in model_configs.read_index()}


def _configs() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in CONFIGS.glob("*.json")}


def test_recalled_configs_do_not_come_back() -> None:
    """128 configs were recalled before issue 12's check; 5 remain. A new config must cite a
    public copy (``_via``) or name what it checked (``_checked``) instead of adding to these."""
    recalled = [n for n, c in _configs().items() if "_via" not in c and "_checked" not in c]
    assert len(recalled) <= 5, sorted(recalled)


def test_a_field_left_unchecked_is_named_in_the_label() -> None:
    """A fine-tune checked against its base model keeps its own value where the two differ, and the
    label says that field was not checked (Qwen2.5-32B fine-tunes: the Instruct model's 32768 context,
    not the base model's 131072; Nous Hermes 2: two ChatML tokens added to Mixtral's 32000)."""
    for repo in ("NovaSky-AI/Sky-T1-32B-Preview", "simplescaling/s1-32B", "open-thoughts/OpenThinker-32B"):
        cfg = _saved(repo)
        assert cfg["max_position_embeddings"] == 32768
        assert "except max_position_embeddings" in cfg["_checked"]
    hermes = _saved("NousResearch/Nous-Hermes-2-Mixtral-8x7B-DPO")
    assert hermes["vocab_size"] == 32002 and "except vocab_size" in hermes["_checked"]
    # Llama 3 70B fine-tunes: checked against Llama 3 70B's own layout (8192 context), every field
    for repo in (
        "Groq/Llama-3-Groq-70B-Tool-Use",
        "aaditya/Llama3-OpenBioLLM-70B",
        "nvidia/Llama3-ChatQA-1.5-70B",
    ):
        cfg = _saved(repo)
        assert cfg["max_position_embeddings"] == 8192 and "(llama3_70b)" in cfg["_checked"]


def test_every_check_label_says_the_repo_config_itself_was_not_read_or_names_what_was_checked() -> None:
    for name, cfg in _configs().items():
        label = cfg.get("_checked")
        if label and label.startswith("every field kept here"):
            assert "this repo's own config.json was not read" in label, name


def test_a_config_read_in_full_keeps_the_fields_the_reader_uses() -> None:
    """Phi-3 configs read from dotnet/machinelearning's copies carry rope_theta and sliding_window;
    llama.cpp runs phi3 without SWA, so the window is noted and changes no layer."""
    for repo, window in (
        ("microsoft/Phi-3-mini-4k-instruct", 2047),
        ("microsoft/Phi-3-mini-128k-instruct", 262144),
        ("microsoft/Phi-3-medium-4k-instruct", 2047),
        ("microsoft/Phi-3-medium-128k-instruct", 131072),
    ):
        cfg = _saved(repo)
        assert cfg["_via"].startswith("https://github.com/dotnet/machinelearning/blob/")
        assert cfg["sliding_window"] == window and cfg["rope_theta"] == 10000.0
    a = BY_ID["phi-3-mini-4k"]
    assert a.n_layer == 32 and a.n_embd == 3072 and a.ff(0) == 8192
    assert any("sliding_window 2047" in n for n in a.extra.get("notes", []))


def test_untied_distill_head_is_kept_against_the_tied_base_layout() -> None:
    """DeepSeek-R1-Distill-Qwen-1.5B unties the output head (published total 1.78B; the tied
    Qwen2 1.5B layout would give 1.54B): the check skips tie_word_embeddings and keeps false."""
    cfg = _saved("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
    assert cfg["tie_word_embeddings"] is False and "tie_word_embeddings" in cfg["_checked"]
    assert 1.77e9 < BY_ID["deepseek-r1-distill-qwen-1.5b"].total_params < 1.78e9


def test_a_transcription_that_disagrees_with_a_vendored_config_is_not_trusted() -> None:
    """Qwen1.5-32B: the GenZ transcription lists 64 attention heads; the GPTQ release's config.json
    has 40 (5120 / 128). The saved config keeps 40 and its label names the disagreement."""
    cfg = _saved("Qwen/Qwen1.5-32B-Chat")
    assert cfg["num_attention_heads"] == 40 and cfg["intermediate_size"] == 27392
    assert "disagree" in cfg["_checked"]
    big = _saved("Qwen/Qwen1.5-110B-Chat")
    assert big["num_key_value_heads"] == 8 and "KV heads left recalled" in big["_checked"]
    a = BY_ID["qwen1.5-32b"]
    assert a.n_embd // a.n_head == 128 and a.n_head_kv == 8


def test_a_config_read_on_the_hub_says_so_and_keeps_the_fields_it_read() -> None:
    """Configs read from the model's own config.json on the Hub (not a GitHub copy) are labelled
    as such, and keep the fields the reader uses that the recalled copy lacked (rope_theta)."""
    for repo, model_id, theta in (
        ("01-ai/Yi-1.5-6B-Chat", "yi-1.5-6b", 5000000.0),
        ("tiiuae/Falcon3-7B-Instruct", "falcon3-7b", 1000042),
        ("deepseek-ai/deepseek-llm-67b-chat", "deepseek-llm-67b", 10000.0),
    ):
        cfg = _saved(repo)
        assert cfg["_via"].startswith(f"https://huggingface.co/{repo}/") and cfg["rope_theta"] == theta
        assert model_configs._verified(cfg) == "verified (config.json, read at the cited Hugging Face URL)"
        rec = BY_ID[ROWS_BY_REPO[repo]["id"]]
        assert rec.id == model_id and rec.verified.startswith("verified"), rec.verified
        assert rec.extra["config_via"] == cfg["_via"]


def test_checks_against_a_base_or_a_card_name_the_fields_left_unchecked() -> None:
    """DeepSeek V2 (236B) is checked against DeepSeek's own inference config, which has no KV-head,
    context or tying field; Olmo 3 against the model card's table, which has no FFN width."""
    v2 = _saved("deepseek-ai/DeepSeek-V2-Chat")["_checked"]
    assert "config_236B.json" in v2
    assert "num_key_value_heads, max_position_embeddings and tie_word_embeddings were not checked" in v2
    olmo = _saved("allenai/Olmo-3.1-32B-Think")
    assert "intermediate_size" in olmo["_checked"].split(";")[1] and olmo["num_key_value_heads"] == 8


def test_glm_5_1_and_deepseek_v3_2_exp_are_catalogued_from_public_configs() -> None:
    """GLM-5.1's config.json (aiconfigurator's copy) has GLM-5's layout field for field; V3.2-Exp's
    own inference config agrees with V3.2 on every field it states. Both carry a sourced date."""
    g5, g51 = _saved("zai-org/GLM-5"), _saved("zai-org/GLM-5.1")
    assert g51["_via"].endswith("zai-org--GLM-5.1_config.json")
    assert {k: v for k, v in g51.items() if not k.startswith("_")} == {
        k: v for k, v in g5.items() if not k.startswith("_")
    }
    exp = _saved("deepseek-ai/DeepSeek-V3.2-Exp")
    assert "DeepSeek-V3.2-Exp/blob/" in exp["_checked"] and "were not checked" in exp["_checked"]
    assert exp["index_topk"] == 2048 and exp["num_hidden_layers"] == 61
    for model_id, released in (("glm-5.1", "2026-04-08"), ("deepseek-v3.2-exp", "2025-09-29")):
        row = ROWS[model_id]
        assert row["released"] == released and released in row["released_source"]
        assert BY_ID[model_id].total_params > 6e11
    assert resolve_name("GLM-5.1").id == "glm-5.1" and resolve_name("GLM-5").id == "glm-5"
    assert resolve_name("DeepSeek-V3.2-Exp").id == "deepseek-v3.2-exp"
    assert resolve_name("deepseek v3.2").id == "deepseek-v3.2"


def test_llama_guard_3_1b_has_its_own_output_head() -> None:
    """Llama Guard 3 1B unties the embeddings Llama 3.2 1B ties (its config.json, as copied by two
    conversions of the Meta repo, says tie_word_embeddings false): 262,668,288 more weights."""
    cfg = _saved("meta-llama/Llama-Guard-3-1B")
    assert cfg["tie_word_embeddings"] is False and "was wrong" in cfg["_checked"]
    guard = BY_ID[ROWS_BY_REPO["meta-llama/Llama-Guard-3-1B"]["id"]]
    assert guard.total_params == 1_498_482_688
