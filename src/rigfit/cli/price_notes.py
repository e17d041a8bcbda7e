"""Price footnotes that name each source once.

A PC's price is the sum of its parts (:func:`rigfit.hardware.prices.machine_price_parts`); the
host platform and its RAM share one source, and every PC row of ``floor`` shares the same host
and DRAM sources. Printing each row's full source text repeats the same paragraph many times.
Here each part is one short line ("what: how it is priced (source s3)") and each distinct source
text is printed once, under the table, after the one price definition
(:data:`rigfit.hardware.prices.PRICE_DEFINITION`: new USD, never a used price).
"""

from __future__ import annotations

from rigfit.hardware.devices import Machine
from rigfit.hardware.prices import PRICE_DEFINITION, PricePart, machine_price_parts


class SourceList:
    """Distinct source texts in order of first use, referred to as s1, s2 …"""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}

    def ref(self, text: str) -> str:
        """The reference ('s3') of ``text``, adding it when new."""
        return f"s{self.texts.setdefault(text.strip(), len(self.texts) + 1)}"

    def lines(self) -> list[str]:
        """'s1: TEXT' for each source, in order."""
        return [f"s{n}: {text}" for text, n in self.texts.items()]


def split_part_source(source: str) -> tuple[str, str]:
    """A part's source as (how it is priced, where the figure comes from).

    Part sources read "launch MSRP, new, read 2026-12-06: <url>" or "estimate, new $140-190, as of
    2026-12: <basis>" (how it is priced, then where from); a text without that form is all source.
    """
    how, sep, where = source.partition(": ")
    return (how.strip(), where.strip()) if sep and where.strip() else ("", source.strip())


class PriceNotes:
    """Footnotes for machine prices: per machine the sum of its parts, each part described once,
    each source printed once."""

    def __init__(self) -> None:
        self.sources = SourceList()
        self.parts: dict[str, None] = {}

    def add_parts(self, parts: list[PricePart]) -> str:
        """'2 × A $750 + B $165 + …' for one machine; each part's basis and source kept once."""
        counts: dict[str, int] = {}
        for p in parts:
            counts[p.label] = counts.get(p.label, 0) + 1
        terms: dict[str, None] = {}
        for p in parts:
            how, where = split_part_source(p.source)
            many = f"{counts[p.label]} × " if counts[p.label] > 1 else ""
            terms[f"{many}{p.label} ${p.usd:,.0f}"] = None
            detail = f"{p.label}: " + (f"{how} " if how else "")
            self.parts[f"{detail}({p.status}, {self.sources.ref(where)})"] = None
        return " + ".join(terms)

    def add_machine(self, machine: Machine) -> str | None:
        """The sum of ``machine``'s parts, or None when its price is unknown."""
        parts, why = machine_price_parts(machine)
        return None if why is not None else self.add_parts(parts)

    def lines(self) -> list[str]:
        """The price definition, 'how each part is priced' lines, then the sources."""
        return [
            *([f"prices: {PRICE_DEFINITION}"] if self.parts else []),
            *(["parts:"] if self.parts else []),
            *(f"  {line}" for line in self.parts),
            *(["price sources:"] if self.sources.texts else []),
            *(f"  {line}" for line in self.sources.lines()),
        ]
