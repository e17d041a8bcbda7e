"""Batched decode on llama.cpp's CPU backend: which matmul kernel each weight takes at batch B,
and what one decode step of B sequences costs relative to a single stream.

Kernel rules — a re-statement of llama.cpp's source (ggml 0.25.3 as vendored in llama-cpp-python
0.3.36, https://pypi.org/project/llama-cpp-python/0.3.36/ — the sdist;
https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cpu/ggml-cpu.c
``ggml_compute_forward_mul_mat``, https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cpu/llamafile/sgemm.cpp
``llamafile_sgemm`` and https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cpu/repack.cpp
``ggml_repack_get_optimal_repack_type`` / ``forward_mul_mat_one_chunk``), not a fit:

* **repack** — weights llama.cpp repacks into interleaved blocks when it loads them (the CPU_REPACK
  extra buffer, on by default): on x86 with AVX2, Q4_0 / Q4_K / IQ4_NL / MXFP4 matrices whose
  row count is a multiple of 8 (Q2_K needs AVX-512; Q5_K / Q6_K are repacked only on ARM). The
  token-embedding table is not (it is read by GET_ROWS, which the repack buffer lacks), so a tied
  output matrix is not either. A repacked matmul runs ``gemm`` on the first 4·⌊B/4⌋ columns and
  one ``gemv`` per remaining column: below B = 4 every sequence pays a full single-token kernel.
* **tinyblas** — otherwise, for B ≥ 2, llamafile's tinyBLAS GEMM takes F32 / F16 / BF16 and
  Q8_0 / Q4_0 / Q5_0 / IQ4_NL weights (``llamafile_sgemm`` returns false for n < 2 and for other
  types): the weight tile is loaded once and reused across the B columns.
* **vec** — everything else (Q4_K unrepacked, Q5_K, Q6_K, Q2_K/Q3_K, IQ2/IQ3 …) and every matmul at
  B = 1: ``ggml_compute_forward_mul_mat_one_chunk`` calls ``vec_dot`` once per (row, column)
  in 16 × 16 blocks; the rows come back from cache, but the dequantisation and dot product are
  redone for every column.

Cost of a step at batch B (all weights on the CPU). The single-stream step ``t1`` is the
calibrated decode prediction (the same figure ``rigfit plan`` shows); its weight part is split
over the matrices by bytes (the calibrated model is a bytes-over-bandwidth model). Per matrix
``k`` with single-token time ``t1_k`` and ``P_k`` parameters:

    vec:       t_k(B) = B · t1_k                                    nothing amortised
    tinyblas:  t_k(B) = t1_k + (B − 1) · P_k · c_gemm               weights read once
    repack:    t_k(B) = [t1_k + (g − 1) · P_k · c_gemm] + (B − g) · t1_k,   g = 4·⌊B/4⌋

The GEMM forms charge the first column what a single-token pass costs and every further column
its arithmetic on top (no overlap of the weight stream with the extra arithmetic). Basis: on CPUs
the calibrated decode reaches about half of STREAM bandwidth, i.e. the B = 1 kernels are already
busy dequantising, not waiting on memory, so the core has no idle issue slots to hide more
arithmetic in. The opposite assumption (perfect overlap: ``max(t1_k, B · P_k · c_gemm)``) is the
fast end of the band (``overlap=True``).

``c_gemm`` [s per parameter and token] is the CPU's GEMM cost from rigfit's *prefill* model on the
same machine and threads (calibrated on published llama-bench pp rows, the same quantized GEMM
kernels): the prefill time of one pp512 token divided by the parameters it multiplies with. No
figure of the batched measurement this module is checked against (benchmarks/batched_decode.py)
is fitted. KV reads scale with B (every sequence reads its own cache); the fixed per-step and
per-layer overheads do not. Known limits: a many-core box whose B = 1 decode is bandwidth-bound
would re-read vec_dot rows from cache at B ≥ 2 (cheaper than ``B · t1_k``); MoE expert matrices
(MUL_MAT_ID) are not covered (the caller falls back to the general batched model).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

#: Types llama.cpp repacks on x86 with AVX2 (repack.cpp ggml_repack_get_optimal_repack_type),
#: each needing a row count (ne01) that is a multiple of 8.
REPACK_X86_AVX2 = frozenset({"Q4_0", "Q4_K", "IQ4_NL", "MXFP4"})
#: Types repacked on x86 only with AVX-512 (same function: Q2_K 8x8).
REPACK_X86_AVX512 = frozenset({"Q2_K"})
#: Weight types llamafile_sgemm multiplies on x86 (sgemm.cpp, AVX / AVX2 / AVX-512 branches).
TINYBLAS_X86 = frozenset({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "IQ4_NL"})
#: Columns a repacked GEMM takes at once (repack.cpp: ``nrows > 3`` → gemm on nrows − nrows % 4).
REPACK_GEMM_COLS = 4


def cpu_kernel(ggml_type: str, ne01: int, batch: int, isa: str, *, repackable: bool = True) -> str:
    """The matmul kernel llama.cpp's CPU backend runs for a weight of ``ggml_type`` with ``ne01``
    rows at ``batch`` columns: "repack", "tinyblas" or "vec". ``isa``: "avx2", "avx512", "amx"
    (x86) or anything else (ARM and unknown: no repack/tinyBLAS rule is claimed, "vec").
    ``repackable``: False for the token-embedding table (and a tied output matrix)."""
    t = ggml_type.upper()
    x86 = isa in ("avx2", "avx512", "amx")
    if not x86:
        return "vec"
    wide = isa in ("avx512", "amx")
    if repackable and ne01 % 8 == 0 and (t in REPACK_X86_AVX2 or (wide and t in REPACK_X86_AVX512)):
        return "repack"
    if batch >= 2 and t in TINYBLAS_X86:
        return "tinyblas"
    return "vec"


@dataclass(frozen=True)
class Matrix:
    """One weight matrix read per decoded token: type, rows, parameters, bytes, repackable."""

    ggml_type: str
    ne01: int
    params: float
    nbytes: float
    repackable: bool = True


def model_matrices(tensors: Iterable, tied_output: bool | None = None) -> list[Matrix]:
    """The 2-D weight matrices a decode step multiplies with, from a GGUF tensor table
    (``TensorInfo``: name, shape, ggml_type, n_bytes). The token-embedding table counts only when
    it doubles as the output matrix (no ``output.weight``)."""
    ts = list(tensors)
    if tied_output is None:
        tied_output = not any(t.name == "output.weight" for t in ts)
    out: list[Matrix] = []
    for t in ts:
        if len(t.shape) < 2 or not t.name.endswith(".weight") or "norm" in t.name:
            continue
        if t.name == "token_embd.weight" and not tied_output:
            continue
        if "_exps" in t.name:  # routed experts: MUL_MAT_ID, not modelled here
            continue
        params = float(math.prod(int(x) for x in t.shape))
        out.append(
            Matrix(
                str(t.ggml_type),
                int(t.shape[1]),
                params,
                float(t.n_bytes),
                repackable=t.name != "token_embd.weight",
            )
        )
    return out


def has_routed_experts(tensors: Iterable) -> bool:
    """Whether the table has MoE expert tensors (the rules above do not cover MUL_MAT_ID)."""
    return any("_exps" in t.name for t in tensors)


def matrix_time(
    kernel: str, t1: float, params: float, batch: int, c_gemm: float, *, overlap: bool = False
) -> float:
    """Time of one matrix at ``batch`` columns [s] (module docstring), from its single-token time
    ``t1`` [s], its parameters and the GEMM cost ``c_gemm`` [s per parameter and token].
    ``overlap``: the weight stream hides the GEMM arithmetic (the fast end of the band)."""
    if batch <= 1:
        return t1

    def gemm(cols: int) -> float:
        if overlap:
            return max(t1, cols * params * c_gemm)
        return t1 + (cols - 1) * params * c_gemm

    if kernel == "tinyblas":
        return gemm(batch)
    if kernel == "repack":
        g = batch - batch % REPACK_GEMM_COLS
        return (gemm(g) if g else 0.0) + (batch - g) * t1
    return batch * t1


@dataclass(frozen=True)
class StepParts:
    """The single-stream step split the batched model starts from [s]: weights, KV, the rest."""

    weights: float
    kv: float
    fixed: float


def step_time(
    parts: StepParts,
    matrices: list[Matrix],
    batch: int,
    isa: str,
    c_gemm: float,
    *,
    overlap: bool = False,
) -> tuple[float, dict[str, float]]:
    """One decode step of ``batch`` sequences [s], and its matmul time by kernel [s]."""
    total_bytes = sum(m.nbytes for m in matrices)
    by_kernel: dict[str, float] = {}
    t_w = 0.0
    for m in matrices:
        k = cpu_kernel(m.ggml_type, m.ne01, batch, isa, repackable=m.repackable)
        t1 = parts.weights * m.nbytes / total_bytes if total_bytes > 0 else 0.0
        t = matrix_time(k, t1, m.params, batch, c_gemm, overlap=overlap)
        by_kernel[k] = by_kernel.get(k, 0.0) + t
        t_w += t
    if not matrices:  # no tensor table: every token pays the whole single-token weight pass
        t_w = batch * parts.weights
        by_kernel["vec"] = t_w
    return parts.fixed + batch * parts.kv + t_w, by_kernel
