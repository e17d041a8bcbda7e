"""Prefill physics of the speed model: matmul and attention paths per backend, the power bound."""

from __future__ import annotations

import pytest

from rigfit.estimate.calibration import FitRow, fit, prior
from rigfit.estimate.predict import case_features, case_settings, resolve_case
from rigfit.estimate.speed import load_constants
from rigfit.estimate.speed.features import power_bound_time
from rigfit.estimate.speed.peaks import (
    ROCM_FA_MMA_RDNA_BUILD,
    ROCM_FA_TILE_BUILD,
    attention_path,
    gpu_peak,
    prefill_path,
)
from rigfit.hardware.devices import Device
from rigfit.measure.groundtruth import case_from_row


def _gpu(kind: str = "gpu", vendor: str = "NVIDIA", tdp: float | None = 300.0) -> Device:
    return Device(
        id="x",
        name="x",
        kind=kind,  # type: ignore[arg-type]
        vendor=vendor,
        bandwidth_bytes_per_s=1e12,
        fp16_flops=200e12,
        fp16_fp32acc_flops=100e12,
        int8_ops=400e12,
        fp32_flops=50e12,
        tdp_w=tdp,
    )


def test_attention_never_runs_at_the_int8_peak():
    dev = _gpu()
    gemm = prefill_path("CUDA", dev, "kquant", "new")
    assert gemm == "int8"
    # flash attention: FP16 tensor-core MMA; without it cuBLAS FP16 GEMMs
    assert attention_path("CUDA", dev, gemm, fa=True) == "fp16"
    assert attention_path("CUDA", dev, gemm, fa=False) == "fp16"
    C = load_constants()
    assert gpu_peak(dev, "fp16", C)[0] == 200e12
    assert gpu_peak(dev, "fp16acc32", C)[0] == 100e12
    assert gpu_peak(dev, "int8", C)[0] == 400e12
    # a card without tensor cores runs attention on its shader ALUs
    old = Device(id="p", name="p", kind="gpu", vendor="NVIDIA", fp32_flops=11e12)
    assert attention_path("CUDA", old, "fp16", fa=True) == "fp32"


def test_rocm_flash_attention_uses_wmma_only_with_rocwmma():
    dev = _gpu(vendor="AMD")
    assert attention_path("ROCm", dev, "fp16", fa=True, rocwmma=False) == "fp32"
    assert attention_path("ROCm", dev, "fp16", fa=True, rocwmma=True) == "fp16"


def test_rocm_flash_attention_before_the_tile_kernel_is_the_vector_kernel():
    dev = _gpu(vendor="AMD")
    old, new = ROCM_FA_TILE_BUILD - 1, ROCM_FA_TILE_BUILD
    assert attention_path("ROCm", dev, "fp16", fa=True, build=old) == "vec"
    assert attention_path("ROCm", dev, "fp16", fa=True, build=new) == "fp32"
    assert attention_path("ROCm", dev, "fp16", fa=True, build=None) == "fp32"  # current build
    # rocWMMA builds ran their own WMMA kernel; without FA the K·Q GEMMs are hipBLAS's
    assert attention_path("ROCm", dev, "fp16", fa=True, rocwmma=True, build=old) == "fp16"
    assert attention_path("ROCm", dev, "fp16", fa=False, build=old) == "fp16"
    # the vector kernel runs on the shader ALUs; its prior is far below the tile kernel's
    assert gpu_peak(dev, "vec", load_constants())[0] == dev.fp32_flops
    assert prior("ROCm|fa1vec:attn") > 10 * prior("ROCm|fa1:attn")


def test_current_rocm_flash_attention_uses_wmma_on_rdna3_and_rdna4_only():
    from dataclasses import replace

    rdna2, rdna3, rdna4 = (
        replace(_gpu(vendor="AMD"), architecture=a) for a in ("RDNA 2.0", "RDNA 3.5", "RDNA 4.0")
    )
    for dev in (rdna3, rdna4):
        assert attention_path("ROCm", dev, "fp16", fa=True) == "fp16"  # current build
        assert attention_path("ROCm", dev, "fp16", fa=True, build=ROCM_FA_MMA_RDNA_BUILD) == "fp16"
        assert attention_path("ROCm", dev, "fp16", fa=True, build=ROCM_FA_MMA_RDNA_BUILD - 1) == "fp32"
    # RDNA2 has no WMMA: the tile kernel on the shader ALUs
    assert attention_path("ROCm", rdna2, "fp16", fa=True) == "fp32"


def test_vector_flash_attention_has_its_own_feature_growing_with_depth():
    def attn(notes: str, test: str, build: str = "b5863") -> dict[str, float]:
        row = {**_row(notes), "test": test, "prompt_tokens": test[2:], "date_or_build": build}
        f, _ = case_features(resolve_case(case_from_row(row)), load_constants())
        return {k: v for k, v in f.items() if k.endswith(":attn")}

    short, long = attn("variant=llama.cpp-hip -fa 1", "pp512"), attn("variant=llama.cpp-hip -fa 1", "pp4096")
    assert set(short) == {"ROCm|fa1vec:attn"}
    # attention FLOPs per token grow with the mean context: 8× the prompt, > 4× per token
    assert long["ROCm|fa1vec:attn"] / 4096 > 4 * short["ROCm|fa1vec:attn"] / 512
    assert set(attn("variant=llama.cpp-rocwmma -fa 1", "pp512")) == {"ROCm|fa1:attn"}
    assert set(attn("variant=llama.cpp-hip -fa 1", "pp512", build="b6792")) == {"ROCm|fa1:attn"}


def test_rocm_on_an_amd_igpu_takes_the_shader_path_unless_hipblaslt():
    apu = _gpu(kind="apu", vendor="AMD")
    assert prefill_path("ROCm", apu, "kquant", "new") == "fp32"
    assert prefill_path("ROCm", apu, "kquant", "new", hipblaslt=True) == "fp16lt"
    # discrete cards keep rocBLAS on the FP16 matrix units; Vulkan on the iGPU is unaffected
    assert prefill_path("ROCm", _gpu(vendor="AMD"), "kquant", "new") == "fp16"
    assert prefill_path("Vulkan", apu, "kquant", "new") == "fp16"
    # without flash attention K·Q and V·softmax are rocBLAS batched GEMMs too: same units
    assert attention_path("ROCm", apu, "fp32", fa=False) == "fp32"
    assert attention_path("ROCm", apu, "fp16lt", fa=False) == "fp16"


def test_power_bound_scales_with_flops_over_board_power():
    dev = _gpu(tdp=350.0)
    t = power_bound_time(dev, 1e15)
    assert t == pytest.approx(1e15 * 1e-12 / 350.0)
    assert power_bound_time(dev, 2e15) == pytest.approx(2 * t)
    assert power_bound_time(dev, 1e15, n_tp=2) == pytest.approx(t / 2)
    assert power_bound_time(_gpu(tdp=None), 1e15) == 0.0
    assert power_bound_time(_gpu(kind="cpu"), 1e15) == 0.0


def test_power_coefficient_is_a_non_negative_base_with_a_prior():
    assert prior("*|gpu:pwr") == pytest.approx(0.5)
    # a fit on rows that the power term cannot explain keeps it at or above 0
    rows = [
        FitRow({"CUDA|p=fp16:c": 1.0, "CUDA|*gpu:pwr": 1.0}, 1.0, 1.0, f"d{i}", "pp", "CUDA", "nvidia")
        for i in range(5)
    ]
    coefs = fit(rows)
    assert coefs["*|gpu:pwr"] >= 0.0


def _row(notes: str) -> dict:
    return {
        "hardware": "AMD Ryzen AI Max+ 395 / Radeon 8060S",
        "hardware_kind": "amd",
        "n_devices": "1",
        "backend": "ROCm",
        "model": "llama 7B Q4_K - Medium",
        "model_family": "llama",
        "params_b": "6.74",
        "quant": "Q4_K_M",
        "test": "pp512",
        "prompt_tokens": "512",
        "date_or_build": "b5863",
        "notes": notes,
    }


def test_notes_set_hipblaslt_and_rocwmma_and_they_change_the_features():
    plain = case_settings(case_from_row(_row("variant=llama.cpp-hip -fa 1")))
    assert not plain.rocm_hipblaslt and not plain.rocm_rocwmma
    both = case_settings(case_from_row(_row("variant=llama.cpp-rocwmma -fa 1 ROCBLAS_USE_HIPBLASLT=1")))
    assert both.rocm_hipblaslt and both.rocm_rocwmma
    C = load_constants()
    f_plain, _ = case_features(resolve_case(case_from_row(_row("variant=llama.cpp-hip"))), C)
    f_lt, _ = case_features(resolve_case(case_from_row(_row("variant=llama.cpp-hip HIPBLASLT=1"))), C)
    assert "ROCm|p=fp32:c" in f_plain and "ROCm|p=fp16lt:c" not in f_plain
    assert "ROCm|p=fp16lt:c" in f_lt and "ROCm|p=fp32:c" not in f_lt


def test_pascal_mmq_int8_peak_is_dp4a() -> None:
    """Pascal has no tensor cores: MMQ's int8 path runs DP4A at four times the FP32 rate (Tesla
    P40 datasheet: 47 TOPS INT8, 12 TFLOPS FP32), not at twice a (crippled) FP16 rate."""
    from rigfit.hardware.names import resolve_device

    p40 = resolve_device("NVIDIA Tesla P40")
    peak, estimated = gpu_peak(p40, "int8", load_constants())
    assert estimated
    assert peak == pytest.approx(4.0 * p40.fp32_flops)
    rtx = resolve_device("NVIDIA GeForce RTX 3090")  # listed int8 tensor peak wins
    assert gpu_peak(rtx, "int8", load_constants()) == (rtx.int8_ops, False)


def test_mmq_generation_delta_only_on_nvidia_int8() -> None:
    """The per-architecture MMQ delta keys NVIDIA discrete cards by architecture, nothing else,
    and appears only where the prompt takes the int8 path (current builds, quantized weights)."""
    from rigfit.estimate.speed.peaks import mmq_generation
    from rigfit.hardware.names import resolve_device

    assert mmq_generation(resolve_device("NVIDIA GeForce RTX 4090")) == "ada"
    assert mmq_generation(resolve_device("NVIDIA GeForce RTX 3090")) == "ampere"
    assert mmq_generation(resolve_device("NVIDIA GB10 (DGX Spark)")) is None  # an APU
    assert mmq_generation(resolve_device("AMD Radeon RX 7900 XTX")) is None

    def feats(quant: str, build: str) -> dict:
        row = {
            "hardware": "NVIDIA GeForce RTX 4090",
            "n_devices": "1",
            "backend": "CUDA",
            "model": f"llama 8B {quant}",
            "model_family": "llama",
            "params_b": "8.03",
            "quant": quant,
            "test": "pp512",
            "prompt_tokens": "512",
            "depth": "0",
            "ngl": "99",
            "date_or_build": build,
        }
        return case_features(resolve_case(case_from_row(row)), load_constants())[0]

    assert "CUDA|*g=ada:c" in feats("Q4_K_M", "build abc (7311)")
    assert "CUDA|*g=ada:c" not in feats("F16", "build abc (7311)")  # FP16 GEMM path
    assert "CUDA|*g=ada:c" not in feats("Q4_K_M", "build abc (2824)")  # before int8 MMQ


def _cuda_feats(hardware: str, quant: str, build: str, n_prompt: int, ub: int | None = None) -> dict:
    row = {
        "hardware": hardware,
        "n_devices": "1",
        "backend": "CUDA",
        "model": f"llama 8B {quant}",
        "model_family": "llama",
        "params_b": "8.03",
        "quant": quant,
        "test": f"pp{n_prompt}",
        "prompt_tokens": str(n_prompt),
        "depth": "0",
        "ngl": "99",
        "date_or_build": build,
    }
    if ub is not None:
        row["notes"] = f"-ub {ub}"
    return case_features(resolve_case(case_from_row(row)), load_constants())[0]


def test_mmq_weight_reloads_grow_with_token_tiles_and_only_on_the_int8_path():
    from dataclasses import replace

    from rigfit.estimate.speed.peaks import mmq_x_max

    gpu = "NVIDIA GeForce RTX 4090"
    f512 = _cuda_feats(gpu, "Q8_0", "build abc (7311)", 512)
    f128 = _cuda_feats(gpu, "Q8_0", "build abc (7311)", 128)
    # 512 tokens: 4 tiles of 128 → 3 passes beyond the one ':wub' counts (which also holds the
    # output head, left out of the reloads); 128 tokens: none
    assert 2.6 * f512["CUDA:wub"] < f512["CUDA:mmqw"] < 3.0 * f512["CUDA:wub"]
    assert f128.get("CUDA:mmqw", 0.0) == 0.0
    # weight bytes: Q8_0 loads about twice the bytes of Q4_0 per reload
    q4 = _cuda_feats(gpu, "Q4_0", "build abc (7311)", 512)["CUDA:mmqw"]
    assert 1.6 < f512["CUDA:mmqw"] / q4 < 2.2
    assert "CUDA:mmqw" not in _cuda_feats(gpu, "F16", "build abc (7311)", 512)  # cuBLAS FP16 GEMM
    assert "CUDA:mmqw" not in _cuda_feats(gpu, "Q8_0", "build abc (2824)", 512)  # dequantize + cuBLAS
    # dp4a kernels (before Turing) take at most 64 tokens per tile
    assert mmq_x_max(replace(_gpu(), architecture="Pascal")) == 64
    assert mmq_x_max(replace(_gpu(), architecture="Ampere")) == 128
    assert prior("CUDA:mmqw") is not None and 0.0 < prior("CUDA:mmqw") < 1.0
