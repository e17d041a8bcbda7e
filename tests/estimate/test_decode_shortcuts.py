"""The decode pass's shortcuts (issue 15) give, to the last bit, what the arithmetic they replace
gives: each is compared with that arithmetic written out here, over catalog models × machines.

* per-window KV / attention sums (features.py ``_seg_kv_elems``, ``_seg_attn``) against the
  layer-by-layer sums, at whole, half and fractional depths, on per-query-head (Metal) and other
  backends;
* the dense-only weight and parameter sums against the per-layer expression;
* ``decode_time`` / ``decode_roofline_time`` by steps kept per key tuple against the key-by-key
  loops;
* layouts kept per machine against layouts built afresh;
* the decode figure from kept band constants against ``widen_figure(calibrated_figure(…))``, for
  every vendor / backend / OS, the widened unknown OS included.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from rigfit.catalog.models import load_models
from rigfit.estimate.placement import place
from rigfit.estimate.speed import estimate as est
from rigfit.estimate.speed import features as F
from rigfit.estimate.speed import layout as L
from rigfit.estimate.speed.coefficients import _decode_time, coefficient, decode_time, load_constants
from rigfit.estimate.speed.estimate import _run_setup, _tg_constants, _tg_figure, calibrated_figure
from rigfit.estimate.speed.features import (
    RunSettings,
    _seg_attn,
    _seg_kv_elems,
    _seg_params,
    _seg_weight_bytes,
    decode_features,
    decode_roofline_time,
)
from rigfit.estimate.speed.kvstream import decode_kv_elems_per_token
from rigfit.estimate.speed.osdriver import widen_figure
from rigfit.estimate.speed.work import ModelWork, mean_min, model_work
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine

MACHINES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RX 7900 XTX + 64GB DDR5-6000",
    "M2 Ultra 192GB",
    "Intel Arc A770 + 32GB DDR4-3200",
    "Ryzen 9 7950X + 64GB DDR5-6000",
)
BACKENDS = (None, "CUDA", "ROCm", "Vulkan", "Metal", "SYCL", "CPU")


def _works(step: int) -> list[ModelWork]:
    """Fresh works (no kept sums) of every ``step``-th catalog model in two quants."""
    out = []
    for arch in load_models()[::step]:
        for ft in ("Q4_K_M", "Q8_0"):
            w = model_work(catalog_model_spec(arch, ft))
            out.append(ModelWork(**{f: getattr(w, f) for f in w.__dataclass_fields__}))
    return out


def _kv_slow(work: ModelWork, layers: tuple[int, ...], be: str, d0: float, n: float) -> float:
    win = work.layer_window
    mm = {w: mean_min(d0, n, w) for w in set(win)}
    return sum(decode_kv_elems_per_token(work, i, be) * mm[win[i]] for i in layers)


def _attn_slow(work: ModelWork, layers: tuple[int, ...], depth: float) -> float:
    win = work.layer_window
    mm = {w: mean_min(depth, 1, w) for w in set(win)}
    return sum(work.layer_attn_dim[i] * mm[win[i]] for i in layers)


def _same(a: float, b: float) -> bool:
    """The same float (type and bits), the int 0 of an empty sum included."""
    return (
        type(a) is type(b) and (a == b or (a != a and b != b)) and math.copysign(1, a) == math.copysign(1, b)
    )


def _segments(work: ModelWork) -> list[tuple[int, ...]]:
    n = work.n_layer
    return [tuple(range(n)), tuple(range(n // 3)), tuple(range(n // 3, n)), (), (n - 1,)]


def test_window_sums_give_the_layer_by_layer_sums() -> None:
    m = resolve_machine(MACHINES[0])
    depths = [
        (0, 1),
        (1, 1),
        (4096, 1),
        (131072, 1),
        (4096.5, 1),
        (0, 128),
        (512, 128),
        (100.25, 7),
        (3, 1.5),
    ]
    checked = windowed = 0
    for work in _works(4):
        windowed += len(set(work.layer_window)) > 1
        for layers in _segments(work):
            for be in ("CUDA", "Metal", "ROCm"):
                seg = L.Segment(m.accelerators[0], be, "gpu", layers)
                for d0, n in depths:
                    fast, slow = _seg_kv_elems(work, seg, d0, n), _kv_slow(work, layers, be, d0, n)
                    assert _same(fast, slow), (work.n_layer, layers, be, d0, n, fast, slow)
                    checked += 1
            for d0, _ in depths:
                seg = L.Segment(m.accelerators[0], "CUDA", "gpu", layers)
                assert _same(_seg_attn(work, seg, d0), _attn_slow(work, layers, d0))
    assert checked > 1000 and windowed > 0  # sliding-window models among them


def test_window_sums_fall_back_where_a_sum_could_round() -> None:
    """Terms that are not whole numbers, or a total near 2**53, take the layer-by-layer sum."""
    base = _works(50)[0]
    n = base.n_layer
    odd = ModelWork(**{**_fields(base), "layer_kv_elems": tuple(x + 0.3 for x in base.layer_kv_elems)})
    huge = ModelWork(**{**_fields(base), "layer_kv_elems": tuple(2.0**50 + 1 for _ in range(n))})
    m = resolve_machine(MACHINES[0])
    for work in (odd, huge):
        seg = L.Segment(m.accelerators[0], "CUDA", "gpu", tuple(range(n)))
        for d0 in (0, 7, 4096, 4096.5):
            assert _same(_seg_kv_elems(work, seg, d0, 1), _kv_slow(work, seg.layers, "CUDA", d0, 1))


def _fields(w: ModelWork) -> dict:
    return {f: getattr(w, f) for f in w.__dataclass_fields__}


def test_dense_weight_and_parameter_sums_give_the_per_layer_expression() -> None:
    m = resolve_machine(MACHINES[0])
    for work in _works(4):
        for layers in _segments(work):
            for dense, experts, head in ((True, True, True), (True, False, False), (False, True, True)):
                seg = L.Segment(m.accelerators[0], "CUDA", "gpu", layers, head, 0, dense, experts)
                for frac in (work.expert_fraction, 0.25):
                    d, e = float(dense), float(experts)
                    wb = sum(
                        d * work.layer_dense_bytes[i] + e * frac * work.layer_expert_bytes[i] for i in layers
                    )
                    pp = sum(
                        d * work.layer_dense_params[i] + e * frac * work.layer_expert_params[i]
                        for i in layers
                    )
                    if head:
                        wb += work.head_bytes
                        pp += work.head_params
                    assert _same(_seg_weight_bytes(work, seg, frac), wb)
                    assert _same(_seg_params(work, seg, frac), pp)


def _roofline_slow(f: dict[str, float]) -> float:
    t = 0.0
    for k, v in f.items():
        head = k.split(":", 1)[0]
        if (k.endswith(":w") and "|" not in head) or k.endswith(":kv"):
            t += v
    return t


@pytest.mark.parametrize("machine_name", MACHINES)
def test_decode_time_and_roofline_steps_give_the_key_by_key_loops(machine_name: str) -> None:
    machine = resolve_machine(machine_name)
    C = load_constants()
    seen: set[tuple[str, ...]] = set()
    for work in _works(9):
        for backend in BACKENDS:
            for ngl in (None, work.n_layer // 2, 0):
                for build, fa, kv in ((None, None, "f16"), (1800, False, "q8_0"), (2500, True, "f16")):
                    settings = RunSettings(backend=backend, ngl=ngl, build=build, flash_attn=fa, kv_type=kv)
                    try:
                        layout = L.make_layout(work, machine, backend, ngl)
                        f = decode_features(work, layout, machine, settings, 4096, 1, C)
                    except ValueError:  # no bandwidth known, no CPU
                        continue
                    seen.add(tuple(f))
                    assert _same(decode_time(C, f), _decode_time(C, f))
                    assert _same(
                        decode_roofline_time(work, layout, machine, settings, 0, 1, C, features=f),
                        _roofline_slow(f),
                    )
                    assert decode_features(work, layout, machine, settings, 4096, 1, C) == _features_slow(
                        work, layout, machine, settings, 4096, 1, C
                    )
    assert len(seen) >= 3


def _features_slow(work, layout, machine, settings, depth0, n_tokens, C):
    """decode_features as it was written before its keys were kept (features.py at 30bd91b)."""
    from rigfit.estimate.speed.classes import intel_decode_efficiency, intel_decode_overhead, quant_family
    from rigfit.estimate.speed.work import kv_bytes_per_elem

    f: dict[str, float] = {}
    qfam = quant_family(work.file_type)
    era = settings.era
    kvb = kv_bytes_per_elem(settings.kv_type)
    efrac = work.expert_fraction
    fa = "fa1" if settings.fa else "fa0"
    main = F.main_segment(layout)
    for seg in layout.segments:
        bw = F._seg_bw(seg, machine, settings.threads, C)
        w = _slow_weight_bytes(work, seg, efrac) / bw
        if seg.role == "gpu":
            w /= intel_decode_efficiency(seg.device, seg.backend)
        if layout.n_tp > 1 and seg.role == "gpu":
            w /= layout.n_tp
        kv = 1 * (_kv_slow(work, seg.layers, seg.backend, depth0, n_tokens) if seg.dense else 0.0) * kvb / bw
        if layout.n_tp > 1 and seg.role == "gpu":
            kv /= layout.n_tp
        b, bq, bc, be = F._keys(seg.backend, seg.device, qfam, era)
        for k in (b, bq, bc, be, F._vendor_key(seg)):
            if k is not None:
                f[f"{k}:w"] = f.get(f"{k}:w", 0.0) + w
        if work.n_expert and seg.experts:
            f[f"{b}|moe:w"] = f.get(f"{b}|moe:w", 0.0) + (
                sum(efrac * work.layer_expert_bytes[i] for i in seg.layers)
                / bw
                / (intel_decode_efficiency(seg.device, seg.backend) if seg.role == "gpu" else 1.0)
            )
        f[f"{b}|{fa}:kv"] = f.get(f"{b}|{fa}:kv", 0.0) + kv
        n_l: float = len(seg.layers) if seg.dense else 0
        if seg.role == "gpu":
            n_l *= intel_decode_overhead(seg.device, seg.backend)
        f[f"{b}:t0l"] = f.get(f"{b}:t0l", 0.0) + n_l
        f[f"{be}:t0l"] = f.get(f"{be}:t0l", 0.0) + n_l
    b, _, _, be = F._keys(main.backend, main.device, qfam, era)
    steps = intel_decode_overhead(main.device, main.backend) if main.role == "gpu" else 1.0
    f[f"{b}:t0"] = f.get(f"{b}:t0", 0.0) + steps
    f[f"{be}:t0"] = f.get(f"{be}:t0", 0.0) + steps
    if layout.n_gpu_hops:
        f[f"hop:gpu|{main.backend}"] = float(layout.n_gpu_hops)
    if layout.n_cpu_hops:
        f["hop:cpu"] = float(layout.n_cpu_hops)
    return f


def _slow_weight_bytes(work: ModelWork, seg: L.Segment, frac: float) -> float:
    d, e = float(seg.dense), float(seg.experts)
    b = sum(d * work.layer_dense_bytes[i] + e * frac * work.layer_expert_bytes[i] for i in seg.layers)
    return b + work.head_bytes if seg.head else b


@pytest.mark.parametrize("machine_name", MACHINES[:4])
def test_kept_layouts_are_the_layouts_built_afresh(machine_name: str) -> None:
    machine = resolve_machine(machine_name)
    n = 0
    for arch in load_models()[::7]:
        spec = catalog_model_spec(arch, "Q4_K_M")
        work = model_work(spec)
        for ngl in (None, arch.n_layer // 2, 1):
            try:
                p = place(spec, machine, ngl=ngl)
            except ValueError:
                continue
            for backend in (None, "Vulkan"):
                kept = L.layout_from_placement(work, machine, p, backend)
                again = L.layout_from_placement(work, machine, p, backend)
                # the same placement as plain lists: never kept, built afresh
                loose = SimpleNamespace(
                    layer_device=list(p.layer_device),
                    devices=list(p.devices),
                    output_device=p.output_device,
                    expert_cpu_layers=p.expert_cpu_layers,
                )
                fresh = L.layout_from_placement(work, machine, loose, backend)
                assert kept == fresh and again is kept, (arch.id, ngl, backend)
                n += 1
    assert n > 50


def test_decode_figure_from_kept_band_constants() -> None:
    C = load_constants()
    vendors = ("nvidia", "amd", "intel", "apple", "cpu", "other")
    backends = ("CUDA", "ROCm", "Vulkan", "Metal", "SYCL", "CPU", "OpenCL")
    widened = 0
    for vendor in vendors:
        for be in backends:
            for split in ("layer", "row"):
                for os_name in ("unknown", "linux", "windows", "macos"):
                    consts = _tg_constants(C, be, split, vendor, os_name)
                    widened += consts[4] != (1.0, 1.0)
                    assert consts[0] == est.os_factor(C, "tg", vendor, be, os_name)
                    for value, roof in ((37.2, 80.0), (37.2, 30.0), (1e-3, 1e9), (512.25, 512.25)):
                        slow = widen_figure(
                            C,
                            "tg",
                            vendor,
                            be,
                            os_name,
                            calibrated_figure(C, "tg", be, value, roof, split, vendor),
                        )
                        fast = _tg_figure(consts, value, roof)
                        assert fast == slow and repr(fast) == repr(slow), (vendor, be, split, os_name, value)
    assert widened > 0  # some group's band is widened for an unknown OS


def test_kept_run_settings_and_peaks_match_fresh_ones() -> None:
    machine = resolve_machine(MACHINES[0])
    work = _works(60)[0]
    a = _run_setup(work, machine, None, None, None, None, None, None, 512, 2048, "f16", 1, "layer", False)
    b = _run_setup(work, machine, None, None, None, None, None, None, 512, 2048, "f16", 1, "layer", False)
    c = _run_setup(work, machine, None, None, None, None, True, 2500, 256, 1024, "q8_0", 2, "layer", False)
    assert a[0] is b[0] and a[0] == RunSettings()
    assert c[0] == RunSettings(
        flash_attn=True, build=2500, n_ubatch=256, n_batch=1024, kv_type="q8_0", parallel=2
    )
    C = load_constants()
    for name in MACHINES:
        m = resolve_machine(name)
        for seg in L.make_layout(work, m, None, work.n_layer // 2).segments:
            for s in (RunSettings(), RunSettings(threads=4, build=1800)):
                qf = "kquant"
                assert F._decode_peak(seg, m, s, qf, C) == F._seg_peak(seg, m, s, qf, C, decode=True)
    assert coefficient(C, "CUDA:w") == coefficient(dict(C), "CUDA:w")
