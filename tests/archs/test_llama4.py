"""llama4: routed experts only every ``interleave_moe_layer_step``-th layer (dense FFN between)
and one shared expert of the expert width on each MoE layer, which llama.cpp creates without a
GGUF key (issue 12: rigfit priced the dense layers as expert layers and recorded no shared
expert). Checked against real llama.cpp (xllamacpp) on synthetic llama4 GGUFs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sweep
from llama4_synth import write_llama4
from sweep import Setting

from rigfit.estimate.tensors import tensor_shapes
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import architecture_from_gguf


@pytest.mark.parametrize("step", [1, 2])
def test_moe_layers_shared_expert_and_tensor_table(tmp_path, step):
    m = write_llama4(tmp_path / "l4.gguf", step=step)
    arch = architecture_from_gguf(read_gguf(m.path))
    assert [arch.is_moe_layer(il) for il in range(4)] == [(il + 1) % step == 0 for il in range(4)]
    assert arch.moe.n_expert_shared == 1 and arch.moe.shared_ff_total == arch.moe.expert_ff
    assert arch.ff(0) == (0 if step == 1 else 1024)
    # the catalog rules predict exactly the file's tensors (shared expert included); rope_freqs
    # (Llama 3-style RoPE scaling of the real checkpoints) is not in this synthetic file
    predicted = [(n, s) for n, s in tensor_shapes(arch) if n != "rope_freqs.weight"]
    assert sorted(predicted) == sorted((n, s) for n, (s, _, _) in m.tensors.items())


SETTINGS = (
    Setting("ctx512-fa-on", 512, "on"),
    Setting("ctx4096-fa-on", 4096, "on"),
    Setting("ctx4096-fa-off", 4096, "off"),
    Setting("ctx4096-np4", 4096, "auto", n_parallel=4),
    Setting("ctx4096-np4-kvu", 4096, "on", n_parallel=4, kv_unified=True),
    Setting("ctx4096-ub128", 4096, "auto", n_ubatch=128),
    Setting("ctx4096-ub1024", 4096, "on", n_ubatch=1024),
    Setting("ctx16384-chunked", 16384, "on"),
)
SHAPES = {
    "interleaved-step2": {"step": 2},
    "all-moe-shared": {"step": 1, "n_ff_exp": 512, "n_layer": 4, "wtype": "Q8_0"},
}


@pytest.mark.oracle
@pytest.mark.xdist_group("llamacpp")
@pytest.mark.parametrize("shape", list(SHAPES))
def test_buffers_match_llamacpp(tmp_path, shape):
    pytest.importorskip("xllamacpp")
    path = str(write_llama4(tmp_path / f"{shape}.gguf", **SHAPES[shape]).path)
    bad = sweep.misses(sweep.compare(path, SETTINGS, timeout_s=240))
    assert not bad, f"predicted vs llama.cpp (MiB) for llama4 {shape}: {bad}"
