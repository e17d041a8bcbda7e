"""Figures derived from one immutable tensor table or architecture, computed once and reused.

A recommend ladder plans every model × quant of the catalog, and each plan places the same tensor
table on the devices many times (the ``-ngl`` and ``--n-cpu-moe`` binary searches, the context
search). What does not depend on the placement (which tensors are experts, which would be
repacked, the per-layer KV bytes at one context) is worked out once per table here.

Entries are keyed by the *identity* of the object they derive from (tensor tables are tuples of
frozen rows and architectures are frozen dataclasses, so they never change), plus a hashable key
for the other inputs. The object itself is kept in the entry, so its ``id`` cannot be reused by
another object while the entry lives. A bounded least-recently-used table with a lock: the web
server plans from several threads. In a ladder, :class:`StageTerms` and :class:`ContextBuffers`
are also kept on disk with the table summaries (:mod:`rigfit.estimate.summarycache`, keyed by the
``repr`` of the architecture, settings and profile), so a fresh ``rigfit recommend`` reads them back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from rigfit.archs import family_for
from rigfit.catalog.arch import Architecture
from rigfit.estimate import memory as mem
from rigfit.estimate import summarycache, typecache

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """``build(obj)`` per (object identity, key), at most ``maxsize`` entries (the least recently
    used dropped first, as a "second chance" clock approximates it).

    A hit takes no lock (issue 15: a ladder asks ~24,000 times, and the lock cost ~7 ms of a
    ``rigfit recommend``): reading one key of the (C) ordered dict is atomic under the GIL, so it
    sees an entry whole or not at all, and an entry is a list [obj, value, used] that is never
    changed but for its ``used`` mark. The hit sets that mark (one store) instead of moving the
    entry to the end; writes (a miss's insert, ``put``, ``clear``) hold the lock, and eviction
    gives an entry marked since it was last looked at one more round at the end. A reader holding
    an entry that a writer drops meanwhile still returns its value (the same value a rebuild would
    give); a reader that misses while an entry is moved builds it again, as two threads missing at
    once always could."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], list] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, obj: object, key: Hashable, build: Callable[[], V]) -> V:
        """The value built for ``obj`` and ``key``; ``build()`` runs on a miss (outside the lock)."""
        k = (id(obj), key)
        hit = self._entries.get(k)  # lock-free: see the class docstring
        if hit is not None and hit[0] is obj:
            hit[2] = True
            return hit[1]
        value = build()
        self._store(k, obj, value)
        return value

    def put(self, obj: object, key: Hashable, value: V) -> None:
        """Keep ``value`` for ``obj`` and ``key`` (what ``get`` would have built)."""
        self._store((id(obj), key), obj, value)

    def _store(self, k: tuple[int, Hashable], obj: object, value: V) -> None:
        with self._lock:
            entries = self._entries
            entries[k] = [obj, value, False]
            entries.move_to_end(k)
            while len(entries) > self.maxsize:
                old_k, old = entries.popitem(last=False)
                if old[2] and old_k != k:  # used since its last round: one more, at the end
                    old[2] = False
                    entries[old_k] = old
                    # (each round clears a mark, so the loop ends within two passes)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class ContextBuffers:
    """The buffers of one architecture at one context that do not depend on the placement [B]:
    KV cache and recurrent state per layer, the reserve graph's tokens, its input and mask buffers."""

    n_reserve_tokens: int
    kv_per_layer: tuple[int, ...]
    rs_per_layer: tuple[int, ...]
    inputs: int
    masks: int


#: :func:`context_buffers` per architecture identity and (settings, build profile).
_CONTEXT_BUFFERS: IdentityCache[ContextBuffers] = IdentityCache(4096)


def context_buffers(arch: Architecture, ls: mem.LlamaSettings, profile: mem.BuildProfile) -> ContextBuffers:
    """:class:`ContextBuffers` of ``arch`` under ``ls`` and ``profile``, worked out once (the -ngl,
    --n-cpu-moe and context searches size the same caches for every placement they try)."""

    def build() -> ContextBuffers:
        return ContextBuffers(
            n_reserve_tokens=mem.n_reserve_tokens(arch, ls, profile),
            kv_per_layer=tuple(sum(mem.kv_layer_bytes(arch, il, ls, profile)) for il in range(arch.n_layer)),
            rs_per_layer=tuple(mem.recurrent_layer_bytes(arch, il, ls) for il in range(arch.n_layer)),
            inputs=mem.input_buffer_bytes(arch, ls, profile),
            masks=mem.mask_bytes(arch, ls, profile),
        )

    def summarised() -> ContextBuffers:  # a ladder: kept on disk with the table summaries
        return summarycache.get(
            "ctxbuf",
            _disk_key(arch, ls, profile),
            build,
            _encode_fields,
            lambda raw: _decode(ContextBuffers, raw),
        )

    return _CONTEXT_BUFFERS.get(arch, (ls, profile), summarised)


#: The sha256 of each architecture's ``repr``, per architecture identity (the disk key's first part).
_ARCH_KEYS: IdentityCache[str] = IdentityCache(4096)


def _disk_key(arch: Architecture, ls: mem.LlamaSettings, profile: mem.BuildProfile) -> str:
    """The summary-cache key of a figure of ``arch`` under ``ls`` and ``profile``: their ``repr`` s
    (frozen dataclasses of plain values), the architecture's hashed once."""
    return f"{arch_key(arch)}:{ls!r}:{profile!r}"


def arch_key(arch: Architecture) -> str:
    """The sha256 of ``repr(arch)`` (every field), worked out once per architecture: the disk key
    of what depends on the architecture alone."""
    return _ARCH_KEYS.get(arch, None, lambda: typecache.key_of(repr(arch), "", ()))


def _encode_fields(value: ContextBuffers | StageTerms) -> tuple:
    """A frozen row of ints, bools, tuples and dicts of them as its field values (marshal-able)."""
    return tuple(value.__dict__.values())


def _decode(cls: type[V], raw: tuple) -> V:
    """:func:`_encode_fields` undone: the row ``cls(*raw)`` (a wrong field count raises)."""
    if not isinstance(raw, tuple):
        raise ValueError("not a summary")
    return cls(*raw)


@dataclass(frozen=True)
class StageTerms:
    """The per-layer terms of :func:`rigfit.estimate.memory.compute_stage_bytes` for one
    architecture, settings and build profile [B], so that the buffer of any layer set is a pass
    over table lookups: each layer's FFN stage (without / with a rotated KV cache), attention
    stage, KQ-mask key (cache kind, cells per stream; None: no attention) and recurrence."""

    n_t: int
    fa: bool
    ffn: tuple[tuple[int, ...], tuple[int, ...]]  # [kv_rot][il]
    attn: tuple[int, ...]
    mask_key: tuple[tuple[bool, int] | None, ...]
    recurrent: tuple[bool, ...]
    input_stage: int
    scan: int
    scan_states: bool
    rot_bytes: dict[bool, int]  # per cache kind (SWA or not): its rotation matrices [B]


def stage_terms(arch: Architecture, ls: mem.LlamaSettings, profile: mem.BuildProfile) -> StageTerms:
    """:class:`StageTerms` of ``arch`` under ``ls`` and ``profile`` (the same calls, layer by layer,
    that :func:`rigfit.estimate.memory.compute_stage_bytes` makes for every layer set)."""
    p = profile
    n_t = mem.n_reserve_tokens(arch, ls, p)
    fa = ls.fa_enabled
    _, _, n_stream = mem.context_sizes(arch, ls, p)
    fam = family_for(arch.arch)
    scan = mem.ssm_scan_extra_bytes(arch, ls, n_t)
    rot_block = mem.attn_rotation_block_bytes(arch, ls, n_t, p)
    ffn: tuple[list[int], list[int]] = ([], [])
    attn: list[int] = []
    keys: list[tuple[bool, int] | None] = []
    rec: list[bool] = []
    for il in range(arch.n_layer):
        attends = mem.layer_attends(arch, il)
        recurrent = arch.is_recurrent(il)
        for kv_rot in (False, True):
            f = n_t * 4 * mem.ffn_stage_per_token(arch, il, fa, kv_rot)
            if recurrent and fam.ssm_scan == "conv_hole":
                f += scan
            if recurrent and attends:
                f += rot_block
            ffn[kv_rot].append(f)
        a = 0
        key = None
        if attends:
            n_kv = mem.kv_cells(arch, il, ls, p) // n_stream
            key = (arch.is_swa(il), n_kv)
            a = n_t * 4 * mem.attention_stage_per_token(arch, il, fa)
            a += mem.dsa_indexer_bytes(arch, il, n_t, n_kv, fa)
            if not fa:
                a += n_t * arch.n_head * n_kv * 4 + mem.mla_v_transpose_bytes(arch, il, ls, n_t, p)
        attn.append(a)
        keys.append(key)
        rec.append(recurrent)
    swa_kinds = {k[0] for k in keys if k is not None}
    rot_bytes = {}
    for swa in swa_kinds:
        rot_k, rot_v = mem.attn_rotation(arch, ls, swa, p)
        rot_bytes[swa] = (rot_k * rot_k + rot_v * rot_v) * 4
    return StageTerms(
        n_t=n_t,
        fa=fa,
        ffn=(tuple(ffn[0]), tuple(ffn[1])),
        attn=tuple(attn),
        mask_key=tuple(keys),
        recurrent=tuple(rec),
        input_stage=n_t * 4 * mem.stage_extra(arch, "input", fa),
        scan=scan,
        scan_states=fam.ssm_scan == "states",
        rot_bytes=rot_bytes,
    )


#: :func:`stage_terms` per architecture identity and (settings, build profile).
_STAGE_TERMS: IdentityCache[StageTerms] = IdentityCache(4096)


def _stage_bytes(
    arch: Architecture, ls: mem.LlamaSettings, layers: list[int], holds_output: bool, p: mem.BuildProfile
) -> int:
    """:func:`rigfit.estimate.memory.compute_stage_bytes` from the layers' :class:`StageTerms`:
    the same sums and maxima in the same order (legacy builds: the function itself)."""
    if p.legacy_compute or (layers and not (min(layers) >= 0 and max(layers) < arch.n_layer)):
        return mem.compute_stage_bytes(arch, ls, layers, holds_output, p)  # (no terms for those)
    t = _STAGE_TERMS.get(
        arch,
        (ls, p),
        lambda: summarycache.get(
            "stageterms",
            _disk_key(arch, ls, p),
            lambda: stage_terms(arch, ls, p),
            _encode_fields,
            lambda raw: _decode(StageTerms, raw),
        ),
    )
    n_t = t.n_t
    best = 0
    if layers:
        keys = t.mask_key
        sizes = {k for k in (keys[il] for il in layers) if k is not None}
        masks = sum(n_kv * n_t * (2 if t.fa else 4) for _, n_kv in sizes)
        stage = t.input_stage if 0 in layers else 0
        rot = 0
        for swa in {k[0] for k in sizes}:  # attn_rotation_bytes: one term per cache kind
            rot += t.rot_bytes[swa]
        ffn, attn = t.ffn[rot > 0], t.attn
        for il in layers:
            stage = max(stage, ffn[il], attn[il])
        best = stage + masks + rot + n_t * mem._INPUTS_PER_TOKEN
        if t.scan_states and any(t.recurrent[il] for il in layers):
            best += t.scan
    if holds_output:
        n_out = n_t if p.logits_reserve == "ubatch" else max(1, ls.n_parallel)
        k = family_for(arch.arch).output_embd_rows
        best = max(best, n_out * arch.n_vocab * 4 + k * n_t * arch.n_embd * 4)
    return best


#: :func:`compute_stage_bytes` per architecture identity and (settings, layers, output, profile).
_STAGE_BYTES: IdentityCache[int] = IdentityCache(16384)


def compute_stage_bytes(
    arch: Architecture,
    ls: mem.LlamaSettings,
    layers: list[int],
    holds_output: bool,
    profile: mem.BuildProfile,
) -> int:
    """:func:`rigfit.estimate.memory.compute_stage_bytes`, worked out once per architecture, settings
    and layer set: the same layer sets come back across the -ngl search and across machines [B]."""
    contiguous = bool(layers) and layers == list(range(layers[0], layers[0] + len(layers)))
    span: tuple[int, ...] = (layers[0], len(layers)) if contiguous else (-1, *layers)  # a short key
    key = (ls, span, holds_output, profile)
    return _STAGE_BYTES.get(arch, key, lambda: _stage_bytes(arch, ls, layers, holds_output, profile))
