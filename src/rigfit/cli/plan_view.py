"""What ``rigfit plan`` does and prints: the plan, its tables and lines, and its JSON.

The Typer command (:mod:`rigfit.cli.plan_cmd`) only reads the options (declared once, in
:mod:`rigfit.cli.plan_options`) and calls :func:`run_plan`; so does the fast path that runs a plain
``rigfit plan`` without the CLI framework (:mod:`rigfit.cli.plan_fast`). This module therefore
imports neither Typer nor Click.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.markup import escape
from rich.table import Table

from rigfit.catalog.arch import ModelSpec, file_type_label
from rigfit.catalog.native import quality_line, quality_summary
from rigfit.cli import vision_view
from rigfit.cli.concurrency_view import render_concurrency, render_kv_types
from rigfit.cli.consoles import console, err_console, print_json
from rigfit.cli.fit import fit_table
from rigfit.cli.plan_options import PlanOptions
from rigfit.engines import Engine, get_engine
from rigfit.engines.base import weights_text
from rigfit.estimate.kvtypes import KVTypeRow, kv_type_rows
from rigfit.estimate.speculative import SpeculativeResult, check_engine, spec_settings
from rigfit.estimate.speed import SpeedEstimate
from rigfit.estimate.vision import VisionSettings
from rigfit.figures import Figure
from rigfit.fit_advice import FitAlternative, fit_alternatives
from rigfit.fit_advice import describe as describe_alternative
from rigfit.formats.source import load_model_source, name_assumption
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import variant_assumptions
from rigfit.hardware.osreserve import apply_option
from rigfit.options import plan_settings
from rigfit.plan import make_plan
from rigfit.plantypes import DeviceMemory, NoteCode, OffloadKind, Plan, PlanSettings, Verdict, note_code
from rigfit.units import GIB

_VERDICT_STYLE = {
    Verdict.FITS: "bold green",
    Verdict.TIGHT: "bold yellow",
    Verdict.OFFLOAD: "bold cyan",
    Verdict.NO: "bold red",
    Verdict.HOSTED: "bold magenta",
}


def _gib(n: int | None) -> str:
    return "unknown" if n is None else f"{n / GIB:.2f}"


def run_plan(model: str, **options: Any) -> None:
    """``rigfit plan MODEL --on MACHINE …``: prints the plan, or its JSON with ``--json``. The
    options are :class:`PlanOptions`' fields (by name; a name it lacks is a TypeError)."""
    o = PlanOptions(**options)
    spec, settings = _model_and_settings(model, o)
    engine = get_engine(settings.runtime, flag="--runtime")
    if assumed := name_assumption(model, spec):  # a file or Ollama name read as a catalog model
        err_console.print(f"note: {escape(assumed)}", highlight=False, soft_wrap=True)
    machine = apply_option(resolve_machine(o.on), o.reserve_ram)
    for line in variant_assumptions(machine.accelerators):  # "RTX 3060" -> the 12 GB card, said
        err_console.print(f"note: {escape(line)}", highlight=False, soft_wrap=True)
    p = make_plan(spec, machine, settings)
    best_ctx = by_quant = None
    if o.max_ctx and p.hosted is None:
        best_ctx = engine.max_context(spec, machine, settings)
        by_quant = engine.max_context_by_quant(spec, machine, settings)
    kv_rows = kv_type_rows(p) if o.kv_types and p.hosted is None and p.vllm is None else None
    alternatives = fit_alternatives(spec, machine, settings, p)  # a KV type / ubatch that fits
    quality = quality_summary(p.model.arch, p.model.file_type, p.model.path)
    if o.as_json:
        _print_plan_json(p, settings.vision, quality, alternatives, best_ctx, by_quant, kv_rows)
        return
    ctx_that_fits = None
    if p.fit is Verdict.NO and p.hosted is None:
        ctx_that_fits = (
            best_ctx if best_ctx is not None else engine.max_context(spec, machine, settings, limit=p.n_ctx)
        )
    _render(p, engine, best_ctx, by_quant, ctx_that_fits, quality)
    vision_view.render_vision(console, p, settings.vision)
    if p.concurrency is not None:
        render_concurrency(console, p.concurrency)
    if kv_rows is not None:
        render_kv_types(console, p, kv_rows)
    for a in alternatives:
        console.print(f"  Fits instead: {escape(describe_alternative(a, p))}", highlight=False)


def _model_and_settings(model: str, o: PlanOptions) -> tuple[ModelSpec, PlanSettings]:
    """The model read and the planner's settings from the options, each checked (in this order:
    the run options, the model, the draft model and speculative options, the image options)."""
    settings = plan_settings(
        ctx=o.ctx,
        ngl=o.ngl,
        fa=o.fa,
        kv_type=o.kv_type,
        parallel=o.parallel,
        kv_unified=o.kv_unified,
        ubatch=o.ubatch,
        swa_full=o.swa_full,
        cpu_moe=o.cpu_moe,
        n_cpu_moe=o.n_cpu_moe,
        no_kv_offload=o.no_kv_offload,
        tensor_split=o.tensor_split,
        runtime=o.runtime,
        llama_build=o.llama_build,
        prompt=o.prompt,
        gpu_util=o.gpu_util,
        kv_type_k=o.kv_type_k,
        kv_type_v=o.kv_type_v,
        users=o.users,
        output=o.output,
        min_tps=o.min_tps,
        os=o.os_name,
    )
    spec = load_model_source(model, o.quant, offline=o.offline)
    draft_spec = load_model_source(o.draft, o.draft_quant, offline=o.offline) if o.draft else None
    speculative = spec_settings(
        spec,
        draft=draft_spec,
        mtp=o.mtp,
        draft_max=o.draft_max,
        draft_min=o.draft_min,
        ngl_draft=o.ngl_draft,
        device_draft=o.device_draft,
        accept_rate=o.accept_rate,
        task=o.task,
        kv_type_draft=o.kv_type_draft,
    )
    if speculative is not None:
        check_engine(settings.runtime)
        settings = replace(settings, speculative=speculative)
    vision = vision_view.vision_settings(o.mmproj, o.no_mmproj_offload, o.images, o.image_size, spec)
    return spec, replace(settings, vision=vision)


def _print_plan_json(
    p: Plan,
    vision: VisionSettings | None,
    quality: dict | None,
    alternatives: list[FitAlternative],
    best_ctx: int | None,
    by_quant: dict[str, int] | None,
    kv_rows: list[KVTypeRow] | None,
) -> None:
    """``rigfit plan --json``: the plan's JSON with the quality, the alternatives that fit, and
    what ``--max-ctx``, ``--kv-types`` and the image options asked for."""
    out = p.to_json()
    out["quality"] = quality
    out["fit_alternatives"] = [a.to_json() for a in alternatives]
    if best_ctx is not None:
        out["max_ctx"] = best_ctx
        out["max_ctx_by_quant"] = by_quant
    if kv_rows is not None:
        out["kv_types"] = [r.to_json() for r in kv_rows]
    out["images"] = vision_view.image_cost(p, vision)
    print_json(out)


def _render(
    p: Plan,
    engine: Engine,
    best_ctx: int | None,
    by_quant: dict[str, int] | None = None,
    ctx_that_fits: int | None = None,
    quality: dict | None = None,
) -> None:
    arch = p.model.arch
    console.print(
        f"[bold]{escape(arch.name or arch.id)}[/] {escape(file_type_label(p.model) or '')} "
        f"on [bold]{escape(p.machine.name)}[/]"
    )
    if p.hosted is not None:
        _render_hosted(p)
        return
    console.print("  " + escape(engine.summary(p)))
    if quality is not None:
        console.print("  " + escape(quality_line(quality)), highlight=False)
    console.print(_memory_table(p.devices))
    _render_device_notes(p.devices)
    console.print(f"\nVerdict: [{_VERDICT_STYLE.get(p.fit, 'white')}]{p.fit}[/]{escape(_verdict_extra(p))}")
    if best_ctx is not None:
        _render_best_ctx(p, best_ctx, by_quant)
    for line in engine.result_lines(p):
        console.print(escape(line))
    if p.fit is Verdict.NO:  # no command line for what cannot run: say what would make it run instead
        tips = [n for n in p.notes if note_code(n) in _TIP_CODES]
        for n in p.notes:
            if n not in tips:
                console.print(f"  [dim]• {escape(n)}[/]")
        _render_no(p, tips, ctx_that_fits)
        _render_speed(p)
        return
    for n in p.notes:
        console.print(f"  [dim]• {escape(n)}[/]")
    for i, c in enumerate(engine.command_lines(p)):
        console.print(("\n" if i == 0 else "") + f"[bold]{escape(c.label)}[/]: " + escape(c.line))
        if c.note:
            console.print(f"  [dim]{escape(c.note)}[/]")
    _render_speed(p)


#: Notes that say what would make a plan with verdict "no" run.
_TIP_CODES = (NoteCode.DOES_NOT_FIT, NoteCode.NGL_TOO_HIGH)


#: Buffer columns shown only when some device has them.
_HIDDEN_WHEN_ZERO = ("recurrent", "output", "draft", "mmproj")


def _memory_table(devices: list[DeviceMemory]) -> Table:
    """Memory per device [GiB], one column per buffer kind."""
    t = Table(
        title="Memory per device (GiB; estimated, total ± band; capacity sources below)", title_justify="left"
    )
    columns = {
        "device": [escape(d.name) for d in devices],
        "layers": [f"{d.layers}{'+out' if d.holds_output else ''}" for d in devices],
        "weights": [_gib(d.weights_bytes) for d in devices],
        "KV": [_gib(d.kv_bytes) for d in devices],
        "recurrent": [_gib(d.recurrent_bytes) for d in devices],
        "compute": [_gib(d.compute_bytes) for d in devices],
        "output": [_gib(d.output_bytes) for d in devices],
        "overhead": [_gib(d.overhead_bytes) for d in devices],
        "draft": [_gib(d.draft_bytes) for d in devices],
        "mmproj": [_gib(d.mmproj_bytes) for d in devices],
        "total": [f"{_gib(d.total_bytes)}±{d.uncertainty_bytes / GIB:.2f}" for d in devices],
        "capacity": [_gib(d.capacity_bytes) for d in devices],
        "fit": [f"[{_VERDICT_STYLE.get(d.fit, 'white')}]{d.fit}[/]" for d in devices],
    }
    # a buffer that is zero on every device (recurrent state of a transformer …) gets no column
    shown = {k: v for k, v in columns.items() if k not in _HIDDEN_WHEN_ZERO or any(c != _gib(0) for c in v)}
    for col in shown:
        t.add_column(col, justify="left" if col in ("device", "fit") else "right", no_wrap=True)
    for row in zip(*shown.values(), strict=True):
        t.add_row(*row)
    # narrow terminals: drop the small buffers first; device, total, capacity and fit always stay
    narrow = ("overhead", "output", "recurrent", "compute", "layers", "KV", "weights")
    return fit_table(console, t, short_headers={"capacity": "cap."}, drop=narrow)


def _render_device_notes(devices: list[DeviceMemory]) -> None:
    """Repacked weights and where each capacity comes from."""
    for d in devices:
        if d.repack_bytes:
            console.print(
                f"  [dim]{escape(d.name)}: {d.repack_bytes / GIB:.2f} GiB of the weights are held "
                "as a repacked copy (CPU_REPACK); their mmapped originals are only page cache[/]"
            )
    for d in devices:
        if d.capacity_bytes is not None:
            console.print(f"  [dim]{escape(d.name)} capacity: {escape(d.capacity_source)}[/]")


def _verdict_extra(p: Plan) -> str:
    """What follows the verdict word: what is offloaded, or the headroom."""
    if p.fit is Verdict.OFFLOAD:
        return _offload_text(p)
    if p.fit is Verdict.TIGHT and p.min_headroom_bytes is not None:
        return (
            f" — {p.min_headroom_bytes / GIB:.2f} GiB left on the fullest device (margin "
            f"{p.margin_bytes / GIB:.2f} GiB)"
        )
    if p.fit is Verdict.FITS and p.min_headroom_bytes is not None:
        return f" — at least {p.min_headroom_bytes / GIB:.2f} GiB free on every device"
    if p.fit is Verdict.UNKNOWN:
        return " — no device's memory is known (describe it in --on, e.g. '+ 64GB DDR5')"
    return ""


def _render_best_ctx(p: Plan, best_ctx: int, by_quant: dict[str, int] | None) -> None:
    where = ""
    if p.placement is not None and p.placement.gpu_devices:
        where = " with every layer on the GPU(s)" if p.settings.ngl is None else f" at -ngl {p.settings.ngl}"
    console.print(
        f"Largest context that fits{where}: [bold]{best_ctx:,}[/] tokens "
        f"(estimated, keeping {p.margin_bytes / GIB:.0f} GiB free per device)"
    )
    if by_quant and len(by_quant) > 1:
        cells = ", ".join(f"{q} {n:,}" if n else f"{q} does not fit" for q, n in by_quant.items())
        console.print(f"  by quant: {escape(cells)}")


def _offload_text(p: Plan) -> str:
    """What an "offload" verdict keeps in RAM: whole layers (-ngl), MoE experts (--n-cpu-moe), or both."""
    n_all = p.model.arch.n_layer + 1
    s = p.settings
    flag = "--cpu-moe" if s.cpu_moe else f"--n-cpu-moe {s.n_cpu_moe}"
    experts = f"routed experts of {p.experts_in_ram} of {p.model.arch.n_layer} layers in RAM ({flag})"
    if p.offload is OffloadKind.EXPERTS:
        return f" — experts in RAM: all {n_all} layers on the GPU(s), {experts}"
    if p.offload is OffloadKind.LAYERS_EXPERTS:
        return f" — -ngl {p.ngl} of {n_all} layers on the GPU(s), {experts}"
    return f" — layer offload: -ngl {p.ngl} of {n_all} layers on the GPU(s)"


def _render_no(p: Plan, tips: list[str], ctx_that_fits: int | None) -> None:
    """What would make a plan with verdict "no" run (no llama-server / Ollama / vLLM line)."""
    console.print("\n[bold]To make it run[/] (no command line: this configuration does not fit):")
    if ctx_that_fits and ctx_that_fits < p.n_ctx:
        where = " with every layer on the GPU(s)" if p.settings.ngl is None else f" at -ngl {p.settings.ngl}"
        console.print(f"  • --ctx {ctx_that_fits:,} fits{where} (estimated; {p.n_ctx:,} asked)")
    for t in tips:
        console.print(f"  • {escape(t.removeprefix('Does not fit: ').rstrip('.'))}")
    if not tips:  # (vLLM: its own notes above say which limit it hit)
        console.print("  • a smaller --ctx, a smaller --quant or model, or more memory in --on")


def _render_speed(p: Plan) -> None:
    if p.speed is not None:
        console.print(f"\n[bold]Speed[/] [dim]({escape(_speed_label(p.speed))})[/]")
        # with --users the Concurrency section answers for N users (MoE routing of independent
        # requests included); the speed model's own N-user line would contradict it
        for line in _speed_lines(p.speed, users_line=p.concurrency is None):
            console.print("  " + escape(line))
        if p.speculative is not None:
            for line in _speculative_lines(p.speculative):
                console.print("  " + escape(line))
    elif p.speed_reason:
        console.print(f"\n[dim]Speed: {escape(p.speed_reason)}[/]")


def _speed_label(sp: SpeedEstimate) -> str:
    """How the speed figures were obtained, from their own provenance (not assumed)."""
    prov = sp.decode_tps.provenance
    word = {
        "looked_up": "looked up",
        "estimated": "estimated",
        "calibrated": "calibrated estimate",
        "measured": "measured",
    }.get(prov, prov)
    hosted = bool(sp.details.get("hosted"))
    calibrated_band = prov in ("estimated", "calibrated") and not hosted  # hosted: a set ½×–2× range
    return f"{word}, p10–p90 band" if calibrated_band else f"{word}, with range"


def _render_hosted(p: Plan) -> None:
    h = p.hosted
    if h is None:
        return
    console.print(f"  {weights_text(p)}; context {p.n_ctx:,} tokens")
    each = h.memory_bytes_each
    cap = (
        "unknown"
        if not each
        else f"{each / 1e9:,.1f} GB ({each / GIB:,.1f} GiB) per system, looked up: {h.memory_source}"
    )
    console.print(f"  on-chip memory: {escape(cap)}")
    need = h.weights_and_kv_bytes or 0
    n = h.systems_needed
    n_txt = f"{n:,} systems (estimated)" if n else "unknown (capacity not published)"
    console.print(
        f"\nVerdict: [bold magenta]hosted[/] — weights + KV cache {need / 1e9:,.1f} GB need "
        f"[bold]{escape(n_txt)}[/]"
    )
    for n_ in p.notes:
        console.print(f"  [dim]• {escape(n_)}[/]")
    _render_speed(p)


def _fig(f: Figure | None, unit: str, fmt: str = "{:,.1f}") -> str:
    if f is None or f.value is None:
        return "unknown"
    out = fmt.format(f.value) + f" {unit}"
    if f.low is not None and f.high is not None:
        out += f" ({fmt.format(f.low)}–{fmt.format(f.high)})"
    return out


def _speed_lines(sp: SpeedEstimate, users_line: bool = True) -> list[str]:
    """Speed estimate as text lines."""
    lines = [
        f"prefill {_fig(sp.prefill_tps, 'tok/s')} for a {sp.prompt_tokens:,}-token prompt; "
        f"time to first token {_fig(sp.ttft_s, 's', '{:.2f}')}",
        f"decode {_fig(sp.decode_tps, 'tok/s')} at the start, "
        f"{_fig(sp.decode_tps_ctx, 'tok/s')} at {sp.context_tokens:,} tokens",
    ]
    if users_line and sp.parallel > 1 and sp.aggregate_tps is not None:
        lines.append(
            f"{sp.parallel} users decoding at once: {_fig(sp.per_user_tps, 'tok/s')} each, "
            f"{_fig(sp.aggregate_tps, 'tok/s')} in total"
        )
    if sp.bottleneck:
        lines.append(f"bottleneck: {sp.bottleneck}")
    if sp.details.get("build"):
        on = sp.details.get("os") or ""
        shown = on and " on an unknown OS" not in on  # --os given: 'Vulkan on Linux (Mesa ANV)'
        lines.append(f"for llama.cpp {sp.details['build']}" + (f", {on}" if shown else ""))
    lines += [n for n in sp.notes if n.endswith("of this vendor/backend") or n.startswith("speed for ")]
    return lines


def _speculative_lines(r: SpeculativeResult) -> list[str]:
    """Speculative decoding (draft model or MTP) as text lines."""
    what = "MTP head" if r.kind == "mtp" else "draft model"
    acc = r.acceptance
    band = f" (band {acc.low:.2f}–{acc.high:.2f})" if acc.low is not None and acc.high is not None else ""
    src = "given" if acc.provenance == "looked_up" else f"estimated for task '{r.task}'"
    lines = [
        f"speculative decoding ({what}, --draft-max {r.draft_max}): decode "
        f"{_fig(r.decode_tps, 'tok/s')} at the start, {_fig(r.speedup, '×', '{:.2f}')} plain decode",
        f"  acceptance {acc.value:.2f} per token{band}, {src}; llama.cpp would log a draft "
        f"acceptance rate ≈ {r.llamacpp_rate:.2f}; {_fig(r.tokens_per_step, 'tokens', '{:.2f}')} per step",
        f"  one step = verify {r.draft_max + 1} tokens + {r.draft_max} draft steps = "
        f"{r.step_cost:.2f}× a plain decode step (a draft step ≈ {r.draft_ratio:.2f}×)",
    ]
    lines += [f"  {n}" for n in r.notes]
    return lines
