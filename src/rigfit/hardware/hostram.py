"""What a plan assumes about host RAM bandwidth, in one sentence with its basis.

When layers or experts run from system RAM (offload, CPU-only), decode speed is set by the host's
memory bandwidth. :func:`host_bandwidth_note` says which figure the speed estimate used and where it
comes from: given RAM type and speed (channels × 8 B × MT/s), the CPU's rated memory, soldered
memory of an SoC, detection, or, when none is known, the speed model's default host bandwidth,
labelled as an estimate (``dram_bandwidth_default`` of ``catalog/data/speed_constants.json``).
"""

from __future__ import annotations

from rigfit.hardware.devices import Machine


def host_bandwidth_note(machine: Machine, default_bytes_per_s: float | None) -> str:
    """One line: the host RAM bandwidth [GB/s] a plan's CPU part uses, and its basis.

    default_bytes_per_s: the speed model's default host bandwidth [B/s], used when nothing is known.
    """
    bw = machine.ram_bandwidth_bytes_per_s
    if bw:
        basis = machine.sources.get("ram_bandwidth_bytes_per_s") or "machine description"
        return f"Host RAM bandwidth {bw / 1e9:.1f} GB/s for the CPU part ({basis})."
    cpu_bw = machine.cpu.bandwidth_bytes_per_s if machine.cpu is not None else None
    if cpu_bw:
        src = machine.cpu.sources.get("bandwidth_bytes_per_s", "") if machine.cpu is not None else ""
        return f"Host RAM bandwidth {cpu_bw / 1e9:.1f} GB/s for the CPU part ({src})."
    if default_bytes_per_s:
        return (
            f"Host RAM bandwidth unknown: estimated {default_bytes_per_s / 1e9:.0f} GB/s (rigfit's default "
            "host bandwidth, about dual-channel DDR4-3200); give the RAM, e.g. '+ 64GB DDR5-6000', to set it."
        )
    return "Host RAM bandwidth unknown; give the RAM, e.g. '+ 64GB DDR5-6000', to set it."
