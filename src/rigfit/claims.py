"""Check published claims against physics: "8B Q4 at 120 tok/s on an RTX 3060" — possible?

A claim names hardware, a model, a quant, a metric and a value. Each gets a verdict:

* ``impossible`` — it violates a physical bound that no software can beat (below);
* ``implausible`` — within the bounds but outside rigfit's prediction band (p10–p90);
* ``ok`` — within the band (or within the bound when no prediction is available);
* ``unknown`` — the hardware or model could not be resolved (the message says why).

Bounds (single stream, batch 1, one token per pass over the weights — no speculative decoding)::

    decode_tps  ≤ ΣBW_acc / W_tok                                   (all reads at the fastest memory)
    decode_tps  ≤ 1 / ((W_tok − x)/ΣBW_acc + x/BW_host),  x = max(0, W_tok − C_acc)
                                                                    (capacity: what does not fit in
                                                                     accelerator memory is read from
                                                                     host RAM)
    prefill_tps ≤ ΣF_peak / (2 · P_active)                          (compute: 2 FLOPs per weight)
    ttft_s      ≥ max(2 · P_active · n_prompt / ΣF_peak, W_tok / ΣBW_acc)
    memory_gb   ≥ weights bytes (the model must be resident)
    max_ctx     ≤ (C_total − weights) / KV bytes per token (q4_0 KV, the smallest llama.cpp cache)

A decode claim that names a draft model, MTP or speculative decoding (or whose model carries MTP
layers and beats the roofline) is checked against the speculative bound instead: the roofline
times the most tokens per target pass the published acceptance allows
(rigfit.estimate.speculative.check_speculative_decode); above the roofline it "needs speculative
decoding", above the speculative bound it is impossible.

``W_tok`` is the weight bytes read per generated token (MoE: routed top-k share; one row of the
embedding table), from the model's tensor table; ``BW`` the catalog's peak memory bandwidth
(summed over accelerators: tensor-parallel best case); ``F_peak`` the largest dense matrix rate
the catalog lists for the device (INT8 or FP16 tensor). Every bound is generous on purpose, so an
``impossible`` verdict is certain. Hardware spec claims ("a wafer holds 900 GB of SRAM") are
compared with the catalog's looked-up figure: within 15 % ``ok``, within ×2 ``implausible``,
beyond ``impossible`` (contradicts the published spec).

Claim files: CSV with a header ``hardware,model,quant,metric,value`` and optional ``ctx``,
``depth``, ``prompt_tokens``, ``source``, ``text``; or lines of prose ("Llama-3.1-8B Q4_K_M at
120 tok/s on an RTX 3060", "a wafer holds 900 GB of SRAM"), one per line; ``#`` starts a comment.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

from rigfit.catalog.models import get_model, resolve_model
from rigfit.catalog.quant import KV_TYPES, default_file_type
from rigfit.errors import AmbiguousNameError, RigfitError
from rigfit.estimate.bounds import decode_capacity_bound_tps, decode_roofline_tps, prefill_compute_bound_tps
from rigfit.estimate.speculative import check_speculative_decode, mentions_speculative, n_mtp_layers
from rigfit.estimate.speed import ModelWork, model_work
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.figures import Figure
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.names import variant_assumptions
from rigfit.plan import PlanSettings, make_plan
from rigfit.safeio import clean_text

METRICS = ("decode_tps", "prefill_tps", "ttft_s", "memory_gb", "max_ctx")
SPEC_METRICS = ("spec_memory_gb", "spec_bandwidth_gb_s", "spec_fp16_tflops", "spec_tdp_w")
_METRIC_ALIASES = {
    "tg": "decode_tps",
    "decode": "decode_tps",
    "tok/s": "decode_tps",
    "tps": "decode_tps",
    "generation_tps": "decode_tps",
    "pp": "prefill_tps",
    "prefill": "prefill_tps",
    "prompt_tps": "prefill_tps",
    "ttft": "ttft_s",
    "memory": "memory_gb",
    "vram_gb": "memory_gb",
    "context": "max_ctx",
    "ctx": "max_ctx",
    "sram_gb": "spec_memory_gb",
    "spec_memory": "spec_memory_gb",
    "bandwidth_gb_s": "spec_bandwidth_gb_s",
    "fp16_tflops": "spec_fp16_tflops",
    "tdp_w": "spec_tdp_w",
}


def _smallest_kv_bytes() -> float:
    """Bytes per element of the most compact KV-cache type llama.cpp accepts (q4_0: 18 B / 32)."""
    return min(k.bytes_per_element for k in KV_TYPES)


SPEC_OK_REL = 0.15
SPEC_IMPLAUSIBLE_FACTOR = 2.0
#: Words for hardware in prose claims that the catalog spells differently.
_HW_WORDS = {
    "wafer": "Cerebras WSE-3",
    "wafer-scale chip": "Cerebras WSE-3",
    "wse": "Cerebras WSE-3",
    "lpu": "Groq LPU",
}


@dataclass
class Claim:
    """One claim. value is in the metric's unit (tok/s, s, GB (1e9 B), tokens, GB/s, TFLOPS, W)."""

    hardware: str
    metric: str
    value: float
    model: str | None = None
    quant: str | None = None
    ctx: int | None = None
    depth: int = 0
    prompt_tokens: int | None = None
    source: str | None = None
    text: str | None = None
    line: int = 0
    os: str = "unknown"  # ``rigfit check --os``: the driver factor of the prediction (speed/osdriver.py)

    def describe(self) -> str:
        if self.text:
            return self.text
        what = " ".join(x for x in (self.model, self.quant) if x)
        return f"{what} {self.metric}={self.value:g} on {self.hardware}".strip()


@dataclass
class Verdict:
    """The verdict on one claim, with the bound and the arithmetic that gives it."""

    claim: Claim
    verdict: str
    reason: str
    bound: float | None = None
    bound_kind: str | None = None  # "upper" or "lower"
    arithmetic: list[str] = field(default_factory=list)
    predicted: Any = None  # Figure with band, when the speed/memory model is available

    def to_json(self) -> dict:
        c = self.claim
        out = {
            "claim": c.describe(),
            "hardware": c.hardware,
            "model": c.model,
            "quant": c.quant,
            "metric": c.metric,
            "value": c.value,
            "verdict": self.verdict,
            "reason": self.reason,
            "bound": self.bound,
            "bound_kind": self.bound_kind,
            "arithmetic": self.arithmetic,
        }
        if c.source:
            out["source"] = c.source
        if self.predicted is not None:
            out["predicted"] = self.predicted.to_json()
        return out


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------


def normalise_metric(m: str) -> str:
    key = m.strip().lower().replace(" ", "_")
    key = _METRIC_ALIASES.get(key, key)
    if key not in METRICS + SPEC_METRICS:
        raise RigfitError(
            f"Unknown claim metric {m!r}.", "Use one of: " + ", ".join(METRICS + SPEC_METRICS) + "."
        )
    return key


#: Largest token count a claims CSV may give for ctx, depth or prompt_tokens (2^31 − 1, llama.cpp's int32).
MAX_CLAIM_TOKENS = 2**31 - 1


def _tokens_cell(row: dict[str, str], key: str, line: int) -> int:
    """A ctx/depth/prompt_tokens cell as a whole number of tokens (blank → 0); a text, NaN,
    negative or absurd figure is refused with one line."""
    s = (row.get(key) or "").replace(",", "").strip()
    if not s:
        return 0
    try:
        v = float(s) if len(s) <= 40 else math.nan
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and 0 <= v <= MAX_CLAIM_TOKENS):
        raise RigfitError(
            f"line {line}: {key} {clean_text(s, 40)!r} is not a token count (0 to {MAX_CLAIM_TOKENS:,}).",
            f"Write the {key} as a whole number, e.g. 8192.",
        )
    return int(v)


_QUANT_RE = re.compile(r"\b(I?Q\d(?:_[0-9A-Z]+)*|F16|BF16|F32|MXFP4(?:_MOE)?|FP16|FP8)\b", re.I)

# The number patterns below are applied as a tokenizer (issue 18, defect 4): each number token is
# found once by ``finditer`` (which never rescans a token it consumed), and only then is the unit
# after it tried with an anchored ``match``. A plain ``search`` for "number + unit" restarts at every
# digit and rescans the rest of the line, which is quadratic or worse on "1,1,1,…" or "1s 1s …".

#: Longest line a claims file may hold [characters]; a claim is one sentence or one CSV row.
MAX_CLAIM_LINE_CHARS = 4096
#: Largest claims file read [bytes].
MAX_CLAIMS_FILE_BYTES = 16 * 1024 * 1024

#: A number as people write it: sign, thousands separators, decimals, exponent ("-5", "1,200", "1e12").
_NUM_TOKEN = re.compile(r"(?:(?<![\w.])-)?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?")
#: A plain decimal number ("8", "1.5"), as in "8k context" or "350 ms".
_DEC_TOKEN = re.compile(r"\d+(?:\.\d+)?")
_TPS_UNIT = re.compile(r"\s*(?:tok(?:en)?s?\s*/\s*s(?:ec)?|t/s|tps)\b", re.I)
_GB_UNIT = re.compile(r"\s*(?:GB|GiB)\b(?:\s+of)?\s*(SRAM|VRAM|HBM|memory|RAM)?", re.I)
_BW_UNIT = re.compile(r"\s*([GTP])B/s\b", re.I)
_CTX_UNIT = re.compile(r"\s*([kK])?\s*(?:tokens?\s+of\s+)?context", re.I)
_SEC_UNIT = re.compile(r"\s*(ms|s)\b", re.I)
_TTFT_WORD = re.compile(r"first token|ttft", re.I)
_ON_WORD = re.compile(r"\bon\s+(?=\S)", re.I)
_ON_ARTICLE = re.compile(r"(?:an?\s+|one\s+|the\s+|a\s+single\s+|(?:my|our|their|his|her)\s+)(?=.)", re.I)


@dataclass(frozen=True)
class _Hit:
    """A number found with its unit: like ``re.Match`` for the few calls parse_prose makes."""

    start_: int
    groups_: tuple[str | None, ...]

    def start(self) -> int:
        return self.start_

    def group(self, i: int) -> Any:
        """Group ``i`` (1-based), or None when it did not take part: typed like ``re.Match.group``."""
        return self.groups_[i - 1]


def _number_with_unit(text: str, unit: re.Pattern[str], number: re.Pattern[str] = _NUM_TOKEN) -> _Hit | None:
    """The first number token in ``text`` followed by ``unit`` (linear time): group 1 is the
    number, groups 2… the unit's groups."""
    for m in number.finditer(text):
        u = unit.match(text, m.end())
        if u:
            return _Hit(m.start(), (m.group(), *u.groups()))
    return None


def _search_tps(text: str) -> _Hit | None:
    """``120 tok/s``, ``1,200 t/s``, ``55 tps``."""
    return _number_with_unit(text, _TPS_UNIT)


def _search_gb(text: str) -> _Hit | None:
    """``24 GB`` with an optional memory kind (group 2): ``900 GB of SRAM``."""
    return _number_with_unit(text, _GB_UNIT)


def _search_bw(text: str) -> _Hit | None:
    """``3.35 TB/s`` (group 2 is the G/T/P prefix)."""
    return _number_with_unit(text, _BW_UNIT)


def _search_ctx(text: str) -> _Hit | None:
    """``32k context``, ``8192 tokens of context`` (group 2 is the k)."""
    return _number_with_unit(text, _CTX_UNIT, _DEC_TOKEN)


def _search_seconds(text: str) -> _Hit | None:
    """A time to first token: ``350 ms to first token`` or ``TTFT of 0.4 s`` (same sentence).

    Groups 1–2 are number and unit when the number comes first, groups 3–4 when the keyword does;
    the earlier of the two readings wins. Linear: keyword and full-stop positions are found once.
    """
    words = [m.start() for m in _TTFT_WORD.finditer(text)]
    stops = [i for i, ch in enumerate(text) if ch == "."]
    first: _Hit | None = None
    for m in _DEC_TOKEN.finditer(text):
        u = _SEC_UNIT.match(text, m.end())
        if not u:
            continue
        k = bisect.bisect_left(words, u.end())
        d = bisect.bisect_left(stops, u.end())
        if k < len(words) and (d == len(stops) or stops[d] > words[k]):
            first = _Hit(m.start(), (m.group(), u.group(1), None, None))
            break
    for w in _TTFT_WORD.finditer(text):
        if first is not None and w.start() >= first.start():
            break
        digit = _FIRST_DIGIT.search(text, w.end())
        if digit is None:
            break
        num = _DEC_TOKEN.match(text, digit.start())
        unit = _SEC_UNIT.match(text, num.end()) if num else None
        if num and unit:
            return _Hit(w.start(), (None, None, num.group(), unit.group(1)))
    return first


_FIRST_DIGIT = re.compile(r"\d")


def _search_on(text: str) -> str | None:
    """The hardware named after ``on``: "… on an RTX 3060." → ``RTX 3060`` (article and final
    full stop dropped)."""
    m = _ON_WORD.search(text)
    if not m:
        return None
    pos = m.end()
    art = _ON_ARTICLE.match(text, pos)
    if art:
        pos = art.end()
    rest = text[pos:]
    core = rest[:-1] if len(rest) > 1 and rest[-1] in ".!" else rest
    return core.rstrip() or core[:1]


def _claim_number(token: str | None, line: int) -> float:
    """A number token as a float: "1,200" → 1200.0; "1.5.3" is refused with one line."""
    try:
        return float((token or "").replace(",", ""))
    except ValueError:
        raise RigfitError(
            f"line {line}: {clean_text(token, 40)!r} is not a number.",
            "Write the figure as published, e.g. '1,200 tok/s' or '1.5 TB/s'.",
        ) from None


def _check_line_length(line: str, number: int) -> None:
    """Refuse a line longer than MAX_CLAIM_LINE_CHARS (one clear message, exit 2)."""
    if len(line) > MAX_CLAIM_LINE_CHARS:
        raise RigfitError(
            f"line {number}: {len(line):,} characters, longer than a claim can be "
            f"(at most {MAX_CLAIM_LINE_CHARS:,}).",
            "Write one claim per line, or one claim per CSV row.",
        )


def parse_prose(text: str, line: int = 0) -> Claim:
    """Turn one sentence into a Claim (a best effort; CSV rows are exact)."""
    t = text.strip()
    hw = None
    on = _search_on(t)
    if on is not None:
        hw = on.strip()
    low = t.lower()
    m_gb = _search_gb(t)
    # Spec claim: "<hardware> has/holds N GB of SRAM" (no model named)
    if m_gb and m_gb.group(2) and not _search_tps(t) and not _QUANT_RE.search(t):
        head = t[: m_gb.start()]
        head = re.sub(r"\b(has|holds|have|with|packs|carries|offers)\b.*$", "", head, flags=re.I).strip()
        head = re.sub(r"^(a|an|one|the|each)\s+", "", head, flags=re.I).strip()
        hardware = _HW_WORDS.get(head.lower(), head)
        return Claim(
            hardware=hardware or (hw or ""),
            metric="spec_memory_gb",
            value=_claim_number(m_gb.group(1), line),
            text=t,
            line=line,
        )
    m_bw = _search_bw(t)
    if m_bw and not _search_tps(t) and not _QUANT_RE.search(t):
        head = re.sub(
            r"\b(has|holds|have|with|reads|offers|delivers|moves)\b.*$", "", t[: m_bw.start()], flags=re.I
        ).strip()
        head = re.sub(r"^(a|an|one|the|each)\s+", "", head, flags=re.I).strip()
        scale = {"g": 1.0, "t": 1e3, "p": 1e6}[m_bw.group(2).lower()]
        return Claim(
            hardware=_HW_WORDS.get(head.lower(), head),
            metric="spec_bandwidth_gb_s",
            value=_claim_number(m_bw.group(1), line) * scale,
            text=t,
            line=line,
        )
    m_q = _QUANT_RE.search(t)
    quant = m_q.group(1).upper() if m_q else None
    verb = r"(?<!\s)\s+(?:at|runs?|does|uses?|needs?|takes?|requires?)\s+"  # ends the model name
    pre = t[: m_q.start()] if m_q else re.split(verb, t, maxsplit=1)[0]
    model = pre.strip(" ,:-") or None
    metric, value = None, None
    m_s = _search_seconds(t)
    m_tps = _search_tps(t)
    m_ctx = _search_ctx(t)
    if m_s:
        v = float(m_s.group(1) or m_s.group(3))
        unit = (m_s.group(2) or m_s.group(4)).lower()
        metric, value = "ttft_s", v / 1000 if unit == "ms" else v
    elif m_tps:
        value = _claim_number(m_tps.group(1), line)
        metric = "prefill_tps" if re.search(r"prompt|prefill|\bpp\d*", low) else "decode_tps"
    elif m_ctx:
        value = float(m_ctx.group(1)) * (1024 if m_ctx.group(2) else 1)
        metric = "max_ctx"
    elif m_gb:
        metric, value = "memory_gb", _claim_number(m_gb.group(1), line)
    if metric is None or value is None or not hw:
        raise RigfitError(
            f"line {line}: cannot read a claim from {clean_text(t, 80)!r}.",
            "Write e.g. 'Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060', or use the CSV "
            "columns hardware,model,quant,metric,value.",
        )
    if hw:
        hw = re.sub(r"(?<!\s)\s+(with|at|using|in)\s+.*$", "", hw, flags=re.I).strip()
        hw = _HW_WORDS.get(hw.lower(), hw)
    return Claim(hardware=hw, metric=metric, value=value, model=model, quant=quant, text=t, line=line)


def parse_claims(text: str) -> list[Claim]:
    """Parse a claims file: CSV with a ``hardware,…,metric,value`` header, or prose lines.

    Every claimed value must be a finite positive number (a speed, size or time of zero or less
    is a typo, not a claim to check)."""
    claims = _parse_claims(text)
    for c in claims:
        if c.metric != UNREADABLE and not (math.isfinite(c.value) and c.value > 0):
            raise RigfitError(
                f"line {c.line}: the claimed {c.metric} {c.value:g} is not a positive number.",
                "Write the figure as published, e.g. '55 tok/s' or '24 GB'.",
            )
    return claims


def _parse_claims(text: str) -> list[Claim]:
    lines = []
    for number, ln in enumerate(text.splitlines(), start=1):
        _check_line_length(ln, number)
        if ln.strip() and not ln.lstrip().startswith("#"):
            lines.append(ln)
    if not lines:
        return []
    try:
        return _parse_lines(lines)
    except csv.Error as exc:
        raise RigfitError(
            f"The claims CSV cannot be read ({exc}).",
            "Check the quoting: a quoted cell must be closed on the same line.",
        ) from None


def _parse_lines(lines: list[str]) -> list[Claim]:
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    if {"hardware", "metric", "value"} <= set(header):
        out = []
        for i, row in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            try:
                value = float(row["value"].replace(",", ""))
            except ValueError:
                raise RigfitError(
                    f"line {i}: value {clean_text(row['value'], 40)!r} is not a number.",
                    "Write the figure as a plain number, e.g. 55.",
                ) from None
            metric = normalise_metric(row["metric"])
            model = row.get("model") or None
            if metric == "memory_gb" and not model:
                metric = "spec_memory_gb"
            hw = row["hardware"]
            out.append(
                Claim(
                    hardware=_HW_WORDS.get(hw.lower(), hw),
                    metric=metric,
                    value=value,
                    model=model,
                    quant=row.get("quant") or None,
                    ctx=_tokens_cell(row, "ctx", i) or None,
                    depth=_tokens_cell(row, "depth", i),
                    prompt_tokens=_tokens_cell(row, "prompt_tokens", i) or None,
                    source=row.get("source") or None,
                    text=row.get("text") or None,
                    line=i,
                )
            )
        return out
    start = 1 if header and header[0] in ("claim", "text") and len(header) == 1 else 0
    out = []
    first_error: RigfitError | None = None
    for i, ln in enumerate(lines[start:], start=start):
        try:
            out.append(parse_prose(ln, i + 1))
        except RigfitError as exc:  # one unreadable line is reported; the batch goes on
            first_error = first_error or exc
            out.append(Claim(hardware="", metric=UNREADABLE, value=math.nan, text=ln.strip(), line=i + 1))
    if first_error is not None and all(c.metric == UNREADABLE for c in out):
        raise first_error
    return out


#: The metric of a prose line that could not be read: checked as "unknown", the batch goes on.
UNREADABLE = "unreadable"


# ------------------------------------------------------------------------------------------------
# Checking
# ------------------------------------------------------------------------------------------------


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def _gbs(x: float) -> str:
    return f"{x / 1e9:,.0f} GB/s"


def _peak(dev) -> float | None:
    vals = [v for v in (dev.int8_ops, dev.fp16_flops, dev.fp16_fp32acc_flops, dev.fp32_flops) if v]
    return max(vals) if vals else None


def _resolve_machines(name: str) -> list:
    """Candidate machines for a hardware name (several when the name is ambiguous)."""
    try:
        return [resolve_machine(name)]
    except AmbiguousNameError as exc:
        out = []
        for cand in exc.candidates[:6]:
            try:
                out.append(resolve_machine(cand))
            except RigfitError:
                continue
        if not out:
            raise
        return out


#: What a bare size in a blog claim ("8B q4") most likely means: the Llama 3.x of that size.
_GENERIC_SIZES = {
    "1b": "llama-3.2-1b",
    "3b": "llama-3.2-3b",
    "7b": "qwen2.5-7b",
    "8b": "llama-3.1-8b",
    "14b": "qwen2.5-14b",
    "32b": "qwen2.5-32b",
    "70b": "llama-3.1-70b",
    "405b": "llama-3.1-405b",
}
_GENERIC_QUANTS = {
    "q2": "Q2_K",
    "q3": "Q3_K_M",
    "q4": "Q4_K_M",
    "q5": "Q5_K_M",
    "q6": "Q6_K",
    "q8": "Q8_0",
    "int4": "Q4_K_M",
    "int8": "Q8_0",
    "4bit": "Q4_K_M",
    "8bit": "Q8_0",
    "fp16": "F16",
}


def _model_spec(model: str, quant: str | None) -> tuple[Any, list[str]]:
    """(ModelSpec, notes): catalog model at a file type; bare sizes / bit widths read generously."""
    notes: list[str] = []
    key = re.sub(r"[\s-]", "", model.lower())
    if key in _GENERIC_SIZES:
        arch = get_model(_GENERIC_SIZES[key])
        notes.append(f"'{model}' read as {arch.name or arch.id} (a typical model of that size)")
    else:
        arch = _resolve_sized_model(model)
    q = quant or default_file_type(arch.id)  # what `rigfit plan` assumes (MXFP4_MOE for gpt-oss)
    qk = re.sub(r"[\s_-]", "", q.lower())
    if qk in _GENERIC_QUANTS:
        notes.append(f"'{q}' read as {_GENERIC_QUANTS[qk]}")
        q = _GENERIC_QUANTS[qk]
    if not quant:
        notes.append(f"no quant given: {q} assumed (as rigfit plan does)")
    return catalog_model_spec(arch, q), notes


_SIZE_SUFFIX = re.compile(r"[\s-]+(\d+(?:\.\d+)?)\s*[bB]$")


def _resolve_sized_model(model: str):
    """The catalog model a claim names; a trailing parameter count the catalog id leaves out
    ("DeepSeek R1 671B") is dropped and checked against the model's size (within 15 %)."""
    try:
        return resolve_model(model)
    except RigfitError:
        m = _SIZE_SUFFIX.search(model.strip())
        if m is None:
            raise
        arch = resolve_model(model.strip()[: m.start()])
        size = float(m.group(1)) * 1e9
        if not arch.total_params or abs(arch.total_params - size) > 0.15 * size:
            raise
        return arch


def check_claim(claim: Claim) -> Verdict:
    """Verdict on one claim (never raises for a user mistake: returns verdict 'unknown')."""
    if claim.metric == UNREADABLE:
        return Verdict(
            claim,
            "unknown",
            f"line {claim.line}: cannot read a claim from this line (write e.g. 'Llama-3.1-8B Q4_K_M at "
            "55 tok/s on an RTX 3060'); the other lines were checked",
        )
    try:
        machines = _resolve_machines(claim.hardware)
    except RigfitError as exc:
        return Verdict(claim, "unknown", f"hardware: {exc}")
    if claim.metric in SPEC_METRICS:
        return _check_spec(claim, machines)
    if not claim.model:
        return Verdict(claim, "unknown", "no model named")
    try:
        spec, notes = _model_spec(claim.model, claim.quant)
    except (RigfitError, KeyError) as exc:
        return Verdict(claim, "unknown", f"model: {exc}")
    # With several candidate machines (an ambiguous name) keep the most generous verdict.
    verdicts = [_check_model_claim(claim, m, spec) for m in machines]
    order = {"ok": 0, "implausible": 1, "impossible": 2, "unknown": 3}
    best = min(verdicts, key=lambda v: order[v.verdict])
    if len(machines) > 1:
        notes.append(
            f"'{claim.hardware}' is ambiguous; checked "
            + ", ".join(m.name for m in machines)
            + " and kept the most generous"
        )
    if len(machines) == 1:
        notes += variant_assumptions(machines[0].accelerators)
    best.arithmetic[:0] = notes
    return best


def _acc(machine):
    """(accelerator devices, capacity [B], bandwidth [B/s]); CPU-only boxes use host RAM."""
    accs = [d for d in machine.accelerators if d.bandwidth_bytes_per_s]
    if accs:
        cap = sum(d.memory_bytes or 0 for d in accs)
        if machine.unified_memory and machine.ram_bytes:
            cap = max(cap, machine.ram_bytes)
        return accs, cap, sum(d.bandwidth_bytes_per_s for d in accs)
    return [], machine.ram_bytes or 0, machine.ram_bandwidth_bytes_per_s or 0.0


def _host_bw(machine) -> float | None:
    """Fastest path to weights kept in host RAM [B/s]: the CPU reading its own RAM, or the GPU
    streaming over its host link — whichever is faster. None when the host RAM is not described
    (then no capacity bound is claimed: the roofline stays the bound)."""
    if not machine.ram_bandwidth_bytes_per_s:
        return None
    vals = [
        machine.ram_bandwidth_bytes_per_s,
        machine.host_link.bandwidth_bytes_per_s if machine.host_link else 0.0,
    ]
    return max(vals)


@dataclass
class _ModelCheck:
    """A model claim being checked: the model's per-token work, the machine's figures, and the
    arithmetic shown so far."""

    claim: Claim
    machine: Any
    spec: Any
    work: ModelWork
    accs: list
    cap: float
    bw: float
    host_bw: float | None
    ar: list[str]

    @property
    def peaks(self) -> list[float]:
        """Matrix peaks of the accelerators (else the CPU) [op/s]."""
        devs = self.accs or ([self.machine.cpu] if self.machine.cpu else [])
        return [p for p in (_peak(d) for d in devs) if p]


def _check_decode(c: _ModelCheck) -> Verdict:
    w_tok, bw, cap, host_bw, ar = c.work.bytes_per_token, c.bw, c.cap, c.host_bw, c.ar
    bound = decode_roofline_tps(w_tok, bw)
    ar.append(
        f"roofline: {_gbs(bw)} / {_gb(w_tok)} per token = {bound:,.1f} tok/s "
        "(every byte at peak bandwidth, batch 1, no speculative decoding)"
    )
    if c.accs and w_tok > cap:
        if host_bw:
            b2 = decode_capacity_bound_tps(w_tok, cap, bw, host_bw)
            x = w_tok - cap
            ar.append(
                f"capacity: only {_gb(cap)} fits in accelerator memory; ≥ {_gb(x)} per token "
                f"comes from host at ≤ {_gbs(host_bw)}: 1 / ({_gb(cap)}/{_gbs(bw)} + "
                f"{_gb(x)}/{_gbs(host_bw)}) = {b2:,.1f} tok/s"
            )
            bound = min(bound, b2)
        else:
            ar.append(
                f"capacity: {_gb(w_tok)} read per token > {_gb(cap)} of accelerator memory; "
                "host RAM not described, so the roofline above stays the (generous) bound — "
                "describe the host (e.g. '+ 64GB DDR5-6000') for a tighter one"
            )
    claim = c.claim
    has_mtp = n_mtp_layers(c.spec) > 0
    if mentions_speculative(claim.text, claim.model, claim.source) or (has_mtp and claim.value > bound):
        # speculative decoding / MTP: checked against its own bound (estimate/speculative.py)
        pred = _predict(claim, c.machine, c.spec, "decode")
        sc = check_speculative_decode(claim.value, bound, pred, has_mtp)
        v_sc = Verdict(claim, sc.verdict, sc.reason, sc.bound, "upper", ar + sc.arithmetic, pred)
        return _beyond_all_memory(c, v_sc)
    return _beyond_all_memory(
        c, _finish(claim, bound, "upper", ar, _predict(claim, c.machine, c.spec, "decode"))
    )


def _beyond_all_memory(c: _ModelCheck, v: Verdict) -> Verdict:
    """An "ok" speed claim for a model whose weights exceed all of the machine's memory becomes
    "implausible": the rest would be re-read from storage every few tokens (llama.cpp mmap), which
    the memory roofline above does not bound (e.g. gpt-oss-120b, 63 GB, at 20 tok/s on a 16 GB Mac)."""
    total = c.work.total_bytes
    machine = c.machine
    total_mem = c.cap + ((machine.ram_bytes or 0) if c.accs and not machine.unified_memory else 0)
    ram_unknown = bool(c.accs) and not machine.unified_memory and not machine.ram_bytes
    if v.verdict != "ok" or ram_unknown or not total_mem or total <= total_mem:
        return v  # (host RAM not described: the model may still fit in it)
    v.arithmetic.append(
        f"memory: the weights ({_gb(total)}) exceed all of the machine's memory ({_gb(total_mem)}, "
        "accelerators + host RAM): the rest streams from storage"
    )
    v.verdict = "implausible"
    v.reason = (
        f"the weights ({_gb(total)}) do not fit in the machine's {_gb(total_mem)} of memory: "
        "rigfit plans no such run, and storage, not memory bandwidth, would bound it"
    )
    return v


def _check_prefill(c: _ModelCheck) -> Verdict:
    peaks = c.peaks
    if not peaks:
        return Verdict(c.claim, "unknown", "no peak FLOPS known for this hardware", arithmetic=c.ar)
    peak = sum(peaks)
    p_act = c.work.active_params
    bound = prefill_compute_bound_tps(p_act, peak)
    c.ar.append(
        f"compute: {peak / 1e12:,.0f} T op/s peak (the fastest matrix rate listed, INT8 or FP16: "
        f"quantized matmuls may use INT8) / (2 × {p_act / 1e9:,.2f} B active params) "
        f"= {bound:,.0f} tok/s"
    )
    return _finish(c.claim, bound, "upper", c.ar, _predict(c.claim, c.machine, c.spec, "prefill"))


def _check_ttft(c: _ModelCheck) -> Verdict:
    claim, work, ar = c.claim, c.work, c.ar
    n = claim.prompt_tokens or 1
    peaks = c.peaks
    t_mem = work.bytes_per_token / c.bw
    t_cmp = 2 * work.active_params * n / sum(peaks) if peaks else 0.0
    bound = max(t_mem, t_cmp)
    ar.append(
        f"one pass over the weights: {_gb(work.bytes_per_token)} / {_gbs(c.bw)} = {t_mem * 1000:,.1f} ms"
    )
    if peaks:
        ar.append(
            f"compute for {n} prompt tokens: 2 × {work.active_params / 1e9:,.2f} B × {n} / "
            f"{sum(peaks) / 1e12:,.0f} T op/s (fastest of INT8/FP16) = {t_cmp * 1000:,.1f} ms"
        )
    if not claim.prompt_tokens:
        ar.append("prompt length not given: bound for a 1-token prompt")
    return _finish(claim, bound, "lower", ar, _predict(claim, c.machine, c.spec, "ttft"))


def _check_memory(c: _ModelCheck) -> Verdict:
    total = c.work.total_bytes
    bound = total / 1e9
    c.ar.append(
        f"the weights alone are {_gb(total)} = {total / 2**30:,.2f} GiB; "
        "a claim in GB is also read as GiB (the generous reading)"
    )
    pred = _predict(c.claim, c.machine, c.spec, "memory")
    return _finish(c.claim, bound / 1.073741824, "lower", c.ar, pred)


def _check_max_ctx(c: _ModelCheck) -> Verdict:
    claim, work, machine, ar = c.claim, c.work, c.machine, c.ar
    total = work.total_bytes
    kv_bytes = _smallest_kv_bytes()
    kv_tok = work.kv_bytes_per_token(kv_bytes)
    total_mem = c.cap + ((machine.ram_bytes or 0) if c.accs and not machine.unified_memory else 0)
    free = total_mem - total
    ar.append(f"memory: {_gb(total_mem)} (accelerators + host RAM) − weights {_gb(total)} = {_gb(free)}")
    if kv_tok <= 0:
        return _finish(claim, math.inf, "upper", [*ar, "no KV cache per token (recurrent model)"], None)
    bound = max(free, 0) / kv_tok
    ar.append(
        f"KV cache at q4_0 (llama.cpp's smallest cache type): {kv_tok / 1e3:,.1f} kB per token "
        f"→ ≤ {bound:,.0f} tokens"
    )
    if any(w for w in work.layer_window):
        full_kv = (
            sum(e for e, w in zip(work.layer_kv_elems, work.layer_window, strict=True) if not w) * kv_bytes
        )
        swa = sum(e * w for e, w in zip(work.layer_kv_elems, work.layer_window, strict=True) if w) * kv_bytes
        bound = (max(free, 0) - swa) / full_kv if full_kv > 0 else math.inf
        ar[-1] = (
            f"KV cache at q4_0: {full_kv / 1e3:,.1f} kB per token in full-attention layers + "
            f"{_gb(swa)} for the sliding windows → ≤ {bound:,.0f} tokens"
        )
    v_ = _finish(claim, bound, "upper", ar, None)
    n_train = c.spec.arch.n_ctx_train
    if v_.verdict == "ok" and n_train and claim.value > n_train:
        v_.verdict = "implausible"
        v_.reason = f"{claim.value:,.0f} tokens is beyond the model's trained context of {n_train:,}"
    return v_


#: The check of each model metric.
_MODEL_CHECKS = {
    "decode_tps": _check_decode,
    "prefill_tps": _check_prefill,
    "ttft_s": _check_ttft,
    "memory_gb": _check_memory,
    "max_ctx": _check_max_ctx,
}


def _check_model_claim(claim: Claim, machine, spec) -> Verdict:
    work = model_work(spec)
    w_tok = work.bytes_per_token
    total = work.total_bytes
    accs, cap, bw = _acc(machine)
    host_bw = _host_bw(machine) if accs else None
    name = f"{spec.arch.name or spec.arch.id} {spec.file_type or ''}".strip()
    ar: list[str] = [
        f"model: {name}: weights {_gb(total)}, read per token {_gb(w_tok)}"
        + (" (routed experts: top-k share only)" if work.n_expert else "")
    ]
    if accs:
        where = ", ".join(
            f"{d.name} {_gbs(d.bandwidth_bytes_per_s)} / {_gb(d.memory_bytes or 0)}" for d in accs
        )
    else:
        where = f"host RAM {_gbs(bw)} / {_gb(cap)}"
    ar.append(f"hardware: {machine.name}: {where}")
    if not bw:
        return Verdict(claim, "unknown", f"no memory bandwidth known for {machine.name}", arithmetic=ar)
    check = _MODEL_CHECKS.get(claim.metric)
    if check is None:
        return Verdict(claim, "unknown", f"metric {claim.metric} not checkable")
    return check(_ModelCheck(claim, machine, spec, work, accs, cap, bw, host_bw, ar))


def _predict(claim: Claim, machine, spec, kind: str):
    """rigfit's own prediction (Figure with band) for the claim, or None when unavailable.

    Speed: the planner's speed estimate with llama.cpp defaults (decode at depth 0, or at the
    claim's depth). Memory: the planned total over all devices, with a band of ±20 % of the
    compute buffers and overheads (the planner's stated uncertainty) and ±3 % of the weights
    (tensor sizes predicted from llama.cpp's quantization rules).
    """
    try:
        depth = claim.depth or 0
        ctx = claim.ctx or (depth if depth else 4096)
        prompt = claim.prompt_tokens or 512
        settings = PlanSettings(n_ctx=max(ctx, prompt), prompt_tokens=prompt, os=claim.os)
        plan = make_plan(spec, machine, settings)
        if kind == "memory":
            tot = float(sum(d.total_bytes for d in plan.devices))
            soft = float(sum(d.compute_bytes + d.overhead_bytes for d in plan.devices))
            slack = 0.2 * soft + 0.03 * plan.weights_bytes
            return Figure(  # GB = 1e9 B
                tot / 1e9,
                "GB",
                "estimated",
                "rigfit memory plan (all devices)",
                (tot - slack) / 1e9,
                (tot + slack) / 1e9,
            )
        sp = plan.speed
        if sp is None:
            return None
        if kind == "decode":
            return sp.decode_tps_ctx if depth else sp.decode_tps
        if kind == "prefill":
            return sp.prefill_tps
        if kind == "ttft":
            return sp.ttft_s
    except RigfitError:  # the prediction is an extra; the bound stands without it
        return None
    return None


def _finish(claim: Claim, bound: float, kind: str, ar: list[str], predicted) -> Verdict:
    v = claim.value
    unit = {
        "decode_tps": "tok/s",
        "prefill_tps": "tok/s",
        "ttft_s": "s",
        "memory_gb": "GB",
        "max_ctx": "tokens",
    }[claim.metric]
    if (kind == "upper" and v > bound) or (kind == "lower" and v < bound):
        rel = v / bound if bound else math.inf
        word = "above" if kind == "upper" else "below"
        return Verdict(
            claim,
            "impossible",
            f"{v:,.4g} {unit} is {word} the physical bound {bound:,.4g} {unit} (×{rel:,.2f})",
            bound,
            kind,
            ar,
            predicted,
        )
    if predicted is not None and getattr(predicted, "value", None) is not None:
        lo, hi = predicted.low, predicted.high
        if lo is not None and hi is not None:
            ar.append(
                f"rigfit predicts {predicted.value:,.4g} {unit} (band {lo:,.4g}–{hi:,.4g}, "
                f"{predicted.provenance})"
            )
            if v > hi or v < lo:
                side = "above" if v > hi else "below"
                return Verdict(
                    claim,
                    "implausible",
                    f"{v:,.4g} {unit} is within the physical bound {bound:,.4g} but {side} the "
                    f"predicted band {lo:,.4g}–{hi:,.4g}",
                    bound,
                    kind,
                    ar,
                    predicted,
                )
            return Verdict(
                claim,
                "ok",
                f"within the bound {bound:,.4g} {unit} and the predicted band",
                bound,
                kind,
                ar,
                predicted,
            )
    return Verdict(
        claim,
        "ok",
        f"within the physical bound {bound:,.4g} {unit} (no prediction band)",
        bound,
        kind,
        ar,
        predicted,
    )


_SPEC_FIELDS = {
    "spec_memory_gb": ("memory_bytes", 1e9, "GB", "memory"),
    "spec_bandwidth_gb_s": ("bandwidth_bytes_per_s", 1e9, "GB/s", "memory bandwidth"),
    "spec_fp16_tflops": ("fp16_flops", 1e12, "TFLOPS", "FP16 throughput"),
    "spec_tdp_w": ("tdp_w", 1.0, "W", "power"),
}


def _n(v: float) -> str:
    """A number for a sentence: thousands separators above 1,000, 4 significant digits below."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _check_spec(claim: Claim, machines: list) -> Verdict:
    attr, scale, unit, what = _SPEC_FIELDS[claim.metric]
    machine = machines[0]
    devs = list(machine.accelerators) or ([machine.cpu] if machine.cpu else [])
    if not devs:
        return Verdict(claim, "unknown", f"no device in {machine.name}")
    dev = devs[0]
    cat = getattr(dev, attr, None)
    if cat is None:
        return Verdict(claim, "unknown", f"the catalog has no {what} figure for {dev.name}")
    cat_v = cat / scale
    src = (dev.sources or {}).get(attr) or (dev.sources or {}).get(attr.replace("_bytes", "")) or "catalog"
    ratio = claim.value / cat_v if cat_v else math.inf
    ar = [
        f"catalog: {dev.name} {what} = {_n(cat_v)} {unit} (looked up: {src})",
        f"claim {_n(claim.value)} {unit} = {ratio:,.3g} × the catalog figure",
    ]
    if abs(ratio - 1) <= SPEC_OK_REL:
        return Verdict(claim, "ok", f"matches the published {what} ({_n(cat_v)} {unit})", cat_v, "equal", ar)
    if 1 / SPEC_IMPLAUSIBLE_FACTOR <= ratio <= SPEC_IMPLAUSIBLE_FACTOR:
        return Verdict(
            claim,
            "implausible",
            f"differs from the published {what} {_n(cat_v)} {unit} by {abs(ratio - 1) * 100:,.0f} %",
            cat_v,
            "equal",
            ar,
        )
    return Verdict(
        claim,
        "impossible",
        f"contradicts the published {what}: {_n(cat_v)} {unit}, not {_n(claim.value)} {unit} (×{ratio:,.3g})",
        cat_v,
        "equal",
        ar,
    )


def check_claims(claims: list[Claim]) -> list[Verdict]:
    return [check_claim(c) for c in claims]
