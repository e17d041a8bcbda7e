"""``rigfit plan``: will a model fit a machine, with what memory per device, and how to run it."""

# No ``from __future__ import annotations`` here: Typer evaluates the string annotations of
# ``plan``'s ~45 parameters several times per run (``eval`` and ``compile`` each), ~4 % of the
# whole command's time; evaluated once when the function is defined, they cost nothing.
from dataclasses import replace
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rigfit.catalog.native import quality_line, quality_summary
from rigfit.cli import vision_view
from rigfit.cli.app import app, console, err_console, print_json
from rigfit.cli.concurrency_view import render_concurrency, render_kv_types
from rigfit.cli.fit import fit_table
from rigfit.engines import Engine, get_engine
from rigfit.engines.base import weights_text
from rigfit.estimate.kvtypes import kv_type_rows
from rigfit.estimate.speculative import SpeculativeResult, check_engine, spec_settings
from rigfit.estimate.speed import SpeedEstimate
from rigfit.figures import Figure
from rigfit.fit_advice import describe as describe_alternative
from rigfit.fit_advice import fit_alternatives
from rigfit.formats.source import load_model_source, name_assumption
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import variant_assumptions
from rigfit.hardware.osreserve import RESERVE_HELP, apply_option
from rigfit.inputs import OS_HELP
from rigfit.options import plan_settings
from rigfit.plan import make_plan
from rigfit.plantypes import DeviceMemory, NoteCode, OffloadKind, Plan, Verdict, note_code
from rigfit.units import GIB

_H_MODEL = (
    "Catalog model id (llama-3.1-8b), GGUF file, HF folder, ollama:NAME, or a remote repo "
    "(org/name:QUANT, hf:org/name)."
)
_H_OFFLINE = "No network: remote names from rigfit's header cache only."
_H_ON = "Machine: 'RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200', '2x RTX 3090', 'M3 Max 64GB' or 'local'."
_H_QUANT = "File type for catalog models (default Q4_K_M; MXFP4_MOE for gpt-oss)."
_H_CTX = "Context in tokens (default 4096; 0 = training context)."
_H_NGL = "Layers on the GPU(s): a number or 'all' (default: all, or the largest that fits)."
_H_KV = "KV cache type for K and V: f32 f16 bf16 q8_0 q5_1 q5_0 q4_1 iq4_nl q4_0."
_H_KVK = "KV cache type for K only (-ctk); overrides --kv-type."
_H_KVV = "KV cache type for V only (-ctv; quantized needs flash attention)."
_H_KVT = "Also show every KV cache type: bytes, decode at the context, published quality cost."
_H_USERS = "Concurrent users (requests in flight): per-user and aggregate tok/s, TTFT, max users."
_H_OUTPUT = "Output tokens per request (with --users)."
_H_MINTPS = "Per-user decode floor \\[tok/s]: the largest number of users that keeps it."
_H_SWA = "Full-size cache for sliding-window layers."
_H_NCMOE = "Keep the experts of the first N layers in RAM."
_H_BUILD = (
    "llama.cpp build profile: current, b9294-2026-05, b7800-2026-01, b2800-2024-05, b1650-2023-12 or bNNNN."
)
_H_MAXCTX = "Also find the largest context that fits."
_H_RUNTIME = "Engine: llama.cpp | vllm, or one a package registers (rigfit.engines entry points)."
_H_DRAFT = "Draft model for speculative decoding (-md): any model rigfit reads, like MODEL."
_H_MTP = "Speculative decoding with the model's own MTP head (--spec-type draft-mtp)."
_H_ACCEPT = "Per-token draft acceptance 0…0.99 (default: the --task band from published runs)."
_H_TASK = "Task for the acceptance band: code | chat | mixed | reasoning | agents | rag | prose."

_VERDICT_STYLE = {
    Verdict.FITS: "bold green",
    Verdict.TIGHT: "bold yellow",
    Verdict.OFFLOAD: "bold cyan",
    Verdict.NO: "bold red",
    Verdict.HOSTED: "bold magenta",
}


def _gib(n: int | None) -> str:
    return "unknown" if n is None else f"{n / GIB:.2f}"


@app.command()
def plan(
    model: Annotated[str, typer.Argument(help=_H_MODEL)],
    on: Annotated[str, typer.Option("--on", help=_H_ON)] = "local",
    quant: Annotated[str | None, typer.Option("--quant", "-q", help=_H_QUANT)] = None,
    ctx: Annotated[int | None, typer.Option("--ctx", "-c", help=_H_CTX)] = None,
    ngl: Annotated[str | None, typer.Option("--ngl", help=_H_NGL)] = None,
    fa: Annotated[str, typer.Option("--fa", help="Flash attention: auto | on | off.")] = "auto",
    kv_type: Annotated[str, typer.Option("--kv-type", help=_H_KV)] = "f16",
    parallel: Annotated[int, typer.Option("--parallel", "-np", help="Slots (-np).")] = 1,
    kv_unified: Annotated[bool, typer.Option("--kv-unified", help="Shared KV (-kvu).")] = False,
    ubatch: Annotated[int, typer.Option("--ubatch", "-ub", help="Physical batch size (-ub).")] = 512,
    swa_full: Annotated[bool, typer.Option("--swa-full", help=_H_SWA)] = False,
    cpu_moe: Annotated[bool, typer.Option("--cpu-moe", help="Experts in RAM.")] = False,
    n_cpu_moe: Annotated[int, typer.Option("--n-cpu-moe", help=_H_NCMOE)] = 0,
    no_kv_offload: Annotated[bool, typer.Option("--no-kv-offload", help="Keep the KV cache in RAM.")] = False,
    tensor_split: Annotated[
        str | None, typer.Option("--tensor-split", "-ts", help="GPU shares, e.g. 3,1.")
    ] = None,
    runtime: Annotated[str, typer.Option("--runtime", help=_H_RUNTIME)] = "llama.cpp",
    llama_build: Annotated[str | None, typer.Option("--llama-build", help=_H_BUILD)] = None,
    os_name: Annotated[str, typer.Option("--os", help=OS_HELP)] = "unknown",
    max_ctx: Annotated[bool, typer.Option("--max-ctx", help=_H_MAXCTX)] = False,
    prompt: Annotated[int, typer.Option("--prompt", help="Prompt tokens (speed).")] = 512,
    gpu_util: Annotated[float, typer.Option("--gpu-memory-utilization", help="vLLM memory claim.")] = 0.9,
    kv_type_k: Annotated[str | None, typer.Option("--kv-type-k", "-ctk", help=_H_KVK)] = None,
    kv_type_v: Annotated[str | None, typer.Option("--kv-type-v", "-ctv", help=_H_KVV)] = None,
    kv_types: Annotated[bool, typer.Option("--kv-types", help=_H_KVT)] = False,
    users: Annotated[int, typer.Option("--users", help=_H_USERS)] = 0,
    output: Annotated[int, typer.Option("--output", help=_H_OUTPUT)] = 256,
    min_tps: Annotated[float | None, typer.Option("--min-tps", help=_H_MINTPS)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help=_H_OFFLINE)] = False,
    draft: Annotated[str | None, typer.Option("--draft", "-md", help=_H_DRAFT)] = None,
    draft_quant: Annotated[str | None, typer.Option("--draft-quant", help="Draft file type.")] = None,
    mtp: Annotated[bool, typer.Option("--mtp", help=_H_MTP)] = False,
    draft_max: Annotated[int | None, typer.Option("--draft-max", help="Drafted tokens (3).")] = None,
    draft_min: Annotated[int | None, typer.Option("--draft-min", help="Least drafted (0).")] = None,
    ngl_draft: Annotated[
        int | None, typer.Option("--gpu-layers-draft", "-ngld", help="Draft layers on GPU (all).")
    ] = None,
    device_draft: Annotated[
        str | None, typer.Option("--device-draft", "-devd", help="Draft device: CUDA1, none…")
    ] = None,
    kv_type_draft: Annotated[str, typer.Option("--kv-type-draft", "-ctkd", help="Draft KV type.")] = "f16",
    accept_rate: Annotated[float | None, typer.Option("--accept-rate", help=_H_ACCEPT)] = None,
    task: Annotated[str, typer.Option("--task", help=_H_TASK)] = "mixed",
    mmproj: Annotated[str | None, typer.Option("--mmproj", help=vision_view.H_MMPROJ)] = None,
    no_mmproj_offload: Annotated[
        bool, typer.Option("--no-mmproj-offload", help=vision_view.H_NO_MMPROJ_OFFLOAD)
    ] = False,
    images: Annotated[int, typer.Option("--images", help=vision_view.H_IMAGES)] = 0,
    image_size: Annotated[str | None, typer.Option("--image-size", help=vision_view.H_IMAGE_SIZE)] = None,
    reserve_ram: Annotated[str | None, typer.Option("--reserve-ram", help=RESERVE_HELP)] = None,
) -> None:
    """Plan a model on a machine: memory per device, verdict, and the command line to run it.

    Examples:

      rigfit plan llama-3.1-8b --on "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"

      rigfit plan qwen2.5-14b --on "RTX 3060 12GB + 32GB" --max-ctx

      rigfit plan llama-3.1-70b --on "RTX 4090 + 64GB DDR5" --ctx 8192 --kv-type q8_0

      rigfit plan ./model.gguf --on local --json

      rigfit plan unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M --on "RTX 4090 + 64GB"

      rigfit plan qwen3-8b --on "RTX 3090" --users 8 --prompt 2000 --output 500 --min-tps 20

      rigfit plan qwen2.5-14b --on "RTX 4090" --ctx 65536 -ctk q8_0 -ctv q5_1 --kv-types

      rigfit plan qwen3-8b --draft qwen3-0.6b --draft-max 5 --task code --on "RTX 3060 12GB"

      rigfit plan ./GLM-4.5-Air-Q4_K_M.gguf --mtp --on "2x RTX 3090 + 128GB"

      rigfit plan qwen3-30b-a3b --on "RTX 3060 12GB + 32GB" --reserve-ram 8GB
    """
    settings = plan_settings(
        ctx=ctx,
        ngl=ngl,
        fa=fa,
        kv_type=kv_type,
        parallel=parallel,
        kv_unified=kv_unified,
        ubatch=ubatch,
        swa_full=swa_full,
        cpu_moe=cpu_moe,
        n_cpu_moe=n_cpu_moe,
        no_kv_offload=no_kv_offload,
        tensor_split=tensor_split,
        runtime=runtime,
        llama_build=llama_build,
        prompt=prompt,
        gpu_util=gpu_util,
        kv_type_k=kv_type_k,
        kv_type_v=kv_type_v,
        users=users,
        output=output,
        min_tps=min_tps,
        os=os_name,
    )
    spec = load_model_source(model, quant, offline=offline)
    draft_spec = load_model_source(draft, draft_quant, offline=offline) if draft else None
    speculative = spec_settings(
        spec,
        draft=draft_spec,
        mtp=mtp,
        draft_max=draft_max,
        draft_min=draft_min,
        ngl_draft=ngl_draft,
        device_draft=device_draft,
        accept_rate=accept_rate,
        task=task,
        kv_type_draft=kv_type_draft,
    )
    if speculative is not None:
        check_engine(settings.runtime)
        settings = replace(settings, speculative=speculative)
    vision = vision_view.vision_settings(mmproj, no_mmproj_offload, images, image_size, spec)
    settings = replace(settings, vision=vision)
    engine = get_engine(settings.runtime, flag="--runtime")
    if assumed := name_assumption(model, spec):  # a file or Ollama name read as a catalog model
        err_console.print(f"note: {escape(assumed)}", highlight=False, soft_wrap=True)
    machine = apply_option(resolve_machine(on), reserve_ram)
    for line in variant_assumptions(machine.accelerators):  # "RTX 3060" -> the 12 GB card, said
        err_console.print(f"note: {escape(line)}", highlight=False, soft_wrap=True)
    p = make_plan(spec, machine, settings)
    best_ctx = by_quant = None
    if max_ctx and p.hosted is None:
        best_ctx = engine.max_context(spec, machine, settings)
        by_quant = engine.max_context_by_quant(spec, machine, settings)
    kv_rows = kv_type_rows(p) if kv_types and p.hosted is None and p.vllm is None else None
    alternatives = fit_alternatives(spec, machine, settings, p)  # a KV type / ubatch that fits
    quality = quality_summary(p.model.arch, p.model.file_type, p.model.path)
    if as_json:
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
        return
    ctx_that_fits = None
    if p.fit is Verdict.NO and p.hosted is None:
        ctx_that_fits = (
            best_ctx if best_ctx is not None else engine.max_context(spec, machine, settings, limit=p.n_ctx)
        )
    _render(p, engine, best_ctx, by_quant, ctx_that_fits, quality)
    vision_view.render_vision(console, p, vision)
    if p.concurrency is not None:
        render_concurrency(console, p.concurrency)
    if kv_rows is not None:
        render_kv_types(console, p, kv_rows)
    for a in alternatives:
        console.print(f"  Fits instead: {escape(describe_alternative(a, p))}", highlight=False)


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
        f"[bold]{escape(arch.name or arch.id)}[/] {escape(p.model.file_type or '')} "
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
