"""The planner's boundary searches (estimate/bracket.py) give the binary search's answers.

* :func:`last_ok` against a plain binary search over monotone tests whose slack is linear,
  curved, flat, infinite or unrelated to the boundary, with a bound on its probes.
* ``max_context`` with :func:`last_ok` against the same function with a binary search in its place
  (the search it made before), over catalog models × quants on several machines, and fewer
  placements made in all (``max_ngl`` and ``min_n_cpu_moe`` run here too, but their guided searches
  are compared with these ones in tests/test_plan_search_guided.py).
"""

from __future__ import annotations

import math
import random

import pytest

from rigfit import plan as plan_mod
from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.estimate.bracket import last_ok
from rigfit.hardware.grammar import resolve_machine
from rigfit.plantypes import PlanSettings


def _bisect(probe, lo: int, hi: int, lo_slack: float, hi_slack: float) -> int:
    """The binary search the planner made before (same invariant: holds at lo, fails at hi)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(mid)[0]:
            lo = mid
        else:
            hi = mid
    return lo


_SLACKS = {
    "linear": lambda n, b: float(b - n) + 0.5,
    "curved": lambda n, b: (b + 0.5) ** 2 - n * n,
    "flat": lambda n, b: 1.0 if n <= b else -1.0,
    "infinite": lambda n, b: math.inf if n <= b else -math.inf,
    "offset": lambda n, b: float(3 * b - n) if n <= b else -1.0 - (n - b),  # says the wrong place
}


@pytest.mark.parametrize("kind", list(_SLACKS))
def test_last_ok_equals_binary_search(kind: str) -> None:
    rng = random.Random(15)
    slack_of = _SLACKS[kind]
    worst = 0
    for _ in range(400):
        lo = rng.randrange(0, 50)
        hi = lo + rng.randrange(1, 600)
        boundary = rng.randrange(lo, hi)  # the last n where the test holds
        probes: list[int] = []

        def probe(
            n: int, b: int = boundary, seen: list[int] = probes, lo: int = lo, hi: int = hi
        ) -> tuple[bool, float]:
            seen.append(n)
            assert lo < n < hi  # never outside the bracket, never an endpoint again
            return n <= b, slack_of(n, b)

        got = last_ok(probe, lo, hi, slack_of(lo, boundary), slack_of(hi, boundary))
        n_probes = len(probes)
        assert got == boundary == _bisect(probe, lo, hi, 0.0, 0.0)
        if kind == "linear":  # an exact guess: one probe at the boundary and one beside it
            assert n_probes <= 2
        worst = max(worst, n_probes / max(1, math.ceil(math.log2(hi - lo))))
    assert worst <= 3  # at most a guess and its check per halving


MACHINES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "M3 Max 40-core 128GB",
)


def _searches(machine_name: str, search) -> tuple[list[tuple], int]:
    """Every search's answer over every 9th catalog model at three quants with ``search`` in
    place of :func:`last_ok`, and the placements its probes asked for."""
    machine = resolve_machine(machine_name)
    probes = 0

    def counted(probe, lo: int, hi: int, lo_slack: float, hi_slack: float) -> int:
        def one(n: int) -> tuple[bool, float]:
            nonlocal probes
            probes += 1
            return probe(n)

        return search(one, lo, hi, lo_slack, hi_slack)

    out = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(plan_mod, "last_ok", counted)
        for arch in load_models()[::9]:
            for q in ("Q8_0", "Q4_K_M", "Q2_K"):
                try:
                    spec = rec._spec(arch.id, q)
                except RigfitError:
                    continue
                s = PlanSettings(n_ctx=8192)
                for tight in (False, True):
                    try:
                        out.append(
                            (
                                arch.id,
                                q,
                                tight,
                                plan_mod.max_ngl(spec, machine, s, allow_tight=tight),
                                plan_mod.min_n_cpu_moe(spec, machine, s, allow_tight=tight),
                                plan_mod.max_context(spec, machine, PlanSettings(), allow_tight=tight),
                            )
                        )
                    except RigfitError as exc:
                        out.append((arch.id, q, tight, str(exc)))
    return out, probes


@pytest.mark.parametrize("machine_name", MACHINES)
def test_plan_searches_equal_binary_search(machine_name: str) -> None:
    quick, quick_probes = _searches(machine_name, last_ok)
    slow, slow_probes = _searches(machine_name, _bisect)
    assert quick == slow
    assert len(quick) > 150
    found = [r for r in quick if len(r) == 6]
    assert sum(r[3] is not None and r[3] > 0 for r in found) > 10  # -ngl searches that ran
    assert sum(r[5] > 256 for r in found) > 50  # context searches that ran
    if machine_name != MACHINES[3]:
        assert sum(r[4] is not None and r[4] > 0 for r in found) > 3  # --n-cpu-moe searches
    assert quick_probes < 0.7 * slow_probes, (quick_probes, slow_probes)  # 0.3–0.7 measured


def test_device_memory_ngl_all_is_one_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """-ngl None (every layer, the plan's first try) and n_layer + 1 (the -ngl search's top) are
    the same placement: one answer is built and kept for both, equal to building each afresh."""
    machine = resolve_machine(MACHINES[2])
    built = 0
    real = plan_mod._device_memory

    def counting(*a, **kw):
        nonlocal built
        built += 1
        return real(*a, **kw)

    monkeypatch.setattr(plan_mod, "_device_memory", counting)
    plan_mod._DEVICE_MEMORY.clear()
    checked = 0
    for arch in load_models()[::25]:
        try:
            spec = rec._spec(arch.id, "Q4_K_M")
        except RigfitError:
            continue
        s = PlanSettings(n_ctx=8192)
        profile = plan_mod.mem.build_profile(s.llama_build)
        before = built
        pl_a, devs_a = plan_mod.device_memory(spec, machine, s, 8192, None, profile)
        pl_b, devs_b = plan_mod.device_memory(spec, machine, s, 8192, arch.n_layer + 1, profile)
        assert built == before + 1, arch.id  # the second is the kept answer
        fresh_pl, fresh_devs = real(spec, machine, s, 8192, arch.n_layer + 1, profile)
        assert pl_a == pl_b == fresh_pl and devs_b == fresh_devs == devs_a, arch.id
        checked += 1
    assert checked >= 8
