"""MoE prompt matmuls on CUDA MMQ: expert tokens padded to whole column tiles (speed/moetiles.py)."""

from __future__ import annotations

import pytest

from rigfit.estimate.predict import case_features, resolve_case
from rigfit.estimate.speed import load_constants
from rigfit.estimate.speed.features import mmq_reread_bytes
from rigfit.estimate.speed.layout import Segment
from rigfit.estimate.speed.moetiles import (
    expected_tiles,
    expert_padding_flops,
    mmq_tile_width,
    padded_expert_tokens,
)
from rigfit.estimate.speed.work import ModelWork
from rigfit.hardware.devices import Device
from rigfit.measure.groundtruth import case_from_row


def test_tile_width_is_the_narrowest_with_the_fewest_tiles():
    assert mmq_tile_width(2048) == 128  # 16 tiles of 128
    assert mmq_tile_width(512) == 128
    assert mmq_tile_width(300) == 112  # 3 tiles: 100 rounded up to the granularity of 16
    assert mmq_tile_width(100) == 112  # 1 tile
    assert mmq_tile_width(40) == 40  # under 48 the granularity is 8
    assert mmq_tile_width(300, 64, tensor_cores=False) == 64  # dp4a: at most 64, steps of 8
    assert mmq_tile_width(100, 64, tensor_cores=False) == 56


def test_expected_tiles_of_a_binomial_token_count():
    assert expected_tiles(2048, 1.0, 128) == 16.0
    assert expected_tiles(0, 0.5, 128) == 0.0
    # about 64 tokens: almost surely one tile
    assert expected_tiles(2048, 4 / 128, 128) == pytest.approx(1.0, abs=0.01)
    # about 256 tokens (sd 15): two tiles, a third for the half above 256
    assert 2.4 < expected_tiles(2048, 4 / 32, 128) < 2.6
    # never below the tokens' own share of tiles
    for p in (0.01, 0.1, 0.3):
        assert expected_tiles(1000, p, 64) >= 1000 * p / 64


def test_padding_fills_half_of_gpt_oss_120b_expert_tiles_at_ubatch_2048():
    # gpt-oss 120B: 128 experts, 4 used; ~64 tokens per expert in one 128-wide tile
    computed = padded_expert_tokens(2048, 128, 4, 128)
    assert 2048 * 4 / computed == pytest.approx(0.5, abs=0.02)
    # gpt-oss 20B: 32 experts, 4 used; ~256 tokens per expert, a third tile for about half
    assert 0.75 < 2048 * 4 / padded_expert_tokens(2048, 32, 4, 128) < 0.85
    # a smaller ubatch pads more
    assert 512 * 4 / padded_expert_tokens(512, 128, 4, 128) < 0.2


def test_padding_flops_are_the_padded_columns_times_two_flops_per_weight():
    params = 128 * 1e6  # 128 experts of a million weights
    extra = expert_padding_flops(2048, 128, 4, params)
    computed = padded_expert_tokens(2048, 128, 4, 128)
    assert extra == pytest.approx(2.0 * (computed - 2048 * 4) * 1e6)
    assert expert_padding_flops(2048, 0, 0, params) == 0.0  # dense model
    assert expert_padding_flops(2048, 8, 8, 8e6) == 0.0  # every expert takes every token: full tiles
    assert expert_padding_flops(8, 128, 4, params) == 0.0  # 8 tokens or fewer: the vector kernel
    assert expert_padding_flops(9, 128, 4, params) > 0.0


def _gb10_moe(ub: int, build: str = "build 2f68ce7cf (6918)") -> dict[str, float]:
    row = {
        "hardware": "NVIDIA GB10 (DGX Spark)",
        "n_devices": "1",
        "backend": "CUDA",
        "model": "gpt-oss 120B MXFP4 MoE",
        "model_family": "gpt-oss",
        "params_b": "116.83",
        "quant": "MXFP4",
        "test": "pp2048",
        "prompt_tokens": "2048",
        "depth": "0",
        "ngl": "99",
        "flash_attn": "1",
        "date_or_build": build,
        "notes": f"-ub {ub}",
    }
    return case_features(resolve_case(case_from_row(row)), load_constants())[0]


def test_moe_prompt_compute_on_mmq_counts_the_padding(monkeypatch: pytest.MonkeyPatch):
    big, small = _gb10_moe(2048), _gb10_moe(512)
    # the routed FLOPs are the same for any ubatch; the MMQ work is not
    assert small["CUDA|moe:c"] == pytest.approx(big["CUDA|moe:c"])
    assert small["CUDA|p=int8:c"] > 1.5 * big["CUDA|p=int8:c"]
    # at ubatch 2048 half of each expert tile is padding: the padding adds about the routed work
    monkeypatch.setattr("rigfit.estimate.speed.features.expert_padding_flops", lambda *a, **k: 0.0)
    unpadded = _gb10_moe(2048)
    pad = big["CUDA|p=int8:c"] - unpadded["CUDA|p=int8:c"]
    assert pad == pytest.approx(big["CUDA|moe:c"], rel=0.05)


def test_no_padding_off_the_mmq_path():
    # before int8 MMQ (era 'old'), CUDA dequantizes to FP16 for cuBLAS: no MMQ tiles
    big = _gb10_moe(2048, "build abc (2824)")
    small = _gb10_moe(512, "build abc (2824)")
    key = next(k for k in big if k.startswith("CUDA|p=") and k.endswith(":c"))
    assert key != "CUDA|p=int8:c"
    assert small[key] == pytest.approx(big[key])


def _moe_work(n_expert: int, n_used: int) -> ModelWork:
    """One layer: 1 MB of dense weights and 1 MB of routed experts (all experts together)."""
    return ModelWork(
        name="moe",
        n_layer=1,
        layer_dense_bytes=(1e6,),
        layer_expert_bytes=(1e6,),
        layer_dense_params=(1e6,),
        layer_expert_params=(1e6,),
        head_bytes=0.0,
        head_params=0.0,
        embd_row_bytes=0.0,
        embd_bytes=0.0,
        layer_kv_elems=(0.0,),
        layer_window=(None,),
        layer_attn_dim=(0.0,),
        n_expert=n_expert,
        n_expert_used=n_used,
    )


def test_expert_weight_reloads_follow_the_expected_tiles():
    seg = Segment(
        device=Device(id="x", name="x", kind="gpu", vendor="NVIDIA"), backend="CUDA", role="gpu", layers=(0,)
    )
    # 32 experts, 4 used, 2,048 tokens: ~256 per expert, 2.5 tiles of 128 on average → 1.5 reloads
    work = _moe_work(32, 4)
    efr = 1.0 - (1.0 - 4 / 32) ** 2048
    b = mmq_reread_bytes(work, seg, 2048, efr, 128)
    dense = 15 * 1e6  # 16 token tiles: 15 passes beyond the first
    assert 1.4e6 < b - dense < 1.6e6
    # 128 experts, 4 used: ~64 tokens each, one tile: no reloads of expert rows
    work = _moe_work(128, 4)
    efr = 1.0 - (1.0 - 4 / 128) ** 2048
    assert mmq_reread_bytes(work, seg, 2048, efr, 128) - dense == pytest.approx(0.0, abs=2e4)
