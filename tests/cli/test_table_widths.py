"""Every command's table fits 60, 80, 100 and 160 columns: no line wider than the terminal, no
header or verdict word cut to "…" (issue 17, "Tables break in narrow terminals")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clirun import run_cli
from rigfit.cli import app as cli_app

WIDTHS = (60, 80, 100, 160)
BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
LB = Path(__file__).resolve().parents[1] / "data" / "llama_bench"


@pytest.fixture(autouse=True)
def _console_follows_columns() -> Iterator[None]:
    """The shared consoles read COLUMNS at each print (not once at import)."""
    saved = cli_app.console._width, cli_app.err_console._width
    cli_app.console._width = cli_app.err_console._width = None
    yield
    cli_app.console._width, cli_app.err_console._width = saved


def _assert_fits(text: str, width: int, words: tuple[str, ...] = ()) -> None:
    lines = text.splitlines()
    assert lines, "no output"
    too_wide = [ln for ln in lines if len(ln) > width]
    assert not too_wide, f"{len(too_wide)} line(s) wider than {width}:\n" + "\n".join(too_wide[:5])
    cut = [ln for ln in lines if "…" in ln]
    assert not cut, f"a word is cut at {width} columns:\n" + "\n".join(cut[:5])
    for w in words:
        assert w in text, f"{w!r} missing at {width} columns"


def _run(width: int, *args: str, **kw) -> str:
    env = {"COLUMNS": str(width), **kw.pop("env", {})}
    out = run_cli(*args, env=env, **kw)
    assert out.exit_code == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("width", WIDTHS)
def test_plan_memory_table_fits(width):
    text = _run(width, "plan", "llama-3.1-8b", "--on", BOX)
    _assert_fits(text, width, ("device", "total", "fits", "CUDA0"))


@pytest.mark.parametrize("width", WIDTHS)
def test_models_list_fits(width):
    text = _run(width, "models")
    _assert_fits(text, width, ("qwen3-30b-a3b-instruct-2507", "params"))


@pytest.mark.parametrize("width", WIDTHS)
def test_hardware_list_fits_sorted_without_duplicates(width):
    text = _run(width, "hardware", "--list")
    _assert_fits(text, width, ("GB/s", "memory"))


def test_hardware_list_is_sorted_by_kind_then_name_without_duplicates():
    rows = [ln for ln in _run(160, "hardware", "--list").splitlines() if ln.startswith("│")]
    assert len(rows) == len(set(rows)), "duplicate rows"
    keys = [tuple(c.strip().lower() for c in ln.strip("│").split("│")[:2]) for ln in rows]
    names = [k for k in keys if k[0]]
    assert names == sorted(names, key=lambda k: (k[1], k[0]))


@pytest.mark.parametrize("width", WIDTHS)
def test_floor_fits_and_names_each_source_once(width):
    text = _run(width, "floor", "llama-3.1-70b", "--ctx", "8192", "--min-tps", "10")
    _assert_fits(text, width, ("fits", "price"))
    flat = " ".join(text.split())
    # the DRAM price source is shared by every PC row: printed once, not once per row
    assert flat.count("axbrief.com") == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_cost_fits_and_names_each_source_once(width):
    text = _run(
        width, "cost", "llama-3.1-8b", "--on", BOX, "--hours-per-day", "4", "--hosted-monthly-usd", "20"
    )
    _assert_fits(text, width, ("break-even", "quantity"))
    flat = " ".join(text.split())
    assert flat.count("axbrief.com") == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_recommend_fits(width):
    text = _run(width, "recommend", "--on", BOX, "--limit", "5")
    _assert_fits(text, width, ("model", "quant"))


@pytest.mark.parametrize("width", WIDTHS)
def test_check_fits(width):
    claims = (
        "Llama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060\nLlama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060\n"
    )
    text = _run(width, "check", "-", input=claims)
    _assert_fits(text, width, ("IMPOSSIBLE", "OK"))


@pytest.mark.parametrize("width", WIDTHS)
def test_results_fits(width, tmp_path):
    env = {"RIGFIT_DATA_DIR": str(tmp_path / "data")}
    imported = run_cli(
        "results", "--import", str(LB / "rtx3060_llama8b.md"), "--hardware", "RTX 3060 12GB", env=env
    )
    assert imported.exit_code == 0, imported.stderr
    text = _run(width, "results", env=env)
    _assert_fits(text, width, ("pp512", "tok/s"))


@pytest.mark.parametrize("width", WIDTHS)
def test_plan_users_and_kv_type_tables_fit(width):
    text = _run(width, "plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--users", "4", "--kv-types")
    _assert_fits(text, width, ("users", "q8_0", "fits"))


@pytest.mark.parametrize("width", WIDTHS)
def test_hardware_device_table_fits(width):
    text = _run(width, "hardware", "NVIDIA H100 80GB HBM3")
    _assert_fits(text, width, ("bandwidth", "memory"))
