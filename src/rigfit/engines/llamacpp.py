"""llama.cpp (llama-server, and Ollama which runs it): the engine rigfit's memory and speed
models are built and checked against. The planning itself is :mod:`rigfit.plan`."""

from __future__ import annotations

from typing import Any

from rigfit import plan_screening
from rigfit.catalog.arch import ModelSpec
from rigfit.commands import commands_for
from rigfit.engines.base import BaseEngine, CommandLine, weights_text
from rigfit.estimate.speed import SpeedEstimate
from rigfit.hardware.devices import Machine
from rigfit.plan import max_context, max_context_by_quant, plan_llamacpp, speed_of
from rigfit.plantypes import Plan, PlanSettings
from rigfit.speculative_plan import speculative_of


class LlamaCppEngine(BaseEngine):
    """llama.cpp: GGUF files, layers and MoE experts split over GPUs and RAM (``-ngl``,
    ``--n-cpu-moe``), memory by llama.cpp's allocation rules, speed by rigfit's speed model."""

    name = "llama.cpp"
    formats = ("GGUF",)

    def plan(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, with_speed: bool = True
    ) -> Plan:
        plan = plan_llamacpp(model, machine, settings, with_speed=with_speed)
        # a hosted system has no command line (rigfit.plan._hosted_plan), nor a screening plan
        if plan.hosted is None and not plan_screening.active():
            plan.commands = commands_for(plan)
        if with_speed and settings.speculative is not None and plan.speed is not None:
            plan.speculative = speculative_of(plan)  # draft model / MTP (rigfit.speculative_plan)
        return plan

    def commands(self, plan: Plan) -> dict[str, Any]:
        return commands_for(plan)

    def command_lines(self, plan: Plan) -> list[CommandLine]:
        if "llama_server_line" not in plan.commands:
            return []
        ol = plan.commands["ollama"]
        params = " ".join(f"{k}={v}" for k, v in ol["parameters"].items())
        env = " ".join(f"{k}={v}" for k, v in ol["env"].items())
        return [
            CommandLine("llama.cpp", plan.commands["llama_server_line"]),
            CommandLine("Ollama", params + (f"  (env: {env})" if env else ""), ol.get("note")),
        ]

    def speed(self, plan: Plan) -> tuple[SpeedEstimate | None, str | None]:
        return speed_of(plan)

    def max_context(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, limit: int | None = None
    ) -> int | None:
        return max_context(model, machine, settings, limit=limit)

    def max_context_by_quant(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings
    ) -> dict[str, int] | None:
        return max_context_by_quant(model, machine, settings)

    def summary(self, plan: Plan) -> str:
        return (
            f"{weights_text(plan)}; context {plan.n_ctx:,} tokens; llama.cpp build profile {plan.build.name}"
        )
