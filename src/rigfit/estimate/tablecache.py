"""Figures derived from one immutable tensor table or architecture, computed once and reused.

A recommend ladder plans every model × quant of the catalog, and each plan places the same tensor
table on the devices many times (the ``-ngl`` and ``--n-cpu-moe`` binary searches, the context
search). What does not depend on the placement (which tensors are experts, which would be
repacked, the per-layer KV bytes at one context) is worked out once per table here.

Entries are keyed by the *identity* of the object they derive from (tensor tables are tuples of
frozen rows and architectures are frozen dataclasses, so they never change), plus a hashable key
for the other inputs. The object itself is kept in the entry, so its ``id`` cannot be reused by
another object while the entry lives. A bounded least-recently-used table with a lock: the web
server plans from several threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from rigfit.catalog.arch import Architecture
from rigfit.estimate import memory as mem

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """``build(obj)`` per (object identity, key), at most ``maxsize`` entries (least recently used
    dropped first)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], tuple[object, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, obj: object, key: Hashable, build: Callable[[], V]) -> V:
        """The value built for ``obj`` and ``key``; ``build()`` runs on a miss (outside the lock)."""
        k = (id(obj), key)
        with self._lock:
            hit = self._entries.get(k)
            if hit is not None and hit[0] is obj:
                self._entries.move_to_end(k)
                return hit[1]
        value = build()
        with self._lock:
            self._entries[k] = (obj, value)
            self._entries.move_to_end(k)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def put(self, obj: object, key: Hashable, value: V) -> None:
        """Keep ``value`` for ``obj`` and ``key`` (what ``get`` would have built)."""
        with self._lock:
            self._entries[(id(obj), key)] = (obj, value)
            self._entries.move_to_end((id(obj), key))
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

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

    return _CONTEXT_BUFFERS.get(arch, (ls, profile), build)


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
    return _STAGE_BYTES.get(
        arch, key, lambda: mem.compute_stage_bytes(arch, ls, layers, holds_output, profile)
    )
