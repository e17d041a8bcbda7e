"""Per-model KLD scoreboards (rigfit.catalog.quality_models) and how plan/recommend use them."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.catalog.models import get_model
from rigfit.catalog.native import kld_for_model, quality_line, quality_summary
from rigfit.catalog.quality import kld_vs_f16
from rigfit.catalog.quality_models import (
    model_row,
    models_with_scoreboard,
    parse_llamacpp_rows,
    parse_model_rows,
    quant_key,
    scoreboard_rows,
)

HEADER = "model_id,quant,quantizer,uploader,mean_kld,ppl,dataset,source_url,notes\n"
URL = "https://huggingface.co/blog/bartowski/llama4-scout-off"
README = "https://github.com/ggml-org/llama.cpp/blob/master/tools/perplexity/README.md"


@pytest.mark.parametrize("url", ["", "see the blog post", "huggingface.co/blog/x", "/home/me/kld.txt"])
def test_loader_refuses_a_row_without_a_public_url(url: str) -> None:
    with pytest.raises(ValueError, match="source URL"):
        parse_model_rows(HEADER + f"llama-4-scout,IQ2_XXS,x,,0.664,11.66,wikitext,{url},\n")


@pytest.mark.parametrize(
    "kld",
    [
        "",
        "-0.1",
    ],
)
def test_loader_refuses_a_missing_or_negative_kld(kld: str) -> None:
    with pytest.raises(ValueError, match="mean_kld"):
        parse_model_rows(HEADER + f"llama-4-scout,IQ2_XXS,x,,{kld},,wikitext,{URL},\n")


def test_llamacpp_rows_without_a_url_are_refused() -> None:
    head = "model,quant_type,imatrix,ppl,ppl_ratio,mean_kld,source\n"
    text = head + "Llama-3-8B (base),Q8_0,None,,,0.0013,no link\n"
    with pytest.raises(ValueError, match="URL"):
        parse_llamacpp_rows(text)


def test_builtin_rows_have_urls_and_catalog_models() -> None:
    rows = scoreboard_rows()
    assert {
        "llama-3-8b",
        "llama-3-70b",
        "llama-2-7b",
        "llama-2-70b",
        "llama-4-scout",
    } <= models_with_scoreboard()
    for r in rows:
        assert r.source_url.startswith("https://"), r
        assert r.kld >= 0
        assert get_model(r.model_id).id == r.model_id  # every board names a catalog model
    # one figure per (model, quant, uploader): several uploaders' files of one type may be measured
    assert len({(r.model_id, r.quant, r.uploader) for r in rows}) == len(rows)


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("q4_k_m", "Q4_K_M"),
        ("Q4_K", "Q4_K_M"),
        ("Meta-Llama-3-8B-Q4_K_M.gguf", "Q4_K_M"),
        ("iq4_xs", "IQ4_XS"),
        ("UD-Q4_K_XL", "UD-Q4_K_XL"),
        ("ud_iq1_m", "UD-IQ1_M"),
        ("unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF:UD-Q2_K_XL", "UD-Q2_K_XL"),
        ("Llama-4-Scout-17B-16E-Instruct-UD-Q2_K_XL-00001-of-00002.gguf", "UD-Q2_K_XL"),
    ],
)
def test_quant_names_match(spelling: str, key: str) -> None:
    assert quant_key(spelling) == key


def test_a_model_with_a_scoreboard_gets_its_own_figure() -> None:
    # Llama-2-7B Q4_K_M: 0.012686 in llama.cpp's "LLaMA 2 vs. LLaMA 3" table; the generic estimate
    # (Llama-3-8B's 0.031273, held below 8B) would be ~2.5x that
    f = kld_for_model(get_model("llama-2-7b"), "q4_k_m")
    assert f.provenance == "looked_up"
    assert f.value == pytest.approx(0.012686)
    assert README in (f.source or "")
    assert f.value < 0.5 * kld_vs_f16("Q4_K_M", get_model("llama-2-7b").total_params).value


def test_no_imatrix_row_preferred_and_iq_types_use_their_imatrix_row() -> None:
    assert model_row("llama-3-8b", "Q4_K_M").kld == pytest.approx(0.031273)  # not the WT 10m 0.028152
    iq = model_row("llama-3-8b", "IQ4_XS")
    assert iq.kld == pytest.approx(0.036334) and iq.imatrix == "WT 10m"


def test_a_model_without_a_scoreboard_gets_the_generic_figure_labelled_estimated() -> None:
    arch = get_model("llama-3.1-8b")
    f = kld_for_model(arch, "Q4_K_M")
    assert f.provenance == "estimated"
    assert (f.source or "").startswith("generic")
    assert f.value == pytest.approx(kld_vs_f16("Q4_K_M", arch.active_params or arch.total_params).value)
    assert f.low is not None and f.high is not None  # an estimate carries its band


def test_a_quant_missing_from_the_models_board_falls_back_to_generic() -> None:
    f = kld_for_model(get_model("llama-4-scout"), "Q4_K_M")
    assert f.provenance == "estimated" and (f.source or "").startswith("generic")


def test_unsloth_dynamic_file_is_looked_up_by_its_ud_name() -> None:
    arch = get_model("llama-4-scout")
    label = "unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF:UD-Q2_K_XL"
    f = kld_for_model(arch, "Q2_K", label)  # the header's file type is a plain type
    assert f.provenance == "looked_up" and f.value == pytest.approx(0.185)
    assert URL in (f.source or "")
    q = quality_summary(arch, "Q2_K", label)
    assert q["quant"] == "UD-Q2_K_XL" and q["own_scoreboard"] is True
    # the same header without the UD name is the generic Q2_K estimate
    assert kld_for_model(arch, "Q2_K").provenance == "estimated"


def test_gpt_oss_native_mxfp4_stays_the_baseline() -> None:
    arch = get_model("gpt-oss-20b")
    base = kld_for_model(arch, "MXFP4_MOE")
    assert base.value == 0.0 and base.provenance == "looked_up" and "MXFP4" in (base.source or "")
    assert quality_summary(arch, "MXFP4_MOE")["own_scoreboard"] is False
    assert not kld_for_model(arch, "Q8_0").known


def test_16_bit_is_the_reference_not_the_boards_noise() -> None:
    f = kld_for_model(get_model("llama-3-8b"), "F16")  # the board lists 0.000551 (GPU noise)
    assert f.value == 0.0


def test_quality_line_says_where_the_figure_comes_from() -> None:
    own = quality_line(quality_summary(get_model("llama-3-8b"), "Q4_K_M"))
    assert "looked up (llama.cpp perplexity README scoreboard" in own and README in own
    gen = quality_line(quality_summary(get_model("llama-3.1-8b"), "Q4_K_M"))
    assert "estimated (generic: llama.cpp's Llama-3-8B scoreboard scaled by size, no published" in gen
    unk = quality_line(quality_summary(get_model("gpt-oss-20b"), "Q8_0"))
    assert "unknown (" in unk


def test_plan_json_and_text_carry_quality() -> None:
    r = run_cli("plan", "llama-3-8b", "-q", "Q4_K_M", "--on", "RTX 4090", "--json")
    assert r.exit_code == 0, r.output
    q = json.loads(r.stdout)["quality"]
    assert q["own_scoreboard"] is True and q["kld"]["value"] == pytest.approx(0.031273)
    assert q["label"].startswith("looked up (")
    t = run_cli("plan", "llama-3.1-8b", "--on", "RTX 4090")
    assert t.exit_code == 0
    assert "quality: KLD" in t.stdout and "estimated (generic" in " ".join(t.stdout.split())


def test_recommend_names_the_models_own_scoreboard() -> None:
    from rigfit.hardware.grammar import resolve_machine
    from rigfit.recommend import recommend

    rec = recommend(
        resolve_machine("RTX 4090 + 64GB DDR5"), models=[get_model("llama-3-8b"), get_model("llama-3.1-8b")]
    )
    by_id = {p.model_id: p for p in rec.picks}
    own, gen = by_id["llama-3-8b"], by_id["llama-3.1-8b"]
    assert own.kld.provenance == "looked_up" and "looked up: llama.cpp perplexity README" in own.reason
    assert gen.kld.provenance == "estimated" and "looked up" not in gen.reason


def test_rows_per_model_index_equals_the_scan() -> None:
    """model_rows and board_gap read the built-in rows through a per-model index (issue 15): the
    same rows, in the same order, as a scan of every row."""
    from rigfit.catalog import quality_models as qm

    rows = qm.scoreboard_rows()
    for model_id in {r.model_id for r in rows} | {"no-such-model"}:
        for quant in {r.quant for r in rows} | {"Q4_K_M", "UD-Q4_K_XL"}:
            assert qm.model_rows(model_id, quant) == qm.model_rows(model_id, quant, rows)
            assert qm.board_gap(model_id, quant) == qm.board_gap(model_id, quant, rows)
        assert qm._model_id_rows(model_id, None) == tuple(r for r in rows if r.model_id == model_id)
