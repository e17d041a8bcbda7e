"""``rigfit bench`` warns when its repeats disagree (a busy machine) and its table fits narrow
terminals (issue 17, "Noisy measurements are trusted", "Tables break in narrow terminals")."""

from __future__ import annotations

import pytest
from rich.console import Console

from rigfit.cli import bench_cmd
from rigfit.cli.bench_cmd import NOISY_SPREAD_PCT, _render, noise_warning
from rigfit.measure.bench import BenchReport, BenchSettings, DepthResult, Stat
from rigfit.measure.fingerprint import Fingerprint


def _report(decode_samples: list[float]) -> BenchReport:
    depth = DepthResult(
        depth=0,
        prompt=512,
        gen=64,
        prefill_tps=Stat.of([400.0, 405.0, 410.0]),
        decode_tps=Stat.of(decode_samples),
        ttft_s=Stat.of([1.25, 1.26, 1.27]),
        cached_tokens=0,
    )
    pred = {
        "tests": {
            "pp512": {"tps": 400.0, "low": 170.0, "high": 570.0, "ttft_s": 1.28},
            "tg64@d512": {"tps": 40.0, "low": 30.0, "high": 47.0},
        },
        "provenance": "estimated",
    }
    return BenchReport(
        settings=BenchSettings("gemma-3-270m-q4_k_m.gguf"),
        depths=[depth],
        model_size_bytes=253_113_024,
        model_sha256=None,
        llama_build={"xllamacpp": "test"},
        threads_used=2,
        load_s=1.4,
        wall_s=12.0,
        prediction=pred,
    )


def test_quiet_repeats_give_no_warning():
    assert noise_warning(_report([37.5, 37.6, 37.8])) is None


def test_busy_machine_is_named_and_more_repeats_suggested():
    warning = noise_warning(_report([25.0, 37.0, 38.0]))
    assert warning is not None and NOISY_SPREAD_PCT == 10.0
    assert "decode tg64@d512 35%" in warning and "--repeat" in warning and "busy" in warning


@pytest.mark.parametrize("width", (60, 80, 100, 160))
def test_bench_table_fits_and_shows_the_warning(width, monkeypatch, tmp_path):
    fp = Fingerprint(
        cpu="Intel Xeon", cpu_cores=2, cpu_threads=2, ram_bytes=24 * 2**30, os="Linux", arch="x86_64"
    )
    with (tmp_path / "out.txt").open("w") as sink:
        console = Console(width=width, record=True, file=sink)
        monkeypatch.setattr(bench_cmd, "console", console)
        _render(_report([25.0, 37.0, 38.0]), fp, None)
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(ln) <= width for ln in lines), text
    assert "…" not in text and "measured" in text and "warning:" in text
