"""Hosted-API prices: a dated snapshot shipped with the package (no network at run time).

``data/prices_api.csv`` holds per-million-token prices (input, output, cached input) as bundled
in the ``genai-prices`` 0.2.3 package (pydantic; dated price history) and in litellm 1.109.1's
``model_prices_and_context_window_backup.json``, both published around Oct–Nov 2026. They are a
snapshot, not live prices: every figure carries :data:`SNAPSHOT_DATE` and its package source, and
each row names the provider's own pricing page (``pricing_url``) with the date the row was read
(``date_read``); those pages were not re-checked when the row was added.
Each row maps the provider's model name to rigfit's open-model id (``open_model_id``) where the
hosted model is an open-weight one, so local and hosted runs of the same model can be compared.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from rigfit.datafiles import read_text
from rigfit.errors import AmbiguousNameError, UnknownNameError

#: Date the snapshot was taken (the CSV's comment row).
SNAPSHOT_DATE = "2026-11-22"


@dataclass(frozen=True)
class HostedPrice:
    """One hosted model's price [USD per 1e6 tokens].

    open_model_id: rigfit model id when the hosted model is open-weight, else None.
    effective_from: the provider's price date where the source records it, else None.
    pricing_url: the provider's pricing page, to check the figure against; date_read: when the
    row's figures were read (from the package snapshot).
    """

    provider: str
    model: str
    open_model_id: str | None
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cached_input_usd_per_mtok: float | None
    context_window: int | None
    effective_from: str | None
    notes: str
    source: str
    pricing_url: str = ""
    date_read: str = ""

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def source_line(self) -> str:
        when = f", price dated {self.effective_from}" if self.effective_from else ""
        page = f"; provider page {self.pricing_url}, not re-checked" if self.pricing_url else ""
        return f"{self.source} (snapshot {SNAPSHOT_DATE}{when}; not live{page})"

    def to_json(self) -> dict:
        return {
            "provider": self.provider,
            "model": self.model,
            "open_model_id": self.open_model_id,
            "input_usd_per_mtok": self.input_usd_per_mtok,
            "output_usd_per_mtok": self.output_usd_per_mtok,
            "snapshot_date": SNAPSHOT_DATE,
            "effective_from": self.effective_from,
            "source": self.source,
            "pricing_url": self.pricing_url,
            "date_read": self.date_read,
        }


def _open_id(raw: str) -> str | None:
    raw = raw.strip()
    if not raw or raw.startswith("proprietary"):
        return None
    return raw.split(" (")[0].strip()


@lru_cache(maxsize=1)
def all_prices() -> tuple[HostedPrice, ...]:
    """Every row of the snapshot."""
    text = read_text("rigfit.catalog", "data", "prices_api.csv")
    out = []
    for r in csv.DictReader(text.splitlines()):
        if r["provider"].startswith("#"):
            continue
        out.append(
            HostedPrice(
                provider=r["provider"],
                model=r["model"],
                open_model_id=_open_id(r["open_model_id"]),
                input_usd_per_mtok=float(r["input_usd_per_mtok"]),
                output_usd_per_mtok=float(r["output_usd_per_mtok"]),
                cached_input_usd_per_mtok=float(r["cached_input_usd_per_mtok"])
                if r["cached_input_usd_per_mtok"]
                else None,
                context_window=int(r["context_window"]) if r["context_window"] else None,
                effective_from=r["price_effective_from"] or None,
                notes=r["notes"],
                source=r["source"],
                pricing_url=r.get("pricing_url") or "",
                date_read=r.get("date_read") or "",
            )
        )
    return tuple(out)


def prices_for_model(open_model_id: str) -> list[HostedPrice]:
    """Hosted offers of an open-weight model, cheapest output price first.

    Llama 3.3 70B is the same architecture as 3.1 70B; each id matches only its own rows.
    """
    key = open_model_id.lower()
    rows = [p for p in all_prices() if p.open_model_id and p.open_model_id.lower() == key]
    return sorted(rows, key=lambda p: (p.output_usd_per_mtok, p.input_usd_per_mtok))


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def resolve_hosted(name: str, open_model_id: str | None = None) -> HostedPrice:
    """Find a hosted price by ``provider/model``, a provider's model name, or an open model id.

    name: "groq/llama-3.3-70b-versatile", "gpt-5-mini", "llama-3.1-8b" (the cheapest offer of
        that open model), or a provider ("groq") together with ``open_model_id`` (that
        provider's cheapest offer of the model being costed).
    """
    prices = all_prices()
    n = _norm(name)
    by_model = prices_for_model(name)
    if by_model:
        return by_model[0]
    exact = [p for p in prices if _norm(p.label) == n or _norm(p.model) == n]
    if exact:
        return sorted(exact, key=lambda p: p.output_usd_per_mtok)[0]
    providers = {_norm(p.provider): p.provider for p in prices}
    if n in providers or n + "ai" in providers:
        prov = providers.get(n) or providers[n + "ai"]
        offers = [p for p in prices if p.provider == prov]
        if open_model_id:
            same = [p for p in offers if p.open_model_id == open_model_id]
            if same:
                return sorted(same, key=lambda p: p.output_usd_per_mtok)[0]
            raise UnknownNameError(
                f"hosted offer of {open_model_id} at",
                prov,
                [p.label for p in prices_for_model(open_model_id)],
                hint=f"{prov} offers: " + ", ".join(p.model for p in offers) + ".",
            )
        raise AmbiguousNameError("hosted model", name, [p.label for p in offers])
    labels = [p.label for p in prices] + sorted({p.open_model_id for p in prices if p.open_model_id})
    close = difflib.get_close_matches(name.lower(), labels, n=5, cutoff=0.4)
    raise UnknownNameError(
        "hosted model or provider", name, close, hint=f"Prices are a snapshot dated {SNAPSHOT_DATE}."
    )
