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
