"""Acceptance: the projector's weights and image-encoder compute buffer against real llama.cpp.

The bundled Gemma 3 270M is loaded with a small synthetic Gemma 3 projector (``--mmproj``) in
xllamacpp; clip.cpp logs the projector's tensor bytes and its compute buffer. rigfit must be within
1 % or 1 MiB, flash attention on and off. (More sizes: benchmarks/mmproj_vs_llamacpp.py.)
"""

from __future__ import annotations

import pytest

from rigfit.estimate.vision import encoder_compute_bytes
from rigfit.formats.bundled import bundled_gemma_path
from rigfit.formats.mmproj import read_mmproj
from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp
from synth_mmproj import write_gemma3_mmproj

pytest.importorskip("xllamacpp")
pytestmark = [pytest.mark.oracle, pytest.mark.xdist_group("llamacpp")]

MIB = 1024**2


def test_projector_buffers_match_llamacpp(tmp_path):
    path = write_gemma3_mmproj(tmp_path / "mm.gguf", n_embd=384, n_ff=1536, n_head=6, image_size=448).path
    cfgs = [
        RunConfig(str(bundled_gemma_path()), n_ctx=512, flash_attn=fa, mmproj_path=str(path))
        for fa in ("on", "off")
    ]
    plain = RunConfig(str(bundled_gemma_path()), n_ctx=512, flash_attn="on")
    info = read_mmproj(path)
    *logs, plain_log = run_llamacpp([*cfgs, plain], per_process=3)
    for cfg, log in zip(cfgs, logs, strict=True):
        assert log.ok, log.error
        assert log.mmproj is not None and log.mmproj["backend"] == "CPU"
        assert log.mmproj["flash_attn"] == ("enabled" if cfg.flash_attn == "on" else "disabled")
        assert abs(info.weights_bytes / MIB - log.mmproj["weights_mib"]) <= 0.005 + 1e-9
        measured = sum(log.mmproj["compute"].values()) * MIB
        predicted = encoder_compute_bytes(info, cfg.flash_attn == "on")
        assert abs(predicted - measured) <= max(0.01 * measured, MIB), (
            cfg.flash_attn,
            predicted / MIB,
            measured / MIB,
        )
    # the encoder's compute buffer is not counted as the language model's
    assert plain_log.mmproj is None
    assert logs[0].buffers["compute"] == plain_log.buffers["compute"]


def test_gemma4v_projector_at_on_device_tower_sizes(tmp_path):
    """A gemma4v projector with Gemma 4 E2B/E4B's tower widths (E 768, F 3072, 12 heads, 2 of its
    16 blocks): weights exact, the compute buffer of the 256-token warm-up image within 1 % or
    1 MiB, flash attention on and off (benchmarks/mmproj_gemma4v_vs_llamacpp.py: more sizes)."""
    from synth_mmproj import write_gemma4v_mmproj

    path = write_gemma4v_mmproj(tmp_path / "g4v.gguf", n_embd=768, n_ff=3072, n_head=12).path
    info = read_mmproj(path)
    cfgs = [
        RunConfig(str(bundled_gemma_path()), n_ctx=512, flash_attn=fa, mmproj_path=str(path))
        for fa in ("on", "off")
    ]
    for cfg, log in zip(cfgs, run_llamacpp(cfgs, per_process=2), strict=True):
        assert log.ok and log.mmproj is not None, log.error
        assert abs(info.weights_bytes / MIB - log.mmproj["weights_mib"]) <= 0.005 + 1e-9
        measured = sum(log.mmproj["compute"].values()) * MIB
        predicted = encoder_compute_bytes(info, cfg.flash_attn == "on")
        assert abs(predicted - measured) <= max(0.01 * measured, MIB), (cfg.flash_attn, predicted / MIB)
