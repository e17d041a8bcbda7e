"""The CPU and SoC catalog (``data/cpu_catalog.json``): ~350 parts in families, expanded into rows.

The data file groups parts into families that share an ISA, a memory system and a source page
(Intel ARK / AMD / vendor product briefs, or the Wikipedia list page of the family); each part is
one compact row ``[name, cores, threads, p_cores, e_cores, base_ghz, boost_ghz, tdp_w, year,
{overrides}]``. :func:`catalog_cpu_rows` expands them into rows in the layout of the overlay's
``cpus`` list (``data/hardware.json``), which :func:`merge_catalog` appends to the overlay
(overlay rows win on a name clash), so every other module sees one list of CPUs.

Peak memory bandwidth [B/s] = channels × 8 B × MT/s (:func:`peak_bandwidth_gb_s`), a channel
being 64 bits: a DDR5 DIMM's two 32-bit sub-channels count as one, and an SoC's channel count is
its bus width / 64 (a Raspberry Pi 5's 32-bit LPDDR4X-4267 = 0.5 × 8 × 4267 MT/s = 17.1 GB/s).
Sources: https://en.wikipedia.org/wiki/DDR5_SDRAM, https://en.wikipedia.org/wiki/Memory_bandwidth.

A null figure is one not established by the catalog: it stays unknown (``None``), never guessed.

Status: a family's figures were first written from memory (``from-memory``, the family's ``source``
naming where to check them). A part whose overrides say ``"status": "verified"`` was compared figure
by figure with the file or page in its own ``source`` (a URL, or a list of URLs when the figures
come from several pages) and corrected there; its ``unchecked`` list
(one of :data:`CHECKABLE_FIELDS` per entry) names the figures that source does not give, which stay
as first written. ``tools/cpu_catalog_report.py`` counts the rows by status and lists the rest.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from rigfit.datafiles import read_text

CATALOG_FILE = "cpu_catalog.json"
#: the ISA flags the catalog reports per part (llama.cpp's CPU feature vocabulary)
ISA_FLAGS = ("AVX2", "AVX-512", "AVX-VNNI", "AMX", "NEON", "SVE", "I8MM")
_X86_VENDORS = {"Intel", "AMD"}
#: the figures a verification can confirm, named as in a part's ``unchecked`` list
CHECKABLE_FIELDS = (
    "cores",
    "threads",
    "p_cores",
    "e_cores",
    "base_ghz",
    "boost_ghz",
    "tdp_w",
    "release_year",
    "memory_type",
    "max_memory_mt_s",
    "memory_channels",
    "simd",
)
_COLUMNS = (
    "name",
    "cores",
    "threads",
    "p_cores",
    "e_cores",
    "base_ghz",
    "boost_ghz",
    "tdp_w",
    "release_year",
)


@cache
def catalog() -> dict[str, Any]:
    """The parsed ``data/cpu_catalog.json``."""
    text = read_text("rigfit.hardware", "data", CATALOG_FILE)
    data: dict[str, Any] = json.loads(text)
    return data


def peak_bandwidth_gb_s(channels: float | None, mt_s: float | None) -> float | None:
    """Peak DRAM bandwidth [GB/s] = channels × 8 B × MT/s / 1000 (64-bit channels); None if unknown."""
    if not channels or not mt_s:
        return None
    return round(channels * 8 * mt_s / 1000, 3)


# compiled once: every CPU row of the catalog is expanded at start-up (re's cache lookups add up)
_MODEL_RE = re.compile(
    r"\b((?:i[3579]-)?[0-9]{3,5}[A-Z]{1,3}\+?|[A-Z][0-9]{3,4}[A-Z]{0,2}|X\d[A-Z]-\d\d-\d{3})$"
)
_UPPER_RE = re.compile(r"[A-Z]")
_DIGIT_RE = re.compile(r"\d")
_ULTRA_RE = re.compile(r"(?:Intel )?Core Ultra (\d) (\d{3}[A-Z]{0,2})$")
_F_BASE_RE = re.compile(r"\d(K?)$")
_F_ALIAS_RE = re.compile(r"\d$|K$")


def _aliases(name: str, vendor: str, f_variants: bool, extra: list[str]) -> list[str]:
    """Names people type for a part: without the vendor, the bare model, F/KF variants."""
    short = name.removeprefix(vendor + " ").strip()
    out = [short, *extra]
    m = _MODEL_RE.search(name)
    if m and _UPPER_RE.search(m.group(1)) and _DIGIT_RE.search(m.group(1)):
        out.append(m.group(1))  # "i5-1235U", "7700X", "N150", "X1E-80-100" (never a bare number)
    if m and m.group(1).startswith("i") and "-" in m.group(1):
        out.append("Core " + m.group(1))
    ultra = _ULTRA_RE.match(name)
    if ultra:
        out += [f"Core Ultra {ultra.group(2)}", f"Ultra {ultra.group(1)} {ultra.group(2)}"]
    if f_variants and _F_BASE_RE.search(name):
        for n in list(dict.fromkeys([name, short, *(a for a in out if _F_ALIAS_RE.search(a))])):
            out.append(n + "F")
    return [a for a in dict.fromkeys(out) if a and a != name]


def _expand(fam: dict[str, Any], part: list[Any]) -> dict[str, Any]:
    """One overlay-format CPU row from a family and a compact part row."""
    over: dict[str, Any] = part[len(_COLUMNS)] if len(part) > len(_COLUMNS) else {}
    row: dict[str, Any] = dict(zip(_COLUMNS, part[: len(_COLUMNS)], strict=True))
    for k in ("vendor", "segment", "microarchitecture", "memory_type", "max_memory_mt_s", "memory_channels"):
        row[k] = fam.get(k)
    for k in ("socket", "memory_bus_bits", "memory_fixed", "fp32_flop_per_cycle", "isa_unknown"):
        if fam.get(k) is not None:
            row[k] = fam[k]
    row["simd"] = list(fam["isa"])
    row["family"] = fam["family"]
    source = over.get("source") or fam["source"]
    row["sources"] = list(source) if isinstance(source, list) else [source]  # a part may cite several pages
    row["status"] = fam.get("status", catalog().get("status", "from-memory"))
    row["notes"] = fam.get("note")
    row.update({k: v for k, v in over.items() if k not in ("aliases", "source")})
    if row.get("p_cores") == 0 and row.get("e_cores"):  # E-core-only parts (N100, Sierra Forest)
        row["e_base_ghz"], row["e_boost_ghz"] = row.get("base_ghz"), row.get("boost_ghz")
    row["memory_bandwidth_gb_s"] = peak_bandwidth_gb_s(row.get("memory_channels"), row.get("max_memory_mt_s"))
    row["bandwidth_formula"] = "channels x 8 bytes x MT/s (64-bit channels)"
    if (
        row.get("memory_configs_gb")
        and row.get("default_memory_gb") is None
        and len(row["memory_configs_gb"]) == 1
    ):
        row["default_memory_gb"] = row["memory_configs_gb"][0]
    row["aliases"] = _aliases(
        row["name"], row["vendor"], bool(fam.get("f_variants")), list(over.get("aliases") or [])
    )
    row["added"] = "rigfit cpu catalog (data/cpu_catalog.json)"
    return row


@cache
def catalog_cpu_rows() -> tuple[dict[str, Any], ...]:
    """Every catalog part as an overlay-format ``cpus`` row."""
    return tuple(_expand(f, p) for f in catalog()["families"] for p in f["parts"])


def catalog_apu_rows() -> tuple[dict[str, Any], ...]:
    """The catalog's unified-memory systems (Jetson Orin/Thor, Strix Halo 385) in the overlay's layout."""
    return tuple(catalog().get("apus", ()))


def merge_catalog(overlay: dict[str, Any]) -> dict[str, Any]:
    """The overlay with the catalog's CPUs and APUs appended (overlay rows win on a name clash)."""
    cpu_names = {c["name"] for c in overlay.get("cpus", [])}
    apu_names = {a["name"] for a in overlay.get("apus", [])}
    overlay["cpus"] = [
        *overlay.get("cpus", []),
        *(r for r in catalog_cpu_rows() if r["name"] not in cpu_names),
    ]
    overlay["apus"] = [
        *overlay.get("apus", []),
        *(a for a in catalog_apu_rows() if a["name"] not in apu_names),
    ]
    # a family name ("Snapdragon X Elite") resolves to its designated part, with this note
    overlay["gpu_default_variants"] = {
        **catalog().get("default_variants", {}),
        **overlay.get("gpu_default_variants", {}),
    }
    return overlay


def isa_flags(row: dict[str, Any]) -> dict[str, bool | None]:
    """Which of :data:`ISA_FLAGS` a CPU row has: True / False, or None where not established."""
    simd = " ".join(row.get("simd") or []).upper().replace("_", "-")
    unknown = set(row.get("isa_unknown") or [])
    x86 = row.get("vendor") in _X86_VENDORS
    out: dict[str, bool | None] = {}
    for flag in ISA_FLAGS:
        key = flag.replace("_", "-")
        pattern = "SVE2?" if key == "SVE" else re.escape(key)
        has = bool(re.search(rf"(?<![A-Z0-9]){pattern}(?![A-Z0-9])", simd))
        if key == "AVX-512":
            has = "AVX-512" in simd or "AVX512" in simd.replace("-", "")
        if flag in unknown:
            out[flag] = None
        elif has or x86 or row.get("isa_unknown") is not None:
            out[flag] = has
        else:
            out[flag] = None  # an Arm/other row without a stated isa_unknown list: absence not established
    return out
