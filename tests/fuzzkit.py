"""Hostile-input generators shared by the fuzz tests (tests/hardening/test_fuzz.py, hypothesis,
small counts) and the fuzz benchmark (benchmarks/fuzz_all.py, ≥ 10,000 cases per kind).

Each input kind has a builder ``build(rng, tmp) -> (args, stdin)``: it writes its files under
``tmp`` and returns the rigfit command line that reads them. :func:`run_case` runs the command
in-process through Typer's CliRunner (no subprocess: ~100× faster) and :func:`problem` says what
is wrong with the outcome, or None. The rule (issue 18): exit code 0 or 2, no traceback, and a
refusal is exactly one line on stderr.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from rigfit.cli import _load_commands
from rigfit.cli.app import app

_load_commands([])
_RUNNER = CliRunner()
DATA = Path(__file__).resolve().parent / "data"

#: Values that broke rigfit before (issue 18) or sit on an edge: numbers, markup, control codes.
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1",
    "2",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-1e400",
    "1e308",
    "9223372036854775807",
    "18446744073709551616",
    "2147483648",
    "4294967295",
    "1e-400",
    "0.5",
    "9" * 5000,
    "1,1," * 50,
    "1s " * 40,
    "abc",
    "[/]",
    "[/bold]",
    "[link=http://x]x[/link]",
    "\x1b[2J",
    "\x1b]8;;http://x\x07x\x1b]8;;\x07",
    "\x00",
    "\x7f",
    "\ufeff",
    "\u202e",
    "'",
    '"',
    ",",
    ";",
    "|",
    "\t",
    '=HYPERLINK("http://x")',
    "+1",
    "@x",
    "../../../../etc/passwd",
    "/dev/zero",
    "A" * 10_000,
    "x" * 300,
    "RTX 4090",
    "1000000000x RTX 4090",
    "99999x RTX 4090",
    " + ".join(["RTX 4090"] * 50),
    "llama-3.1-8b",
    "Q4_K_M",
    "pp512",
    "tg128",
    "pp512@d4096",
    "pp-512",
    "[null]",
    "{}",
    "[]",
    "true",
    "null",
]
_EDGE_INTS = [0, 1, 2, 255, 2**16 - 1, 2**31, 2**32 - 1, 2**32, 2**60, 2**63, 2**64 - 1]


@dataclass
class Outcome:
    exit_code: int
    stderr: str
    output: str
    exception: BaseException | None


def run_case(args: list[str], stdin: str | None = None, env: dict[str, str] | None = None) -> Outcome:
    """Run ``rigfit ARGS`` in-process and capture what a user would see."""
    r = _RUNNER.invoke(app, args, input=stdin, env=env)
    exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
    return Outcome(r.exit_code, r.stderr, r.output, exc)


def problem(o: Outcome) -> str | None:
    """What breaks the rule in an outcome (None: fine)."""
    if o.exception is not None:
        return f"traceback: {type(o.exception).__name__}: {str(o.exception)[:120]}"
    if "Traceback (most recent call last)" in o.output:
        return "traceback text in the output"
    if o.exit_code not in (0, 2):
        return f"exit code {o.exit_code}"
    if o.exit_code == 2:
        lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
        if len(lines) != 1:
            return f"{len(lines)} lines on stderr for a refusal: {o.stderr[:200]!r}"
    if "\x1b" in o.output:
        return "a raw escape sequence reached the terminal"
    return None


# ------------------------------------------------------------------------------------------------
# mutation helpers
# ------------------------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, n_max: int = 4) -> bytes:
    """Flip bytes, overwrite 4/8-byte words with edge values, truncate, insert or delete."""
    b = bytearray(data)
    for _ in range(rng.randint(1, n_max)):
        if len(b) < 16:
            break
        p = rng.randrange(len(b) - 8)
        op = rng.random()
        if op < 0.35:
            b[p] = rng.randrange(256)
        elif op < 0.6:
            b[p : p + 8] = struct.pack("<Q", rng.choice(_EDGE_INTS) % 2**64)
        elif op < 0.75:
            b[p : p + 4] = struct.pack("<I", rng.choice(_EDGE_INTS) % 2**32)
        elif op < 0.85:
            del b[rng.randrange(p, len(b)) :]
        elif op < 0.93:
            b[p:p] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            del b[p : p + rng.randint(1, 16)]
    return bytes(b)


def mutate_text(rng: random.Random, text: str, n_max: int = 4) -> str:
    """Replace spans or cells of ``text`` with NASTY values (keeps most of the structure)."""
    s = text
    for _ in range(rng.randint(1, n_max)):
        if not s:
            s = rng.choice(NASTY)
            continue
        p = rng.randrange(len(s))
        q = min(len(s), p + rng.randint(0, 12))
        s = s[:p] + rng.choice(NASTY) + s[q:]
    return s


# ------------------------------------------------------------------------------------------------
# builders, one per input kind
# ------------------------------------------------------------------------------------------------

_BASES: dict[str, bytes] = {}


def _gguf_base() -> bytes:
    if "gguf" not in _BASES:
        import tempfile

        from synth import write_llama

        with tempfile.TemporaryDirectory() as d:
            _BASES["gguf"] = write_llama(
                Path(d) / "m.gguf", n_layer=2, n_embd=64, n_head=4, n_head_kv=2, n_ff=128, n_vocab=300
            ).path.read_bytes()
    return _BASES["gguf"]


def build_gguf(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """A synthetic llama GGUF with its header mutated; ``inspect`` (sometimes ``--json``)."""
    base = _gguf_base()
    head = min(len(base), 16384)
    data = mutate_bytes(rng, base[:head]) + base[head:]
    f = tmp / "m.gguf"
    f.write_bytes(data)
    return (["inspect", str(f)] + (["--json"] if rng.random() < 0.3 else [])), None


LLAMA_CONFIG = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 512,
    "vocab_size": 1000,
    "max_position_embeddings": 4096,
    "rope_theta": 500000.0,
    "torch_dtype": "bfloat16",
    "tie_word_embeddings": False,
}
_CONFIG_KEYS = [
    *LLAMA_CONFIG,
    "head_dim",
    "sliding_window",
    "partial_rotary_factor",
    "kv_lora_rank",
    "num_local_experts",
    "num_experts_per_tok",
    "text_config",
    "layer_types",
    "moe_intermediate_size",
    "q_lora_rank",
    "qk_rope_head_dim",
]
_MODEL_TYPES = [
    "llama",
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "mixtral",
    "gemma3",
    "deepseek_v3",
    "mamba2",
    "phi3",
    "gpt_oss",
    "x",
    "",
]


def _json_value(rng: random.Random) -> object:
    r = rng.random()
    if r < 0.3:
        return rng.choice([0, 1, -1, 2**31, 2**62, 2**70, 7, 64, 4096])
    if r < 0.45:
        return rng.choice([0.5, 1e30, -2.5, 1e-9])
    if r < 0.6:
        return rng.choice(NASTY)
    if r < 0.7:
        return rng.choice([True, False, None])
    if r < 0.8:
        return [rng.randint(-2, 5) for _ in range(rng.randint(0, 4))]
    if r < 0.9:
        return {"a": rng.randint(0, 3)}
    return {"model_type": rng.choice(_MODEL_TYPES), "num_hidden_layers": rng.randint(0, 3)}


def _config_text(rng: random.Random) -> str:
    cfg = dict(LLAMA_CONFIG)
    cfg["model_type"] = rng.choice(_MODEL_TYPES[:-2])
    for _ in range(rng.randint(1, 4)):
        cfg[rng.choice(_CONFIG_KEYS)] = _json_value(rng)
    text = json.dumps(cfg)
    r = rng.random()
    if r < 0.1:
        text = text.replace("1e+30", "1e400").replace("4096", "9" * 5000)
    elif r < 0.2:
        text = mutate_text(rng, text, 2)
    elif r < 0.25:
        text = '{"a":' * 50000 + "1" + "}" * 50000
    return text


def build_hf_config(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """A HF folder whose config.json has wrong kinds of values; ``inspect`` or ``plan``."""
    d = tmp / "hf"
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(_config_text(rng), encoding="utf-8", errors="surrogatepass")
    if rng.random() < 0.2:
        return ["plan", str(d), "--on", "RTX 4090"], None
    return ["inspect", str(d)], None


_DTYPES = ["F32", "F16", "BF16", "I8", "F8_E4M3", "X", ["F32"], 5, None]


def build_safetensors(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """A HF folder with a good config and hostile safetensors headers / index; ``inspect``."""
    d = tmp / "st"
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    off = 0
    for i in range(rng.randint(1, 4)):
        n = rng.choice([4, 16, 64])
        header[f"model.layers.{i}.w"] = {"dtype": "F32", "shape": [n], "data_offsets": [off, off + 4 * n]}
        off += 4 * n
    for _ in range(rng.randint(1, 3)):
        name = rng.choice([k for k in header if k != "__metadata__"])
        field = rng.choice(["dtype", "shape", "data_offsets"])
        entry = dict(header[name])  # type: ignore[arg-type]
        entry[field] = (
            rng.choice(_DTYPES)
            if field == "dtype"
            else rng.choice([[1e300], [-1], [2**70], "4", [None], [0, 2**64], [3, 1], []])
        )
        header[name] = entry
    raw = json.dumps(header).encode()
    blob = struct.pack("<Q", len(raw)) + raw + b"\0" * off
    if rng.random() < 0.3:
        blob = mutate_bytes(rng, blob, 2)
    shard = "model-00001-of-00001.safetensors"
    (d / shard).write_bytes(blob)
    if rng.random() < 0.4:
        wm = rng.choice(
            [
                {"x": shard},
                {"x": "../../../../etc/passwd"},
                {"x": 5},
                ["a"],
                {"x": "missing.st"},
                {"x": "/etc/passwd"},
                {"x": ".."},
            ]
        )
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    return ["inspect", str(d)], None


_CLAIMS = [
    "Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060",
    "a wafer holds 900 GB of SRAM",
    "Llama-3.1-70B Q4_K_M: 350 ms to first token on 2x RTX 3090",
    "an H100 has 3.35 TB/s",
    "Qwen3-8B Q8_0 fits 32k context on an RTX 4090",
    "hardware,model,quant,metric,value,ctx,depth,prompt_tokens",
    "RTX 3060,llama-3.1-8b,Q4_K_M,decode_tps,55,8192,0,512",
    "RTX 4090,qwen3-8b,Q8_0,ttft_s,0.2,,,2048",
]


def build_check_csv(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """Claims as prose or CSV with hostile cells and lines; ``check FILE`` or ``check -``."""
    if rng.random() < 0.5:
        rows = [mutate_text(rng, _CLAIMS[rng.choice([6, 7])], 2) for _ in range(rng.randint(1, 3))]
        lines = [_CLAIMS[5], *rows]
    else:
        lines = [mutate_text(rng, rng.choice(_CLAIMS[:5]), 2) for _ in range(rng.randint(1, 3))]
    text = ("\ufeff" if rng.random() < 0.2 else "") + "\n".join(lines) + "\n"
    if rng.random() < 0.5:
        return ["check", "-"] + (["--json"] if rng.random() < 0.3 else []), text
    f = tmp / "claims.csv"
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    return ["check", str(f)], None


_PREDICT_ROW = {
    "hardware": "RTX 4090",
    "hardware_kind": "nvidia",
    "n_devices": "1",
    "backend": "CUDA",
    "model": "Llama 2 7B",
    "model_family": "llama",
    "params_b": "6.74",
    "quant": "Q4_0",
    "model_size_gib": "3.56",
    "test": "pp512",
    "prompt_tokens": "512",
    "gen_tokens": "",
    "depth": "0",
    "ngl": "99",
    "threads": "",
    "flash_attn": "",
    "notes": "",
}


def build_predict_csv(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """A cases CSV with hostile cells; ``predict --cases F --out O``."""
    import csv
    import io

    rows = []
    for _ in range(rng.randint(1, 3)):
        row = dict(_PREDICT_ROW)
        for _ in range(rng.randint(1, 3)):
            row[rng.choice(list(row))] = rng.choice(NASTY)
        rows.append(row)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(_PREDICT_ROW))
    w.writeheader()
    w.writerows(rows)
    text = buf.getvalue()
    if rng.random() < 0.2:
        text = mutate_text(rng, text, 2)
    f = tmp / "cases.csv"
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = tmp / "out.csv"
    if out.exists():
        out.unlink()
    return ["predict", "--cases", str(f), "--out", str(out)], None


_IMPORT_FILES = [
    "rtx3060_llama8b.json",
    "rtx3060_llama8b.csv",
    "rtx3060_llama8b.md",
    "rtx3060_llama8b.jsonl",
    "old_cpu_b1767.md",
]


def build_bench_import(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """A llama-bench output (JSON, JSONL, CSV, markdown) with hostile values; ``results --import``.

    The store lives in ``tmp`` (RIGFIT_DATA_DIR is set by :func:`run_kind`)."""
    name = rng.choice(_IMPORT_FILES)
    text = (DATA / "llama_bench" / name).read_text(encoding="utf-8")
    text = mutate_text(rng, text, 6)
    f = tmp / name
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    return ["results", "--import", str(f)], None


_CLI_TEMPLATES: list[Callable[[random.Random], list[str]]] = [
    lambda r: [
        "plan",
        r.choice(["llama-3.1-8b", "qwen3-8b", r.choice(NASTY)]),
        "--on",
        r.choice(["RTX 4090", "2x RTX 3090", r.choice(NASTY)]),
        r.choice(
            [
                "--ctx",
                "--prompt",
                "--ubatch",
                "--parallel",
                "--n-cpu-moe",
                "--ngl",
                "--gpu-memory-utilization",
                "--tensor-split",
                "--kv-type",
                "--fa",
                "-q",
            ]
        ),
        r.choice(NASTY),
    ],
    lambda r: [
        "cost",
        "llama-3.1-8b",
        "--on",
        r.choice(["RTX 4090", r.choice(NASTY)]),
        r.choice(
            [
                "--hours-per-day",
                "--tokens-per-day",
                "--electricity-usd-per-kwh",
                "--hardware-usd",
                "--amortize-months",
                "--hosted-monthly-usd",
                "--quant",
            ]
        ),
        r.choice(NASTY),
    ],
    lambda r: ["hardware", r.choice(NASTY)],
    lambda r: ["results", "--limit", r.choice(NASTY)],
    lambda r: [
        "bench",
        r.choice(["--ctx", "--prompt", "--gen", "--depth", "--threads", "--repeat", "--timeout", "--ngl"]),
        r.choice(NASTY),
        "--no-store",
    ],
    lambda r: [
        r.choice(["plan", "inspect", "cost", "check", "nosuch", "--nosuch", "results"]),
        r.choice(["--bogus", "--on", "-x", r.choice(NASTY)]),
    ],
    lambda r: [
        "report",
        "--on",
        "RTX 3060",
        "--out",
        r.choice(["", "/dev/null", "/proc/x", "x[/]y/" * 3, "A" * 300]),
        "--no-charts",
    ],
]


def build_cli_args(rng: random.Random, tmp: Path) -> tuple[list[str], str | None]:
    """A command with one hostile option value, unknown options or commands.

    ``bench`` cases only reach argument checks: every template gives it a value that is either
    refused or a tiny run (the checks come before llama.cpp starts), and report targets are
    refused before computing."""
    args = rng.choice(_CLI_TEMPLATES)(rng)
    # a relative report folder goes under the case's temporary folder, never the working directory
    args = [str(tmp / a) if a.startswith("x[/]y/") else a for a in args]
    if args[0] == "bench" and problem_free_bench(args):
        args = ["bench", "--depth", "-1"]
    return args, None


def problem_free_bench(args: list[str]) -> bool:
    """True when a fuzzed bench command line would start a real llama.cpp run (slow): the value is
    a plausible number inside the option's range."""
    from rigfit.inputs import RANGES, range_problem

    flag, value = args[1], args[2]
    try:
        v = float(value)
    except ValueError:
        return False
    return range_problem(int(v) if v.is_integer() else v, RANGES[flag], flag) is None


KINDS: dict[str, Callable[[random.Random, Path], tuple[list[str], str | None]]] = {
    "gguf": build_gguf,
    "hf_config": build_hf_config,
    "safetensors": build_safetensors,
    "check_csv": build_check_csv,
    "predict_csv": build_predict_csv,
    "bench_import": build_bench_import,
    "cli_args": build_cli_args,
}


def run_kind(kind: str, rng: random.Random, tmp: Path) -> tuple[list[str], Outcome]:
    """Build one case of ``kind`` under ``tmp`` and run it (store and caches under ``tmp``)."""
    args, stdin = KINDS[kind](rng, tmp)
    env = {"RIGFIT_DATA_DIR": str(tmp / "data"), "RIGFIT_CACHE_DIR": str(tmp / "cache"), "COLUMNS": "100"}
    return args, run_case(args, stdin, env)
