"""A toy third-party engine for rigfit's plugin test: it only uses rigfit's public engine API.

It holds the weights plus a fixed 1 GiB runtime on the first GPU (or in RAM), and says "fits"
when that leaves the margin free. Registered by tests/engines/test_third_party.py through a
``toy_engine-0.1.dist-info/entry_points.txt`` under the ``rigfit.engines`` group.
"""

from __future__ import annotations

from typing import Any

from rigfit.engines import BaseEngine, CommandLine
from rigfit.errors import RigfitError
from rigfit.estimate.memory import build_profile
from rigfit.plantypes import DeviceMemory, Note, NoteCode, Plan, Verdict, resolve_ctx
from rigfit.units import GIB

#: The toy runtime's fixed memory [B] (made up: this engine exists for tests only).
TOY_RUNTIME_BYTES = 1 * GIB


class ToyEngine(BaseEngine):
    name = "toy"
    formats = ("TOY",)

    def check(self, settings) -> None:
        if settings.n_parallel > 4:
            raise RigfitError("toy runs at most 4 slots.", "Use --parallel 4 or less.")

    def plan(self, model, machine, settings, *, with_speed: bool = True) -> Plan:
        n_ctx = resolve_ctx(model, settings)
        dev = next(iter(machine.accelerators), None)
        cap = dev.memory_bytes if dev is not None else machine.ram_bytes
        d = DeviceMemory(
            name=dev.name if dev is not None else "RAM",
            kind=dev.kind if dev is not None else "cpu",
            weights_bytes=model.weights_bytes,
            overhead_bytes=TOY_RUNTIME_BYTES,
            overhead_source="toy runtime",
            capacity_bytes=cap,
        )
        hr = d.headroom_bytes
        d.fit = (
            Verdict.UNKNOWN
            if hr is None
            else Verdict.FITS
            if hr >= settings.margin_bytes
            else Verdict.TIGHT
            if hr >= 0
            else Verdict.NO
        )
        plan = Plan(
            model=model,
            machine=machine,
            settings=settings,
            n_ctx=n_ctx,
            ngl=model.arch.n_layer + 1,
            fit=d.fit,
            devices=[d],
            placement=None,
            margin_bytes=settings.margin_bytes,
            build=build_profile(settings.llama_build),
            notes=[Note(NoteCode.ENGINE, "toy engine: weights + 1 GiB, nothing else")],
        )
        plan.commands = self.commands(plan)
        plan.speed, plan.speed_reason = self.speed(plan)
        return plan

    def commands(self, plan: Plan) -> dict[str, Any]:
        args = ["toy-serve", plan.model.arch.id, "--ctx", str(plan.n_ctx)]
        return {"toy_serve": args, "toy_serve_line": " ".join(args)}

    def command_lines(self, plan: Plan) -> list[CommandLine]:
        return [CommandLine("toy", plan.commands["toy_serve_line"], "a toy, for tests")]

    def result_lines(self, plan: Plan) -> list[str]:
        return [f"toy result: {plan.devices[0].total_bytes} bytes"]
