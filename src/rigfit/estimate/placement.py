"""Placement: which tensor, layer and cache lives on which device, the way llama.cpp decides it.

llama.cpp (src/llama-model.cpp ``load_tensors``, llama.cpp ~b11549, read as reference) assigns

* the **input layer** (``token_embd``, per-layer token embeddings, position embeddings) to the CPU,
  always;
* the **repeating layers** ``blk.N``: the last ``min(ngl, n_layer)`` layers to the GPUs, split
  between GPUs at the cumulative fractions of ``--tensor-split`` (default: proportional to each
  GPU's free memory) by ``upper_bound(splits, (il − i_gpu_start) / act_gpu_layers)`` with
  ``i_gpu_start = max(n_layer − ngl, 0)`` and ``act_gpu_layers = min(ngl, n_layer + 1)``;
* the **output layer** (``output_norm``, ``output``) with the same rule at ``il = n_layer``, so
  it is on a GPU only when ``ngl > n_layer`` (``-ngl 999`` / ``all``);
* a tied output (no ``output.weight``) as a *duplicate* of ``token_embd``: free on the CPU, a
  second copy on a GPU;
* ``--cpu-moe`` / ``--n-cpu-moe N``: the routed-expert tensors ``ffn_(up|down|gate|gate_up)_(ch)exps``
  of all / the first N layers stay in (mmapped, not repacked) CPU memory;
* ``--no-kv-offload``: KV cache and recurrent state of every layer in RAM (else with their layer).

On x86 with AVX2/AVX-512 (and ARM with NEON) the CPU backend's "extra buffer type" repacks
Q4_0, Q4_K, IQ4_NL and MXFP4 matmul weights (2-D, and the 3-D routed experts) of CPU-resident
layers into an interleaved ``CPU_REPACK`` buffer, *in addition* to the mmapped file pages
(docs/research/memory.md §1.5; measured: 12.66 MiB = exactly the 27 Q4_K tensors of Gemma 3 270M);
the rules and the ``CPU_Mapped`` span live in :mod:`rigfit.estimate.cpu_buffers`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import NamedTuple

from rigfit.archs import family_for, is_expert_tensor
from rigfit.catalog.arch import ModelSpec, TensorInfo, block_index
from rigfit.errors import RigfitError
from rigfit.estimate import summarycache
from rigfit.estimate.backends import default_backend
from rigfit.estimate.cpu_buffers import (
    INPUT_PREFIXES,
    file_offsets,
    is_repackable,
    mapped_span,
    mapped_span_bytes,
    tied_head_repack_bytes,
)
from rigfit.estimate.placement_sums import add_by_layers, layer_sums, runs_key
from rigfit.estimate.tablecache import IdentityCache
from rigfit.hardware.devices import Device, Machine

#: Name used for host memory / the CPU backend in placements and memory tables.
CPU = "CPU"

#: Tensors of the input layer (always on the CPU): llama-model.cpp creates them in ``dev_input``.
_INPUT_PREFIXES = INPUT_PREFIXES

#: Routed-expert tensors moved to RAM by --cpu-moe / --n-cpu-moe (common/arg.cpp
#: ``llm_ffn_exps_block_regex``): :func:`rigfit.archs.is_expert_tensor`, the one definition.


@dataclass(frozen=True)
class Placement:
    """Where every part of a model lives.

    devices: device names in order: the GPUs/accelerators ("CUDA0", "CUDA1", "Metal") then "CPU".
    layer_device: device of each repeating layer ``blk.N`` (length n_layer).
    output_device: device of the output layer.
    kv_device: device of each layer's KV cache / recurrent state (CPU with --no-kv-offload).
    weights_bytes: bytes of weights per device (mmapped file data on the CPU included).
    repack_bytes: extra CPU_REPACK copy on the CPU (0 elsewhere).
    mapped_bytes: the ``CPU_Mapped`` buffer llama.cpp reports: the file span from the first to the
        last non-repacked CPU tensor (:func:`rigfit.estimate.cpu_buffers.mapped_span_bytes`).
    duplicated_bytes: extra copies (tied output embedding on a GPU) per device, included in weights.
    runs, run_devices: the table's runs of tensors (:class:`_Run`) and the device of each (worked
        out when asked, from the layers' devices and ``cpu_moe`` / ``n_cpu_moe``); :attr:`tensor_device`
        (the device of every tensor, by name) likewise (a recommend ladder places tables ~10⁴ times
        and rarely asks).
    n_gpu_layers: effective layers on GPUs (repeating layers + 1 if the output layer is on a GPU).
    ngl: the ``-ngl`` value asked for (clamped to n_layer + 1).
    largest_cpu_matmul_bytes: the biggest CPU-resident 2-D weight a GPU must copy when it computes
        big batches for CPU layers ("op offload"), 0 without GPUs or when nothing stays on the CPU.
    """

    devices: tuple[str, ...]
    layer_device: tuple[str, ...]
    output_device: str
    kv_device: tuple[str, ...]
    weights_bytes: dict[str, int]
    repack_bytes: int
    duplicated_bytes: dict[str, int]
    runs: tuple[_Run, ...] = field(repr=False)
    cpu_moe: bool = False
    n_cpu_moe: int = 0
    expert_layers: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    n_gpu_layers: int = 0
    ngl: int = 0
    largest_cpu_matmul_bytes: int = 0
    mapped_bytes: int = 0
    mapped_end: int = 0  # file offset where the CPU_Mapped span ends [B]

    @cached_property
    def run_devices(self) -> tuple[str, ...]:
        """The device of each run of :attr:`runs` (routed experts kept in RAM on the CPU)."""
        return _run_devices(self.runs, self.layer_device, self.output_device, self.cpu_moe, self.n_cpu_moe)

    @cached_property
    def tensor_device(self) -> dict[str, str]:
        """Device of every tensor, by name (in table order; a name that repeats keeps its last)."""
        out: dict[str, str] = {}
        for run, dev in zip(self.runs, self.run_devices, strict=True):
            out.update(dict.fromkeys(run.names, dev))
        return out

    def layers_on(self, device: str) -> list[int]:
        return list(self.layer_spans.get(device, ()))

    @cached_property
    def layer_spans(self) -> dict[str, tuple[int, ...]]:
        """The layers on each device (ascending), from one pass over :attr:`layer_device` (worked
        out once per placement: its buffers ask each device's layers several times)."""
        return _by_device(self.layer_device)

    def kv_layers_on(self, device: str, n_layer: int) -> tuple[int, ...]:
        """The layers among the first ``n_layer`` whose KV cache / recurrent state is on ``device``."""
        kv = self.kv_device
        if kv is self.layer_device and len(kv) <= n_layer:  # (kv_device[:n_layer] is all of it)
            return self.layer_spans.get(device, ())
        return _layers_on(kv[:n_layer], device)

    def expert_cpu_layers(self) -> list[int]:
        """Layers on a GPU whose routed experts this placement keeps in RAM (--cpu-moe /
        --n-cpu-moe), sorted: from the runs' devices where the table's names are unique (every
        GGUF), else from :attr:`tensor_device`."""
        n = len(self.layer_device)
        if self.expert_layers is not None:  # the layers with routed experts (names unique)
            return [
                il
                for il in self.expert_layers
                if self.layer_device[il] != CPU and (self.cpu_moe or il < self.n_cpu_moe)
            ]
        if self.runs and _unique_names(self.runs):
            found = {
                run.layer
                for run, dev in zip(self.runs, self.run_devices, strict=True)
                if dev == CPU and run.expert and run.layer is not None and run.layer < n
            }
        else:
            found = {
                il
                for name, dev in self.tensor_device.items()
                if dev == CPU and is_expert_tensor(name) and (il := block_index(name)) is not None and il < n
            }
        return sorted(il for il in found if self.layer_device[il] != CPU)

    @cached_property
    def gpu_devices(self) -> tuple[str, ...]:
        return tuple(d for d in self.devices if d != CPU)

    @property
    def layers_per_device(self) -> tuple[int, ...]:
        """Repeating layers on each GPU, in device order (the speed model's split)."""
        return tuple(len(self.layers_on(d)) for d in self.gpu_devices)

    @property
    def full_offload(self) -> bool:
        return bool(self.gpu_devices) and self.output_device != CPU and CPU not in self.layer_device


@lru_cache(maxsize=4096)  # (the same layer maps over a ladder; the dict is shared: never changed)
def _by_device(layer_device: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """The layers ``layer_device`` puts on each device, ascending (as :func:`_layers_on` for each)."""
    out: dict[str, list[int]] = {}
    for il, d in enumerate(layer_device):
        got = out.get(d)
        if got is None:
            out[d] = [il]
        else:
            got.append(il)
    return {d: tuple(v) for d, v in out.items()}


@lru_cache(maxsize=8192)
def _layers_on(layer_device: tuple[str, ...], device: str) -> tuple[int, ...]:
    """The layers ``layer_device`` puts on ``device`` (memoized: planning asks ~10⁴ times)."""
    return tuple(il for il, d in enumerate(layer_device) if d == device)


def accelerator_names(machine: Machine) -> list[str]:
    """llama.cpp backend device names for a machine's accelerators: CUDA0…, ROCm0…, Metal, Vulkan0…"""
    names: list[str] = []
    counters: dict[str, int] = {}
    for dev in machine.accelerators:
        prefix = default_backend(dev)
        if prefix == CPU:
            continue
        i = counters.get(prefix, 0)
        counters[prefix] = i + 1
        names.append(prefix if prefix == "Metal" else f"{prefix}{i}")
    return names


#: The llama.cpp backend that serves a device by default: the one mapping, in
#: :mod:`rigfit.estimate.backends` (plan.py imports it under this name).
backend_prefix = default_backend


def accelerators_for_llamacpp(machine: Machine) -> list[Device]:
    """Accelerators llama.cpp can offload to (hosted systems such as Cerebras/Groq are not)."""
    return [d for d in machine.accelerators if d.kind in ("gpu", "apple", "apu") and d.memory_bytes]


def resolve_ngl(ngl: int | str | None, n_layer: int) -> int:
    """``-ngl`` as llama.cpp applies it: None / "all" / negative → every layer plus the output
    (n_layer + 1); larger values are clamped to n_layer + 1 (llama.cpp accepts them)."""
    if ngl is None or (isinstance(ngl, str) and ngl.lower() in ("all", "auto", "max")):
        return n_layer + 1
    try:
        n = int(ngl)
    except (TypeError, ValueError):
        raise RigfitError(f"--ngl must be a number of layers or 'all', got {ngl!r}.") from None
    if n < 0:
        return n_layer + 1
    return min(n, n_layer + 1)


def split_points(fractions: list[float]) -> list[float]:
    """Cumulative, normalised split points as llama.cpp computes them from --tensor-split."""
    total = float(sum(fractions))
    if total <= 0:
        raise RigfitError("--tensor-split needs at least one positive share.")
    acc, out = 0.0, []
    for f in fractions:
        if f < 0:
            raise RigfitError("--tensor-split shares must not be negative.")
        acc += f
        out.append(acc / total)
    return out


def layer_gpu(il: int, n_layer: int, ngl: int, splits: Sequence[float]) -> int | None:
    """Index of the GPU that holds layer ``il`` (``il == n_layer``: the output layer), or None for
    the CPU — llama.cpp's rule, the one layer split rigfit uses (memory placement and speed layout).

    llama-model.cpp ``load_tensors``: the last ``act = min(ngl, n_layer + 1)`` layers (the output
    layer counts as layer ``n_layer``) go to the GPUs, from ``i_gpu_start = max(n_layer − ngl, 0)``;
    layer ``il`` goes to GPU ``upper_bound(splits, (il − i_gpu_start) / act)``. Because the
    output layer takes a slot of the fraction, an even split of 32 layers + output over two GPUs
    is 17 / 15 + output, not 16 / 16.

    ngl: ``-ngl`` resolved by :func:`resolve_ngl` (≤ n_layer + 1). splits: the cumulative
    fractions of :func:`split_points` (empty: no GPUs).
    """
    i_gpu_start = max(n_layer - ngl, 0)
    act = min(ngl, n_layer + 1)
    if not splits or il < i_gpu_start or (il - i_gpu_start) >= act:
        return None
    return min(bisect.bisect_right(splits, (il - i_gpu_start) / act), len(splits) - 1)


@lru_cache(maxsize=1 << 16)  # tensor names repeat over the quants of a model and its family
def _run_key(name: str, n_layer: int) -> tuple[str, int | None, bool]:
    """(role, layer, routed expert) of a tensor name: what groups tensors into runs."""
    return (*_tensor_layer_role(name, n_layer), is_expert_tensor(name))


def _tensor_layer_role(name: str, n_layer: int) -> tuple[str, int | None]:
    """("input" | "layer" | "output", layer index) of a tensor name."""
    il = block_index(name)
    if il is not None:
        # NextN/MTP blocks past n_layer are loaded with the output layer's device in llama.cpp
        return ("layer", il) if il < n_layer else ("output", None)
    if name.startswith(_INPUT_PREFIXES):
        return "input", None
    if name.startswith("rope_freqs"):
        return "layer", 0  # created per layer as TENSOR_DUPLICATED of layer 0's copy
    return "output", None


def cpu_repacks(machine: Machine | None) -> bool:
    """Whether the CPU backend will use its repacking extra buffer type (AVX2/AVX-512/NEON)."""
    if machine is None or machine.cpu is None:
        return True  # x86-64 with AVX2 is the common case; stated as an assumption in the plan
    flags = {f.upper() for f in machine.cpu.simd}
    if not flags:
        return True
    return bool(flags & {"AVX2", "AVX512", "AVX512F", "NEON", "AMX"})


def place(
    model: ModelSpec,
    machine: Machine | None,
    *,
    ngl: int | str | None = None,
    tensor_split: list[float] | tuple[float, ...] | None = None,
    cpu_moe: bool = False,
    n_cpu_moe: int = 0,
    no_kv_offload: bool = False,
    repack: bool | None = None,
    free_bytes: list[int] | None = None,
) -> Placement:
    """Place a model's tensors, layers and caches on a machine's devices, as llama.cpp does.

    Parameters
    ----------
    model: the tensor table and architecture.
    machine: the box; None or no usable accelerator means CPU only.
    ngl: ``-ngl`` (None/"all" = everything incl. the output layer).
    tensor_split: ``-ts`` shares per GPU; default proportional to free memory (``free_bytes``,
        else each GPU's memory size).
    cpu_moe, n_cpu_moe: keep the routed experts of all / the first N layers in RAM.
    no_kv_offload: keep KV cache and recurrent state in RAM.
    repack: use the CPU_REPACK buffer for CPU-resident Q4_0/Q4_K/IQ4_NL weights (None: by CPU flags).

    Returns
    -------
    Placement
    """
    n_layer = model.arch.n_layer
    facts = machine_facts(machine) if machine is not None else _NO_MACHINE
    accels, names = facts.accels, facts.names
    if n_cpu_moe < 0:
        raise RigfitError(f"--n-cpu-moe must be ≥ 0, got {n_cpu_moe}.")
    n_eff = resolve_ngl(ngl, n_layer) if accels else 0
    if tensor_split is not None and accels and len(tensor_split) > len(accels):
        raise RigfitError(
            f"--tensor-split has {len(tensor_split)} shares but the machine has {len(accels)} GPU(s)."
        )
    splits = facts.splits
    if splits is None or tensor_split is not None or free_bytes is not None:
        splits = tuple(_gpu_splits(list(accels), tensor_split, free_bytes))
    repack_on = facts.repacks if repack is None else repack
    args = (
        n_layer,
        names,
        bool(accels),
        n_eff,
        splits,
        cpu_moe,
        n_cpu_moe,
        no_kv_offload,
        repack_on,
    )
    ident = summarycache.table_ident(model)
    if ident is not None:  # an immutable table: the same answer for the same inputs
        return _PLACEMENTS.get(ident, args, lambda: _place(model, *args))
    return _place(model, *args)


class MachineFacts(NamedTuple):
    """What llama.cpp's placement reads of a machine, worked out once per machine object (a ladder
    places ~10³ tables on each): its offload accelerators, their backend device names, the default
    split points over them (proportional to their memory; None where those raise, then worked
    out per call to raise there), whether the CPU repacks, and the (kind, backend) of each GPU."""

    accels: tuple[Device, ...]
    names: tuple[str, ...]
    splits: tuple[float, ...] | None
    repacks: bool
    backends: tuple[tuple[str, str], ...]


def _facts_of(machine: Machine) -> MachineFacts:
    accels = accelerators_for_llamacpp(machine)
    try:
        splits: tuple[float, ...] | None = tuple(_gpu_splits(accels, None, None))
    except RigfitError:
        splits = None
    return MachineFacts(
        accels=tuple(accels),
        names=tuple(accelerator_names(machine)[: len(accels)]),
        splits=splits,
        repacks=cpu_repacks(machine),
        backends=tuple((d.kind, default_backend(d)) for d in accels),
    )


#: :class:`MachineFacts` per machine identity: pure functions of the frozen machine's fields, so the
#: same object always gives the same facts (keyed by identity, not equality, as nothing else is read).
_MACHINE_FACTS: IdentityCache[MachineFacts] = IdentityCache(256)
_NO_MACHINE = MachineFacts((), (), (), True, ())


def machine_facts(machine: Machine) -> MachineFacts:
    """:class:`MachineFacts` of ``machine``, worked out once per machine object."""
    return _MACHINE_FACTS.get(machine, None, lambda: _facts_of(machine))


#: Recent placements per tensor table identity and inputs (rigfit.estimate.tablecache): the -ngl
#: and --n-cpu-moe searches place the same table with the same inputs again (a fifth of the
#: placements of a recommend ladder), and machines with the same GPU names and split share the
#: placements of every table. A Placement is frozen and nothing changes its dicts, so the callers
#: share it; small (the runs are the table's, shared).
_PLACEMENTS: IdentityCache[Placement] = IdentityCache(4096)


def _place(
    model: ModelSpec,
    n_layer: int,
    names: tuple[str, ...],
    has_accels: bool,
    n_eff: int,
    splits: tuple[float, ...],
    cpu_moe: bool,
    n_cpu_moe: int,
    no_kv_offload: bool,
    repack_on: bool,
) -> Placement:
    """:func:`place` once its inputs are resolved (devices, -ngl, split points, repacking)."""
    on = _layer_devices_cached(n_layer, n_eff, names, splits)
    layer_device, output_device = on[:n_layer], on[n_layer]
    kv_device = (CPU,) * n_layer if no_kv_offload else layer_device
    devices = (*names, CPU)
    runs = _model_runs(model, n_layer)
    by_span = _unique_names(runs)  # the CPU_Mapped span from the runs' own spans (else by name)
    w = _Weights(devices, has_accels, repack_on, by_name=not by_span)
    expert_layers = None
    if by_span:
        sums = layer_sums(runs, n_layer, runs_key(model))
        w.repack_bytes, w.largest_cpu, w.mapped_lo, w.mapped_hi = add_by_layers(
            w.weights, has_accels, repack_on, sums, layer_device, output_device, cpu_moe, n_cpu_moe
        )
        expert_layers = sums.experts_at
    else:
        for run, dev in zip(
            runs, _run_devices(runs, layer_device, output_device, cpu_moe, n_cpu_moe), strict=True
        ):
            w.add_run(
                run, dev, expert_in_ram=dev == CPU and run.role == "layer" and _in_ram(run, layer_device)
            )
    _tied_output(model, w, output_device)
    n_gpu_layers = n_layer - layer_device.count(CPU) + (1 if output_device != CPU else 0)
    return _new_placement(
        devices=devices,
        layer_device=layer_device,
        output_device=output_device,
        kv_device=kv_device,
        weights_bytes=w.weights,
        repack_bytes=w.repack_bytes,
        duplicated_bytes=w.dup,
        runs=runs,
        cpu_moe=cpu_moe,
        n_cpu_moe=n_cpu_moe,
        expert_layers=expert_layers,
        n_gpu_layers=n_gpu_layers,
        ngl=n_eff,
        largest_cpu_matmul_bytes=w.largest_cpu,
        mapped_bytes=w.mapped_bytes() if by_span else mapped_span_bytes(model.tensors, w.cpu_mapped),
        mapped_end=w.mapped_hi if by_span else mapped_span(model.tensors, w.cpu_mapped)[1],
    )


#: Placement's fields in order.
_PLACEMENT_FIELDS = tuple(f.name for f in fields(Placement))


def _new_placement(**values: object) -> Placement:
    """``Placement(**values)`` with every field given, without the frozen ``__init__``'s
    ``object.__setattr__`` per field (a ladder places ~10³ tables per new machine): the same
    fields, in the same order (Placement has no ``__post_init__``)."""
    if len(values) != len(_PLACEMENT_FIELDS):
        raise TypeError("every Placement field must be given")
    pl = object.__new__(Placement)
    pl.__dict__.update([(k, values[k]) for k in _PLACEMENT_FIELDS])
    return pl


def _in_ram(run: _Run, layer_device: tuple[str, ...]) -> bool:
    """Whether a layer run that :func:`_run_devices` put on the CPU is a routed expert kept in RAM
    (its layer on a GPU)."""
    return run.expert and run.layer is not None and layer_device[run.layer] != CPU


def _run_devices(
    runs: tuple[_Run, ...], layer_device: tuple[str, ...], output_device: str, cpu_moe: bool, n_cpu_moe: int
) -> tuple[str, ...]:
    """The device of each run: input on the CPU, a layer's runs with their layer (its routed experts
    in RAM with --cpu-moe / the first ``n_cpu_moe`` layers), the output layer on ``output_device``."""
    out: list[str] = []
    for run in runs:
        role = run.role
        if role == "input":
            dev = CPU
        elif role == "layer":
            il = run.layer
            dev = layer_device[il] if il is not None else CPU
            if dev != CPU and run.expert and (cpu_moe or (il is not None and il < n_cpu_moe)):
                dev = CPU
        else:
            dev = output_device
        out.append(dev)
    return tuple(out)


def _gpu_splits(
    accels: list[Device], tensor_split: list[float] | tuple[float, ...] | None, free_bytes: list[int] | None
) -> list[float]:
    """Cumulative split points over the GPUs (``-ts`` shares, else free memory [B])."""
    if not accels:
        return []
    if tensor_split is not None:
        shares = list(tensor_split) + [0.0] * (len(accels) - len(tensor_split))
    else:
        shares = [float(b) for b in (free_bytes or [d.memory_bytes or 0 for d in accels])]
    return split_points(shares)


@lru_cache(maxsize=4096)  # the same few layer counts, -ngl values and splits over a ladder
def _layer_devices_cached(
    n_layer: int, n_eff: int, names: tuple[str, ...], splits: tuple[float, ...]
) -> tuple[str, ...]:
    """:func:`_layer_devices`, memoized (a pure function of hashable inputs)."""
    return _layer_devices(n_layer, n_eff, list(names), list(splits))


def _layer_devices(n_layer: int, n_eff: int, names: list[str], splits: list[float]) -> tuple[str, ...]:
    """Device of each repeating layer and, last, of the output layer (index n_layer)."""

    def dev_of(il: int) -> str:
        k = layer_gpu(il, n_layer, n_eff, splits) if names else None
        return CPU if k is None else names[min(k, len(names) - 1)]

    return tuple(dev_of(il) for il in range(n_layer + 1))


class _Weights:
    """Weights per device [B] as tensors are assigned, with the CPU-side extras llama.cpp keeps:
    the CPU_REPACK copy and the largest CPU matmul weight (copied to the main GPU for op offload)."""

    def __init__(
        self, devices: tuple[str, ...], has_accels: bool, repack_on: bool, *, by_name: bool = True
    ) -> None:
        self.weights = dict.fromkeys(devices, 0)
        self.dup = dict.fromkeys(devices, 0)
        self.run_devices: list[str] = []  # the device of each run added, in order
        self.repack_bytes = 0
        self.largest_cpu = 0
        self.has_accels = has_accels
        self.repack_on = repack_on
        self.cpu_mapped: set[str] = set()  # the CPU_Mapped tensors by name (``by_name`` only)
        self.by_name = by_name
        self.mapped_lo: int | None = None  # their file span [B]: first start, last end
        self.mapped_hi = 0

    def _map(self, span: tuple[int, int] | None) -> None:
        if span is not None:
            self.mapped_lo = span[0] if self.mapped_lo is None else min(self.mapped_lo, span[0])
            self.mapped_hi = max(self.mapped_hi, span[1])

    def mapped_bytes(self) -> int:
        """The ``CPU_Mapped`` buffer [B]: :func:`rigfit.estimate.cpu_buffers.mapped_span_bytes`
        of the CPU's non-repacked tensors, from the runs' spans (names unique in the table)."""
        return 0 if self.mapped_lo is None else self.mapped_hi - self.mapped_lo

    def add_run(self, run: _Run, dev: str, *, expert_in_ram: bool = False) -> None:
        """Put the tensors of ``run`` on ``dev``; ``expert_in_ram``: --cpu-moe experts (plain CPU
        buffer, no repack). On the CPU, the largest matmul weight is kept for op offload (experts
        kept in RAM count) and repackable weights add a CPU_REPACK copy."""
        self.run_devices.append(dev)
        self.weights[dev] += run.n_bytes
        if dev != CPU:
            return
        if self.has_accels:
            self.largest_cpu = max(self.largest_cpu, run.largest if expert_in_ram else run.largest_matmul)
        if not expert_in_ram and self.repack_on:
            self.repack_bytes += run.repack_bytes
            self._map(run.kept_span)
            if self.by_name:
                self.cpu_mapped.update(n for n in run.names if n not in run.repacked)
        else:
            self._map(run.span)
            if self.by_name:
                self.cpu_mapped.update(run.names)


class _Run(NamedTuple):
    """Consecutive tensors of a table that :func:`place` treats alike: same role ("input" | "layer" |
    "output"), layer and routed-expert flag, with the sums and maxima :class:`_Weights` needs [B].

    A named tuple, not a frozen dataclass: a ladder reads ~60,000 back from the disk cache per
    process, and a tuple is made in one step and takes ~40 % of the memory (issue 15)."""

    names: tuple[str, ...]
    role: str
    layer: int | None
    expert: bool
    n_bytes: int
    largest: int  # the largest tensor (every one is a CPU matmul weight when experts sit in RAM)
    largest_matmul: int  # the largest CPU matmul weight: an expert, or a ≥ 2-D tensor past the input
    repack_bytes: int  # the repackable tensors (CPU_REPACK copy when on the CPU)
    repacked: frozenset[str]  # their names (the others stay in the CPU_Mapped span)
    span: tuple[int, int] | None = None  # file span of the run's tensors: first start, last end [B]
    kept_span: tuple[int, int] | None = None  # the same of its tensors not repacked (None: none)


#: The runs of each tensor table (rigfit.estimate.tablecache), per table identity and n_layer.
_RUNS: IdentityCache[tuple[_Run, ...]] = IdentityCache(4096)


def _placement_runs(tensors: Sequence[TensorInfo], n_layer: int) -> tuple[_Run, ...]:
    """The table as :class:`_Run` s, in table order; worked out once per immutable table (a
    recommend ladder places each table ~10 times, and a layer's tensors move together)."""

    def build() -> tuple[_Run, ...]:
        groups: list[tuple[tuple[str, int | None, bool], list[tuple[TensorInfo, tuple[int, int]]]]] = []
        for t, where in zip(tensors, file_offsets(tensors), strict=True):
            key = _run_key(t.name, n_layer)
            if groups and groups[-1][0] == key:
                groups[-1][1].append((t, where))
            else:
                groups.append((key, [(t, where)]))
        return tuple(_run(role, il, expert, ts) for (role, il, expert), ts in groups)

    if not isinstance(tensors, tuple):
        return build()

    def summarised() -> tuple[_Run, ...]:  # a catalog table: its runs may be kept on disk
        key = summarycache.table_key(tensors)
        if key is None:
            return build()
        runs, unique = summarycache.get(
            "runs",
            f"{key}:{n_layer}",
            lambda: _with_unique(build()),
            _encode_runs,
            lambda raw: _decode_runs(raw, tuple(map(_NAME, tensors))),
        )
        _UNIQUE.put(runs, None, unique)
        return runs

    return _RUNS.get(tensors, n_layer, summarised)


def _model_runs(model: ModelSpec, n_layer: int) -> tuple[_Run, ...]:
    """:func:`_placement_runs` of a model's table; for a catalog table not built yet
    (rigfit.estimate.summarycache.TableRef) read back from its summary without building it."""
    ref = summarycache.ref_of(model)
    if ref is None:
        return _placement_runs(model.tensors, n_layer)

    def summarised() -> tuple[_Run, ...]:
        runs, unique = summarycache.get(
            "runs",
            f"{ref.key}:{n_layer}",
            lambda: _with_unique(_placement_runs(ref.table(), n_layer)),
            _encode_runs,
            lambda raw: _decode_runs(raw, ref.names()),
        )
        _UNIQUE.put(runs, None, unique)
        return runs

    return _RUNS.get(ref, n_layer, summarised)


def has_expert_tensors(model: ModelSpec) -> bool:
    """Whether the model's table has routed-expert tensors (from a catalog table's summary
    without building it)."""
    ref = summarycache.ref_of(model)
    if ref is None:
        return any(is_expert_tensor(t.name) for t in model.tensors)

    def build() -> bool:
        return summarycache.get(
            "experts",
            ref.key,
            lambda: any(is_expert_tensor(t.name) for t in ref.table()),
            bool,
            lambda raw: raw if isinstance(raw, bool) else _not_a_summary(),
        )

    return _EXPERTS.get(ref, None, build)


#: :func:`has_expert_tensors` per catalog table reference.
_EXPERTS: IdentityCache[bool] = IdentityCache(4096)


def _not_a_summary() -> bool:
    raise ValueError("not a summary")


def _with_unique(runs: tuple[_Run, ...]) -> tuple[tuple[_Run, ...], bool]:
    return runs, _unique_names(runs)


def _encode_runs(value: tuple[tuple[_Run, ...], bool]) -> tuple:
    """Runs (and whether the table's names are unique) as marshal-able values: per run its tensor
    count, the figures, and the positions (in the run) of its repacked tensors (names come back
    from the table itself)."""
    runs, unique = value
    out: list[object] = [bool(unique)]
    for r in runs:
        rel = tuple(i for i, n in enumerate(r.names) if n in r.repacked)
        out.append(
            (len(r.names), r.role, r.layer, r.expert, r.n_bytes, r.largest, r.largest_matmul,
             r.repack_bytes, rel, r.span, r.kept_span)
        )  # fmt: skip
    return tuple(out)


_NAME = attrgetter("name")
_NONE: frozenset[str] = frozenset()


def _decode_runs(raw: tuple, all_names: tuple[str, ...]) -> tuple[tuple[_Run, ...], bool]:
    """:func:`_encode_runs` undone over the names of the same table (their count must match)."""
    out = []
    pos = 0
    unique = raw[0]
    if not isinstance(unique, bool):
        raise ValueError("not a runs summary")
    new = tuple.__new__  # the row _Run(...) makes, without its keyword-argument __new__
    for count, role, layer, expert, n_bytes, largest, largest_matmul, repack_bytes, rel, span, kept in raw[
        1:
    ]:
        names = all_names[pos : pos + count]
        pos += count
        run = new(
            _Run,
            (
                names,
                role,
                layer,
                expert,
                n_bytes,
                largest,
                largest_matmul,
                repack_bytes,
                frozenset(names[i] for i in rel) if rel else _NONE,
                None if span is None else tuple(span),
                None if kept is None else tuple(kept),
            ),
        )
        out.append(run)
    if pos != len(all_names):
        raise ValueError("runs do not cover the table")
    return tuple(out), unique


def _run(role: str, il: int | None, expert: bool, rows: list[tuple[TensorInfo, tuple[int, int]]]) -> _Run:
    """The run of ``rows`` ((tensor, (start, end) in the file) in table order)."""
    names: list[str] = []
    n_bytes = largest = largest_matmul = repack_bytes = 0
    repacked: list[str] = []
    lo = kept_lo = None  # file spans (first start, last end) of all tensors and the kept ones [B]
    hi = kept_hi = 0
    for t, (start, end) in rows:
        b = t.n_bytes
        names.append(t.name)
        n_bytes += b
        if b > largest:
            largest = b
        if b > largest_matmul and (expert or (len(t.shape) >= 2 and role != "input")):  # CPU matmul
            largest_matmul = b
        lo = start if lo is None or start < lo else lo
        hi = end if end > hi else hi
        if is_repackable(t):
            repack_bytes += b
            repacked.append(t.name)
        else:
            kept_lo = start if kept_lo is None or start < kept_lo else kept_lo
            kept_hi = end if end > kept_hi else kept_hi
    return _Run(
        names=tuple(names),
        role=role,
        layer=il,
        expert=expert,
        n_bytes=n_bytes,
        largest=largest,
        largest_matmul=largest_matmul,
        repack_bytes=repack_bytes,
        repacked=frozenset(repacked),
        span=None if lo is None else (lo, hi),
        kept_span=None if kept_lo is None else (kept_lo, kept_hi),
    )


#: Whether each table's tensor names are unique (they are in every GGUF), per runs identity.
_UNIQUE: IdentityCache[bool] = IdentityCache(4096)


def _unique_names(runs: tuple[_Run, ...]) -> bool:
    """Whether no tensor name repeats in the table of ``runs`` (then a name stands for one tensor
    and the CPU_Mapped span follows from the runs' spans)."""

    def build() -> bool:
        names = [n for run in runs for n in run.names]
        return len(set(names)) == len(names)

    return _UNIQUE.get(runs, None, build)


def experts_in_ram_layers(model: ModelSpec, pl: Placement) -> int:
    """Layers on a GPU whose routed experts stay in RAM (--cpu-moe / --n-cpu-moe): counted over the
    table's runs, so a dense model costs one pass over a few dozen runs. Where the placed table's
    names are unique (every GGUF) a run's device stands for its tensors'; ``model`` may be the
    table placed or that table plus an MTP block (not a layer: never counted)."""
    if pl.expert_layers is not None:
        return len(pl.expert_cpu_layers())
    if pl.runs and _unique_names(pl.runs):
        n = len(pl.layer_device)
        return len(
            {
                run.layer
                for run, dev in zip(pl.runs, pl.run_devices, strict=True)
                if dev == CPU and run.expert and run.layer is not None and run.layer < n
                if pl.layer_device[run.layer] != CPU
            }
        )
    layers = {
        run.layer
        for run in _placement_runs(model.tensors, model.arch.n_layer)
        if run.expert
        and run.layer is not None
        and run.layer < len(pl.layer_device)
        and pl.layer_device[run.layer] != CPU
        and any(pl.tensor_device.get(name) == CPU for name in run.names)
    }
    return len(layers)


def _tied_output(model: ModelSpec, w: _Weights, output_device: str) -> None:
    """A tied output (no ``output.weight``): a duplicate of token_embd on the output device when that
    is a GPU; on the CPU it is the embedding itself, used as a matmul weight (op offload), or, with
    repacking, a repacked copy of it (``TENSOR_DUPLICATED`` in the CPU_REPACK buffer)."""
    tied = _model_tied(model)
    if tied is None:
        return
    embd_bytes, repack_dup = tied
    if output_device != CPU:
        w.weights[output_device] += embd_bytes
        w.dup[output_device] += embd_bytes
    else:
        if w.has_accels:
            w.largest_cpu = max(w.largest_cpu, embd_bytes)
        dup = repack_dup if w.repack_on else 0
        w.repack_bytes += dup
        w.weights[CPU] += dup
        w.dup[CPU] += dup


#: :func:`_tied_head` per immutable tensor table (rigfit.estimate.tablecache).
_TIED: IdentityCache[tuple[int, int] | None] = IdentityCache(4096)


def _tied_head(tensors: Sequence[TensorInfo]) -> tuple[int, int] | None:
    """(token_embd bytes, its repacked copy's bytes on the CPU) of a tied output head (a table with
    token_embd and no ``output.weight``), else None; worked out once per immutable table [B]."""

    def build() -> tuple[int, int] | None:
        if any(t.name == "output.weight" for t in tensors):
            return None
        token_embd = next((t for t in tensors if t.name == "token_embd.weight"), None)
        if token_embd is None:
            return None
        return token_embd.n_bytes, tied_head_repack_bytes(tensors)

    if not isinstance(tensors, tuple):
        return build()

    def summarised() -> tuple[int, int] | None:  # a catalog table: kept on disk
        key = summarycache.table_key(tensors)
        if key is None:
            return build()
        return summarycache.get(
            "tied",
            key,
            build,
            lambda v: False if v is None else v,  # (None stands for "not kept")
            lambda raw: None if raw is False else (int(raw[0]), int(raw[1])),
        )

    return _TIED.get(tensors, None, summarised)


def _model_tied(model: ModelSpec) -> tuple[int, int] | None:
    """:func:`_tied_head` of a model's table (a catalog table's from its summary, unbuilt)."""
    ref = summarycache.ref_of(model)
    if ref is None:
        return _tied_head(model.tensors)

    def summarised() -> tuple[int, int] | None:
        return summarycache.get(
            "tied",
            ref.key,
            lambda: _tied_head(ref.table()),
            lambda v: False if v is None else v,  # (None stands for "not kept")
            lambda raw: None if raw is False else (int(raw[0]), int(raw[1])),
        )

    return _TIED.get(ref, None, summarised)


def skipped_mtp_span(full: ModelSpec, trunk: ModelSpec, pl: Placement) -> Placement:
    """Widen the CPU_Mapped span of ``pl`` (placed for ``trunk``, the model without its MTP block)
    over the MTP-block tensors llama.cpp creates without loading them
    (``ArchFamily.mtp_span_tensor``: deepseek32, glm-dsa), when the CPU maps the trunk's end."""
    if full is trunk:  # no MTP block (whatever the family: nothing to widen)
        return pl
    span_tensor = family_for(full.arch.arch).mtp_span_tensor
    if span_tensor is None or not pl.mapped_bytes or pl.layer_device[-1] != CPU:
        return pl
    n_layer = full.arch.n_layer
    names = {
        t.name for t in full.tensors if t.layer is not None and t.layer >= n_layer and span_tensor(t.name)
    }
    end = mapped_span(full.tensors, names)[1]
    if end <= pl.mapped_end:
        return pl
    return replace(pl, mapped_bytes=pl.mapped_bytes + end - pl.mapped_end, mapped_end=end)
