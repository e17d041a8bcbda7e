"""Validation of user input shared by the CLI, the library API and every engine.

One function per kind of input, so the CLI (``rigfit plan --ctx``, ``rigfit floor --ctx``,
``rigfit recommend --min-ctx``), the planner and the memory model refuse the same values with
the same one-line message; :data:`RANGES` and :data:`CASE_RANGES` document the sane range of
every numeric input (issue 18).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rigfit.errors import RigfitError


def check_ctx(n_ctx: int | None, *, flag: str = "--ctx", minimum: int = 0) -> None:
    """Refuse a context below ``minimum`` [tokens] (None = the default, always accepted).

    ``minimum`` 0 is the planner's rule (0 means the model's training context); commands that
    search over contexts (floor, recommend, report) ask for at least 256 tokens, the step of
    their search.
    """
    if n_ctx is None or n_ctx >= minimum:
        return
    if minimum <= 0:
        raise RigfitError(f"{flag} must be ≥ 0 (0 = the model's training context), got {n_ctx}.")
    raise RigfitError(f"{flag} must be at least {minimum} tokens.")


#: ``--os`` help, the same words in ``rigfit plan``, ``check`` and ``predict``.
OS_HELP = (
    "Operating system the speed is for: windows | linux | macos | unknown (default: no driver "
    "factor, wider speed bands). Intel Arc runs 2-3x slower on Linux (Mesa) than on Windows."
)


def check_os(os: str | None, *, flag: str = "--os") -> str:
    """``--os`` text → the speed model's OS name (:data:`rigfit.estimate.speed.osdriver.OS_CHOICES`;
    empty = 'unknown'), the driver factor of :mod:`rigfit.estimate.speed.osdriver`."""
    from rigfit.estimate.speed.osdriver import OS_CHOICES  # lazy: numpy behind it

    os_name = (os or "unknown").strip().lower()
    if os_name not in OS_CHOICES:
        raise RigfitError(f"{flag} must be one of {', '.join(OS_CHOICES)}, got {os!r}.", "e.g. --os linux")
    return os_name


# ------------------------------------------------------------------------------------------------
# Sane ranges of every numeric input (issue 18, defect 2)
# ------------------------------------------------------------------------------------------------
#
# Every number a user can type (a CLI option, a column of a ``predict`` cases CSV) has a range
# here. Inside it rigfit runs in bounded time and memory; outside it the input is refused with
# one line (exit 2 on the command line, "unresolved: …" for a row of a batch). The bounds are
# generous: each sits above the largest real value it can describe, so no real setup is refused.

#: Most tokens in one context, prompt, generation or depth [tokens]: 2^24 = 16,777,216, above the
#: longest context an open-weight model is published with (Llama 4 Scout, 10M tokens:
#: https://huggingface.co/meta-llama/Llama-4-Scout-17B-16E-Instruct). Speed features grow with one
#: entry per 512-token chunk, so this also bounds their memory (32,768 chunks).
MAX_TOKENS = 2**24
#: Most devices in one machine [count]: the machine-description grammar's limit (rigfit models one
#: machine; the largest NVLink domain, GB200 NVL72, has 72 GPUs: https://www.nvidia.com/en-us/data-center/gb200-nvl72/).
MAX_DEVICES = 1024
#: Most CPU threads [count]: two AMD EPYC 9965 sockets have 2 × 384 = 768 hardware threads
#: (https://www.amd.com/en/products/processors/server/epyc/9005-series/amd-epyc-9965.html).
MAX_THREADS = 4096
#: Most layers an -ngl can name: llama.cpp treats any count above the model's layers as "all";
#: 999 is the customary spelling, 10^6 leaves room for any model.
MAX_NGL = 1_000_000
#: Longest hardware or model name [characters]: the longest catalog name is under 100; a
#: description of a whole machine ("2x RTX 3090 + Ryzen 9 7950X + 128GB DDR5-6000") under 200.
MAX_NAME_CHARS = 256


@dataclass(frozen=True)
class Range:
    """The accepted values of one numeric input: ``low`` ≤ x ≤ ``high`` (exclusive where marked),
    always finite; ``unit`` and ``why`` go into the refusal."""

    low: float
    high: float
    unit: str
    why: str
    low_exclusive: bool = False
    integer: bool = False

    def describe(self) -> str:
        lo = f"> {_fmt(self.low)}" if self.low_exclusive else f"{_fmt(self.low)}"
        if self.low_exclusive:
            return f"{lo} and ≤ {_fmt(self.high)} {self.unit}".rstrip()
        return f"{lo} to {_fmt(self.high)} {self.unit}".rstrip()

    def contains(self, value: float) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return False
        if self.integer and value != int(value):
            return False
        if value > self.high:
            return False
        return value > self.low if self.low_exclusive else value >= self.low


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


_TOKENS = Range(0, MAX_TOKENS, "tokens", "the longest published context is 10M tokens", integer=True)
_TOKENS1 = Range(1, MAX_TOKENS, "tokens", "the longest published context is 10M tokens", integer=True)
_USD = Range(0, 1e9, "USD", "a billion dollars is beyond any one machine")

#: Option flag → its range. The CLI applies these to every command that has the option
#: (rigfit.cli.app), so a flag means the same range everywhere.
RANGES: dict[str, Range] = {
    "--ctx": _TOKENS,
    "--min-ctx": _TOKENS,
    "--prompt": _TOKENS1,
    "--gen": _TOKENS1,
    "--depth": _TOKENS,
    "--ubatch": Range(
        1, 65536, "tokens", "llama.cpp's -ub is at most -b; 65,536 is beyond any used", integer=True
    ),
    "--parallel": Range(
        1, 4096, "slots", "llama-server -np; thousands of slots is beyond any machine", integer=True
    ),
    "--n-cpu-moe": Range(0, 65536, "layers", "a layer count", integer=True),
    "--ngl": Range(0, MAX_NGL, "layers", "999 means all layers", integer=True),
    "--threads": Range(1, MAX_THREADS, "threads", "two EPYC 9965 sockets have 768", integer=True),
    "--repeat": Range(1, 1000, "runs", "a thousand repetitions is hours of llama.cpp", integer=True),
    "--timeout": Range(0, 7 * 86400, "s", "a week", low_exclusive=True),
    "--limit": Range(0, 10**9, "rows", "a billion rows", integer=True),
    "--gpu-memory-utilization": Range(
        0, 1, "(fraction)", "vLLM claims this share of GPU memory", low_exclusive=True
    ),
    "--min-tps": Range(0, 1e7, "tok/s", "the fastest hosted decode is under 10^5 tok/s", low_exclusive=True),
    "--max-quality-loss": Range(0, 100, "nats", "a mean KL divergence; F16 vs Q2 is under 1 nat"),
    "--hours-per-day": Range(0, 24, "hours", "a day has 24"),
    "--tokens-per-day": Range(0, 1e15, "tokens", "10^15 tokens a day is beyond any one machine"),
    "--electricity-usd-per-kwh": Range(0, 100, "USD/kWh", "retail power costs under 1 USD/kWh"),
    "--hardware-usd": _USD,
    "--budget-usd": _USD,
    "--hosted-monthly-usd": _USD,
    "--amortize-months": Range(0, 1200, "months", "a century", low_exclusive=True),
    "--images": Range(0, 10_000, "images", "ten thousand images is millions of prompt tokens", integer=True),
}

#: Columns of a ``predict`` cases CSV → their range (a row outside it is reported, not predicted).
CASE_RANGES: dict[str, Range] = {
    "n_devices": Range(1, MAX_DEVICES, "devices", "rigfit models one machine", integer=True),
    "prompt_tokens": _TOKENS,
    "gen_tokens": _TOKENS,
    # a depth costs no per-chunk work (only the prompt is chunked), so any llama.cpp n_ctx (int32) is
    # accepted and an impossible one is reported as "does not fit"
    "depth": Range(0, 2**31 - 1, "tokens", "llama.cpp's n_ctx is an int32", integer=True),
    "ngl": RANGES["--ngl"],
    "threads": RANGES["--threads"],
}


def range_problem(value: object, rng: Range, name: str) -> str | None:
    """None when ``value`` is within ``rng``, else the one-line reason ("--prompt must be 1 to
    16,777,216 tokens (…), got 9223372036854775807.")."""
    if isinstance(value, int | float) and not isinstance(value, bool) and rng.contains(value):
        return None
    shown = value if not isinstance(value, str) else repr(value[:40])
    whole = "a whole number, " if rng.integer else ""
    return f"{name} must be {whole}{rng.describe()} ({rng.why}), got {shown}."


def check_range(value: float | None, flag: str) -> None:
    """Refuse ``value`` for option ``flag`` when outside RANGES[flag] (None = not given)."""
    rng = RANGES.get(flag)
    if value is None or rng is None:
        return
    problem = range_problem(value, rng, flag)
    if problem:
        raise RigfitError(problem)


def check_name_length(text: str, what: str = "name", max_chars: int = MAX_NAME_CHARS) -> None:
    """Refuse a hardware/model name longer than ``max_chars`` before any fuzzy matching runs
    (matching time grows with the name; a 10 KB name took 13–19 s)."""
    if len(text) > max_chars:
        raise RigfitError(
            f"The {what} is {len(text):,} characters long; at most {max_chars} are read.",
            f"Give a shorter {what}, e.g. 'RTX 4090' or '2x RTX 3090 + 64GB DDR4-3200'.",
        )
