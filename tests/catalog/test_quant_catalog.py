"""GGML tensor types, llama.cpp file types and KV-cache types (rigfit.catalog.quant)."""

from __future__ import annotations

import pytest

from rigfit.catalog.quant import (
    FILE_TYPES,
    GGML_TYPES,
    KV_TYPES,
    file_type_by_id,
    ggml_type,
    resolve_file_type,
    resolve_kv_type,
    tensor_nbytes,
)
from rigfit.errors import RigfitError, UnknownNameError


def test_ggml_types_agree_with_gguf_py():
    gguf = pytest.importorskip("gguf")
    sizes = gguf.GGML_QUANT_SIZES
    ours = {t.name: t for t in GGML_TYPES}
    for qt in gguf.GGMLQuantizationType:
        assert qt.name in ours, qt.name
        t = ours[qt.name]
        assert t.id == int(qt)
        if qt.name == "Q8_1":  # gguf-py 0.19 says 40 B; ggml's block_q8_1 is 2×fp16 + 32 B
            assert sizes[qt] == (32, 40) and (t.block_size, t.type_size) == (32, 36)
            continue
        assert (t.block_size, t.type_size) == sizes[qt], qt.name


def test_ggml_type_table_facts():
    assert len({t.id for t in GGML_TYPES}) == len(GGML_TYPES)
    assert ggml_type("q4_k").bits_per_weight == 4.5
    assert ggml_type("Q6_K").bits_per_weight == 6.5625
    assert ggml_type("MXFP4").bits_per_weight == 4.25
    assert ggml_type("Q2_0").block_size == 64  # newer than gguf-py 0.19
    assert ggml_type(12).name == "Q4_K"
    assert not ggml_type("F16").quantized and ggml_type("IQ4_NL").quantized
    with pytest.raises(UnknownNameError):
        ggml_type("Q4_X")


def test_tensor_nbytes():
    assert tensor_nbytes("F32", (640,)) == 2560
    assert tensor_nbytes("Q4_K", (4096, 128256)) == 295_501_824  # Llama-3 token_embd: 281.81 MiB
    assert tensor_nbytes("Q8_0", (640, 262144)) == 178_257_920  # Gemma 3 270M token_embd (real file)
    assert tensor_nbytes("MXFP4", (2880, 2880, 32)) == 2880 // 32 * 17 * 2880 * 32
    with pytest.raises(ValueError, match="multiple"):
        tensor_nbytes("Q4_K", (640, 256))


def test_file_types_agree_with_gguf_py():
    gguf = pytest.importorskip("gguf")
    by_name = {f.name: f for f in FILE_TYPES}
    for ft in gguf.LlamaFileType:
        name = ft.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        if name == "GUESSED":
            continue
        assert by_name[name].id == int(ft), name
    # every type llama-quantize offers is here
    offered = [
        "F32",
        "F16",
        "BF16",
        "Q4_0",
        "Q4_1",
        "Q5_0",
        "Q5_1",
        "Q8_0",
        "Q2_K",
        "Q2_K_S",
        "Q3_K_S",
        "Q3_K_M",
        "Q3_K_L",
        "Q4_K_S",
        "Q4_K_M",
        "Q5_K_S",
        "Q5_K_M",
        "Q6_K",
        "IQ1_S",
        "IQ1_M",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ2_S",
        "IQ2_M",
        "IQ3_XXS",
        "IQ3_XS",
        "IQ3_S",
        "IQ3_M",
        "IQ4_NL",
        "IQ4_XS",
        "TQ1_0",
        "TQ2_0",
        "MXFP4_MOE",
        "Q1_0",
        "Q2_0",
    ]
    assert set(offered) <= set(by_name)
    assert file_type_by_id(15).name == "Q4_K_M"


@pytest.mark.parametrize(
    "spelling,expected",
    [
        ("Q4_K_M", "Q4_K_M"),
        ("q4_k_m", "Q4_K_M"),
        ("Q4KM", "Q4_K_M"),
        ("q4-k-m", "Q4_K_M"),
        ("Q4_K", "Q4_K_M"),
        ("q5_k", "Q5_K_M"),
        ("Q3_K", "Q3_K_M"),
        ("fp16", "F16"),
        ("bf16", "BF16"),
        ("mxfp4", "MXFP4_MOE"),
        ("iq2xxs", "IQ2_XXS"),
        ("MOSTLY_Q8_0", "Q8_0"),
        ("Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("model-IQ4_XS-00001-of-00002.gguf", "IQ4_XS"),
    ],
)
def test_resolve_file_type(spelling, expected):
    assert resolve_file_type(spelling).name == expected


@pytest.mark.parametrize(
    "bad,first", [("4bit", "Q4_K_M"), ("int8", "Q8_0"), ("Q4_K_X", "Q4_K_M"), ("UD-Q4_K_XL", "Q4_K_M")]
)
def test_bad_quant_name_suggests(bad, first):
    with pytest.raises(UnknownNameError) as ei:
        resolve_file_type(bad)
    err = ei.value
    assert isinstance(err, RigfitError) and err.exit_code == 2
    assert err.candidates[0] == first
    msg = str(err)
    assert "\n" not in msg and bad in msg and "Did you mean" in msg


def test_bad_quant_name_without_candidates_lists_known():
    with pytest.raises(UnknownNameError, match="Known: F32, F16"):
        resolve_file_type("zzz")


def test_kv_types():
    names = [k.name for k in KV_TYPES]
    assert names == ["f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "iq4_nl", "q4_0"]
    assert resolve_kv_type("F16").bytes_per_element == 2
    assert resolve_kv_type("q8").bytes_per_element == 34 / 32
    assert resolve_kv_type("q4_0").bytes_per_element == 18 / 32
    assert resolve_kv_type("q8_0").row_bytes(1024) == 1088
    assert resolve_kv_type("q8_0").v_needs_flash_attn and not resolve_kv_type("bf16").v_needs_flash_attn
    with pytest.raises(UnknownNameError, match="q8_0"):
        resolve_kv_type("q8_1")
