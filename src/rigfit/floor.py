"""What hardware do I need? The cheapest catalog machines that run a model at a speed.

For a model, quant and context, every purchasable catalog machine with a known price is planned
and its speed estimated: single GPUs (in a default desktop host), boxes of 2, 4 and 8 identical
GPUs, Apple Silicon Macs, APUs with shared memory (Strix Halo, DGX Spark) and CPU-only boxes. A
machine qualifies when the model fits (fully, or with partial offload when the speed still meets
the target) and the estimated decode speed at that context — its central value — reaches
``min_tps``. Results are sorted by price; hosted systems (Cerebras, Groq) are listed apart: they
are rented per token, or sold as datacenter systems with no list price.

Prices are whole machines (:func:`rigfit.hardware.prices.machine_price`): looked-up device
prices (a Mac or mini-PC is the whole computer) plus, for GPU and CPU boxes, the CPU and an
estimated host platform (board, PSU, case, SSD, RAM), each part with its source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError
from rigfit.figures import Figure
from rigfit.hardware.devices import Machine
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import list_devices
from rigfit.hardware.prices import PRICE_DEFINITION, floor_machines
from rigfit.hardware.prices import machine_price as hw_machine_price
from rigfit.plantypes import Verdict
from rigfit.recommend import Evaluation, _spec, evaluate


@dataclass
class MachinePrice:
    """usd: price [USD] or None; source: full line; basis: the part sources (footnote text).

    figure: the labelled :class:`~rigfit.figures.Figure` from
    :func:`rigfit.hardware.prices.machine_price` (provenance, low/high band).
    """

    usd: float | None
    source: str
    includes_host: bool
    basis: str = ""
    figure: Figure | None = None


def machine_price(machine: Machine) -> MachinePrice:
    """Purchase price of a whole machine [USD], with its source.

    One implementation: :func:`rigfit.hardware.prices.machine_price` (devices + host platform;
    a Mac or APU is the whole computer). Unknown when any part's price is missing.
    """
    fig = hw_machine_price(machine)
    if fig.value is None:
        return MachinePrice(None, f"price unknown: {fig.source}", False, figure=fig)
    label = "looked up" if fig.provenance == "looked_up" else "estimated"
    band = f" (range ${fig.low:,.0f}–{fig.high:,.0f})" if fig.low is not None and fig.high is not None else ""
    src = fig.source or ""
    basis = src.split(". Sources: ", 1)[-1]
    return MachinePrice(fig.value, f"price {label}{band}: {src}", True, f"price {label}: {basis}", fig)


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
            "machine": self.machine.name,
            "category": self.category,
            "price_usd": self.price.usd,
            "price_source": self.price.source,
            "price": self.price.figure.to_json() if self.price.figure is not None else None,
            "fit": e.fit,
            "fully_in_fast_memory": e.fully_in_fast_memory,
            "systems_needed": e.systems_needed,
            "memory_bytes": e.memory_bytes,
            "decode_tps": e.decode_tps.to_json() if e.decode_tps else None,
            "prefill_tps": e.prefill_tps.to_json() if e.prefill_tps else None,
            "ttft_s": e.ttft_s.to_json() if e.ttft_s else None,
            "max_ctx": e.max_ctx,
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
        return {
            "schema": "rigfit.floor/1",
            "model": self.model_id,
            "quant": self.quant,
            "ctx": self.ctx,
            "min_tps": self.min_tps,
            "budget_usd": self.budget_usd,
            "considered": self.considered,
            "options": [o.to_json() for o in self.options],
            "within_budget": [o.to_json() for o in self.within_budget],
            "hosted_only": [o.to_json() for o in self.hosted],
            "notes": self.notes,
            "price_definition": PRICE_DEFINITION,
        }


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
    """Catalog machines to search: the purchasable priced machines of
    :func:`rigfit.hardware.prices.floor_machines`, then the hosted-only systems (listed apart)."""
    hosted = [resolve_machine(d.name) for d in list_devices("hosted")]
    return [m for m in floor_machines() if all(d.purchasable for d in m.accelerators)] + hosted


def hardware_floor(
    arch: Architecture,
    quant: str,
    ctx: int = 8192,
    min_tps: float = 10.0,
    budget_usd: float | None = None,
    machines: Iterable[Machine] | None = None,
    limit: int | None = 12,
) -> FloorResult:
    """Cheapest catalog machines that run ``arch`` at ``quant``/``ctx`` with decode ≥ ``min_tps``."""
    spec = _spec(arch.id, quant)
    weights = spec.weights_bytes
    options: list[FloorOption] = []
    hosted: list[FloorOption] = []
    considered = 0
    for m in machines if machines is not None else candidate_machines():
        cat = category(m)
        total_mem = sum(d.memory_bytes or 0 for d in m.accelerators) + (m.ram_bytes or 0)
        if cat != "hosted" and total_mem and weights > total_mem:  # hosted: sharded over many systems
            continue
        price = machine_price(m)
        if cat != "hosted" and price.usd is None:
            continue
        considered += 1
        try:
            ev = evaluate(m, arch, quant, ctx)
        except RigfitError:
            continue
        if ev.fit == Verdict.NO or ev.decode_tps is None or not ev.decode_tps.known:
            continue
        if ev.decode_tps.value is None or ev.decode_tps.value < min_tps:
            continue
        opt = FloorOption(m, price, ev, cat)
        (hosted if cat == "hosted" else options).append(opt)
    options.sort(key=lambda o: (o.price.usd or 0.0, -(o.decode_tps or 0)))  # (all priced: checked above)
    within = [o for o in options if budget_usd is not None and (o.price.usd or 0.0) <= budget_usd]
    within.sort(key=lambda o: -(o.decode_tps or 0))
    notes = [
        f"searched {considered} catalog machines with a price (or hosted); speeds are estimates "
        f"(central value ≥ {min_tps:g} tok/s at {ctx:,} context)"
    ]
    if not options:
        notes.append("no purchasable catalog machine reaches that speed with that quant and context")
    res = FloorResult(
        arch.id,
        quant,
        ctx,
        min_tps,
        budget_usd,
        options[:limit] if limit else options,
        within[:limit] if limit else within,
        hosted,
        considered,
        notes,
    )
    return res
