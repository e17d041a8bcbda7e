"""How much KV cache one decoded token streams through the attention kernel, per backend.

A decode step's attention reads each layer's K and V cache once per context token — if the kernel
serves all query heads of a KV group from one pass. llama.cpp's Metal backend does not: its
batch-1 attention runs one threadgroup per *query* head, and each streams the K/V head it maps to
on its own.

- Flash attention (``kernel_flash_attn_ext_vec``): the grid is (query rows / Q, query heads,
  KV splits × nwg), one query head per threadgroup (``nhptg = 1``, "heads per threadgroup" in
  ``ggml_metal_op_flash_attn_ext``); the kernel takes ``iq2 = tgpig[1]`` as its query head and
  reads K/V head ``iq2 / (n_head / n_head_kv)``
  (https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-metal/ggml-metal-ops.cpp,
  https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-metal/ggml-metal.metal).
- Without flash attention the K·Q and KQ·V products are ``mul_mv`` kernels broadcast over the
  query heads (``i02 = i12 / r2``): again one pass per query head.

So the work per context token scales with query heads × (head_dim_k + head_dim_v)
(``ModelWork.layer_attn_dim``), not with the cache's own n_head_kv × (…) (``layer_kv_elems``).
Published Metal rows agree, the attention time per context token of a GQA model being its KV
bytes × n_head / n_head_kv at about the same efficiency whatever the grouping:

- M2 Ultra, llama.cpp master 2026-08 (PR https://github.com/ggml-org/llama.cpp/pull/26570,
  data/ground-truth/speed_recent_2026.csv), Qwen3-0.6B Q8_0 (16 query / 8 KV heads, 28 layers,
  head 128): tg32 240.02 t/s at d0, 102.05 at d16384, 64.97 at d32768 → 11.2 ms more per token
  at 32k, for 3.76 GB of K/V (9.4 ms at 800 GB/s when read twice, once per query head; 4.7 ms
  when read once).
- M2 Ultra, llama 1B Q8_0 (Llama 3.2 1B: 32 query / 8 KV heads, head 64), FA vec kernel:
  tg32 269.18 t/s at d0, 203.24 at d8192 (PR https://github.com/ggml-org/llama.cpp/pull/13583):
  1.2 ms for 0.27 GB of K/V — 3.6× its bytes at 800 GB/s, 0.9× when read once per query head.
- M2 Ultra, build 2796 (no flash attention), Llama 3 8B and 70B Q4_K_M tg512 → tg8192
  (speed_calibration.csv): 5.8 ms and 27 ms more per token for 0.50 and 1.26 GB of K/V —
  9.2× and 17× the bytes at 800 GB/s, 2.3× and 2.1× per query head (GQA 4 and 8).

The cost follows the loads, not DRAM traffic: Apple's caches serve the repeated reads, but the
GPU issues them. MLX's decode kernel has the same shape (one simdgroup per query head) and was
measured on an M5 Pro, KV bytes counted once, at 281 GB/s for 32 query / 32 KV heads, 264 for
32 / 8 and 190 (head 128) or 119 GB/s (head 64) for group 8, against 266 GB/s for a dense fp16
matrix-vector product: "loads scale with query heads, not kv heads"
(https://github.com/ml-explore/mlx/issues/4076). llama.cpp's kernel is less efficient per load
and its rows above scale with the query heads already at groups of 2 and 4; the feature keeps
the bandwidth's units (bytes / BW) so the fitted ``Metal|fa*:kv`` coefficient prices one
query head's pass.

MLA layers: ``layer_attn_dim`` counts n_head × (nope + rope + v) dims, the uncompressed form (the
absorbed kernel's per-head width, 576 + 512, is larger): no Metal MLA row at depth checks it.
"""

from __future__ import annotations

from rigfit.estimate.speed.work import ModelWork

#: Backends whose batch-1 decode attention streams the KV cache once per query head.
PER_QUERY_HEAD_BACKENDS = frozenset({"Metal"})


def per_query_head(backend: str) -> bool:
    """Whether ``backend``'s decode attention reads each KV head once per query head."""
    return backend in PER_QUERY_HEAD_BACKENDS


def decode_kv_elems_per_token(work: ModelWork, il: int, backend: str) -> float:
    """K/V cache elements layer ``il``'s decode attention streams per context token [elements]:
    query heads × (head_dim_k + head_dim_v) on a per-query-head backend, else the cache's own
    K+V elements (0 on recurrent layers either way)."""
    kv = work.layer_kv_elems[il]
    if kv <= 0 or not per_query_head(backend):
        return kv
    return max(kv, work.layer_attn_dim[il])
