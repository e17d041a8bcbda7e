"""Launch an OpenAI-compatible llama.cpp server with exactly the settings of a plan.

:func:`launch_spec` reads a :class:`rigfit.plan.Plan` (read-only: its settings, ``n_ctx``, ``ngl``
and placement) into a :class:`LaunchSpec`; :func:`llama_server_args` writes that as a
``llama-server`` argument list (flags of llama.cpp's common/arg.cpp, 2026 releases):

* ``-c`` the planned context, ``-ngl`` the planned layer count (``0`` without GPUs), ``-fa``,
  ``-ctk``/``-ctv``, ``-np``, ``-kvu``, ``-ub``/``-b``, ``--swa-full``, ``-nkvo``, ``-ts``,
  ``--no-repack``, ``-t`` threads (the physical cores unless given), ``--host``/``--port``;
* ``-ot REGEX=CPU`` for every tensor the plan keeps in RAM although its layer is on a GPU (MoE
  experts: what ``--n-cpu-moe N`` means, written out tensor by tensor), merged per layer set;
* ``--fit off``: llama.cpp's own fitting would otherwise change the planned settings.

:class:`ServerProcess` runs the server in a child process group: the bundled ``xllamacpp`` server
(``python -m rigfit.run.child``, which serves HTTP itself) or the user's ``llama-server`` binary.
llama.cpp's log goes to a file (its buffer lines are what :mod:`rigfit.run.verify` compares);
:meth:`ServerProcess.stop` ends the whole group (SIGTERM, then SIGKILL) and waits for the port to
be free.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil

from rigfit.errors import RigfitError

#: llama-server's default port (https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md).
DEFAULT_PORT = 8080
_LISTEN_RE = re.compile(r"listening on (https?://\S+)")
# llama-server's first log line: "build: 6000 (1a2b3c4d) with cc … for x86_64-linux-gnu"
# (https://github.com/ggml-org/llama.cpp/blob/master/common/common.cpp, common_init)
_BUILD_RE = re.compile(r"build: (?P<number>\d+) \((?P<commit>[0-9a-f]+)\)")


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a llama.cpp server is started with (llama-server flag in brackets).

    model_path: the GGUF (``-m``). n_ctx (``-c``) [tokens]. n_gpu_layers (``-ngl``).
    flash_attn: on|off|auto (``-fa``). type_k / type_v (``-ctk``/``-ctv``). n_parallel (``-np``).
    kv_unified (``-kvu``). n_ubatch / n_batch (``-ub``/``-b``). swa_full (``--swa-full``).
    no_kv_offload (``-nkvo``). tensor_split (``-ts``). repack: False = ``--no-repack``.
    overrides: ``REGEX=BUFFER_TYPE`` tensor placements (``-ot``). threads (``-t``).
    host / port (``--host``/``--port``; port 0 = any free port). warmup: False = ``--no-warmup``.
    """

    model_path: str
    n_ctx: int
    n_gpu_layers: int
    flash_attn: str = "auto"
    type_k: str = "f16"
    type_v: str = "f16"
    n_parallel: int = 1
    kv_unified: bool = False
    n_ubatch: int = 512
    n_batch: int = 2048
    swa_full: bool = False
    no_kv_offload: bool = False
    tensor_split: tuple[float, ...] | None = None
    repack: bool | None = None
    overrides: tuple[str, ...] = ()
    threads: int | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    warmup: bool = True

    def to_json(self) -> dict:
        d = asdict(self)
        d["overrides"] = list(self.overrides)
        d["tensor_split"] = list(self.tensor_split) if self.tensor_split else None
        return d


def default_threads() -> int:
    """llama.cpp's default thread count: the physical cores (psutil), at least 1."""
    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def tensor_overrides(plan: Any) -> tuple[str, ...]:
    """``-ot`` rules for the tensors the plan keeps in RAM while their layer is on a GPU.

    Layers with the same set of such tensors share one rule:
    ``blk\\.(0|1|2)\\.(ffn_down_exps|ffn_gate_exps|ffn_up_exps)\\.weight=CPU``.
    """
    pl = plan.placement
    if pl is None or not pl.gpu_devices:
        return ()
    by_layer: dict[int, set[str]] = {}
    for t in plan.model.tensors:
        il = t.layer
        if il is None or il >= len(pl.layer_device) or pl.layer_device[il] == "CPU":
            continue
        if pl.tensor_device.get(t.name) == "CPU":
            by_layer.setdefault(il, set()).add(t.name.split(".", 2)[2])
    groups: dict[tuple[str, ...], list[int]] = {}
    for il, in_ram in sorted(by_layer.items()):
        groups.setdefault(tuple(sorted(in_ram)), []).append(il)
    rules = []
    for names, layers in groups.items():
        lay = str(layers[0]) if len(layers) == 1 else "(" + "|".join(map(str, layers)) + ")"
        ten = re.escape(names[0]) if len(names) == 1 else "(" + "|".join(re.escape(n) for n in names) + ")"
        rules.append(rf"blk\.{lay}\.{ten}=CPU")
    return tuple(rules)


def launch_spec(
    plan: Any,
    model_path: str | Path,
    *,
    threads: int | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    warmup: bool = True,
) -> LaunchSpec:
    """The exact server settings of ``plan`` for the GGUF at ``model_path``."""
    s = plan.settings
    has_gpu = bool(plan.placement is not None and plan.placement.gpu_devices)
    return LaunchSpec(
        model_path=str(model_path),
        n_ctx=int(plan.n_ctx),
        n_gpu_layers=int(plan.ngl) if has_gpu else 0,
        flash_attn=s.flash_attn,
        type_k=s.kv_type_k,
        type_v=s.kv_type_v,
        n_parallel=s.n_parallel,
        kv_unified=s.kv_unified,
        n_ubatch=s.n_ubatch,
        n_batch=s.n_batch,
        swa_full=s.swa_full,
        no_kv_offload=s.no_kv_offload,
        tensor_split=s.tensor_split,
        repack=s.repack,
        overrides=tensor_overrides(plan),
        threads=threads or default_threads(),
        host=host,
        port=port,
        warmup=warmup,
    )


def llama_server_args(spec: LaunchSpec, binary: str = "llama-server", fit_flag: bool = True) -> list[str]:
    """The ``llama-server`` command line of ``spec`` (``fit_flag``: add ``--fit off``, for builds that
    know it)."""
    a = [
        binary,
        "-m",
        spec.model_path,
        "-c",
        str(spec.n_ctx),
        "-ngl",
        str(spec.n_gpu_layers),
        "-fa",
        spec.flash_attn,
        "-ctk",
        spec.type_k,
        "-ctv",
        spec.type_v,
        "-np",
        str(spec.n_parallel),
        "-ub",
        str(spec.n_ubatch),
        "-b",
        str(spec.n_batch),
    ]
    if spec.kv_unified:
        a.append("-kvu")
    if spec.swa_full:
        a.append("--swa-full")
    if spec.no_kv_offload:
        a.append("-nkvo")
    if spec.tensor_split:
        a += ["-ts", ",".join(f"{x:g}" for x in spec.tensor_split)]
    if spec.repack is False:
        a.append("--no-repack")
    for rule in spec.overrides:
        a += ["-ot", rule]
    if spec.threads:
        a += ["-t", str(spec.threads)]
    if fit_flag:
        a += ["--fit", "off"]
    if not spec.warmup:
        a.append("--no-warmup")
    a += ["--host", spec.host, "--port", str(spec.port)]
    return a


def command_line(args: list[str]) -> str:
    """``args`` as one shell line (quoted where needed)."""
    return " ".join(shlex.quote(x) for x in args)


def find_engine(engine_bin: str | None) -> str | None:
    """The llama-server binary to use: ``engine_bin`` (a path or a name on PATH), else None (the
    bundled xllamacpp server). Raises when ``engine_bin`` is given but not found."""
    if not engine_bin:
        return None
    found = shutil.which(engine_bin)
    if found is None:
        raise RigfitError(
            f"--engine-bin {engine_bin}: no such executable.",
            "Give the path of llama-server, or leave --engine-bin out for the bundled server.",
        )
    return found


def binary_knows(binary: str, flag: str) -> bool:
    """Whether ``binary --help`` mentions ``flag`` (older llama-server builds lack ``--fit``)."""
    try:
        out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag in (out.stdout + out.stderr)


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (a TCP connect is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) != 0


class ServerProcess:
    """A llama.cpp server in its own process group.

    Start with :meth:`start`; :attr:`url` once listening; :attr:`log_path` is llama.cpp's log;
    :attr:`build` the llama.cpp build (xllamacpp only). :meth:`stop` ends the group.
    """

    def __init__(self, spec: LaunchSpec, log_path: str | Path, binary: str | None = None) -> None:
        self.spec = spec
        self.log_path = Path(log_path)
        self.binary = binary
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self.build: dict = {}
        self.load_s: float | None = None
        self._events: queue.Queue[dict | None] = queue.Queue()

    @property
    def args(self) -> list[str]:
        """The child's command: the bundled server, or the user's binary started through
        ``rigfit.run.child --exec`` so that it dies with rigfit (see that module)."""
        child = [sys.executable, "-m", "rigfit.run.child"]
        if self.binary:
            argv = llama_server_args(self.spec, self.binary, fit_flag=binary_knows(self.binary, "--fit"))
            return [*child, "--exec", str(os.getpid()), *argv]
        return [*child, json.dumps(self.spec.to_json()), str(os.getpid())]

    def start(self, timeout_s: float = 600.0) -> str:
        """Start the server and wait until it listens; returns its URL. Raises :class:`LaunchError`
        (with the log) when it exits or does not listen within ``timeout_s``."""
        if self.spec.port and not port_free(self.spec.host, self.spec.port):
            raise RigfitError(
                f"Port {self.spec.port} on {self.spec.host} is already in use.",
                "Pass another --port, or --port 0 for any free port.",
            )
        t0 = time.monotonic()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if not self.binary else log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        if not self.binary:
            threading.Thread(target=self._read_events, daemon=True).start()
        try:
            self.url = self._wait_listening(t0 + timeout_s)
        except BaseException:
            self.stop()
            raise
        self.load_s = time.monotonic() - t0
        return self.url

    def _read_events(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self._events.put(json.loads(raw))
        self._events.put(None)

    def _wait_listening(self, deadline: float) -> str:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.binary:
                text = self.log_text()
                m = _LISTEN_RE.search(text)
                if m:
                    b = _BUILD_RE.search(text)
                    self.build = {"engine": self.binary, "backend": ""}
                    if b:
                        self.build.update(build_number=int(b.group("number")), commit=b.group("commit"))
                    return m.group(1).rstrip("/")
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
                continue
            try:
                ev = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            if ev is None:
                break
            if ev.get("event") == "listening":
                self.build = ev.get("build", {})
                return str(ev["url"]).rstrip("/")
            if ev.get("event") == "error":
                break
        rc = self.proc.poll()
        raise LaunchError(
            "llama.cpp did not start listening" + (f" (exit code {rc})" if rc is not None else " in time"),
            str(self.log_path),
        )

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 15.0) -> None:
        """End the server's whole process group (SIGTERM, SIGKILL after ``timeout_s``) and wait until
        its port is free."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)  # anything the server left in its group
        if self.url:
            host, port = _host_port(self.url)
            end = time.monotonic() + 10
            while not port_free(host, port) and time.monotonic() < end:
                time.sleep(0.1)


class LaunchError(RigfitError):
    """llama.cpp did not come up (bad file, allocation failure …); ``log_path`` keeps its log."""

    exit_code = 1

    def __init__(self, message: str, log_path: str) -> None:
        super().__init__(message, f"llama.cpp's log: {log_path}")
        self.log_path = log_path


def _host_port(url: str) -> tuple[str, int]:
    u = urlparse(url)
    return u.hostname or "127.0.0.1", u.port or 80
