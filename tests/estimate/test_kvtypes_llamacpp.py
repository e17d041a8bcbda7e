"""KV cache bytes per type, K and V different, against real llama.cpp (xllamacpp) on a synthetic GGUF.

llama.cpp logs ``K (type): X MiB, V (type): Y MiB`` for every cache; rigfit's exact block-size
arithmetic (estimate/memory.py ``kv_layer_bytes``) must match each within 0.01 MiB.
"""

from __future__ import annotations

import pytest

from rigfit.estimate.memory import LlamaSettings, build_profile, kv_layer_bytes
from rigfit.formats.source import load_model_source
from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp

pytest.importorskip("xllamacpp")
pytestmark = [pytest.mark.oracle, pytest.mark.xdist_group("llamacpp")]

MIB = 1024**2
PAIRS = [("f16", "q4_0"), ("q4_1", "iq4_nl"), ("q5_0", "q5_1"), ("bf16", "f32"), ("q8_0", "q4_0")]


def test_kv_bytes_by_type_match_llamacpp(tmp_path):
    import synth

    path = str(synth.write_llama(tmp_path / "llama.gguf", n_embd=512, n_ff=1536, n_head=8, n_head_kv=2).path)
    cfgs = [RunConfig(path, n_ctx=4096, flash_attn="on", type_k=k, type_v=v) for k, v in PAIRS]
    logs = run_llamacpp(cfgs, per_process=len(cfgs), timeout_s=240)
    arch = load_model_source(path).arch
    bad = {}
    for (k, v), log in zip(PAIRS, logs, strict=True):
        assert log.ok, (k, v, log.error)
        [cache] = log.kv_caches
        s = LlamaSettings(n_ctx=4096, flash_attn="on", type_k=k, type_v=v)
        kb = sum(kv_layer_bytes(arch, il, s, build_profile())[0] for il in range(arch.n_layer))
        vb = sum(kv_layer_bytes(arch, il, s, build_profile())[1] for il in range(arch.n_layer))
        if abs(kb / MIB - cache["k_mib"]) > 0.01 or abs(vb / MIB - cache["v_mib"]) > 0.01:
            bad[f"{k}/{v}"] = ((kb / MIB, vb / MIB), (cache["k_mib"], cache["v_mib"]))
        assert (cache["k_type"], cache["v_type"]) == (k, v)
    assert not bad, f"rigfit vs llama.cpp (K MiB, V MiB): {bad}"
