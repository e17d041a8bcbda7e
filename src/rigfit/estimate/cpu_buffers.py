"""The CPU backend's weight buffers: which tensors go to ``CPU_REPACK`` and how large the
``CPU_Mapped`` buffer llama.cpp reports is.

* **Repack** (ggml-cpu/repack.cpp ``ggml_repack_get_optimal_repack_type`` and the extra buffer
  type's ``supports_op``): Q4_0, Q4_K, IQ4_NL and MXFP4 weights whose row count ``ne[1]`` is a
  multiple of 8 are copied into an interleaved layout when the op that reads them is a
  ``MUL_MAT`` with a 2-D weight or a ``MUL_MAT_ID`` with a 3-D one (the routed experts). Other
  3-D weights (MLA ``attn_k_b``) and the input embeddings (read by ``GET_ROWS``) are not.
  A tied output head (no ``output.weight``) is ``token_embd`` used as a matmul weight by the
  output layer (``TENSOR_DUPLICATED``): on the CPU it gets its own repacked copy.
  Measured on xllamacpp 2026.10.11549 (AVX-512 host) with synthetic Q4_0 / MXFP4 / Q4_K (3-D
  experts) / IQ4_NL / Q6_K GGUFs
  (tests/archs/test_repack.py): ``ne[1] = 516`` stays mapped, ``520`` is repacked.
* **CPU_Mapped** (llama-model.cpp ``load_tensors``: ``get_mapping_range`` → one host buffer from
  the file mapping): the span from the first to the end of the last tensor of the CPU context in
  file order. Repacked tensors leave that context, so the span runs from the first to the last
  *non-repacked* CPU tensor; tensors of other devices lying in between count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rigfit.archs import is_expert_tensor
from rigfit.catalog.arch import TensorInfo

#: GGML types the x86 (AVX2/AVX-512) / ARM (NEON) CPU backend repacks
#: (https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cpu/repack.cpp; MXFP4 and 3-D
#: experts measured on xllamacpp 2026.10.11549, tests/archs/test_repack.py).
REPACK_TYPES = frozenset({"Q4_0", "Q4_K", "IQ4_NL", "MXFP4"})
#: Row-count granularity of the repacked layouts (``ne[1] % 8 == 0``; measured: 516 rows stay).
REPACK_ROWS = 8
#: Default GGUF data alignment (``general.alignment`` absent) [B]: GGUF_DEFAULT_ALIGNMENT in
#: https://github.com/ggml-org/llama.cpp/blob/master/ggml/include/gguf.h
GGUF_ALIGNMENT = 32

#: Tensors of the input layer, read by GET_ROWS (never repacked).
INPUT_PREFIXES = ("token_embd", "token_types", "position_embd", "per_layer_token_embd", "tok_embd")


def _n_dims(shape: Sequence[int]) -> int:
    """``ggml_n_dims``: index of the last dimension > 1, plus one (at least 1)."""
    n = len(shape)
    while n > 1 and shape[n - 1] <= 1:
        n -= 1
    return max(n, 1)


def repackable_type(t: TensorInfo) -> bool:
    """A repackable type with whole 8-row groups (shape rules aside)."""
    return t.ggml_type.upper() in REPACK_TYPES and len(t.shape) >= 2 and t.shape[1] % REPACK_ROWS == 0


def is_repackable(t: TensorInfo) -> bool:
    """Whether llama.cpp's CPU backend repacks weight ``t`` when it lives on the CPU: a 2-D matmul
    weight, or a 3-D routed-expert tensor (MUL_MAT_ID), of a repackable type; never an input
    embedding."""
    if not repackable_type(t) or t.name.startswith(INPUT_PREFIXES):
        return False
    nd = _n_dims(t.shape)
    return nd == 2 or (nd == 3 and is_expert_tensor(t.name))


def tied_head_repack_bytes(tensors: Iterable[TensorInfo]) -> int:
    """Repacked copy of a tied output head on the CPU [B]: token_embd's bytes when the model has
    no ``output.weight`` and token_embd is of a repackable type, else 0."""
    token_embd = None
    for t in tensors:
        if t.name == "output.weight":
            return 0
        if t.name == "token_embd.weight":
            token_embd = t
    if token_embd is None or not repackable_type(token_embd) or _n_dims(token_embd.shape) != 2:
        return 0
    return token_embd.n_bytes


def file_offsets(tensors: Sequence[TensorInfo]) -> list[tuple[int, int]]:
    """(start, end) of every tensor's data in the file [B]: the GGUF offsets, or, for a predicted
    tensor table without offsets, the table order with 32-byte alignment."""
    if all(t.offset is not None for t in tensors):
        return [(int(t.offset or 0), int(t.offset or 0) + t.n_bytes) for t in tensors]
    out, pos = [], 0
    for t in tensors:
        pos = (pos + GGUF_ALIGNMENT - 1) // GGUF_ALIGNMENT * GGUF_ALIGNMENT
        out.append((pos, pos + t.n_bytes))
        pos += t.n_bytes
    return out


def mapped_span_bytes(tensors: Sequence[TensorInfo], mapped: set[str]) -> int:
    """``CPU_Mapped`` buffer [B]: first start to last end, in the file, of the tensors named in
    ``mapped`` (the CPU's non-repacked tensors); 0 when there are none."""
    lo, hi = mapped_span(tensors, mapped)
    return 0 if lo is None else hi - lo


def mapped_span(tensors: Sequence[TensorInfo], mapped: set[str]) -> tuple[int | None, int]:
    """(first start, last end) in the file of the tensors named in ``mapped`` [B]; (None, 0)
    when there are none."""
    lo, hi = None, 0
    for t, (start, end) in zip(tensors, file_offsets(tensors), strict=True):
        if t.name in mapped:
            lo = start if lo is None else min(lo, start)
            hi = max(hi, end)
    return lo, hi
