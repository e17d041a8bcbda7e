"""Measure a model with real llama.cpp (``xllamacpp``): prefill and decode tok/s, TTFT, buffers.

How a bench runs (``rigfit bench``):

1. The parent checks the model file and the settings, then starts a **child process**
   (``python -m rigfit.measure.bench SPEC``) that loads llama.cpp through ``xllamacpp.Server``.
   A crash, an abort or an out-of-memory kill of llama.cpp ends only the child: the parent reports
   a failed run with the reason and exits non-zero, and the results store stays intact.
2. The child warms up (one request of the same shape, fewer generated tokens), then for each
   repeat and each depth ``D`` sends one completion request of ``prompt`` random token ids
   (llama-bench style) after ``D`` tokens already in the KV cache (cached by a priming request),
   generating ``gen`` tokens with EOS ignored. llama.cpp's own timings give the rates:
   prefill = ``prompt_n / prompt_ms`` at depth ``cache_n``, decode = ``predicted_n / predicted_ms``
   after the prompt (llama-bench name ``tg{gen}@d{D+prompt}``). TTFT is wall-clock time from
   sending the request to the first streamed token.
3. The child streams one JSON line per event on a private pipe; llama.cpp's log (stderr) goes to a
   file whose buffer lines give the memory llama.cpp allocated.

Medians over repeats are the figures; the spread is the sample standard deviation and the
min–max range. :func:`run_bench` returns a :class:`BenchReport`; :func:`report_results` turns it
into store rows (:class:`rigfit.measure.store.Result`).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import queue
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rigfit.errors import RigfitError
from rigfit.figures import Figure
from rigfit.formats.gguf import read_gguf
from rigfit.formats.source import load_model_source
from rigfit.measure.calibrate import apply_factors, machine_factors, predict_tests
from rigfit.measure.llamacpp_log import parse_log
from rigfit.measure.store import Result, Run, data_dir
from rigfit.safeio import check_path_length, open_regular

INSTALL_HINT = "Install the bench extra: pip install 'rigfit[bench]'"
#: Exit code of the child when llama.cpp could not load the model (parent maps it to a message).
_EXIT_LOAD_FAILED = 3
_EXIT_RUN_FAILED = 4


class BenchError(RigfitError):
    """A bench run that failed: llama.cpp crashed, was killed, timed out or could not load the model.

    exit code 1 (a user input problem, such as a missing file, stays a plain RigfitError: 2).
    ``log_path`` keeps llama.cpp's log of the failed run.
    """

    exit_code = 1

    def __init__(
        self, message: str, suggestion: str | None = None, log_path: str | None = None, kind: str = "crash"
    ) -> None:
        super().__init__(message, suggestion)
        self.log_path = log_path
        self.kind = kind


class ModelLoadError(BenchError):
    """llama.cpp refused the model file (unknown architecture, truncated data …): exit code 2."""

    exit_code = 2


def xllamacpp_available() -> bool:
    """Whether the optional ``xllamacpp`` package is importable (without importing it)."""
    if "xllamacpp" in sys.modules:
        return sys.modules["xllamacpp"] is not None
    return importlib.util.find_spec("xllamacpp") is not None


def require_xllamacpp() -> None:
    if not xllamacpp_available():
        raise RigfitError(
            "rigfit bench needs llama.cpp's Python binding xllamacpp, which is not installed.", INSTALL_HINT
        )


# --------------------------------------------------------------------------------------------
# settings and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSettings:
    """What to measure.

    model_path: the GGUF file. prompt / gen: tokens per request [tokens]. depths: KV-cache depths
    to measure at [tokens]. n_ctx: context size (None: just enough for the largest test).
    ngl: layers on the GPU (None: llama.cpp's default). threads: CPU threads (None: llama.cpp's
    default, the physical cores). repeat: measured repetitions (after one warm-up).
    timeout_s: wall-clock limit for the child process [s]. seed: for the random prompt tokens.
    """

    model_path: str
    prompt: int = 512
    gen: int = 64
    depths: tuple[int, ...] = (0,)
    n_ctx: int | None = None
    ngl: int | None = None
    threads: int | None = None
    repeat: int = 3
    warmup: bool = True
    timeout_s: float = 600.0
    seed: int = 1234
    n_vocab: int | None = None

    @property
    def needed_ctx(self) -> int:
        return max(self.depths) + self.prompt + self.gen + 8

    @property
    def ctx(self) -> int:
        """The context size the run uses: ``n_ctx`` or the needed size rounded up to 256."""
        if self.n_ctx:
            return self.n_ctx
        return -(-self.needed_ctx // 256) * 256

    def validate(self) -> None:
        if self.prompt < 1:
            raise RigfitError(f"--prompt must be at least 1 (got {self.prompt}).")
        if self.gen < 1:
            raise RigfitError(f"--gen must be at least 1 (got {self.gen}).")
        if self.repeat < 1:
            raise RigfitError(f"--repeat must be at least 1 (got {self.repeat}).")
        if any(d < 0 for d in self.depths):
            raise RigfitError("--depth must not be negative.")
        if not self.timeout_s > 0:
            raise RigfitError(
                f"--timeout must be a positive number of seconds (got {self.timeout_s:g}).",
                "The default is 600 s.",
            )
        if self.threads is not None and self.threads < 1:
            raise RigfitError(f"--threads must be at least 1 (got {self.threads}).")
        if self.n_ctx is not None and self.n_ctx < self.needed_ctx:
            raise RigfitError(
                f"--ctx {self.n_ctx} is too small for depth {max(self.depths)} + prompt {self.prompt} + "
                f"gen {self.gen}.",
                f"Use --ctx {-(-self.needed_ctx // 256) * 256} or more, or leave it out.",
            )

    def to_json(self) -> dict:
        out = asdict(self)
        out["depths"] = list(self.depths)
        out["ctx"] = self.ctx
        return out


@dataclass(frozen=True)
class Stat:
    """Median and spread of repeated samples (same unit as the samples)."""

    median: float
    stdev: float
    low: float
    high: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: list[float]) -> Stat:
        s = [float(x) for x in samples]
        return cls(statistics.median(s), statistics.stdev(s) if len(s) > 1 else 0.0, min(s), max(s), tuple(s))

    @property
    def spread_pct(self) -> float:
        """(max − min) / median [%]."""
        return 100.0 * (self.high - self.low) / self.median if self.median else 0.0

    def figure(self, unit: str, source: str) -> Figure:
        """The median as a measured :class:`~rigfit.figures.Figure` (band: lowest to highest sample)."""
        return Figure(self.median, unit, "measured", source, self.low, self.high)

    def to_json(self) -> dict:
        return {
            "median": self.median,
            "stdev": self.stdev,
            "min": self.low,
            "max": self.high,
            "spread_pct": self.spread_pct,
            "samples": list(self.samples),
        }


@dataclass(frozen=True)
class DepthResult:
    """Figures at one KV depth: prefill of ``prompt`` tokens after ``depth`` cached ones, then decode."""

    depth: int
    prompt: int
    gen: int
    prefill_tps: Stat
    decode_tps: Stat
    ttft_s: Stat
    cached_tokens: int

    @property
    def prefill_test(self) -> str:
        return f"pp{self.prompt}" + (f"@d{self.cached_tokens}" if self.cached_tokens else "")

    @property
    def decode_test(self) -> str:
        return f"tg{self.gen}@d{self.cached_tokens + self.prompt}"

    @property
    def planned_tests(self) -> tuple[str, str]:
        """The names the prediction used (requested depth; llama.cpp may keep a few cached tokens
        fewer than requested, e.g. at a sliding-window checkpoint, and the measured names say so)."""
        pp = f"pp{self.prompt}" + (f"@d{self.depth}" if self.depth else "")
        return pp, f"tg{self.gen}@d{self.depth + self.prompt}"

    def to_json(self) -> dict:
        return {
            "depth": self.depth,
            "cached_tokens": self.cached_tokens,
            "prompt": self.prompt,
            "gen": self.gen,
            "prefill_test": self.prefill_test,
            "decode_test": self.decode_test,
            "prefill_tps": self.prefill_tps.to_json(),
            "decode_tps": self.decode_tps.to_json(),
            "ttft_s": self.ttft_s.to_json(),
        }


@dataclass
class BenchReport:
    """A finished bench: settings, per-depth figures, buffers, llama.cpp build, timings of the run."""

    settings: BenchSettings
    depths: list[DepthResult]
    model_sha256: str | None
    model_size_bytes: int
    llama_build: dict
    threads_used: int | None
    load_s: float
    wall_s: float
    buffers: dict | None = None
    log_path: str | None = None
    prediction: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def first(self) -> DepthResult:
        return self.depths[0]

    def side_by_side(self) -> list[dict]:
        """Per depth: measured medians, what rigfit predicted beforehand, and measured / predicted."""
        tests = (self.prediction or {}).get("tests", {})
        out = []
        for d in self.depths:
            p_pp, p_tg = (tests.get(n, {}) for n in d.planned_tests)
            row: dict[str, Any] = {"depth": d.depth}
            for key, measured, pred in (
                ("prefill_tps", d.prefill_tps.median, p_pp.get("tps")),
                ("decode_tps", d.decode_tps.median, p_tg.get("tps")),
                ("ttft_s", d.ttft_s.median, p_pp.get("ttft_s")),
            ):
                row[key] = {
                    "measured": measured,
                    "predicted": pred,
                    "ratio": measured / pred if pred else None,
                }
            out.append(row)
        return out

    def to_json(self) -> dict:
        d0 = self.first
        return {
            "model": self.settings.model_path,
            "model_sha256": self.model_sha256,
            "prefill_tps": d0.prefill_tps.median,
            "decode_tps": d0.decode_tps.median,
            "ttft_s": d0.ttft_s.median,
            "depths": [d.to_json() for d in self.depths],
            "settings": self.settings.to_json(),
            "threads": self.threads_used,
            "llama_build": self.llama_build,
            "buffers": self.buffers,
            "load_s": self.load_s,
            "wall_s": self.wall_s,
            "prediction": self.prediction,
            "measured_vs_predicted": self.side_by_side(),
            "figures": self.figures(),
        }

    def figures(self) -> dict[str, dict]:
        """The first depth's figures in the labelled form: median, band from the lowest to the highest run."""
        d0 = self.first
        how = f"rigfit bench: median of {len(d0.decode_tps.samples)} llama.cpp run(s), band min-max"
        return {
            "prefill_tps": d0.prefill_tps.figure("tok/s", f"{how}, {d0.prefill_test}").to_json(),
            "decode_tps": d0.decode_tps.figure("tok/s", f"{how}, {d0.decode_test}").to_json(),
            "ttft_s": d0.ttft_s.figure("s", f"{how}, {d0.prefill_test}").to_json(),
        }


# --------------------------------------------------------------------------------------------
# the parent side
# --------------------------------------------------------------------------------------------

ProgressFn = Callable[[dict], None]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_model_file(path: str | Path) -> Path:
    """The model path, resolved; a clear error when it is missing or not a GGUF file."""
    check_path_length(path, "model file")  # ENAMETOOLONG is one line, not a traceback
    p = Path(path).expanduser()
    if not p.exists():
        raise RigfitError(
            f"Model file not found: {p}",
            "Pass the path of a .gguf file, or leave it out to bench the bundled Gemma 3 270M model.",
        )
    if p.is_dir():
        raise RigfitError(f"{p} is a directory, not a model file.", "Pass the path of a .gguf file.")
    with open_regular(p, "model file") as fh:  # a FIFO is refused, never waited on
        magic = fh.read(4)
    if magic != b"GGUF":
        raise RigfitError(
            f"{p} is not a GGUF file (it does not start with 'GGUF').",
            "llama.cpp only loads GGUF files; convert the model or pick a .gguf file.",
        )
    return p.resolve()


def _vocab_size(path: Path) -> int | None:
    try:
        g = read_gguf(path)
        meta = getattr(g, "metadata", None) or getattr(g, "kv", None) or {}
        tokens = meta.get("tokenizer.ggml.tokens") if hasattr(meta, "get") else None
        if tokens is not None:
            return len(tokens)
    except (RigfitError, OSError):  # unreadable or not a GGUF (BadFileError): unknown
        return None
    return None


def run_bench(
    settings: BenchSettings, progress: ProgressFn | None = None, log_dir: str | Path | None = None
) -> BenchReport:
    """Run a bench in a child process; raise :class:`BenchError` when the run fails.

    progress: called with each event of the child (``loaded``, ``warmup``, ``sample``, ``done``).
    log_dir: where llama.cpp's log goes (default: ``logs/`` in the data directory); the log is
    deleted after a successful run and kept, and named in the error, after a failed one.
    """
    require_xllamacpp()
    settings.validate()
    path = check_model_file(settings.model_path)
    if settings.n_vocab is None:
        vocab = _vocab_size(path)
        settings = BenchSettings(
            **{
                **asdict(settings),
                "model_path": str(path),
                "n_vocab": vocab,
                "depths": tuple(settings.depths),
            }
        )
    if log_dir is None:
        log_dir = data_dir() / "logs"
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    fd, log_name = tempfile.mkstemp(prefix="rigfit-bench-", suffix=".log", dir=log_dir)
    os.close(fd)
    t_start = time.monotonic()
    events = _run_child(settings, Path(log_name), progress)
    wall_s = time.monotonic() - t_start
    loaded = next(e for e in events if e["event"] == "loaded")
    samples = [e for e in events if e["event"] == "sample"]
    depths = []
    for depth in settings.depths:
        ss = [s for s in samples if s["depth"] == depth]
        depths.append(
            DepthResult(
                depth=depth,
                prompt=settings.prompt,
                gen=settings.gen,
                prefill_tps=Stat.of([s["prompt_n"] / (s["prompt_ms"] / 1000.0) for s in ss]),
                decode_tps=Stat.of([s["predicted_n"] / (s["predicted_ms"] / 1000.0) for s in ss]),
                ttft_s=Stat.of([s["ttft_s"] for s in ss]),
                cached_tokens=int(statistics.median([s["cache_n"] for s in ss])),
            )
        )
    buffers = parse_buffers(Path(log_name))
    Path(log_name).unlink(missing_ok=True)  # kept only when a run fails (the error names it)
    return BenchReport(
        settings=settings,
        depths=depths,
        model_sha256=None,
        model_size_bytes=path.stat().st_size,
        llama_build=loaded.get("build", {}),
        threads_used=loaded.get("threads"),
        load_s=loaded["load_s"],
        wall_s=wall_s,
        buffers=buffers,
    )


def _run_child(settings: BenchSettings, log_path: Path, progress: ProgressFn | None) -> list[dict]:
    """Run the llama.cpp child and collect its events; the child never outlives rigfit.

    Lifetime (issue 18, defect 6): the child runs in its own process group (so ending it ends
    every thread and helper it started); on Linux it asks the kernel for SIGKILL when rigfit dies
    (``prctl(PR_SET_PDEATHSIG)``, which also covers ``kill -9`` of rigfit); on every platform it
    watches its stdin, a pipe only rigfit holds open, and exits when that pipe closes. SIGTERM and
    SIGHUP to rigfit end the child first, then rigfit ends as the signal asks.
    """
    spec = json.dumps(settings.to_json())
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env[_PARENT_PID_ENV] = str(os.getpid())
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rigfit.measure.bench", spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    try:
        with _end_child_on_signals(proc):
            return _collect_events(proc, settings, log_path, progress)
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()


def _collect_events(
    proc: subprocess.Popen, settings: BenchSettings, log_path: Path, progress: ProgressFn | None
) -> list[dict]:
    """Read the child's events until it exits or the timeout passes; raise BenchError on failure."""
    events: list[dict] = []
    lines: queue.Queue[bytes | None] = queue.Queue()

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(raw)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + settings.timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                _kill(proc)
                raise BenchError(
                    f"The bench did not finish within {settings.timeout_s:.0f} s and was stopped.",
                    "Use a smaller --prompt/--gen/--repeat, or a smaller model.",
                    str(log_path),
                    "timeout",
                )
            try:
                raw = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if raw is None:
                break
            try:
                ev = json.loads(raw)
            except json.JSONDecodeError:
                continue
            events.append(ev)
            if progress is not None:
                progress(ev)
        try:
            proc.wait(timeout=30)  # stdout closed: the child is exiting
        except subprocess.TimeoutExpired:
            _kill(proc)
    except BaseException:
        _kill(proc)
        raise
    rc = proc.returncode
    error = next((e for e in events if e["event"] == "error"), None)
    if rc == _EXIT_LOAD_FAILED or (error and error.get("kind") == "load"):
        reason = load_error_reason(log_path) or (error or {}).get("message") or "unknown reason"
        raise ModelLoadError(
            f"llama.cpp could not load {settings.model_path}: {reason}",
            "Check that the file is a complete GGUF of an architecture this llama.cpp "
            f"build supports (log: {log_path}).",
            str(log_path),
            "load",
        )
    if rc != 0 or not any(e["event"] == "done" for e in events):
        if rc is not None and rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            hint = " — most likely out of memory (the kernel's OOM killer)" if -rc == signal.SIGKILL else ""
            msg = (
                f"llama.cpp (child process {proc.pid}) was killed by {name} before the bench finished{hint}."
            )
        elif error:
            msg = f"The bench failed: {error.get('message')}"
        else:
            msg = f"llama.cpp (child process {proc.pid}) exited with code {rc} before the bench finished."
        raise BenchError(msg, f"No result was stored. llama.cpp's log: {log_path}", str(log_path))
    return events


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (OSError, AttributeError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()


#: Signals that end rigfit politely; the child is killed before rigfit goes.
_ENDING_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))
#: The child checks its parent is still this process (closes the race before PDEATHSIG is set).
_PARENT_PID_ENV = "RIGFIT_BENCH_PARENT_PID"
#: prctl option asking for a signal when the parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def _end_child_on_signals(proc: subprocess.Popen) -> Iterator[None]:
    """While the bench runs, SIGTERM/SIGHUP first kill the child's process group, then end rigfit
    with the same signal (the previous handler runs, or the default: terminate). Only the main
    thread can install handlers; elsewhere the PDEATHSIG and stdin watchdog still hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def on_signal(signum: int, frame: Any) -> None:
        _kill(proc)
        old = previous.get(signum, signal.SIG_DFL)
        signal.signal(signum, old)
        if callable(old):
            old(signum, frame)
        else:
            os.kill(os.getpid(), signum)

    for sig in _ENDING_SIGNALS:
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _die_with_parent() -> None:
    """In the child: be killed when rigfit dies, however it dies.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (https://man7.org/linux/man-pages/man2/prctl.2.html),
    then a check that the parent did not die before the call. Everywhere: a daemon thread reads
    stdin, a pipe rigfit holds open, and ends the process at end-of-file.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    expected = os.environ.get(_PARENT_PID_ENV)
    if expected and expected.isdigit() and os.getppid() != int(expected):
        os._exit(_EXIT_RUN_FAILED)

    def watch_stdin() -> None:
        # os.read on the raw descriptor: a daemon thread blocked in sys.stdin's buffered reader
        # holds its lock and aborts the interpreter at shutdown
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        os._exit(_EXIT_RUN_FAILED)

    threading.Thread(target=watch_stdin, name="rigfit-parent-watchdog", daemon=True).start()


_LOAD_ERR_RE = re.compile(r"error loading model: (.+)$", re.MULTILINE)


def load_error_reason(log_path: Path) -> str | None:
    """llama.cpp's one-line reason for refusing a model, from its log."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    m = _LOAD_ERR_RE.search(text)
    return m.group(1).strip() if m else None


def parse_buffers(log_path: Path) -> dict | None:
    """The buffers llama.cpp allocated (MiB per kind and device, KV cache summaries), parsed from its
    log by :func:`rigfit.measure.llamacpp_log.parse_log`; None when the log has no buffer lines."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    log = parse_log(text)
    return log.to_json() if log.buffers else None


# --------------------------------------------------------------------------------------------
# prediction beforehand, and the rows stored afterwards
# --------------------------------------------------------------------------------------------


def planned_tests(settings: BenchSettings) -> list[tuple[str, int, int, int]]:
    """(kind, prompt, gen, depth) of the tests a bench measures, for the prediction beforehand."""
    out = []
    for d in settings.depths:
        out.append(("pp", settings.prompt, 0, d))
        out.append(("tg", 0, settings.gen, d + settings.prompt))
    return out


def predict_bench(settings: BenchSettings, machine_id: str | None = None, store: Any = None) -> dict:
    """rigfit's prediction of every test of this bench, calibrated when this machine has factors.

    Returns :func:`rigfit.measure.calibrate.predict_tests`' dict (``{"error": …}`` when rigfit
    cannot predict this model or machine), plus ``ttft_s`` per depth (prompt / prefill rate).
    """
    pred = predict_tests(settings.model_path, planned_tests(settings), settings.threads, settings.ngl)
    if "tests" not in pred:
        return pred
    factors = None
    try:
        factors = machine_factors(machine_id, store)
    except (RigfitError, OSError, sqlite3.Error):  # an unreadable results store: no factors
        factors = None
    pred = apply_factors(pred, factors)
    for name, t in pred["tests"].items():
        if name.startswith("pp") and t.get("tps"):
            t["ttft_s"] = settings.prompt / t["tps"]
    return pred


def model_info(path: str | Path) -> dict:
    """Quant, architecture and parameter count of a GGUF (via GGUF's ``load_model_source``), for
    the stored rows; empty when the file cannot be read that way."""
    try:
        spec = load_model_source(str(path))
    except (RigfitError, OSError):  # a file load_model_source cannot read
        return {}
    n_params = sum(t.n_elements for t in spec.tensors)
    return {
        "quant": spec.file_type or "",
        "family": spec.arch.arch,
        "params_b": round(n_params / 1e9, 3) if n_params else None,
    }


def report_results(
    report: BenchReport, fingerprint: Any, model_sha256: str | None = None, run_key: str | None = None
) -> list[Any]:
    """The store rows of a finished bench: one prefill and one decode result per depth."""
    s = report.settings
    build = report.llama_build or {}
    build_text = (
        f"xllamacpp {build.get('xllamacpp', '?')}, llama.cpp build {build.get('commit', '?')} "
        f"({build.get('build_number', '?')})"
    )
    tests = (report.prediction or {}).get("tests", {})
    model = Path(s.model_path).name
    info = model_info(s.model_path)
    key = run_key or f"{time.time_ns()}-{os.getpid()}"
    out = []
    for d in report.depths:
        planned = d.planned_tests
        for kind, name, stat, pname in (
            ("pp", d.prefill_test, d.prefill_tps, planned[0]),
            ("tg", d.decode_test, d.decode_tps, planned[1]),
        ):
            pred = tests.get(pname) or {}
            out.append(
                Result(
                    test=name,
                    tokens_per_s=stat.median,
                    tokens_per_s_stddev=stat.stdev,
                    samples=list(stat.samples),
                    source="rigfit bench",
                    machine_id=fingerprint.id,
                    hardware=fingerprint.hardware_name,
                    hardware_kind=fingerprint.hardware_kind,
                    n_devices=max(1, len(fingerprint.gpus)),
                    backend=build.get("backend") or ("CPU" if not fingerprint.gpus else ""),
                    model=model,
                    model_family=info.get("family", ""),
                    params_b=info.get("params_b"),
                    quant=info.get("quant", ""),
                    model_size_bytes=report.model_size_bytes,
                    model_sha256=model_sha256,
                    prompt_tokens=s.prompt if kind == "pp" else None,
                    gen_tokens=s.gen if kind == "tg" else None,
                    depth=d.cached_tokens if kind == "pp" else d.cached_tokens + s.prompt,
                    ngl=s.ngl,
                    threads=report.threads_used,
                    n_ctx=s.ctx,
                    ttft_s=d.ttft_s.median if kind == "pp" else None,
                    build=build_text,
                    build_number=build.get("build_number"),
                    build_commit=build.get("commit"),
                    predicted_tokens_per_s=pred.get("base_tps", pred.get("tps")),
                    prediction=pred or None,
                    notes=f"rigfit bench: median of {len(stat.samples)} after warm-up; "
                    f"spread {stat.spread_pct:.1f}% (min {stat.low:.2f}, max {stat.high:.2f})",
                    dedupe_key=f"bench:{key}:{name}",
                )
            )
    return out


def record_bench(store: Any, report: BenchReport, fingerprint: Any, model_sha256: str | None) -> Any:
    """Store a finished bench (one run, its results, the machine) in one transaction."""
    run = Run(
        source="rigfit bench",
        machine_id=fingerprint.id,
        model_path=report.settings.model_path,
        model_sha256=model_sha256,
        llama_build=json.dumps(report.llama_build),
        settings=report.settings.to_json(),
        buffers=report.buffers,
        prediction=report.prediction,
        load_s=report.load_s,
        wall_s=report.wall_s,
    )
    return store.add_run(run, report_results(report, fingerprint, model_sha256), fingerprint=fingerprint)


def record_failure(store: Any, settings: BenchSettings, fingerprint: Any, error: BenchError) -> Any:
    """Store a failed bench as a run with status ``failed`` (and no results)."""
    run = Run(
        source="rigfit bench",
        machine_id=fingerprint.id,
        model_path=settings.model_path,
        status="failed",
        error=f"{error.kind}: {error.message}",
        settings=settings.to_json(),
    )
    return store.add_run(run, (), fingerprint=fingerprint)


# --------------------------------------------------------------------------------------------
# the child side: python -m rigfit.measure.bench SPEC
# --------------------------------------------------------------------------------------------


def _child_main(spec_json: str) -> int:
    _die_with_parent()
    # The protocol gets a private copy of stdout; anything llama.cpp prints goes to the log.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def emit(**ev: Any) -> None:
        proto.write(json.dumps(ev) + "\n")
        proto.flush()

    spec = json.loads(spec_json)
    emit(event="start", pid=os.getpid())
    import xllamacpp  # lazy: optional llama.cpp binding (bench extra), loaded in the child only

    p = xllamacpp.CommonParams()
    p.model.path = spec["model_path"]
    p.n_ctx = int(spec["ctx"])
    p.n_parallel = 1
    p.verbosity = 4  # llama.cpp prints its buffer sizes at this level
    if spec.get("ngl") is not None:
        p.n_gpu_layers = int(spec["ngl"])
    if spec.get("threads"):
        p.cpuparams.n_threads = int(spec["threads"])
        p.cpuparams_batch.n_threads = int(spec["threads"])
    t0 = time.perf_counter()
    try:
        server = xllamacpp.Server(p)
    except Exception as exc:
        emit(event="error", kind="load", message=str(exc))
        return _EXIT_LOAD_FAILED
    load_s = time.perf_counter() - t0
    build = dict(xllamacpp.BUILD_INFO)
    build["xllamacpp"] = getattr(xllamacpp, "__version__", "")
    try:  # the compute backend, llama-bench style: "CUDA", "Metal", "Vulkan" … or "CPU"
        names = [str(d.get("name", "")) for d in xllamacpp.get_device_info()]
        accel = [re.sub(r"\d+$", "", n) for n in names if n and not n.upper().startswith("CPU")]
        build["backend"] = ",".join(dict.fromkeys(accel)) or "CPU"
        build["devices"] = names
    except Exception:
        pass
    emit(event="loaded", load_s=load_s, build=build, threads=int(p.cpuparams.n_threads))

    n_vocab = int(spec.get("n_vocab") or 32000)
    rng = random.Random(int(spec.get("seed", 0)))
    # random ids like llama-bench, kept clear of the low ids where vocabularies put special tokens
    hi = max(min(n_vocab, 32000), 2)
    lo = min(100, hi // 10)

    def tokens(n: int) -> list[int]:
        return [rng.randrange(lo, hi) for _ in range(n)]

    prompt, gen = int(spec["prompt"]), int(spec["gen"])
    plan = [("warmup", 0)] if spec.get("warmup", True) else []
    plan += [(r, d) for r in range(int(spec["repeat"])) for d in spec["depths"]]
    for step, (rep, depth) in enumerate(plan):
        base = tokens(depth)
        if depth:
            prime = server.handle_completions(
                {"prompt": base, "n_predict": 1, "cache_prompt": True, "temperature": 0}
            )
            if "error" in prime:
                emit(event="error", kind="run", message=json.dumps(prime["error"]))
                return _EXIT_RUN_FAILED
        req = {
            "prompt": base + tokens(prompt),
            "n_predict": gen if rep != "warmup" else min(gen, 8),
            "ignore_eos": True,
            "cache_prompt": bool(depth),
            "temperature": 0,
            "stream": True,
        }
        first: list[float] = []
        final: list[dict] = []

        def on_chunk(chunk: dict, first: list[float] = first, final: list[dict] = final) -> bool:
            if not first:
                first.append(time.perf_counter())
            if "timings" in chunk or "error" in chunk:
                final.append(chunk)
            return False

        t_req = time.perf_counter()
        server.handle_completions(req, on_chunk)
        if not final or "timings" not in final[-1]:
            msg = json.dumps(final[-1].get("error")) if final else "no timings returned"
            emit(event="error", kind="run", message=msg)
            return _EXIT_RUN_FAILED
        t = final[-1]["timings"]
        if rep == "warmup":
            emit(event="warmup", step=step, total=len(plan))
            continue
        emit(
            event="sample",
            step=step,
            total=len(plan),
            repeat=rep,
            depth=depth,
            cache_n=int(t.get("cache_n", 0)),
            prompt_n=int(t["prompt_n"]),
            prompt_ms=float(t["prompt_ms"]),
            predicted_n=int(t["predicted_n"]),
            predicted_ms=float(t["predicted_ms"]),
            ttft_s=(first[0] - t_req) if first else float(t["prompt_ms"]) / 1000.0,
        )
    emit(event="done")
    proto.close()
    del server
    return 0


if __name__ == "__main__":  # the child process
    sys.exit(_child_main(sys.argv[1]))
