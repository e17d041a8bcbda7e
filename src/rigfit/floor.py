"""What hardware do I need? The cheapest catalog machines that run a model at a speed.

For a model, quant and context, every purchasable catalog machine with a known price is planned
and its speed estimated: single GPUs (in a default desktop host), boxes of 2, 4 and 8 identical
GPUs, Apple Silicon Macs, APUs with shared memory (Strix Halo, DGX Spark) and CPU-only boxes. A
machine qualifies when the model fits (fully, or with partial offload when the speed still meets
the target) and the estimated decode speed at that context — its central value — reaches
``min_tps``. Results are sorted by price; hosted-only systems (Cerebras, Groq) are listed apart
because you cannot buy them.

Prices are looked-up street prices of the accelerators (GPU, or the whole Mac / mini-PC / CPU),
each with its source; a GPU's price does not include the host PC, which the table says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rigfit.catalog.arch import Architecture
from rigfit.catalog.devices import Machine
from rigfit.errors import RigfitError
from rigfit.recommend import Evaluation, evaluate

MULTI_GPU_COUNTS = (2, 4, 8)


@dataclass
class MachinePrice:
    """usd: price [USD] or None; source: full line; basis: the looked-up device price's source."""

    usd: float | None
    source: str
    includes_host: bool
    basis: str = ""


def machine_price(machine: Machine) -> MachinePrice:
    """Purchase price of a machine's compute [USD], with its source.

    Sum of the accelerators' looked-up prices (a Mac or APU device is the whole computer); a
    CPU-only box counts its CPU. Unknown when any needed price is missing.
    """
    accs = list(machine.accelerators)
    devs = accs or ([machine.cpu] if machine.cpu else [])
    if not devs or any(d.price_usd is None for d in devs):
        return MachinePrice(None, "price unknown", False)
    usd = float(sum(d.price_usd for d in devs))
    d0 = devs[0]
    src = (d0.sources or {}).get("price_usd", "catalog")
    whole = all(d.kind in ("apple", "apu") for d in devs)
    n = f"{len(devs)} × " if len(devs) > 1 else ""
    what = "whole computer" if whole else ("CPU only; board, RAM and PSU extra" if not accs
                                           else "GPU(s) only; host PC extra")
    return MachinePrice(usd, f"{n}{d0.name}: {src} ({what})", whole, f"{d0.name}: {src} ({what})")


@dataclass
class FloorOption:
    machine: Machine
    price: MachinePrice
    evaluation: Evaluation
    category: str

    @property
    def decode_tps(self) -> float | None:
        d = self.evaluation.decode_tps
        return d.value if d is not None else None

    def to_json(self) -> dict:
        e = self.evaluation
        return {
            "machine": self.machine.name, "category": self.category, "price_usd": self.price.usd,
            "price_source": self.price.source, "fit": e.fit, "fully_in_fast_memory": e.fully_in_fast_memory,
            "memory_bytes": e.memory_bytes,
            "decode_tps": e.decode_tps.to_json() if e.decode_tps else None,
            "prefill_tps": e.prefill_tps.to_json() if e.prefill_tps else None,
            "ttft_s": e.ttft_s.to_json() if e.ttft_s else None, "max_ctx": e.max_ctx,
        }


@dataclass
class FloorResult:
    model_id: str
    quant: str
    ctx: int
    min_tps: float
    budget_usd: float | None
    options: list[FloorOption]
    within_budget: list[FloorOption]
    hosted: list[FloorOption]
    considered: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"model": self.model_id, "quant": self.quant, "ctx": self.ctx, "min_tps": self.min_tps,
                "budget_usd": self.budget_usd, "considered": self.considered,
                "options": [o.to_json() for o in self.options],
                "within_budget": [o.to_json() for o in self.within_budget],
                "hosted_only": [o.to_json() for o in self.hosted], "notes": self.notes}


def category(machine: Machine) -> str:
    accs = machine.accelerators
    if not accs:
        return "CPU box"
    k = accs[0].kind
    if k == "apple":
        return "Mac"
    if k == "apu":
        return "APU"
    if k == "hosted":
        return "hosted"
    return "multi-GPU box" if len(accs) > 1 else "single GPU"


def candidate_machines() -> list[Machine]:
    """Catalog machines to search: see :func:`rigfit.catalog.hardware.floor_machines`."""
    from rigfit.catalog import hardware

    fn = getattr(hardware, "floor_machines", None)
    if fn is not None:
        return list(fn())
    return _default_candidates()


#: Host given to 1–2 GPU desktop candidates so that partial offload can be planned (the
#: reference box's CPU with 64 GB of dual-channel DDR4-3200; its price is not counted).
DESKTOP_HOST = "Ryzen 7 5800X + 64GB DDR4-3200"


def _default_candidates() -> list[Machine]:
    from rigfit.catalog.hardware import list_devices, resolve_machine

    out: list[Machine] = []
    seen: set[str] = set()
    for d in list_devices():
        names = [d.name]
        if d.kind in ("apple", "apu"):  # every memory configuration; keep those with a price
            base = re.sub(r"\s+\d+GB$", "", d.name)
            if d.kind == "apple" and d.extra.get("chip") and d.extra.get("gpu_cores"):
                base = f"{d.extra['chip']} {d.extra['gpu_cores']}-core"
            names = [f"{base} {gb}GB" for gb in (d.extra.get("memory_configs_gb") or [])] or names
        elif not d.price_usd and d.kind != "hosted":
            continue
        if d.kind == "gpu":
            names = [f"{d.name} + {DESKTOP_HOST}", f"2x {d.name} + {DESKTOP_HOST}",
                     *(f"{n}x {d.name}" for n in MULTI_GPU_COUNTS if n > 2)]
        for name in names:
            try:
                m = resolve_machine(name)
            except RigfitError:
                continue
            if m.name in seen or (category(m) != "hosted" and machine_price(m).usd is None):
                continue
            seen.add(m.name)
            out.append(m)
    return out


def hardware_floor(arch: Architecture, quant: str, ctx: int = 8192, min_tps: float = 10.0,
                   budget_usd: float | None = None, machines: list[Machine] | None = None,
                   limit: int | None = 12) -> FloorResult:
    """Cheapest catalog machines that run ``arch`` at ``quant``/``ctx`` with decode ≥ ``min_tps``."""
    from rigfit.recommend import _spec

    spec = _spec(arch.id, quant)
    weights = spec.weights_bytes
    options: list[FloorOption] = []
    hosted: list[FloorOption] = []
    considered = 0
    for m in machines if machines is not None else candidate_machines():
        total_mem = sum(d.memory_bytes or 0 for d in m.accelerators) + (m.ram_bytes or 0)
        if total_mem and weights > total_mem:
            continue
        cat = category(m)
        price = machine_price(m)
        if cat != "hosted" and price.usd is None:
            continue
        considered += 1
        try:
            ev = evaluate(m, arch, quant, ctx)
        except RigfitError:
            continue
        if ev.fit == "no" or ev.decode_tps is None or not ev.decode_tps.known:
            continue
        if ev.decode_tps.value < min_tps:
            continue
        opt = FloorOption(m, price, ev, cat)
        (hosted if cat == "hosted" else options).append(opt)
    options.sort(key=lambda o: (o.price.usd, -(o.decode_tps or 0)))
    within = [o for o in options if budget_usd is not None and o.price.usd <= budget_usd]
    within.sort(key=lambda o: -(o.decode_tps or 0))
    notes = [f"searched {considered} catalog machines with a price (or hosted); speeds are estimates "
             f"(central value ≥ {min_tps:g} tok/s at {ctx:,} context)"]
    if not options:
        notes.append("no purchasable catalog machine reaches that speed with that quant and context")
    res = FloorResult(arch.id, quant, ctx, min_tps, budget_usd, options[:limit] if limit else options,
                      within[:limit] if limit else within, hosted, considered, notes)
    return res
