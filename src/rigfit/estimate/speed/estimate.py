"""The user-facing estimate (``rigfit plan``) and llama-bench test predictions."""

from __future__ import annotations

import math
from typing import Any

from rigfit.catalog.arch import ModelSpec
from rigfit.estimate.backends import normalise_backend
from rigfit.estimate.speed.bands import FEW_DEVICES, MIN_VENDOR_ROWS, vendor_of
from rigfit.estimate.speed.classes import build_label
from rigfit.estimate.speed.coefficients import (
    band,
    band_entry,
    centre_in_band,
    coefficient,
    decode_time,
    load_constants,
    prefill_time,
)
from rigfit.estimate.speed.features import (
    RunSettings,
    decode_compute_time,
    decode_features,
    decode_roofline_time,
    main_segment,
    prefill_features,
)
from rigfit.estimate.speed.hosted import estimate_hosted
from rigfit.estimate.speed.layout import (
    Layout,
    layout_from_placement,
    make_layout,
    placement_ngl,
    placement_split,
)
from rigfit.estimate.speed.osdriver import factor as os_factor
from rigfit.estimate.speed.osdriver import label as os_label
from rigfit.estimate.speed.osdriver import os_notes, widen_figure, widen_unknown
from rigfit.estimate.speed.peaks import cpu_isa
from rigfit.estimate.speed.result import SpeedEstimate
from rigfit.estimate.speed.work import ModelWork, model_work, state_words
from rigfit.figures import Figure
from rigfit.hardware.devices import Machine


def decode_tps(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    depth0: float,
    n_tokens: float,
    C: dict,
    batch: int = 1,
) -> tuple[float, float, float]:
    """(tokens/s per sequence, roofline tokens/s, compute-bound step time)."""
    f = decode_features(work, layout, machine, settings, depth0, n_tokens, C, batch)
    t_mem = decode_time(C, f)
    t_roof = decode_roofline_time(work, layout, machine, settings, depth0, n_tokens, C, batch, features=f)
    t_cmp = decode_compute_time(work, layout, machine, settings, depth0 + n_tokens / 2, C, batch)
    t = max(t_mem, t_cmp, t_roof)
    return 1.0 / t, (1.0 / t_roof if t_roof > 0 else math.inf), t_cmp


def prefill_tps(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    n_prompt: int,
    depth0: int,
    C: dict,
) -> tuple[float, float, dict]:
    f, info = prefill_features(work, layout, machine, settings, n_prompt, depth0, C)
    t = max(prefill_time(C, f), info["roofline_s"])
    return n_prompt / t, (n_prompt / info["roofline_s"] if info["roofline_s"] > 0 else math.inf), f


def predict_test(
    work: ModelWork,
    machine: Machine,
    settings: RunSettings,
    kind: str,
    prompt: int = 0,
    gen: int = 0,
    depth: int = 0,
    C: dict | None = None,
) -> tuple[float, float]:
    """Predicted tokens/s of a llama-bench test and its roofline: kind pp / tg / pg."""
    C = C or load_constants()
    layout = make_layout(
        work, machine, settings.backend, settings.ngl, settings.cpu_only, settings.split_mode
    )
    if kind == "pp":
        tps, roof, _ = prefill_tps(work, layout, machine, settings, prompt, depth, C)
        return tps, roof
    if kind == "tg":
        tps, roof, _ = decode_tps(work, layout, machine, settings, depth, gen, C)
        return tps, roof
    pp, pp_roof, _ = prefill_tps(work, layout, machine, settings, prompt, depth, C)
    tg, tg_roof, _ = decode_tps(work, layout, machine, settings, depth + prompt, gen, C)
    t = prompt / pp + gen / tg
    t_roof = prompt / pp_roof + gen / tg_roof
    return (prompt + gen) / t, (prompt + gen) / t_roof if t_roof > 0 else math.inf


def _cpu_share_words(layout: Layout, n_layer: int | None = None) -> str:
    """What the CPU holds of a partly offloaded model: 'the 8 layers' / '8 of 32 layers', and
    'the routed experts of N layers' (``--n-cpu-moe``)."""
    n_cpu = sum(len(s.layers) for s in layout.cpu_segments if s.dense)
    n_moe = sum(len(s.layers) for s in layout.cpu_segments if not s.dense)
    what = ""
    if n_cpu:
        what = f"{n_cpu} of {n_layer} layers" if n_layer is not None else f"the {n_cpu} layers"
    if n_moe:
        what += (" and " if what else "") + f"the routed experts of {n_moe} layers"
    return what


def _decode_parts(
    work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings, C: dict, depth: float
) -> dict[str, float]:
    """Decode step time [s] by part: 'gpu' / 'cpu' (weights and KV), 'overhead', 'interconnect'."""
    f = decode_features(work, layout, machine, settings, depth, 1, C)
    parts: dict[str, float] = {}
    for seg in layout.segments:
        sub = Layout((seg,), 0, 0, layout.split_mode, layout.n_tp, layout.link)
        g = decode_features(work, sub, machine, settings, depth, 1, C)
        t = decode_time(C, {k: v for k, v in g.items() if k.endswith(":w") or k.endswith(":kv")})
        name = "cpu" if seg.role == "cpu" else "gpu"
        parts[name] = parts.get(name, 0.0) + t
    parts["overhead"] = sum(coefficient(C, k) * v for k, v in f.items() if k.endswith((":t0", ":t0l")))
    parts["interconnect"] = sum(coefficient(C, k) * v for k, v in f.items() if k.startswith(("hop:", "row:")))
    return parts


def bottleneck_words(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    C: dict,
    depth: float = 0.0,
) -> tuple[str, dict[str, float]]:
    """What limits decode, in words, with the share of the step time of each part."""
    parts = _decode_parts(work, layout, machine, settings, C, depth)
    t_cmp = decode_compute_time(work, layout, machine, settings, depth, C)
    total = sum(parts.values())
    if t_cmp > total:
        return "compute (the processor's arithmetic, not memory, limits each token)", parts
    share = {k: v / total for k, v in parts.items()} if total > 0 else parts
    top = max(share, key=lambda k: share[k])
    pct = f"{share[top]:.0%} of each token"
    if top == "cpu" and layout.gpu_segments:
        return (
            f"offload: {_cpu_share_words(layout)} in system RAM are read by the CPU ({pct}); "
            f"more VRAM or a smaller quant would help most"
        ), share
    words = {
        "cpu": f"memory bandwidth of system RAM ({pct})",
        "gpu": f"memory bandwidth (reading the {state_words(work)}: {pct})",
        "overhead": (
            f"per-token overhead (kernel launches and synchronisation: {pct}); "
            "a faster GPU would not help much"
        ),
    }
    return words.get(top, f"interconnect (hops between devices: {pct})"), share


def _layout_notes(work: ModelWork, layout: Layout, machine: Machine) -> list[str]:
    """Notes on what the layout means for speed: offload, CPU ISA, layer split, unified memory,
    devices without a tensor peak."""
    notes: list[str] = []
    if layout.cpu_segments and layout.gpu_segments:
        notes.append(
            f"partial offload: {_cpu_share_words(layout, work.n_layer)} run on the CPU from "
            "system RAM; prompts stream those weights over PCIe to the GPU (ubatches ≥ 32 tokens)"
        )
    for seg in layout.cpu_segments:
        isa = cpu_isa(seg.device)
        if isa == "none":
            notes.append(
                f"{seg.device.name} has no AVX2: llama.cpp's CPU kernels run far slower "
                "(prefill estimate uses scalar/SSE throughput)"
            )
        elif isa in ("amx", "avx512"):
            notes.append(
                f"{seg.device.name}: {isa.upper()} present, but llama.cpp's quantized dot "
                "products run at the 256-bit AVX2/VNNI rate (prefill estimated so)"
            )
        if not seg.device.simd:
            notes.append(f"{seg.device.name}: ISA flags unknown, AVX2 assumed")
    if len(layout.gpu_segments) > 1:
        notes.append(
            f"layer split over {len(layout.gpu_segments)} GPUs: decode does not get faster "
            "with more GPUs (one token passes through them in turn); long prompts pipeline"
        )
    if machine.unified_memory:
        notes.append("unified memory: GPU and CPU share one memory bandwidth")
    for d in {s.device.name: s.device for s in layout.segments}.values():
        if d.kind != "cpu" and not d.int8_ops and not d.fp16_flops:
            basis = (
                "from FP32 throughput"
                if d.fp32_flops
                else "from its memory bandwidth (median FLOP per byte of the catalog's GPUs)"
                if d.bandwidth_bytes_per_s
                else "as a mid-range 10 TFLOPS: no compute or bandwidth figure is known"
            )
            notes.append(
                f"{d.name}: no tensor/matrix peak in the catalog; prefill peak estimated {basis} "
                "(wider uncertainty)"
            )
    return notes


def _speed_layout(work: ModelWork, machine: Machine, placement: Any, settings: RunSettings) -> Layout:
    """The placement's layout (``-sm layer``), else llama.cpp's default one."""
    layout = None
    if placement is not None and not settings.cpu_only and settings.split_mode == "layer":
        layout = layout_from_placement(work, machine, placement, settings.backend)
    if layout is None:
        layout = make_layout(
            work,
            machine,
            settings.backend,
            settings.ngl,
            settings.cpu_only,
            settings.split_mode,
            placement_split(placement),
        )
    return layout


def band_notes(C: dict, be: str, split_mode: str, vendor: str) -> tuple[str, ...]:
    """A note when the bands rest on few devices of this vendor and backend (widened)."""
    out = []
    for kind, what in (("pp", "prefill"), ("tg", "decode")):
        e = band_entry(C, kind, be, split_mode, vendor)
        d = int(e.get("devices", 0) or 0)
        if e.get("vendor_devices") == 0:
            out.append(
                f"{what} band is wide: too few {vendor} devices among the calibration measurements "
                f"of this vendor/backend"
            )
        elif d and d < FEW_DEVICES:
            out.append(
                f"{what} band is wide: calibrated on {d} device(s), {e.get('n', 0)} measurements "
                f"of this vendor/backend"
            )
        elif int(e.get("vendor_rows", MIN_VENDOR_ROWS)) < MIN_VENDOR_ROWS:
            out.append(
                f"{what} band is wide: only {e['vendor_rows']} {vendor} {what} measurements "
                f"(fewer than {MIN_VENDOR_ROWS}) behind it"
            )
    return tuple(out)


#: Where the estimated speed figures come from.
SPEED_SOURCE = "rigfit speed model (calibrated: catalog/data/speed_constants.json)"


def band_vendor(layout: Layout) -> str:
    """The vendor whose bands apply: the driving device's vendor, 'cpu' / 'apple' by kind."""
    dev = main_segment(layout).device
    if dev.kind in ("cpu", "apple"):
        return dev.kind
    return vendor_of(dev.vendor)


def _figure(
    C: dict, kind: str, be: str, value: float, roof: float, split_mode: str, vendor: str | None = None
) -> Figure:
    """An estimated tokens/s figure with its calibrated band, the fast end capped at the roofline."""
    return calibrated_figure(C, kind, be, value, roof, split_mode, vendor)


def calibrated_figure(
    C: dict, kind: str, be: str, value: float, roof: float, split_mode: str, vendor: str | None = None
) -> Figure:
    """The tokens/s figure ``rigfit plan`` shows for a raw model ``value``: moved inside its
    calibrated p10–p90 band (:func:`centre_in_band`), the fast end capped at the roofline."""
    lo, hi = band(C, kind, be, value, split_mode, vendor)
    value = min(centre_in_band(C, kind, be, value, split_mode, vendor), roof)  # the estimate inside its band
    return Figure(value, "tok/s", "estimated", SPEED_SOURCE, min(lo, value), max(min(hi, roof), value))


def _concurrency(
    work: ModelWork, layout: Layout, machine: Machine, settings: RunSettings, C: dict, depth: int
) -> tuple[Figure, Figure]:
    """(per-user, aggregate) decode tokens/s with ``settings.parallel`` users decoding at once."""
    parallel, be = settings.parallel, main_segment(layout).backend
    per, roof_b, _ = decode_tps(work, layout, machine, settings, depth, 1, C, batch=parallel)
    vendor = band_vendor(layout)
    per_user = _figure(C, "tg", be, per, roof_b, settings.split_mode, vendor)
    lo, hi = band(C, "tg", be, per * parallel, settings.split_mode, vendor)
    agg = Figure(
        per * parallel,
        "tok/s",
        "estimated",
        SPEED_SOURCE + "; weights read once per step, KV per user",
        min(lo, per * parallel),
        max(min(hi, roof_b * parallel), per * parallel),
    )
    return per_user, agg


def estimate_speed(
    spec: ModelSpec | ModelWork,
    machine: Machine,
    *,
    placement: Any = None,
    backend: str | None = None,
    ngl: int | None = None,
    context: int = 4096,
    prompt: int = 512,
    parallel: int = 1,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    threads: int | None = None,
    n_ubatch: int = 512,
    n_batch: int = 2048,
    split_mode: str = "layer",
    cpu_only: bool = False,
    constants: dict | None = None,
    build: int | None = None,
    os: str = "unknown",
) -> SpeedEstimate:
    """Prefill, decode (depth 0 and at ``context``), TTFT and concurrency for a model on a machine.

    ``placement`` (from :func:`rigfit.estimate.placement.place`) gives the GPU layer count and
    the split over GPUs; ``ngl`` overrides it. ``build``: the llama.cpp build number the figures
    are for (None = the current build profile, :data:`rigfit.estimate.memory.DEFAULT_PROFILE`);
    kernel eras differ in speed (:func:`rigfit.estimate.speed.classes.build_era`). Hosted SRAM
    systems (Cerebras, Groq) are answered from published figures (see :func:`estimate_hosted`).
    """
    C = constants or load_constants()
    work = spec if isinstance(spec, ModelWork) else model_work(spec)
    accs = machine.accelerators
    if accs and accs[0].kind == "hosted":
        return estimate_hosted(work, accs[0], context=context, prompt=prompt, C=C)
    settings, layout, be = _run_setup(
        work,
        machine,
        placement,
        backend,
        ngl,
        threads,
        flash_attn,
        build,
        n_ubatch,
        n_batch,
        kv_type,
        parallel,
        split_mode,
        cpu_only,
    )
    prompt = max(int(prompt), 1)
    context = max(int(context), prompt)
    vendor = band_vendor(layout)
    # the OS / driver factor (speed/osdriver.py; 1 for an unknown OS, whose bands widen below)
    f_pp, f_tg = (os_factor(C, k, vendor, be, os) for k in ("pp", "tg"))
    pp, pp_roof, _ = prefill_tps(work, layout, machine, settings, prompt, 0, C)
    tg0, roof0, _ = decode_tps(work, layout, machine, settings, 0, 1, C)
    tgc, roofc, _ = decode_tps(work, layout, machine, settings, context, 1, C)
    pp, tg0, tgc = pp * f_pp, tg0 * f_tg, tgc * f_tg
    t_first = prompt / pp + 1.0 / (decode_tps(work, layout, machine, settings, prompt, 1, C)[0] * f_tg)
    pp_lo, pp_hi = band(C, "pp", be, pp, split_mode, vendor)
    pp_hi = min(pp_hi, pp_roof)
    tg_lo, tg_hi = band(C, "tg", be, tg0, split_mode, vendor)
    # TTFT band: slow end from the slow prefill band, fast end from the fast one
    ttft = Figure(
        t_first,
        "s",
        "estimated",
        SPEED_SOURCE,
        prompt / max(pp_hi, pp) + 1.0 / max(tg_hi, tg0),
        prompt / min(pp_lo, pp) + 1.0 / min(tg_lo, tg0),
    )
    words, share = bottleneck_words(work, layout, machine, settings, C)
    per_user, agg = (
        _concurrency(work, layout, machine, settings, C, min(context, prompt))
        if parallel > 1
        else (None, None)
    )
    return SpeedEstimate(
        prefill_tps=widen_figure(
            C,
            "pp",
            vendor,
            be,
            os,
            Figure(pp, "tok/s", "estimated", SPEED_SOURCE, min(pp_lo, pp), max(pp_hi, pp)),
        ),
        decode_tps=widen_figure(
            C, "tg", vendor, be, os, _figure(C, "tg", be, tg0, roof0, split_mode, vendor)
        ),
        decode_tps_ctx=widen_figure(
            C, "tg", vendor, be, os, _figure(C, "tg", be, tgc, roofc, split_mode, vendor)
        ),
        ttft_s=ttft,
        bottleneck=words,
        prompt_tokens=prompt,
        context_tokens=context,
        parallel=parallel,
        aggregate_tps=agg,
        per_user_tps=per_user,
        roofline_decode_tps=roof0,
        notes=tuple(_layout_notes(work, layout, machine))
        + band_notes(C, be, split_mode, vendor)
        + os_notes(C, vendor, be, os),
        details={
            "bottleneck_share": share,
            "backend": be,
            "build": build_label(build),
            "os": os_label(vendor, be, os),
            "band_group": band_vendor(layout) + "|" + be + "|" + split_mode,
            "layout": [(s.device.name, s.role, len(s.layers), s.head) for s in layout.segments],
        },
    )


#: :func:`_run_setup`'s run settings by their arguments (a recommend ladder has few distinct ones).
_RUN_SETTINGS: dict[tuple, RunSettings] = {}


def _run_setup(
    work: ModelWork,
    machine: Machine,
    placement: Any,
    backend: str | None,
    ngl: int | None,
    threads: int | None,
    flash_attn: bool | None,
    build: int | None,
    n_ubatch: int,
    n_batch: int,
    kv_type: str,
    parallel: int,
    split_mode: str,
    cpu_only: bool,
) -> tuple[RunSettings, Layout, str]:
    """(run settings, layout, main backend) of an estimate: the one set-up :func:`estimate_speed`
    and :func:`estimate_decode_at_context` share."""
    if ngl is None:
        ngl = placement_ngl(placement, work.n_layer)
    args: tuple = (backend, ngl, threads, flash_attn, build, n_ubatch, n_batch)
    args += (kv_type, parallel, split_mode, cpu_only)
    # the same values of the same types make the same (frozen) settings
    key = (args, tuple(map(type, args)))
    settings = _RUN_SETTINGS.get(key)
    if settings is None:
        settings = RunSettings(
            backend=normalise_backend(backend),
            ngl=ngl,
            threads=threads,
            flash_attn=flash_attn,
            build=build,
            n_ubatch=n_ubatch,
            n_batch=n_batch,
            kv_type=kv_type,
            parallel=parallel,
            split_mode=split_mode,
            cpu_only=cpu_only,
        )
        if len(_RUN_SETTINGS) > 1024:
            _RUN_SETTINGS.clear()
        _RUN_SETTINGS[key] = settings
    layout = _speed_layout(work, machine, placement, settings)
    return settings, layout, main_segment(layout).backend


def estimate_decode_at_context(
    spec: ModelSpec | ModelWork,
    machine: Machine,
    *,
    placement: Any = None,
    backend: str | None = None,
    ngl: int | None = None,
    context: int = 4096,
    prompt: int = 512,
    parallel: int = 1,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    threads: int | None = None,
    n_ubatch: int = 512,
    n_batch: int = 2048,
    split_mode: str = "layer",
    cpu_only: bool = False,
    constants: dict | None = None,
    build: int | None = None,
    os: str = "unknown",
) -> Figure:
    """``estimate_speed(...).decode_tps_ctx`` (same arguments, same Figure) without the prefill,
    TTFT, bottleneck and notes: what a ranking over many candidates needs of each (recommend's
    screening, :mod:`rigfit.plan_speed`). Hosted systems are not answered here (ValueError)."""
    return _decode_figures(
        spec,
        machine,
        False,
        placement=placement,
        backend=backend,
        ngl=ngl,
        context=context,
        prompt=prompt,
        parallel=parallel,
        kv_type=kv_type,
        flash_attn=flash_attn,
        threads=threads,
        n_ubatch=n_ubatch,
        n_batch=n_batch,
        split_mode=split_mode,
        cpu_only=cpu_only,
        constants=constants,
        build=build,
        os=os,
    )[1]


def estimate_decode_at_start_and_context(
    spec: ModelSpec | ModelWork, machine: Machine, **kwargs: Any
) -> tuple[Figure, Figure]:
    """``(estimate_speed(...).decode_tps, estimate_speed(...).decode_tps_ctx)`` (the keyword arguments
    of :func:`estimate_decode_at_context`, the same Figures) without the prefill, TTFT, bottleneck
    and notes: what the planner's choice between two MoE offload strategies compares
    (:func:`rigfit.plan._decode`). Hosted systems are not answered here (ValueError)."""
    start, at_ctx = _decode_figures(spec, machine, True, **kwargs)
    assert start is not None
    return start, at_ctx


def _decode_figures(
    spec: ModelSpec | ModelWork,
    machine: Machine,
    at_start: bool,
    *,
    placement: Any = None,
    backend: str | None = None,
    ngl: int | None = None,
    context: int = 4096,
    prompt: int = 512,
    parallel: int = 1,
    kv_type: str = "f16",
    flash_attn: bool | None = None,
    threads: int | None = None,
    n_ubatch: int = 512,
    n_batch: int = 2048,
    split_mode: str = "layer",
    cpu_only: bool = False,
    constants: dict | None = None,
    build: int | None = None,
    os: str = "unknown",
) -> tuple[Figure | None, Figure]:
    """(decode at depth 0 when ``at_start``, else None; decode at ``context``): the steps and
    arithmetic of :func:`estimate_speed` for these two figures."""
    C = constants or load_constants()
    work = spec if isinstance(spec, ModelWork) else model_work(spec)
    accs = machine.accelerators
    if accs and accs[0].kind == "hosted":
        raise ValueError("hosted systems: use estimate_speed")
    settings, layout, be = _run_setup(
        work,
        machine,
        placement,
        backend,
        ngl,
        threads,
        flash_attn,
        build,
        n_ubatch,
        n_batch,
        kv_type,
        parallel,
        split_mode,
        cpu_only,
    )
    prompt = max(int(prompt), 1)
    context = max(int(context), prompt)
    vendor = band_vendor(layout)
    consts = _tg_constants(C, be, split_mode, vendor, os)
    f_tg = consts[0]  # the OS / driver factor (speed/osdriver.py)
    start = None
    if at_start:
        tg0, roof0, _ = decode_tps(work, layout, machine, settings, 0, 1, C)
        start = _tg_figure(consts, tg0 * f_tg, roof0)
    tgc, roofc, _ = decode_tps(work, layout, machine, settings, context, 1, C)
    tgc *= f_tg
    return start, _tg_figure(consts, tgc, roofc)


#: What a decode figure's band needs of the bundled constants (:func:`load_constants`: read once,
#: never changed) per (backend, split mode, vendor, OS): see :func:`_tg_constants`.
_TG_CONSTANTS: dict[tuple, tuple[float, float, float, float | None, tuple[float, float]]] = {}


def _tg_constants(
    C: dict, be: str, split_mode: str, vendor: str, os: str
) -> tuple[float, float, float, float | None, tuple[float, float]]:
    """(OS factor, exp(p10), exp(p90), the centring factor or None, the unknown OS's widening
    factors of the band's ends) of the decode band: the numbers :func:`os_factor`, :func:`calibrated_figure`
    (its :func:`band` and :func:`centre_in_band`) and :func:`widen_figure` work out from the
    constants alone, each by the same expression (kept for the bundled constants)."""
    key = (be, split_mode, vendor, os)
    bundled = C is load_constants()
    hit = _TG_CONSTANTS.get(key) if bundled else None
    if hit is None:
        entry = band_entry(C, "tg", be, split_mode, vendor)
        e10, e90 = math.exp(entry["p10"]), math.exp(entry["p90"])
        # centre_in_band: band(…, 1.0) is (1.0 × e10, 1.0 × e90), the same floats
        centre = None if e10 <= 1.0 <= e90 else math.sqrt(e10 * e90)
        # widen_unknown's factors (1.0 × exp(…) is exp(…); (1.0, 1.0) where it does not widen)
        wide = widen_unknown(C, "tg", vendor, be, os, 1.0, 1.0)
        hit = (os_factor(C, "tg", vendor, be, os), e10, e90, centre, wide)
        if bundled:
            _TG_CONSTANTS[key] = hit
    return hit


def _tg_figure(
    consts: tuple[float, float, float, float | None, tuple[float, float]], value: float, roof: float
) -> Figure:
    """``widen_figure(C, "tg", vendor, be, os, _figure(C, "tg", be, value, roof, split_mode,
    vendor))`` from the :func:`_tg_constants` of those arguments: the same operations on the same
    floats."""
    _, e10, e90, centre, wide = consts
    lo, hi = value * e10, value * e90  # band()
    v = min(value if centre is None else value * centre, roof)  # centre_in_band(), capped
    low, high = min(lo, v), max(min(hi, roof), v)  # calibrated_figure()
    low, high = low * wide[0], high * wide[1]  # widen_unknown(): × 1.0 (exact) where it does not widen
    return Figure(v, "tok/s", "estimated", SPEED_SOURCE, min(low, v), max(high, v))
