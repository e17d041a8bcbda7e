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
answer whatever it probes. The guesses only pick which points to probe; a guess that misses is
followed by a verification step and then a plain halving, so at worst it makes three probes per
halving (tests/test_plan_search_bracket.py counts them; on the catalog it makes a third to two
thirds of a binary search's).
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
