"""Speed model: prefill, decode and time to first token for llama.cpp on any machine.

A roofline per device with a few calibrated terms (docs/research/perfmodel.md §0, §7):

    t_decode(c) = t0 + Σ_seg (W_seg + KV_seg(c)) / (η · BW_seg) + hops · t_hop
    t_ubatch    = t0_ub + Σ_seg max(W_seg / (η·BW),  FLOPs_seg(u, depth) / (η_c · F_path))
                  + Σ_seg c_wub · (W_seg [+ 4 B/weight FP16 dequant copy on cuBLAS/hipBLAS]) / BW
                  [+ PCIe streaming of RAM-resident weights when the GPU computes them]

``W`` is the bytes of weights actually read per token, taken tensor by tensor from the model's
tensor table (MoE: only the routed experts' top-k share; token embedding: one row). ``KV`` is
the cache read at the current depth (sliding-window layers capped at their window, MLA latent).
Every time term is ``coefficient × feature``: :func:`decode_features` / :func:`prefill_features`
compute the features (physics, no fitted numbers), and the coefficients — inverse efficiencies,
per-token overheads, hop costs — come from ONE data file,
``catalog/data/speed_constants.json``, written by ``benchmarks/calibrate.py`` from the ground
truth in ``data/ground-truth/``. The predictor never looks up a measured result for a device:
efficiency depends on the backend, the device class, the quant family and the llama.cpp build
era only, so it generalises to hardware it has never seen. Bands (p10–p90) are the calibration residuals
(leave-one-device-out) around the central value.

No prediction exceeds the bandwidth roofline: decode is capped at BW/bytes-per-token per device
chain, prefill at u·BW/W per ubatch and at the peak FLOPS of the path.

The model lives in one module per concern; this package re-exports its public names:

- :mod:`~rigfit.estimate.speed.work`: bytes and FLOPs per token (:class:`ModelWork`);
- :mod:`~rigfit.estimate.speed.classes`: quant family, build era, device class;
- :mod:`~rigfit.estimate.speed.peaks`: bandwidth and matmul peaks per device and path;
- :mod:`~rigfit.estimate.speed.layout`: which layers run where (:class:`Layout`);
- :mod:`~rigfit.estimate.speed.features`: the physics of a decode step and a prompt;
- :mod:`~rigfit.estimate.speed.coefficients`: the constants file and time = coefficient × feature;
- :mod:`~rigfit.estimate.speed.estimate`: :func:`estimate_speed` and :func:`predict_test`;
- :mod:`~rigfit.estimate.speed.hosted`: hosted SRAM systems from published figures.
"""

from __future__ import annotations

from rigfit.estimate.backends import BACKENDS, default_backend, normalise_backend
from rigfit.estimate.speed.classes import build_era, build_from_date, build_label, device_class, quant_family
from rigfit.estimate.speed.coefficients import (
    CONSTANTS_FILE,
    band,
    coefficient,
    decode_time,
    dot,
    load_constants,
    param_name,
    prefill_time,
)
from rigfit.estimate.speed.estimate import bottleneck_words, estimate_speed, predict_test
from rigfit.estimate.speed.features import (
    ROW_SPLIT_BYTES_PER_ELEMENT,
    RunSettings,
    decode_compute_time,
    decode_features,
    decode_roofline_time,
    prefill_features,
    row_split_transfer_bytes,
)
from rigfit.estimate.speed.hosted import estimate_hosted
from rigfit.estimate.speed.layout import Layout, Segment, layout_from_placement, make_layout
from rigfit.estimate.speed.peaks import (
    cpu_bandwidth,
    cpu_isa,
    cpu_path,
    cpu_peak_flops,
    gpu_peak,
    prefill_path,
)
from rigfit.estimate.speed.result import SpeedEstimate
from rigfit.estimate.speed.work import ModelWork, kv_bytes_per_elem, model_work, state_words

__all__ = [
    "BACKENDS",
    "CONSTANTS_FILE",
    "ROW_SPLIT_BYTES_PER_ELEMENT",
    "Layout",
    "ModelWork",
    "RunSettings",
    "Segment",
    "SpeedEstimate",
    "band",
    "bottleneck_words",
    "build_era",
    "build_from_date",
    "build_label",
    "coefficient",
    "cpu_bandwidth",
    "cpu_isa",
    "cpu_path",
    "cpu_peak_flops",
    "decode_compute_time",
    "decode_features",
    "decode_roofline_time",
    "decode_time",
    "default_backend",
    "device_class",
    "dot",
    "estimate_hosted",
    "estimate_speed",
    "gpu_peak",
    "kv_bytes_per_elem",
    "layout_from_placement",
    "load_constants",
    "make_layout",
    "model_work",
    "normalise_backend",
    "param_name",
    "predict_test",
    "prefill_features",
    "prefill_path",
    "prefill_time",
    "quant_family",
    "row_split_transfer_bytes",
    "state_words",
]
