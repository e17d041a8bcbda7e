"""The fingerprint of the machine a measurement was taken on: CPU, GPUs, RAM, OS.

Every stored result keeps one, so results from different machines never mix and
``rigfit calibrate`` fits each machine separately. :attr:`Fingerprint.id` hashes only the parts
that change the speed of llama.cpp (CPU model and core count, GPU models and memory, RAM size
rounded to whole GiB, OS family and CPU architecture) — a kernel update or a driver bump keeps the
same machine.

Detection reuses the hardware catalog's local probe (:mod:`rigfit.hardware.local`); nothing
here touches the network.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass, field

from rigfit.hardware.local import gather_local_facts

#: CPU features that matter to llama.cpp's CPU kernels (see ggml-cpu feature detection).
_SIMD_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "neon",
    "asimd",
    "sve",
    "dotprod",
    "i8mm",
)


@dataclass(frozen=True)
class GpuInfo:
    """One accelerator as the driver reports it. memory_bytes [B]."""

    name: str
    memory_bytes: int | None = None
    vendor: str = ""
    driver: str = ""


@dataclass(frozen=True)
class Fingerprint:
    """What a result was measured on.

    cpu: the CPU model string; cpu_cores / cpu_threads: physical and logical cores.
    cpu_flags: llama.cpp-relevant SIMD features (lower case).
    gpus: accelerators, in driver order. ram_bytes: installed host RAM [B].
    os: OS family ("Linux", "Darwin", "Windows"); os_release: kernel / OS version;
    arch: CPU architecture ("x86_64", "arm64").
    """

    cpu: str
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    cpu_flags: tuple[str, ...] = ()
    gpus: tuple[GpuInfo, ...] = ()
    ram_bytes: int | None = None
    os: str = ""
    os_release: str = ""
    arch: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        """Stable 16-hex-digit id of the speed-relevant parts (see the module docstring)."""
        key = {
            "cpu": self.cpu.strip(),
            "cores": self.cpu_cores,
            "threads": self.cpu_threads,
            "gpus": [[g.name, round((g.memory_bytes or 0) / 2**30)] for g in self.gpus],
            "ram_gib": round((self.ram_bytes or 0) / 2**30),
            "os": self.os,
            "arch": self.arch,
        }
        blob = json.dumps(key, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def label(self) -> str:
        """A one-line human description: 'Intel Xeon (2 threads), 23.5 GiB RAM, Linux x86_64'."""
        parts = []
        cpu = self.cpu or "unknown CPU"
        if self.cpu_threads:
            cpu += f" ({self.cpu_threads} threads)"
        parts.append(cpu)
        parts.extend(g.name for g in self.gpus)
        if self.ram_bytes:
            parts.append(f"{self.ram_bytes / 2**30:.1f} GiB RAM")
        parts.append(f"{self.os} {self.arch}".strip())
        return ", ".join(p for p in parts if p)

    @property
    def hardware_name(self) -> str:
        """The hardware as the ground-truth CSV names it: the first GPU, else the CPU."""
        if self.gpus:
            names = [g.name for g in self.gpus]
            if len(set(names)) == 1 and len(names) > 1:
                return f"{names[0]} x{len(names)}"
            return " + ".join(names)
        return self.cpu or "unknown CPU"

    @property
    def hardware_kind(self) -> str:
        """Ground-truth ``hardware_kind``: nvidia | amd | apple | intel | cpu | other."""
        if self.gpus:
            vendor = (self.gpus[0].vendor or self.gpus[0].name).lower()
            for kind in ("nvidia", "amd", "apple", "intel"):
                if kind in vendor:
                    return kind
            return "other"
        if self.os == "Darwin" and self.arch == "arm64":
            return "apple"
        return "cpu"

    def to_json(self) -> dict:
        out = asdict(self)
        out["id"] = self.id
        return out

    @classmethod
    def from_json(cls, data: dict) -> Fingerprint:
        gpus = tuple(GpuInfo(**g) for g in data.get("gpus") or ())
        return cls(
            cpu=data.get("cpu") or "",
            cpu_cores=data.get("cpu_cores"),
            cpu_threads=data.get("cpu_threads"),
            cpu_flags=tuple(data.get("cpu_flags") or ()),
            gpus=gpus,
            ram_bytes=data.get("ram_bytes"),
            os=data.get("os") or "",
            os_release=data.get("os_release") or "",
            arch=data.get("arch") or "",
            extra=dict(data.get("extra") or {}),
        )


# --------------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def detect_fingerprint() -> Fingerprint:
    """Fingerprint of the machine this process runs on (cached for the process).

    The facts come from the hardware catalog's local detection
    (:func:`rigfit.hardware.local.gather_local_facts`: NVML, /proc/cpuinfo or sysctl, psutil).
    """
    facts = gather_local_facts()
    cpu = facts.cpu_brand or platform.processor() or "unknown CPU"
    gpus = tuple(GpuInfo(name=g.name, memory_bytes=g.memory_total_bytes, vendor="NVIDIA") for g in facts.gpus)
    if not gpus and facts.apple_chip:
        name = facts.apple_chip + (f" {facts.apple_gpu_cores}-core GPU" if facts.apple_gpu_cores else "")
        gpus = (GpuInfo(name=name, memory_bytes=facts.ram_bytes, vendor="Apple"),)
    return Fingerprint(
        cpu=cpu,
        cpu_cores=facts.physical_cores,
        cpu_threads=facts.logical_cores or os.cpu_count(),
        cpu_flags=tuple(sorted(set(facts.cpu_flags) & set(_SIMD_FLAGS))),
        gpus=gpus,
        ram_bytes=facts.ram_bytes,
        os=platform.system(),
        os_release=platform.release(),
        arch=platform.machine(),
    )


__all__ = ["Fingerprint", "GpuInfo", "detect_fingerprint"]
