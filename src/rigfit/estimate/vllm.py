"""vLLM (V1 engine) memory: a fixed claim per GPU, and the KV capacity that is left.

vLLM does not size its KV cache from ``max_model_len`` (docs/research/memory.md §2.4; read from
vllm-project/vllm ``v1/worker/gpu_worker.py`` @35d5cda, ``utils/mem_utils.py`` @a6d5c39,
``v1/kv_cache_interface.py`` @bc8282e):

    requested   = gpu_memory_utilization × total GPU memory                (default 0.9)
    non_kv      = weights/TP + activation peak (profile run) + non-torch memory
    kv_bytes    = requested − non_kv
    kv_tokens   = kv_bytes / Σ_layers bytes per token per layer            (pages of 16 tokens)
    max_seqs    = kv_tokens // max_model_len    (startup fails when < 1 request fits)

CUDA graphs (captured after the KV cache) and the CUDA context sit outside the claim.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rigfit.catalog.arch import Architecture, ModelSpec
from rigfit.errors import RigfitError
from rigfit.estimate.memory import build_profile
from rigfit.hardware.devices import Device, Machine
from rigfit.plantypes import (
    DeviceMemory,
    Note,
    NoteCode,
    Plan,
    PlanSettings,
    Verdict,
    VllmResult,
    resolve_ctx,
)
from rigfit.units import MIB

#: CUDA context + NCCL outside the claim [B] (docs/research/memory.md §2.4: ~0.3–0.6 GiB).
CUDA_CONTEXT_BYTES = 512 * MIB
#: CUDA graph pool outside the claim [B] (vLLM logs "Graph capturing finished … took X GiB":
#: typically 0.1–1.5 GiB; research/memory.md §2.4).
CUDA_GRAPH_BYTES = 512 * MIB
#: Non-torch memory increase during profiling (NCCL buffers, cuBLAS workspace) [B], ~0.2–0.5 GiB.
NON_TORCH_BYTES = 256 * MIB
#: vLLM default scheduler token budget used by the profile run [tokens] (V1 default for online
#: serving on a big GPU is 8192; 2048 on small ones).
DEFAULT_BATCHED_TOKENS = 8192
#: vLLM default max_num_seqs (V1: 256 on most GPUs).
DEFAULT_MAX_NUM_SEQS = 256
#: KV page size [tokens] (vLLM default block_size).
BLOCK_SIZE = 16
#: Why a vLLM plan has no speed estimate.
SPEED_REASON = "speed is modelled for llama.cpp only"


def weight_bytes_bf16(arch: Architecture) -> int:
    """Unquantized checkpoint weights [B]: total parameters × 2 (BF16 safetensors)."""
    if not arch.total_params:
        raise RigfitError(f"{arch.id}: parameter count unknown; vLLM mode needs it.")
    return arch.total_params * 2


def kv_bytes_per_token(
    arch: Architecture, kv_dtype_bytes: int, max_model_len: int, max_batched: int = DEFAULT_BATCHED_TOKENS
) -> float:
    """KV bytes per token of context, all layers, one GPU before TP [B/token].

    Full attention: 2 × n_kv_heads × head_dim × dtype; MLA: (kv_lora_rank + rope) × dtype;
    sliding-window layers hold min(window − 1 + max_batched, max_model_len) tokens, expressed per
    context token; recurrent layers are constant state (ignored per token).
    """
    per = 0.0
    for il in range(arch.n_layer):
        if arch.is_recurrent(il) or arch.head_kv(il) == 0:
            continue
        b: float
        if arch.mla is not None:
            b = (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * kv_dtype_bytes
        else:
            b = arch.head_kv(il) * (arch.n_embd_head_k + arch.n_embd_head_v) * kv_dtype_bytes
        if arch.is_swa(il) and arch.sliding_window:
            held = min(arch.sliding_window - 1 + max_batched, max_model_len)
            b = b * held / max_model_len
        per += b
    return per


def activation_peak_bytes(arch: Architecture, max_batched: int, max_num_seqs: int) -> int:
    """Torch activation peak of the profile run [B] (estimate, ±50%): hidden states and FFN
    intermediates of ``max_batched`` tokens in BF16 plus the sampler's f32 logits for
    ``max_num_seqs`` sequences."""
    ff = (
        arch.moe.expert_ff * arch.moe.n_expert_used
        if arch.moe
        else max(arch.ff(il) for il in range(arch.n_layer))
    )
    hidden = max_batched * (4 * arch.n_embd + 2 * ff) * 2
    logits = max_num_seqs * arch.n_vocab * 4 * 2
    return hidden + logits


def make_vllm_plan(model: ModelSpec, machine: Machine, settings: PlanSettings) -> Plan:
    """vLLM plan: per GPU memory claim, KV capacity in tokens, max concurrent sequences."""
    arch = model.arch
    gpus = [d for d in machine.accelerators if d.kind == "gpu" and d.memory_bytes]
    if not gpus:
        raise RigfitError("vLLM mode needs at least one GPU in --on.", "e.g. --on '2x RTX 3090'.")
    util = settings.gpu_memory_utilization
    if not 0 < util <= 1:
        raise RigfitError(f"gpu_memory_utilization must be in (0, 1], got {util}.")
    tp = len(gpus)
    max_len = resolve_ctx(model, settings)
    kv_dtype = _kv_dtype_bytes(settings)
    max_seqs = settings.max_num_seqs or DEFAULT_MAX_NUM_SEQS
    batched = max(DEFAULT_BATCHED_TOKENS, min(max_len, 16384))
    w = weight_bytes_bf16(arch) // tp
    act = activation_peak_bytes(arch, batched, max_seqs) // tp
    per_tok = kv_bytes_per_token(arch, kv_dtype, max_len, batched) / tp
    devices = [_gpu_claim(i, g, util, w, act, arch.n_layer) for i, g in enumerate(gpus)]
    kv_tokens_all = [d.kv_bytes / per_tok if per_tok > 0 and d.kv_bytes > 0 else 0.0 for d in devices]
    kv_tokens = int(min(kv_tokens_all)) // BLOCK_SIZE * BLOCK_SIZE
    n_seqs = kv_tokens // max_len if max_len else 0
    for d in devices:
        hr = d.headroom_bytes or 0
        d.fit = Verdict.NO if d.kv_bytes <= 0 or hr < 0 else (Verdict.FITS if n_seqs >= 1 else Verdict.NO)
    fit = Verdict.FITS if all(d.fit is Verdict.FITS for d in devices) else Verdict.NO
    notes: list[str] = [
        Note(
            NoteCode.VLLM_CLAIM,
            f"vLLM claims {util:.0%} of each GPU up front; the KV cache gets what is left "
            f"({kv_tokens:,} tokens ≈ {n_seqs} concurrent sequences of {max_len:,} tokens).",
        ),
        Note(
            NoteCode.VLLM_BF16,
            "Weights assumed BF16 safetensors (total params × 2 B); quantized checkpoints are smaller.",
        ),
    ]
    if fit is Verdict.NO:
        notes.append(
            Note(
                NoteCode.VLLM_REFUSES,
                "vLLM would refuse to start: one max_model_len request does not fit in the KV pool "
                "(lower --ctx or add GPUs).",
            )
        )
    plan = Plan(
        model=model if model.tensors_exact else replace(model, file_type="BF16"),  # what vLLM loads
        machine=machine,
        settings=settings,
        n_ctx=max_len,
        ngl=arch.n_layer + 1,
        fit=fit,
        devices=devices,
        placement=None,
        margin_bytes=settings.margin_bytes,
        build=build_profile(settings.llama_build),
        notes=notes,
    )
    plan.vllm = VllmResult(
        gpu_memory_utilization=util,
        tensor_parallel_size=tp,
        kv_cache_tokens=kv_tokens,
        kv_bytes_per_token=per_tok,
        max_concurrent_seqs_at_max_len=n_seqs,
        max_num_batched_tokens=batched,
        activation_peak_bytes=act,
        cuda_graph_bytes=CUDA_GRAPH_BYTES,
    )
    plan.commands = vllm_commands(plan)
    plan.speed_reason = SPEED_REASON
    return plan


def _kv_dtype_bytes(settings: PlanSettings) -> int:
    """Bytes per KV element: 1 for an 8-bit (or smaller) cache type (vLLM runs it as fp8), else 2."""
    return 1 if settings.kv_type_k in ("q8_0", "fp8", "q4_0") else 2


def _gpu_claim(i: int, g: Device, util: float, weights: int, act: int, n_layer: int) -> DeviceMemory:
    """What vLLM claims on GPU ``i`` [B]: weights, activation peak, and the KV pool left in the claim."""
    total = int(g.memory_bytes or 0)
    kv = int(util * total) - weights - act - NON_TORCH_BYTES
    return DeviceMemory(
        name=f"CUDA{i}",
        kind="gpu",
        weights_bytes=weights,
        compute_bytes=act,
        kv_bytes=max(kv, 0),
        overhead_bytes=NON_TORCH_BYTES + CUDA_GRAPH_BYTES + CUDA_CONTEXT_BYTES,
        overhead_source="non-torch 256 MiB + CUDA graphs ~512 MiB + CUDA context ~512 MiB "
        "(docs/research/memory.md §2.4)",
        capacity_bytes=total,
        capacity_source=f"looked up: {g.sources.get('memory_bytes', 'catalog')}",
        layers=n_layer,
        holds_output=True,
    )


def vllm_commands(plan: Plan) -> dict[str, Any]:
    """``vllm serve`` arguments that realise a vLLM plan."""
    s = plan.settings
    util = s.gpu_memory_utilization
    tp = plan.vllm.tensor_parallel_size if plan.vllm is not None else 1
    arch = plan.model.arch
    args = [
        "vllm",
        "serve",
        arch.hf_repo or arch.id,
        "--max-model-len",
        str(plan.n_ctx),
        "--gpu-memory-utilization",
        f"{util:g}",
    ]
    if tp > 1:
        args += ["--tensor-parallel-size", str(tp)]
    if _kv_dtype_bytes(s) == 1:
        args += ["--kv-cache-dtype", "fp8"]
    if s.max_num_seqs:
        args += ["--max-num-seqs", str(s.max_num_seqs)]
    return {"vllm_serve": args, "vllm_serve_line": " ".join(args)}
