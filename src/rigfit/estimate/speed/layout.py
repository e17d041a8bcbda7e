"""Layouts: which layers run on which device, with which backend.

:func:`make_layout` is llama.cpp's default placement (``-ngl``, ``-sm``, ``-ts``) when there is no
memory placement; :func:`layout_from_placement` reads the layout of one
(:class:`rigfit.estimate.placement.Placement`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from rigfit.archs import is_expert_tensor
from rigfit.estimate.backends import default_backend, normalise_backend
from rigfit.estimate.placement import layer_gpu, split_points
from rigfit.estimate.speed.work import ModelWork
from rigfit.hardware.devices import Device, Machine


@dataclass(frozen=True)
class Segment:
    """A run of layers computed on one device with one backend.

    role: 'gpu' (an accelerator: discrete GPU, Apple GPU, APU GPU) or 'cpu'.
    layers: layer indices; head: the output layer runs here.
    weights_in_ram: the segment's weights live in host RAM (CPU-offloaded layers).
    """

    device: Device
    backend: str
    role: str
    layers: tuple[int, ...]
    head: bool = False
    index: int = 0
    dense: bool = True  # the layers' attention, norms and dense/shared FFN live here
    experts: bool = True  # the layers' routed experts live here (--n-cpu-moe moves them to RAM)


@dataclass(frozen=True)
class Layout:
    segments: tuple[Segment, ...]
    n_gpu_hops: int = 0  # GPU↔GPU boundaries (layer split)
    n_cpu_hops: int = 0  # GPU↔CPU boundaries per token (offload)
    split_mode: str = "layer"
    n_tp: int = 1
    link: str = "pcie"  # GPU-GPU link kind

    # kept in the instance's __dict__ (frozen: the segments never change; a decode pass asks ~3 times)
    @cached_property
    def gpu_segments(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.role == "gpu")

    @cached_property
    def cpu_segments(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.role == "cpu")


#: Stand-in for a machine whose CPU is not known (layers llama.cpp keeps on the host).
UNKNOWN_CPU = Device(id="cpu-unknown", name="unknown CPU", kind="cpu", vendor="unknown")


def _link_kind(machine: Machine) -> str:
    """GPU-GPU link kind of a machine (PCIe unless an interconnect is known)."""
    return machine.interconnect.kind if machine.interconnect else "pcie"


def _cpu_layout(work: ModelWork, machine: Machine) -> Layout:
    """Every layer and the output on the CPU (``-ngl 0`` / CPU backend / no accelerator)."""
    dev = machine.cpu or (machine.accelerators[0] if machine.accelerators else None)
    if dev is None:
        raise ValueError("machine has neither accelerators nor a CPU")
    return Layout((Segment(dev, "CPU", "cpu", tuple(range(work.n_layer)), head=True),))


def _layer_split_segments(
    accs: tuple[Device, ...], be: str, n_layer: int, ngl: int, tensor_split: tuple[float, ...] | None
) -> list[Segment]:
    """One segment per GPU that holds layers (or the output layer), by llama.cpp's layer split
    (:func:`rigfit.estimate.placement.layer_gpu`) over ``tensor_split`` shares (default: in
    proportion to each GPU's memory)."""
    if tensor_split is not None and len(tensor_split) > len(accs):
        raise ValueError(f"tensor split has {len(tensor_split)} shares for {len(accs)} GPUs")
    shares = (
        list(tensor_split) + [0.0] * (len(accs) - len(tensor_split))
        if tensor_split
        else [float(d.memory_bytes or 1) for d in accs]
    )
    splits = split_points(shares)
    gpu_of = [layer_gpu(il, n_layer, ngl, splits) for il in range(n_layer + 1)]
    segs: list[Segment] = []
    for gi, dev in enumerate(accs):
        part = tuple(il for il in range(n_layer) if gpu_of[il] == gi)
        head = gpu_of[n_layer] == gi
        if part or head:
            segs.append(Segment(dev, be, "gpu", part, head=head, index=gi))
    return segs


def make_layout(
    work: ModelWork,
    machine: Machine,
    backend: str | None = None,
    ngl: int | None = None,
    cpu_only: bool = False,
    split_mode: str = "layer",
    tensor_split: tuple[float, ...] | None = None,
) -> Layout:
    """llama.cpp's default layout: the last ``ngl`` layers on the accelerators, split over them
    by llama.cpp's rule in proportion to their memory or ``tensor_split`` (``-sm layer``); the rest
    and the input embedding on the CPU. ``-sm row`` / ``tensor``: every GPU layer on all GPUs.

    ngl None or ≥ n_layer+1: everything (incl. the output layer) on the accelerators.
    """
    n = work.n_layer
    accs = tuple(machine.accelerators)
    be = normalise_backend(backend)
    if cpu_only or be == "CPU" or not accs:
        return _cpu_layout(work, machine)
    be = be or default_backend(accs[0])
    ngl_eff = n + 1 if ngl is None or ngl > n else max(ngl, 0)
    head_on_gpu = ngl_eff > n
    first_gpu = n - min(ngl_eff, n)
    segs: list[Segment] = []
    if first_gpu > 0:
        segs.append(
            Segment(machine.cpu or UNKNOWN_CPU, "CPU", "cpu", tuple(range(first_gpu)), head=not head_on_gpu)
        )
    if first_gpu < n and split_mode in ("tensor", "row") and len(accs) > 1:
        segs.append(Segment(accs[0], be, "gpu", tuple(range(first_gpu, n)), head=head_on_gpu, index=0))
        return Layout(tuple(segs), 0, 1 if first_gpu > 0 else 0, split_mode, len(accs), _link_kind(machine))
    segs += _layer_split_segments(accs, be, n, ngl_eff, tensor_split)
    n_gpu = sum(1 for s in segs if s.role == "gpu")
    n_cpu_hops = 0
    if first_gpu > 0 and n_gpu:
        n_cpu_hops = 1 if head_on_gpu or first_gpu == n else 2
    return Layout(tuple(segs), max(n_gpu - 1, 0), n_cpu_hops, "layer", 1, _link_kind(machine))


def _device_runs(layer_dev: Sequence[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Consecutive layers on the same device: ((device name, layer indices), …)."""
    if isinstance(layer_dev, tuple):  # (a placement's: the same few come back over a ladder)
        return _device_runs_of(layer_dev)
    return _device_runs_of.__wrapped__(tuple(layer_dev))


@lru_cache(maxsize=4096)
def _device_runs_of(layer_dev: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple(
        (name, tuple(il for il, _ in grp))
        for name, grp in itertools.groupby(enumerate(layer_dev), key=lambda p: p[1])
    )


def _with_head(
    segs: list[Segment], head_role: str, head_idx: int, head_dev: Device, be: str
) -> list[Segment]:
    """Mark the last segment on the output layer's device as running the head (or add an empty
    one there)."""
    for i in range(len(segs) - 1, -1, -1):
        s = segs[i]
        if s.role == head_role and (head_role == "cpu" or s.index == head_idx):
            return [*segs[:i], Segment(s.device, s.backend, s.role, s.layers, True, s.index), *segs[i + 1 :]]
    backend = be if head_role == "gpu" else "CPU"
    return [*segs, Segment(head_dev, backend, head_role, (), True, max(head_idx, 0))]


def _moe_cpu_layers(placement: Any, layer_dev: Sequence[str]) -> list[int]:
    """GPU layers whose routed experts a placement keeps in RAM (``--cpu-moe`` / ``--n-cpu-moe``).

    NextN/MTP blocks (index ≥ n_layer, e.g. GLM) are not run for plain decoding: skipped."""
    if hasattr(placement, "expert_cpu_layers") and len(placement.layer_device) == len(layer_dev):
        return list(placement.expert_cpu_layers())  # rigfit.estimate.placement.Placement: by its runs
    tdev = getattr(placement, "tensor_device", None) or {}
    out: set[int] = set()
    for name, dev in tdev.items():
        if dev != "CPU" or not name.startswith("blk.") or not is_expert_tensor(name):
            continue
        il = int(name.split(".")[1])
        if il < len(layer_dev) and layer_dev[il] != "CPU":
            out.add(il)
    return sorted(out)


def _split_moe(segs: list[Segment], moe_cpu: Sequence[int], cpu_dev: Device) -> list[Segment]:
    """Split GPU segments whose routed experts live in RAM: the layers' dense part stays on the
    GPU, their experts run on the CPU (one extra CPU segment)."""
    keep = set(moe_cpu)
    new: list[Segment] = []
    for s in segs:
        if s.role != "gpu" or not keep.intersection(s.layers):
            new.append(s)
            continue
        a = tuple(i for i in s.layers if i in keep)
        b = tuple(i for i in s.layers if i not in keep)
        new.append(Segment(s.device, s.backend, "gpu", a, s.head and not b, s.index, True, False))
        if b:
            new.append(Segment(s.device, s.backend, "gpu", b, s.head, s.index))
    new.append(Segment(cpu_dev, "CPU", "cpu", tuple(moe_cpu), False, 0, False, True))
    return new


def layout_from_placement(
    work: ModelWork, machine: Machine, placement: Any, backend: str | None = None
) -> Layout | None:
    """The layout of a memory placement (``rigfit.estimate.placement.Placement``): each layer on
    the device the placement put it on ("CUDA0", "Metal", … in accelerator order, or "CPU").

    Kept per machine object (frozen; in its ``__dict__``, which pickles and copies leave out:
    rigfit.hashcache) by what the layout reads of the placement and the model: the layers'
    devices, the device names, the output layer's device, the layers whose routed experts stay in
    RAM, the backend and the layer count (a recommend ladder asks for the same few layouts
    ~10³ times). Placements whose layers are not a tuple are worked out each time."""
    layer_dev = getattr(placement, "layer_device", None)
    if not layer_dev or len(layer_dev) != work.n_layer:
        return None
    devices = getattr(placement, "devices", ())
    head = getattr(placement, "output_device", None)
    moe_cpu = tuple(_moe_cpu_layers(placement, layer_dev)) if work.n_expert else ()
    if not (isinstance(layer_dev, tuple) and isinstance(devices, tuple) and isinstance(head, str | None)):
        return _layout_of(work, machine, layer_dev, devices, head, moe_cpu, backend)
    kept: dict[tuple, Layout | None] | None = machine.__dict__.get("_speed_layouts")
    if kept is None or len(kept) > 4096:
        kept = machine.__dict__["_speed_layouts"] = {}
    key = (layer_dev, devices, head, moe_cpu, backend, work.n_layer)
    if key in kept:
        return kept[key]
    out = kept[key] = _layout_of(work, machine, layer_dev, devices, head, moe_cpu, backend)
    return out


def _layout_of(
    work: ModelWork,
    machine: Machine,
    layer_dev: Sequence[str],
    devices: Sequence[str],
    head: str | None,
    moe_cpu: Sequence[int],
    backend: str | None,
) -> Layout | None:
    """:func:`layout_from_placement` of a placement with these layers' devices, device names,
    output device and routed-expert layers in RAM (``moe_cpu``, :func:`_moe_cpu_layers`)."""
    accs = tuple(machine.accelerators)
    gpu_names = [d for d in devices if d != "CPU"]
    if len(gpu_names) > len(accs):
        return None
    cpu_dev = machine.cpu or UNKNOWN_CPU
    if not accs:
        return Layout((Segment(cpu_dev, "CPU", "cpu", tuple(range(work.n_layer)), head=True),))
    be = normalise_backend(backend) or default_backend(accs[0])
    segs = [
        Segment(accs[gpu_names.index(name)], be, "gpu", layers, index=gpu_names.index(name))
        if name in gpu_names
        else Segment(cpu_dev, "CPU", "cpu", layers)
        for name, layers in _device_runs(layer_dev)
    ]
    head_name = head or layer_dev[-1]
    if head_name in gpu_names:
        head_idx = gpu_names.index(head_name)
        segs = _with_head(segs, "gpu", head_idx, accs[head_idx], be)
    else:
        segs = _with_head(segs, "cpu", -1, cpu_dev, be)
    # --cpu-moe / --n-cpu-moe: routed experts of GPU layers kept in RAM and computed by the CPU;
    # every such layer sends its activations to the CPU and back (2 boundaries per token)
    if moe_cpu:
        segs = _split_moe(segs, moe_cpu, cpu_dev)
    n_gpu = len({s.index for s in segs if s.role == "gpu"})
    bounds = sum(1 for a, b in itertools.pairwise(segs) if (a.role == "cpu") != (b.role == "cpu"))
    bounds += 2 * len(moe_cpu)
    return Layout(tuple(segs), max(n_gpu - 1, 0), bounds, "layer", 1, _link_kind(machine))


def placement_ngl(placement: Any, n_layer: int) -> int | None:
    """GPU layer count from a placement object (duck-typed: n_gpu_layers / ngl / gpu_layers)."""
    if placement is None:
        return None
    for attr in ("n_gpu_layers", "ngl", "gpu_layers"):
        v = getattr(placement, attr, None)
        if isinstance(v, int):
            return None if v > n_layer else v
        if isinstance(v, (list, tuple)):
            return len(v)
    return None


def placement_split(placement: Any) -> tuple[float, ...] | None:
    """``--tensor-split`` shares of a placement object (duck-typed ``tensor_split``), or None.

    Only shares: per-device layer counts are not shares under llama.cpp's split rule (17 / 15
    layers come from an even split), and a placement that knows its layers is read whole by
    :func:`layout_from_placement`."""
    v = getattr(placement, "tensor_split", None)
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v):
        return tuple(float(x) for x in v)
    return None
