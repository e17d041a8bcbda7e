"""How a ground-truth row's file resolves: gpt-oss "F16" files run MXFP4 expert kernels."""

from __future__ import annotations

from rigfit.estimate.predict import resolve_work
from rigfit.estimate.speed.classes import quant_family

GIB = 1024**3


def test_gpt_oss_f16_file_is_mxfp4_experts() -> None:
    """unsloth's gpt-oss-120b-F16.gguf (llama-bench: "gpt-oss ?B F16", 60.87 GiB): MXFP4 experts
    with F16 elsewhere — the bytes of the tensor table, and the MXFP4 kernel family."""
    w = resolve_work("gpt-oss ?B F16 (gpt-oss-120b-F16.gguf)", "gpt-oss", 116.83, "F16", 60.87)
    assert abs(w.total_bytes / GIB - 60.87) < 0.05  # not 116.83 B × 2 bytes (218 GiB)
    assert w.file_type == "MXFP4_MOE"
    assert quant_family(w.file_type) == "mxfp4"
    # unscaled tables: the same expert tensors as ggml-org's MXFP4_MOE file; only the non-expert
    # tensors differ (F16 against Q8_0)
    f16 = resolve_work("gpt-oss ?B F16 (gpt-oss-120b-F16.gguf)", "gpt-oss", 116.83, "F16", None)
    mx = resolve_work("gpt-oss 120B MXFP4 MoE", "gpt-oss", 116.83, "MXFP4", None)
    assert mx.layer_expert_bytes == f16.layer_expert_bytes
    assert sum(f16.layer_dense_bytes) > sum(mx.layer_dense_bytes)


def test_gpt_oss_20b_f16_file() -> None:
    w = resolve_work("gpt-oss ?B F16 (gpt-oss-20b-F16.gguf)", "gpt-oss", 20.91, "F16", 12.83)
    assert w.file_type == "MXFP4_MOE"
    assert abs(w.total_bytes / GIB - 12.83) < 0.05


def test_float_files_of_other_models_stay_float() -> None:
    """Only experts stored in MXFP4 change the family: a dense F16 or an MoE F16 file of a model
    whose experts are float keeps F16 kernels."""
    dense = resolve_work("llama 8B F16", "llama", 8.03, "F16", None)
    moe = resolve_work("qwen3moe 30B.A3B F16", "qwen3moe", 30.53, "F16", None)
    assert dense.file_type == "F16" and quant_family(dense.file_type) == "f16"
    assert moe.file_type == "F16"
    q4 = resolve_work("llama 8B Q4_K - Medium", "llama", 8.03, "Q4_K_M", None)
    assert q4.file_type == "Q4_K_M"
