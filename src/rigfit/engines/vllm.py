"""vLLM (V1 engine): one memory claim per GPU and the KV pool left in it. The planning itself
is :mod:`rigfit.estimate.vllm`."""

from __future__ import annotations

from typing import Any

from rigfit.catalog.arch import ModelSpec
from rigfit.engines.base import BaseEngine, CommandLine
from rigfit.errors import RigfitError
from rigfit.estimate.speed import SpeedEstimate
from rigfit.estimate.vllm import SPEED_REASON, make_vllm_plan, vllm_commands
from rigfit.hardware.devices import Machine
from rigfit.plantypes import Plan, PlanSettings


class VllmEngine(BaseEngine):
    """vLLM: BF16 safetensors checkpoints with tensor parallelism over identical GPUs; the KV
    pool is what ``--gpu-memory-utilization`` leaves. No speed model."""

    name = "vllm"
    formats = ("BF16 safetensors",)

    def check(self, settings: PlanSettings) -> None:
        util = settings.gpu_memory_utilization
        if not 0 < util <= 1:
            raise RigfitError(
                f"--gpu-memory-utilization must be in (0, 1], got {util:g}.", "vLLM's default is 0.9."
            )

    def plan(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, with_speed: bool = True
    ) -> Plan:
        return make_vllm_plan(model, machine, settings)

    def commands(self, plan: Plan) -> dict[str, Any]:
        return vllm_commands(plan)

    def command_lines(self, plan: Plan) -> list[CommandLine]:
        line = plan.commands.get("vllm_serve_line")
        return [] if line is None else [CommandLine("vLLM", line)]

    def speed(self, plan: Plan) -> tuple[SpeedEstimate | None, str | None]:
        return None, SPEED_REASON

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
