"""The buffers llama.cpp allocates on each device of a placement [B]: per GPU its weights, KV cache,
recurrent state, compute buffer and backend overhead, and in host RAM the CPU backend's buffers and
the process's own memory (moved out of :mod:`rigfit.plan`, which sizes every device with them).
"""

from __future__ import annotations

from dataclasses import dataclass

from rigfit.catalog.arch import ModelSpec
from rigfit.estimate import memory as mem
from rigfit.estimate.placement import CPU, Placement, backend_prefix
from rigfit.estimate.tablecache import compute_stage_bytes, context_buffers
from rigfit.hardware.devices import Device, Machine
from rigfit.plan_capacity import device_capacity as _capacity
from rigfit.plan_capacity import set_host_capacity as _host_capacity
from rigfit.plantypes import DeviceMemory, PlanSettings
from rigfit.units import MIB

#: Fixed per-device runtime memory llama.cpp does not log [B] (docs/research/memory.md §1.7, §2.2):
#: CUDA/ROCm context + cuBLAS/hipBLAS handles: Ollama reserves 457 MiB (llm/memory.go
#: MinimumMemory); Metal: 512 MiB; Vulkan/SYCL: assumed like CUDA.
BACKEND_OVERHEAD = {
    "CUDA": (
        457 * MIB,
        "CUDA context + cuBLAS (Ollama llm/memory.go MinimumMemory 457 MiB; observed 0.3–0.6 GiB)",
    ),
    "ROCm": (457 * MIB, "HIP context + hipBLAS (Ollama llm/memory.go MinimumMemory 457 MiB)"),
    "Metal": (512 * MIB, "Metal device + command buffers (Ollama llm/memory.go MinimumMemory 512 MiB)"),
    "Vulkan": (457 * MIB, "assumed like CUDA (no published figure)"),
    "SYCL": (457 * MIB, "assumed like CUDA (no published figure)"),
}
#: Host-side llama.cpp process memory besides its buffers [B]: 55 MiB measured (anonymous RSS of
#: an idle llama-server context, research/memory.md §4) + vocabulary tables ≈ 96 B per token
#: (gguf-parser-go estimate n_tokens × (8 + 32 + 56)).
HOST_FIXED_BYTES = 55 * MIB
VOCAB_BYTES_PER_TOKEN = 96
#: First llama.cpp build with pipeline parallelism over several GPUs (PR #6017, March 2024; b2400 is
#: an approximation of its build number): one compute buffer per GPU and per graph copy.
PIPELINE_SINCE_BUILD = 2400
#: Smallest batch [tokens] for which llama.cpp's op offload runs CPU-resident weights on the main
#: GPU (ggml/src/ggml-cuda/ggml-cuda.cu, ggml_backend_cuda_device_offload_op: min_batch_size = 32).
OP_OFFLOAD_MIN_BATCH = 32


@dataclass(slots=True)  # (not frozen: built per placement, where frozen fields cost a third)
class _Buffers:
    """What every device's buffers are sized from: the placement, the llama.cpp settings and the
    per-layer cache sizes [B], and how the compute graph is split over the GPUs."""

    model: ModelSpec
    ls: mem.LlamaSettings
    profile: mem.BuildProfile
    pl: Placement
    n_t: int  # tokens of the reserve graph
    kv_per_layer: tuple[int, ...]
    rs_per_layer: tuple[int, ...]
    gpu_names: list[str]
    used_gpus: list[str]
    pipeline: bool  # pipeline parallelism (one compute buffer per GPU and per graph copy)
    single_compute: bool  # builds before pipeline parallelism: one compute buffer, on the main GPU
    inputs: int
    masks: int

    def cache_on(self, name: str) -> tuple[int, int]:
        """(KV cache, recurrent state) held on device ``name`` [B]."""
        on = self.pl.kv_layers_on(name, self.model.arch.n_layer)  # ascending, memoized
        if on and on[-1] - on[0] + 1 == len(on):  # one stretch (ascending, no repeats): slices
            a, b = on[0], on[-1] + 1
            return sum(self.kv_per_layer[a:b]), sum(self.rs_per_layer[a:b])
        return sum(map(self.kv_per_layer.__getitem__, on)), sum(map(self.rs_per_layer.__getitem__, on))

    def op_offload(self, name: str) -> bool:
        """Whether GPU ``name`` computes big batches for CPU-resident weights (main GPU only)."""
        return (
            name == self.gpu_names[0]
            and self.pl.largest_cpu_matmul_bytes > 0
            and self.n_t >= OP_OFFLOAD_MIN_BATCH
        )


def _buffers(
    model: ModelSpec, settings: PlanSettings, n_ctx: int, pl: Placement, profile: mem.BuildProfile
) -> _Buffers:
    arch = model.arch
    ls = settings.llama(n_ctx)
    gpu_names = list(pl.gpu_devices)
    used_gpus = [g for g in gpu_names if pl.layers_on(g) or pl.output_device == g]
    # pipeline parallelism: several GPUs, every layer offloaded, KV with its layer (llama-context.cpp)
    pipeline = (
        len(used_gpus) > 1
        and pl.full_offload
        and not settings.no_kv_offload
        and profile.build >= PIPELINE_SINCE_BUILD
    )
    cb = context_buffers(arch, ls, profile)  # the same for every placement: worked out once
    return _Buffers(
        model=model,
        ls=ls,
        profile=profile,
        pl=pl,
        n_t=cb.n_reserve_tokens,
        kv_per_layer=cb.kv_per_layer,
        rs_per_layer=cb.rs_per_layer,
        gpu_names=gpu_names,
        used_gpus=used_gpus,
        pipeline=pipeline,
        single_compute=len(used_gpus) > 1 and profile.build < PIPELINE_SINCE_BUILD,
        inputs=cb.inputs,
        masks=cb.masks,
    )


def _gpu_compute_bytes(b: _Buffers, name: str) -> int:
    """Compute buffer of GPU ``name`` [B]."""
    arch, pl = b.model.arch, b.pl
    layers = pl.layers_on(name)
    holds_out = pl.output_device == name
    if not (layers or holds_out) and b.op_offload(name):
        # -ngl 0 on a GPU build: big batches still run on the main GPU with weights copied over
        return (
            compute_stage_bytes(arch, b.ls, pl.layers_on(CPU), pl.output_device == CPU, b.profile)
            + pl.largest_cpu_matmul_bytes
        )
    if b.single_compute:
        if name == b.used_gpus[0]:
            return compute_stage_bytes(arch, b.ls, list(range(arch.n_layer)), True, b.profile)
        return 0
    if not (layers or holds_out):
        return 0
    out = compute_stage_bytes(arch, b.ls, layers, holds_out, b.profile)
    # op offload: the GPU computes big batches for CPU-resident weights (CPU layers, the output
    # layer, --cpu-moe experts), copying the largest one into its compute buffer
    # (docs/research/memory.md §1.4), main GPU only
    if b.op_offload(name):
        out += pl.largest_cpu_matmul_bytes
    if b.pipeline:  # each of the scheduler's graph copies has its own inputs (embeddings, masks)
        out += mem.PIPELINE_COPIES * b.inputs - b.masks
    return out


def _gpu_memory(b: _Buffers, name: str, dev: Device, machine: Machine) -> DeviceMemory:
    """Every llama.cpp buffer on GPU ``name`` [B], and its capacity."""
    pl = b.pl
    layers = pl.layers_on(name)
    holds_out = pl.output_device == name
    d = DeviceMemory(name=name, kind=dev.kind)
    d.weights_bytes = pl.weights_bytes.get(name, 0)
    d.kv_bytes, d.recurrent_bytes = b.cache_on(name)
    d.compute_bytes = _gpu_compute_bytes(b, name)
    op_offload_only = not (layers or holds_out) and b.op_offload(name)
    d.overhead_bytes, d.overhead_source = BACKEND_OVERHEAD.get(backend_prefix(dev), (0, ""))
    if not (layers or holds_out or op_offload_only) and not d.weights_bytes:
        d.overhead_bytes = 0  # an unused GPU costs nothing
    d.capacity_bytes, d.capacity_source = _capacity(dev, machine)
    d.layers = len(layers)
    d.holds_output = holds_out
    return d


def _host_memory(b: _Buffers, machine: Machine, gpus: list[DeviceMemory]) -> DeviceMemory:
    """Every llama.cpp buffer in host RAM (the CPU backend) [B], and the RAM left for them."""
    arch, pl = b.model.arch, b.pl
    cpu_layers = pl.layers_on(CPU)
    h = DeviceMemory(name=CPU, kind="cpu")
    h.weights_bytes = pl.weights_bytes.get(CPU, 0)
    h.repack_bytes = pl.repack_bytes
    h.mapped_bytes = pl.mapped_bytes
    h.kv_bytes, h.recurrent_bytes = b.cache_on(CPU)
    if cpu_layers or pl.output_device == CPU:
        h.compute_bytes = compute_stage_bytes(arch, b.ls, cpu_layers, pl.output_device == CPU, b.profile)
    else:
        h.compute_bytes = b.inputs * (mem.PIPELINE_COPIES - 1 if b.pipeline else 1)
    h.output_bytes = mem.output_buffer_bytes(arch, b.ls)
    h.overhead_bytes = HOST_FIXED_BYTES + VOCAB_BYTES_PER_TOKEN * arch.n_vocab
    h.overhead_source = "llama.cpp process (55 MiB measured) + vocabulary tables (96 B/token, gguf-parser)"
    h.layers = len(cpu_layers)
    h.holds_output = pl.output_device == CPU
    _host_capacity(h, machine, gpus)
    return h
