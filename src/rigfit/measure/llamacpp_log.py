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
from importlib.metadata import PackageNotFoundError, version
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
_CLIP_SIZE_RE = re.compile(r"load_hparams: model size:\s*(?P<mib>[\d.]+) MiB")
_CLIP_BACKEND_RE = re.compile(r"clip_ctx: CLIP using (\S+) backend")
_CLIP_COMPUTE_RE = re.compile(
    r"reserve_compute_meta:\s*(?P<dev>[\w.-]+) compute buffer size\s*=\s*(?P<mib>[\d.]+) MiB"
)
_CLIP_FA_RE = re.compile(r"warmup: flash attention is (\w+)")

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
    draft_path: a draft model (``-md``); draft_max: (``--spec-draft-n-max``); draft_ngl: (``-ngld``);
    draft_type_k / draft_type_v: (``-ctkd`` / ``-ctvd``); mtp: (``--spec-type draft-mtp``).
    mmproj_path: a multimodal projector (``--mmproj``; loading one turns warm-up on, which is when
    the image encoder reserves its compute buffer); mmproj_offload: False = ``--no-mmproj-offload``.
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
    draft_path: str | None = None
    draft_max: int = 3
    draft_ngl: int = -1
    draft_type_k: str = "f16"
    draft_type_v: str = "f16"
    mtp: bool = False
    mmproj_path: str | None = None
    mmproj_offload: bool = True


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
    draft: the speculative context's own buffers (draft model or MTP), parsed from the log after
        llama.cpp starts loading it (:data:`DRAFT_MARKERS`); the fields above then hold the
        target's buffers only.
    """

    buffers: dict[str, dict[str, float]] = field(default_factory=dict)
    kv_caches: list[dict] = field(default_factory=list)
    recurrent: dict | None = None
    context: dict[str, str] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    log: str = field(default="", repr=False)
    draft: BufferLog | None = None
    mmproj: dict | None = None

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
        out["draft"] = None if self.draft is None else self.draft.to_json()
        return out


#: Log lines where llama.cpp starts the speculative context (common/speculative.cpp, 2026 builds):
#: a draft model is loaded, or the MTP context is created.
DRAFT_MARKERS = ("loading draft model", "common_speculative_init", "adding speculative implementation")


def parse_log(text: str) -> BufferLog:
    """Parse one llama.cpp load/context log into a :class:`BufferLog`.

    Repeated buffer lines for the same device and kind are summed (llama.cpp prints one line per
    KV cache — SWA models have two — and one per model buffer). Buffers logged after a draft
    marker belong to the speculative context (``BufferLog.draft``).
    """
    cut = min((i for i in (text.find(m) for m in DRAFT_MARKERS) if i >= 0), default=-1)
    if cut >= 0:
        out = _parse_one(text[:cut], text)
        out.draft = _parse_one(text[cut:], "")
        return out
    return _parse_one(text, text)


def parse_clip_log(text: str) -> dict | None:
    """The multimodal projector's lines in a llama.cpp log (tools/mtmd/clip.cpp), or None.

    clip.cpp prints ``load_hparams: model size: X MiB`` (sum of its tensors' bytes), ``clip_ctx:
    CLIP using <backend> backend``, ``reserve_compute_meta: <buft> compute buffer size = X MiB``
    (one line per reservation; the last is the one kept: with flash attention "auto" it tries FA
    on first and re-reserves with FA off when unsupported) and ``warmup: flash attention is …``.
    """
    m = _CLIP_SIZE_RE.search(text)
    if m is None:
        return None
    backend = _CLIP_BACKEND_RE.search(text)
    fa = _CLIP_FA_RE.findall(text)
    compute: dict[str, float] = {}
    for c in _CLIP_COMPUTE_RE.finditer(text):
        if c.group("dev") in compute:  # a re-reservation replaces the earlier one
            compute = {}
        compute[c.group("dev")] = float(c.group("mib"))
    return {
        "weights_mib": float(m.group("mib")),
        "compute": compute,
        "backend": backend.group(1) if backend else None,
        "flash_attn": fa[-1] if fa else None,
    }


def _parse_one(text: str, full: str) -> BufferLog:
    out = BufferLog(log=full)
    out.mmproj = parse_clip_log(text)
    for m in _BUF_RE.finditer(text):
        if text.rfind("reserve_compute_meta", text.rfind("\n", 0, m.start()) + 1, m.start()) >= 0:
            continue  # the image encoder's buffer: in .mmproj
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


# llama.cpp logs from a worker thread (common/log.cpp), so its lines can reach stderr after a marker
# written from Python. stderr is a file (see _run_child): the child writes each marker only once that
# file has stopped growing for QUIET_S, so every line lands in the section of its configuration (and
# a crash still leaves every line written so far in the file).
_CHILD = r"""
import json, os, sys, time
cfgs = json.loads(sys.argv[1])
QUIET_S, WAIT_MAX_S = 0.15, 5.0
def _size():
    try:
        return os.fstat(2).st_size
    except OSError:
        return 0
def mark(s):
    t0 = time.monotonic()
    size, since = _size(), time.monotonic()
    while time.monotonic() - since < QUIET_S and time.monotonic() - t0 < WAIT_MAX_S:
        time.sleep(0.03)
        now = _size()
        if now != size:
            size, since = now, time.monotonic()
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
    if c["mmproj_path"]:
        p.mmproj.path = c["mmproj_path"]; p.mmproj_use_gpu = c["mmproj_offload"]; p.warmup = True
    if c["draft_path"] or c["mtp"]:
        sp = p.speculative
        T = x.common_speculative_type
        kind = "DRAFT_MTP" if c["mtp"] else "DRAFT_SIMPLE"
        sp.types = [getattr(T, "COMMON_SPECULATIVE_TYPE_" + kind)]
        if c["draft_path"]:
            sp.draft.mparams.path = c["draft_path"]
        p.load_mtp = c["mtp"]
        sp.draft.n_max = c["draft_max"]; sp.draft.n_gpu_layers = c["draft_ngl"]
        sp.draft.cache_type_k = gt(c["draft_type_k"]); sp.draft.cache_type_v = gt(c["draft_type_v"])
        sp.draft.cpuparams.n_threads = c["threads"]; sp.draft.cpuparams_batch.n_threads = c["threads"]
    if c["cpu_moe"]:
        p.tensor_buft_overrides = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU"
    elif c["n_cpu_moe"]:
        p.tensor_buft_overrides = ",".join(r"blk\.%d\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU" % il
                                           for il in range(c["n_cpu_moe"]))
    try:
        keep.append(x.Server(p))
        mark("OK %d" % i)
    except Exception as e:
        mark("FAIL %d %s" % (i, str(e).replace("\n", " ")))
mark("DONE")
os._exit(0)
"""


def xllamacpp_version() -> str | None:
    """Installed xllamacpp version (its llama.cpp build is the number after the year.month)."""
    try:
        return version("xllamacpp")
    except PackageNotFoundError:
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
