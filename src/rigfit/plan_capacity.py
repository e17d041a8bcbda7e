"""What each device of a plan can hold and how sure its row is: the capacities of the memory table
(a GPU's memory or its share of unified memory, the host RAM left to llama.cpp's CPU buffers), the
uncertainty band of each row [B], and the compact form of kept rows. Used by :mod:`rigfit.plan` (which
re-exports the public names); kept apart so that the buffers of a placement can be shared between
machines and each machine's capacities set on its own copies.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import fields
from functools import lru_cache
from typing import TypeVar

from rigfit.catalog.arch import ModelSpec
from rigfit.estimate import memory as mem
from rigfit.estimate.placement import accelerators_for_llamacpp, machine_facts
from rigfit.estimate.tablecache import IdentityCache
from rigfit.hardware.devices import Device, Machine
from rigfit.hardware.osreserve import RamReserve, ram_reserve, reserve_text
from rigfit.plantypes import DeviceMemory, Verdict
from rigfit.units import GIB, MIB


def device_capacity(dev: Device, machine: Machine) -> tuple[int | None, str]:
    """(usable memory [B], its source) of an accelerator: its memory, or on Apple / a unified-memory
    APU the GPU's share of RAM; (None, "unknown") when the catalog has no figure."""
    src = dev.sources.get("memory_bytes", "catalog") if dev.sources else "catalog"
    if dev.memory_bytes is None:
        return None, "unknown"
    if dev.kind == "apple" or (machine.unified_memory and dev.kind == "apu"):
        frac = dev.gpu_memory_fraction or 0.75
        fsrc = dev.sources.get("gpu_memory_fraction", "Metal recommendedMaxWorkingSetSize ≈ 0.75 of RAM")
        return int(dev.memory_bytes * frac), f"looked up: {frac:.0%} of unified memory ({fsrc})"
    return dev.memory_bytes, f"looked up: {src}"


#: :func:`gpu_capacities` per machine identity (a capacity's source reads ``Device.sources``, which
#: equality ignores: identity keeps it exact).
_GPU_CAPACITIES: IdentityCache[tuple[tuple[int | None, str], ...]] = IdentityCache(256)


def gpu_capacities(machine: Machine) -> tuple[tuple[int | None, str], ...]:
    """:func:`device_capacity` of each accelerator llama.cpp offloads to, in order, worked out once
    per machine object (a pure function of its frozen fields)."""
    return _GPU_CAPACITIES.get(
        machine, None, lambda: tuple(device_capacity(d, machine) for d in machine_facts(machine).accels)
    )


def usable_fast_memory_bytes(machine: Machine) -> int:
    """Memory llama.cpp can fill without offload [B]: the GPUs' capacities as planned (on a Mac
    Metal's working set, not all of RAM; on an APU its GPU share), or the RAM of a CPU-only box
    less the OS reserve (:mod:`rigfit.hardware.osreserve`)."""
    accels = accelerators_for_llamacpp(machine)
    if accels:
        return sum(device_capacity(d, machine)[0] or 0 for d in accels)
    return max(0, (machine.ram_bytes or 0) - ram_reserve(machine).bytes) if machine.ram_bytes else 0


def apple_system_share_bytes(ram_bytes: int, gpus: list[DeviceMemory]) -> int:
    """RAM an Apple Mac keeps for macOS and apps [B]: the part outside Metal's working set
    (recommendedMaxWorkingSetSize, the GPU capacity of :func:`device_capacity`). llama.cpp's CPU buffers
    (``-ngl`` < all, ``--n-cpu-moe``) come from the same RAM, so on a Mac they only move memory
    out of that budget into the system's share; 0 on other machines (an APU's carve-out leaves
    the rest of RAM to the CPU). Source: Apple, MTLDevice.recommendedMaxWorkingSetSize,
    https://developer.apple.com/documentation/metal/mtldevice/recommendedmaxworkingsetsize; ggml-org's
    own Mac app budgets a model's whole footprint to it (gpt-oss-20b "needs ~12 GB; we budget 11 on a
    16 GB Mac", and moving its experts to the CPU still ran out):
    https://github.com/ggml-org/Llama-macOS/issues/58"""
    metal = sum(d.capacity_bytes or 0 for d in gpus if d.kind == "apple")
    return max(0, ram_bytes - metal) if metal else 0


@lru_cache(maxsize=256)
def _host_ram(machine: Machine) -> tuple[int, str, RamReserve]:
    """(host RAM less what the OS keeps [B], its source, the reserve) of a machine with known RAM."""
    # host RAM less what the OS keeps (hardware/osreserve.py: by kind of machine, or as given)
    reserve = ram_reserve(machine)
    ram = machine.ram_bytes or 0
    where = "detected" if machine.detected else "given/looked up"
    src = f"{where}: {ram / GIB:.2f} GiB host RAM less {reserve_text(reserve)}"
    return max(0, ram - reserve.bytes), src, reserve


def set_host_capacity(h: DeviceMemory, machine: Machine, gpus: list[DeviceMemory]) -> None:
    """Set the host row's capacity: the RAM left for llama.cpp's CPU buffers [B] (``gpus``: the GPU
    rows, their capacities set)."""
    if machine.ram_bytes:
        try:
            h.capacity_bytes, h.capacity_source, reserve = _host_ram(machine)
        except TypeError:  # an unhashable machine (a list in its fields): worked out afresh
            h.capacity_bytes, h.capacity_source, reserve = _host_ram.__wrapped__(machine)
        if machine.unified_memory:
            # the GPU's buffers live in the same RAM; on Apple the RAM outside Metal's working set
            # stays macOS's, so CPU buffers cannot lift a model past that budget. The OS reserve is
            # not counted on top of that share: the larger of the two is kept
            system = apple_system_share_bytes(machine.ram_bytes, gpus)
            kept = max(system, reserve.bytes)
            left = machine.ram_bytes - kept - sum(d.total_bytes for d in gpus)
            h.capacity_bytes = max(0, left)  # never negative: the GPU's share alone may exceed RAM
            if system and system >= reserve.bytes:
                kept_txt = f" and macOS's share ({system / GIB:.2f} GiB outside Metal's working set)"
            elif kept:
                kept_txt = f" and {reserve_text(reserve)}"
            else:
                kept_txt = ""
            h.capacity_source = (
                "unified memory left after the GPU's buffers"
                + kept_txt
                + ("" if left >= 0 else " (none: the GPU's buffers alone exceed the RAM left to them)")
            )
    else:
        h.capacity_bytes = None
        h.capacity_source = "unknown (give RAM, e.g. '+ 64GB DDR5')"


#: Uncertainty of the compute buffer on GPU backends: the graph model is verified on llama.cpp's CPU
#: backend (±1 MiB) and on 2024 CUDA/Metal logs (±2 %); current GPU builds are not measured.
GPU_COMPUTE_REL_UNCERTAINTY = 0.20
#: Spread of the CUDA/Metal context (0.3–0.6 GiB observed, research/memory.md §1.7).
GPU_OVERHEAD_UNCERTAINTY = 150 * MIB


def row_uncertainty(d: DeviceMemory, model: ModelSpec, profile: mem.BuildProfile) -> int:
    """Half-width of the band around a device's total [B] (weights: exact from a GGUF header,
    ±1 % when predicted from a catalog architecture; KV and recurrent state: exact rules)."""
    u = 0 if model.tensors_exact else int(0.01 * d.weights_bytes)
    if d.kind == "cpu":
        u += max(MIB, int(0.01 * d.compute_bytes)) + d.overhead_bytes // 2
    else:
        u += int(GPU_COMPUTE_REL_UNCERTAINTY * d.compute_bytes)
        u += GPU_OVERHEAD_UNCERTAINTY if d.overhead_bytes else 0
    if profile.legacy_compute:
        u += int(0.02 * d.compute_bytes)
    return u


#: DeviceMemory's fields in order, and the place of its verdict (an Enum: kept by its value).
_ROW_FIELDS = tuple(f.name for f in fields(DeviceMemory))
_FIT = _ROW_FIELDS.index("fit")
_VERDICTS = {v.value: v for v in Verdict}

#: Rows kept by the planner's caches: one tuple of plain values (strings, numbers, None) per row.
PackedRows = tuple[tuple[object, ...], ...]


def pack_rows(rows: list[DeviceMemory]) -> PackedRows:
    """``rows`` as tuples of plain values: the cyclic garbage collector stops tracking such tuples,
    so the ~10⁴ row sets the planner keeps cost its full passes nothing (rows kept as objects made
    each pass over a warm process's heap ~15 % longer). TypeError for a row holding anything but
    its fields (the callers then keep nothing)."""
    out = []
    for d in rows:
        vals = d.__dict__
        if tuple(vals) == _ROW_FIELDS:  # the fields in their order (built or unpacked rows)
            t = tuple(vals.values())
            out.append((*t[:_FIT], d.fit._value_, *t[_FIT + 1 :]))  # (``.value``, without its descriptor)
            continue
        if len(vals) != len(_ROW_FIELDS):
            raise TypeError("a device row with attributes beyond its fields")
        try:
            t = tuple(vals[k] for k in _ROW_FIELDS)
        except KeyError:
            raise TypeError("a device row without one of its fields") from None
        out.append((*t[:_FIT], d.fit._value_, *t[_FIT + 1 :]))
    return tuple(out)


def unpack_rows(packed: PackedRows) -> list[DeviceMemory]:
    """Fresh rows (each caller's own) from :func:`pack_rows`' tuples: the same fields."""
    out = []
    n = len(_ROW_FIELDS)
    for t in packed:
        if len(t) != n:
            raise ValueError("a packed row of another length than DeviceMemory's fields")
        d = DeviceMemory(*t)  # the generated __init__: each field in order (no __post_init__)
        d.fit = _VERDICTS[str(t[_FIT])]
        out.append(d)
    return out


X = TypeVar("X")


def kept_rows(
    cache: IdentityCache[tuple[X, PackedRows]],
    obj: object,
    key: Hashable,
    build: Callable[[], tuple[X, list[DeviceMemory]]],
) -> tuple[X, list[DeviceMemory]]:
    """``build()``'s answer kept in ``cache`` per ``obj`` and ``key`` with its rows packed
    (:func:`pack_rows`); each caller gets rows of its own: on a hit unpacked afresh, on a miss the
    rows just built (the kept copy is a tuple of its own, so they share nothing to change).
    TypeError for an unhashable key or a row :func:`pack_rows` refuses (then nothing is kept)."""
    x, rows, _ = kept_rows_packed(cache, obj, key, build)
    return x, rows


def kept_rows_packed(
    cache: IdentityCache[tuple[X, PackedRows]],
    obj: object,
    key: Hashable,
    build: Callable[[], tuple[X, list[DeviceMemory]]],
) -> tuple[X, list[DeviceMemory], PackedRows]:
    """:func:`kept_rows`, and the packed rows kept (which a caller may keep elsewhere as they are)."""
    built: list[tuple[X, list[DeviceMemory]]] = []

    def pack() -> tuple[X, PackedRows]:
        built.append(r := build())
        return r[0], pack_rows(r[1])

    x, packed = cache.get(obj, key, pack)
    return (*built[0], packed) if built else (x, unpack_rows(packed), packed)
