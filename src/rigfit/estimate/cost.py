"""Power and money: wall power, electricity cost, cost per token, hosted cost and break-even.

The family of models here turns a speed (tokens/s) and a machine's power figures into money.
Each model is a plain function of numbers with its units in brackets; :func:`cost_summary`
chains them for one machine and workload. Naming: ``<quantity>_<unit>`` for results.

Power: the one wall-power model lives in :mod:`rigfit.hardware.power` (linear in utilisation,
Fan, Weber & Barroso 2007; checked against public wall-power measurements); its names are
re-exported here for callers of this module.

Money::

    cost_per_hour        = P_wall / 1000 · price_kWh                      [USD/h]
    cost_per_Mtok_power  = cost_per_hour / (tok_s · 3600) · 1e6          [USD/Mtok]
    cost_per_Mtok_amort  = cost_per_Mtok_power + (hw_usd / months) / Mtok_per_month
    breakeven_months     = hw_usd / (hosted_monthly − electricity_monthly)

Break-even is "never" when the local electricity alone costs as much as the hosted bill.

References
----------
See :mod:`rigfit.hardware.power` for the power model's sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from rigfit.catalog.native import native_format
from rigfit.catalog.prices import prices_for_model, resolve_hosted
from rigfit.catalog.quant import default_file_type
from rigfit.errors import RigfitError
from rigfit.figures import Figure, Provenance
from rigfit.floor import category
from rigfit.hardware.power import (
    DECODE_UTILISATION,
    ELECTRICITY_USD_PER_KWH,
    multi_gpu_utilisation,
    power_profile,
)
from rigfit.hardware.power import PowerProfile as PowerProfile  # re-exported for callers
from rigfit.hardware.power import device_power_w as device_power_w  # re-exported
from rigfit.hardware.power import wall_power_w as wall_power_w  # re-exported
from rigfit.hardware.prices import machine_price
from rigfit.recommend import evaluate

if TYPE_CHECKING:
    from rigfit.catalog.arch import Architecture
    from rigfit.catalog.prices import HostedPrice
    from rigfit.hardware.devices import Machine

DAYS_PER_MONTH = 30.4375  # 365.25 / 12


def cost_per_hour_usd(power_w, usd_per_kwh=ELECTRICITY_USD_PER_KWH):
    """Electricity cost of running at ``power_w`` [W] for one hour [USD/h]."""
    return power_w / 1000.0 * usd_per_kwh


def usd_per_mtok(cost_per_hour, tokens_per_s):
    """Cost per million generated tokens [USD/Mtok].

    cost_per_hour: running cost [USD/h]. tokens_per_s: generation speed [tok/s].
    """
    return cost_per_hour / (tokens_per_s * 3600.0) * 1e6


def amortised_usd_per_month(hardware_usd, amortize_months):
    """Hardware cost spread evenly over ``amortize_months`` [USD/month] (no resale, no interest)."""
    return hardware_usd / amortize_months


def breakeven_months(hardware_usd, hosted_usd_per_month, local_running_usd_per_month):
    """Months until buying the hardware pays for itself, or ``None`` when it never does.

    hardware_usd: purchase price [USD]. hosted_usd_per_month: the hosted bill it replaces
    [USD/month]. local_running_usd_per_month: electricity of the local box [USD/month].
    ``months = hardware_usd / (hosted − local)`` when hosted > local, else None (never).
    """
    saving = hosted_usd_per_month - local_running_usd_per_month
    if saving <= 0:
        return None
    return hardware_usd / saving


# ------------------------------------------------------------------------------------------------
# Typed inputs and the chained summary
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """How the machine is used.

    hours_per_day: hours the machine is switched on [h/day] (None: only while generating).
    tokens_per_day: generated tokens per day [tok/day] (None: generate all ``hours_per_day``).
    """

    hours_per_day: float | None = None
    tokens_per_day: float | None = None


class Breakeven(Enum):
    """Why (or whether) local hardware breaks even against a hosted API (``CostSummary.breakeven``;
    the words are in ``breakeven_reason``)."""

    NO_HOSTED_PRICE = "no_hosted_price"
    NO_HARDWARE_PRICE = "no_hardware_price"
    NEVER = "never"  # local electricity costs as much as the hosted API for the same tokens
    MONTHS = "months"


@dataclass
class CostSummary:
    """Everything ``rigfit cost`` prints; money in USD, power in W, times in h."""

    decode_tps: float
    load_w: float
    idle_w: float
    usd_per_kwh: float
    cost_per_hour_usd: float
    usd_per_mtok_power: float
    tokens_per_day: float
    busy_hours_per_day: float
    on_hours_per_day: float
    electricity_usd_per_month: float
    usd_per_mtok_power_effective: float
    hardware_usd: float | None = None
    hardware_source: str | None = None
    amortize_months: float | None = None
    usd_per_mtok_amortised: float | None = None
    hosted_usd_per_month: float | None = None
    hosted_usd_per_mtok: float | None = None
    hosted_label: str | None = None
    hosted_source: str | None = None
    breakeven_months: float | None = None
    breakeven_reason: str = ""
    notes: list[str] = field(default_factory=list)
    breakeven: Breakeven | None = None

    def to_json(self) -> dict:
        out = dict(self.__dict__)
        out.pop("breakeven")  # the code is for logic; breakeven_months / _reason are the output
        if self.never_breaks_even:
            out["breakeven_months"] = "never"
        return out

    @property
    def never_breaks_even(self) -> bool:
        return self.breakeven_months is None and self.breakeven is Breakeven.NEVER


def cost_summary(
    decode_tps: float,
    power: PowerProfile,
    workload: Workload,
    *,
    usd_per_kwh: float = ELECTRICITY_USD_PER_KWH,
    hardware_usd: float | None = None,
    hardware_source: str | None = None,
    amortize_months: float = 36.0,
    hosted_usd_per_month: float | None = None,
    hosted_usd_per_mtok: float | None = None,
    hosted_label: str | None = None,
    hosted_source: str | None = None,
    utilisation: float = DECODE_UTILISATION,
) -> CostSummary:
    """Chain the models above for one machine running one model.

    decode_tps: generation speed [tok/s]. hosted_usd_per_month: a monthly hosted bill the local
    box would replace [USD/month]; or hosted_usd_per_mtok: a hosted output price [USD/Mtok],
    billed for the same generated tokens. Prompt tokens are left out on both sides.
    """
    if decode_tps <= 0:
        raise ValueError("decode_tps must be positive")
    notes: list[str] = []
    load = power.load_w(utilisation)
    idle = power.idle_w()
    per_hour = cost_per_hour_usd(load, usd_per_kwh)
    power_mtok = usd_per_mtok(per_hour, decode_tps)

    capacity_per_h = decode_tps * 3600.0
    if workload.tokens_per_day is not None:
        tokens_day = float(workload.tokens_per_day)
        busy = tokens_day / capacity_per_h
        if busy > 24.0:
            raise RigfitError(
                f"{tokens_day:,.0f} tokens/day need {busy:,.1f} h/day of generation at "
                f"{decode_tps:.1f} tok/s: more than a day.",
                f"One machine makes at most {capacity_per_h * 24:,.0f} tokens a day; lower --tokens-per-day.",
            )
        on = max(busy, workload.hours_per_day or 0.0)
        if workload.hours_per_day is not None and busy > workload.hours_per_day:
            notes.append(
                f"{tokens_day:,.0f} tokens/day need {busy:.1f} h at {decode_tps:.1f} tok/s, "
                f"more than the {workload.hours_per_day:g} h/day given; counted {busy:.1f} h"
            )
    else:
        on = 24.0 if workload.hours_per_day is None else float(workload.hours_per_day)
        busy = on
        tokens_day = capacity_per_h * busy
    kwh_day = (load * busy + idle * max(on - busy, 0.0)) / 1000.0
    elec_month = kwh_day * usd_per_kwh * DAYS_PER_MONTH
    mtok_month = tokens_day * DAYS_PER_MONTH / 1e6
    eff_mtok = elec_month / mtok_month if mtok_month > 0 else float("inf")

    s = CostSummary(
        decode_tps=decode_tps,
        load_w=load,
        idle_w=idle,
        usd_per_kwh=usd_per_kwh,
        cost_per_hour_usd=per_hour,
        usd_per_mtok_power=power_mtok,
        tokens_per_day=tokens_day,
        busy_hours_per_day=busy,
        on_hours_per_day=on,
        electricity_usd_per_month=elec_month,
        usd_per_mtok_power_effective=eff_mtok,
        hardware_usd=hardware_usd,
        hardware_source=hardware_source,
        amortize_months=amortize_months,
        hosted_label=hosted_label,
        hosted_source=hosted_source,
        notes=notes,
    )
    if hardware_usd is not None and mtok_month > 0:
        amort = amortised_usd_per_month(hardware_usd, amortize_months)
        s.usd_per_mtok_amortised = eff_mtok + amort / mtok_month

    if hosted_usd_per_month is None and hosted_usd_per_mtok is not None:
        hosted_usd_per_month = hosted_usd_per_mtok * mtok_month
        s.hosted_usd_per_mtok = hosted_usd_per_mtok
    elif hosted_usd_per_month is not None and mtok_month > 0:
        s.hosted_usd_per_mtok = hosted_usd_per_month / mtok_month
    s.hosted_usd_per_month = hosted_usd_per_month

    if hosted_usd_per_month is None:
        s.breakeven = Breakeven.NO_HOSTED_PRICE
        s.breakeven_reason = "no hosted price to compare with (pass --hosted-monthly-usd or --hosted)"
    elif hardware_usd is None:
        s.breakeven = Breakeven.NO_HARDWARE_PRICE
        s.breakeven_reason = "hardware price unknown (pass --hardware-usd)"
    else:
        s.breakeven_months = breakeven_months(hardware_usd, hosted_usd_per_month, elec_month)
        if s.breakeven_months is None:
            s.breakeven = Breakeven.NEVER
            s.breakeven_reason = (
                f"never: local electricity ${elec_month:,.2f}/month ≥ hosted ${hosted_usd_per_month:,.2f}"
                f"/month for the same tokens (local ${eff_mtok:,.3f}/Mtok vs hosted "
                f"${s.hosted_usd_per_mtok or 0:,.3f}/Mtok)"
            )
        else:
            s.breakeven = Breakeven.MONTHS
            saving = hosted_usd_per_month - elec_month
            s.breakeven_reason = (
                f"${hardware_usd:,.0f} hardware / (${hosted_usd_per_month:,.2f} hosted − "
                f"${elec_month:,.2f} electricity) = ${hardware_usd:,.0f} / "
                f"${saving:,.2f} per month"
            )
    return s


# ------------------------------------------------------------------------------------------------
# Chained for a catalog model on a catalog machine (planner + speed model + price snapshot)
# ------------------------------------------------------------------------------------------------
# local_cost plans the model on the machine, takes the estimated decode speed at the chosen
# context, builds the machine's power profile and hands both to cost_summary with the hosted
# comparison: a monthly bill the user gives, or a hosted price from the shipped snapshot
# (default: the cheapest hosted offer of the same open model, when one exists).


@dataclass
class LocalCost:
    model_id: str
    quant: str
    machine: str
    ctx: int
    decode_tps: Figure
    fit: str
    summary: CostSummary
    power_sources: tuple[str, ...]
    hosted: HostedPrice | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out = {
            "schema": "rigfit.cost/1",
            "model": self.model_id,
            "quant": self.quant,
            "machine": self.machine,
            "ctx": self.ctx,
            "fit": self.fit,
            "decode_tps": self.decode_tps.to_json(),
            "power_sources": list(self.power_sources),
            "notes": self.notes,
        }
        out.update(self.summary.to_json())
        out["decode_tps"] = self.decode_tps.to_json()
        if self.hosted is not None:
            out["hosted"] = self.hosted.to_json()
        out["figures"] = {k: f.to_json() for k, f in cost_figures(self.summary).items()}
        return out


def cost_figures(s: CostSummary) -> dict[str, Figure]:
    """The money and power figures of ``s`` in the labelled form (the flat keys of ``to_json`` stay
    for older consumers): power and cost per token estimated, prices looked up with their source."""
    basis = "estimated from the decode speed, the power model and the workload"
    figs = {
        "load_w": Figure(s.load_w, "W", "estimated", "device power at load (rigfit.hardware.power)"),
        "usd_per_mtok_power": Figure(s.usd_per_mtok_power, "USD/Mtok", "estimated", basis),
        "usd_per_mtok_power_effective": Figure(
            s.usd_per_mtok_power_effective, "USD/Mtok", "estimated", basis
        ),
        "electricity_usd_per_month": Figure(s.electricity_usd_per_month, "USD/month", "estimated", basis),
    }
    if s.hardware_usd is not None:
        src = s.hardware_source or ""
        kind: Provenance = "estimated" if src.startswith("estimated") else "looked_up"
        figs["hardware_usd"] = Figure(s.hardware_usd, "USD", kind, s.hardware_source)
    if s.usd_per_mtok_amortised is not None:
        figs["usd_per_mtok_amortised"] = Figure(s.usd_per_mtok_amortised, "USD/Mtok", "estimated", basis)
    if s.hosted_usd_per_mtok is not None:
        figs["hosted_usd_per_mtok"] = Figure(s.hosted_usd_per_mtok, "USD/Mtok", "looked_up", s.hosted_source)
    if s.breakeven_months is not None:
        figs["breakeven_months"] = Figure(
            s.breakeven_months, "months", "estimated", s.breakeven_reason or basis
        )
    return figs


def default_quant(arch: Architecture) -> str:
    """The file type assumed when none is given (see :func:`rigfit.catalog.quant.default_file_type`)."""
    return default_file_type(arch.id)


def local_cost(
    arch: Architecture,
    machine: Machine,
    quant: str | None = None,
    *,
    ctx: int = 8192,
    hours_per_day: float | None = None,
    tokens_per_day: float | None = None,
    usd_per_kwh: float = ELECTRICITY_USD_PER_KWH,
    hardware_usd: float | None = None,
    amortize_months: float = 36.0,
    hosted_monthly_usd: float | None = None,
    hosted: str | None = None,
) -> LocalCost:
    """Cost of running ``arch`` on ``machine`` and the break-even against a hosted bill or price."""
    q = quant or default_quant(arch)
    if category(machine) == "hosted":
        raise RigfitError(
            f"{machine.name} is a hosted datacenter system (rented per token, no list price): "
            "its cost is its API price.",
            f"Compare its API price instead: rigfit cost {arch.id} --on <your machine> --hosted cerebras",
        )
    ev = evaluate(machine, arch, q, ctx)
    if ev.decode_tps is None or not ev.decode_tps.known or not ev.decode_tps.value:
        nat = native_format(arch)
        smaller = (
            f"{arch.id} ships as {nat.fmt} with no smaller llama.cpp quant: try a smaller model"
            if nat is not None and len(nat.ladder) <= 1
            else "Try a smaller quant (--quant Q3_K_M)"
        )
        raise RigfitError(
            f"{arch.id} {q} does not run on {machine.name} (fit: {ev.fit}).",
            f"{smaller} or another machine.",
        )
    notes: list[str] = []
    if not ev.fully_in_fast_memory:
        notes.append(f"the model does not fit in fast memory ({ev.fit}); speed includes CPU offload")
    try:
        power = power_profile(machine)
    except ValueError as exc:
        raise RigfitError(f"Cannot cost {machine.name}: {exc}.") from exc
    util = DECODE_UTILISATION
    if len(machine.accelerators) > 1:
        util = multi_gpu_utilisation(len(machine.accelerators))
        notes.append(
            f"layer split over {len(machine.accelerators)} GPUs: each works ~1/"
            f"{len(machine.accelerators)} of the time (utilisation {util:.2f})"
        )
    hw_src = "given (--hardware-usd)"
    if hardware_usd is None:
        price = machine_price(machine)  # devices + host platform, labelled (rigfit.hardware.prices)
        hardware_usd = price.value
        price_label = "looked up" if price.provenance == "looked_up" else price.provenance
        hw_src = f"{price_label}: {price.source}" if price.value is not None else (price.source or "unknown")
    hp: HostedPrice | None = None
    hosted_mtok = None
    label: str | None = None
    src: str | None = None
    if hosted_monthly_usd is None:
        if hosted:
            hp = resolve_hosted(hosted, open_model_id=arch.id)
        else:
            offers = prices_for_model(arch.id)
            hp = offers[0] if offers else None
            if hp is not None:
                notes.append(
                    f"hosted comparison: cheapest offer of {arch.id} in the snapshot "
                    f"({hp.label}); pick another with --hosted"
                )
        if hp is not None:
            hosted_mtok = hp.output_usd_per_mtok
            label, src = hp.label, hp.source_line
            if hp.open_model_id and hp.open_model_id != arch.id:
                notes.append(f"hosted model {hp.label} is not {arch.id}: compares different models")
            elif hp.open_model_id is None:
                notes.append(f"hosted model {hp.label} is proprietary: compares different models")
    else:
        label, src = "your monthly hosted bill", "given (--hosted-monthly-usd)"
    s = cost_summary(
        ev.decode_tps.value,
        power,
        Workload(hours_per_day, tokens_per_day),
        usd_per_kwh=usd_per_kwh,
        hardware_usd=hardware_usd,
        hardware_source=hw_src,
        amortize_months=amortize_months,
        hosted_usd_per_month=hosted_monthly_usd,
        hosted_usd_per_mtok=hosted_mtok,
        hosted_label=label,
        hosted_source=src,
        utilisation=util,
    )
    return LocalCost(arch.id, q, machine.name, ctx, ev.decode_tps, ev.fit, s, power.sources, hp, notes)
