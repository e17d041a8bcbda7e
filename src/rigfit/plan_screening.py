"""Screening mode of the planner: plans made for a ranking over many candidates (recommend), which
needs each plan's fit and decode speed but not the speeds that only its notes name.

Inside :func:`screening`, :func:`rigfit.plan.make_plan` makes the same plan, except that where it
chooses between layer offload and experts in RAM for an MoE model it works out only what the choice
reads (the decode at the planned context, and only where the two strategies' verdicts tie): the
plan's ``alternative`` is None, and it has no notes and no command lines. The decode figure of the
experts-in-RAM plan it picks is kept for the ranking (:meth:`Screening.decode_at_context`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar, Token

from rigfit.estimate.placement import Placement
from rigfit.figures import Figure
from rigfit.plantypes import Plan, PlanSettings


class Screening:
    """What the plans made inside :func:`screening` worked out for their ranking: the decode figure
    at the planned context of the experts-in-RAM plan the offload choice picked."""

    def __init__(self) -> None:
        self._decoded: tuple[Placement, PlanSettings, Figure] | None = None

    def keep(self, placement: Placement, settings: PlanSettings, figure: Figure) -> None:
        """Keep the decode figure of the experts-in-RAM plan with this placement and settings."""
        self._decoded = (placement, settings, figure)

    def decode_at_context(self, plan: Plan) -> Figure | None:
        """:func:`rigfit.plan_speed.decode_at_context` of ``plan`` where the choice worked it out by
        the same decode pass (same inputs, same Figure), else None."""
        d = self._decoded
        if d is None or plan.placement is not d[0] or plan.settings is not d[1]:
            return None
        return d[2]


_SCREENING: ContextVar[Screening | None] = ContextVar("rigfit_plan_screening", default=None)


def active() -> bool:
    """Whether the plan being made is a screening plan."""
    return _SCREENING.get() is not None


def screening() -> AbstractContextManager[Screening]:
    """Plans made inside are screening plans (see the module docstring); yields where their
    decode figures are kept. One plan at a time: :func:`rigfit.recommend.screen` wraps each."""
    return _Scope()


class _Scope:
    """:func:`screening`'s context (a plain class: a ladder enters ~1,000 of them, and a
    generator-based context manager costs several times more)."""

    __slots__ = ("_token",)
    _token: Token[Screening | None]

    def __enter__(self) -> Screening:
        seen = Screening()
        self._token = _SCREENING.set(seen)
        return seen

    def __exit__(self, *exc: object) -> None:
        _SCREENING.reset(self._token)
