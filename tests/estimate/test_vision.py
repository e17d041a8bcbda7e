"""Image encoder memory and image tokens (estimate/vision.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rigfit.estimate.vision import (
    VisionSettings,
    add_mmproj_buffers,
    encoder_compute_bytes,
    encoder_flops,
    image_prompt_cost,
    image_tokens,
    llama_server_args,
)
from rigfit.figures import Figure
from rigfit.formats.mmproj import read_mmproj
from rigfit.measure.llamacpp_log import parse_log
from synth_mmproj import write_gemma3_mmproj

F32 = 4


@pytest.fixture(scope="module")
def info(tmp_path_factory):
    p = write_gemma3_mmproj(
        tmp_path_factory.mktemp("vis") / "mm.gguf", n_embd=256, n_ff=512, n_head=4, image_size=448
    )
    return read_mmproj(p.path)


def test_compute_rule_parts(info):
    p, e, f, h = 1024, 256, 512, 4
    assert info.n_patches == p
    # FA off: the K·Q scores dominate; FA on: activations only
    assert encoder_compute_bytes(info, flash_attn=False) == h * p * p * F32 + 6 * p * e * F32
    assert encoder_compute_bytes(info, flash_attn=True) == max(5 * p * e * F32, p * f * F32 + 3 * p * e * F32)


@pytest.mark.parametrize(
    ("projector", "size", "patch", "merge", "w", "h", "tokens"),
    [
        ("gemma3", 896, 14, 4, None, None, 256),  # Gemma 3: 256 per image whatever its size
        ("gemma3", 896, 14, 4, 1920, 1080, 256),
        ("mlp", 336, 14, 1, None, None, 576),  # LLaVA-1.5: 24 × 24
        ("qwen2.5vl", 0, 14, 2, 1280, 720, 46 * 26),  # 1288 × 728 px after smart_resize, / 28²
        ("qwen2.5vl", 0, 14, 2, 28, 28, 4),  # raised to min_pixels 3136 = 56 × 56
        ("llama4", 336, 14, 2, 336, 336, 144),  # one tile: (24 / 2)²
        ("llama4", 336, 14, 2, 672, 672, 5 * 144),  # 2 × 2 tiles + the global view
        ("pixtral", 1024, 16, 1, 1024, 1024, 64 * 64 + 63),  # + an [IMG_BREAK] per row but the last
        ("pixtral", 1024, 16, 1, 2048, 1024, 64 * 32 + 31),  # scaled to fit 1024 px
    ],
)
def test_image_tokens(projector, size, patch, merge, w, h, tokens):
    t = image_tokens(projector, size, patch, merge, w, h)
    assert t is not None and t.tokens == tokens and t.source.startswith("https://")


def test_unknown_projector_has_no_rule():
    assert image_tokens("no-such-projector", 224, 14, 1, None, None) is None


@dataclass
class _Row:
    name: str
    kind: str
    mmproj_bytes: int = 0
    uncertainty_bytes: int = 0


def test_placement_gpu_unless_no_offload(info):
    rows = [_Row("CUDA0", "gpu"), _Row("CUDA1", "gpu"), _Row("CPU", "cpu")]
    add_mmproj_buffers(rows, VisionSettings(mmproj=info), flash_attn=True)
    assert rows[0].mmproj_bytes == info.weights_bytes + encoder_compute_bytes(info, True)
    assert rows[1].mmproj_bytes == rows[2].mmproj_bytes == 0
    rows = [_Row("CUDA0", "gpu"), _Row("CPU", "cpu")]
    add_mmproj_buffers(rows, VisionSettings(mmproj=info, offload=False), flash_attn=False)
    assert rows[0].mmproj_bytes == 0
    assert rows[1].mmproj_bytes == info.weights_bytes + encoder_compute_bytes(info, False)
    assert llama_server_args(VisionSettings(mmproj=info, offload=False)) == [
        "--mmproj",
        "mm.gguf",
        "--no-mmproj-offload",
    ]


def test_prompt_cost_scales_with_images(info):
    tps = Figure(1000.0, "tok/s", "estimated", low=500.0, high=2000.0)
    one = image_prompt_cost(VisionSettings(mmproj=info, images=1), "gemma3", tps, 10**9)
    three = image_prompt_cost(VisionSettings(mmproj=info, images=3), "gemma3", tps, 10**9)
    assert one["tokens_per_image"] == 64  # (448 / 14 / 4)²
    assert three["image_tokens"] == 3 * 64
    assert three["llm_prefill_s"]["value"] == pytest.approx(3 * 64 / 1000)
    assert three["llm_prefill_s"]["low"] < three["llm_prefill_s"]["value"] < three["llm_prefill_s"]["high"]
    assert three["encoder_flops"] == pytest.approx(3 * encoder_flops(info, 1024))
    assert three["encoder_s"]["value"] == pytest.approx(three["encoder_flops"] / (2e9 * 1000))


def test_prompt_cost_without_projector_uses_the_architecture():
    c = image_prompt_cost(VisionSettings(images=2), "gemma3", None, None)
    assert c["image_tokens"] == 512 and c["encoder_flops"] is None and c["llm_prefill_s"] is None


LOG = """\
0.01.494.904 I sched_reserve:        CPU compute buffer size =    19.28 MiB
0.01.499.632 I clip_ctx: CLIP using CPU backend
0.01.503.799 I load_hparams: model size:         63.16 MiB
0.01.607.276 I reserve_compute_meta:        CPU compute buffer size =    30.31 MiB
0.01.607.277 W warmup: flash attention not supported by CPU, memory usage will increase
0.01.607.278 I reserve_compute_meta:        CPU compute buffer size =    91.00 MiB
0.01.607.282 I warmup: flash attention is disabled
"""


def test_log_keeps_the_encoder_apart_from_the_language_model():
    log = parse_log(LOG)
    assert log.buffers["compute"] == {"CPU": 19.28}
    assert log.mmproj == {
        "weights_mib": 63.16,
        "compute": {"CPU": 91.0},
        "backend": "CPU",
        "flash_attn": "disabled",
    }
    assert parse_log(LOG.splitlines()[0]).mmproj is None
