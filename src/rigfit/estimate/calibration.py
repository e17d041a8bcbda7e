"""Fitting the speed model's constants to published measurements.

Every case's test time is linear in the coefficients (``time = Σ coef_k · feature_k``, see
:mod:`rigfit.estimate.speed`), so the fit is a weighted, ridge-regularised least squares on the
*relative* time error, made robust with a few Huber re-weightings:

- rows are scaled by 1/observed time (minimise relative error, as MdAPE is);
- each device's rows are down-weighted by 1/√n so that one heavily benchmarked box (Strix Halo
  has 1,180 rows) does not decide the constants for everyone;
- base coefficients are pulled weakly towards physically motivated priors (docs/research/perfmodel.md
  §7.3), deltas (quant family, device class, build era) towards zero — an unseen backend, class
  or era therefore falls back to the prior, which is what lets the model predict hardware it has
  never seen;
- inverse efficiencies are kept ≥ 1 (η ≤ 100 %) and overheads ≥ 0.

:func:`leave_one_device_out` refits without each device in turn and predicts it: the residuals
are both the accuracy report and the source of the prediction bands.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rigfit.estimate.speed.coefficients import param_name

if TYPE_CHECKING:  # typing only: predict imports this module
    from rigfit.estimate.predict import ResolvedCase

# ------------------------------------------------------------------------------------------
# priors (docs/research/perfmodel.md §3, §7.3) and the static, non-fitted constants
# ------------------------------------------------------------------------------------------

# Priors only set where a fit starts and what an unseen backend gets; the data moves them.
#: Prior inverse bandwidth efficiency (1/η_bw) per backend for weights: perfmodel.md §3.1 / §7.3
#: (CUDA 0.75–0.80, Metal 0.65–0.80, ROCm ~0.42 in 2024, CPU desktop 0.6–0.7; Vulkan, SYCL and
#: OpenCL have no published marginal figure: set between ROCm and CUDA). SYCL: the marginal
#: share of an Arc B580 (Xe2), from the slope between two models of one llama-bench table,
#: qwen2 1.5B Q4_0 132.17 and llama-2-7b Q4_0 65.65 t/s tg128 (master 26b79b6cb,
#: https://github.com/ggml-org/llama.cpp/pull/13885): 2.843 ms per GB read = 77 % of 456 GB/s
#: (speed/classes.py has the arithmetic); the Arc A770 of PR 13536 reaches 0.700 of that.
PRIOR_INV_ETA_BW = {
    "CUDA": 1 / 0.75,
    "ROCm": 1 / 0.5,
    "Vulkan": 1 / 0.6,
    "Metal": 1 / 0.7,
    "SYCL": 1 / 0.77,
    "CPU": 1 / 0.65,
    "OpenCL": 1 / 0.4,
}
#: Prior fixed per-token overhead [s] and per-layer share [s/layer]: perfmodel.md §3.1.2 derived
#: fits give t0 ≈ 2–4 ms on CUDA and 3–6 ms on Metal for 32–80-layer models, split here into a
#: fixed part and a per-layer (kernel launch) part.
PRIOR_T0 = {
    "CUDA": 1.0e-3,
    "ROCm": 1.5e-3,
    "Vulkan": 1.0e-3,
    "Metal": 2.0e-3,
    "SYCL": 2.0e-3,
    "CPU": 0.3e-3,
    "OpenCL": 2.0e-3,
}
PRIOR_T0_LAYER = {
    "CUDA": 30e-6,
    "ROCm": 40e-6,
    "Vulkan": 40e-6,
    "Metal": 40e-6,
    "SYCL": 60e-6,
    "CPU": 10e-6,
    "OpenCL": 60e-6,
}
#: Prior inverse compute efficiency (1/η_c) per backend and matmul path: perfmodel.md §3.2
#: (MMQ ≈ 0.28 of INT8 peak, Metal ≈ 0.65 of FP32 ALU peak, 7900 XTX ROCm ≈ 0.35 of FP16 peak,
#: CPU ≈ 0.5 of the FP32 FMA peak as a middle of 0.2–0.8).
PRIOR_INV_ETA_C = {
    "CUDA|p=int8": 1 / 0.28,
    "CUDA|p=fp16": 1 / 0.45,
    "ROCm|p=fp16": 1 / 0.3,
    "ROCm|p=fp16lt": 1 / 0.4,
    "Vulkan|p=fp16": 1 / 0.3,
    "Metal|p=fp32": 1 / 0.65,
    "SYCL|p=fp16": 1 / 0.3,
    "CPU|p=cpu": 1 / 0.5,
    "CPU|p=cpu_apple": 1 / 0.5,
    "OpenCL|p=fp32": 1 / 0.3,
}
#: Prior inverse efficiency of ROCm's *vector* flash-attention kernel on prompts (builds before
#: rigfit.estimate.speed.peaks.ROCM_FA_TILE_BUILD), against the FP32 shader peak. From the
#: "t/s master" column of https://github.com/ggml-org/llama.cpp/pull/15769 (MI50, llama 1B Q4_0,
#: -ub 512, pp16384: 185.61 t/s): 5.39 ms a token, of which ≈ 0.35 ms is the rest of the model
#: (assumption: ≈ 2,900 t/s without the attention), leaves ≈ 5.0 ms for 4 × 32 heads × 64 × 8,192
#: mean context × 16 layers = 1.07 GFLOP of attention: 0.21 TFLOPS, 1.6 % of the MI50's 13.4
#: TFLOPS FP32 (1/η ≈ 63; 55–67 for 0–1 ms of other work).
PRIOR_INV_ETA_VEC_FA = 63.0
#: Prior per-ubatch overhead [s] (graph build and launch of one prompt micro-batch; assumption).
#: Prior of the cuBLAS wave-tail coefficient ('CUDA|wave:c', see :func:`prior`).
WAVE_PRIOR = 1.0

PRIOR_UB = {
    "CUDA": 2e-3,
    "ROCm": 3e-3,
    "Vulkan": 3e-3,
    "Metal": 3e-3,
    "SYCL": 3e-3,
    "CPU": 1e-3,
    "OpenCL": 3e-3,
}


def prior(key: str) -> float | None:
    """Prior value of a coefficient, or None for a delta (prior 0)."""
    head, _, suffix = key.rpartition(":")
    if key.startswith("row:sync"):  # legacy -sm row: sync per layer per token [s] (order of
        return 0.3e-3  # magnitude of the 2023 2-GPU tg loss in the XiongjieDai tables)
    if key.startswith("row:xfer"):
        # 1/η of the GPU link for legacy row-split copies: staged through host memory (each byte
        # crosses PCIe twice, synchronously, in small pieces) → at most 1/2 of the link; 0.25 assumed
        return 4.0
    if key.startswith("hop:"):
        if key.startswith("hop:gpu"):
            return 0.15e-3  # layer-split GPU↔GPU hop: perfmodel.md §3.5 derived 0.12 ms (1–8× 4090)
        if key == "hop:cpu":
            return 30e-6  # GPU↔CPU boundary: perfmodel.md §7.3 assumption (10–50 µs)
        if "nvlink" in key:
            return 8e-6  # all-reduce latency α over NVLink (llm-analysis 8 µs, perfmodel.md §3.5)
        return 30e-6  # all-reduce over PCIe (20–50 µs typical, perfmodel.md §3.5)
    if key == "offload:pcie":
        return 1 / 0.75  # usable PCIe fraction 0.75 (perfmodel.md §7.3 assumption)
    if head.endswith("|wave") and suffix == "c":
        # time of the SMs a short last tile wave leaves idle (speed/features.py cublas_wave_time),
        # per second of it at peak. A full share would be the GEMM's inverse efficiency (~2.2);
        # cuBLAS's heuristics choose among tile shapes and split-K to shorten the tail, so less
        # is lost. Chosen leave-one-device-out (the fit's linear predictions, 3,170 rows;
        # overall / NVIDIA prefill MdAPE): no term 18.4 / 18.3 %, a delta with prior 0 18.3 /
        # 17.9 %, prior 0.6 18.2 / 17.6 %, 1.0 18.1 / 17.4 %, 1.5 18.1 / 17.4 %, 2.2 18.3 / 17.6 %
        return WAVE_PRIOR
    if suffix == "kq":
        # passes over the F32 score matrix without flash attention: written by the K·Q matmul,
        # read and written by the fused soft-max, read by the V matmul (assumption: 4)
        return 4.0
    if suffix == "pwr":
        # energy per FLOP of a dense FP16/INT8 tensor GEMM [pJ]: NVIDIA's datasheets put H100 SXM
        # at 989 TFLOPS FP16 for 700 W (0.7 pJ/FLOP at peak,
        # https://www.nvidia.com/en-us/data-center/h100/); the fit moves it
        return 0.5
    if "|" in head:
        base, _, mod = head.partition("|")
        if suffix == "kv":  # η_KV 0.69–0.9 with flash attention (perfmodel.md §3.3)
            return 1 / 0.8 if mod == "fa1" else 1 / 0.7
        if suffix == "attn":  # attention matmuls run far below GEMM peak; without FA slower (§3.3)
            if mod == "fa1vec":
                return PRIOR_INV_ETA_VEC_FA
            return 1 / 0.25 if mod == "fa1" else 1 / 0.12
        if suffix == "c" and mod.startswith("p="):
            return PRIOR_INV_ETA_C.get(head, 1 / 0.3)
        return None  # a delta
    base = head
    if suffix == "w":
        return PRIOR_INV_ETA_BW.get(base, 1 / 0.5)
    if suffix == "t0":
        return PRIOR_T0.get(base, 2e-3)
    if suffix == "t0l":
        return PRIOR_T0_LAYER.get(base, 50e-6)
    if suffix == "ub":
        return PRIOR_UB.get(base, 3e-3)
    if suffix == "wub":
        return 1.0  # weights (and a dequantized FP16 copy) streamed once per ubatch at 100 % BW
    if suffix == "mmqw":
        # share of the MMQ weight re-loads (one per 128-token tile, speed/features.py
        # mmq_reread_bytes) that misses the L2 cache and reaches DRAM. The data barely move it (it
        # is nearly collinear with the int8 compute term and its quant-family and architecture
        # deltas), so the prior sets the split. Chosen leave-one-device-out (benchmarks/accuracy.py,
        # 3,170 rows; overall / last-12-months prefill MdAPE): 0.1 gave 18.4 / 21.8 %, 0.2 gave
        # 18.4 / 21.4 %, 0.3 gave 18.3 / 19.7 %, 0.4 gave 18.3 / 19.9 %, 0.6 gave 18.5 / 20.3 %,
        # 1.0 (no L2 hits) gave 18.7 / 21.1 %
        return 0.3
    if suffix == "ubl":
        return 50e-6  # per layer per prompt micro-batch: non-matmul ops and launches (assumption)
    if suffix == "act":
        # effective bytes moved per (token, layer, embedding element) in prefill outside the
        # matmuls (activation casts, non-flash softmax, dequantised copies); loosely set, fitted
        return 200.0
    return None


def is_inverse_efficiency(key: str) -> bool:
    """Coefficients that are 1/η of a physical peak (must stay ≥ 1 when not a delta)."""
    head, _, suffix = key.rpartition(":")
    if key == "offload:pcie" or key.startswith("row:xfer"):
        return True
    if suffix in ("kv", "attn"):
        return True
    if suffix == "w" and "|" not in head:
        return True
    return suffix == "c" and "|p=" in head


#: Constants that are physics or published figures, not fitted (copied into the JSON).
STATIC = {
    "cpu": {
        # per-thread DRAM pull: w9-3475X 6.5 GB/s/core at 2.2 GHz (perfmodel.md §3.7), Ryzen 5800X3D
        # / i5-13500 tg128 rows ≈ 5 GB/s/thread (shared ground truth)
        "per_thread_bandwidth": 6e9,
        "clock_ghz_default": 3.0,
        "cores_default": 8,
        "apple_cpu_bandwidth_fraction": 0.6,
        "flop_per_cycle": {"amx": 128.0, "avx512": 64.0, "avx2": 32.0, "neon": 32.0, "none": 8.0},
        # AMX tiles only serve some types and builds (PR #8998; ollama #9203 saw regressions):
        # no speed-up assumed until measured
        "amx_speedup": 1.0,
        # llama.cpp's x86 quantized dot products (ggml-cpu/arch/x86/quants.c, e.g. q4_K × q8_K)
        # are written for 256-bit registers (AVX2 maddubs / AVX-VNNI dpbusd); the AVX-512 FMA
        # peak (64 FP32 FLOP/cycle) is not what they reach. Cap: the AVX2 rate, 2 FMA ports ×
        # 8 lanes × 2 = 32 FLOP/cycle (recalled from the llama.cpp source, not re-measured)
        "quant_kernel_flop_per_cycle": 32.0,
        "eta_c_prior": 0.5,
        "notes": "per-thread bandwidth from w9-3475X/13900K thread sweeps (perfmodel.md §3.7); "
        "FLOP/cycle = fp32 FMA lanes ×2 (AVX2 8 lanes ×2 FMA ports ×2); AMX ~2× AVX-512 "
        "for Q4_0/Q8_0 prompt processing (llama.cpp PR #8998)",
    },
    # efficiency of the matmul path used only for the compute lower bound of a decode step (large
    # --parallel batches, slow devices): perfmodel.md §5.1 (0.5–0.75 for big GEMMs); prefill value
    # only used where no fitted coefficient applies
    "gpu_compute_eta": {"decode": 0.5, "prefill": 0.3},
    "moe": {
        "batch_gamma": 0.75,
        "notes": "unique experts per batch E·(1-(1-k/E)^(B^γ)), γ from vLLM gpt-oss-120b on DGX Spark",
    },
    "offload": {
        "op_offload_min_batch": 32,
        "pcie_bandwidth_default": 25e9,
        "notes": "ggml_backend_cuda_device_offload_op: ubatches ≥ 32 tokens stream RAM weights",
    },
    "peak_fallback_ratio": {
        "int8_per_fp32": 4.0,
        "fp16_per_fp32": 2.0,
        "notes": "used only when the catalog lacks a tensor/int8 peak (flagged)",
    },
    "hosted": {
        "cerebras": {
            "sram_bytes": 44e9,
            "usable_fraction": 0.8,
            "ttft_s": 0.24,
            "source": "Cerebras-hosted per-user speeds: Llama 3.1 8B 1,800 t/s (launch, "
            "https://cerebras.ai/blog/introducing-cerebras-inference-ai-at-instant-speed), Llama 3.1 70B "
            "2,100 t/s (https://cerebras.ai/blog/cerebras-inference-3x-faster; 2,148 t/s in "
            "https://danielkim.sh/blog/how-is-cerebras-so-fast), Llama 3.1 405B 969 t/s "
            "(https://www.tomshardware.com/tech-industry/artificial-intelligence/cerebras-video-shows-ai-"
            "writing-code-75x-faster-than-worlds-fastest-ai-gpu-cloud-worlds-largest-chip-beats-awss-"
            "fastest-in-head-to-head-comparison), gpt-oss-120b 2,059 and GLM-4.7 1,201 t/s (SemiAnalysis "
            "tokenomics); vendor-hosted, may include speculative decoding",
            # (active parameters [billions], per-user tok/s) of the published figures below
            "anchors": [[5.13, 2059.0], [8.03, 1800.0], [32.0, 1201.0], [70.6, 2100.0], [405.9, 969.0]],
            # per-user figures the vendor publishes for these very models (same sources)
            "published": {
                "glm-4.7": 1201.0,
                "gpt-oss-120b": 2059.0,
                "llama-3.1-8b": 1800.0,
                "llama-3.1-70b": 2100.0,
                "llama-3.1-405b": 969.0,
            },
        },
        "groq": {
            "sram_bytes": 0.23e9,
            "usable_fraction": 0.8,
            "anchors": [[6.74, 750.0], [12.9, 480.0], [68.98, 300.0], [5.1, 476.0]],
            "ttft_s": 0.2,
            "source": "Groq-hosted per-user speeds: Llama-2-7B 750, Mixtral 480, Llama-2-70B 300 t/s "
            "(early 2024), gpt-oss-120b ~476 t/s (Artificial Analysis); vendor-hosted",
            # the anchors above by model name (same source)
            "published": {
                "llama-2-7b": 750.0,
                "mixtral-8x7b": 480.0,
                "llama-2-70b": 300.0,
                "gpt-oss-120b": 476.0,
            },
        },
    },
}


# ------------------------------------------------------------------------------------------
# fitting
# ------------------------------------------------------------------------------------------


@dataclass
class FitRow:
    """One measurement ready to fit: its features (total test time), tokens and observed rate."""

    features: dict[str, float]
    tokens: float
    observed_tps: float
    device: str
    kind: str
    backend: str
    hardware_kind: str
    ref: ResolvedCase | None = None  # the resolved case (for predicting with the full model)

    @property
    def time(self) -> float:
        return self.tokens / self.observed_tps


RIDGE_BASE = 0.5  # pull of a decode coefficient towards its prior (in units of relative error²)
#: Pull of a prefill base coefficient towards its prior. Prefill bases of thin backends (ROCm
#: FP32 / hipBLASLt paths, new-build CUDA MMQ) rest on one or two devices, which leave-one-device-out
#: then removes; a firmer prior generalises better. Chosen leave-one-device-out (benchmarks/accuracy.py,
#: 3,244 rows; overall / AMD / last-12-months prefill MdAPE): 0.15 gave 23.8 / 31.5 / 25.0 %,
#: 0.5 gave 23.6 / 29.5 / 24.6 %, 1.5 gave 22.8 / 27.5 / 24.2 %, 4.0 gave 22.5 / 27.2 / 24.3 %,
#: 10 gave 22.1 / 27.9 / 25.3 %.
RIDGE_BASE_PREFILL = 4.0
RIDGE_DELTA = 4.0  # pull of a delta towards zero
#: Pull of a vendor delta ("<backend>|v=<vendor>:…") towards zero: weaker than RIDGE_DELTA, so a
#: vendor with few rows (Intel, or AMD on Vulkan) can move away from the backend's shared value
#: when its own measurements say so. Chosen leave-one-device-out (benchmarks/accuracy.py, 3,242
#: rows): 4.0 (as RIDGE_DELTA) gave decode/prefill MdAPE 10.1 %/25.9 %, 1.0 gave 9.8 %/25.5 %,
#: 0.25 gave 9.6 %/25.1 %, 0.1 gave 9.4 %/25.4 %.
RIDGE_VENDOR_DELTA = 0.25
#: The NVIDIA architecture deltas of the int8 (MMQ) prompt path ("|g=", speed/peaks.py
#: mmq_generation) take the same weak pull: each rests on a few recent-build rows. Chosen
#: leave-one-device-out (benchmarks/accuracy.py, 3,150 rows; overall / last-12-months prefill
#: MdAPE): RIDGE_DELTA (4.0) gave 19.7 / 24.2 %, 0.25 gave 19.6 / 23.4 %.
GROUP_CAP = 30  # rows of one device and kind that count fully


def fit(rows: list[FitRow], iterations: int = 4, huber: float = 0.25) -> dict[str, float]:
    """Fit coefficients to rows. Returns {key: value} for every feature key seen.

    A ridge regression of each row's features per second of its measured time on 1 (time =
    coefficients · features), pulled towards the priors (:func:`_penalties`), with lower bounds
    held (:func:`_bounded_ridge`) and rows re-weighted ``iterations`` times (Huber, relative
    residual ``huber``); each (device, kind) group counts as at most :data:`GROUP_CAP` rows."""
    keys, X = _design(rows)
    if not keys:
        return {}
    w0 = _group_weights(rows)
    pri, scale, lam = _penalties(keys)
    # column scaling for conditioning
    Xs = X * scale
    pri_s = pri / scale
    y = np.ones(len(rows))
    w = w0.copy()
    theta_s = pri_s.copy()
    for _ in range(iterations):
        theta_s = _bounded_ridge(Xs, y, w, lam, pri_s, scale, keys)
        pred = Xs @ theta_s
        rel = np.abs(pred - 1.0)
        w = w0 * np.where(rel <= huber, 1.0, np.sqrt(huber / np.maximum(rel, 1e-12)))
    theta = theta_s * scale
    # final bound enforcement (after the last re-weighting)
    out = {}
    for k, v in zip(keys, theta, strict=True):
        lo = _lower_bound(k)
        out[k] = float(max(v, lo)) if lo is not None else float(v)
    return out


def _design(rows: list[FitRow]) -> tuple[list[str], np.ndarray]:
    """(coefficient keys, sorted; the design matrix: each row's features per second of its time)."""
    rows_feats = []
    for r in rows:
        fd: dict[str, float] = {}
        for k, v in r.features.items():
            pk = param_name(k)
            fd[pk] = fd.get(pk, 0.0) + v
        rows_feats.append(fd)
    keys = sorted({k for fd in rows_feats for k in fd})
    idx = {k: i for i, k in enumerate(keys)}
    X = np.zeros((len(rows), len(keys)))
    for i, r in enumerate(rows):
        t = r.time
        for k, v in rows_feats[i].items():
            X[i, idx[k]] = v / t
    return keys, X


def _group_weights(rows: list[FitRow]) -> np.ndarray:
    """Each row's weight (square root, as it scales a residual): each (device, kind) group counts
    as at most GROUP_CAP rows."""
    per_dev: defaultdict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        per_dev[(r.device, r.kind)] += 1
    return np.array(
        [math.sqrt(min(per_dev[(r.device, r.kind)], GROUP_CAP) / per_dev[(r.device, r.kind)]) for r in rows]
    )


def _penalties(keys: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prior, scale, ridge pull) of each coefficient: a base is pulled towards its prior, a delta
    towards zero; the scale is its prior, or (for deltas) the prior of its base."""
    pri = np.array([prior(k) if prior(k) is not None else 0.0 for k in keys])
    scale = np.array([abs(p_k) if (p_k := prior(k)) else _delta_scale(k) for k in keys])
    lam = np.array(
        [
            (RIDGE_BASE_PREFILL if _is_prefill_key(k) else RIDGE_BASE)
            if prior(k) is not None
            else (RIDGE_VENDOR_DELTA if ("|v=" in k or "|g=" in k) else RIDGE_DELTA)
            for k in keys
        ]
    )
    return pri, scale, lam


def _bounded_ridge(
    Xs: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    lam: np.ndarray,
    pri_s: np.ndarray,
    scale: np.ndarray,
    keys: list[str],
) -> np.ndarray:
    """The weighted ridge solution (scaled coefficients) with every lower bound held: a coefficient
    that falls below its bound is fixed at it and the rest solved again (up to three passes)."""
    p = len(keys)
    fixed: dict[int, float] = {}
    for _pass in range(3):
        free = [j for j in range(p) if j not in fixed]
        A = np.vstack([Xs[:, free] * w[:, None], np.diag(np.sqrt(lam[free]))])
        rhs = np.concatenate(
            [(y - sum(Xs[:, j] * fixed[j] for j in fixed)) * w, np.sqrt(lam[free]) * pri_s[free]]
        )
        sol, *_ = np.linalg.lstsq(A, rhs, rcond=None)
        theta_s = np.array([fixed.get(j, 0.0) for j in range(p)])
        theta_s[free] = sol
        newly = False
        for j in free:
            lb = _lower_bound(keys[j])
            if lb is not None and theta_s[j] < lb / scale[j]:
                fixed[j] = lb / scale[j]
                newly = True
        if not newly:
            break
    return theta_s


def _is_prefill_key(key: str) -> bool:
    suffix = key.rpartition(":")[2]
    return suffix in ("c", "attn", "ub", "ubl", "act", "pcie", "wub", "mmqw", "pwr", "kq") or key.startswith(
        "row:xfer"
    )


def _delta_scale(key: str) -> float:
    head, _, suffix = key.rpartition(":")
    base = head.split("|", 1)[0]
    if base == "*":
        base = "CUDA"
    p = prior(f"{base}:{suffix}")
    if p:
        return abs(p)
    if suffix == "c":
        return 3.0
    return 1.0


def _lower_bound(key: str) -> float | None:
    head, _, suffix = key.rpartition(":")
    if is_inverse_efficiency(key):
        return 1.0
    if suffix in ("pwr", "kq", "mmqw") or head.endswith("|wave"):
        return 0.0
    if suffix in ("t0", "t0l", "ub", "ubl", "act", "wub") and "|" not in head:
        return 0.0
    if key.startswith(("hop:", "row:")):
        return 0.0
    return None


def predict_time(coefs: dict[str, float], features: dict[str, float]) -> float:
    """Linear prediction (used for fitting diagnostics; the predictor adds its floors and caps)."""
    return sum(coefs.get(k, prior(k) or 0.0) * v for k, v in features.items())


def residual_quantiles(log_ratios: Iterable[float], lo: float = 0.1, hi: float = 0.9) -> dict[str, float]:
    arr = np.array(list(log_ratios))
    if arr.size == 0:
        return {"p10": -0.35, "p90": 0.35, "n": 0}
    return {"p10": float(np.quantile(arr, lo)), "p90": float(np.quantile(arr, hi)), "n": int(arr.size)}


__all__ = ["STATIC", "FitRow", "fit", "is_inverse_efficiency", "predict_time", "prior", "residual_quantiles"]
