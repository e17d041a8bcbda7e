"""Predictions that guide the planner's -ngl and --n-cpu-moe searches (:func:`rigfit.plan.max_ngl`,
:func:`rigfit.plan.min_n_cpu_moe`) to their boundary in fewer probes (issue 15).

Each probe of those searches is a placement and a full buffer table. The answer only ever comes from
probes: a boundary is where one probe held and its neighbour failed, so for the monotone tests the
searches ask (memory grows with the layers on the GPUs, falls with the experts moved to RAM) it is
the binary search's whatever a prediction says. The predictions only choose where to probe:

* -ngl 0's slack, from the every-layer plan's rows with the layers' weights, KV cache and state off
  the GPUs (the search then needs no probe at 0 unless the answer is there);
* every --n-cpu-moe N's slack per GPU, from one probed N and the routed experts' bytes of each layer
  (:func:`rigfit.estimate.placement_sums.layer_sums`): with every layer on the GPUs, moving layer
  i's experts to RAM frees exactly their bytes on layer i's GPU; what else changes (the op-offload
  copy buffer, once at N ≥ 1) is in the probed rows, so a guess from a probed N ≥ 1 usually lands on
  the boundary, and a second probe beside it confirms it.

(With several GPUs the -ngl test is not always monotone: the layers' split moves with -ngl, so a
GPU's slack can rise again by a step, and the answer depends on the probes. There the -ngl search
makes the probes it made before (:func:`rigfit.estimate.bracket.last_ok_guess_verify`), so its
answers stay what they were; tests/test_plan_search_guided.py compares both searches with that
one over the MoE catalog.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate

from rigfit.estimate.bracket import last_ok_guess_verify, last_ok_unproved
from rigfit.estimate.placement import CPU, Placement
from rigfit.estimate.placement_sums import layer_sums
from rigfit.plantypes import DeviceMemory, PlanSettings

#: A placement and its rows (GPUs, then host), as :func:`rigfit.plan.device_memory` gives them.
Rows = tuple[Placement, list[DeviceMemory]]

#: Probes guided by the per-layer prediction before the search falls back to
#: :func:`rigfit.estimate.bracket.last_ok_unproved` on what they bracketed (a bound on the probes).
_GUIDED_PROBES = 3


def host_ok(devs: list[DeviceMemory]) -> bool:
    """Whether every device whose capacity is known holds its buffers (host RAM included)."""
    return all(d.headroom_bytes is None or d.headroom_bytes >= 0 for d in devs)


def max_ngl_search(at: Callable[[int], Rows], n_all: int, need: int) -> tuple[int | None, Rows | None]:
    """:func:`rigfit.plan.max_ngl` and the placement and rows at its answer (None, None: none);
    ``at(n)``: the rows at -ngl n (a probe, kept by the caller), ``need``: the bytes every GPU must
    keep free. -ngl 0 is probed only where the answer is there (its slack predicted by
    :func:`slack_without_layers`), except on several GPUs (the module's note)."""

    def ok(n: int) -> tuple[bool, float]:  # (every GPU keeps ``need`` free, the GPUs' slack)
        slack = gpu_slack(at(n)[1], need)
        return slack >= 0, slack

    devs_all = at(n_all)[1]  # every layer: the plan's first try
    slack_all = gpu_slack(devs_all, need)
    lo: int | None
    if sum(d.name != CPU for d in devs_all) > 1:  # the test may step back (see the module's note):
        ok0, slack0 = ok(0)  # the probes, and so the answers, of the search before this one
        if not ok0:
            return None, None
        lo = n_all if slack_all >= 0 else last_ok_guess_verify(ok, 0, n_all, slack0, slack_all)
    elif slack_all >= 0:
        lo = n_all if ok(0)[0] else None
    else:
        lo = last_ok_unproved(ok, 0, n_all, slack_without_layers(devs_all, need), slack_all, lo_known=False)
    if lo is None or not host_ok(at(lo)[1]):
        return None, None
    return lo, at(lo)


def min_n_cpu_moe_search(
    at: Callable[[int], tuple[PlanSettings, Placement, list[DeviceMemory]]], need: int
) -> tuple[int | None, tuple[PlanSettings, Placement, list[DeviceMemory]] | None]:
    """:func:`rigfit.plan.min_n_cpu_moe` and the settings, placement and rows at its answer (None,
    None: none); ``at(n)``: those at --n-cpu-moe n (a probe, kept by the caller), ``need``: the bytes
    every GPU must keep free."""
    _, pl0, first = at(0)
    if gpu_slack(first, need) >= 0:
        return (0, at(0)) if host_ok(first) else (None, None)
    # the first N no GPU is short at (some is at 0): guided by the experts' bytes per layer
    hi = first_gpu_fit(lambda n: at(n)[2], pl0, first, need)
    if hi is None or not host_ok(at(hi)[2]):
        return None, None
    return hi, at(hi)


def gpu_slack(devs: list[DeviceMemory], need: int) -> float:
    """The least headroom beyond ``need`` over the GPUs whose capacity is known [B] (+inf when none
    is): ≥ 0 exactly when every such GPU keeps ``need`` free."""
    return min(
        (d.headroom_bytes - need for d in devs if d.name != CPU and d.headroom_bytes is not None),
        default=math.inf,
    )


def slack_without_layers(devs: list[DeviceMemory], need: int) -> float:
    """A prediction of the GPUs' slack at -ngl 0 from their rows with every layer on them (it only
    chooses the -ngl search's probes): the weights, KV cache and state gone, the rest as it was [B]."""
    return min(
        (
            d.headroom_bytes + d.weights_bytes + d.kv_bytes + d.recurrent_bytes - need
            for d in devs
            if d.name != CPU and d.headroom_bytes is not None
        ),
        default=math.inf,
    )


def first_gpu_fit(
    devs: Callable[[int], list[DeviceMemory]], pl0: Placement, rows0: list[DeviceMemory], need: int
) -> int | None:
    """The smallest --n-cpu-moe N in 1 … n_layer at which every GPU keeps ``need`` free, None where
    none does; ``devs(N)``: the rows at N (a probe), ``pl0`` / ``rows0``: the placement and rows at
    N = 0, where some GPU is short (the caller checked). The test "some GPU is short" holds up to
    the answer and fails from it on (monotone), and the answer is a probe that fits next to one
    that does not (or N = 0): the binary search's."""
    n_layer = len(pl0.layer_device)
    gpus = tuple(d.name for d in rows0 if d.name != CPU and d.headroom_bytes is not None)
    freed = _experts_freed(pl0, gpus, n_layer)
    lo, lo_slack = 0, gpu_slack(rows0, need)  # the last N known short (by how much: < 0)
    hi: int | None = None  # the first N known to fit
    hi_slack = 0.0
    base = _bases(freed, gpus, 0, rows0, need)
    for _ in range(_GUIDED_PROBES):
        top = n_layer if hi is None else hi - 1
        if top <= lo:
            break
        m = _predicted_fit(freed, base, lo + 1, top)
        rows = devs(m)
        slack = gpu_slack(rows, need)
        if slack >= 0:
            hi, hi_slack = m, slack
        else:
            lo, lo_slack = m, slack
        base = _bases(freed, gpus, m, rows, need)
    if hi is not None and hi - lo == 1:
        return hi

    def over(n: int) -> tuple[bool, float]:  # (some GPU short of ``need``, by how much)
        s = gpu_slack(devs(n), need)
        return s < 0, -s

    top = n_layer if hi is None else hi
    top_slack = hi_slack if hi is not None else _predicted_slack(freed, base, n_layer)
    last = last_ok_unproved(over, lo, top, -lo_slack, -top_slack, hi_known=hi is not None)
    return None if last is None or last >= n_layer else last + 1


def _experts_freed(pl: Placement, gpus: tuple[str, ...], n_layer: int) -> tuple[tuple[int, ...], ...]:
    """Per GPU of ``gpus``: the routed experts' bytes of its layers below N, for N = 0 … n_layer [B]."""
    e_bytes = layer_sums(pl.runs, n_layer).experts[0]
    return _freed(tuple(e_bytes), pl.layer_device, gpus)


@lru_cache(maxsize=1024)
def _freed(
    e_bytes: tuple[int, ...], layer_device: tuple[str, ...], gpus: tuple[str, ...]
) -> tuple[tuple[int, ...], ...]:
    return tuple(
        (0, *accumulate(b if dev == g else 0 for b, dev in zip(e_bytes, layer_device, strict=False)))
        for g in gpus
    )


def _bases(
    freed: tuple[tuple[int, ...], ...],
    gpus: tuple[str, ...],
    anchor: int,
    rows: list[DeviceMemory],
    need: int,
) -> list[int]:
    """Per GPU: its slack at ``anchor`` (from ``rows``) less the experts freed below it [B], so that
    base + freed[n] predicts its slack at N = n."""
    headroom = {d.name: d.headroom_bytes for d in rows}
    return [(headroom[g] or 0) - need - f[anchor] for g, f in zip(gpus, freed, strict=True)]


def _predicted_slack(freed: tuple[tuple[int, ...], ...], base: list[int], n: int) -> float:
    """The GPUs' least slack at N = ``n`` predicted from the bases of :func:`_bases` [B]."""
    return min((b + f[n] for b, f in zip(base, freed, strict=True)), default=math.inf)


def _predicted_fit(freed: tuple[tuple[int, ...], ...], base: list[int], a: int, b: int) -> int:
    """The smallest N in [a, b] predicted to fit (``b`` where none is: the top of what is left to
    probe); the prediction grows with N, so by halving."""
    if _predicted_slack(freed, base, b) < 0:
        return b
    while a < b:
        mid = (a + b) // 2
        if _predicted_slack(freed, base, mid) >= 0:
            b = mid
        else:
            a = mid + 1
    return a
