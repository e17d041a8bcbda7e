"""Ask real llama.cpp (xllamacpp) how it reads a GGUF and compare with rigfit's Architecture.

The model is loaded with MEM's runner (:func:`rigfit.measure.llamacpp_log.run_llamacpp`, a child
process); this module only parses the ``print_info:`` hparam lines of that log and compares
them, plus the KV-cache layer counts (full-attention vs SWA cache, recurrent layers excluded).
Used by tests/test_gguf_oracle.py and benchmarks/check_synth_llamacpp.py.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

_INFO = re.compile(r"print_info: (?P<k>[A-Za-z_.][\w. ]*?)\s*= (?P<v>.*)$")


def available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def hparams_from_log(text: str) -> dict[str, str]:
    """First value of every ``print_info: key = value`` line of a llama.cpp log."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _INFO.search(line)
        if m and m.group("k").strip() not in out:
            out[m.group("k").strip()] = m.group("v").strip()
    return out


def llamacpp_reading(path: str | Path) -> dict[str, Any]:
    """Load ``path`` in llama.cpp (n_ctx 512, one slot): {"ok", "error", "hparams", "kv_layers"}."""
    from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp

    [log] = run_llamacpp([RunConfig(str(path), n_ctx=512)])
    return {
        "ok": log.ok,
        "error": log.error,
        "hparams": hparams_from_log(log.log),
        "kv_layers": [c["layers"] for c in log.kv_caches],
        "recurrent": log.recurrent,
        "log": log.log[-3000:],
    }


def compare(arch: Any, info: dict[str, Any]) -> list[str]:
    """Differences between a rigfit Architecture and llama.cpp's reading of the same file."""
    hp = info["hparams"]
    diffs = []

    def chk(key: str, ours: Any) -> None:
        if key in hp and str(ours) != hp[key]:
            diffs.append(f"{key}: rigfit {ours} vs llama.cpp {hp[key]}")

    ff = arch.extra.get("feed_forward_length")
    chk("arch", arch.arch)
    chk("n_layer", arch.n_layer)
    chk("n_embd", arch.n_embd)
    chk("n_ctx_train", arch.n_ctx_train)
    chk("n_vocab", arch.n_vocab)
    chk("n_embd_head_k", arch.n_embd_head_k)
    chk("n_embd_head_v", arch.n_embd_head_v)
    if isinstance(arch.n_head_kv, int):
        chk("n_head_kv", arch.n_head_kv)
    chk("n_ff", ff if isinstance(ff, int) else ff[0])
    chk("n_swa", arch.sliding_window or 0)
    chk("is_swa_any", int(any(arch.swa_layers or ())))
    chk("n_expert", arch.moe.n_expert if arch.moe else 0)
    chk("n_expert_used", arch.moe.n_expert_used if arch.moe else 0)
    if arch.moe:
        chk("n_layer_dense_lead", arch.moe.n_dense_lead)
        chk("n_expert_shared", arch.moe.n_expert_shared)
    if arch.mla:
        chk("n_lora_kv", arch.mla.kv_lora_rank)
        chk("n_lora_q", arch.mla.q_lora_rank or 0)
        chk("n_embd_head_k_mla", arch.mla.qk_nope_head_dim + arch.mla.qk_rope_head_dim)
        chk("n_embd_head_v_mla", arch.mla.v_head_dim)
        chk("n_rot", arch.mla.qk_rope_head_dim)
    if arch.ssm:
        chk("ssm_d_conv", arch.ssm.d_conv)
        chk("ssm_d_inner", arch.ssm.d_inner)
        chk("ssm_d_state", arch.ssm.d_state)
        chk("ssm_dt_rank", arch.ssm.n_head)
        chk("ssm_n_group", arch.ssm.n_group)
    # KV caches: llama.cpp logs one per cache (full-attention first, then SWA) with its layer count
    attn = [il for il in range(arch.n_layer) if not arch.is_recurrent(il) or arch.arch == "falcon-h1"]
    n_swa = sum(1 for il in attn if arch.is_swa(il))
    expected = [n for n in (len(attn) - n_swa, n_swa) if n] if attn else []
    if info.get("ok") and info["kv_layers"] != expected:
        diffs.append(f"KV-cache layers (full, SWA): rigfit {expected} vs llama.cpp {info['kv_layers']}")
    return diffs
