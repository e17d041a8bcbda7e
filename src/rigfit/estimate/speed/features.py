"""Features: the physics of a decode step and of a prompt (no fitted numbers).

Each feature is a time at 100 % efficiency (bytes / bandwidth, FLOPs / peak) or a count (steps,
layers, hops); its dot product with the coefficients
(:mod:`rigfit.estimate.speed.coefficients`) is the predicted time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rigfit.estimate.speed.bands import vendor_of
from rigfit.estimate.speed.classes import (
    build_era,
    device_class,
    intel_decode_efficiency,
    intel_decode_overhead,
    intel_prefill_efficiency,
    quant_family,
)
from rigfit.estimate.speed.coefficients import load_constants
from rigfit.estimate.speed.kvstream import decode_kv_elems_per_token, per_query_head
from rigfit.estimate.speed.layout import Layout, Segment
from rigfit.estimate.speed.moetiles import MMQ_X_MAX, expected_tiles, expert_padding_flops, mmq_tile_width
from rigfit.estimate.speed.peaks import (
    attention_path,
    cpu_bandwidth,
    cpu_isa,
    cpu_path,
    cpu_peak_flops,
    gpu_peak,
    mmq_generation,
    mmq_x_max,
    prefill_path,
)
from rigfit.estimate.speed.waves import sm_count, wave_efficiency
from rigfit.estimate.speed.work import ModelWork, kv_bytes_per_elem, mean_min
from rigfit.hardware.devices import Device, Machine


@dataclass(frozen=True)
class RunSettings:
    """llama.cpp run settings that change speed.

    flash_attn: None = llama.cpp's default (auto: on where supported on current builds).
    build: llama.cpp build number (None = current). n_ubatch / n_batch: -ub / -b.
    threads: CPU threads (None = physical cores). parallel: concurrent sequences (-np).
    """

    backend: str | None = None
    ngl: int | None = None
    threads: int | None = None
    flash_attn: bool | None = None
    build: int | None = None
    n_ubatch: int = 512
    n_batch: int = 2048
    kv_type: str = "f16"
    parallel: int = 1
    split_mode: str = "layer"
    cpu_only: bool = False
    rocm_hipblaslt: bool = False  # ROCBLAS_USE_HIPBLASLT=1: hipBLASLt GEMMs for ROCm prompts
    rocm_rocwmma: bool = False  # built with GGML_HIP_ROCWMMA_FATTN: flash attention on WMMA
    os: str = "unknown"  # windows | linux | macos | unknown: the driver factor (speed/osdriver.py)

    @property
    def era(self) -> str:
        return build_era(self.build)

    @property
    def fa(self) -> bool:
        if self.flash_attn is not None:
            return self.flash_attn
        return self.era == "new"


def main_segment(layout: Layout) -> Segment:
    """The segment whose backend drives the step (the last accelerator, else the CPU)."""
    gpus = layout.gpu_segments
    return gpus[-1] if gpus else layout.segments[-1]


def _seg_bw(seg: Segment, machine: Machine | None, threads: int | None, C: dict) -> float:
    if seg.role == "cpu":
        return cpu_bandwidth(machine, seg.device, threads, C)
    bw = seg.device.bandwidth_bytes_per_s
    if not bw:
        raise ValueError(f"no memory bandwidth known for {seg.device.name}")
    return float(bw)


def _sums(work: ModelWork) -> dict[tuple, Any]:
    """The per-segment sums below already worked out for ``work`` (kept in its ``__dict__``, not a
    field): a recommend ladder on another machine asks for the same segments' sums again (the same
    placements), and each sum is a loop over the segment's layers. Bounded: cleared when full."""
    d: dict[tuple, Any] | None = work.__dict__.get("_segment_sums")
    if d is None or len(d) > 1024:
        d = work.__dict__["_segment_sums"] = {}
    return d


def _seg_weight_bytes(work: ModelWork, seg: Segment, expert_frac: float) -> float:
    sums, key = _sums(work), ("w", seg.layers, seg.dense, seg.experts, expert_frac)
    b = sums.get(key)
    if b is None:
        if seg.dense and _no_experts(sums, work) and math.isfinite(expert_frac):
            b = sums[key] = sum(map(work.layer_dense_bytes.__getitem__, seg.layers))
        else:
            d, e = float(seg.dense), float(seg.experts)
            b = sums[key] = sum(
                d * work.layer_dense_bytes[i] + e * expert_frac * work.layer_expert_bytes[i]
                for i in seg.layers
            )
    if seg.head:
        b += work.head_bytes
    return b


def _no_experts(sums: dict[tuple, Any], work: ModelWork) -> bool:
    """Whether every layer's routed-expert bytes and parameters are 0 and its dense bytes and
    parameters floats (kept in ``sums``). Then, with a finite expert fraction, a dense segment's
    term ``1.0 × dense[i] + e × fraction × expert[i]`` is ``dense[i] + (±0.0)``: ``dense[i]``
    itself (up to the sign of a zero, which a sum that starts at the int 0 never keeps), so the
    weight and parameter sums are Σ dense[i], in the same order from the same start."""
    hit = sums.get(("no-experts",))
    if hit is None:
        hit = sums[("no-experts",)] = (
            all(x == 0 for x in work.layer_expert_bytes)
            and all(x == 0 for x in work.layer_expert_params)
            and all(type(x) is float for x in work.layer_dense_bytes)
            and all(type(x) is float for x in work.layer_dense_params)
        )
    return hit


def _seg_expert_bytes(work: ModelWork, seg: Segment, expert_frac: float) -> float:
    """Routed-expert bytes a step reads over the segment's layers (kept)."""
    sums, key = _sums(work), ("e", seg.layers, expert_frac, type(expert_frac))
    b = sums.get(key)
    if b is None:
        b = sums[key] = sum(expert_frac * work.layer_expert_bytes[i] for i in seg.layers)
    return b


def _seg_params(work: ModelWork, seg: Segment, expert_frac: float, head: bool = True) -> float:
    sums, key = _sums(work), ("p", seg.layers, seg.dense, seg.experts, expert_frac)
    p = sums.get(key)
    if p is None:
        if seg.dense and _no_experts(sums, work) and math.isfinite(expert_frac):
            p = sums[key] = sum(map(work.layer_dense_params.__getitem__, seg.layers))
        else:
            d, e = float(seg.dense), float(seg.experts)
            p = sums[key] = sum(
                d * work.layer_dense_params[i] + e * expert_frac * work.layer_expert_params[i]
                for i in seg.layers
            )
    if seg.head and head:
        p += work.head_params
    return p


def _seg_kv_elems(work: ModelWork, seg: Segment, depth0: float, n: float) -> float:
    """KV elements the attention streams per token averaged over n tokens starting at depth0
    (once per query head on Metal: speed/kvstream.py)."""
    if not seg.dense:
        return 0.0
    be = seg.backend
    sums = _sums(work)
    # (what a token streams depends on the backend only through per_query_head: kvstream.py)
    by_window = _window_sums(sums, ("kvw", seg.layers, per_query_head(be)), work, seg.layers, be)
    if by_window is not None:
        v = _by_window(by_window, depth0, n)
        if v is not None:
            return v
    key = ("kv", seg.layers, be, depth0, n, type(depth0), type(n))
    v = sums.get(key)
    if v is None:
        win = work.layer_window
        mm = {w: mean_min(depth0, n, w) for w in set(win)}  # per window size: few distinct
        v = sums[key] = sum(decode_kv_elems_per_token(work, i, be) * mm[win[i]] for i in seg.layers)
    return v


#: Above this a sum of whole (or half) numbers may round: the window sums below are used only
#: under it (2**51: half-integers up to 2**52 are exact doubles, with room for the bound's rounding).
_EXACT_LIMIT = float(2**51)


def _window_sums(
    sums: dict[tuple, Any], key: tuple, work: ModelWork, layers: tuple[int, ...], backend: str | None
) -> tuple[tuple[tuple[int | None, float], ...], float] | None:
    """(((window, Σ per-token elements of the segment's layers with that window), …) in the
    order the windows first appear, their total) for ``key``'s sum (kept in ``sums``): 'kvw' the
    KV elements a decoded token streams (:func:`decode_kv_elems_per_token`), 'aw' the attention
    width (``layer_attn_dim``). None where some layer's term is not a whole number ≥ 0 or the
    model's total is not below :data:`_EXACT_LIMIT` (:func:`_layer_terms`): then only the
    layer-by-layer sum is exact. Each sum here is exact (whole numbers below the limit), whatever
    its order."""
    hit: Any = sums.get(key)
    if hit is None:
        xs, exact, one_window = _layer_terms(sums, work, backend if key[0] == "kvw" else None)
        if not exact:
            hit = False
        elif one_window:  # (every layer has the same window: one sum)
            total = sum(map(xs.__getitem__, layers))
            hit = (((work.layer_window[layers[0]], total),), total) if layers else ((), 0)
        else:
            per: dict[int | None, float] = {}
            win = work.layer_window
            for i in layers:
                per[win[i]] = per.get(win[i], 0) + xs[i]
            hit = (tuple(per.items()), sum(per.values()))
        sums[key] = hit
    return hit or None


def _layer_terms(
    sums: dict[tuple, Any], work: ModelWork, backend: str | None
) -> tuple[tuple[float, ...], bool, bool]:
    """(per layer: the KV elements a decoded token streams on ``backend``, or the attention width
    where ``backend`` is None; whether each is a whole number ≥ 0 and their total below
    :data:`_EXACT_LIMIT`; whether every layer has the same window), kept in ``sums``."""
    # the KV elements depend on the backend only through per_query_head (kvstream.py): CUDA, ROCm
    # and Vulkan share them
    key = ("layer-terms", None if backend is None else per_query_head(backend))
    hit = sums.get(key)
    if hit is None:
        n = len(work.layer_kv_elems)
        xs = (
            tuple(work.layer_attn_dim)
            if backend is None
            else tuple(decode_kv_elems_per_token(work, i, backend) for i in range(n))
        )
        exact = all(x >= 0 and float(x).is_integer() for x in xs) and sum(xs) < _EXACT_LIMIT
        hit = sums[key] = (xs, exact, len(set(work.layer_window)) <= 1)
    return hit


def _by_window(
    by_window: tuple[tuple[tuple[int | None, float], ...], float], depth0: float, n: float
) -> float | None:
    """Σ over a segment's layers of (per-token elements × mean_min(depth0, n, layer's window)) from
    the segment's sums per window (:func:`_window_sums`), where that is exactly the layer-by-layer
    sum; None where it may not be.

    Exact: every per-token count is a whole number ≥ 0 (checked when the sums were kept) and each
    window's mean depth m is a whole or half number ≥ 0 (checked here; decode at depth d, one
    token: m = d or min(d, window); the compute bound at d + 1/2). Then every product count × m,
    every partial sum of the layer-by-layer loop and every product m × Σ counts is a multiple of
    1/2 no larger than m_max × Σ counts < 2**52, an exact double: both sums are the same exact
    number, in any order (and Python's sum of no layers, the int 0, stays the int 0)."""
    pairs, total = by_window
    v: float = 0
    m_max = 0.0
    for w, k in pairs:
        m = mean_min(depth0, n, w)
        if not (m >= 0 and (2.0 * m).is_integer()):
            return None
        m_max = max(m_max, m)
        v += k * m
    if total * m_max >= _EXACT_LIMIT:
        return None
    return v


def _unique_expert_fraction(work: ModelWork, tokens: float, gamma: float) -> float:
    """Share of routed experts touched by a step over ``tokens`` tokens (uniform routing, B^γ)."""
    if not work.n_expert:
        return 0.0
    k = work.n_expert_used / work.n_expert
    return 1.0 - (1.0 - k) ** (max(tokens, 1.0) ** gamma)


def _keys(backend: str, dev: Device, qfam: str, era: str) -> tuple[str, str, str, str]:
    return backend, f"{backend}|q={qfam}", f"{backend}|*c={device_class(dev)}", f"{backend}|e={era}"


#: Backends that run on several vendors' GPUs with different shader compilers and drivers (RADV /
#: AMDVLK, Intel ANV / Windows, NVIDIA): their efficiencies get a delta per GPU vendor.
MULTI_VENDOR_BACKENDS = ("Vulkan",)


def _vendor_key(seg: Segment) -> str | None:
    """'Vulkan|v=amd' for a multi-vendor backend's GPU segment, else None."""
    if seg.role != "gpu" or seg.backend not in MULTI_VENDOR_BACKENDS:
        return None
    return f"{seg.backend}|v={vendor_of(seg.device.vendor)}"


class _SegKeys:
    """What :func:`decode_features` names and scales for one segment, by its backend, role,
    device, quant family, era and flash attention: the feature keys (built once, not per step)
    and Intel Alchemist's decode factors (classes.py). Kept per device object (frozen) in
    :data:`_SEG_KEYS`; the device itself is held so that its id stays its own."""

    __slots__ = ("device", "eff", "kv", "moe", "overhead", "t0", "t0_e", "t0l", "t0l_e", "w_keys")

    def __init__(self, seg: Segment, qfam: str, era: str, fa: str) -> None:
        b, bq, bc, be = _keys(seg.backend, seg.device, qfam, era)
        self.device = seg.device
        self.w_keys = tuple(f"{k}:w" for k in (b, bq, bc, be, _vendor_key(seg)) if k is not None)
        self.moe, self.kv = f"{b}|moe:w", f"{b}|{fa}:kv"
        self.t0l, self.t0l_e, self.t0, self.t0_e = f"{b}:t0l", f"{be}:t0l", f"{b}:t0", f"{be}:t0"
        self.eff = intel_decode_efficiency(seg.device, seg.backend)
        self.overhead = intel_decode_overhead(seg.device, seg.backend)


_SEG_KEYS: dict[tuple, _SegKeys] = {}


def _seg_keys(seg: Segment, qfam: str, era: str, fa: str) -> _SegKeys:
    """:class:`_SegKeys` of a segment (kept; a bounded table, cleared when full)."""
    dev = seg.device
    key = (seg.backend, seg.role, id(dev), qfam, era, fa)
    hit = _SEG_KEYS.get(key)
    if hit is None or hit.device is not dev:
        if len(_SEG_KEYS) > 4096:
            _SEG_KEYS.clear()
        hit = _SEG_KEYS[key] = _SegKeys(seg, qfam, era, fa)
    return hit


def decode_features(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    depth0: float,
    n_tokens: float,
    C: dict,
    batch: int = 1,
) -> dict[str, float]:
    """Features whose dot product with the coefficients is the mean decode step time [s].

    Units: ``*:w`` and ``*:kv`` features are seconds at 100 % bandwidth (bytes / BW); ``*:t0``
    is a count of steps; ``*:t0l`` the number of layers (both × an Intel Alchemist card's SYCL
    overhead factor, classes.py); ``hop:*`` the number of boundaries.
    """
    f: dict[str, float] = {}
    qfam = quant_family(work.file_type)
    era = settings.era
    kvb = kv_bytes_per_elem(settings.kv_type)
    gamma = C["moe"].get("batch_gamma", 0.75)
    efrac = work.expert_fraction if batch <= 1 else _unique_expert_fraction(work, batch, gamma)
    fa = "fa1" if settings.fa else "fa0"
    main = main_segment(layout)
    n_tp = layout.n_tp
    for seg in layout.segments:
        keys = _seg_keys(seg, qfam, era, fa)
        gpu = seg.role == "gpu"
        bw = _seg_bw(seg, machine, settings.threads, C)
        w = _seg_weight_bytes(work, seg, efrac) / bw
        if gpu:  # Intel Alchemist's matrix-vector kernels: classes.py
            w /= keys.eff
        if n_tp > 1 and gpu:
            w /= n_tp
        kv = batch * _seg_kv_elems(work, seg, depth0, n_tokens) * kvb / bw
        if n_tp > 1 and gpu:
            kv /= n_tp
        for k in keys.w_keys:
            f[k] = f.get(k, 0.0) + w
        if work.n_expert and seg.experts:
            f[keys.moe] = f.get(keys.moe, 0.0) + (
                _seg_expert_bytes(work, seg, efrac) / bw / (keys.eff if gpu else 1.0)
            )
        f[keys.kv] = f.get(keys.kv, 0.0) + kv
        n_l: float = len(seg.layers) if seg.dense else 0
        if gpu:  # Intel Alchemist's launch overhead on SYCL: classes.py
            n_l *= keys.overhead
        f[keys.t0l] = f.get(keys.t0l, 0.0) + n_l
        f[keys.t0l_e] = f.get(keys.t0l_e, 0.0) + n_l
    keys = _seg_keys(main, qfam, era, fa)
    steps = keys.overhead if main.role == "gpu" else 1.0
    f[keys.t0] = f.get(keys.t0, 0.0) + steps
    f[keys.t0_e] = f.get(keys.t0_e, 0.0) + steps
    if layout.n_gpu_hops:
        f[f"hop:gpu|{main.backend}"] = float(layout.n_gpu_hops)
    if layout.n_cpu_hops:
        f["hop:cpu"] = float(layout.n_cpu_hops)
    if n_tp > 1:
        if layout.split_mode == "row":  # legacy -sm row: a sync at every split matmul
            f[f"row:sync|{main.backend}"] = work.n_layer * (n_tp - 1) ** 0.7
        else:  # tensor parallel: two all-reduces per layer
            f[f"hop:allreduce|{layout.link}"] = 2.0 * work.n_layer
    return f


def decode_compute_time(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    depth: float,
    C: dict,
    batch: int = 1,
) -> float:
    """Lower bound of one decode step from compute [s] (matters for CPUs and large batches)."""
    t = 0.0
    qfam = quant_family(work.file_type)
    gamma = C["moe"].get("batch_gamma", 0.75)
    efrac = work.expert_fraction
    for seg in layout.segments:
        flops = 2.0 * batch * _seg_params(work, seg, efrac)
        flops += 2.0 * batch * seg.dense * _seg_attn(work, seg, depth)
        peak, eta = _decode_peak(seg, machine, settings, qfam, C)
        t += flops / (peak * eta)
    del gamma
    return t


#: :func:`_seg_peak` (decode) per segment kind and settings, for the bundled constants only
#: (:func:`rigfit.estimate.speed.coefficients.load_constants`: read once, never changed); the
#: device is held with its answer so that its id stays its own.
_DECODE_PEAKS: dict[tuple, tuple[Device, float, float]] = {}


def _decode_peak(
    seg: Segment, machine: Machine | None, settings: RunSettings, qfam: str, C: dict
) -> tuple[float, float]:
    """``_seg_peak(seg, machine, settings, qfam, C, decode=True)``, kept: it reads the segment's
    device, role and backend, the threads, era and hipBLASLt setting, and the constants only."""
    if C is not load_constants():
        return _seg_peak(seg, machine, settings, qfam, C, decode=True)
    dev = seg.device
    key = (id(dev), seg.role, seg.backend, qfam, settings.threads, settings.era, settings.rocm_hipblaslt)
    hit = _DECODE_PEAKS.get(key)
    if hit is None or hit[0] is not dev:
        if len(_DECODE_PEAKS) > 4096:
            _DECODE_PEAKS.clear()
        hit = _DECODE_PEAKS[key] = (dev, *_seg_peak(seg, machine, settings, qfam, C, decode=True))
    return hit[1], hit[2]


def _seg_attn(work: ModelWork, seg: Segment, depth: float) -> float:
    """Attention width × keys read per token over the segment's layers at ``depth`` (kept)."""
    sums = _sums(work)
    by_window = _window_sums(sums, ("aw", seg.layers), work, seg.layers, None)
    if by_window is not None:
        v = _by_window(by_window, depth, 1)
        if v is not None:
            return v
    key = ("a", seg.layers, depth, type(depth))
    v = sums.get(key)
    if v is None:
        win = work.layer_window
        mm = {w: mean_min(depth, 1, w) for w in set(win)}  # per window size: few distinct
        v = sums[key] = sum(work.layer_attn_dim[i] * mm[win[i]] for i in seg.layers)
    return v


def _seg_peak(
    seg: Segment, machine: Machine | None, settings: RunSettings, qfam: str, C: dict, decode: bool = False
) -> tuple[float, float]:
    """(peak FLOP/s, prior efficiency) of the matmul path of a segment."""
    if seg.role == "cpu":
        peak, _ = cpu_peak_flops(seg.device, settings.threads, C)
        return peak, C["cpu"].get("eta_c_prior", 0.5)
    path = prefill_path(seg.backend, seg.device, qfam, settings.era, settings.rocm_hipblaslt)
    peak, _ = gpu_peak(seg.device, path, C)
    if not decode:  # Intel Alchemist's XMX share on SYCL prompts: classes.py
        peak *= intel_prefill_efficiency(seg.device, seg.backend)
    return peak, C["gpu_compute_eta"]["decode" if decode else "prefill"]


#: Bytes per activation element a row-split matmul moves: src1 is copied as F32 to every GPU and
#: the F32 results come back (ggml-cuda.cu ggml_cuda_op_mul_mat, builds before b1800).
ROW_SPLIT_BYTES_PER_ELEMENT = 4.0


def row_split_transfer_bytes(
    work: ModelWork, layers: Sequence[int], n_tokens: float, n_devices: int
) -> float:
    """Bytes the main GPU's link carries for ``n_tokens`` through ``layers`` in legacy -sm row [B].

    Every split matmul (K inputs → N outputs) sends the K-wide activations to each of the other
    n−1 GPUs and gathers the (n−1)/n of the N-wide result they computed. Above 128-token batches
    peer access was switched off (GGML_CUDA_PEER_MAX_BATCH_SIZE), so these copies were staged
    through host memory — the host's PCIe link, not the GPUs, sets the speed.
    """
    n = max(int(n_devices), 1)
    if n == 1:
        return 0.0
    if work.layer_mm_in and work.layer_mm_out:
        k = sum(work.layer_mm_in[i] for i in layers)
        out = sum(work.layer_mm_out[i] for i in layers)
    else:  # no tensor table: a llama-shaped layer (q, k, v, o, gate, up, down ≈ 7 n_embd each way)
        k = out = 7.0 * work.n_embd * len(layers)
    return ROW_SPLIT_BYTES_PER_ELEMENT * n_tokens * ((n - 1) * k + (n - 1) / n * out)


def _gpu_link_bw(machine: Machine | None, C: dict) -> float:
    """GPU-to-GPU bandwidth [B/s]: the interconnect, else the host link, else the default PCIe."""
    for link in (machine.interconnect if machine else None, machine.host_link if machine else None):
        if link is not None and link.bandwidth_bytes_per_s:
            return float(link.bandwidth_bytes_per_s)
    return float(C["offload"].get("pcie_bandwidth_default", 25e9))


def _add(f: dict[str, float], key: str, value: float) -> None:
    """Accumulate a feature."""
    f[key] = f.get(key, 0.0) + value


@dataclass(frozen=True)
class _Prompt:
    """What every ubatch of one prompt shares: the model, layout, machine and settings."""

    work: ModelWork
    layout: Layout
    machine: Machine | None
    settings: RunSettings
    C: dict

    @property
    def qfam(self) -> str:
        return quant_family(self.work.file_type)

    @property
    def fa(self) -> str:
        return "fa1" if self.settings.fa else "fa0"

    @property
    def pcie_bw(self) -> float:
        """Host link bandwidth [B/s] (the default PCIe when unknown)."""
        m = self.machine
        pcie = m.host_link.bandwidth_bytes_per_s if m and m.host_link else None
        return pcie or self.C["offload"].get("pcie_bandwidth_default", 25e9)

    def path(self, seg: Segment) -> str:
        """The segment's matmul path (a CPU path for CPU segments)."""
        if seg.role == "cpu":
            return cpu_path(seg.device)
        s = self.settings
        return prefill_path(seg.backend, seg.device, self.qfam, s.era, s.rocm_hipblaslt)

    def attn_path(self, seg: Segment) -> str:
        """The units (path) that run the segment's attention matmuls ('vec': ROCm's vector FA)."""
        s = self.settings
        return attention_path(seg.backend, seg.device, self.path(seg), s.fa, s.rocm_rocwmma, s.build)

    def attn_key(self, seg: Segment) -> str:
        """Attention feature key: '<backend>|fa0', '<backend>|fa1' or '<backend>|fa1vec' (ROCm's
        vector flash-attention kernel, its own inverse efficiency)."""
        if seg.role != "cpu" and self.attn_path(seg) == "vec":
            return f"{seg.backend}|fa1vec:attn"
        return f"{seg.backend}|{self.fa}:attn"

    def attn_peak(self, seg: Segment, gemm_peak: float) -> float:
        """Peak [FLOP/s] of the units that run the segment's attention matmuls."""
        if seg.role == "cpu":
            return gemm_peak
        peak, _ = gpu_peak(seg.device, self.attn_path(seg), self.C)
        peak *= intel_prefill_efficiency(seg.device, seg.backend)  # the same XMX units: classes.py
        return peak * (self.layout.n_tp if self.layout.n_tp > 1 else 1)

    def streams(self, seg: Segment, u: int) -> bool:
        """Whether a GPU computes this CPU segment's ubatch ("op offload": RAM weights cross PCIe)."""
        return (
            seg.role == "cpu"
            and bool(self.layout.gpu_segments)
            and u >= self.C["offload"]["op_offload_min_batch"]
            and not (self.machine and self.machine.unified_memory)
        )


def ubatch_chunks(settings: RunSettings, n_prompt: int, depth0: int) -> tuple[list[tuple[int, int]], int]:
    """The prompt's ubatches as (tokens, depth at start), and how many ubatches one batch holds.

    Builds before b2000 (era '2023') had no ubatch: a batch of at most 512 tokens is the unit."""
    era = settings.era
    u_max = max(1, settings.n_ubatch if era != "2023" else min(settings.n_batch, 512))
    n_batch = max(settings.n_batch, u_max) if era != "2023" else u_max
    chunks: list[tuple[int, int]] = []
    pos = 0
    while pos < n_prompt:
        u = min(u_max, n_prompt - pos)
        chunks.append((u, depth0 + pos))
        pos += u
    return chunks, max(1, n_batch // u_max)


def _streamed_ubatch(
    p: _Prompt, sf: dict[str, float], seg: Segment, u: int, gemm: float, attn: float, efr: float
) -> float:
    """Features of a CPU segment's ubatch that the last GPU computes while its RAM-resident
    weights stream over PCIe; returns its roofline time [s]."""
    gseg = p.layout.gpu_segments[-1]
    peak, _ = _seg_peak(gseg, p.machine, p.settings, p.qfam, p.C)
    _add(sf, f"{gseg.backend}|p={p.path(gseg)}:c", gemm / peak)
    _add(sf, p.attn_key(gseg), attn / p.attn_peak(gseg, peak))
    wbytes = _seg_weight_bytes(p.work, seg, efr)
    pcie = p.pcie_bw
    _add(sf, "offload:pcie", wbytes / pcie)
    return max(gemm / peak, wbytes / pcie)


def _gpu_ubatch_memory(p: _Prompt, sf: dict[str, float], seg: Segment, u: int, path: str, efr: float) -> None:
    """Memory traffic of a GPU ubatch beyond the matmul: activations, and the weights streamed
    once more from VRAM per ubatch — on the FP16 GEMM path a quantized weight is first
    dequantized to a temporary FP16 copy for cuBLAS / hipBLAS (2 B/weight written, 2 B read back
    by the GEMM; Vulkan, SYCL and Metal shaders dequantize in registers): memory time the compute
    term misses."""
    work, era = p.work, p.settings.era
    act = u * len(seg.layers) * work.n_embd / _seg_bw(seg, p.machine, p.settings.threads, p.C)
    _add(sf, f"{seg.backend}:act", act)
    _add(sf, f"{seg.backend}|e={era}:act", act)
    wq = _seg_weight_bytes(work, seg, efr)
    # ROCm's 'fp32' path is rocBLAS's FP16 GEMM at shader speed (an AMD iGPU, prefill_path):
    # the same dequantized copy
    blas = path in ("fp16", "fp16lt") or (path == "fp32" and seg.backend == "ROCm")
    if blas and p.qfam != "f16" and seg.backend in ("CUDA", "ROCm"):
        wq += 4.0 * _seg_params(work, seg, efr, head=False)
    bw = _seg_bw(seg, p.machine, p.settings.threads, p.C)
    _add(sf, f"{seg.backend}:wub", wq / bw)
    if path == "int8" and seg.backend == "CUDA":
        _add(sf, "CUDA:mmqw", mmq_reread_bytes(work, seg, u, efr, mmq_x_max(seg.device)) / bw)


def _mmq_expert_padding(p: _Prompt, seg: Segment, u: int) -> float:
    """FLOPs the CUDA MMQ tiles of one ubatch spend on padding in the routed-expert matmuls of the
    segment (speed/moetiles.py); 0 off the int8 (MMQ) path and for dense models."""
    work = p.work
    if seg.role != "gpu" or seg.backend != "CUDA" or not work.n_expert or not seg.experts:
        return 0.0
    if p.path(seg) != "int8":
        return 0.0
    x_max = mmq_x_max(seg.device)
    params = float(seg.experts) * sum(work.layer_expert_params[i] for i in seg.layers)
    return expert_padding_flops(u, work.n_expert, work.n_expert_used, params, x_max)


def mmq_reread_bytes(work: ModelWork, seg: Segment, u: int, efr: float, mmq_x: int) -> float:
    """Quantized weight bytes CUDA's MMQ kernels load from memory in one ubatch beyond the one
    pass that the ':wub' feature counts.

    Each MMQ thread block multiplies an mmq_y × mmq_x tile (weight rows × prompt tokens) and loads
    its own weight rows, so a matmul over n tokens streams its weights ceil(n / mmq_x) times
    (ggml/src/ggml-cuda/mmq.cuh, get_mmq_x_max_host: mmq_x up to 128 on Turing and newer, mmq_y
    128, https://github.com/ggml-org/llama.cpp/blob/00cd208554e3f21e967084e9845c4de64dc761c0/ggml/src/ggml-cuda/mmq.cuh).
    The L2 cache serves part of the repeats (its size is not in the catalog): the fitted
    coefficient of 'CUDA:mmqw' is the share that reaches DRAM. An expert matrix sees only the
    tokens routed to it, a Binomial(u, k / E) count under uniform routing, in tiles as wide as
    the whole ubatch picks (speed/moetiles.py): each expert loads its rows once per tile it runs,
    E[tiles] loads where ':wub' counts one per touched expert (efr). The output head is left out
    (a prompt computes logits for its last token only)."""
    d, e = float(seg.dense), float(seg.experts)
    extra_dense = max(0, math.ceil(u / mmq_x) - 1)
    b = d * extra_dense * sum(work.layer_dense_bytes[i] for i in seg.layers)
    if e and work.n_expert and efr > 0:
        width = mmq_tile_width(u, mmq_x, tensor_cores=mmq_x >= MMQ_X_MAX)
        p_route = min(1.0, work.n_expert_used / work.n_expert)
        extra_exp = max(0.0, expected_tiles(u, p_route, width) - efr)
        b += e * extra_exp * sum(work.layer_expert_bytes[i] for i in seg.layers)
    return b


#: Energy unit of the power-bound feature: picojoules per FLOP (its coefficient is in pJ/FLOP).
PJ = 1e-12


def power_bound_time(dev: Device, flops: float, n_tp: int = 1) -> float:
    """Time [s] a discrete GPU needs for ``flops`` of matmul if each FLOP cost 1 pJ and the card
    drew its full board power (TDP): flops × 1 pJ / TDP. Datasheet peaks are at boost clock; a
    long tensor-core GEMM is power-limited and clocks down, the more so the more FLOP/s per watt
    the datasheet claims (H100 PCIe: 756 TFLOPS FP16 at 350 W, https://www.nvidia.com/en-us/data-center/h100/;
    RTX 4090: 330 at 450 W, Ada whitepaper table 2,
    https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf).
    Its fitted coefficient is the energy per FLOP [pJ]; summed with the peak term it acts as a soft
    max(peak time, energy / power). APUs and Apple SoCs count their package or system power (the
    GPU gets most of it during a prompt); 0 where no power figure is known."""
    if dev.kind not in ("gpu", "apu", "apple") or not dev.tdp_w or dev.tdp_w <= 0:
        return 0.0
    return flops * PJ / (float(dev.tdp_w) * max(n_tp, 1))


def _resident_ubatch(
    p: _Prompt, sf: dict[str, float], seg: Segment, u: int, gemm: float, attn: float, efr: float
) -> float:
    """Features of a ubatch computed where the segment's weights live; returns its roofline [s]."""
    work, layout = p.work, p.layout
    peak, _ = _seg_peak(seg, p.machine, p.settings, p.qfam, p.C)
    if layout.n_tp > 1 and seg.role == "gpu":  # row / tensor split: GPUs share each matmul
        peak *= layout.n_tp
        if layout.split_mode == "row":
            xfer = row_split_transfer_bytes(work, seg.layers, u, layout.n_tp) / _gpu_link_bw(p.machine, p.C)
            _add(sf, f"row:xfer|{seg.backend}", xfer)
    path = p.path(seg)
    _add(sf, f"{seg.backend}|p={path}:c", gemm / peak)
    if seg.role == "gpu":
        _add(sf, f"{seg.backend}|*c={device_class(seg.device)}:c", gemm / peak)
        pwr = power_bound_time(seg.device, gemm + attn, layout.n_tp)
        if pwr:  # one energy per FLOP for every backend ('*|gpu:pwr'): the same silicon
            _add(sf, f"{seg.backend}|*gpu:pwr", pwr)
        # dequantization inside the matmul kernels (MMQ tile loads, shader unpacking) costs more
        # for some types (k-quant scales, MXFP4 / i-quant lookups): a delta per quant family
        _add(sf, f"{seg.backend}|q={p.qfam}:c", gemm / peak)
        _gpu_ubatch_memory(p, sf, seg, u, path, efr)
        _add(sf, f"{seg.backend}|e={p.settings.era}:c", gemm / peak)
        wave = cublas_wave_time(work, seg, u, path, peak, layout.n_tp)
        if wave:  # SMs left idle by the last wave of cuBLAS tiles (waves.py)
            _add(sf, f"{seg.backend}|wave:c", wave)
        gen = mmq_generation(seg.device) if path == "int8" else None
        if gen is not None:  # MMQ's share of the int8 peak per NVIDIA architecture (peaks.py)
            _add(sf, f"{seg.backend}|*g={gen}:c", gemm / peak)
        vk = _vendor_key(seg)
        if vk is not None:
            _add(sf, f"{vk}:c", gemm / peak)
    elif seg.role == "cpu" and path == "cpu":
        # CPU prompt kernels differ by ISA beyond the peak (AVX-512 VNNI / AMX tiles serve only
        # some types, NEON i8mm others): a delta per ISA on top of the CPU path
        _add(sf, f"CPU|isa={cpu_isa(seg.device)}:c", gemm / peak)
    if work.n_expert:
        ep = sum(work.expert_fraction * work.layer_expert_params[i] for i in seg.layers)
        _add(sf, f"{seg.backend}|moe:c", 2.0 * u * ep / peak)
    apeak = p.attn_peak(seg, peak)
    _add(sf, p.attn_key(seg), attn / apeak)
    bw = _seg_bw(seg, p.machine, p.settings.threads, p.C)
    wb = _seg_weight_bytes(work, seg, efr)
    return max(gemm / peak + attn / apeak, wb / bw)


def cublas_wave_time(work: ModelWork, seg: Segment, u: int, path: str, peak: float, n_tp: int = 1) -> float:
    """Time [s] at ``peak`` [FLOP/s] that the idle SMs of the last tile wave add to a CUDA ubatch
    of ``u`` tokens on the cuBLAS (FP16) path: the dense GEMM time × (1 / wave efficiency − 1)
    (:mod:`rigfit.estimate.speed.waves`); 0 on other paths, other backends, GPUs without a known
    SM count and models without a tensor table."""
    if seg.backend != "CUDA" or path != "fp16" or seg.role != "gpu" or not seg.dense:
        return 0.0
    n_sm = sm_count(seg.device)
    if not n_sm or not work.layer_mm_shapes:
        return 0.0
    shapes: dict[tuple[int, int], int] = {}
    for i in seg.layers:
        for sh in work.layer_mm_shapes[i]:
            shapes[sh] = shapes.get(sh, 0) + 1
    # each distinct shape once, weighted by its count (FLOPs of K × N per token, × count)
    useful = sum(k * n * c for (k, n), c in shapes.items())
    if useful <= 0:
        return 0.0
    busy = sum(k * n * c / wave_efficiency([(k, n)], u, n_sm, row_split=n_tp) for (k, n), c in shapes.items())
    dense = 2.0 * u * float(seg.dense) * sum(work.layer_dense_params[i] for i in seg.layers)
    return dense / peak * (busy / useful - 1.0)


#: Bytes per attention-score element of one pass over the F32 K·Q matrix (ggml keeps it in F32).
KQ_BYTES_PER_ELEMENT = 4.0


def _segment_batch(
    p: _Prompt, seg: Segment, batch_chunks: Sequence[tuple[int, int]]
) -> tuple[dict[str, float], list[float]]:
    """Features of one segment over the ubatches of one batch, and each ubatch's roofline [s]."""
    work = p.work
    sf: dict[str, float] = {}
    roof: list[float] = []
    for u, d in batch_chunks:
        efr = _unique_expert_fraction(work, u, 1.0)
        gemm = 2.0 * u * _seg_params(work, seg, work.expert_fraction, head=False)
        gemm += _mmq_expert_padding(p, seg, u)
        attn = (
            2.0
            * seg.dense
            * sum(work.layer_attn_dim[i] * u * mean_min(d, u, work.layer_window[i]) for i in seg.layers)
        )
        ubatch = _streamed_ubatch if p.streams(seg, u) else _resident_ubatch
        roof.append(ubatch(p, sf, seg, u, gemm, attn, efr))
        if not p.settings.fa and seg.dense and work.layer_n_head:
            # without flash attention the score matrix K·Q (F32, one row per query head, token
            # and context token) is written, soft-maxed and read back in memory: traffic that
            # grows with depth (flash attention keeps it on chip)
            kq = sum(work.layer_n_head[i] * u * mean_min(d, u, work.layer_window[i]) for i in seg.layers)
            bw = _seg_bw(seg, p.machine, p.settings.threads, p.C)
            _add(sf, f"{seg.backend}|fa0:kq", KQ_BYTES_PER_ELEMENT * kq / bw)
    n = len(batch_chunks)
    sf[f"{seg.backend}:ub"] = float(n) if seg is main_segment(p.layout) else 0.0
    # per layer and ubatch: the non-matmul ops (norms, rope, softmax, copies) and launches
    sf[f"{seg.backend}:ubl"] = float(n * len(seg.layers))
    sf[f"{seg.backend}|e={p.settings.era}:ubl"] = float(n * len(seg.layers))
    return sf, roof


def _pipeline(seg_feats: list[dict[str, float]], segments: Sequence[Segment], k: int) -> None:
    """-sm layer pipeline over the k ubatches of a batch: Σ_g t_g(one ubatch) + (k-1)·max_g t_g,
    as a scale on each GPU's share (in place).

    Closed form: batch time = Σ_g T_g/k + (k-1)/k · max_g T_g, with T_g the k-ubatch time."""

    def fixed(key: str) -> bool:
        return key.endswith((":ub", ":ubl"))

    totals = [sum(v for kk, v in sf.items() if not fixed(kk)) for sf in seg_feats]
    gmax = max(t for t, s in zip(totals, segments, strict=True) if s.role == "gpu")
    sum_g = sum(t for t, s in zip(totals, segments, strict=True) if s.role == "gpu")
    factor = (sum_g / k + (k - 1) / k * gmax) / sum_g if sum_g > 0 else 1.0
    for sf, seg in zip(seg_feats, segments, strict=True):
        if seg.role == "gpu":
            for kk in list(sf):
                if not fixed(kk):
                    sf[kk] *= factor


def prefill_features(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    n_prompt: int,
    depth0: int,
    C: dict,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Features whose dot product with the coefficients is the time to process a prompt [s].

    Also returns bounds: memory time per ubatch at 100 % bandwidth and compute time at peak
    (the roofline the prediction may not beat), and the PCIe streaming volume.
    """
    p = _Prompt(work, layout, machine, settings, C)
    f: dict[str, float] = {}
    roof = 0.0
    chunks, per_batch = ubatch_chunks(settings, n_prompt, depth0)
    pipelined = len(layout.gpu_segments) > 1 and settings.era != "2023" and layout.n_tp == 1
    for bi in range(0, len(chunks), per_batch):
        batch_chunks = chunks[bi : bi + per_batch]
        seg_feats: list[dict[str, float]] = []
        for seg in layout.segments:
            sf, seg_roof = _segment_batch(p, seg, batch_chunks)
            for r in seg_roof:  # summed in ubatch order (same rounding as one running total)
                roof += r
            seg_feats.append(sf)
        if pipelined and len(batch_chunks) > 1:
            _pipeline(seg_feats, layout.segments, len(batch_chunks))
        for sf in seg_feats:
            for kk, v in sf.items():
                _add(f, kk, v)
    if layout.n_gpu_hops:
        f[f"hop:gpu|{main_segment(layout).backend}"] = float(layout.n_gpu_hops) * len(chunks)
    if layout.n_cpu_hops:
        f["hop:cpu"] = float(layout.n_cpu_hops) * len(chunks)
    return f, {"roofline_s": roof, "n_ubatch": len(chunks)}


def decode_roofline_time(
    work: ModelWork,
    layout: Layout,
    machine: Machine | None,
    settings: RunSettings,
    depth0: float,
    n_tokens: float,
    C: dict,
    batch: int = 1,
    *,
    features: dict[str, float] | None = None,
) -> float:
    """Time per decode step if every device ran at 100 % of its peak bandwidth [s].

    features: :func:`decode_features` of these same arguments when the caller has them already
    (the decode estimate computes them for the step time: the same dict, not worked out twice)."""
    f = (
        features
        if features is not None
        else decode_features(work, layout, machine, settings, depth0, n_tokens, C, batch)
    )
    keys = tuple(f)
    counted = _ROOFLINE_KEYS.get(keys)
    if counted is None:
        if len(_ROOFLINE_KEYS) > 4096:
            _ROOFLINE_KEYS.clear()
        counted = _ROOFLINE_KEYS[keys] = tuple(_roofline_counts(k) for k in keys)
    t = 0.0
    for v, c in zip(f.values(), counted, strict=True):
        if c:
            t += v
    return t


#: Per tuple of feature keys (few distinct: one per layout shape and settings), which ones the
#: roofline counts (:func:`_roofline_counts`), in the dict's order.
_ROOFLINE_KEYS: dict[tuple[str, ...], tuple[bool, ...]] = {}


def _roofline_counts(k: str) -> bool:
    """Whether the roofline counts feature ``k``: the base weight streams and every KV stream."""
    head = k.split(":", 1)[0]
    return (k.endswith(":w") and "|" not in head) or k.endswith(":kv")
