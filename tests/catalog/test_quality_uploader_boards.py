"""Per-uploader KLD boards (Qwen3-30B-A3B, Qwen3.5-27B, Qwen3.5-9B) and how plan figures read them."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.catalog.models import get_model
from rigfit.catalog.native import kld_for_model, quality_line, quality_summary
from rigfit.catalog.quality import kld_vs_f16
from rigfit.catalog.quality_models import (
    board_figure,
    model_row,
    model_rows,
    parse_model_rows,
    scoreboard_rows,
    uploader_of,
)

IK = "https://github.com/ikawrakow/ik_llama.cpp/discussions/359"
R27 = "https://www.reddit.com/r/LocalLLaMA/comments/1rk5qmr/qwen3527b_q4_quantization_comparison/"
R9 = "https://www.reddit.com/r/LocalLLaMA/comments/1rr72lr/qwen359b_quantization_comparison/"
HEADER = "model_id,quant,quantizer,uploader,mean_kld,ppl,dataset,source_url,notes\n"

# (quant, uploader, mean KLD) as the boards print them
QWEN3_30B = {
    ("Q8_0", ""): 0.002337,
    ("UD-Q4_K_XL", "unsloth"): 0.016495,
    ("Q4_K_M", "bartowski"): 0.010136,
    ("Q4_K_S", "bartowski"): 0.012915,
}
QWEN35_27B = {
    ("UD-Q4_K_XL", "unsloth"): 0.005087,
    ("Q4_K_M", "bartowski"): 0.005633,
    ("Q4_K_M", "unsloth"): 0.006193,
    ("Q4_K_M", "mradermacher"): 0.006469,
    ("Q4_K_S", "bartowski"): 0.006720,
    ("IQ4_XS", "bartowski"): 0.007062,
    ("IQ4_NL", "bartowski"): 0.007233,
    ("Q4_K_S", "unsloth"): 0.007449,
    ("IQ4_NL", "unsloth"): 0.007461,
    ("IQ4_XS", "mradermacher"): 0.007569,
    ("IQ4_XS", "unsloth"): 0.007677,
}
QWEN35_9B = {
    ("IQ4_XS", "bartowski"): 0.0127,
    ("Q4_K_S", "bartowski"): 0.0108,
    ("Q4_K_M", "bartowski"): 0.0087,
    ("Q4_K_M", "unsloth"): 0.0222,
    ("Q4_K_M", "lmstudio-community"): 0.0353,
}


QG = "https://huggingface.co/datasets/quantgap/results/discussions/"
QUANTGAP = {  # (model, quant, uploader): (mean KLD, result page)
    ("qwen3-0.6b", "Q2_K", "tensorblock"): (2.45535, 2),
    ("qwen3-0.6b", "Q3_K_M", "tensorblock"): (0.39525, 3),
    ("qwen2.5-1.5b", "IQ3_M", "bartowski"): (0.14942, 4),
    ("qwen2.5-1.5b", "Q2_K", "Qwen"): (0.60872, 6),
    ("qwen2.5-1.5b", "Q3_K_M", "Qwen"): (0.15920, 7),
}


def test_quantgap_results_one_page_per_row() -> None:
    rows = {(r.model_id, r.quant, r.uploader): r for r in scoreboard_rows() if r.source_url.startswith(QG)}
    assert {k: (r.kld, int(r.source_url.removeprefix(QG))) for k, r in rows.items()} == QUANTGAP
    f = kld_for_model(get_model("qwen2.5-1.5b"), "Q3_K_M", "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q3_K_M")
    assert f.value == 0.15920 and (f.source or "").startswith("Hugging Face dataset quantgap/results")


@pytest.mark.parametrize(
    ("model_id", "board", "url"),
    [("qwen3-30b-a3b", QWEN3_30B, IK), ("qwen3.5-27b", QWEN35_27B, R27), ("qwen3.5-9b", QWEN35_9B, R9)],
)
def test_each_board_loads_whole_with_its_url_and_a_catalog_model(
    model_id: str, board: dict, url: str
) -> None:
    rows = [r for r in scoreboard_rows() if r.model_id == model_id]
    assert {(r.quant, r.uploader): r.kld for r in rows} == board
    assert all(r.source_url == url for r in rows)
    assert get_model(model_id).id == model_id


def test_loader_refuses_a_table_without_the_uploader_column() -> None:
    old = "model_id,quant,quantizer,mean_kld,ppl,dataset,source_url,notes\n"
    with pytest.raises(ValueError, match="uploader"):
        parse_model_rows(old + f"qwen3.5-27b,Q4_K_M,x,0.0056,,chat,{R27},\n")


def test_loader_takes_one_type_from_two_uploaders_but_refuses_a_repeat() -> None:
    two = (
        HEADER
        + f"qwen3.5-27b,Q4_K_M,x,bartowski,0.0056,,c,{R27},\nqwen3.5-27b,q4_k_m,y,unsloth,0.0062,,c,{R27},\n"
    )
    assert [r.uploader for r in parse_model_rows(two)] == ["bartowski", "unsloth"]
    again = two + f"qwen3.5-27b,Q4_K_M,z,Bartowski,0.0057,,c,{R27},\n"
    with pytest.raises(ValueError, match="second row"):
        parse_model_rows(again)


@pytest.mark.parametrize(
    ("label", "who"),
    [
        ("bartowski/Qwen_Qwen3.5-27B-GGUF:Q4_K_M", "bartowski"),
        ("hf:Unsloth/Qwen3.5-27B-GGUF:Q4_K_M", "unsloth"),
        (
            "/home/me/.cache/huggingface/hub/models--mradermacher--Qwen3.5-27B-i1-GGUF/snapshots/x/a.gguf",
            "mradermacher",
        ),
        ("lmstudio-community/Qwen3.5-9B-GGUF:Q4_K_M", "lmstudio-community"),
        ("models/Qwen3.5-27B-Q4_K_M.gguf", None),  # a folder, not an uploader on the board
        ("Qwen3.5-27B-Q4_K_M.gguf", None),
        (None, None),
    ],
)
def test_uploader_is_read_from_remote_names_and_hub_cache_paths(label: str | None, who: str | None) -> None:
    assert uploader_of(label, ("bartowski", "unsloth", "mradermacher", "lmstudio-community")) == who


def test_a_named_uploader_gets_its_own_row() -> None:
    assert model_row("qwen3.5-27b", "Q4_K_M", file_label="unsloth/Qwen3.5-27B-GGUF:Q4_K_M").kld == 0.006193
    assert model_row("qwen3.5-27b", "Q4_K_M") is None  # three uploaders, none named
    assert len(model_rows("qwen3.5-27b", "q4_k_m")) == 3


def test_several_uploaders_and_none_named_give_the_middle_row_and_the_spread() -> None:
    f = board_figure("qwen3.5-27b", "Q4_K_M")
    assert (f.value, f.low, f.high) == (0.006193, 0.005633, 0.006469)
    assert f.provenance == "looked_up" and R27 in (f.source or "")
    for who in ("bartowski", "unsloth", "mradermacher"):
        assert who in (f.source or "")
    even = board_figure("qwen3.5-27b", "IQ4_NL")  # two files: the higher one, conservatively
    assert (even.value, even.low, even.high) == (0.007461, 0.007233, 0.007461)


def test_the_plan_figure_follows_the_file_the_user_runs() -> None:
    arch = get_model("qwen3.5-9b")
    mine = kld_for_model(arch, "Q4_K_M", "bartowski/Qwen_Qwen3.5-9B-GGUF:Q4_K_M")
    theirs = kld_for_model(arch, "Q4_K_M", "lmstudio-community/Qwen3.5-9B-GGUF:Q4_K_M")
    assert (mine.value, theirs.value) == (0.0087, 0.0353)
    assert "bartowski" in quality_line(
        quality_summary(arch, "Q4_K_M", "bartowski/Qwen_Qwen3.5-9B-GGUF:Q4_K_M")
    )
    unsloth = kld_for_model(get_model("qwen3-30b-a3b"), "Q4_K_M", "unsloth/Qwen3-30B-A3B-GGUF:UD-Q4_K_XL")
    assert unsloth.value == 0.016495 and IK in (unsloth.source or "")


def test_a_type_no_board_lists_stays_the_generic_estimate() -> None:
    f = kld_for_model(get_model("qwen3.5-27b"), "Q2_K")
    assert f.provenance == "estimated" and (f.source or "").startswith("generic")


@pytest.mark.parametrize(
    ("model_id", "value", "url", "label"),
    [
        ("qwen3-30b-a3b", 0.010136, IK, "ikawrakow/ik_llama.cpp on GitHub"),
        ("qwen3.5-27b", 0.006193, R27, "r/LocalLLaMA post"),
        ("qwen3.5-9b", 0.0222, R9, "r/LocalLLaMA post"),
    ],
)
def test_plan_shows_the_models_own_figure_and_names_its_board(
    model_id: str, value: float, url: str, label: str
) -> None:
    r = run_cli("plan", model_id, "-q", "Q4_K_M", "--on", "RTX 4090", "--json")
    assert r.exit_code == 0, r.output
    q = json.loads(r.stdout)["quality"]
    assert q["own_scoreboard"] is True and q["kld"]["value"] == pytest.approx(value)
    assert q["label"].startswith(f"looked up ({label}") and url in q["label"]
    arch = get_model(model_id)
    assert value != pytest.approx(
        kld_vs_f16("Q4_K_M", arch.active_params or arch.total_params).value, rel=0.2
    )
    t = run_cli("plan", model_id, "-q", "Q4_K_M", "--on", "RTX 4090")
    assert t.exit_code == 0 and url in "".join(t.stdout.split())
