"""MoE prompt matmuls on CUDA MMQ: each expert's tokens are padded to whole column tiles.

llama.cpp's CUDA ``mul_mat_id`` with quantized experts (MMQ) gathers the tokens routed to each
expert and multiplies them in tiles of ``mmq_x`` tokens by ``mmq_y`` weight rows. The tile width is
picked once per matmul from ``ncols_max``, the ubatch's token count (not the tokens of one expert):
the smallest multiple of the granularity (16 from 48 up on tensor-core cards, else 8) that needs as
few tiles as the largest width, 128 (``mul_mat_q_case`` / ``mmq_get_granularity_host``). A tile
past an expert's last token is skipped (``jt*mmq_x >= col_diff``), but the expert's last tile runs
its full width whatever the tokens in it (``mul_mat_q`` in ggml/src/ggml-cuda/mmq.cuh,
https://github.com/ggml-org/llama.cpp/blob/00cd208554e3f21e967084e9845c4de64dc761c0/ggml/src/ggml-cuda/mmq.cuh).

So an expert that receives n tokens costs ceil(n / mmq_x) × mmq_x columns of tensor-core work. With
a 2,048-token ubatch, gpt-oss 120B (128 experts, 4 used) sends about 64 tokens to each expert: one
128-wide tile each, half of it padding; gpt-oss 20B (32 experts, 4 used) sends about 256, which
spill into a third tile for about half of the experts. The padding is extra FLOPs at the same
efficiency as the matmul, so it is added to the prompt's GEMM work rather than fitted.

Routing is taken as uniform and independent per token (each expert's count Binomial(u, k/E)): real
routers are less even, which adds padding, so this is a lower bound on it.
"""

from __future__ import annotations

import math
from functools import lru_cache

#: Widest MMQ column tile (tokens) on tensor-core NVIDIA cards (get_mmq_x_max_host, mmq.cuh above).
MMQ_X_MAX = 128

#: Ubatches of at most this many tokens take the vector kernel (MMVQ), not MMQ tiles, for quantized
#: experts (MMVQ_MAX_BATCH_SIZE in ggml_cuda_mul_mat_id,
#: https://github.com/ggml-org/llama.cpp/blob/00108827d87949b538ad1821f81a6b111827fcda/ggml/src/ggml-cuda/ggml-cuda.cu).
MMVQ_MAX_BATCH = 8


def mmq_tile_width(ncols: int, x_max: int = MMQ_X_MAX, tensor_cores: bool = True) -> int:
    """The MMQ column-tile width [tokens] ``mul_mat_q_case`` picks for a matmul of ``ncols`` tokens:
    the smallest allowed width with the fewest tiles (widths step by 8; on tensor-core cards
    widths from 48 up must be multiples of 16)."""
    if ncols <= 0:
        return 8
    best_x, best_tiles = 0, math.inf
    for x in range(8, x_max + 1, 8):
        if best_tiles <= 1:
            break
        gran = 16 if tensor_cores and x >= 48 else 8
        if x % gran:
            continue
        tiles = -(-ncols // x)
        if tiles < best_tiles:
            best_x, best_tiles = x, tiles
    return best_x


@lru_cache(maxsize=4096)
def expected_tiles(n_tokens: int, p: float, width: int) -> float:
    """E[ceil(n / width)] for n ~ Binomial(n_tokens, p): the column tiles one expert runs when each
    of ``n_tokens`` tokens picks it with probability ``p`` (0 tiles when no token does)."""
    if n_tokens <= 0 or p <= 0.0 or width <= 0:
        return 0.0
    if p >= 1.0:
        return float(-(-n_tokens // width))
    mean = n_tokens * p
    sd = math.sqrt(mean * (1.0 - p))
    lo = max(0, int(mean - 12.0 * sd) - 1)
    hi = min(n_tokens, int(mean + 12.0 * sd) + 2)
    lg_n = math.lgamma(n_tokens + 1)
    lp, lq = math.log(p), math.log1p(-p)
    total = 0.0
    for n in range(max(lo, 1), hi + 1):
        lpmf = lg_n - math.lgamma(n + 1) - math.lgamma(n_tokens - n + 1) + n * lp + (n_tokens - n) * lq
        total += math.exp(lpmf) * -(-n // width)
    return total


def padded_expert_tokens(u: int, n_expert: int, n_expert_used: int, width: int) -> float:
    """Token columns the routed-expert matmuls of one layer compute for a ubatch of ``u`` tokens,
    padding included, summed over the experts (≥ u × n_expert_used, the tokens actually routed)."""
    if u <= 0 or n_expert <= 0 or n_expert_used <= 0:
        return 0.0
    p = min(1.0, n_expert_used / n_expert)
    return n_expert * width * expected_tiles(u, p, width)


def expert_padding_flops(
    u: int, n_expert: int, n_expert_used: int, expert_params: float, x_max: int = MMQ_X_MAX
) -> float:
    """Extra FLOPs [FLOP] the MMQ tiles of one ubatch spend on padding in routed-expert matmuls.

    expert_params: all routed experts' weights (elements) of the layers concerned; one expert holds
    expert_params / n_expert of them, and each computed token column costs 2 FLOPs per weight."""
    if u <= MMVQ_MAX_BATCH or n_expert <= 0 or n_expert_used <= 0 or expert_params <= 0:
        return 0.0
    width = mmq_tile_width(u, x_max, tensor_cores=x_max >= MMQ_X_MAX)
    computed = padded_expert_tokens(u, n_expert, n_expert_used, width)
    routed = float(u * min(n_expert_used, n_expert))
    return 2.0 * max(0.0, computed - routed) * expert_params / n_expert
