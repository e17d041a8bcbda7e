"""The caveats of a llama.cpp plan (:func:`rigfit.plan.plan_llamacpp` adds them), each with its code."""

from __future__ import annotations

from rigfit.estimate.kvtypes import ctx_per_sequence, rope_scaling_advice
from rigfit.estimate.placement import backend_prefix
from rigfit.estimate.speed.coefficients import load_constants
from rigfit.estimate.speed.peaks import DRAM_BANDWIDTH_FALLBACK
from rigfit.hardware.devices import Device
from rigfit.hardware.hostram import host_bandwidth_note
from rigfit.plantypes import Note, NoteCode, Plan, Verdict
from rigfit.units import GIB


def plan_notes(plan: Plan, accels: list[Device]) -> list[str]:
    """The caveats of a llama.cpp plan, each with its code."""
    settings, arch, machine, profile = plan.settings, plan.model.arch, plan.machine, plan.build
    n_ctx = plan.n_ctx
    notes: list[str] = []
    hr = plan.min_headroom_bytes
    if plan.fit is Verdict.TIGHT and hr is not None:
        notes.append(
            Note(
                NoteCode.TIGHT,
                f"Tight: the fullest device keeps {hr / GIB:.2f} GiB free, under "
                f"the {settings.margin_bytes / GIB:.2f} GiB margin.",
            )
        )
    if accels and any(d.kind == "hosted" for d in machine.accelerators):
        notes.append(
            Note(
                NoteCode.HOSTED_DEVICES_SKIPPED,
                "Hosted systems (Cerebras, Groq) are not planned with llama.cpp: the memory "
                "table is for this machine's other devices only.",
            )
        )
    if rope := rope_scaling_advice(arch, ctx_per_sequence(n_ctx, settings.n_parallel, settings.kv_unified)):
        notes.append(Note(NoteCode.BEYOND_TRAINING_CTX, rope.text()))
    if plan.fit is Verdict.NO:
        apple = any(d.kind == "apple" for d in machine.accelerators)
        moe_hint = ", --cpu-moe" if arch.moe is not None and not settings.cpu_moe and not apple else ""
        more = (
            "more memory in --on, or raise Metal's limit (sudo sysctl iogpu.wired_limit_mb=N)"
            if apple  # CPU buffers come out of the same RAM: only a larger working set helps
            else "or more memory in --on"
        )
        notes.append(
            Note(
                NoteCode.DOES_NOT_FIT,
                "Does not fit: try a smaller --ctx (or --max-ctx to find the largest), a smaller "
                f"--quant, --kv-type q8_0{moe_hint}, {more}.",
            )
        )
    if not machine.ram_bytes:
        notes.append(
            Note(
                NoteCode.HOST_RAM_UNKNOWN,
                "Host RAM unknown: the CPU row is not checked (add e.g. '+ 64GB DDR5' to --on).",
            )
        )
    if any(d.kind == "cpu" and d.layers for d in plan.devices) or plan.experts_in_ram:  # read from RAM
        default_bw = load_constants().get("cpu", {}).get("dram_bandwidth_default", DRAM_BANDWIDTH_FALLBACK)
        notes.append(Note(NoteCode.HOST_RAM_BANDWIDTH, host_bandwidth_note(machine, default_bw)))
    if settings.n_parallel > 1 and not settings.kv_unified:
        notes.append(
            Note(
                NoteCode.PARALLEL_SPLITS_CTX,
                f"-np {settings.n_parallel} without -kvu: each slot gets "
                f"n_ctx/{settings.n_parallel} tokens of context.",
            )
        )
    if arch.mla is not None:
        cached = "K only" if profile.mla_v_less else "K and V latents"
        notes.append(Note(NoteCode.MLA_CACHE, f"MLA cache: {cached} (build profile {profile.name})."))
    if accels and any(backend_prefix(d) != "CUDA" for d in accels):
        notes.append(
            Note(
                NoteCode.BACKEND_ESTIMATED,
                "Compute buffers were verified on llama.cpp's CPU backend; other backends are "
                "estimated with the same graph model.",
            )
        )
    return notes
