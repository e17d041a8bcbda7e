"""Placing a table from sums per layer (issue 15): :func:`rigfit.estimate.placement.place` adds what
each run of a table (``placement._Run``: consecutive tensors of one role, layer and routed-expert flag)
puts on its device; a recommend ladder places each table ~10 times, so the runs are summed per layer
once and a placement then costs a few slices per stretch of layers on one device. Byte sums are of
integers and the rest minima and maxima: the figures are the run-by-run pass's exactly."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from rigfit.catalog.arch import ModelSpec
from rigfit.estimate import summarycache
from rigfit.estimate.tablecache import IdentityCache

#: Name of host memory / the CPU backend (``rigfit.estimate.placement.CPU``).
CPU = "CPU"

_NO_LO = 1 << 80  # "no file span" in a minimum of span starts (every file offset is below it)


class _Part(NamedTuple):
    """Runs that land on one device together, summed [B]: bytes, repackable bytes, the largest CPU
    matmul weight (as a CPU-resident layer / kept in RAM as experts), file spans (all, kept)."""

    n_bytes: int = 0
    repack_bytes: int = 0
    largest_matmul: int = 0
    largest: int = 0
    lo: int = _NO_LO
    hi: int = 0
    kept_lo: int = _NO_LO
    kept_hi: int = 0


def _part(runs: Sequence[Any]) -> _Part:
    spans = [r.span for r in runs if r.span is not None]
    kept = [r.kept_span for r in runs if r.kept_span is not None]
    return _Part(
        sum(r.n_bytes for r in runs),
        sum(r.repack_bytes for r in runs),
        max((r.largest_matmul for r in runs), default=0),
        max((r.largest for r in runs), default=0),
        min((s[0] for s in spans), default=_NO_LO),
        max((s[1] for s in spans), default=0),
        min((s[0] for s in kept), default=_NO_LO),
        max((s[1] for s in kept), default=0),
    )


class LayerSums(NamedTuple):
    """A table's runs summed per place they can go: ``fixed`` (always on the CPU: the input layer),
    ``output``, and per repeating layer all its runs (``layers``: the columns of :class:`_Part`, a
    list over the layers each) and its routed experts (``experts``: bytes, largest, span)."""

    fixed: _Part
    output: _Part
    layers: tuple[list[int], ...]
    experts: tuple[list[int], ...]
    experts_at: tuple[int, ...]  # the layers with routed experts


#: :func:`_layer_sums` per runs identity (rigfit.estimate.tablecache) and n_layer.
_LAYER_SUMS: IdentityCache[LayerSums] = IdentityCache(4096)


def runs_key(model: ModelSpec) -> str | None:
    """The summary key of a catalog table (rigfit.estimate.summarycache), else None: the same key,
    the same runs, even where the runs are read back from the disk again (another ladder)."""
    ref = summarycache.ref_of(model)
    if ref is not None:
        return ref.key
    return summarycache.table_key(model.tensors) if isinstance(model.tensors, tuple) else None


#: :func:`_layer_sums` of catalog tables by summary key and n_layer (most recent last).
_SUMS_BY_KEY: dict[tuple[str, int], LayerSums] = {}
_SUMS_BY_KEY_MAX = 4096


def layer_sums(runs: tuple[Any, ...], n_layer: int, key: str | None = None) -> LayerSums:
    """The sums :func:`_add_by_layers` places a table with, once per table (``key``: its summary
    key, kept by that; else by the runs' identity): a placement then costs a few slices per device
    instead of a pass over every run. Sums of bytes are of integers and the rest minima and
    maxima, so the figures are the run-by-run pass's exactly."""
    if key is not None:
        hit = _SUMS_BY_KEY.get((key, n_layer))
        if hit is None:
            hit = _SUMS_BY_KEY[key, n_layer] = layer_sums(runs, n_layer)
            if len(_SUMS_BY_KEY) > _SUMS_BY_KEY_MAX:
                _SUMS_BY_KEY.pop(next(iter(_SUMS_BY_KEY)), None)
        return hit

    def build() -> LayerSums:  # one pass over the runs (a new table's first placements pay it)
        fixed: list[Any] = []
        output: list[Any] = []
        nb, rp, lm, lg, slo, shi, klo, khi = cols = [[0] * n_layer for _ in range(8)]
        e_nb, e_lg, e_slo, e_shi = e_cols = [[0] * n_layer for _ in range(4)]
        for col in (slo, klo, e_slo):
            col[:] = [_NO_LO] * n_layer
        experts_at: list[int] = []
        for run in runs:
            _, role, il, expert, n_bytes, largest, largest_matmul, repack_bytes, _, span, kept = run
            if role != "layer" or il is None:
                (fixed if role in ("input", "layer") else output).append(run)
                continue
            nb[il] += n_bytes
            rp[il] += repack_bytes
            if largest_matmul > lm[il]:
                lm[il] = largest_matmul
            if largest > lg[il]:
                lg[il] = largest
            if span is not None:
                if span[0] < slo[il]:
                    slo[il] = span[0]
                if span[1] > shi[il]:
                    shi[il] = span[1]
            if kept is not None:
                if kept[0] < klo[il]:
                    klo[il] = kept[0]
                if kept[1] > khi[il]:
                    khi[il] = kept[1]
            if expert:
                if not experts_at or experts_at[-1] != il:
                    experts_at.append(il)
                e_nb[il] += n_bytes
                if largest > e_lg[il]:
                    e_lg[il] = largest
                if span is not None:
                    e_slo[il], e_shi[il] = min(e_slo[il], span[0]), max(e_shi[il], span[1])
        return LayerSums(
            _part(fixed), _part(output), tuple(cols), tuple(e_cols), tuple(sorted(set(experts_at)))
        )

    return _LAYER_SUMS.get(runs, n_layer, build)


@lru_cache(maxsize=4096)
@lru_cache(maxsize=4096)  # a pure function; the same few layer maps come back over a ladder
def _segments(layer_device: tuple[str, ...]) -> tuple[tuple[int, int, str], ...]:
    """(first, end, device) of each stretch of consecutive layers on one device."""
    out: list[tuple[int, int, str]] = []
    a = 0
    for i in range(1, len(layer_device) + 1):
        if i == len(layer_device) or layer_device[i] != layer_device[a]:
            out.append((a, i, layer_device[a]))
            a = i
    return tuple(out)


def add_by_layers(
    weights: dict[str, int],
    has_accels: bool,
    repack_on: bool,
    sums: LayerSums,
    layer_device: tuple[str, ...],
    output_device: str,
    cpu_moe: bool,
    n_cpu_moe: int,
) -> tuple[int, int, int | None, int]:
    """What adding every run one by one (``placement._Weights.add_run``) gives, from the sums per
    layer: per stretch of layers on one device, CPU layers whole, and on a GPU the routed experts
    of the layers kept in RAM (all with ``cpu_moe``, else those below ``n_cpu_moe``)."""
    nb, rp, lm, _lg, slo, shi, klo, khi = sums.layers
    e_nb, e_lg, e_slo, e_shi = sums.experts
    cpu_nb = repack = largest = 0
    lo, hi = _NO_LO, 0

    def whole(p: _Part) -> None:  # a part on the CPU, not as experts in RAM
        nonlocal cpu_nb, repack, largest, lo, hi
        cpu_nb += p.n_bytes
        if has_accels and p.largest_matmul > largest:
            largest = p.largest_matmul
        if repack_on:
            repack += p.repack_bytes
            lo, hi = min(lo, p.kept_lo), max(hi, p.kept_hi)
        else:
            lo, hi = min(lo, p.lo), max(hi, p.hi)

    whole(sums.fixed)
    for a, b, dev in _segments(layer_device):
        if dev == CPU:
            whole(_Part(sum(nb[a:b]), sum(rp[a:b]), max(lm[a:b]), 0, min(slo[a:b]), max(shi[a:b]),
                        min(klo[a:b]), max(khi[a:b])))  # fmt: skip
            continue
        e = b if cpu_moe else min(b, max(a, n_cpu_moe))  # layers a..e keep their experts in RAM
        in_ram = sum(e_nb[a:e]) if e > a else 0
        weights[dev] += sum(nb[a:b]) - in_ram
        if e > a:
            cpu_nb += in_ram
            largest = max(largest, max(e_lg[a:e]))
            lo, hi = min(lo, min(e_slo[a:e])), max(hi, max(e_shi[a:e]))
    if output_device == CPU:
        whole(sums.output)
    else:
        weights[output_device] += sums.output.n_bytes
    weights[CPU] += cpu_nb
    return repack, largest, (None if lo == _NO_LO else lo), hi
