"""``rigfit run --compare-fit``: llama.cpp's llama-fit-params on the same file and settings, its
choice shown next to the plan's.

A fake ``llama-fit-params`` on PATH prints what the real tool prints
(https://github.com/ggml-org/llama.cpp/blob/master/tools/fit-params/fit-params.cpp): log lines on
stderr, then the fitted arguments as one line on stdout (``-c N -ngl N [-ts …] [-ot "…"]``), or
"failed to fit CLI arguments to free memory" and exit code 1. It records the arguments it got.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import synth
from rigfit.cli import main
from rigfit.run.fitparams import FitChoice, comparison_rows, parse_fit_output
from rigfit.run.launch import LaunchSpec

FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "{argv}"
echo "build: 7100 (abcdef12) with cc for x86_64-linux-gnu" >&2
echo "llama_params_fit_impl: projected to use 412 MiB of device memory" >&2
{body}
"""


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("m")
    return synth.write_llama(d / "tiny-Q4_K_M.gguf", n_embd=256, n_ff=512, n_head=4, n_head_kv=2).path


def _fake_tool(tmp_path: Path, monkeypatch, body: str) -> Path:
    """A llama-fit-params on PATH; returns the file its argv lands in."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    argv = tmp_path / "argv.txt"
    tool = bindir / "llama-fit-params"
    tool.write_text(FAKE.format(argv=argv, body=body))
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return argv


def _main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    return int(info.value.code or 0)


def test_parse_fit_output_reads_every_printed_argument() -> None:
    rules = "blk\\.3\\.ffn_up_exps=CPU,blk\\.4\\.ffn_up_exps=CPU"
    out = f'llama-fit-params log\n-c 8192 -ngl 30 -ts 20,13 -ot "{rules}"\n'
    got = parse_fit_output(out)
    assert got == FitChoice(
        8192, 30, (20.0, 13.0), ("blk\\.3\\.ffn_up_exps=CPU", "blk\\.4\\.ffn_up_exps=CPU")
    )
    assert parse_fit_output("-c 4096 -ngl 0\n") == FitChoice(4096, 0)
    for bad in ("", "nothing fits\n", "-c four -ngl 1\n", "-c 4096\n"):
        with pytest.raises(ValueError):
            parse_fit_output(bad)


def test_comparison_rows_mark_what_differs() -> None:
    spec = LaunchSpec(model_path="m.gguf", n_ctx=4096, n_gpu_layers=33, tensor_split=(3.0, 1.0))
    rows = {name: same for name, _, _, same in comparison_rows(spec, FitChoice(4096, 33, (30.0, 10.0)))}
    assert all(rows.values())
    rows = {
        name: same for name, _, _, same in comparison_rows(spec, FitChoice(4096, 20, (1.0, 1.0), ("x=CPU",)))
    }
    assert rows == {
        "context (-c)": True,
        "GPU layers (-ngl)": False,
        "tensor split (-ts)": False,
        "tensor overrides (-ot)": False,
    }


def test_dry_run_runs_fit_params_with_the_same_file_and_settings(tmp_path, monkeypatch, gguf, capsys) -> None:
    argv = _fake_tool(tmp_path, monkeypatch, 'echo "-c 2048 -ngl 3"')
    code = _main(
        [
            "run",
            str(gguf),
            "--on",
            "RTX 4090",
            "--ctx",
            "2048",
            "--kv-type",
            "q8_0",
            "--dry-run",
            "--compare-fit",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    got = argv.read_text().split("\n")
    assert got[got.index("-m") + 1] == str(gguf.resolve()) or got[got.index("-m") + 1] == str(gguf)
    assert got[got.index("-c") + 1] == "2048" and got[got.index("-ctk") + 1] == "q8_0"
    assert "-ngl" not in got  # the layer count is what llama.cpp fits
    assert "llama-fit-params" in out and "GPU layers (-ngl)" in out
    assert "differs" in out  # the plan puts all 5 layers (4 + output) on the GPU, the fake says 3


def test_dry_run_json_carries_both_choices(tmp_path, monkeypatch, gguf, capsys) -> None:
    _fake_tool(tmp_path, monkeypatch, 'echo "-c 4096 -ngl 5"')
    code = _main(["run", str(gguf), "--on", "RTX 4090", "--dry-run", "--json", "--compare-fit"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    fit = out["compare_fit"]
    assert fit["choice"] == {"n_ctx": 4096, "n_gpu_layers": 5, "tensor_split": None, "overrides": []}
    assert fit["agree"] is (out["launch"]["n_gpu_layers"] == 5)
    assert fit["command"][0].endswith("llama-fit-params")


def test_user_fixed_layers_are_passed_on(tmp_path, monkeypatch, gguf, capsys) -> None:
    argv = _fake_tool(tmp_path, monkeypatch, 'echo "-c 4096 -ngl 2"')
    assert _main(["run", str(gguf), "--on", "RTX 4090", "--ngl", "2", "--dry-run", "--compare-fit"]) == 0
    got = argv.read_text().split("\n")
    assert got[got.index("-ngl") + 1] == "2"
    assert "differs" not in capsys.readouterr().out


def test_no_fit_is_reported_and_the_run_goes_on(tmp_path, monkeypatch, gguf, capsys) -> None:
    _fake_tool(
        tmp_path,
        monkeypatch,
        'echo "main: failed to fit CLI arguments to free memory, exiting..." >&2\nexit 1',
    )
    assert _main(["run", str(gguf), "--on", "RTX 4090", "--dry-run", "--compare-fit"]) == 0
    out = capsys.readouterr().out
    assert "no setting fits in free memory" in out and "Command" in out


def test_missing_tool_is_one_line_before_anything_runs(tmp_path, monkeypatch, gguf, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _main(["run", str(gguf), "--on", "RTX 4090", "--dry-run", "--compare-fit"]) == 2
    err = capsys.readouterr().err
    assert "llama-fit-params is not on PATH" in err and len(err.strip().splitlines()) == 1
    assert _main(["run", str(gguf), "--dry-run", "--fit-params-bin", "x"]) == 2
    assert "--compare-fit" in capsys.readouterr().err


def test_fit_params_bin_names_the_tool(tmp_path, monkeypatch, gguf, capsys) -> None:
    _fake_tool(tmp_path, monkeypatch, 'echo "-c 4096 -ngl 5"')
    tool = tmp_path / "bin" / "llama-fit-params"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    args = ["run", str(gguf), "--on", "RTX 4090", "--dry-run", "--compare-fit", "--fit-params-bin", str(tool)]
    assert _main(args) == 0
    assert "GPU layers (-ngl)" in capsys.readouterr().out
