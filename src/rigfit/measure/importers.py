"""Import measurements into the results store, and export them as a ground-truth CSV.

Formats read (detected from the content, not the file name):

- llama-bench ``-o json`` (a JSON array of test objects), ``-o jsonl`` (one object per line) and
  ``-o csv`` (a header of llama-bench field names: ``build_commit, …, avg_ts, stddev_ts``). Field
  names are llama-bench's own (tools/llama-bench/llama-bench.cpp, ``test::get_fields``); older
  builds without ``n_depth`` or with a boolean ``flash_attn`` are read too.
- the markdown table llama-bench prints by default, as people paste it
  (``| model | size | params | backend | ngl | test | t/s |`` with ``123.45 ± 1.20``), with its
  ``build: <commit> (<number>)`` footer when present.
- a ground-truth CSV (the columns of ``data/ground-truth/speed_calibration.csv``); each row is
  kept verbatim so that ``rigfit results --export`` writes it back unchanged.

Export writes every stored result in the ground-truth columns
(:data:`rigfit.measure.groundtruth.GROUND_TRUTH_COLUMNS`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rigfit.errors import BadFileError
from rigfit.measure.groundtruth import GROUND_TRUTH_COLUMNS, BenchTest, case_from_row, parse_test, read_rows
from rigfit.measure.groundtruth import _bool_or_none as _bool
from rigfit.measure.groundtruth import _float_or_none as _float
from rigfit.measure.groundtruth import _int_or_none as _int
from rigfit.measure.store import Result
from rigfit.safeio import atomic_output, clean_text, csv_safe, read_text_regular
from rigfit.units import GIB, MIB

#: Largest file ``rigfit results --import`` reads [bytes]: a llama-bench run is a few KB, the
#: ground-truth CSV about 1 MB; 256 MiB bounds memory with room to spare.
MAX_IMPORT_BYTES = 256 * MIB

#: llama.cpp's file-type names (``llama_model_ftype_name``) → the usual quant label.
_FTYPE_SUFFIX = {"small": "S", "medium": "M", "large": "L"}


@dataclass
class ImportBatch:
    """Results parsed from one file, ready for :meth:`ResultStore.add_run`.

    fmt: the detected format ("llama-bench json", "llama-bench jsonl", "llama-bench csv",
    "llama-bench markdown", "ground truth csv"). build: llama.cpp build, when the file says.
    """

    fmt: str
    results: list[Result] = field(default_factory=list)
    build: str | None = None
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def quant_from_model_type(model_type: str) -> str:
    """'llama 8B Q4_K - Medium' → 'Q4_K_M'; 'gpt-oss 20B MXFP4 MoE' → 'MXFP4'; '' when unknown."""
    text = re.sub(r"\s*\(guessed\)\s*$", "", model_type or "")
    m = re.search(
        r"\b(I?Q\d_[A-Z0-9]+|I?Q\d_\d|TQ\d_\d|MXFP4|NVFP4|BF16|F16|F32)\b"
        r"(?:\s+mix)?(?:\s*-\s*(Small|Medium|Large))?",
        text,
        re.IGNORECASE,
    )
    if not m:
        return ""
    base = m.group(1).upper()
    if " mix" in m.group(0).lower() and base == "IQ3_S":
        return "IQ3_M"
    if m.group(2):
        return f"{base}_{_FTYPE_SUFFIX[m.group(2).lower()]}"
    return base


def family_from_model_type(model_type: str) -> str:
    """The architecture word llama.cpp puts first ('qwen3moe 30B.A3B …' → 'qwen3moe')."""
    return (model_type or "").split(" ", 1)[0]


def llama_bench_test_name(n_prompt: int, n_gen: int, n_depth: int = 0) -> str:
    """llama-bench's test naming: pp512, tg128, pp512+tg128, with ``@dD`` after D cached tokens."""
    if n_prompt and not n_gen:
        t = BenchTest("pp", prompt=n_prompt, depth=n_depth)
    elif n_gen and not n_prompt:
        t = BenchTest("tg", gen=n_gen, depth=n_depth)
    else:
        t = BenchTest("pg", prompt=n_prompt, gen=n_gen, depth=n_depth)
    return t.name


def _samples(value: object) -> list[float]:
    """llama-bench's ``samples_ts`` as floats; ValueError for entries that are not numbers."""
    if not isinstance(value, list):
        return []
    out = []
    for x in value:
        if isinstance(x, bool) or not isinstance(x, (int, float, str)):
            raise ValueError(f"sample {_short(x)} is not a number")
        out.append(float(x))  # ValueError for non-numeric text
    return out


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _num(value: float | None, digits: int = 2) -> str:
    """A number for the CSV: fixed decimals without trailing zeros ('' for None)."""
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------------------------
# llama-bench json / jsonl / csv
# --------------------------------------------------------------------------------------------


def result_from_llama_bench(obj: dict, fmt: str, source_file: str = "") -> Result:
    """One llama-bench test object (json / jsonl / csv row, all values possibly strings)."""
    n_prompt = _int(obj.get("n_prompt")) or 0
    n_gen = _int(obj.get("n_gen")) or 0
    n_depth = _int(obj.get("n_depth")) or 0
    if not (n_prompt or n_gen):
        raise ValueError("a llama-bench test with neither n_prompt nor n_gen")
    model_type = str(obj.get("model_type") or "")
    filename = Path(str(obj.get("model_filename") or "")).name
    model = f"{model_type} ({filename})" if model_type and filename else (model_type or filename)
    gpu = str(obj.get("gpu_info") or "").strip()
    cpu = str(obj.get("cpu_info") or "").strip()
    backend = str(obj.get("backends") or obj.get("backend") or "").strip()
    samples = obj.get("samples_ts")
    if isinstance(samples, str):  # csv has no samples; keep the type honest
        samples = None
    commit = str(obj.get("build_commit") or "").strip()
    number = _int(obj.get("build_number"))
    build = f"build {commit} ({number})" if commit else ""
    if obj.get("test_time"):
        build = f"{build}, {obj['test_time']}" if build else str(obj["test_time"])
    size = _int(obj.get("model_size"))
    n_params = _int(obj.get("model_n_params"))
    fa = obj.get("flash_attn")
    notes = []
    for key in ("n_batch", "n_ubatch", "type_k", "type_v", "split_mode", "n_cpu_moe", "no_kv_offload"):
        if obj.get(key) not in (None, ""):
            notes.append(f"{key}={obj[key]}")
    return Result(
        test=llama_bench_test_name(n_prompt, n_gen, n_depth),
        tokens_per_s=_float(obj.get("avg_ts")),
        tokens_per_s_stddev=_float(obj.get("stddev_ts")),
        samples=_samples(samples),
        source=f"llama-bench {fmt}",
        hardware=gpu or cpu,
        hardware_kind=_hardware_kind(gpu, cpu, backend),
        n_devices=1,
        backend=backend,
        model=model,
        model_family=family_from_model_type(model_type),
        params_b=round(n_params / 1e9, 2) if n_params else None,
        quant=quant_from_model_type(model_type),
        model_size_bytes=size,
        prompt_tokens=n_prompt or None,
        gen_tokens=n_gen or None,
        depth=n_depth,
        ngl=_int(obj.get("n_gpu_layers")),
        threads=_int(obj.get("n_threads")),
        flash_attn=_bool(fa),
        n_batch=_int(obj.get("n_batch")),
        n_ubatch=_int(obj.get("n_ubatch")),
        type_k=str(obj["type_k"]) if obj.get("type_k") else None,
        type_v=str(obj["type_v"]) if obj.get("type_v") else None,
        build=build,
        build_number=number,
        build_commit=commit or None,
        notes="llama-bench " + fmt + ("; " + " ".join(notes) if notes else ""),
        dedupe_key=content_key(
            model_type,
            llama_bench_test_name(n_prompt, n_gen, n_depth),
            _float(obj.get("avg_ts")),
            _float(obj.get("stddev_ts")),
            commit,
        ),
    )


#: Plausible ranges for imported figures (refused outside them, one warning per row):
#: tokens/s in (0, 10^7] — the fastest published llama.cpp prefill is ~10^5 tok/s;
#: token counts, depth, ngl, threads and batch sizes in [0, 2^31) — llama.cpp keeps them in int32.
MAX_TOKENS_PER_S = 1e7
MAX_COUNT = 2**31 - 1
#: Longest text cell kept from an import [characters]; longer cells are cut.
MAX_CELL_CHARS = 4096


def validate_result(res: Result, check_test: bool = True) -> Result:
    """``res`` after checking its figures are physically plausible; raises ValueError otherwise.

    tokens/s must be a finite number in (0, MAX_TOKENS_PER_S]; samples finite and non-negative;
    counts within [0, MAX_COUNT]; the test name a llama-bench name (``pp512``, ``tg128@d4096``).
    Over-long text cells are cut to MAX_CELL_CHARS.
    """
    tps = res.tokens_per_s
    if (
        tps is None
        or not isinstance(tps, (int, float))
        or not math.isfinite(tps)
        or not 0 < tps <= MAX_TOKENS_PER_S
    ):
        raise ValueError(f"tokens/s {_short(tps)} is not a rate in (0, {MAX_TOKENS_PER_S:g}]")
    sd = res.tokens_per_s_stddev
    if sd is not None and (not math.isfinite(sd) or sd < 0):
        res.tokens_per_s_stddev = None
    if any(
        not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x) or x < 0
        for x in res.samples
    ):
        raise ValueError("samples are not all finite non-negative rates")
    for name in (
        "n_devices",
        "prompt_tokens",
        "gen_tokens",
        "depth",
        "ngl",
        "threads",
        "n_ctx",
        "n_batch",
        "n_ubatch",
        "build_number",
    ):
        value = getattr(res, name)
        if value is not None and not 0 <= value <= MAX_COUNT:
            raise ValueError(f"{name} {_short(value)} is outside [0, {MAX_COUNT}]")
    if res.model_size_bytes is not None and not 0 <= res.model_size_bytes <= 2**50:
        res.model_size_bytes = None
    if res.params_b is not None and not (math.isfinite(res.params_b) and 0 <= res.params_b <= 1e5):
        res.params_b = None
    if check_test:  # ground-truth rows are kept verbatim, names such as a bare "pp" included
        parse_test(res.test, res.prompt_tokens, res.gen_tokens, res.depth)  # ValueError for 'pp-512'
    for name in ("hardware", "model", "backend", "quant", "notes", "build", "source_url", "model_family"):
        value = getattr(res, name)
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            setattr(res, name, value[:MAX_CELL_CHARS])
    return res


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def content_key(
    model_type: str, test: str, avg_ts: float | None, stddev_ts: float | None, build_commit: str
) -> str:
    """A dedupe key from what every llama-bench output format shows of a test (json, jsonl, csv
    and the markdown table): model type, test, rate and spread to 0.01 tok/s, and the build commit.
    The same run imported as JSON, CSV and markdown is stored once."""
    return _key(
        "llama-bench content",
        model_type.strip().lower(),
        test.lower(),
        _num(avg_ts),
        _num(stddev_ts),
        build_commit.strip().lower()[:7],
    )


def _hardware_kind(gpu: str, cpu: str, backend: str) -> str:
    text = f"{gpu} {backend}".lower()
    if "nvidia" in text or "geforce" in text or "cuda" in text:
        return "nvidia"
    if "radeon" in text or "amd" in gpu.lower() or "rocm" in text or "hip" in text:
        return "amd"
    if "apple" in text or "metal" in text:
        return "apple"
    if "intel" in gpu.lower() or "sycl" in text:
        return "intel"
    if not gpu and backend.upper() in ("", "CPU", "BLAS"):
        return "cpu"
    return "other"


def parse_llama_bench_json(text: str, source_file: str = "") -> ImportBatch:
    """llama-bench ``-o json``: an array of test objects (a single object is accepted too)."""
    return _collect("json", _iter_json, text, source_file)


def parse_llama_bench_jsonl(text: str, source_file: str = "") -> ImportBatch:
    """llama-bench ``-o jsonl``: one test object per line."""
    return _collect("jsonl", _iter_jsonl, text, source_file)


def parse_llama_bench_csv(text: str, source_file: str = "") -> ImportBatch:
    """llama-bench ``-o csv``: a header of field names, every value quoted."""
    return _collect("csv", _iter_csv, text, source_file)


#: A lazy parser: (text, source file, the batch that collects build and warnings) → results.
_LazyParser = Callable[[str, str, ImportBatch], Iterator[Result]]


def _collect(fmt: str, parser: _LazyParser, text: str, source_file: str) -> ImportBatch:
    batch = ImportBatch(f"llama-bench {fmt}")
    batch.results = list(parser(text, source_file, batch))
    return batch


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, one at a time (``splitlines`` would hold a second copy
    of a 200k-row file in memory)."""
    for m in re.finditer(r"[^\n]*\n|[^\n]+\Z", text):
        yield m.group(0)


def _iter_json(text: str, source_file: str, batch: ImportBatch) -> Iterator[Result]:
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer over Python's 4,300-digit limit
        raise BadFileError(source_file or "input", f"not valid JSON ({clean_text(exc, 160)}).") from exc
    except RecursionError as exc:
        raise BadFileError(source_file or "input", "JSON nested too deeply.") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise BadFileError(source_file or "input", "expected a JSON array of llama-bench tests.")
    return _iter_objects(data, "json", source_file, batch)


def _jsonl_objects(text: str, source_file: str) -> Iterator[object]:
    for i, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, or an integer over Python's 4,300-digit limit
            why = clean_text(exc, 160)
            raise BadFileError(source_file or "input", f"line {i} is not valid JSON ({why}).") from exc
        except RecursionError as exc:
            raise BadFileError(source_file or "input", f"line {i}: JSON nested too deeply.") from exc
        yield obj


def _iter_jsonl(text: str, source_file: str, batch: ImportBatch) -> Iterator[Result]:
    return _iter_objects(_jsonl_objects(text, source_file), "jsonl", source_file, batch)


def _iter_csv(text: str, source_file: str, batch: ImportBatch) -> Iterator[Result]:
    return _iter_objects(csv.DictReader(_lines(text)), "csv", source_file, batch)


def _iter_objects(objs: Iterable[object], fmt: str, source_file: str, batch: ImportBatch) -> Iterator[Result]:
    """Results of llama-bench test objects, one at a time; skipped entries and the build go into
    ``batch``."""
    for i, obj in enumerate(objs, 1):
        if not isinstance(obj, dict) or "avg_ts" not in obj:
            raise BadFileError(source_file or "input", f"entry {i} is not a llama-bench test (no avg_ts).")
        if batch.build is None and obj.get("build_commit"):
            batch.build = f"{obj['build_commit']} ({obj.get('build_number')})"
        try:
            res = validate_result(result_from_llama_bench(obj, fmt, source_file))
        except (ValueError, TypeError, OverflowError) as exc:
            batch.warnings.append(f"entry {i} skipped: {exc}")
            continue
        yield res


# --------------------------------------------------------------------------------------------
# llama-bench markdown table
# --------------------------------------------------------------------------------------------

_MD_NAMES = {
    "ngl": "n_gpu_layers",
    "threads": "n_threads",
    "fa": "flash_attn",
    "sm": "split_mode",
    "nkvo": "no_kv_offload",
    "mg": "main_gpu",
    "ts": "tensor_split",
    "dev": "devices",
    "embd": "embeddings",
    "nopo": "no_op_offload",
    "noh": "no_host",
    "rpk": "repack",
    "mmap": "use_mmap",
    "ot": "tensor_buft_overrides",
    "n_batch": "n_batch",
    "n_ubatch": "n_ubatch",
    "type_k": "type_k",
    "type_v": "type_v",
    "backend": "backends",
}
_TS_RE = re.compile(r"^\s*([\d.]+)\s*(?:±|\+/-|\+-)\s*([\d.]+)\s*$")
_SIZE_RE = re.compile(r"^\s*([\d.]+)\s*(GiB|MiB|GB|MB)\s*$", re.IGNORECASE)
_PARAMS_RE = re.compile(r"^\s*([\d.]+)\s*([BMK])\s*$", re.IGNORECASE)
_MD_BUILD_RE = re.compile(r"build:\s*([0-9a-f]+)\s*\((\d+)\)", re.IGNORECASE)


def _md_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def parse_llama_bench_markdown(text: str, source_file: str = "") -> ImportBatch:
    """The table llama-bench prints by default (``-o md``), pasted with or without its footer."""
    lines = text.splitlines()
    header_idx = next(
        (i for i, ln in enumerate(lines) if ln.strip().startswith("|") and "t/s" in ln and "test" in ln), None
    )
    if header_idx is None:
        raise BadFileError(source_file or "input", "no llama-bench table (a header with 'test' and 't/s').")
    header = [h.lower() for h in _md_cells(lines[header_idx])]
    build_m = _MD_BUILD_RE.search(text)
    commit, number = (build_m.group(1)[:64], _int(build_m.group(2)[:12])) if build_m else ("", None)
    batch = ImportBatch("llama-bench markdown", build=f"{commit} ({number})" if commit else None)
    for ln in lines[header_idx + 1 :]:
        if not ln.strip().startswith("|"):
            if batch.results:
                break
            continue
        cells = _md_cells(ln)
        if all(set(c) <= set("-: ") for c in cells):
            continue  # the alignment row
        if len(cells) != len(header):
            batch.warnings.append(f"row skipped (expected {len(header)} cells): {_short(ln.strip())}")
            continue
        row = dict(zip(header, cells, strict=True))
        obj: dict = {"build_commit": commit, "build_number": number, "model_type": row.get("model", "")}
        for name, value in row.items():
            if name in _MD_NAMES:
                obj[_MD_NAMES[name]] = value
        if "size" in row:
            m = _SIZE_RE.match(row["size"])
            if m and _float(m.group(1)) is not None:
                mult = {"gib": GIB, "mib": MIB, "gb": 1e9, "mb": 1e6}[m.group(2).lower()]
                obj["model_size"] = _int(_float(m.group(1)) * mult)
        if "params" in row:
            m = _PARAMS_RE.match(row["params"])
            if m and _float(m.group(1)) is not None:
                scale = {"b": 1e9, "m": 1e6, "k": 1e3}[m.group(2).lower()]
                obj["model_n_params"] = _int(_float(m.group(1)) * scale)
        m = _TS_RE.match(row.get("t/s", ""))
        if not m or _float(m.group(1)) is None or _float(m.group(2)) is None:
            batch.warnings.append(f"row skipped (unreadable t/s {row.get('t/s')!r})")
            continue
        obj["avg_ts"], obj["stddev_ts"] = float(m.group(1)), float(m.group(2))
        try:
            t = parse_test(re.sub(r"\s+", "", row.get("test", "")))
            obj["n_prompt"], obj["n_gen"], obj["n_depth"] = t.prompt, t.gen, t.depth
            res = validate_result(result_from_llama_bench(obj, "markdown", source_file))
        except (ValueError, TypeError, OverflowError) as exc:
            batch.warnings.append(f"row skipped: {exc}")
            continue
        batch.results.append(res)
    if not batch.results:
        raise BadFileError(source_file or "input", "the llama-bench table has no readable rows.")
    return batch


# --------------------------------------------------------------------------------------------
# ground-truth csv
# --------------------------------------------------------------------------------------------


def result_from_ground_truth(row: dict) -> Result:
    """One ground-truth CSV row, decoded by :func:`rigfit.measure.groundtruth.case_from_row`; the row
    itself is kept verbatim for export."""
    case = case_from_row(row)
    t = case.test
    return Result(
        test=case.test_name,
        tokens_per_s=case.tokens_per_s,
        source="ground truth csv",
        source_url=case.source_url,
        hardware=case.hardware,
        hardware_kind=case.hardware_kind,
        n_devices=case.n_devices,
        backend=case.backend,
        model=case.model,
        model_family=case.model_family,
        params_b=case.params_b,
        quant=case.quant,
        model_size_bytes=int(case.model_size_gib * GIB) if case.model_size_gib is not None else None,
        prompt_tokens=(t.prompt or None) if t else None,
        gen_tokens=(t.gen or None) if t else None,
        depth=t.depth if t else None,
        ngl=case.ngl,
        threads=case.threads,
        flash_attn=case.flash_attn,
        build=row.get("date_or_build") or "",
        build_number=case.build,
        notes=case.notes,
        row={k: (v if v is not None else "") for k, v in row.items() if k is not None},
        dedupe_key=_key("ground truth", [row.get(c, "") for c in GROUND_TRUTH_COLUMNS]),
    )


def parse_ground_truth_csv(path: str | Path) -> ImportBatch:
    """A ground-truth CSV file (read by :func:`rigfit.measure.groundtruth.read_rows`)."""
    header, rows = read_rows(path)
    missing = {"test", "tokens_per_s"} - set(header)
    if missing:
        raise BadFileError(path, f"not a ground-truth CSV (missing {', '.join(sorted(missing))}).")
    batch = ImportBatch("ground truth csv")
    for i, r in enumerate(rows, start=2):  # line 1 is the header
        try:
            res = result_from_ground_truth(r)
            if res.test and res.tokens_per_s is not None:
                validate_result(res, check_test=False)
        except (ValueError, TypeError, OverflowError) as exc:
            batch.warnings.append(f"row {i} skipped: {exc}")
            continue
        if not res.test or res.tokens_per_s is None or not res.hardware:
            # a truncated or blank row: storing it would make a result with no measurement
            batch.warnings.append(f"row {i} skipped (no hardware, test or tokens_per_s)")
            continue
        batch.results.append(res)
    return batch


# --------------------------------------------------------------------------------------------
# detection and the entry points
# --------------------------------------------------------------------------------------------


def detect_format(text: str) -> str:
    """'json' | 'jsonl' | 'csv' (llama-bench) | 'markdown' | 'ground-truth' — or raise ValueError."""
    stripped = text[:1_048_576].lstrip("\ufeff \t\r\n")  # the first MiB decides (never a full copy)
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first = stripped.partition("\n")[0].strip()
        try:
            json.loads(first)
            return "jsonl"
        except (ValueError, RecursionError):  # not one object on the first line: read as JSON
            return "json"
    head = stripped[:65536].splitlines()[:50]
    if any(ln.strip().startswith("|") and "t/s" in ln for ln in head):
        return "markdown"
    header = head[0] if head else ""
    cols = {c.strip().strip('"') for c in header.split(",")}
    if {"avg_ts", "n_prompt"} <= cols:
        return "csv"
    if {"test", "tokens_per_s"} <= cols:
        return "ground-truth"
    raise ValueError("unrecognised format")


_PARSERS = {
    "json": parse_llama_bench_json,
    "jsonl": parse_llama_bench_jsonl,
    "csv": parse_llama_bench_csv,
    "markdown": parse_llama_bench_markdown,
}


#: Formats read one result at a time (:func:`iter_file`), so a 200k-row import holds no list of them.
_LAZY_PARSERS: dict[str, _LazyParser] = {"json": _iter_json, "jsonl": _iter_jsonl, "csv": _iter_csv}


def iter_file(path: str | Path) -> tuple[ImportBatch, Iterator[Result]]:
    """Read one file (any supported format) and parse it lazily: the batch (format set; its build
    and warnings fill in while the iterator runs, its ``results`` stay empty) and the results, one at
    a time. ``rigfit results --import`` streams these into the store, so memory is the file's text
    plus one row, not a list of every row (issue 18, defect 12)."""
    p = Path(path)
    text = read_text_regular(p, "file to import", max_bytes=MAX_IMPORT_BYTES)
    fmt = _detect(p, text)
    if fmt not in _LAZY_PARSERS:
        batch = _parse_text(p, fmt, text)
        results, batch.results = batch.results, []
        return batch, iter(results)
    batch = ImportBatch(f"llama-bench {fmt}")
    return batch, _readable(p, _LAZY_PARSERS[fmt](text, str(p), batch))


def _readable(p: Path, results: Iterator[Result]) -> Iterator[Result]:
    """``results`` with a CSV or nesting error turned into the file's one-line error."""
    try:
        yield from results
    except csv.Error as exc:
        raise BadFileError(p, f"not a readable CSV ({clean_text(exc, 120)}).") from exc
    except RecursionError as exc:
        raise BadFileError(p, "nested too deeply.") from exc


def _detect(p: Path, text: str) -> str:
    try:
        return detect_format(text)
    except ValueError as exc:
        raise BadFileError(
            p,
            "not a format rigfit imports.",
            "Use llama-bench -o json / jsonl / csv / md output, or a ground-truth CSV.",
        ) from exc


def _parse_text(p: Path, fmt: str, text: str) -> ImportBatch:
    try:
        if fmt == "ground-truth":
            return parse_ground_truth_csv(p)
        return _PARSERS[fmt](text, str(p))
    except csv.Error as exc:
        raise BadFileError(p, f"not a readable CSV ({clean_text(exc, 120)}).") from exc
    except RecursionError as exc:
        raise BadFileError(p, "nested too deeply.") from exc


def parse_file(path: str | Path) -> ImportBatch:
    """Read and parse one file in any supported format (detected from its content)."""
    p = Path(path)
    text = read_text_regular(p, "file to import", max_bytes=MAX_IMPORT_BYTES)
    return _parse_text(p, _detect(p, text), text)


def export_rows(results: Iterable[Result]) -> list[dict]:
    """Stored results as ground-truth CSV rows (dicts keyed by GROUND_TRUTH_COLUMNS)."""
    rows = []
    for r in results:
        if r.row is not None:  # an imported ground-truth row: exactly as read
            rows.append({c: r.row.get(c, "") for c in GROUND_TRUTH_COLUMNS})
            continue
        fa = "" if r.flash_attn is None else str(int(r.flash_attn))
        size_gib = r.model_size_bytes / GIB if r.model_size_bytes else None
        rows.append(
            {
                "source_url": r.source_url or "",
                "hardware": r.hardware or "",
                "hardware_kind": r.hardware_kind or "",
                "n_devices": "" if r.n_devices is None else str(r.n_devices),
                "backend": r.backend or "",
                "model": r.model or "",
                "model_family": r.model_family or "",
                "params_b": _num(r.params_b),
                "quant": r.quant or "",
                "model_size_gib": _num(size_gib),
                "test": r.test,
                "prompt_tokens": "" if not r.prompt_tokens else str(r.prompt_tokens),
                "gen_tokens": "" if not r.gen_tokens else str(r.gen_tokens),
                "depth": "" if r.depth is None else str(r.depth),
                "ngl": "" if r.ngl is None else str(r.ngl),
                "threads": "" if r.threads is None else str(r.threads),
                "flash_attn": fa,
                "tokens_per_s": _num(r.tokens_per_s, 6),
                "date_or_build": r.build or "",
                "notes": r.notes or "",
            }
        )
    return rows


def export_csv(
    results: Iterable[Result], path: str | Path, *, force: bool = True, protect: tuple[Path, ...] = ()
) -> int:
    """Write results as a ground-truth CSV, atomically; returns the number of rows written.

    ``force=False`` refuses to replace an existing file; ``protect`` lists files never overwritten
    (the results store). Cells a spreadsheet would run as formulas are neutralised (:func:`csv_safe`).
    """
    rows = export_rows(results)
    with atomic_output(path, "w", force=force, protect=protect, newline="", encoding="utf-8") as fh:
        # the csv module's default CRLF line ends, as in the shared ground-truth file
        writer = csv.DictWriter(fh, fieldnames=list(GROUND_TRUTH_COLUMNS))
        writer.writeheader()
        writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)
    return len(rows)


__all__ = [
    "ImportBatch",
    "detect_format",
    "export_csv",
    "export_rows",
    "family_from_model_type",
    "iter_file",
    "llama_bench_test_name",
    "parse_file",
    "parse_ground_truth_csv",
    "parse_llama_bench_csv",
    "parse_llama_bench_json",
    "parse_llama_bench_jsonl",
    "parse_llama_bench_markdown",
    "quant_from_model_type",
    "result_from_ground_truth",
    "result_from_llama_bench",
]
