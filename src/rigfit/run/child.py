"""The child process of ``rigfit run`` with the bundled server: ``python -m rigfit.run.child SPEC_JSON``.

Loads the model into ``xllamacpp.Server`` with the :class:`rigfit.run.launch.LaunchSpec` given as
JSON, which serves llama.cpp's OpenAI-compatible HTTP API itself. Protocol on stdout (one JSON line
each): ``{"event": "listening", "url", "build"}`` once serving, ``{"event": "error", "message"}``
when llama.cpp refused the model. llama.cpp's log (verbosity 4: every buffer it allocates) goes to
stderr. SIGTERM or SIGINT shuts the server down (port freed) and exits 0.

``python -m rigfit.run.child --exec PARENT_PID BINARY ARGS…`` starts the user's ``llama-server``
the same way: it arranges to die with rigfit, then becomes the binary (``execvp``).

Either way the server never outlives rigfit (issue 18, defect 6): on Linux the child asks the kernel
for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``, kept across ``execve``; this covers
``kill -9`` of rigfit, which no handler sees), then checks the parent did not die before the call.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import sys
import threading
from typing import Any

_EXIT_LOAD_FAILED = 3
_EXIT_ORPHANED = 4
#: prctl option asking for a signal when the parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Be killed (SIGKILL) when the process ``parent_pid`` dies; exit now if it already has.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (https://man7.org/linux/man-pages/man2/prctl.2.html).
    Elsewhere nothing is armed: rigfit's signal handlers and ``ServerProcess.stop`` end the
    process group."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if parent_pid and os.getppid() != parent_pid:
        os._exit(_EXIT_ORPHANED)


def params_for(spec: dict[str, Any]) -> Any:
    """``xllamacpp.CommonParams`` of a LaunchSpec dict (lazy import: xllamacpp is optional)."""
    import xllamacpp as x

    fa = {
        "on": x.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_ENABLED,
        "off": x.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED,
        "auto": x.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_AUTO,
    }
    p = x.CommonParams()
    p.model.path = spec["model_path"]
    p.n_ctx = int(spec["n_ctx"])
    p.n_gpu_layers = int(spec["n_gpu_layers"])
    p.flash_attn_type = fa[spec["flash_attn"]]
    p.cache_type_k = getattr(x.ggml_type, "GGML_TYPE_" + spec["type_k"].upper())
    p.cache_type_v = getattr(x.ggml_type, "GGML_TYPE_" + spec["type_v"].upper())
    p.n_parallel = int(spec["n_parallel"])
    p.kv_unified = bool(spec["kv_unified"])
    p.n_ubatch = int(spec["n_ubatch"])
    p.n_batch = int(spec["n_batch"])
    p.swa_full = bool(spec["swa_full"])
    p.no_kv_offload = bool(spec["no_kv_offload"])
    if spec.get("tensor_split"):
        p.tensor_split = [float(v) for v in spec["tensor_split"]]
    if spec.get("repack") is False:
        p.no_extra_bufts = True
    if spec.get("overrides"):
        p.tensor_buft_overrides = ",".join(spec["overrides"])
    if spec.get("threads"):
        p.cpuparams.n_threads = int(spec["threads"])
        p.cpuparams_batch.n_threads = int(spec["threads"])
    p.hostnames = [spec["host"]]
    p.port = int(spec["port"])
    p.warmup = bool(spec.get("warmup", True))
    p.fit_params = False  # the plan's settings, not llama.cpp's own fitting
    p.verbosity = 4  # llama.cpp logs every buffer it allocates at this level
    return p


def _build_info() -> dict:
    # lazy: xllamacpp is the optional bench/run extra (a large native library)
    import xllamacpp as x

    build = dict(x.BUILD_INFO)
    build["xllamacpp"] = getattr(x, "__version__", "")
    try:
        names = [str(d.get("name", "")) for d in x.get_device_info()]
        accel = [re.sub(r"\d+$", "", n) for n in names if n and not n.upper().startswith("CPU")]
        build["backend"] = ",".join(dict.fromkeys(accel)) or "CPU"
        build["devices"] = names
    except Exception:
        pass
    return build


def exec_binary(parent_pid: int, argv: list[str]) -> None:
    """Arm :func:`die_with_parent`, then become ``argv`` (the user's llama-server)."""
    die_with_parent(parent_pid)
    os.execvp(argv[0], argv)


def main(spec_json: str, parent_pid: int = 0) -> int:
    die_with_parent(parent_pid)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything llama.cpp prints goes to the log

    def emit(**ev: Any) -> None:
        proto.write(json.dumps(ev) + "\n")
        proto.flush()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # lazy: xllamacpp is the optional bench/run extra (a large native library)
    import xllamacpp

    spec = json.loads(spec_json)
    try:
        server = xllamacpp.Server(params_for(spec))
    except Exception as exc:
        emit(event="error", message=str(exc))
        return _EXIT_LOAD_FAILED
    emit(event="listening", url=server.listening_address, build=_build_info(), pid=os.getpid())
    while not stop.wait(0.5):
        pass
    del server  # stops the HTTP server and llama.cpp's loop, frees the port
    emit(event="stopped")
    proto.close()
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--exec":
        exec_binary(int(sys.argv[2]), sys.argv[3:])
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
