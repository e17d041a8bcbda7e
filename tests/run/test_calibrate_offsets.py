"""``rigfit calibrate`` fits this machine's per-backend buffer offsets from stored ``rigfit run``
loads, and later plans for this machine add them (issue 16).

The loads are real plans of a synthetic GGUF for this machine, compared with llama.cpp logs whose
buffers are the plan's plus a known excess (as tests/run/test_launch_verify.py builds them), and
stored with :func:`rigfit.run.verify.record_run` exactly as ``rigfit run`` stores them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import synth
from rigfit.cli import _load_commands
from rigfit.cli.app import app
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import detect_local_machine, resolve_machine
from rigfit.measure.fingerprint import detect_fingerprint
from rigfit.measure.llamacpp_log import BufferLog
from rigfit.measure.overheads import backend_of, fit_offsets, local_offsets
from rigfit.measure.store import Run, open_store
from rigfit.plan import PlanSettings, make_plan
from rigfit.run.launch import launch_spec
from rigfit.run.verify import compare, planned_buffers, record_run

MIB = 1024**2
_load_commands([])
runner = CliRunner()


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    return synth.write_llama(tmp_path_factory.mktemp("m") / "tiny.gguf", n_embd=256, n_ff=512).path


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RIGFIT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _plan(gguf: Path, machine=None):
    machine = machine if machine is not None else detect_local_machine()
    return make_plan(load_model_source(str(gguf)), machine, PlanSettings(n_ctx=2048), with_speed=False)


def _log(plan, extra: dict[tuple[str, str], int]) -> BufferLog:
    log = BufferLog()
    for d in plan.devices:
        for kind, b in (
            ("model", d.weights_bytes + d.repack_bytes),
            ("KV", d.kv_bytes),
            ("compute", d.compute_bytes),
            ("output", d.output_bytes),
        ):
            b += extra.get((d.name, kind), 0)
            if b:
                log.buffers.setdefault(kind, {})[d.name] = round(b / MIB, 2)
    return log


def _store_load(plan, gguf: Path, extra: dict[tuple[str, str], int], error: str | None = None) -> None:
    spec = launch_spec(plan, gguf, port=0)
    log = _log(plan, extra)
    with open_store() as store:
        record_run(
            store,
            plan,
            spec.to_json(),
            compare(plan, log),
            detect_fingerprint(),
            model_path=str(gguf),
            model_sha256=None,
            build={"engine": "test"},
            load_s=0.1,
            log=log,
            error=error,
        )


def test_backend_names() -> None:
    assert [backend_of(n) for n in ("CUDA0", "CUDA1", "Vulkan0", "CPU", "Metal")] == [
        "CUDA",
        "CUDA",
        "Vulkan",
        "CPU",
        "Metal",
    ]


def test_fit_is_the_median_per_backend_over_completed_loads_only() -> None:
    def run(devices: list[tuple[str, int, int]], status: str = "ok", source: str = "rigfit run") -> Run:
        v = {
            "status": status,
            "devices": [
                {"device": d, "planned_buffers_bytes": p, "real_buffers_bytes": r} for d, p, r in devices
            ],
        }
        return Run(source=source, status="ok", buffers={"verification": v})

    runs = [
        run([("CUDA0", 100 * MIB, 110 * MIB), ("CPU", 50 * MIB, 50 * MIB)]),
        run([("CUDA0", 100 * MIB, 106 * MIB), ("CUDA1", 90 * MIB, 98 * MIB), ("CPU", 50 * MIB, 51 * MIB)]),
        run([("CUDA0", 100 * MIB, 900 * MIB)], status="oom"),  # partial log: ignored
        run([("CUDA0", 100 * MIB, 900 * MIB)], source="llama-bench json"),  # not a load
    ]
    got = {o.backend: o for o in fit_offsets(runs)}
    assert got["CUDA"].offset_bytes == 8 * MIB and got["CUDA"].n_runs == 2 and got["CUDA"].n_samples == 3
    assert (got["CUDA"].low_bytes, got["CUDA"].high_bytes) == (6 * MIB, 10 * MIB)
    assert got["CPU"].offset_bytes == MIB // 2 and got["CPU"].n_runs == 2


def test_runs_feed_calibrate_and_later_plans_on_this_machine(gguf, data_dir) -> None:
    before = _plan(gguf)
    cpu = next(d for d in before.devices if d.name == "CPU")
    assert cpu.fitted_offset_bytes == 0
    for extra in ({("CPU", "compute"): 3 * MIB}, {("CPU", "compute"): 5 * MIB}, {("CPU", "KV"): 4 * MIB}):
        _store_load(before, gguf, extra)
    _store_load(before, gguf, {("CPU", "compute"): 500 * MIB}, error="oom: CPU compute")  # not counted

    result = runner.invoke(app, ["calibrate"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Buffer offsets per backend" in result.output and "+4.00" in result.output

    offsets = local_offsets()
    assert abs(offsets["CPU"] - 4 * MIB) <= 0.02 * MIB  # the log rounds buffers to 0.01 MiB
    after = _plan(gguf)
    cpu_after = next(d for d in after.devices if d.name == "CPU")
    assert cpu_after.fitted_offset_bytes == offsets["CPU"]
    assert cpu_after.total_bytes == cpu.total_bytes + offsets["CPU"]
    assert "rigfit calibrate" in cpu_after.fitted_offset_source
    # the offset is a separate term: the buffers a later load is compared with stay the model's own
    assert planned_buffers(after) == planned_buffers(before)
    # another machine's plan is not touched
    other = _plan(gguf, resolve_machine("Ryzen 7 5800X + 32GB"))
    assert all(d.fitted_offset_bytes == 0 for d in other.devices)


def test_calibrate_with_runs_only_and_json(gguf, data_dir) -> None:
    plan = _plan(gguf)
    _store_load(plan, gguf, {("CPU", "compute"): 2 * MIB})
    result = runner.invoke(app, ["calibrate", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["factors"] == {} and out["fits"] == []
    cpu = out["details"]["buffer_offsets"]["CPU"]
    assert abs(cpu["offset_bytes"] - 2 * MIB) <= 0.02 * MIB and cpu["n_runs"] == 1


def test_nothing_stored_is_one_line(data_dir) -> None:
    result = runner.invoke(app, ["calibrate"])
    assert result.exit_code == 2
    assert "rigfit run" in result.stderr and len(result.stderr.strip().splitlines()) == 1
