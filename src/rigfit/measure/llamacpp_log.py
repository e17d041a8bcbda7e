"""Run real llama.cpp (``xllamacpp``) and read what it allocated from its own log.

Two parts, usable separately:

* :func:`parse_log` turns a llama.cpp log (any build from 2025 on; verbosity ≥ 3 prints the
  lines) into a :class:`BufferLog`: every ``<device> <kind> buffer size = X MiB`` line (model,
  KV, RS, compute, output; repack buffers appear as model buffers named ``CPU_REPACK``), the KV
  cache summaries (``size = … (N cells, L layers, s/S seqs), K (f16): …, V (f16): …``) and the
  context sizes llama.cpp settled on (``n_ctx``, ``n_ctx_seq``, ``n_seq_max``).
* :func:`run_llamacpp` loads a GGUF with given settings in a **child process** (llama.cpp may
  abort the process on a bad setting; a hung load is killed at ``timeout_s``), once per
  :class:`RunConfig`, several configurations per child to save start-up time, and returns one
  :class:`BufferLog` per configuration (``ok=False`` and ``error`` when llama.cpp refused it).

Only the context is created (``xllamacpp.Server`` with warm-up off); no tokens are generated, so
one configuration costs well under a second for small models. Figures in the log are MiB with two
decimals: a parsed value is exact to ±0.005 MiB.

Example::

    from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp
    [log] = run_llamacpp([RunConfig("model.gguf", n_ctx=4096, flash_attn="off")])
    log.bytes("compute")          # {"CPU": 24411013}
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

from rigfit.errors import RigfitError
from rigfit.units import MIB

_BUF_RE = re.compile(
    r"(?P<dev>[\w.-]+)\s+(?P<kind>model|KV|compute|output|RS)\s+buffer size\s*=\s*"
    r"(?P<mib>[\d.]+)\s*MiB"
)
_KV_SUM_RE = re.compile(
    r"llama_kv_cache: size =\s*(?P<mib>[\d.]+) MiB \(\s*(?P<cells>\d+) cells,\s*"
    r"(?P<layers>\d+) layers,\s*(?P<s>\d+)/\s*(?P<S>\d+) seqs\), K \((?P<tk>\w+)\):\s*"
    r"(?P<k>[\d.]+) MiB, V \((?P<tv>\w+)\):\s*(?P<v>[\d.]+) MiB"
)
_RS_SUM_RE = re.compile(
    r"llama_memory_recurrent: size =\s*(?P<mib>[\d.]+) MiB \(\s*(?P<cells>\d+) cells,\s*"
    r"(?P<layers>\d+) layers,.*?R \((?P<tr>\w+)\):\s*(?P<r>[\d.]+) MiB, "
    r"S \((?P<ts>\w+)\):\s*(?P<s>[\d.]+) MiB"
)
_CTX_RE = re.compile(
    r"llama_context: (?P<k>n_ctx|n_ctx_seq|n_seq_max|n_batch|n_ubatch|flash_attn|kv_unified|"
    r"n_outputs_max)\s*= (?P<v>\S+)"
)
_ELINE_RE = re.compile(r"^[\d.]+ E (?:[\w ]*?\w+: )?(.*)$")
_MARK = "@@RIGFIT_CFG"

KINDS = ("model", "KV", "RS", "compute", "output")


@dataclass(frozen=True)
class RunConfig:
    """One llama.cpp context to create (llama-server flag in brackets).

    model_path: the GGUF file (first part of a split model).
    n_ctx: context [tokens] (``-c``; 0 = training context). n_parallel: slots (``-np``).
    kv_unified: shared KV pool (``-kvu``). n_ubatch/n_batch: (``-ub``/``-b``).
    flash_attn: "on" | "off" | "auto" (``-fa``). type_k/type_v: KV types (``-ctk``/``-ctv``).
    swa_full: (``--swa-full``). n_gpu_layers: (``-ngl``; -1 = all). no_kv_offload: (``-nkvo``).
    repack: use the CPU repack buffers (False = ``--no-repack``). threads: (``-t``).
    cpu_moe / n_cpu_moe: (``--cpu-moe`` / ``--n-cpu-moe``).
    """

    model_path: str
    n_ctx: int = 4096
    n_parallel: int = 1
    kv_unified: bool = False
    n_ubatch: int = 512
    n_batch: int = 2048
    flash_attn: str = "auto"
    type_k: str = "f16"
    type_v: str = "f16"
    swa_full: bool = False
    n_gpu_layers: int = 0
    no_kv_offload: bool = False
    repack: bool = True
    threads: int = 2
    cpu_moe: bool = False
    n_cpu_moe: int = 0


@dataclass
class BufferLog:
    """What llama.cpp allocated for one context, parsed from its log.

    buffers: {kind: {device/buffer name: MiB}} for kind in model, KV, RS, compute, output
        (model buffers are named like ``CPU_Mapped``, ``CPU_REPACK``, ``CUDA0``).
    kv_caches: one dict per KV cache (cells, layers, seqs, k_type, v_type, k_mib, v_mib, mib);
        SWA models have two (non-SWA first).
    recurrent: the recurrent-state summary (cells, layers, r_mib, s_mib, mib) if any.
    context: llama_context's settled values (n_ctx, n_ctx_seq, n_seq_max, flash_attn …) as text.
    ok: llama.cpp created the context; error: its last error line otherwise.
    log: the full log text (kept for debugging; omitted from :meth:`to_json`).
    """

    buffers: dict[str, dict[str, float]] = field(default_factory=dict)
    kv_caches: list[dict] = field(default_factory=list)
    recurrent: dict | None = None
    context: dict[str, str] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    log: str = field(default="", repr=False)

    def mib(self, kind: str, device: str | None = None) -> float:
        """Sum of one kind of buffer [MiB], on one device (prefix match, "CPU" matches
        "CPU_Mapped" and "CPU_REPACK") or on all."""
        d = self.buffers.get(kind, {})
        return sum(v for k, v in d.items() if device is None or k == device or k.startswith(device + "_"))

    def bytes(self, kind: str) -> dict[str, int]:
        """{buffer name: bytes} of one kind (rounded from the MiB the log prints)."""
        return {k: round(v * MIB) for k, v in self.buffers.get(kind, {}).items()}

    def total_mib(self) -> float:
        return sum(sum(d.values()) for d in self.buffers.values())

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("log", None)
        out["total_mib"] = round(self.total_mib(), 2)
        return out


def parse_log(text: str) -> BufferLog:
    """Parse one llama.cpp load/context log into a :class:`BufferLog`.

    Repeated buffer lines for the same device and kind are summed (llama.cpp prints one line per
    KV cache — SWA models have two — and one per model buffer).
    """
    out = BufferLog(log=text)
    for m in _BUF_RE.finditer(text):
        kind = m.group("kind")
        dev = m.group("dev")
        d = out.buffers.setdefault(kind, {})
        d[dev] = round(d.get(dev, 0.0) + float(m.group("mib")), 2)
    for m in _KV_SUM_RE.finditer(text):
        out.kv_caches.append(
            {
                "mib": float(m.group("mib")),
                "cells": int(m.group("cells")),
                "layers": int(m.group("layers")),
                "seqs": int(m.group("S")),
                "k_type": m.group("tk"),
                "v_type": m.group("tv"),
                "k_mib": float(m.group("k")),
                "v_mib": float(m.group("v")),
            }
        )
    m = _RS_SUM_RE.search(text)
    if m:
        out.recurrent = {
            "mib": float(m.group("mib")),
            "cells": int(m.group("cells")),
            "layers": int(m.group("layers")),
            "r_mib": float(m.group("r")),
            "s_mib": float(m.group("s")),
        }
    for m in _CTX_RE.finditer(text):
        out.context.setdefault(m.group("k"), m.group("v"))
    return out


# alias kept for callers that look for a parse_buffers function (measure/bench.py)
parse_buffers = parse_log


_CHILD = r"""
import json, os, sys, time
cfgs = json.loads(sys.argv[1])
SETTLE_S = 0.2
def mark(s):
    os.write(2, ("\n@@RIGFIT_CFG " + s + "\n").encode())
import xllamacpp as x
FA = {"on": x.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_ENABLED,
      "off": x.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED,
      "auto": x.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_AUTO}
def gt(name):
    return getattr(x.ggml_type, "GGML_TYPE_" + name.upper())
keep = []
for i, c in cfgs:
    mark("BEGIN %d" % i)
    p = x.CommonParams()
    p.model.path = c["model_path"]
    p.n_ctx = c["n_ctx"]; p.n_parallel = c["n_parallel"]; p.kv_unified = c["kv_unified"]
    p.n_ubatch = c["n_ubatch"]; p.n_batch = c["n_batch"]; p.flash_attn_type = FA[c["flash_attn"]]
    p.cache_type_k = gt(c["type_k"]); p.cache_type_v = gt(c["type_v"]); p.swa_full = c["swa_full"]
    p.n_gpu_layers = c["n_gpu_layers"]; p.no_kv_offload = c["no_kv_offload"]
    p.no_extra_bufts = not c["repack"]
    p.cpuparams.n_threads = c["threads"]; p.cpuparams_batch.n_threads = c["threads"]
    p.warmup = False; p.fit_params = False; p.verbosity = 4; p.n_ctx_checkpoints = 0
    p.cache_ram_mib = 0
    if c["cpu_moe"]:
        p.tensor_buft_overrides = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU"
    elif c["n_cpu_moe"]:
        p.tensor_buft_overrides = ",".join(r"blk\.%d\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU" % il
                                           for il in range(c["n_cpu_moe"]))
    try:
        keep.append(x.Server(p))
        time.sleep(SETTLE_S)  # llama.cpp logs from a worker thread: let this load's lines land first
        mark("OK %d" % i)
    except Exception as e:
        time.sleep(SETTLE_S)
        mark("FAIL %d %s" % (i, str(e).replace("\n", " ")))
mark("DONE")
os._exit(0)
"""


def xllamacpp_version() -> str | None:
    """Installed xllamacpp version (its llama.cpp build is the number after the year.month)."""
    try:
        return version("xllamacpp")
    except Exception:
        return None


def _run_child(items: list[tuple[int, RunConfig]], timeout_s: float) -> tuple[str, int | None]:
    payload = json.dumps([(i, asdict(c)) for i, c in items])
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, payload],
                stdout=subprocess.DEVNULL,
                stderr=err,
                timeout=timeout_s,
                check=False,
            )
            rc: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
        err.seek(0)
        return err.read().decode("utf-8", errors="replace"), rc


def run_llamacpp(configs: list[RunConfig], timeout_s: float = 300.0, per_process: int = 8) -> list[BufferLog]:
    """Create each configuration's llama.cpp context in child processes; parse each log.

    configs: what to create. timeout_s: wall-clock limit per child process [s].
    per_process: configurations created in one child (contexts stay alive until it exits, so
        keep this small for big models).

    A configuration llama.cpp refuses (or that kills the child) gets ``ok=False`` with the
    reason; the following ones run in a fresh child. Raises RigfitError when xllamacpp is not
    installed.
    """
    if importlib.util.find_spec("xllamacpp") is None:
        raise RigfitError(
            "Measuring needs llama.cpp's Python binding xllamacpp, which is not installed.",
            "pip install 'rigfit[bench]'",
        )
    results: dict[int, BufferLog] = {}
    pending = list(enumerate(configs))
    for c in configs:
        if not Path(c.model_path).is_file():
            raise RigfitError(f"{c.model_path}: no such model file.")
    while pending:
        batch = pending[:per_process]
        text, rc = _run_child(batch, timeout_s)
        sections = _split_sections(text)
        done_any = False
        for i, _ in batch:
            sec = sections.get(i)
            if sec is None:
                break
            body, status = sec
            if status is None:  # child died inside this configuration
                log = parse_log(body)
                log.ok = False
                log.error = _last_error(body) or ("timed out" if rc is None else f"llama.cpp exited ({rc})")
                results[i] = log
                done_any = True
                break
            log = parse_log(body)
            if not status.startswith("OK"):
                log.ok = False
                log.error = status.split(" ", 2)[2] if status.count(" ") >= 2 else status
                log.error = _last_error(body) or log.error
            results[i] = log
            done_any = True
        if not done_any:
            i0 = batch[0][0]
            results[i0] = BufferLog(
                ok=False, error=_last_error(text) or "llama.cpp child failed to start", log=text
            )
        pending = [(i, c) for i, c in pending if i not in results]
    return [results[i] for i in range(len(configs))]


def _split_sections(text: str) -> dict[int, tuple[str, str | None]]:
    """{config index: (its log, "OK i" | "FAIL i msg" | None when the child died in it)}."""
    out: dict[int, tuple[str, str | None]] = {}
    cur: int | None = None
    buf: list[str] = []
    for line in text.splitlines():
        if line.startswith(_MARK):
            word = line[len(_MARK) :].strip()
            if word.startswith("BEGIN "):
                cur = int(word.split()[1])
                buf = []
            elif word.startswith(("OK ", "FAIL ")) and cur is not None:
                out[cur] = ("\n".join(buf), word)
                cur = None
            continue
        if cur is not None:
            buf.append(line)
    if cur is not None:
        out[cur] = ("\n".join(buf), None)
    return out


def _last_error(text: str) -> str | None:
    """llama.cpp's first error line (level "E"), without the timestamp and function prefix."""
    for line in text.splitlines():
        m = _ELINE_RE.match(line)
        if m:
            return m.group(1).strip()[:300]
    return None
