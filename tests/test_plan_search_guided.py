"""The guided -ngl and --n-cpu-moe searches (rigfit/plan_search.py, bracket.last_ok_unproved) give
the binary search's answers.

* :func:`last_ok_unproved` against a plain binary search over monotone tests whose ends may not
  have been probed, with predictions that are right, off, or unrelated to the boundary.
* ``max_ngl`` and ``min_n_cpu_moe`` against the same functions as they were before (a binary
  search between probed ends), over catalog models × quants × contexts on several machines, with
  fewer placements made in all.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest

from rigfit import plan as plan_mod
from rigfit import plan_search
from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate.bracket import _interpolate, last_ok_unproved
from rigfit.estimate.placement import CPU, has_expert_tensors
from rigfit.hardware.grammar import resolve_machine
from rigfit.plantypes import DeviceMemory, PlanSettings, resolve_ctx


def _bisect_last(test, lo: int, hi: int) -> int | None:
    """The largest n in [lo, hi] where ``test`` holds, by a binary search (None: nowhere)."""
    if not test(lo):
        return None
    if test(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if test(mid):
            lo = mid
        else:
            hi = mid
    return lo


@pytest.mark.parametrize("prediction", ["exact", "off", "wild", "infinite"])
def test_last_ok_unproved_equals_binary_search(prediction: str) -> None:
    rng = random.Random(27)
    worst = 0.0
    for _ in range(600):
        lo = rng.randrange(0, 30)
        hi = lo + rng.randrange(0, 120)
        boundary = rng.randrange(lo - 1, hi + 1)  # lo - 1: holds nowhere; hi: holds everywhere
        lo_known = rng.random() < 0.5 or boundary < lo  # a known end is one the test is right at
        hi_known = rng.random() < 0.5 or boundary >= hi
        if boundary < lo and lo_known:
            continue  # (a caller knows the test holds at a known lo)
        if boundary >= hi and hi_known:
            continue  # (… and fails at a known hi)
        probes: list[int] = []
        off = {"exact": 0.0, "off": rng.uniform(-9, 9), "wild": 0.0, "infinite": 0.0}[prediction]

        def slack(n: int, b: int = boundary, off: float = off) -> float:
            if prediction == "wild":
                return rng.uniform(-50, 50)
            if prediction == "infinite":
                return math.inf if n <= b else -math.inf
            return b - n + 0.5 + off

        def probe(
            n: int, b: int = boundary, seen: list[int] = probes, lo: int = lo, hi: int = hi
        ) -> tuple[bool, float]:
            seen.append(n)
            assert lo <= n <= hi
            held = n <= b
            s = slack(n)
            return held, (abs(s) if held else -abs(s)) if math.isfinite(s) else s

        got = last_ok_unproved(probe, lo, hi, slack(lo), slack(hi), lo_known=lo_known, hi_known=hi_known)
        want = None if boundary < lo else boundary
        assert got == want == _bisect_last(lambda n, b=boundary: n <= b, lo, hi), (lo, hi, boundary)
        if prediction == "exact" and lo < boundary < hi - 1:
            assert len(probes) <= 2  # one probe at the boundary and one beside it
        if hi - lo > 1:
            worst = max(worst, (len(probes) - 2) / math.ceil(math.log2(hi - lo)))
    assert worst <= 4  # at most a guess, its check, a second guess and a halving per halving


def _last_ok_main(probe, lo: int, hi: int, lo_slack: float, hi_slack: float) -> int:
    """:func:`rigfit.estimate.bracket.last_ok` as it was on main 30bd91b (guess, its neighbour, a
    halving): the searches below are the ones main made, probe for probe."""
    mode = "guess"
    last_held = True
    while hi - lo > 1:
        if mode == "guess":
            m, mode = _interpolate(lo, hi, lo_slack, hi_slack), "verify"
        elif mode == "verify":
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


def _max_ngl_before(model, machine, settings: PlanSettings, allow_tight: bool) -> int | None:
    """``max_ngl`` as it was before the guided search (main 30bd91b): -ngl 0 and every layer
    probed, then :func:`_last_ok_main` between them (multi-GPU -ngl tests are not always monotone —
    the split moves with -ngl — so the reference is that search, not a plain binary search)."""
    profile = mem.build_profile(settings.llama_build)
    n_ctx = resolve_ctx(model, settings)
    n_all = model.arch.n_layer + 1
    need = 0 if allow_tight else settings.margin_bytes

    def devs(n: int):
        return plan_mod.device_memory(model, machine, settings, n_ctx, n, profile)[1]

    def ok(n: int) -> tuple[bool, float]:
        slack = plan_mod._slack([d for d in devs(n) if d.name != CPU], need)
        return slack >= 0, slack

    ok0, slack0 = ok(0)
    if not ok0:
        return None
    ok_all, slack_all = ok(n_all)
    lo = n_all if ok_all else _last_ok_main(ok, 0, n_all, slack0, slack_all)
    return lo if all(d.headroom_bytes is None or d.headroom_bytes >= 0 for d in devs(lo)) else None


def _min_n_cpu_moe_before(model, machine, settings: PlanSettings, allow_tight: bool) -> int | None:
    """``min_n_cpu_moe`` as it was before the guided search (main 30bd91b): N = 0 and --cpu-moe
    probed, then :func:`_last_ok_main` between them."""
    if model.arch.moe is None or not has_expert_tensors(model):
        return None
    profile = mem.build_profile(settings.llama_build)
    n_ctx = resolve_ctx(model, settings)
    need = 0 if allow_tight else settings.margin_bytes
    base = plan_mod.replace(settings, ngl=None, cpu_moe=False)

    def devs(n: int):
        s = plan_mod.replace(base, n_cpu_moe=n)
        return plan_mod.device_memory(model, machine, s, n_ctx, None, profile)[1]

    def host_ok(ds) -> bool:
        return all(d.headroom_bytes is None or d.headroom_bytes >= 0 for d in ds)

    def over(n: int) -> tuple[bool, float]:
        slack = plan_mod._slack([d for d in devs(n) if d.name != CPU], need)
        return slack < 0, -slack

    over0, s0 = over(0)
    if not over0:
        return 0 if host_ok(devs(0)) else None
    n_layer = model.arch.n_layer
    over_top, s_top = over(n_layer)
    if over_top:
        return None
    hi = _last_ok_main(over, 0, n_layer, s0, s_top) + 1
    return hi if host_ok(devs(hi)) else None


MACHINES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "RX 7900 XTX + 64GB DDR5-6000",
    "4x RTX 3090 + 256GB DDR4-3200",  # (its -ngl test steps back: main's -ngl search kept there)
)


def _placements_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the placements and buffer tables built afresh (the searches' probes)."""
    built = [0]
    real = plan_mod._device_memory

    def counting(*a, **kw):
        built[0] += 1
        return real(*a, **kw)

    monkeypatch.setattr(plan_mod, "_device_memory", counting)
    return built


@pytest.mark.parametrize("machine_name", MACHINES)
def test_guided_searches_equal_binary_search(machine_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = resolve_machine(machine_name)
    built = _placements_counted(monkeypatch)
    models = [a for a in load_models() if a.moe is not None] + list(load_models()[::11])
    cases = []
    for arch in models:
        for q in ("Q8_0", "Q4_K_M", "Q2_K"):
            try:
                spec = rec._spec(arch.id, q)
            except RigfitError:
                continue
            for ctx in (4096, 32768):
                cases.append((arch.id, q, spec, PlanSettings(n_ctx=ctx)))
    answers = {}
    counts = {}

    def new(m, s, t):
        return plan_mod.max_ngl(m, machine, s, allow_tight=t), plan_mod.min_n_cpu_moe(
            m, machine, s, allow_tight=t
        )

    def before(m, s, t):
        return _max_ngl_before(m, machine, s, t), _min_n_cpu_moe_before(m, machine, s, t)

    for name, fn in (("new", new), ("before", before)):
        plan_mod._DEVICE_MEMORY.clear()
        plan_mod._DEVICE_ROWS.clear()
        built[0] = 0
        out = []
        for arch_id, q, spec, s in cases:
            for tight in (False, True):
                try:
                    out.append((arch_id, q, s.n_ctx, tight, *fn(spec, s, tight)))
                except RigfitError as exc:
                    out.append((arch_id, q, s.n_ctx, tight, str(exc)))
        answers[name], counts[name] = out, built[0]
    assert answers["new"] == answers["before"]
    found = [r for r in answers["new"] if len(r) == 6]
    n_all = {a.id: a.n_layer + 1 for a in models}
    assert sum(r[4] is not None and 0 < r[4] < n_all[r[0]] for r in found) > 20  # -ngl searches
    assert sum(r[5] is not None and r[5] > 0 for r in found) > 20  # --n-cpu-moe searches
    assert sum(r[5] is None for r in found if rec.get_model(r[0]).moe is not None) > 3  # none fits
    assert counts["new"] < 0.9 * counts["before"], (
        counts
    )  # 0.67–0.81 measured (every plan's first try included)


@pytest.mark.parametrize("prediction", ["exact", "constant off", "wrong"])
def test_first_gpu_fit_equals_linear_scan(prediction: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guided --n-cpu-moe search on synthetic GPUs whose slack grows with N (by steps, with a
    jump at N = 1 like the op-offload copy buffer) against the first N found by a scan, whatever
    the per-layer prediction says."""
    rng = random.Random(15)
    for _ in range(400):
        n_layer = rng.randrange(1, 100)
        gpus = ("CUDA0", "CUDA1")[: rng.randrange(1, 3)]
        true_steps = {g: [rng.choice((0, 0, rng.randrange(1, 500))) for _ in range(n_layer)] for g in gpus}
        jump = {g: -rng.randrange(0, 300) for g in gpus}
        start = {g: -rng.randrange(1, 3000) for g in gpus}

        def slack(g: str, n: int, steps=true_steps, jump=jump, start=start) -> int:
            return start[g] + sum(steps[g][:n]) + (jump[g] if n >= 1 else 0)

        if prediction == "exact":
            pred = {g: true_steps[g] for g in gpus}
        elif prediction == "constant off":
            pred = {g: [max(0, s + rng.randrange(-20, 20)) for s in true_steps[g]] for g in gpus}
        else:
            pred = {g: [rng.randrange(0, 500) for _ in range(n_layer)] for g in gpus}
        freed = tuple(tuple(sum(pred[g][:n]) for n in range(n_layer + 1)) for g in gpus)
        monkeypatch.setattr(plan_search, "_experts_freed", lambda pl, gs, n, freed=freed: freed)

        def rows(n: int, gpus: tuple[str, ...] = gpus, slack=slack) -> list[DeviceMemory]:
            out = [
                DeviceMemory(name=g, kind="gpu", weights_bytes=10_000, capacity_bytes=10_000 + slack(g, n))
                for g in gpus
            ]  # (headroom: the slack)
            return [*out, DeviceMemory(name=CPU, kind="cpu")]

        probes: list[int] = []

        def devs(n: int, seen: list[int] = probes, rows=rows) -> list[DeviceMemory]:
            seen.append(n)
            return rows(n)

        rows0 = devs(0)
        probes.clear()
        pl0 = SimpleNamespace(layer_device=("CUDA0",) * n_layer)
        got = plan_search.first_gpu_fit(devs, pl0, rows0, 0)
        want = next((n for n in range(1, n_layer + 1) if min(slack(g, n) for g in gpus) >= 0), None)
        assert got == want, (n_layer, gpus, probes)
        assert all(1 <= n <= n_layer for n in probes)
        if prediction == "exact" and want is not None and 1 < want < n_layer:
            assert len(probes) <= 3  # a guess (and one more where the jump at N = 1 misled it), its check
