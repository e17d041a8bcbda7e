"""Speed model: prefill, decode and time to first token for llama.cpp on any machine.

A roofline per device with a few calibrated terms (research/perfmodel.md §0, §7):

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
``catalog/data/speed_constants.json``, written by ``benchmarks/calibrate.py`` from the shared
ground truth. The predictor never looks up a measured result for a device: efficiency depends
on the backend, the device class, the quant family and the llama.cpp build era only, so it
generalises to hardware it has never seen. Bands (p10–p90) are the calibration residuals
(leave-one-device-out) around the central value.

No prediction exceeds the bandwidth roofline: decode is capped at BW/bytes-per-token per device
chain, prefill at u·BW/W per ubatch and at the peak FLOPS of the path.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from rigfit.archs import family_for, is_expert_tensor
from rigfit.catalog.arch import Architecture, ModelSpec
from rigfit.figures import Figure
from rigfit.hardware.devices import Device, Machine

# ------------------------------------------------------------------------------------------
# constants file
# ------------------------------------------------------------------------------------------

CONSTANTS_FILE = "speed_constants.json"


@lru_cache(maxsize=4)
def load_constants(path: str | None = None) -> dict:
    """The calibrated constants (one JSON file). ``path`` overrides the bundled file."""
    if path:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    text = resources.files("rigfit.catalog").joinpath("data", CONSTANTS_FILE).read_text("utf-8")
    return json.loads(text)


# ------------------------------------------------------------------------------------------
# names: backends, quant families, device classes, build eras
# ------------------------------------------------------------------------------------------

BACKENDS = ("CUDA", "ROCm", "Vulkan", "Metal", "SYCL", "CPU")


def normalise_backend(name: str | None) -> str | None:
    """'ROCm/HIP', 'HIP' → 'ROCm'; 'Vulkan,RPC' → 'Vulkan'; 'OpenCL (CLBlast)' → 'OpenCL'."""
    if not name:
        return None
    low = name.strip().lower()
    if low.startswith(("rocm", "hip")):
        return "ROCm"
    if low.startswith("vulkan"):
        return "Vulkan"
    if low.startswith("cuda") or low == "cublas":
        return "CUDA"
    if low.startswith("metal") or low == "mps":
        return "Metal"
    if low.startswith("sycl") or "ipex" in low:
        return "SYCL"
    if low.startswith("opencl") or "clblast" in low:
        return "OpenCL"
    if low.startswith("cpu") or low in ("blas", "openblas", "accelerate"):
        return "CPU"
    return name.strip()


def quant_family(file_type: str | None) -> str:
    """Kernel family of a llama.cpp file type: f16, q8, q4_0, kquant, iquant, mxfp4."""
    ft = (file_type or "").upper()
    if ft in ("F16", "BF16", "F32"):
        return "f16"
    if ft.startswith("MXFP4"):
        return "mxfp4"
    if ft.startswith("IQ") or ft.startswith("TQ"):
        return "iquant"
    if ft.startswith("Q8"):
        return "q8"
    if ft in ("Q4_0", "Q4_1", "Q5_0", "Q5_1"):
        return "q4_0"
    if "_K" in ft:
        return "kquant"
    return "kquant"


def build_era(build: int | None) -> str:
    """llama.cpp build era: '2023' (< b2000: no CUDA graphs, no ubatch), '2024' (< b3100: no
    MMQ on int8 tensor cores), 'new' (≥ b3100, or unknown = today's llama.cpp)."""
    if build is None:
        return "new"
    if build < 2000:
        return "2023"
    if build < 3100:
        return "2024"
    return "new"


def device_class(dev: Device) -> str:
    """Efficiency class of a device: gpu_hbm, gpu, apple, apu, cpu, hosted."""
    kind = dev.kind
    if kind == "gpu":
        mt = (dev.memory_type or "").upper()
        return "gpu_hbm" if "HBM" in mt else "gpu"
    return kind


# ------------------------------------------------------------------------------------------
# the model: bytes and FLOPs per token, from the tensor table
# ------------------------------------------------------------------------------------------

def kv_bytes_per_elem(kv_type: str) -> float:
    """Bytes per cached K/V element of a llama.cpp ``-ctk`` type (the quant catalog's table)."""
    from rigfit.catalog.quant import resolve_kv_type

    return float(resolve_kv_type(kv_type).bytes_per_element)


@dataclass(frozen=True)
class ModelWork:
    """What one token costs: bytes and FLOPs per layer, derived from a :class:`ModelSpec`.

    layer_dense_bytes[il]: weights of layer il read for every token (attention, norms, router,
        dense FFN, shared experts) [B].
    layer_expert_bytes[il]: all routed-expert weights of layer il [B] (a token reads k/E of them).
    layer_dense_params / layer_expert_params: the same as element counts (for FLOPs).
    head_bytes / head_params: output matrix (+ output norm), read for every sampled token.
    embd_row_bytes: one row of the token-embedding table (what a token reads of it).
    layer_kv_elems[il]: K+V cache elements per context token in layer il (0: recurrent layer).
    layer_window[il]: sliding window of layer il (None: full attention).
    layer_attn_dim[il]: n_head × (head_dim_k + head_dim_v) — attention FLOPs per (token, context
        token) are 2 × this.
    layer_mm_in[il] / layer_mm_out[il]: Σ input (K) and Σ output (N) widths of the layer's dense
        2-D weight matrices — the activations a row-split matmul sends out and gathers back.
    """

    name: str
    n_layer: int
    layer_dense_bytes: tuple[float, ...]
    layer_expert_bytes: tuple[float, ...]
    layer_dense_params: tuple[float, ...]
    layer_expert_params: tuple[float, ...]
    head_bytes: float
    head_params: float
    embd_row_bytes: float
    embd_bytes: float
    layer_kv_elems: tuple[float, ...]
    layer_window: tuple[int | None, ...]
    layer_attn_dim: tuple[float, ...]
    n_expert: int = 0
    n_expert_used: int = 0
    expert_ff: int = 0
    file_type: str | None = None
    n_embd: int = 0
    layer_mm_in: tuple[float, ...] = ()
    layer_mm_out: tuple[float, ...] = ()

    @property
    def expert_fraction(self) -> float:
        return self.n_expert_used / self.n_expert if self.n_expert else 0.0

    @property
    def total_bytes(self) -> float:
        return sum(self.layer_dense_bytes) + sum(self.layer_expert_bytes) + self.head_bytes + self.embd_bytes

    def layer_bytes_per_token(self, il: int) -> float:
        return self.layer_dense_bytes[il] + self.expert_fraction * self.layer_expert_bytes[il]

    def layer_params_per_token(self, il: int) -> float:
        return self.layer_dense_params[il] + self.expert_fraction * self.layer_expert_params[il]

    @property
    def bytes_per_token(self) -> float:
        """Weights read per decoded token at batch 1 [B] (no KV)."""
        return (sum(self.layer_bytes_per_token(i) for i in range(self.n_layer)) + self.head_bytes
                + self.embd_row_bytes)

    @property
    def active_params(self) -> float:
        return sum(self.layer_params_per_token(i) for i in range(self.n_layer)) + self.head_params

    def kv_bytes_per_token(self, kv_bytes_per_elem: float = 2.0) -> float:
        return sum(self.layer_kv_elems) * kv_bytes_per_elem

    def scaled(self, factor: float) -> ModelWork:
        """The same model with every weight byte scaled (to match a published file size)."""
        return ModelWork(
            self.name, self.n_layer, tuple(b * factor for b in self.layer_dense_bytes),
            tuple(b * factor for b in self.layer_expert_bytes), self.layer_dense_params,
            self.layer_expert_params, self.head_bytes * factor, self.head_params,
            self.embd_row_bytes * factor, self.embd_bytes * factor, self.layer_kv_elems,
            self.layer_window, self.layer_attn_dim, self.n_expert, self.n_expert_used,
            self.expert_ff, self.file_type, self.n_embd, self.layer_mm_in, self.layer_mm_out)


def model_work(spec: ModelSpec) -> ModelWork:
    """Bytes and FLOPs per token of a model, tensor by tensor."""
    a: Architecture = spec.arch
    n = a.n_layer
    dense_b = [0.0] * n
    exp_b = [0.0] * n
    dense_p = [0.0] * n
    exp_p = [0.0] * n
    mm_in = [0.0] * n
    mm_out = [0.0] * n
    head_b = head_p = 0.0
    embd_b = 0.0
    embd_row = 0.0
    has_output = any(t.name.startswith("output.") and "norm" not in t.name for t in spec.tensors)
    for t in spec.tensors:
        il = t.layer
        if il is not None and 0 <= il < n:
            if is_expert_tensor(t.name):
                exp_b[il] += t.n_bytes
                exp_p[il] += t.n_elements
            else:
                dense_b[il] += t.n_bytes
                # norms and biases are bytes, not matmul FLOPs
                if len(t.shape) >= 2 and min(t.shape[:2]) > 1:
                    dense_p[il] += t.n_elements
                    if len(t.shape) == 2:  # GGUF order: ne0 = input width K, ne1 = output rows N
                        mm_in[il] += t.shape[0]
                        mm_out[il] += t.shape[1]
            continue
        if t.name.startswith("token_embd") and "norm" not in t.name:
            embd_b += t.n_bytes
            rows = t.shape[1] if len(t.shape) > 1 else max(a.n_vocab, 1)
            embd_row += t.n_bytes / max(rows, 1)
            if not has_output and t.name.endswith(".weight"):  # tied: the table is the output
                head_b += t.n_bytes  # read whole for every sampled token …
                head_p += t.n_elements
                embd_b -= t.n_bytes  # … and counted once in the file size
        elif t.name.startswith("output"):
            head_b += t.n_bytes
            if len(t.shape) >= 2 and min(t.shape[:2]) > 1:
                head_p += t.n_elements
        else:  # rope freqs, position tables, vision towers …: counted as read per token
            head_b += t.n_bytes
    kv = []
    win = []
    attn = []
    kv_on_recurrent = family_for(a.arch).kv_on_recurrent   # falcon-h1: SSM and attention per layer
    for il in range(n):
        if a.is_recurrent(il) and not kv_on_recurrent:
            kv.append(0.0)
            win.append(None)
            attn.append(0.0)
            continue
        if a.mla is not None:
            kv.append(float(a.mla.cache_elems_per_token))
            attn.append(float(a.n_head * (a.mla.qk_nope_head_dim + a.mla.qk_rope_head_dim
                                          + a.mla.v_head_dim)))
        else:
            kv.append(float(a.head_kv(il) * (a.n_embd_head_k + a.n_embd_head_v)))
            attn.append(float(a.n_head * (a.n_embd_head_k + a.n_embd_head_v)))
        win.append(a.sliding_window if a.is_swa(il) else None)
    moe = a.moe
    return ModelWork(
        name=a.name or a.id, n_layer=n, layer_dense_bytes=tuple(dense_b), layer_expert_bytes=tuple(exp_b),
        layer_dense_params=tuple(dense_p), layer_expert_params=tuple(exp_p), head_bytes=head_b,
        head_params=head_p, embd_row_bytes=embd_row, embd_bytes=embd_b, layer_kv_elems=tuple(kv),
        layer_window=tuple(win), layer_attn_dim=tuple(attn), n_expert=moe.n_expert if moe else 0,
        n_expert_used=moe.n_expert_used if moe else 0, expert_ff=moe.expert_ff if moe else 0,
        file_type=spec.file_type, n_embd=a.n_embd, layer_mm_in=tuple(mm_in), layer_mm_out=tuple(mm_out))


def _mean_min(d0: float, n: float, w: int | None) -> float:
    """Mean of min(c, w) for c uniform over [d0, d0 + n) (n ≥ 0); w None = no cap."""
    if w is None:
        return d0 + max(n - 1, 0) / 2.0
    if n <= 1:
        return float(min(d0, w))
    lo, hi = d0, d0 + n - 1
    if hi <= w:
        return (lo + hi) / 2.0
    if lo >= w:
        return float(w)
    part1 = (w - lo) * (lo + w) / 2.0
    part2 = (hi - w) * w
    return (part1 + part2) / (hi - lo)


# ------------------------------------------------------------------------------------------
# devices: bandwidth and compute peaks per path
# ------------------------------------------------------------------------------------------


def default_backend(dev: Device) -> str:
    """The llama.cpp backend a device runs by default."""
    v = (dev.vendor or "").lower()
    if dev.kind == "cpu":
        return "CPU"
    if dev.kind == "apple" or v == "apple":
        return "Metal"
    if "nvidia" in v:
        return "CUDA"
    if "amd" in v:
        return "ROCm"
    if "intel" in v:
        return "SYCL"
    return "Vulkan"


def _cpu_ghz_guess(dev: Device, C: dict) -> float:
    return float(C["cpu"].get("clock_ghz_default", 3.0))


def cpu_isa(dev: Device | None) -> str:
    """The best llama.cpp CPU matmul ISA of a CPU: amx, avx512, avx2, neon, or none."""
    if dev is None:
        return "avx2"
    flags = " ".join(dev.simd).upper()
    if "AMX" in flags:
        return "amx"
    if "AVX512" in flags.replace("-", "").replace("_", "") or "AVX-512" in flags:
        return "avx512"
    if "AVX2" in flags:
        return "avx2"
    if "NEON" in flags or "SVE" in flags or dev.kind == "apple" or (dev.vendor or "").lower() == "apple":
        return "neon"
    if not flags:
        return "avx2"  # unknown flags: assume a modern x86 (flagged in the notes)
    return "none"


def cpu_peak_flops(dev: Device | None, threads: int | None, C: dict) -> tuple[float, str]:
    """Matmul peak of a CPU for llama.cpp's quantized dot products [FLOP/s] and its ISA."""
    cc = C["cpu"]
    isa = cpu_isa(dev)
    cores = (dev.cores if dev and dev.cores else None) or cc.get("cores_default", 8)
    used = min(threads, cores) if threads else cores
    if dev is not None and dev.kind == "cpu" and dev.fp32_flops:
        # catalog FP32 FMA peak of all cores; AMX tiles roughly double Q4_0/Q8_0 prompt speed
        mult = cc.get("amx_speedup", 2.0) if isa == "amx" else 1.0
        # llama.cpp's quantized dot products are 256-bit (AVX2 / AVX-VNNI) code: a core whose
        # FP32 peak counts 512-bit FMA lanes runs them at the 256-bit rate
        fpc = (dev.extra or {}).get("fp32_flop_per_cycle")
        width = cc.get("quant_kernel_flop_per_cycle")
        if fpc and width and fpc > width:
            mult *= width / fpc
        return dev.fp32_flops * used / cores * mult, isa
    ghz = _cpu_ghz_guess(dev, C) if dev else cc.get("clock_ghz_default", 3.0)
    per_cycle = cc["flop_per_cycle"].get(isa, cc["flop_per_cycle"]["avx2"])
    return used * ghz * 1e9 * per_cycle, isa


def cpu_bandwidth(machine: Machine | None, dev: Device | None, threads: int | None, C: dict) -> float:
    """Memory bandwidth the CPU cores can pull [B/s]: min(DRAM peak, threads × per-thread)."""
    cc = C["cpu"]
    bw = None
    if machine is not None and machine.ram_bandwidth_bytes_per_s:
        bw = machine.ram_bandwidth_bytes_per_s
    if bw is None and dev is not None and dev.bandwidth_bytes_per_s:
        bw = dev.bandwidth_bytes_per_s
    if bw is None:
        bw = cc.get("dram_bandwidth_default", 50e9)
    if dev is not None and dev.kind == "apple":
        # Apple's CPU clusters reach a fixed share of the unified bandwidth with few threads
        return bw * cc.get("apple_cpu_bandwidth_fraction", 0.6)
    cores = (dev.cores if dev and dev.cores else None) or cc.get("cores_default", 8)
    t = min(threads or cores, cores)
    return min(bw, t * cc["per_thread_bandwidth"])


def gpu_peak(dev: Device, path: str, C: dict) -> tuple[float, bool]:
    """Peak of a GPU matmul path [FLOP/s] and whether it was estimated from another figure.

    path: 'int8' (MMQ on tensor cores), 'fp16' / 'fp16lt' (tensor/WMMA/coopmat FP16; 'fp16lt' is
    ROCm's hipBLASLt GEMM, the same FP16 units), 'fp32' (shader ALUs).
    """
    fb = C["peak_fallback_ratio"]
    f32 = dev.fp32_flops
    if path == "fp16lt":
        path = "fp16"
    if path == "int8":
        if dev.int8_ops:
            return dev.int8_ops, False
        if dev.fp16_flops:
            return dev.fp16_flops * 2.0, True
        if f32:
            return f32 * fb["int8_per_fp32"], True
    if path in ("int8", "fp16"):
        if dev.fp16_flops:
            return dev.fp16_flops, False
        if dev.fp16_fp32acc_flops:
            return dev.fp16_fp32acc_flops * 2.0, True
        if f32:
            return f32 * fb["fp16_per_fp32"], True
    if f32:
        return f32, False
    if dev.fp16_flops:
        return dev.fp16_flops / fb["fp16_per_fp32"], True
    return 10e12, True


def cpu_path(dev: Device) -> str:
    """CPU prompt path: 'cpu' (llama.cpp's SIMD kernels) or 'cpu_apple' (Apple CPUs, where
    llama.cpp has used the Accelerate BLAS / AMX coprocessor for large matmuls)."""
    return "cpu_apple" if dev.kind == "apple" or (dev.vendor or "").lower() == "apple" else "cpu"


def prefill_path(backend: str, dev: Device, qfam: str, era: str, hipblaslt: bool = False) -> str:
    """Which matmul path llama.cpp takes for a prompt on this device."""
    if backend == "ROCm" and hipblaslt:
        return "fp16lt"
    if backend == "CUDA":
        if qfam != "f16" and era == "new":
            return "int8"
        return "fp16"
    if backend in ("ROCm", "Vulkan", "SYCL"):
        return "fp16"
    return "fp32"  # Metal (Apple GPUs run FP16 at the FP32 rate), OpenCL


# ------------------------------------------------------------------------------------------
# layout: which layers run where
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A run of layers computed on one device with one backend.

    role: 'gpu' (an accelerator: discrete GPU, Apple GPU, APU GPU) or 'cpu'.
    layers: layer indices; head: the output layer runs here.
    weights_in_ram: the segment's weights live in host RAM (CPU-offloaded layers).
    """

    device: Device
    backend: str
    role: str
    layers: tuple[int, ...]
    head: bool = False
    index: int = 0
    dense: bool = True  # the layers' attention, norms and dense/shared FFN live here
    experts: bool = True  # the layers' routed experts live here (--n-cpu-moe moves them to RAM)


@dataclass(frozen=True)
class Layout:
    segments: tuple[Segment, ...]
    n_gpu_hops: int = 0  # GPU↔GPU boundaries (layer split)
    n_cpu_hops: int = 0  # GPU↔CPU boundaries per token (offload)
    split_mode: str = "layer"
    n_tp: int = 1
    link: str = "pcie"  # GPU-GPU link kind

    @property
    def gpu_segments(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.role == "gpu")

    @property
    def cpu_segments(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.role == "cpu")


def make_layout(work: ModelWork, machine: Machine, backend: str | None = None, ngl: int | None = None,
                cpu_only: bool = False, split_mode: str = "layer",
                tensor_split: tuple[float, ...] | None = None) -> Layout:
    """llama.cpp's default layout: the last ``ngl`` layers on the accelerators, split over them
    in proportion to their memory (``-sm layer``); the rest and the input embedding on the CPU.

    ngl None or ≥ n_layer+1: everything (incl. the output layer) on the accelerators.
    """
    n = work.n_layer
    accs = tuple(machine.accelerators)
    cpu = machine.cpu
    be = normalise_backend(backend)
    if cpu_only or be == "CPU" or not accs:
        dev = cpu or (accs[0] if accs else None)
        if dev is None:
            raise ValueError("machine has neither accelerators nor a CPU")
        return Layout((Segment(dev, "CPU", "cpu", tuple(range(n)), head=True),))
    be = be or default_backend(accs[0])
    n_gpu_layers = n if ngl is None or ngl > n else max(ngl, 0)
    head_on_gpu = ngl is None or ngl > n
    first_gpu = n - n_gpu_layers
    segs: list[Segment] = []
    cpu_dev = cpu or Device(id="cpu-unknown", name="unknown CPU", kind="cpu", vendor="unknown")
    if first_gpu > 0:
        segs.append(Segment(cpu_dev, "CPU", "cpu", tuple(range(first_gpu)), head=not head_on_gpu))
    gpu_layers = list(range(first_gpu, n))
    if gpu_layers:
        if split_mode in ("tensor", "row") and len(accs) > 1:
            segs.append(Segment(accs[0], be, "gpu", tuple(gpu_layers), head=head_on_gpu, index=0))
            link = machine.interconnect.kind if machine.interconnect else "pcie"
            return Layout(tuple(segs), 0, 1 if first_gpu > 0 else 0, split_mode, len(accs), link)
        weights = tensor_split or tuple(float(d.memory_bytes or 1) for d in accs)
        tot = sum(weights)
        cuts = []
        acc = 0.0
        for w in weights:
            acc += w
            cuts.append(round(acc / tot * len(gpu_layers)))
        start = 0
        for gi, (dev, end) in enumerate(zip(accs, cuts, strict=True)):
            part = tuple(gpu_layers[start:end])
            start = end
            last = gi == len(accs) - 1
            if part or (last and head_on_gpu):
                segs.append(Segment(dev, be, "gpu", part, head=head_on_gpu and last, index=gi))
    elif head_on_gpu:
        segs.append(Segment(accs[-1], be, "gpu", (), head=True, index=len(accs) - 1))
    n_gpu = len([s for s in segs if s.role == "gpu"])
    n_cpu_hops = 0
    if first_gpu > 0 and n_gpu:
        n_cpu_hops = 1 if head_on_gpu or not gpu_layers else 2
    link = machine.interconnect.kind if machine.interconnect else "pcie"
    return Layout(tuple(segs), max(n_gpu - 1, 0), n_cpu_hops, "layer", 1, link)


def layout_from_placement(work: ModelWork, machine: Machine, placement: Any,
                          backend: str | None = None) -> Layout | None:
    """The layout of a memory placement (``rigfit.estimate.placement.Placement``): each layer on
    the device the placement put it on ("CUDA0", "Metal", … in accelerator order, or "CPU")."""
    layer_dev = getattr(placement, "layer_device", None)
    if not layer_dev or len(layer_dev) != work.n_layer:
        return None
    out_dev = getattr(placement, "output_device", None)
    accs = tuple(machine.accelerators)
    gpu_names = [d for d in getattr(placement, "devices", ()) if d != "CPU"]
    if len(gpu_names) > len(accs):
        return None
    be = normalise_backend(backend) or (default_backend(accs[0]) if accs else "CPU")
    cpu_dev = machine.cpu or Device(id="cpu-unknown", name="unknown CPU", kind="cpu", vendor="unknown")
    if not accs:
        return Layout((Segment(cpu_dev, "CPU", "cpu", tuple(range(work.n_layer)), head=True),))
    segs: list[Segment] = []
    cur: str | None = None
    run: list[int] = []

    def flush(name: str | None, layers: list[int]) -> None:
        if name is None:
            return
        if name in gpu_names:
            gi = gpu_names.index(name)
            segs.append(Segment(accs[gi], be, "gpu", tuple(layers), index=gi))
        else:
            segs.append(Segment(cpu_dev, "CPU", "cpu", tuple(layers)))

    for il, name in enumerate(layer_dev):
        if name != cur:
            flush(cur, run)
            cur, run = name, []
        run.append(il)
    flush(cur, run)
    head_dev = out_dev or layer_dev[-1]
    head_role = "cpu" if head_dev not in gpu_names else "gpu"
    head_idx = gpu_names.index(head_dev) if head_role == "gpu" else -1
    for i in range(len(segs) - 1, -1, -1):
        s = segs[i]
        if s.role == head_role and (head_role == "cpu" or s.index == head_idx):
            segs[i] = Segment(s.device, s.backend, s.role, s.layers, True, s.index)
            break
    else:
        dev = accs[head_idx] if head_role == "gpu" else cpu_dev
        segs.append(Segment(dev, be if head_role == "gpu" else "CPU", head_role, (), True,
                            max(head_idx, 0)))
    # --cpu-moe / --n-cpu-moe: routed experts of GPU layers kept in RAM and computed by the CPU;
    # every such layer sends its activations to the CPU and back (2 boundaries per token)
    tdev = getattr(placement, "tensor_device", None) or {}
    # NextN/MTP blocks (index >= n_layer, e.g. GLM) are not run for plain decoding: skip them
    moe_cpu = sorted({int(n.split(".")[1]) for n, d in tdev.items()
                      if is_expert_tensor(n) and d == "CPU" and n.startswith("blk.")
                      and int(n.split(".")[1]) < len(layer_dev)
                      and layer_dev[int(n.split(".")[1])] != "CPU"})
    if moe_cpu and work.n_expert:
        keep = set(moe_cpu)
        new: list[Segment] = []
        for s in segs:
            if s.role != "gpu" or not keep.intersection(s.layers):
                new.append(s)
                continue
            a = tuple(i for i in s.layers if i in keep)
            b = tuple(i for i in s.layers if i not in keep)
            new.append(Segment(s.device, s.backend, "gpu", a, s.head and not b, s.index, True, False))
            if b:
                new.append(Segment(s.device, s.backend, "gpu", b, s.head, s.index))
        new.append(Segment(cpu_dev, "CPU", "cpu", tuple(moe_cpu), False, 0, False, True))
        segs = new
    n_gpu = len({s.index for s in segs if s.role == "gpu"})
    bounds = sum(1 for a, b in itertools.pairwise(segs) if (a.role == "cpu") != (b.role == "cpu"))
    bounds += 2 * len(moe_cpu) if moe_cpu and work.n_expert else 0
    link = machine.interconnect.kind if machine.interconnect else "pcie"
    return Layout(tuple(segs), max(n_gpu - 1, 0), bounds, "layer", 1, link)


# ------------------------------------------------------------------------------------------
# features: the physics (no fitted numbers)
# ------------------------------------------------------------------------------------------


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

    @property
    def era(self) -> str:
        return build_era(self.build)

    @property
    def fa(self) -> bool:
        if self.flash_attn is not None:
            return self.flash_attn
        return self.era == "new"


def _main_segment(layout: Layout) -> Segment:
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


def _seg_weight_bytes(work: ModelWork, seg: Segment, expert_frac: float) -> float:
    d, e = float(seg.dense), float(seg.experts)
    b = sum(d * work.layer_dense_bytes[i] + e * expert_frac * work.layer_expert_bytes[i] for i in seg.layers)
    if seg.head:
        b += work.head_bytes
    return b


def _seg_params(work: ModelWork, seg: Segment, expert_frac: float, head: bool = True) -> float:
    d, e = float(seg.dense), float(seg.experts)
    p = sum(d * work.layer_dense_params[i] + e * expert_frac * work.layer_expert_params[i]
            for i in seg.layers)
    if seg.head and head:
        p += work.head_params
    return p


def _seg_kv_elems(work: ModelWork, seg: Segment, depth0: float, n: float) -> float:
    """KV elements read per token averaged over n tokens starting at depth0."""
    if not seg.dense:
        return 0.0
    return sum(work.layer_kv_elems[i] * _mean_min(depth0, n, work.layer_window[i]) for i in seg.layers)


def _unique_expert_fraction(work: ModelWork, tokens: float, gamma: float) -> float:
    """Share of routed experts touched by a step over ``tokens`` tokens (uniform routing, B^γ)."""
    if not work.n_expert:
        return 0.0
    k = work.n_expert_used / work.n_expert
    return 1.0 - (1.0 - k) ** (max(tokens, 1.0) ** gamma)


def _keys(backend: str, dev: Device, qfam: str, era: str) -> tuple[str, str, str, str]:
    return backend, f"{backend}|q={qfam}", f"{backend}|*c={device_class(dev)}", f"{backend}|e={era}"


def decode_features(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                    depth0: float, n_tokens: float, C: dict, batch: int = 1) -> dict[str, float]:
    """Features whose dot product with the coefficients is the mean decode step time [s].

    Units: ``*:w`` and ``*:kv`` features are seconds at 100 % bandwidth (bytes / BW); ``*:t0``
    is a count of steps; ``*:t0l`` the number of layers; ``hop:*`` the number of boundaries.
    """
    f: dict[str, float] = {}
    qfam = quant_family(work.file_type)
    era = settings.era
    kvb = kv_bytes_per_elem(settings.kv_type)
    gamma = C["moe"].get("batch_gamma", 0.75)
    efrac = work.expert_fraction if batch <= 1 else _unique_expert_fraction(work, batch, gamma)
    fa = "fa1" if settings.fa else "fa0"
    main = _main_segment(layout)
    for seg in layout.segments:
        bw = _seg_bw(seg, machine, settings.threads, C)
        w = _seg_weight_bytes(work, seg, efrac) / bw
        if layout.n_tp > 1 and seg.role == "gpu":
            w /= layout.n_tp
        kv = batch * _seg_kv_elems(work, seg, depth0, n_tokens) * kvb / bw
        if layout.n_tp > 1 and seg.role == "gpu":
            kv /= layout.n_tp
        b, bq, bc, be = _keys(seg.backend, seg.device, qfam, era)
        for k in (b, bq, bc, be):
            f[f"{k}:w"] = f.get(f"{k}:w", 0.0) + w
        if work.n_expert and seg.experts:
            f[f"{b}|moe:w"] = f.get(f"{b}|moe:w", 0.0) + (
                sum(efrac * work.layer_expert_bytes[i] for i in seg.layers) / bw)
        f[f"{b}|{fa}:kv"] = f.get(f"{b}|{fa}:kv", 0.0) + kv
        n_l = len(seg.layers) if seg.dense else 0
        f[f"{b}:t0l"] = f.get(f"{b}:t0l", 0.0) + n_l
        f[f"{be}:t0l"] = f.get(f"{be}:t0l", 0.0) + n_l
    b, _, _, be = _keys(main.backend, main.device, qfam, era)
    f[f"{b}:t0"] = f.get(f"{b}:t0", 0.0) + 1.0
    f[f"{be}:t0"] = f.get(f"{be}:t0", 0.0) + 1.0
    if layout.n_gpu_hops:
        f[f"hop:gpu|{main.backend}"] = float(layout.n_gpu_hops)
    if layout.n_cpu_hops:
        f["hop:cpu"] = float(layout.n_cpu_hops)
    if layout.n_tp > 1:
        if layout.split_mode == "row":  # legacy -sm row: a sync at every split matmul
            f[f"row:sync|{main.backend}"] = work.n_layer * (layout.n_tp - 1) ** 0.7
        else:  # tensor parallel: two all-reduces per layer
            f[f"hop:allreduce|{layout.link}"] = 2.0 * work.n_layer
    return f


def decode_compute_time(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                        depth: float, C: dict, batch: int = 1) -> float:
    """Lower bound of one decode step from compute [s] (matters for CPUs and large batches)."""
    t = 0.0
    qfam = quant_family(work.file_type)
    gamma = C["moe"].get("batch_gamma", 0.75)
    for seg in layout.segments:
        flops = 2.0 * batch * _seg_params(work, seg, work.expert_fraction)
        flops += 2.0 * batch * seg.dense * sum(
            work.layer_attn_dim[i] * _mean_min(depth, 1, work.layer_window[i]) for i in seg.layers)
        peak, eta = _seg_peak(seg, machine, settings, qfam, C, decode=True)
        t += flops / (peak * eta)
    del gamma
    return t


def _seg_peak(seg: Segment, machine: Machine | None, settings: RunSettings, qfam: str, C: dict,
              decode: bool = False) -> tuple[float, float]:
    """(peak FLOP/s, prior efficiency) of the matmul path of a segment."""
    if seg.role == "cpu":
        peak, _ = cpu_peak_flops(seg.device, settings.threads, C)
        return peak, C["cpu"].get("eta_c_prior", 0.5)
    path = prefill_path(seg.backend, seg.device, qfam, settings.era, settings.rocm_hipblaslt)
    peak, _ = gpu_peak(seg.device, path, C)
    return peak, C["gpu_compute_eta"]["decode" if decode else "prefill"]


#: Bytes per activation element a row-split matmul moves: src1 is copied as F32 to every GPU and
#: the F32 results come back (ggml-cuda.cu ggml_cuda_op_mul_mat, builds before b1800).
ROW_SPLIT_BYTES_PER_ELEMENT = 4.0


def row_split_transfer_bytes(work: ModelWork, layers: Sequence[int], n_tokens: float,
                             n_devices: int) -> float:
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


def prefill_features(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                     n_prompt: int, depth0: int, C: dict) -> tuple[dict[str, float], dict[str, Any]]:
    """Features whose dot product with the coefficients is the time to process a prompt [s].

    Also returns bounds: memory time per ubatch at 100 % bandwidth and compute time at peak
    (the roofline the prediction may not beat), and the PCIe streaming volume.
    """
    f: dict[str, float] = {}
    qfam = quant_family(work.file_type)
    era = settings.era
    u_max = settings.n_ubatch if era != "2023" else min(settings.n_batch, 512)
    u_max = max(1, u_max)
    n_batch = max(settings.n_batch, u_max) if era != "2023" else u_max
    fa = "fa1" if settings.fa else "fa0"
    roof = 0.0
    gpu_segs = layout.gpu_segments
    pcie = machine.host_link.bandwidth_bytes_per_s if machine and machine.host_link else None
    pcie = pcie or C["offload"].get("pcie_bandwidth_default", 25e9)
    unified = bool(machine and machine.unified_memory)
    # per-ubatch work
    chunks: list[tuple[int, int]] = []
    pos = 0
    while pos < n_prompt:
        u = min(u_max, n_prompt - pos)
        chunks.append((u, depth0 + pos))
        pos += u
    pipelined = len(gpu_segs) > 1 and era != "2023" and layout.n_tp == 1
    per_batch = max(1, n_batch // u_max)
    for bi in range(0, len(chunks), per_batch):
        batch_chunks = chunks[bi: bi + per_batch]
        seg_feats: list[dict[str, float]] = []
        for seg in layout.segments:
            sf: dict[str, float] = {}
            for u, d in batch_chunks:
                efr = _unique_expert_fraction(work, u, 1.0)
                gemm = 2.0 * u * _seg_params(work, seg, work.expert_fraction, head=False)
                attn = 2.0 * seg.dense * sum(
                    work.layer_attn_dim[i] * u * _mean_min(d, u, work.layer_window[i]) for i in seg.layers)
                stream = seg.role == "cpu" and gpu_segs and u >= C["offload"]["op_offload_min_batch"] \
                    and not unified
                if stream:  # op offload: the GPU computes, RAM-resident weights cross PCIe
                    gseg = gpu_segs[-1]
                    peak, _ = _seg_peak(gseg, machine, settings, qfam, C)
                    path = prefill_path(gseg.backend, gseg.device, qfam, era, settings.rocm_hipblaslt)
                    key = f"{gseg.backend}|p={path}"
                    sf[f"{key}:c"] = sf.get(f"{key}:c", 0.0) + gemm / peak
                    sf[f"{gseg.backend}|{fa}:attn"] = sf.get(f"{gseg.backend}|{fa}:attn", 0.0) + attn / peak
                    wbytes = _seg_weight_bytes(work, seg, efr)
                    sf["offload:pcie"] = sf.get("offload:pcie", 0.0) + wbytes / pcie
                    roof += max(gemm / peak, wbytes / pcie)
                    continue
                peak, _ = _seg_peak(seg, machine, settings, qfam, C)
                if layout.n_tp > 1 and seg.role == "gpu":  # row / tensor split: GPUs share each matmul
                    peak *= layout.n_tp
                    if layout.split_mode == "row":
                        xfer = (row_split_transfer_bytes(work, seg.layers, u, layout.n_tp)
                                / _gpu_link_bw(machine, C))
                        sf[f"row:xfer|{seg.backend}"] = sf.get(f"row:xfer|{seg.backend}", 0.0) + xfer
                path = cpu_path(seg.device) if seg.role == "cpu" else prefill_path(
                    seg.backend, seg.device, qfam, era, settings.rocm_hipblaslt)
                key = f"{seg.backend}|p={path}"
                sf[f"{key}:c"] = sf.get(f"{key}:c", 0.0) + gemm / peak
                if seg.role == "gpu":
                    ck = f"{seg.backend}|*c={device_class(seg.device)}:c"
                    sf[ck] = sf.get(ck, 0.0) + gemm / peak
                    ak = f"{seg.backend}:act"
                    act = u * len(seg.layers) * work.n_embd / _seg_bw(seg, machine, settings.threads, C)
                    sf[ak] = sf.get(ak, 0.0) + act
                    ek = f"{seg.backend}|e={era}:act"
                    sf[ek] = sf.get(ek, 0.0) + act
                    # every ubatch streams the weights once more from VRAM; on the FP16 GEMM path a
                    # quantized weight is first dequantized to a temporary FP16 copy for cuBLAS /
                    # hipBLAS (2 B/weight written, 2 B read back by the GEMM; Vulkan, SYCL and Metal
                    # shaders dequantize in registers): memory time the compute term misses
                    wq = _seg_weight_bytes(work, seg, efr)
                    if path in ("fp16", "fp16lt") and qfam != "f16" and seg.backend in ("CUDA", "ROCm"):
                        wq += 4.0 * _seg_params(work, seg, efr, head=False)
                    wk = f"{seg.backend}:wub"
                    sf[wk] = sf.get(wk, 0.0) + wq / _seg_bw(seg, machine, settings.threads, C)
                    sf[f"{seg.backend}|e={era}:c"] = sf.get(f"{seg.backend}|e={era}:c", 0.0) + gemm / peak
                if work.n_expert:
                    ep = sum(work.expert_fraction * work.layer_expert_params[i] for i in seg.layers)
                    sf[f"{seg.backend}|moe:c"] = sf.get(f"{seg.backend}|moe:c", 0.0) + 2.0 * u * ep / peak
                sf[f"{seg.backend}|{fa}:attn"] = sf.get(f"{seg.backend}|{fa}:attn", 0.0) + attn / peak
                bw = _seg_bw(seg, machine, settings.threads, C)
                wb = _seg_weight_bytes(work, seg, efr)
                roof += max(gemm / peak + attn / peak, wb / bw)
            sf[f"{seg.backend}:ub"] = float(len(batch_chunks)) if seg is _main_segment(layout) else 0.0
            # per layer and ubatch: the non-matmul ops (norms, rope, softmax, copies) and launches
            sf[f"{seg.backend}:ubl"] = float(len(batch_chunks) * len(seg.layers))
            sf[f"{seg.backend}|e={era}:ubl"] = float(len(batch_chunks) * len(seg.layers))
            seg_feats.append(sf)
        if pipelined and len(batch_chunks) > 1:
            # -sm layer pipeline: Σ_g t_g(one ubatch) + (k-1)·max_g t_g  ≈ scale each GPU's share
            k = len(batch_chunks)
            totals = [sum(v for kk, v in sf.items() if not kk.endswith((":ub", ":ubl"))) for sf in seg_feats]
            gmax = max(t for t, s in zip(totals, layout.segments, strict=True) if s.role == "gpu")
            # closed form: batch time = Σ_g T_g/k + (k-1)/k · max_g T_g, with T_g the k-ubatch time
            sum_g = sum(t for t, s in zip(totals, layout.segments, strict=True) if s.role == "gpu")
            factor = (sum_g / k + (k - 1) / k * gmax) / sum_g if sum_g > 0 else 1.0
            for sf, seg in zip(seg_feats, layout.segments, strict=True):
                if seg.role == "gpu":
                    for kk in list(sf):
                        if not kk.endswith((":ub", ":ubl")):
                            sf[kk] *= factor
        for sf in seg_feats:
            for kk, v in sf.items():
                f[kk] = f.get(kk, 0.0) + v
    if layout.n_gpu_hops:
        f[f"hop:gpu|{_main_segment(layout).backend}"] = float(layout.n_gpu_hops) * len(chunks)
    if layout.n_cpu_hops:
        f["hop:cpu"] = float(layout.n_cpu_hops) * len(chunks)
    return f, {"roofline_s": roof, "n_ubatch": len(chunks)}


# ------------------------------------------------------------------------------------------
# coefficients
# ------------------------------------------------------------------------------------------


def param_name(key: str) -> str:
    """The coefficient a feature uses: 'CUDA|*c=apu:w' → '*|c=apu:w' (shared by all backends)."""
    if "|*" in key:
        head, _, suffix = key.rpartition(":")
        return "*|" + head.split("|*", 1)[1] + ":" + suffix
    return key


def coefficient(C: dict, key: str) -> float:
    """A fitted coefficient: value in the constants file, else its prior, else 0 (a delta)."""
    key = param_name(key)
    coefs = C.get("coefficients", {})
    if key in coefs:
        return float(coefs[key])
    pri = C.get("priors", {})
    if key in pri:
        return float(pri[key])
    base = key.split("|", 1)[0].split(":", 1)[0]
    suffix = key.rsplit(":", 1)[-1]
    if "|" in key.split(":", 1)[0]:
        return 0.0  # an unseen delta (quant family, class, era): no correction
    generic = pri.get(f"*:{suffix}")
    if generic is not None:
        return float(generic)
    del base
    return 0.0


def dot(C: dict, feats: dict[str, float]) -> float:
    return sum(coefficient(C, k) * v for k, v in feats.items())


def _group_sum(C: dict, feats: dict[str, float], suffix: str, floor: float) -> float:
    """Time of the features ending in ``suffix``, per base group, with each group's total
    inverse efficiency floored (η ≤ 1/floor): deltas can never push a device past its peak."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for k, v in feats.items():
        if k.endswith(suffix):
            base = k.split("|", 1)[0].split(":", 1)[0]
            groups.setdefault(base, []).append((k, v))
    total = 0.0
    for _base, items in groups.items():
        # all features of one base share the same physical quantity: combine coefficients
        ref = max(v for _, v in items)
        if ref <= 0:
            continue
        coef = sum(coefficient(C, k) * v for k, v in items) / ref
        total += max(coef, floor) * ref
    return total


def decode_time(C: dict, feats: dict[str, float]) -> float:
    """Decode step time [s] from features: η ≤ 1 for weights and KV, overheads ≥ 0."""
    t = 0.0
    # weights: base feature holds the bytes/BW; deltas re-use the same quantity
    for k, v in feats.items():
        head = k.split(":", 1)[0]
        if k.endswith(":w") and "|" not in head:
            base = head
            coef = coefficient(C, k)
            deltas = (kk for kk in feats if kk.endswith(":w") and kk.split(":", 1)[0].startswith(base + "|"))
            for dk in deltas:
                dv = feats[dk]
                coef += coefficient(C, dk) * (dv / v if v else 0.0)
            t += max(coef, 1.0) * v
        elif k.endswith(":kv"):
            t += max(coefficient(C, k), 1.0) * v
        elif k.endswith(":t0") or k.endswith(":t0l") or k.startswith(("hop:", "row:")):
            t += coefficient(C, k) * v
    return max(t, 0.0)


def prefill_time(C: dict, feats: dict[str, float]) -> float:
    """Prefill time [s]: compute terms with η ≤ 1, per-ubatch overhead, hops and PCIe."""
    t = 0.0
    comp: dict[str, float] = {}
    for k, v in feats.items():
        head = k.split(":", 1)[0]
        if k.endswith(":c"):
            base = head.split("|", 1)[0]
            comp[base] = comp.get(base, 0.0) + coefficient(C, k) * v
            if "|p=" in head:
                comp.setdefault("_ref_" + base, 0.0)
                comp["_ref_" + base] += v
        elif k.endswith(":attn") or k.endswith(":pcie"):
            t += max(coefficient(C, k), 1.0) * v
        else:
            t += coefficient(C, k) * v
    for base, val in comp.items():
        if base.startswith("_ref_"):
            continue
        ref = comp.get("_ref_" + base, 0.0)
        t += max(val, ref)  # η_c ≤ 1
    return max(t, 0.0)


# ------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedEstimate:
    """What ``rigfit plan`` shows under ``speed``.

    prefill_tps: prompt tokens/s for a ``prompt``-token prompt.
    decode_tps: tokens/s at depth 0 (one user); decode_tps_ctx: at the chosen context.
    ttft_s: time to first token for the prompt. aggregate_tps / per_user_tps: with ``parallel``
    users decoding at once. bottleneck: what limits speed, in words.
    """

    prefill_tps: Figure
    decode_tps: Figure
    decode_tps_ctx: Figure
    ttft_s: Figure
    bottleneck: str
    prompt_tokens: int
    context_tokens: int
    parallel: int = 1
    aggregate_tps: Figure | None = None
    per_user_tps: Figure | None = None
    roofline_decode_tps: float | None = None
    notes: tuple[str, ...] = ()
    details: dict = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        out = {
            "prefill_tps": self.prefill_tps.to_json(),
            "decode_tps": self.decode_tps.to_json(),
            "decode_tps_at_context": self.decode_tps_ctx.to_json(),
            "ttft_s": self.ttft_s.to_json(),
            "prompt_tokens": self.prompt_tokens,
            "context_tokens": self.context_tokens,
            "bottleneck": self.bottleneck,
            "roofline_decode_tps": self.roofline_decode_tps,
            "notes": list(self.notes),
        }
        if self.parallel > 1 and self.aggregate_tps and self.per_user_tps:
            out["parallel"] = self.parallel
            out["aggregate_decode_tps"] = self.aggregate_tps.to_json()
            out["per_user_decode_tps"] = self.per_user_tps.to_json()
        return out


def band(C: dict, kind: str, backend: str | None, value: float, split_mode: str = "layer"
         ) -> tuple[float, float]:
    """p10–p90 band around a central tokens/s value from calibration residuals (log ratios).

    Legacy row split has a band of its own: its speed hangs on the host's PCIe slots, which
    published results rarely state, so its residuals are far wider than the backend's."""
    bands = C.get("bands", {})
    entry = ((bands.get(f"{kind}|{backend}|row") if split_mode == "row" else None)
             or bands.get(f"{kind}|{backend}") or bands.get(kind) or {"p10": -0.35, "p90": 0.35})
    return value * math.exp(entry["p10"]), value * math.exp(entry["p90"])


def decode_roofline_time(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                         depth0: float, n_tokens: float, C: dict, batch: int = 1) -> float:
    """Time per decode step if every device ran at 100 % of its peak bandwidth [s]."""
    f = decode_features(work, layout, machine, settings, depth0, n_tokens, C, batch)
    t = 0.0
    for k, v in f.items():
        head = k.split(":", 1)[0]
        if (k.endswith(":w") and "|" not in head) or k.endswith(":kv"):
            t += v
    return t


def _decode_tps(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                depth0: float, n_tokens: float, C: dict, batch: int = 1) -> tuple[float, float, float]:
    """(tokens/s per sequence, roofline tokens/s, compute-bound step time)."""
    f = decode_features(work, layout, machine, settings, depth0, n_tokens, C, batch)
    t_mem = decode_time(C, f)
    t_roof = decode_roofline_time(work, layout, machine, settings, depth0, n_tokens, C, batch)
    t_cmp = decode_compute_time(work, layout, machine, settings, depth0 + n_tokens / 2, C, batch)
    t = max(t_mem, t_cmp, t_roof)
    return 1.0 / t, (1.0 / t_roof if t_roof > 0 else math.inf), t_cmp


def _prefill_tps(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                 n_prompt: int, depth0: int, C: dict) -> tuple[float, float, dict]:
    f, info = prefill_features(work, layout, machine, settings, n_prompt, depth0, C)
    t = max(prefill_time(C, f), info["roofline_s"])
    return n_prompt / t, (n_prompt / info["roofline_s"] if info["roofline_s"] > 0 else math.inf), f


def predict_test(work: ModelWork, machine: Machine, settings: RunSettings, kind: str, prompt: int = 0,
                 gen: int = 0, depth: int = 0, C: dict | None = None) -> tuple[float, float]:
    """Predicted tokens/s of a llama-bench test and its roofline: kind pp / tg / pg."""
    C = C or load_constants()
    layout = make_layout(work, machine, settings.backend, settings.ngl, settings.cpu_only,
                         settings.split_mode)
    if kind == "pp":
        tps, roof, _ = _prefill_tps(work, layout, machine, settings, prompt, depth, C)
        return tps, roof
    if kind == "tg":
        tps, roof, _ = _decode_tps(work, layout, machine, settings, depth, gen, C)
        return tps, roof
    pp, pp_roof, _ = _prefill_tps(work, layout, machine, settings, prompt, depth, C)
    tg, tg_roof, _ = _decode_tps(work, layout, machine, settings, depth + prompt, gen, C)
    t = prompt / pp + gen / tg
    t_roof = prompt / pp_roof + gen / tg_roof
    return (prompt + gen) / t, (prompt + gen) / t_roof if t_roof > 0 else math.inf


__all__ = [
    "BACKENDS", "Layout", "ModelWork", "RunSettings", "Segment", "SpeedEstimate",
    "band", "build_era", "coefficient", "cpu_bandwidth", "cpu_isa", "cpu_peak_flops", "decode_features",
    "decode_time", "default_backend", "device_class", "gpu_peak", "load_constants", "make_layout",
    "model_work", "normalise_backend", "predict_test", "prefill_features", "prefill_path",
    "prefill_time", "quant_family",
]


# ------------------------------------------------------------------------------------------
# the user-facing estimate (rigfit plan)
# ------------------------------------------------------------------------------------------


def _placement_ngl(placement: Any, n_layer: int) -> int | None:
    """GPU layer count from a placement object (duck-typed: n_gpu_layers / ngl / gpu_layers)."""
    if placement is None:
        return None
    for attr in ("n_gpu_layers", "ngl", "gpu_layers"):
        v = getattr(placement, attr, None)
        if isinstance(v, int):
            return None if v > n_layer else v
        if isinstance(v, (list, tuple)):
            return len(v)
    return None


def _placement_split(placement: Any) -> tuple[float, ...] | None:
    for attr in ("tensor_split", "layers_per_device", "device_layers"):
        v = getattr(placement, attr, None)
        if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v):
            return tuple(float(x) for x in v)
    return None


def state_words(work: ModelWork) -> str:
    """What a decoded token reads, in words: 'weights and KV cache' for
    attention models, 'weights and recurrent state' for Mamba/RWKV-style models, all three for
    hybrids (recurrent layers cache no K/V: ``layer_kv_elems`` 0 and no attention)."""
    has_kv = any(e > 0 for e in work.layer_kv_elems)
    has_rec = any(e == 0 and a == 0 for e, a in zip(work.layer_kv_elems, work.layer_attn_dim, strict=True))
    if has_kv and has_rec:
        return "weights, KV cache and recurrent state"
    if has_rec:
        return "weights and recurrent state"
    return "weights and KV cache" if has_kv else "weights"


def bottleneck_words(work: ModelWork, layout: Layout, machine: Machine | None, settings: RunSettings,
                     C: dict, depth: float = 0.0) -> tuple[str, dict[str, float]]:
    """What limits decode, in words, with the share of the step time of each part."""
    f = decode_features(work, layout, machine, settings, depth, 1, C)
    parts: dict[str, float] = {}
    for seg in layout.segments:
        sub = Layout((seg,), 0, 0, layout.split_mode, layout.n_tp, layout.link)
        g = decode_features(work, sub, machine, settings, depth, 1, C)
        w = sum(v for k, v in g.items() if k.endswith(":w") or k.endswith(":kv"))
        t = decode_time(C, {k: v for k, v in g.items() if k.endswith(":w") or k.endswith(":kv")})
        name = "cpu" if seg.role == "cpu" else "gpu"
        parts[name] = parts.get(name, 0.0) + t
        del w
    parts["overhead"] = sum(coefficient(C, k) * v for k, v in f.items() if k.endswith((":t0", ":t0l")))
    parts["interconnect"] = sum(coefficient(C, k) * v for k, v in f.items() if k.startswith(("hop:", "row:")))
    t_cmp = decode_compute_time(work, layout, machine, settings, depth, C)
    total = sum(parts.values())
    if t_cmp > total:
        return "compute (the processor's arithmetic, not memory, limits each token)", parts
    share = {k: v / total for k, v in parts.items()} if total > 0 else parts
    top = max(share, key=lambda k: share[k])
    pct = f"{share[top]:.0%} of each token"
    if top == "cpu" and layout.gpu_segments:
        n_cpu = sum(len(s.layers) for s in layout.cpu_segments if s.dense)
        n_moe = sum(len(s.layers) for s in layout.cpu_segments if not s.dense)
        what = f"the {n_cpu} layers" if n_cpu else ""
        if n_moe:
            what += (" and " if what else "") + f"the routed experts of {n_moe} layers"
        return (f"offload: {what} in system RAM are read by the CPU ({pct}); "
                f"more VRAM or a smaller quant would help most"), share
    if top == "cpu":
        return f"memory bandwidth of system RAM ({pct})", share
    if top == "gpu":
        return f"memory bandwidth (reading the {state_words(work)}: {pct})", share
    if top == "overhead":
        return (f"per-token overhead (kernel launches and synchronisation: {pct}); "
                "a faster GPU would not help much"), share
    return f"interconnect (hops between devices: {pct})", share


def estimate_speed(spec: ModelSpec | ModelWork, machine: Machine, *, placement: Any = None,
                   backend: str | None = None, ngl: int | None = None, context: int = 4096,
                   prompt: int = 512, parallel: int = 1, kv_type: str = "f16",
                   flash_attn: bool | None = None, threads: int | None = None, n_ubatch: int = 512,
                   n_batch: int = 2048, split_mode: str = "layer", cpu_only: bool = False,
                   constants: dict | None = None) -> SpeedEstimate:
    """Prefill, decode (depth 0 and at ``context``), TTFT and concurrency for a model on a machine.

    ``placement`` (from :func:`rigfit.estimate.placement.place`) gives the GPU layer count and
    the split over GPUs; ``ngl`` overrides it. Hosted SRAM systems (Cerebras, Groq) are
    answered from published figures (see :func:`estimate_hosted`).
    """
    C = constants or load_constants()
    work = spec if isinstance(spec, ModelWork) else model_work(spec)
    accs = machine.accelerators
    if accs and accs[0].kind == "hosted":
        return estimate_hosted(work, accs[0], context=context, prompt=prompt, C=C)
    if ngl is None:
        ngl = _placement_ngl(placement, work.n_layer)
    settings = RunSettings(backend=normalise_backend(backend), ngl=ngl, threads=threads,
                           flash_attn=flash_attn, build=None, n_ubatch=n_ubatch, n_batch=n_batch,
                           kv_type=kv_type, parallel=parallel, split_mode=split_mode, cpu_only=cpu_only)
    layout = None
    if placement is not None and not cpu_only and split_mode == "layer":
        layout = layout_from_placement(work, machine, placement, settings.backend)
    if layout is None:
        layout = make_layout(work, machine, settings.backend, ngl, cpu_only, split_mode,
                             _placement_split(placement))
    be = _main_segment(layout).backend
    notes: list[str] = []
    prompt = max(int(prompt), 1)
    context = max(int(context), prompt)
    pp, pp_roof, _ = _prefill_tps(work, layout, machine, settings, prompt, 0, C)
    tg0, roof0, _ = _decode_tps(work, layout, machine, settings, 0, 1, C)
    tgc, roofc, _ = _decode_tps(work, layout, machine, settings, context, 1, C)
    t_first = prompt / pp + 1.0 / _decode_tps(work, layout, machine, settings, prompt, 1, C)[0]
    src = "rigfit speed model (calibrated: catalog/data/speed_constants.json)"

    def fig(kind: str, value: float, roof: float, unit: str = "tok/s") -> Figure:
        lo, hi = band(C, kind, be, value, split_mode)
        return Figure(value, unit, "estimated", src, min(lo, value), max(min(hi, roof), value))

    pp_lo, pp_hi = band(C, "pp", be, pp, split_mode)
    pp_hi = min(pp_hi, pp_roof)
    tg_lo, tg_hi = band(C, "tg", be, tg0, split_mode)
    # TTFT band: slow end from the slow prefill band, fast end from the fast one
    ttft = Figure(t_first, "s", "estimated", src, prompt / max(pp_hi, pp) + 1.0 / max(tg_hi, tg0),
                  prompt / min(pp_lo, pp) + 1.0 / min(tg_lo, tg0))
    words, share = bottleneck_words(work, layout, machine, settings, C)
    agg = per_user = None
    if parallel > 1:
        depth = min(context, prompt)
        per, roof_b, _ = _decode_tps(work, layout, machine, settings, depth, 1, C, batch=parallel)
        per_user = fig("tg", per, roof_b)
        lo, hi = band(C, "tg", be, per * parallel)
        agg = Figure(per * parallel, "tok/s", "estimated", src + "; weights read once per step, KV per user",
                     min(lo, per * parallel), max(min(hi, roof_b * parallel), per * parallel))
    if layout.cpu_segments and layout.gpu_segments:
        n_cpu = sum(len(s.layers) for s in layout.cpu_segments if s.dense)
        n_moe = sum(len(s.layers) for s in layout.cpu_segments if not s.dense)
        part = f"{n_cpu} of {work.n_layer} layers" if n_cpu else ""
        if n_moe:
            part += (" and " if part else "") + f"the routed experts of {n_moe} layers"
        notes.append(f"partial offload: {part} run on the CPU from system RAM; prompts stream those "
                     "weights over PCIe to the GPU (ubatches ≥ 32 tokens)")
    for seg in layout.cpu_segments:
        isa = cpu_isa(seg.device)
        if isa == "none":
            notes.append(f"{seg.device.name} has no AVX2: llama.cpp's CPU kernels run far slower "
                         "(prefill estimate uses scalar/SSE throughput)")
        elif isa in ("amx", "avx512"):
            notes.append(f"{seg.device.name}: {isa.upper()} present, but llama.cpp's quantized dot "
                         "products run at the 256-bit AVX2/VNNI rate (prefill estimated so)")
        if not seg.device.simd:
            notes.append(f"{seg.device.name}: ISA flags unknown, AVX2 assumed")
    if len(layout.gpu_segments) > 1:
        notes.append(f"layer split over {len(layout.gpu_segments)} GPUs: decode does not get faster "
                     "with more GPUs (one token passes through them in turn); long prompts pipeline")
    if machine.unified_memory:
        notes.append("unified memory: GPU and CPU share one memory bandwidth")
    for d in {s.device.name: s.device for s in layout.segments}.values():
        if d.kind != "cpu" and not d.int8_ops and not d.fp16_flops:
            notes.append(f"{d.name}: no tensor/matrix peak in the catalog; prefill peak estimated "
                         "from FP32 throughput (wider uncertainty)")
    return SpeedEstimate(
        prefill_tps=Figure(pp, "tok/s", "estimated", src, min(pp_lo, pp), max(pp_hi, pp)),
        decode_tps=fig("tg", tg0, roof0),
        decode_tps_ctx=fig("tg", tgc, roofc),
        ttft_s=ttft,
        bottleneck=words,
        prompt_tokens=prompt,
        context_tokens=context,
        parallel=parallel,
        aggregate_tps=agg,
        per_user_tps=per_user,
        roofline_decode_tps=roof0,
        notes=tuple(notes),
        details={"bottleneck_share": share, "backend": be,
                 "layout": [(s.device.name, s.role, len(s.layers), s.head) for s in layout.segments]},
    )


def _hosted_key(name: str) -> str:
    """A model name as the hosted tables key it: 'gpt-oss 120B' → 'gpt-oss-120b'."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def estimate_hosted(work: ModelWork, dev: Device, *, context: int = 4096, prompt: int = 512,
                    users: int = 1, C: dict | None = None) -> SpeedEstimate:
    """Hosted SRAM systems (Cerebras WSE-3, Groq LPU): capacity → systems needed; speed from
    published per-user figures (vendor-hosted, may include speculative decoding): "looked_up" when
    the vendor publishes one for this very model, else "estimated" from a curve over the figures
    it publishes for other models (wide band)."""
    C = C or load_constants()
    name = (dev.name + " " + dev.vendor).lower()
    key = "cerebras" if "cerebras" in name or "wse" in name else "groq"
    h = C["hosted"][key]
    sram = float(dev.memory_bytes or h["sram_bytes"])
    need = work.total_bytes + work.kv_bytes_per_token() * context * users
    n_sys = max(1, math.ceil(need / (sram * h["usable_fraction"])))
    act_b = work.active_params / 1e9
    published = h.get("published", {}).get(_hosted_key(work.name))
    if published is not None:
        tps = float(published)
        prov, src = "looked_up", "published figure for this model: " + h["source"]
        lo, hi = tps * 0.6, tps * 1.4  # vendor figures move with deployments and over time
    else:
        if key == "cerebras":
            tps = h["curve"]["a"] / max(act_b, 0.1) ** h["curve"]["b"]
        else:
            xs = [math.log(a) for a, _ in h["anchors"]]
            ys = [math.log(t) for _, t in h["anchors"]]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
                     / sum((x - mx) ** 2 for x in xs))
            tps = math.exp(my + slope * (math.log(max(act_b, 0.1)) - mx))
        prov = "estimated"
        src = ("from published vendor figures for other models (curve over active parameters; the "
               "vendor publishes no figure for this one): " + h["source"])
        # a curve through a handful of other models' figures, extrapolated to a model the vendor
        # may not serve at all: a wide band (½× to 2×), not a calibrated one
        lo, hi = tps * 0.5, tps * 2.0
    unit_word = "CS-3 systems" if key == "cerebras" else "LPU chips"
    tg = Figure(tps, "tok/s", prov, src, lo, hi)
    ttft = Figure(h["ttft_s"], "s", prov, src, h["ttft_s"] * 0.5, h["ttft_s"] * 2.0)
    pp_v = prompt / h["ttft_s"]
    kv_word = " + KV" if work.kv_bytes_per_token() else ""
    return SpeedEstimate(
        prefill_tps=Figure(pp_v, "tok/s", prov, src, pp_v * 0.5, pp_v * 2.0),
        decode_tps=tg, decode_tps_ctx=tg, ttft_s=ttft,
        bottleneck=f"hosted SRAM system: needs {n_sys} {unit_word} to hold the {state_words(work)}; "
                   "per-user speed is set by the vendor's pipeline, not by memory bandwidth",
        prompt_tokens=prompt, context_tokens=context, parallel=users,
        notes=(f"{n_sys} {unit_word} needed ({need / 1e9:.0f} GB of weights{kv_word} at "
               f"{h['usable_fraction']:.0%} usable of {sram / 1e9:.2f} GB each)",
               "speed from the vendor's published figure for this model, not a llama.cpp measurement"
               if published is not None else
               "speed estimated from published vendor figures for other models (the vendor publishes "
               "none for this one; it may not serve it), not a llama.cpp measurement"),
        details={"n_systems": n_sys, "hosted": key},
    )
