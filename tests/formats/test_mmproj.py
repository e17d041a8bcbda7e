"""Projector (mmproj) GGUF files: read, described by ``inspect``, never planned as a model."""

from __future__ import annotations

import pytest

from rigfit.errors import BadFileError
from rigfit.formats.bundled import bundled_gemma_path
from rigfit.formats.inspect import inspect_source
from rigfit.formats.mmproj import read_mmproj
from synth_mmproj import write_gemma3_mmproj


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    return write_gemma3_mmproj(
        tmp_path_factory.mktemp("mmproj") / "mmproj.gguf",
        n_embd=192,
        n_ff=384,
        n_layer=3,
        n_head=3,
        image_size=336,
    )


def test_header_fields_and_exact_weights(proj):
    m = read_mmproj(proj.path)
    assert m.projector == "gemma3" and m.has_vision and not m.has_audio
    assert (m.image_size, m.patch_size, m.n_embd, m.n_ff, m.n_layer, m.n_head) == (336, 14, 192, 384, 3, 3)
    assert m.projection_dim == 640
    assert m.n_merge == 4  # clip.cpp's default for the gemma3 projector
    assert m.n_patches == 24 * 24
    assert m.weights_bytes == sum(proj.tensor_bytes.values())
    assert m.n_tensors == len(proj.tensor_bytes)
    assert sum(v["bytes"] for v in m.tensor_types.values()) == m.weights_bytes


def test_a_model_file_is_not_a_projector():
    with pytest.raises(BadFileError, match="not a projector"):
        read_mmproj(bundled_gemma_path())


def test_inspect_describes_a_projector(proj):
    s = inspect_source(proj.path)
    assert s["kind"] == "mmproj" and s["architecture"] == "clip"
    assert s["tensor_bytes"] == sum(proj.tensor_bytes.values())
    assert s["arch"]["projector"] == "gemma3" and s["arch"]["patches_per_image"] == 576
