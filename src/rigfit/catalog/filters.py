"""Filters of ``rigfit models``: size, MoE, context, capability and release date.

Each catalog record carries, in ``extra``, the model's release date (``released``: ``YYYY-MM-DD``,
the date on its Hugging Face model card / repository, cited in ``released_source``) and what it can
do beyond text chat (``capabilities``: ``vision``, ``tools``, ``reasoning``, from the model card).
Both come from ``data/model-configs/INDEX.csv`` via ``tools/build_model_catalog.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError

#: capability words a catalog record may carry (``extra.capabilities``)
CAPABILITIES = ("vision", "tools", "reasoning")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def released(arch: Architecture) -> str | None:
    """Release date ``YYYY-MM-DD`` (or ``YYYY-MM``) of a catalog model (model card, or the repo's creation
    date on the Hub where known); None when unknown."""
    v = (arch.extra or {}).get("released")
    return str(v) if v else None


def capabilities(arch: Architecture) -> tuple[str, ...]:
    """What the model does beyond text chat (``vision``, ``tools``, ``reasoning``)."""
    return tuple((arch.extra or {}).get("capabilities") or ())


def parse_since(text: str) -> str:
    """``2025``, ``2025-06`` or ``2025-06-15`` → a comparable ``YYYY[-MM[-DD]]`` prefix; RigfitError else."""
    m = _DATE_RE.match(text.strip())
    if (
        m is None
        or (m.group(2) and not 1 <= int(m.group(2)) <= 12)
        or (m.group(3) and not 1 <= int(m.group(3)) <= 31)
    ):
        raise RigfitError(
            f"--since {text!r} is not a date.", "Write YYYY, YYYY-MM or YYYY-MM-DD, e.g. --since 2025-06."
        )
    return text.strip()


def parse_capabilities(words: list[str]) -> tuple[str, ...]:
    """Capability words (repeatable, or comma separated) → a tuple; RigfitError on an unknown word."""
    out: list[str] = []
    for w in words:
        for part in w.replace(",", " ").split():
            low = part.lower()
            if low not in CAPABILITIES:
                raise RigfitError(
                    f"Unknown capability {part!r}.", "Capabilities: " + ", ".join(CAPABILITIES) + "."
                )
            out.append(low)
    return tuple(out)


@dataclass(frozen=True)
class ModelFilter:
    """What ``rigfit models`` keeps: params in billions (total), context in tokens, a date prefix."""

    min_params_b: float | None = None
    max_params_b: float | None = None
    moe: bool | None = None
    min_ctx: int | None = None
    capabilities: tuple[str, ...] = ()
    since: str | None = None

    def keeps(self, a: Architecture) -> bool:
        """Whether ``a`` passes every filter that is set."""
        total_b = (a.total_params or 0) / 1e9
        if self.min_params_b is not None and total_b < self.min_params_b:
            return False
        if self.max_params_b is not None and total_b > self.max_params_b:
            return False
        if self.moe is not None and (a.moe is not None) != self.moe:
            return False
        if self.min_ctx is not None and a.trained_ctx < self.min_ctx:  # (not a GGUF placeholder)
            return False
        if self.capabilities and not set(self.capabilities) <= set(capabilities(a)):
            return False
        if self.since is not None:
            date = released(a)
            # a month or year prefix compares as its first day: "2025-06" keeps June 2025 on
            if date is None or date < self.since:
                return False
        return True

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return self != ModelFilter()


def apply_filter(models: list[Architecture], flt: ModelFilter) -> list[Architecture]:
    """The models ``flt`` keeps, in catalog order."""
    if not flt.active:
        return list(models)
    if flt.min_params_b is not None and flt.max_params_b is not None and flt.min_params_b > flt.max_params_b:
        raise RigfitError(
            f"--min-params {flt.min_params_b:g} is above --max-params {flt.max_params_b:g}.",
            "Swap the two values.",
        )
    return [a for a in models if flt.keeps(a)]
