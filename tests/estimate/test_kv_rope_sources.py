"""The YaRN table and the KV-quality table against what their sources say (issue 14 source check).

Each figure here was read from its source on 2026-12-06 (URLs in the data files); a wrong factor, a
wrong original context, a misspelt llama.cpp flag or a swapped K/V figure fails one of these tests.
"""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from rigfit.catalog.models import resolve_model
from rigfit.estimate.kvtypes import kv_quality, rope_scaling_advice


def _data(name: str) -> dict:
    return json.loads(resources.files("rigfit.catalog").joinpath("data", name).read_text("utf-8"))


ROPE = _data("rope_scaling.json")
KVQ = _data("kv_quality.json")

# What each model card says (rope_scaling block): Qwen2.5 Instruct and Coder-Instruct cards
# {"factor": 4.0, "original_max_position_embeddings": 32768, "type": "yarn"}; Qwen3 cards
# {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}.
CARD = {
    **{f"qwen2.5-{s}": (32768, 4.0) for s in ("7b", "14b", "32b", "72b")},
    **{f"qwen2.5-coder-{s}": (32768, 4.0) for s in ("7b", "14b", "32b")},
    **{f"qwen3-{s}": (32768, 4.0) for s in ("4b", "8b", "14b", "32b", "30b-a3b", "235b-a22b")},
}


def test_every_row_is_a_checked_card_with_its_values():
    rows = {r["id"]: r for r in ROPE["models"]}
    assert set(rows) == set(CARD)  # a new row needs its card read and added here
    for mid, (orig, factor) in CARD.items():
        r = rows[mid]
        assert (r["native_ctx"], float(r["max_factor"])) == (orig, factor), mid
        block = r["card_rope_scaling"]
        assert block["original_max_position_embeddings"] == r["native_ctx"], mid
        assert block["factor"] == r["max_factor"], mid
        assert "yarn" in (block.get("type"), block.get("rope_type")), mid
        assert r["card_max_ctx"] == r["native_ctx"] * r["max_factor"] == 131072, mid
        assert "factor 4.0" in r["card_says"] and "32768" in r["card_says"], mid
        # the source is the card of the model rigfit plans (its HF repo), and the docs are vendor pages
        assert r["source"] == f"https://huggingface.co/{resolve_model(mid).hf_repo}", mid
        assert r["docs"].startswith("https://github.com/QwenLM/"), mid


def test_small_qwen_models_without_a_yarn_card_stay_unknown():
    # Qwen2.5-3B-Instruct's card: "Context Length: Full 32,768 tokens", no YaRN section
    a = rope_scaling_advice(resolve_model("qwen2.5-3b"), 65536)
    assert a is not None and not a.supported and a.llama_flags is None


def test_llama_server_flags_match_llama_cpp_arg_parser():
    # common/arg.cpp: --rope-scaling {none,linear,yarn}; --rope-scale N "expands context by a
    # factor of N" (rope_freq_scale = 1/N, so N is the card's factor, not its inverse);
    # --yarn-orig-ctx N "original context size of model"
    a = rope_scaling_advice(resolve_model("qwen3-8b"), 131072)
    assert a is not None and a.supported
    # Qwen's llama.cpp guide: "-c 131072 --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768"
    assert a.llama_flags == "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768"
    flags = a.llama_flags.split()
    assert flags[0::2] == ["--rope-scaling", "--rope-scale", "--yarn-orig-ctx"]
    assert "--rope-freq-scale" not in flags
    assert ROPE["llama_cpp"]["flags"] == "--rope-scaling yarn --rope-scale F --yarn-orig-ctx N"


def test_qwen3_orig_ctx_is_the_card_value_not_the_gguf_training_context():
    arch = resolve_model("qwen3-8b")
    assert arch.n_ctx_train == 40960  # config.json max_position_embeddings (32,768 out + 8,192 prompt)
    assert rope_scaling_advice(arch, 40960) is None
    a = rope_scaling_advice(arch, 40961)
    # llama.cpp defaults --yarn-orig-ctx to n_ctx_train (40960): the flag must carry 32768
    assert a is not None and a.orig_ctx == 32768 and a.factor == 2
    # the card: "if the typical context length for your application is 65,536 tokens, it would
    # be better to set factor as 2.0"
    assert rope_scaling_advice(arch, 65536).factor == 2
    assert (
        rope_scaling_advice(arch, 131072).factor == 4 and rope_scaling_advice(arch, 131072).max_ctx == 131072
    )


_ROW = re.compile(
    r"^(?P<w>\w+)/(?P<k>\w+)/(?P<v>\w+) \| (?P<bpv>[\d.]+) \| None \| [\d.]+ ± [\d.]+ \| "
    r"(?P<dppl>[\d.]+) ± [\d.]+ \| (?P<kld>[\d.]+) ± [\d.]+$"
)
_BPV = {"f16": 16.0, "q8_0": 8.5, "q5_1": 6.0}


@pytest.mark.parametrize("row", KVQ["rows"], ids=lambda r: f"{r['type_k']}-{r['type_v']}")
def test_kv_quality_figures_are_the_quoted_pr_rows(row: dict):
    m = _ROW.match(row["pr_row"])
    assert m is not None, row["pr_row"]
    # PR #7412's label is weights/K/V: weights f16 in every row rigfit uses
    assert m["w"] == "f16"
    assert (m["k"], m["v"]) == (row["type_k"], row["type_v"])
    assert float(m["bpv"]) == pytest.approx((_BPV[m["k"]] + _BPV[m["v"]]) / 2)  # KV BPV column
    assert row["kld"] == float(m["kld"]) and row["delta_ppl"] == float(m["dppl"])
    assert row["source"] == "https://github.com/ggml-org/llama.cpp/pull/7412"
    q = kv_quality(row["type_k"], row["type_v"])
    assert q is not None and q.kld == row["kld"]


def test_kv_quality_pr_values():
    # PR #7412 (2024-05-20, LLaMA 3 8B F16, wikitext-2): KLD per weights/K/V row
    assert kv_quality("f16", "q8_0").kld == 0.000743
    assert kv_quality("q8_0", "f16").kld == 0.000944  # a quantized K costs more than a quantized V
    assert kv_quality("q8_0", "q8_0").kld == 0.000980
    assert kv_quality("f16", "q5_1").kld == 0.001759
    assert kv_quality("q8_0", "q8_0").delta_ppl == 0.004616
