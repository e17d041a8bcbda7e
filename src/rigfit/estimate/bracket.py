"""The boundary of a monotone test over integers, found with fewer probes than a binary search.

The planner's searches (the largest ``-ngl`` that fits, the smallest ``--n-cpu-moe``, the largest
context) each test a predicate that holds up to some point and fails after it: memory grows
with the layers on the GPU, with the context, and falls with the experts moved to RAM. Each probe
is a placement and a full buffer table. A binary search over ``-ngl`` 0…81 takes ~7 probes; but
the memory is close to linear in the searched quantity (a layer's weights, a token's KV cache),
so the *slack* of a probe (bytes to spare, negative when over) predicts the boundary: one
interpolated probe lands at it or next to it, and one more confirms it.

:func:`last_ok` keeps the binary search's invariant (the test holds at ``lo`` and fails at
``hi``) and stops, like it, when they are adjacent, so for a monotone test it returns the same
answer whatever it probes. The guesses only pick which points to probe: each round interpolates
between the ends of the bracket twice (the second time from the first guess, where the test
changes sign next to it when the slack is linear — a guess at the boundary is confirmed by its
neighbour — and a curved slack is corrected by the first guess's), then halves the bracket unless
the two guesses already did, so at worst it makes three probes per halving
(tests/test_plan_search_bracket.py counts them; on the catalog it makes a third to two thirds of a
binary search's).
"""

from __future__ import annotations

import math
from collections.abc import Callable


def last_ok(
    probe: Callable[[int], tuple[bool, float]], lo: int, hi: int, lo_slack: float, hi_slack: float
) -> int:
    """The largest ``n`` in [lo, hi) where the test holds, given that it holds at ``lo`` and fails
    at ``hi`` and holds up to some point and fails after it (monotone).

    probe(n): (whether the test holds at n, its slack: ≥ 0 where it holds, < 0 where it fails,
    roughly linear in n — only used to choose where to probe next); lo_slack / hi_slack: the
    slack at lo and hi."""
    width, step = hi - lo, 0  # a round: two guesses, then a halving unless they halved it already
    while hi - lo > 1:
        m = _interpolate(lo, hi, lo_slack, hi_slack) if step < 2 else (lo + hi) // 2
        held, slack = probe(m)
        if held:
            lo, lo_slack = m, slack
        else:
            hi, hi_slack = m, slack
        step += 1
        if step == 3 or (step == 2 and 2 * (hi - lo) <= width):
            width, step = hi - lo, 0
    return lo


def last_ok_guess_verify(
    probe: Callable[[int], tuple[bool, float]], lo: int, hi: int, lo_slack: float, hi_slack: float
) -> int:
    """:func:`last_ok` by the probes it made before (issue 15, session 27): a guess, its neighbour,
    a halving. For a monotone test the answer is the same; a test that is not quite monotone (the
    -ngl test on several GPUs, whose layer split moves with -ngl) answers by its probes, and this
    keeps the answers it gave."""
    mode = "guess"
    last_held = True
    while hi - lo > 1:
        if mode == "guess":
            m, mode = _interpolate(lo, hi, lo_slack, hi_slack), "verify"
        elif mode == "verify":  # the guess is the boundary when its neighbour disagrees
            m, mode = (lo + 1 if last_held else hi - 1), "halve"
        else:
            m, mode = (lo + hi) // 2, "guess"
        held, slack = probe(m)
        if held:
            lo, lo_slack = m, slack
        else:
            hi, hi_slack = m, slack
        last_held = held
    return lo


def _interpolate(lo: int, hi: int, lo_slack: float, hi_slack: float) -> int:
    """Where the slack, linear between (lo, lo_slack) and (hi, hi_slack), last is ≥ 0 — within
    (lo, hi); the midpoint where the slacks say nothing."""
    span = lo_slack - hi_slack
    if not (math.isfinite(lo_slack) and math.isfinite(hi_slack)) or span <= 0:
        return (lo + hi) // 2
    x = lo + (hi - lo) * lo_slack / span
    return min(max(math.floor(x), lo + 1), hi - 1)


def last_ok_unproved(
    probe: Callable[[int], tuple[bool, float]],
    lo: int,
    hi: int,
    lo_slack: float,
    hi_slack: float,
    *,
    lo_known: bool = True,
    hi_known: bool = True,
) -> int | None:
    """The largest ``n`` in [lo, hi] where the monotone test holds, None where it holds nowhere —
    :func:`last_ok` where an end need not have been probed: ``lo_known`` / ``hi_known`` False say
    that the test at that end is not known (its slack is then a prediction, only used to choose
    probes), so a search that lands next to the predicted boundary makes two probes in all.

    It searches as if the test held at ``lo`` and failed at ``hi``, keeping that invariant and
    stopping when they are adjacent, like :func:`last_ok`; an answer at an unprobed end is then
    probed: a test that fails at ``lo`` fails everywhere (None), and one that holds at ``hi`` holds
    up to it (``hi``). Any other answer lies between a probe that held and one that failed, so it
    is the binary search's whatever the predictions were. It probes as :func:`last_ok` does, plus
    an unprobed end where the answer is there; one whose predicted slack says so is probed first."""
    lo0, hi0 = lo, hi
    if not lo_known and lo_slack < 0:  # predicted to fail everywhere: that end first
        held, lo_slack = probe(lo)
        if not held:
            return None
        lo_known = True
    if not hi_known and hi_slack >= 0 and hi > lo:  # predicted to hold everywhere: that end first
        held, hi_slack = probe(hi)
        if held:
            return hi
        hi_known = True
    lo = last_ok(probe, lo, hi, lo_slack, hi_slack)
    if lo == lo0 and not lo_known and not probe(lo)[0]:
        return None
    if lo == hi0 - 1 and not hi_known and hi0 > lo0 and probe(hi0)[0]:
        return hi0
    return lo
