"""What one token costs: bytes and FLOPs per layer of a model, from its tensor table.

``W`` is the bytes of weights actually read per token, taken tensor by tensor (MoE: only the routed
experts' top-k share; token embedding: one row); ``KV`` is the cache read at the current depth
(sliding-window layers capped at their window, MLA latent).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

from rigfit.archs import family_for, is_expert_tensor
from rigfit.catalog.arch import Architecture, ModelSpec
from rigfit.catalog.quant import resolve_kv_type
from rigfit.estimate import summarycache
from rigfit.estimate.tablecache import IdentityCache


def kv_bytes_per_elem(kv_type: str) -> float:
    """Bytes per cached K/V element of a llama.cpp ``-ctk`` type (the quant catalog's table)."""
    if type(kv_type) is not str:
        return float(resolve_kv_type(kv_type).bytes_per_element)
    b = _KV_BYTES.get(kv_type)
    if b is None:
        if len(_KV_BYTES) > 256:
            _KV_BYTES.clear()
        b = _KV_BYTES[kv_type] = float(resolve_kv_type(kv_type).bytes_per_element)
    return b


#: :func:`kv_bytes_per_elem` per type name (the quant catalog's table never changes).
_KV_BYTES: dict[str, float] = {}


@dataclass(frozen=True)
class ModelWork:
    """What one token costs: bytes and FLOPs per layer, derived from a :class:`ModelSpec`.

    layer_dense_bytes[il]: weights of layer il read for every token (attention, norms, router,
        dense FFN, shared experts) [B].
    layer_expert_bytes[il]: all routed-expert weights of layer il [B] (a token reads k/E of them).
    layer_dense_params / layer_expert_params: the same as element counts (for FLOPs).
    head_bytes / head_params: output matrix (+ output norm), read for every sampled token.
    embd_row_bytes: one row of the token-embedding table (what a token reads of it).
    layer_kv_elems[il]: K+V cache elements per context token in layer il (0: recurrent layer).
    layer_window[il]: sliding window of layer il (None: full attention).
    layer_attn_dim[il]: n_head × (head_dim_k + head_dim_v) — attention FLOPs per (token, context
        token) are 2 × this.
    layer_mm_in[il] / layer_mm_out[il]: Σ input (K) and Σ output (N) widths of the layer's dense
        2-D weight matrices — the activations a row-split matmul sends out and gathers back.
    layer_mm_shapes[il]: (K, N) of each of those matrices (the MMQ tile grid, features.py).
    layer_n_head[il]: query heads of layer il (0: recurrent layer) — the rows of the attention
        score matrix K·Q that a prompt without flash attention writes out per context token.
    """

    name: str
    n_layer: int
    layer_dense_bytes: tuple[float, ...]
    layer_expert_bytes: tuple[float, ...]
    layer_dense_params: tuple[float, ...]
    layer_expert_params: tuple[float, ...]
    head_bytes: float
    head_params: float
    embd_row_bytes: float
    embd_bytes: float
    layer_kv_elems: tuple[float, ...]
    layer_window: tuple[int | None, ...]
    layer_attn_dim: tuple[float, ...]
    n_expert: int = 0
    n_expert_used: int = 0
    expert_ff: int = 0
    file_type: str | None = None
    n_embd: int = 0
    layer_mm_in: tuple[float, ...] = ()
    layer_mm_out: tuple[float, ...] = ()
    layer_n_head: tuple[float, ...] = ()
    layer_mm_shapes: tuple[tuple[tuple[int, int], ...], ...] = ()

    @property
    def expert_fraction(self) -> float:
        return self.n_expert_used / self.n_expert if self.n_expert else 0.0

    @property
    def total_bytes(self) -> float:
        return sum(self.layer_dense_bytes) + sum(self.layer_expert_bytes) + self.head_bytes + self.embd_bytes

    def layer_bytes_per_token(self, il: int) -> float:
        return self.layer_dense_bytes[il] + self.expert_fraction * self.layer_expert_bytes[il]

    def layer_params_per_token(self, il: int) -> float:
        return self.layer_dense_params[il] + self.expert_fraction * self.layer_expert_params[il]

    @property
    def bytes_per_token(self) -> float:
        """Weights read per decoded token at batch 1 [B] (no KV)."""
        return (
            sum(self.layer_bytes_per_token(i) for i in range(self.n_layer))
            + self.head_bytes
            + self.embd_row_bytes
        )

    @property
    def active_params(self) -> float:
        return sum(self.layer_params_per_token(i) for i in range(self.n_layer)) + self.head_params

    def kv_bytes_per_token(self, kv_bytes_per_elem: float = 2.0) -> float:
        return sum(self.layer_kv_elems) * kv_bytes_per_elem

    def scaled(self, factor: float) -> ModelWork:
        """The same model with every weight byte scaled (to match a published file size)."""
        return ModelWork(
            self.name,
            self.n_layer,
            tuple(b * factor for b in self.layer_dense_bytes),
            tuple(b * factor for b in self.layer_expert_bytes),
            self.layer_dense_params,
            self.layer_expert_params,
            self.head_bytes * factor,
            self.head_params,
            self.embd_row_bytes * factor,
            self.embd_bytes * factor,
            self.layer_kv_elems,
            self.layer_window,
            self.layer_attn_dim,
            self.n_expert,
            self.n_expert_used,
            self.expert_ff,
            self.file_type,
            self.n_embd,
            self.layer_mm_in,
            self.layer_mm_out,
            self.layer_n_head,
            self.layer_mm_shapes,
        )


def _cache_terms(a: Architecture) -> tuple[list[float], list[int | None], list[float]]:
    """Per layer: K+V cache elements per context token, sliding window (None: full attention),
    and n_head × (head_dim_k + head_dim_v) for attention FLOPs (all 0 on recurrent layers)."""
    kv: list[float] = []
    win: list[int | None] = []
    attn: list[float] = []
    kv_on_recurrent = family_for(a.arch).kv_on_recurrent  # falcon-h1: SSM and attention per layer
    for il in range(a.n_layer):
        if a.is_recurrent(il) and not kv_on_recurrent:
            kv.append(0.0)
            win.append(None)
            attn.append(0.0)
            continue
        if a.mla is not None:
            # DSA (deepseek32, glm-dsa): llama.cpp applies the indexer's top-k as a mask over every
            # cell (the n_kv × n_t terms of its compute buffer, estimate/memory.py), so a token is
            # priced as reading the whole latent (an upper bound where a kernel skips masked rows)
            # plus the indexer's keys, which it does read in full (ArchFamily.indexer)
            idx = family_for(a.arch).indexer
            kv.append(float(a.mla.cache_elems_per_token + (idx(a, il)[1] if idx is not None else 0)))
            attn.append(
                float(a.n_head * (a.mla.qk_nope_head_dim + a.mla.qk_rope_head_dim + a.mla.v_head_dim))
            )
        else:
            kv.append(float(a.head_kv(il) * (a.n_embd_head_k + a.n_embd_head_v)))
            attn.append(float(a.n_head * (a.n_embd_head_k + a.n_embd_head_v)))
        win.append(a.sliding_window if a.is_swa(il) else None)
    return kv, win, attn


def model_work(spec: ModelSpec) -> ModelWork:
    """Bytes and FLOPs per token of a model, tensor by tensor (worked out once per immutable
    tensor table, architecture and file type: a recommend ladder estimates each table's speed
    several times)."""
    ident = summarycache.table_ident(spec)
    if ident is None:
        return _model_work(spec)
    # the entry holds the architecture, so its id stays unique while the entry lives
    arch, work = _MODEL_WORK.get(
        ident, (id(spec.arch), spec.file_type), lambda: (spec.arch, _summarised_work(spec))
    )
    return work if arch is spec.arch else _model_work(spec)


def _summarised_work(spec: ModelSpec) -> ModelWork:
    """:func:`_model_work`, kept on disk for a catalog table (rigfit.estimate.summarycache); a
    catalog table not built yet is not built for it when its summary is kept."""
    ref = summarycache.ref_of(spec)
    if ref is not None and ref.arch is spec.arch and ref.file_type == spec.file_type:
        key: str | None = ref.key
    else:
        key = summarycache.table_key(spec.tensors, spec.arch, spec.file_type or "")
    if key is None:
        return _model_work(spec)
    return summarycache.get("work", key, lambda: _model_work(spec), _encode_work, _decode_work)


_WORK_FIELDS = tuple(f.name for f in fields(ModelWork))


def _encode_work(w: ModelWork) -> tuple:
    """A ModelWork as marshal-able values (its fields in order; floats round-trip exactly)."""
    return tuple(getattr(w, name) for name in _WORK_FIELDS)


def _decode_work(raw: tuple) -> ModelWork:
    if len(raw) != len(_WORK_FIELDS):
        raise ValueError("not a ModelWork summary")
    return ModelWork(*raw)


#: :func:`model_work` per tensor table identity (rigfit.estimate.tablecache).
_MODEL_WORK: IdentityCache[tuple[Architecture, ModelWork]] = IdentityCache(4096)


def _model_work(spec: ModelSpec) -> ModelWork:
    """Uncached :func:`model_work`."""
    a: Architecture = spec.arch
    n = a.n_layer
    dense_b = [0.0] * n
    exp_b = [0.0] * n
    dense_p = [0.0] * n
    exp_p = [0.0] * n
    mm_in = [0.0] * n
    mm_out = [0.0] * n
    shapes: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    head_b = head_p = 0.0
    embd_b = 0.0
    embd_row = 0.0
    has_output = any(t.name.startswith("output.") and "norm" not in t.name for t in spec.tensors)
    for t in spec.tensors:
        il = t.layer
        if il is not None and 0 <= il < n:
            expert, elems, matmul = _layer_row(t.name, tuple(t.shape))
            if expert:
                exp_b[il] += t.n_bytes
                exp_p[il] += elems
            else:
                dense_b[il] += t.n_bytes
                # norms and biases are bytes, not matmul FLOPs
                if matmul:
                    dense_p[il] += elems
                    if len(t.shape) == 2:  # GGUF order: ne0 = input width K, ne1 = output rows N
                        mm_in[il] += t.shape[0]
                        mm_out[il] += t.shape[1]
                        shapes[il].append((int(t.shape[0]), int(t.shape[1])))
            continue
        if t.name.startswith("token_embd") and "norm" not in t.name:
            embd_b += t.n_bytes
            rows = t.shape[1] if len(t.shape) > 1 else max(a.n_vocab, 1)
            embd_row += t.n_bytes / max(rows, 1)
            if not has_output and t.name.endswith(".weight"):  # tied: the table is the output
                head_b += t.n_bytes  # read whole for every sampled token …
                head_p += t.n_elements
                embd_b -= t.n_bytes  # … and counted once in the file size
        elif t.name.startswith("output"):
            head_b += t.n_bytes
            if len(t.shape) >= 2 and min(t.shape[:2]) > 1:
                head_p += t.n_elements
        else:  # rope freqs, position tables, vision towers …: counted as read per token
            head_b += t.n_bytes
    kv, win, attn = _cache_terms(a)
    moe = a.moe
    return ModelWork(
        name=a.name or a.id,
        n_layer=n,
        layer_dense_bytes=tuple(dense_b),
        layer_expert_bytes=tuple(exp_b),
        layer_dense_params=tuple(dense_p),
        layer_expert_params=tuple(exp_p),
        head_bytes=head_b,
        head_params=head_p,
        embd_row_bytes=embd_row,
        embd_bytes=embd_b,
        layer_kv_elems=tuple(kv),
        layer_window=tuple(win),
        layer_attn_dim=tuple(attn),
        n_expert=moe.n_expert if moe else 0,
        n_expert_used=moe.n_expert_used if moe else 0,
        expert_ff=moe.expert_ff if moe else 0,
        file_type=spec.file_type,
        n_embd=a.n_embd,
        layer_mm_in=tuple(mm_in),
        layer_mm_out=tuple(mm_out),
        layer_n_head=tuple(float(a.n_head) if x > 0 else 0.0 for x in attn),
        layer_mm_shapes=tuple(tuple(x) for x in shapes),
    )


@lru_cache(maxsize=1 << 16)  # every quant of a model, and models of one family, share the rows
def _layer_row(name: str, shape: tuple[int, ...]) -> tuple[bool, int, bool]:
    """(routed expert, elements, matmul weight: ≥ 2-D with no unit dimension among the first two)
    of a layer's tensor, the same for every type it is stored in."""
    n = 1
    for d in shape:
        n *= d
    return is_expert_tensor(name), n, len(shape) >= 2 and min(shape[:2]) > 1


def mean_min(d0: float, n: float, w: int | None) -> float:
    """Mean of min(c, w) for c uniform over [d0, d0 + n) (n ≥ 0); w None = no cap."""
    if w is None:
        return d0 + max(n - 1, 0) / 2.0
    if n <= 1:
        return float(min(d0, w))
    lo, hi = d0, d0 + n - 1
    if hi <= w:
        return (lo + hi) / 2.0
    if lo >= w:
        return float(w)
    part1 = (w - lo) * (lo + w) / 2.0
    part2 = (hi - w) * w
    return (part1 + part2) / (hi - lo)


def state_words(work: ModelWork) -> str:
    """What a decoded token reads, in words: 'weights and KV cache' for
    attention models, 'weights and recurrent state' for Mamba/RWKV-style models, all three for
    hybrids (recurrent layers cache no K/V: ``layer_kv_elems`` 0 and no attention)."""
    has_kv = any(e > 0 for e in work.layer_kv_elems)
    has_rec = any(e == 0 and a == 0 for e, a in zip(work.layer_kv_elems, work.layer_attn_dim, strict=True))
    if has_kv and has_rec:
        return "weights, KV cache and recurrent state"
    if has_rec:
        return "weights and recurrent state"
    return "weights and KV cache" if has_kv else "weights"
