"""Check rigfit's per-tensor quantization rules against the real ``llama-quantize --dry-run``.

For each catalog model, writes a *sparse* F16 GGUF (header with rigfit's predicted tensor table
and the hparams llama.cpp needs; the data section is a hole, so a 140 GB model costs nothing on
disk), runs ``llama-quantize --dry-run`` for every file type, parses the per-tensor target types
it logs and compares them with :func:`rigfit.estimate.tensors.tensor_types`.

Needs a llama-quantize binary built from llama.cpp (not shipped by xllamacpp):

    LLAMA_QUANTIZE=/path/to/llama-quantize python benchmarks/quant_rules_oracle.py [model ...]

Prints one line per (model, file type): tensors compared, mismatches, predicted vs dry-run bytes.
Compared without an importance matrix and with ``allow_requantize=True``: ``--dry-run`` skips
llama-quantize's "requantizing from type mxfp4 is disabled" check (gpt-oss experts).

Result (llama.cpp vendored in llama-cpp-python 0.3.36, 2026-11; 13 models × 33 file types):
every tensor type identical; the only failures are Q1_0 where llama-quantize itself has no
fallback for the row length (rigfit raises the same error).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter

from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import get_model
from rigfit.catalog.quant import FILE_TYPES, tensor_nbytes
from rigfit.estimate.tensors import (
    canonical_arch,
    n_layer_all,
    n_rot,
    tensor_shapes,
    tensor_types,
)

DEFAULT_MODELS = [
    "llama-3.1-8b",
    "qwen2.5-14b",
    "llama-3.1-70b",
    "gemma-3-270m",
    "gemma-3-27b",
    "qwen3-30b-a3b",
    "mixtral-8x7b",
    "phi-4-mini",
    "gpt-oss-20b",
    "deepseek-v3",
    "glm-4.5-air",
    "granite-4.0-h-tiny",
    "mamba2-2.7b",
]

_GGUF_ARCH = {
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "qwen3moe": "qwen3moe",
    "gemma2": "gemma2",
    "gemma3": "gemma3",
    "phi3": "phi3",
    "deepseek2": "deepseek2",
    "gpt-oss": "gpt-oss",
    "glm4moe": "glm4moe",
    "llama4": "llama4",
    "dots1": "dots1",
    "hunyuan-moe": "hunyuan-moe",
    "mamba2": "mamba2",
    "granitehybrid": "granitehybrid",
}


def _hparams(w: GGUFWriter, arch: Architecture, a: str) -> None:
    p = _GGUF_ARCH[a]
    L = n_layer_all(arch)
    u = lambda k, v: w.add_uint32(f"{p}.{k}", int(v))  # noqa: E731
    u("context_length", arch.n_ctx_train)
    u("embedding_length", arch.n_embd)
    u("block_count", L)
    u("vocab_size", arch.n_vocab)
    w.add_float32(f"{p}.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_float32(f"{p}.attention.layer_norm_epsilon", 1e-6)
    if arch.n_head:
        u("attention.head_count", arch.n_head)
        kv = [arch.head_kv(min(i, arch.n_layer - 1)) for i in range(L)]
        if len(set(kv)) == 1:
            u("attention.head_count_kv", kv[0])
        else:
            w.add_array(f"{p}.attention.head_count_kv", kv)
        u("attention.key_length", arch.n_embd_head_k)
        u("attention.value_length", arch.n_embd_head_v)
        u("rope.dimension_count", max(1, n_rot(arch)))
    ff = [arch.ff(min(i, arch.n_layer - 1)) for i in range(L)]
    if len(set(ff)) == 1:
        u("feed_forward_length", ff[0])
    else:
        w.add_array(f"{p}.feed_forward_length", ff)
    if arch.sliding_window:
        u("attention.sliding_window", arch.sliding_window)
    elif a in ("gpt-oss",):
        u("attention.sliding_window", 128)
    if arch.moe:
        m = arch.moe
        u("expert_count", m.n_expert)
        u("expert_used_count", m.n_expert_used)
        u("expert_feed_forward_length", m.expert_ff)
        u("expert_shared_count", m.n_expert_shared)
        u("leading_dense_block_count", m.n_dense_lead)
        if m.shared_ff_total:
            u("expert_shared_feed_forward_length", m.shared_ff_total)
        if a == "llama4":
            u("interleave_moe_layer_step", 1)
    if arch.mla:
        ml = arch.mla
        if ml.q_lora_rank:
            u("attention.q_lora_rank", ml.q_lora_rank)
        u("attention.kv_lora_rank", ml.kv_lora_rank)
        u("attention.key_length", ml.kv_lora_rank + ml.qk_rope_head_dim)
        u("attention.value_length", ml.kv_lora_rank)
        u("attention.key_length_mla", ml.qk_nope_head_dim + ml.qk_rope_head_dim)
        u("attention.value_length_mla", ml.v_head_dim)
        u("rope.dimension_count", ml.qk_rope_head_dim)
    if arch.n_layer < L:
        u("nextn_predict_layers", L - arch.n_layer)
    if arch.ssm:
        s = arch.ssm
        u("ssm.conv_kernel", s.d_conv)
        u("ssm.inner_size", s.d_inner)
        u("ssm.state_size", s.d_state)
        u("ssm.time_step_rank", s.n_head)
        u("ssm.group_count", s.n_group)


def write_sparse_f16(arch: Architecture, path: Path) -> None:
    a = canonical_arch(arch)
    w = GGUFWriter(str(path), _GGUF_ARCH[a])
    _hparams(w, arch, a)
    w.add_uint32("general.file_type", 1)
    src = {n: t for n, _, t in tensor_types(arch, "F16")}
    total = 0
    for name, shape in tensor_shapes(arch):
        t = src[name]
        nb = tensor_nbytes(t, shape)
        np_shape = tuple(reversed(shape))
        if t == "F16":
            w.add_tensor_info(name, np_shape, np.dtype(np.float16), nb)
        elif t == "F32":
            w.add_tensor_info(name, np_shape, np.dtype(np.float32), nb)
        else:
            w.add_tensor_info(name, np_shape, np.dtype(np.float32), nb, raw_dtype=GGMLQuantizationType[t])
        total += GGUFWriter.ggml_pad(nb, 32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.fout[0].flush()
    head = w.fout[0].tell()
    w.close()
    os.truncate(path, GGUFWriter.ggml_pad(head, 32) + total)


_LINE = re.compile(r"\]\s+(\S+)\s+-\s+\[[^\]]*\],\s+type\s+=\s+(\S+),\s+(.*)$")


def dry_run(binary: str, src: Path, ftype: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as td:
        out = subprocess.run(
            [binary, "--dry-run", str(src), str(Path(td) / "o.gguf"), ftype],
            capture_output=True,
            text=True,
            timeout=600,
        )
    log = out.stdout + out.stderr
    types: dict[str, str] = {}
    for line in log.splitlines():
        m = _LINE.search(line)
        if not m:
            continue
        name, cur, rest = m.groups()
        t = re.search(r"\((\w+)\)\s*$", rest)
        types[name] = (t.group(1) if t else cur).upper()
    if not types:
        raise RuntimeError(f"no tensor lines parsed for {ftype}:\n{log[-2000:]}")
    return types


def digest(types: dict[str, str]) -> str:
    """Short fingerprint of a whole per-tensor type assignment (order-independent)."""
    text = ";".join(f"{n}:{t}" for n, t in sorted(types.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def main(argv: list[str]) -> int:
    binary = os.environ.get("LLAMA_QUANTIZE", "llama-quantize")
    dump = None
    if argv[:1] == ["--dump"]:
        dump, argv = Path(argv[1]), argv[2:]
    models = argv or DEFAULT_MODELS
    golden: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as td:
        for mid in models:
            arch = get_model(mid)
            src = Path(td) / f"{mid}.gguf"
            write_sparse_f16(arch, src)
            for ft in FILE_TYPES:
                if ft.via == "convert" or ft.name in ("F32", "BF16"):
                    continue
                try:
                    pred = {n: t for n, _, t in tensor_types(arch, ft, imatrix=False, allow_requantize=True)}
                except Exception as e:
                    pred = {"<error>": str(e)}
                try:
                    real = dry_run(binary, src, ft.name)
                except Exception as e:
                    print(f"{mid:22s} {ft.name:9s} dry-run failed: {str(e).splitlines()[0][:120]}")
                    continue
                shapes = dict(tensor_shapes(arch))
                bad = [(n, pred.get(n), real[n]) for n in real if pred.get(n) != real[n]]
                pb = sum(tensor_nbytes(pred[n], shapes[n]) for n in shapes if n in pred)
                rb = sum(tensor_nbytes(real[n], shapes[n]) for n in shapes if n in real)
                print(
                    f"{mid:22s} {ft.name:9s} tensors {len(real):5d} mismatches {len(bad):4d} "
                    f"pred {pb / 1e9:9.3f} GB dry-run {rb / 1e9:9.3f} GB {bad[:3] if bad else ''}"
                )
                golden.setdefault(mid, {})[ft.name] = {
                    "bytes": rb,
                    "counts": dict(sorted(Counter(real.values()).items())),
                    "digest": digest(real),
                }
    if dump is not None:  # one line per (model, file type)
        lines = [
            f'  "{m}|{f}": {json.dumps(v, sort_keys=True)}'
            for m, d in sorted(golden.items())
            for f, v in sorted(d.items())
        ]
        src = (
            "llama-quantize --dry-run, llama.cpp vendored in llama-cpp-python 0.3.36 (ggml 0c1e570), "
            "sparse F16 GGUFs from benchmarks/quant_rules_oracle.py; no imatrix; dry-run skips the "
            "MXFP4 requantize check"
        )
        dump.write_text('{\n  "_source": ' + json.dumps(src) + ",\n" + ",\n".join(lines) + "\n}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
