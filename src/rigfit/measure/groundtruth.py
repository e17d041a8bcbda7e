"""Published llama.cpp speed measurements (``data/ground-truth``) as typed cases.

One row of ``speed_calibration.csv`` (or of a ``rigfit predict --cases`` file) becomes a
:class:`SpeedCase`: the hardware and model *as published*, plus the test decoded into
prompt / generated tokens and KV depth. llama-bench test names:

- ``ppN``     — an N-token prompt from an empty cache (prefill tokens/s);
- ``tgN``     — the average over N generated tokens from an empty cache (the context grows
  during the run, so the mean depth is about N/2);
- ``ppN@dD`` / ``tgN@dD`` — the same after D tokens are already in the KV cache;
- ``tgN@dP``  (old ``./main`` logs) — N tokens generated after a P-token prompt;
- ``ppP+tgN`` — llama-bench's combined test: (P+N) tokens over the prefill plus decode time.

The small name-normalisation layer here handles published-name quirks ("RTX 4090 x2",
"… (DGX Spark)", "M2 Mini Pro (12/19/32GB) CPU") before the hardware catalog resolves the name.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rigfit.safeio import open_regular

#: Columns of the ground truth (``data/ground-truth/speed_calibration.csv``), in order
#: (``rigfit predict`` copies any others through).
GROUND_TRUTH_COLUMNS = (
    "source_url",
    "hardware",
    "hardware_kind",
    "n_devices",
    "backend",
    "model",
    "model_family",
    "params_b",
    "quant",
    "model_size_gib",
    "test",
    "prompt_tokens",
    "gen_tokens",
    "depth",
    "ngl",
    "threads",
    "flash_attn",
    "tokens_per_s",
    "date_or_build",
    "notes",
)

_TEST_RE = re.compile(
    r"^\s*(?:(?P<pp>pp)(?P<ppn>\d*)(?:\s*\+\s*tg(?P<tgn2>\d+))?|(?P<tg>tg)(?P<tgn>\d*))"
    r"(?:\s*@\s*d(?P<depth>\d+))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BenchTest:
    """A decoded llama-bench test.

    kind: "pp" (prefill), "tg" (decode) or "pg" (prompt then generation, one rate over both).
    prompt: prompt tokens processed (pp / pg), 0 for tg.
    gen: tokens generated (tg / pg), 0 for pp.
    depth: tokens already in the KV cache when the test starts.
    """

    kind: str
    prompt: int = 0
    gen: int = 0
    depth: int = 0

    @property
    def name(self) -> str:
        if self.kind == "pp":
            base = f"pp{self.prompt}"
        elif self.kind == "tg":
            base = f"tg{self.gen}"
        else:
            base = f"pp{self.prompt}+tg{self.gen}"
        return f"{base}@d{self.depth}" if self.depth else base


def _int_or_none(value: object) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    # NaN, inf and 1e400 are no count; beyond 2^53 a float is no exact integer either
    return int(number) if math.isfinite(number) and abs(number) <= 2**53 else None


def parse_test(
    test: str, prompt_tokens: object = None, gen_tokens: object = None, depth: object = None
) -> BenchTest:
    """Decode a test name; the explicit columns fill in what the name leaves out.

    Raises ``ValueError`` for a name that is not a llama-bench test.
    """
    m = _TEST_RE.match(test or "")
    p_col, g_col, d_col = _int_or_none(prompt_tokens), _int_or_none(gen_tokens), _int_or_none(depth)
    if not m:
        raise ValueError(f"not a llama-bench test name: {test!r}")
    d = int(m.group("depth")) if m.group("depth") else (d_col or 0)
    if m.group("pp"):
        p = int(m.group("ppn")) if m.group("ppn") else p_col
        if not p:
            raise ValueError(f"prompt length missing for {test!r}")
        if m.group("tgn2"):
            return BenchTest("pg", prompt=p, gen=int(m.group("tgn2")), depth=d)
        return BenchTest("pp", prompt=p, depth=d)
    g = int(m.group("tgn")) if m.group("tgn") else g_col
    if not g:
        raise ValueError(f"generated-token count missing for {test!r}")
    return BenchTest("tg", gen=g, depth=d)


# --------------------------------------------------------------------------------------------
# hardware names as published
# --------------------------------------------------------------------------------------------

_COUNT_SUFFIX = re.compile(r"(?<=[\s\d])(?:x|×|\*)\s*(\d+)\s*$", re.IGNORECASE)
_COUNT_PREFIX = re.compile(r"^\s*(\d+)\s*(?:x|×|\*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class HardwareName:
    """A published hardware string split into catalog look-ups.

    names: device names to resolve, one per distinct device ("A + B" gives two).
    counts: how many of each (same order as ``names``).
    cpu_only: the row names the CPU of a SoC ("… CPU"): compute on the CPU cores.
    candidates: for each name, alternative spellings to try in order.
    """

    published: str
    names: tuple[str, ...]
    counts: tuple[int, ...]
    cpu_only: bool = False
    candidates: tuple[tuple[str, ...], ...] = field(default=())


_APPLE_CHIP = re.compile(r"\bM(\d)\s*(Pro|Max|Ultra)?\b", re.IGNORECASE)
_APPLE_GPU_CORES = re.compile(r"(\d+)\s*[- ]?\s*(?:core|c)\s*GPU|(\d+)\s*GPU\b", re.IGNORECASE)


def _apple_spellings(text: str) -> tuple[str, ...]:
    """'Mac mini M1, 16 GB, 8 GPU' → ('Apple M1 8-core GPU', 'Apple M1'); Pro/Max/Ultra kept."""
    m = _APPLE_CHIP.search(text)
    if not m:
        return ()
    chip = f"Apple M{m.group(1)}" + (f" {m.group(2).capitalize()}" if m.group(2) else "")
    if re.search(r"mini\s+pro", text, re.IGNORECASE) and not m.group(2):
        chip += " Pro"  # "M2 Mini Pro" = a Mac mini with an M2 Pro
    out = []
    g = _APPLE_GPU_CORES.search(text)
    cores = next((x for x in (g.groups() if g else ()) if x), None)
    if cores is None:
        slash = re.search(r"\((\d+)/(\d+)/(\d+)\s*GB\)", text)  # (CPU/GPU/RAM)
        if slash:
            cores = slash.group(2)
    if cores:
        out.append(f"{chip} {cores}-core GPU")
    out.append(chip)
    return tuple(out)


def normalise_hardware(published: str, n_devices: object = None) -> HardwareName:
    """Split a published hardware string into names to resolve and device counts.

    Handles "RTX 4090 x2" / "2x RTX 4090" (count), "A + B" (two different GPUs), Apple
    machine names ("Mac mini M1, 16 GB, 8 GPU", "Apple M2 Ultra 76-Core GPU 192GB"), a trailing
    "CPU"/"GPU" role word and vendor prefixes/parenthetical remarks kept as a fallback spelling.
    ``n_devices`` (the column) wins over a count found in the name when it is larger.
    """
    text = (published or "").strip()
    cpu_only = bool(re.search(r"\bCPU\s*$", text)) and not re.search(r"\bGPU\b", text)
    n_col = _int_or_none(n_devices)
    parts = [p.strip() for p in re.split(r"\s+\+\s+", text) if p.strip()] or [text]
    names: list[str] = []
    counts: list[int] = []
    cands: list[tuple[str, ...]] = []
    for part in parts:
        count = 1
        m = _COUNT_SUFFIX.search(part)
        if m:
            count, part = int(m.group(1)), part[: m.start()].strip()
        m = _COUNT_PREFIX.match(part)
        if m:
            count, part = int(m.group(1)), part[m.end() :].strip()
        names.append(part)
        counts.append(count)
        cands.append(_spellings(part))
    if len(names) == 1 and n_col and n_col > counts[0]:
        counts[0] = n_col
    return HardwareName(text, tuple(names), tuple(counts), cpu_only, tuple(cands))


def _spellings(part: str) -> tuple[str, ...]:
    """Alternative spellings of one device name, most specific first (deduplicated)."""
    out: list[str] = [part]
    no_role = re.sub(r"\s+(CPU|GPU)\s*$", "", part).strip()
    out.append(no_role)
    paren = re.findall(r"\(([^)]*)\)", no_role)
    bare = re.sub(r"\s*\([^)]*\)", "", no_role).strip(" ,")
    out.append(bare)
    if "apple" in part.lower() or re.search(r"\bmac\b|macbook|\bM[1-5]\b", part, re.IGNORECASE):
        out.extend(_apple_spellings(part))
    for p in paren:  # "NVIDIA GB10 (DGX Spark)" → "DGX Spark"; "(Strix Halo, …)" → "Strix Halo"
        head = p.split(",")[0].strip()
        if head and not re.match(r"^\d", head):
            out.append(head)
    bare2 = re.sub(r"^(NVIDIA|AMD|Intel|Apple|Nvidia)\s+", "", bare, flags=re.IGNORECASE)
    out.append(bare2)
    out.append(re.sub(r"\s*/.*$", "", bare))  # "Ryzen AI Max+ 395 / Radeon 8060S" → the CPU part
    seen: list[str] = []
    for s in out:
        s = s.replace("®", "").replace("™", "").strip()
        s = re.sub(r"\s+", " ", s)
        if s and s not in seen:
            seen.append(s)
    return tuple(seen)


# --------------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------------

_BUILD_RE = re.compile(r"\((\d{3,5})\)|\bbuild\s+(\d{3,5})\b|\bb(\d{4,5})\b")
_YEAR_RE = re.compile(r"\b(20\d\d)\b")


def parse_build(text: str | None) -> int | None:
    """llama.cpp build number from 'build 7082d24 (1691)', 'llama.cpp build 6792 (Oct 2025)'."""
    if not text:
        return None
    for m in _BUILD_RE.finditer(text):
        for g in m.groups():
            if g:
                return int(g)
    return None


def build_year(text: str | None) -> int | None:
    if not text:
        return None
    m = _YEAR_RE.search(text)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class SpeedCase:
    """One measurement (or one case to predict), as published plus decoded fields.

    tokens_per_s: the measured rate (None in a cases file without results).
    extra: all columns of the source row, for copying through.
    """

    hardware: str
    n_devices: int
    backend: str
    model: str
    model_family: str
    params_b: float | None
    quant: str
    model_size_gib: float | None
    test: BenchTest | None
    test_name: str
    ngl: int | None
    threads: int | None
    flash_attn: bool | None
    build: int | None
    year: int | None
    hardware_kind: str = ""
    tokens_per_s: float | None = None
    notes: str = ""
    source_url: str = ""
    test_error: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def device_key(self) -> str:
        """Grouping key for leave-one-device-out: the published device name without counts."""
        return normalise_hardware(self.hardware).names[0]


def _float_or_none(value: object) -> float | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _bool_or_none(value: object) -> bool | None:
    text = str(value).strip().lower() if value is not None else ""
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return None


def case_from_row(row: dict) -> SpeedCase:
    """Turn one CSV row (dict of strings) into a :class:`SpeedCase` (never raises on the test)."""
    test_name = (row.get("test") or "").strip()
    test: BenchTest | None
    err = None
    try:
        test = parse_test(test_name, row.get("prompt_tokens"), row.get("gen_tokens"), row.get("depth"))
    except ValueError as exc:
        test, err = None, str(exc)
    build_text = row.get("date_or_build") or ""
    return SpeedCase(
        hardware=(row.get("hardware") or "").strip(),
        n_devices=_int_or_none(row.get("n_devices")) or 1,
        backend=(row.get("backend") or "").strip(),
        model=(row.get("model") or "").strip(),
        model_family=(row.get("model_family") or "").strip(),
        params_b=_float_or_none(row.get("params_b")),
        quant=(row.get("quant") or "").strip(),
        model_size_gib=_float_or_none(row.get("model_size_gib")),
        test=test,
        test_name=test_name,
        ngl=_int_or_none(row.get("ngl")),
        threads=_int_or_none(row.get("threads")),
        flash_attn=_bool_or_none(row.get("flash_attn")),
        build=parse_build(build_text),
        year=build_year(build_text),
        hardware_kind=(row.get("hardware_kind") or "").strip(),
        tokens_per_s=_float_or_none(row.get("tokens_per_s")),
        notes=(row.get("notes") or "").strip(),
        source_url=(row.get("source_url") or "").strip(),
        test_error=err,
        extra=dict(row),
    )


def read_rows(path: str | Path) -> tuple[list[str], list[dict]]:
    """Read a CSV file: (header, rows as dicts of strings)."""
    with io.TextIOWrapper(open_regular(path, "CSV file"), newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)  # utf-8-sig: a BOM as Excel writes it is dropped
        rows = [dict(r) for r in reader]
        return list(reader.fieldnames or []), rows


def read_cases(path: str | Path, extra_columns: str | Path | None = None) -> list[SpeedCase]:
    """All rows of a ground-truth style CSV as cases.

    ``extra_columns``: a CSV keyed by ``source_url`` whose other columns are added to every row
    from that source (facts the source states but the table lacks, such as ``host_link``); a
    column the row already fills is kept.
    """
    _, rows = read_rows(path)
    if extra_columns is not None:
        rows = merge_source_columns(rows, extra_columns)
    return [case_from_row(r) for r in rows]


def merge_source_columns(rows: list[dict], path: str | Path) -> list[dict]:
    """Rows with the columns of ``path`` (keyed by source_url) added where the row has no value."""
    _, extra = read_rows(path)
    by_url = {(e.get("source_url") or "").strip(): e for e in extra}
    out = []
    for r in rows:
        e = by_url.get((r.get("source_url") or "").strip())
        if e:
            r = dict(r)
            for k, v in e.items():
                if k != "source_url" and v and not (r.get(k) or "").strip():
                    r[k] = v
        out.append(r)
    return out


def iter_cases(rows: Iterable[dict]) -> Iterator[SpeedCase]:
    for r in rows:
        yield case_from_row(r)


def ground_truth_dir() -> Path | None:
    """The repository's ``data/ground-truth`` folder, or None outside a source checkout.

    The published measurements are for maintainers (fitting and checking the speed model) and
    are not shipped in the wheel: an installed rigfit has no copy and gets None.
    """
    for parent in Path(__file__).resolve().parents:
        cand = parent / "data" / "ground-truth"
        if (cand / "speed_calibration.csv").is_file():
            return cand
    return None


def default_calibration_path() -> Path | None:
    """``data/ground-truth/speed_calibration.csv`` of this checkout, if present."""
    folder = ground_truth_dir()
    return folder / "speed_calibration.csv" if folder is not None else None


__all__ = [
    "GROUND_TRUTH_COLUMNS",
    "BenchTest",
    "HardwareName",
    "SpeedCase",
    "build_year",
    "case_from_row",
    "default_calibration_path",
    "ground_truth_dir",
    "iter_cases",
    "normalise_hardware",
    "parse_build",
    "parse_test",
    "read_cases",
    "read_rows",
]
