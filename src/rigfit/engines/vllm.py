"""vLLM (V1 engine): one memory claim per GPU and the KV pool left in it. The planning itself
is :mod:`rigfit.estimate.vllm`."""

from __future__ import annotations

from typing import Any

from rigfit.catalog.arch import ModelSpec
from rigfit.engines.base import BaseEngine, CommandLine
from rigfit.errors import RigfitError
from rigfit.estimate.speed import SpeedEstimate
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.estimate.vllm import SPEED_REASON, make_vllm_plan, vllm_commands
from rigfit.hardware.devices import Machine
from rigfit.plan import plan_llamacpp
from rigfit.plantypes import Note, NoteCode, Plan, PlanSettings, Verdict

#: llama.cpp KV type names that map onto vLLM's --kv-cache-dtype: 16-bit (auto) or q8_0 → fp8.
VLLM_KV_TYPES = ("f16", "bf16", "q8_0")


class VllmEngine(BaseEngine):
    """vLLM: BF16 safetensors checkpoints with tensor parallelism over identical GPUs; the KV
    pool is what ``--gpu-memory-utilization`` leaves. Speed: :func:`bf16_speed_proxy`."""

    name = "vllm"
    formats = ("BF16 safetensors",)

    def check(self, settings: PlanSettings) -> None:
        util = settings.gpu_memory_utilization
        if not 0 < util <= 1:
            raise RigfitError(
                f"--gpu-memory-utilization must be in (0, 1], got {util:g}.", "vLLM's default is 0.9."
            )
        k, v = settings.kv_type_k, settings.kv_type_v
        if k != v or k not in VLLM_KV_TYPES:
            # vLLM's --kv-cache-dtype is one type for K and V: auto (the model's), or fp8 variants
            # (https://docs.vllm.ai/en/latest/features/quantization/quantized_kvcache.html)
            raise RigfitError(
                f"vLLM has no KV cache type -ctk {k} -ctv {v}: its --kv-cache-dtype is auto "
                "(16-bit, one type for K and V) or fp8.",
                "Use --kv-type q8_0 for vLLM's fp8 cache, or drop --runtime vllm for llama.cpp's types.",
            )

    def plan(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, with_speed: bool = True
    ) -> Plan:
        p = make_vllm_plan(model, machine, settings)
        if with_speed and p.fit is Verdict.FITS:
            p.speed, reason = bf16_speed_proxy(p)
            if p.speed is not None:
                p.speed_reason = None
                p.notes.append(Note(NoteCode.VLLM_BF16, reason))
            else:
                p.speed_reason = reason
        return p

    def commands(self, plan: Plan) -> dict[str, Any]:
        return vllm_commands(plan)

    def command_lines(self, plan: Plan) -> list[CommandLine]:
        line = plan.commands.get("vllm_serve_line")
        return [] if line is None else [CommandLine("vLLM", line)]

    def speed(self, plan: Plan) -> tuple[SpeedEstimate | None, str | None]:
        if plan.fit is not Verdict.FITS:
            return None, SPEED_REASON
        return bf16_speed_proxy(plan)

    def summary(self, plan: Plan) -> str:
        return f"vLLM, max_model_len {plan.n_ctx:,}"

    def result_lines(self, plan: Plan) -> list[str]:
        v = plan.vllm
        if v is None:
            return []
        return [
            f"vLLM KV pool: {v.kv_cache_tokens:,} tokens → {v.max_concurrent_seqs_at_max_len} sequences "
            f"of {plan.n_ctx:,} tokens (estimated)"
        ]


#: What a vLLM plan's speed figures are (they come from the llama.cpp speed model).
PROXY_REASON = (
    "speed estimated with rigfit's llama.cpp speed model for the same BF16 weights, every layer on "
    "the GPU(s), one sequence: decode at batch 1 is bound by reading the weights and KV cache in "
    "both engines; vLLM's own kernels, CUDA graphs and tensor parallelism are not calibrated"
)


def bf16_speed_proxy(plan: Plan) -> tuple[SpeedEstimate | None, str]:
    """(speed, reason) of a vLLM plan: the llama.cpp plan of the same BF16 weights on the same
    GPUs with every layer on them (margin 0: vLLM's own memory check already passed); None with
    the reason when that plan would offload or has no speed."""
    model = plan.model
    spec = model if model.tensors_exact else catalog_model_spec(model.arch, "BF16")
    s = plan.settings
    proxy = PlanSettings(n_ctx=plan.n_ctx, prompt_tokens=s.prompt_tokens, margin_bytes=0)
    try:
        lp = plan_llamacpp(spec, plan.machine, proxy)
    except RigfitError as exc:
        return None, f"{SPEED_REASON} ({exc.message})"
    if lp.speed is None or lp.ngl < model.arch.n_layer + 1 or lp.experts_in_ram:
        return None, SPEED_REASON
    return lp.speed, PROXY_REASON
