"""``rigfit run … --bench``: a short measurement through the launched server, stored as
``rigfit bench`` stores its runs (issue 16).

A stand-in ``llama-server`` (``--engine-bin``) logs the plan's buffers as llama.cpp does, then
serves ``POST /completion`` on 127.0.0.1 as llama-server streams it
(https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md: ``data: {json}`` chunks,
the last one with ``timings``: prompt_n, prompt_ms, predicted_n, predicted_ms). Its timings are
fixed, so the stored rates are known exactly: 128 tokens in 64 ms = 2,000 tok/s prefill,
32 tokens in 320 ms = 100 tok/s decode.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import synth
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.measure.fingerprint import detect_fingerprint
from rigfit.plan import PlanSettings, make_plan

MIB = 1024**2
BOX = "Ryzen 7 5800X + 32GB"

SERVER = """\
#!{python}
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if "--help" in sys.argv:
    print("--fit [on|off]")
    sys.exit(0)
port = int(sys.argv[sys.argv.index("--port") + 1])
requests = []

class Completion(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        requests.append(body)
        n = len(body["prompt"])
        gen = body["n_predict"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i in range(gen - 1):
            self.wfile.write(b"data: " + json.dumps({{"content": "x", "stop": False}}).encode() + b"\\n\\n")
        last = {{"content": "", "stop": True, "timings": {{"prompt_n": n, "prompt_ms": n / 2.0,
                "predicted_n": gen, "predicted_ms": gen * 10.0}}}}
        self.wfile.write(b"data: " + json.dumps(last).encode() + b"\\n\\n")
        open({requests!r}, "a").write(json.dumps({{"prompt": n, "n_predict": gen}}) + "\\n")

    def log_message(self, *a):
        pass

httpd = ThreadingHTTPServer(("127.0.0.1", port), Completion)
sys.stderr.write({log!r})
listening = "main: server is listening on http://127.0.0.1:%d - starting the main loop\\n"
sys.stderr.write(listening % httpd.server_port)
sys.stderr.flush()
httpd.serve_forever()
"""


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    return synth.write_llama(tmp_path_factory.mktemp("m") / "tiny.gguf", n_embd=256, n_ff=512).path


def _buffer_log(gguf: Path) -> str:
    """llama.cpp's buffer lines for the plan rigfit run makes (the load verifies as ok)."""
    plan = make_plan(load_model_source(str(gguf)), resolve_machine(BOX), PlanSettings(), with_speed=False)
    (cpu,) = plan.devices
    assert cpu.repack_bytes == 0
    return (
        "build: 7123 (0a1b2c3d) with cc (GCC) 13.2.0 for x86_64-linux-gnu\n"
        f"load_tensors:   CPU_Mapped model buffer size = {cpu.weights_bytes / MIB:8.2f} MiB\n"
        f"llama_context:        CPU  output buffer size = {cpu.output_bytes / MIB:8.2f} MiB\n"
        f"llama_kv_cache:        CPU KV buffer size = {cpu.kv_bytes / MIB:8.2f} MiB\n"
        f"sched_reserve:        CPU compute buffer size = {cpu.compute_bytes / MIB:8.2f} MiB\n"
    )


def test_run_bench_measures_through_the_server_and_stores_like_rigfit_bench(
    gguf, tmp_path, monkeypatch, capsys
) -> None:
    from rigfit.cli import main
    from rigfit.measure.store import open_store

    monkeypatch.setenv("RIGFIT_DATA_DIR", str(tmp_path / "data"))
    requests = tmp_path / "requests.jsonl"
    engine = tmp_path / "llama-server"
    engine.write_text(
        textwrap.dedent(SERVER).format(python=sys.executable, log=_buffer_log(gguf), requests=str(requests))
    )
    engine.chmod(0o755)

    def ctrl_c_once_bench_stored() -> None:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            with contextlib.suppress(Exception), open_store(read_only=True) as s:
                if s.count("results"):
                    break
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_once_bench_stored, daemon=True).start()
    with pytest.raises(SystemExit) as exc:
        main(["run", str(gguf), "--on", BOX, "--engine-bin", str(engine), "--port", "0", "--bench"])
    out = capsys.readouterr().out
    assert exc.value.code == 0, out
    assert "Verified at load: ok" in out
    assert "Measured: prefill 2,000.0 tok/s, decode 100.0 tok/s" in out

    sent = [line for line in requests.read_text().splitlines() if line]
    assert len(sent) == 3  # a warm-up, then 2 repeats
    fp = detect_fingerprint()
    with open_store() as s:
        load, bench = s.runs()
        assert (load.source, bench.source) == ("rigfit run", "rigfit bench")
        assert bench.machine_id == fp.id and bench.model_path == str(gguf)
        rows = {r.test: r for r in s.results(run_id=bench.id)}
    assert set(rows) == {"pp128", "tg32@d128"}  # llama-bench names: 32 tokens after a 128-token prompt
    assert rows["pp128"].tokens_per_s == pytest.approx(2000.0)
    assert rows["tg32@d128"].tokens_per_s == pytest.approx(100.0)
    assert rows["pp128"].samples == pytest.approx([2000.0, 2000.0])
    assert all(r.machine_id == fp.id and r.source == "rigfit bench" for r in rows.values())
