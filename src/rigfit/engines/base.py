"""The engine interface: what rigfit needs from an inference engine to plan a model on a machine.

An engine (llama.cpp, vLLM, or one a package adds through the ``rigfit.engines`` entry-point
group, see :mod:`rigfit.engines.registry`) sizes memory per device and gives the verdict, says how
to run the plan (command lines), and may estimate speed and search the largest context. Every
engine fills the same :class:`rigfit.plantypes.Plan`.

A third-party engine subclasses :class:`BaseEngine` (which has defaults for the optional hooks)
or implements :class:`Engine` itself, and registers it in its ``pyproject.toml``::

    [project.entry-points."rigfit.engines"]
    mlx = "rigfit_mlx:MlxEngine"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rigfit.catalog.arch import ModelSpec
from rigfit.estimate.speed import SpeedEstimate
from rigfit.hardware.devices import Machine
from rigfit.plantypes import Plan, PlanSettings
from rigfit.units import GIB


@dataclass(frozen=True)
class CommandLine:
    """One way to run a plan, for people: ``label`` (e.g. "llama.cpp"), the ``line`` itself, and an
    optional ``note`` printed under it."""

    label: str
    line: str
    note: str | None = None


@runtime_checkable
class Engine(Protocol):
    """An inference engine rigfit can plan for.

    name: the ``--runtime`` name (e.g. "llama.cpp"), the same as its entry point's name.
    formats: the weight formats / quantizations it runs (e.g. ("GGUF",), ("BF16 safetensors",)).
    """

    name: str
    formats: tuple[str, ...]

    def check(self, settings: PlanSettings) -> None:
        """Reject settings this engine cannot use (raise :class:`rigfit.errors.RigfitError`)."""

    def plan(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, with_speed: bool = True
    ) -> Plan:
        """Memory per device, verdict, commands and (``with_speed``) the speed estimate."""

    def commands(self, plan: Plan) -> dict[str, Any]:
        """Machine-readable command lines for a plan (the ``commands`` of its JSON)."""

    def command_lines(self, plan: Plan) -> list[CommandLine]:
        """The command lines to show people, in order."""

    def speed(self, plan: Plan) -> tuple[SpeedEstimate | None, str | None]:
        """(speed estimate, None) or (None, why there is none)."""

    def max_context(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, limit: int | None = None
    ) -> int | None:
        """Largest context that fits [tokens] (0: none); None when the engine cannot search."""

    def max_context_by_quant(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings
    ) -> dict[str, int] | None:
        """{file type: largest context that fits}; None when the engine cannot search."""

    def summary(self, plan: Plan) -> str:
        """One line under the title: weights, context and engine-specific settings."""

    def result_lines(self, plan: Plan) -> list[str]:
        """Engine-specific results printed after the verdict (e.g. vLLM's KV pool)."""


class BaseEngine:
    """Defaults for the optional hooks of :class:`Engine`: no settings checks, no command lines,
    no speed model, no context search. Subclasses set ``name`` and ``formats`` and implement
    :meth:`plan`."""

    name: str = ""
    formats: tuple[str, ...] = ()

    def check(self, settings: PlanSettings) -> None:
        return None

    def plan(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, with_speed: bool = True
    ) -> Plan:
        raise NotImplementedError(f"engine {self.name!r} does not implement plan()")

    def commands(self, plan: Plan) -> dict[str, Any]:
        return {}

    def command_lines(self, plan: Plan) -> list[CommandLine]:
        return []

    def speed(self, plan: Plan) -> tuple[SpeedEstimate | None, str | None]:
        return None, f"speed is not modelled for {self.name}"

    def max_context(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings, *, limit: int | None = None
    ) -> int | None:
        return None

    def max_context_by_quant(
        self, model: ModelSpec, machine: Machine, settings: PlanSettings
    ) -> dict[str, int] | None:
        return None

    def summary(self, plan: Plan) -> str:
        return f"{weights_text(plan)}; context {plan.n_ctx:,} tokens; {self.name}"

    def result_lines(self, plan: Plan) -> list[str]:
        return []


def weights_text(plan: Plan) -> str:
    """ "weights X GiB (Y GB; how they are known)" for a plan's summary line."""
    w = plan.weights_bytes
    prov = (
        "exact, GGUF header" if plan.model.tensors_exact else "estimated from llama.cpp's quantization rules"
    )
    return f"weights {w / GIB:.2f} GiB ({w / 1e9:.2f} GB; {prov})"
