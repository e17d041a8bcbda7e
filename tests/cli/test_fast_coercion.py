"""The CLI's option fast path (rigfit.cli.coerce) gives what Typer's own coercion gives.

Typer converts option values through pydantic; rigfit converts the plain ones itself (start-up
time) and defers everything else to Typer. These tests hold the two to the same answers: values
and types on many spellings, and byte-identical output and exit codes on good and bad command
lines with the fast path on and off. One test also fails when a Typer upgrade silently turns the
fast path off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.core
from tests.clirun import run_cli

import rigfit.cli
from rigfit.cli import coerce

SRC = Path(__file__).resolve().parents[2] / "src"

SPELLINGS = [
    "0",
    "1",
    "-1",
    "7",
    "8192",
    "-0",
    "-0.0",
    "0.0",
    "007",
    "0.5",
    ".5",
    "5.",
    "1.25",
    "-3.75",
    "10.000",
    "1e3",
    "1E-2",
    "1_000",
    " 7",
    "7 ",
    "+7",
    "0x10",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "abc",
    "",
    "12345678901234567",
    "123456789012345678",
    "1234567890123456789",
    "99999999999999999999999",
    "0.1234567890123456",
    "123456789012345.123456789012345",
    "٣",  # an Arabic-Indic digit
    "3.0",
    "llama-3.1-8b",
    "RTX 3060 12GB + 32GB DDR4-3200",
    "caf\u00e9",
    "bad\udcff",  # an undecodable argv byte (surrogateescape)
]


def _typer_value(annotation: Any, value: Any) -> tuple[bool, Any]:
    """(ok, value) from Typer's own pydantic adapter for ``annotation``."""
    from pydantic import ValidationError
    from typer._adapters import try_build_adapter  # Typer's coercion, as its options use it
    from typer.models import OptionInfo

    adapter = try_build_adapter(annotation, OptionInfo())
    assert adapter is not None
    try:
        return True, adapter.validate_python(value)
    except ValidationError:
        return False, None


@pytest.mark.parametrize("annotation", [str, int, float])
def test_convert_agrees_with_typer(annotation: type) -> None:
    values: list[Any] = [*SPELLINGS, 0, 3, -2, 36, 0.9, 2.5, 10**12]
    deferred = 0
    for v in values:
        got = coerce.convert(annotation, v, multi=False)
        if got is coerce._DEFER:
            deferred += 1
            continue
        ok, want = _typer_value(annotation, v)
        assert ok, (annotation, v, got)
        assert type(got) is type(want) and repr(got) == repr(want), (annotation, v, got, want)
    assert deferred < len(values)  # the fast path takes some values: it is not vacuous


def test_convert_lists_agree_with_typer() -> None:
    for value in [(), ("a", "b"), ["RTX 3090"], ("x", "bad\udcff")]:
        got = coerce.convert(list[str], value, multi=True)
        if got is coerce._DEFER:
            assert "bad\udcff" in value
            continue
        ok, want = _typer_value(list[str], value)
        assert ok and got == want and type(got) is type(want)
    assert coerce.convert(list[str], None, multi=True) == ()
    assert coerce.convert(list[int], ("1", "x"), multi=True) is coerce._DEFER
    assert coerce.convert(list[str], "a", multi=True) is coerce._DEFER


COMMAND_LINES = [
    [
        "plan",
        "llama-3.1-8b",
        "--on",
        "RTX 3060 12GB",
        "--json",
        "--ctx",
        "8192",
        "--gpu-memory-utilization",
        "0.85",
    ],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "abc"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "1e3", "--json"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "0x10"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "-5"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--accept-rate", "nan", "--draft", "llama-3.2-1b"],
    ["plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--users", "2.5"],
    ["plan", "--on", "RTX 3060 12GB"],
    ["plan", "bad\udcff", "--on", "RTX 3060 12GB"],
    ["recommend", "--json"],
    ["recommend", "--on", "RTX 3060 12GB", "--limit", "x", "--json"],
    ["recommend", "--on", "RTX 3060 12GB", "--min-tps", "abc"],
    ["floor", "llama-3.1-8b", "--min-tps", "1.5e9"],
    ["hardware", "RTX 3060 12GB", "RTX 3090", "--json"],
    ["plan", "--help"],
    ["--version"],
    ["cost", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--hours-per-day", "4", "--json"],
]


@pytest.mark.parametrize("args", COMMAND_LINES, ids=lambda a: " ".join(a)[:60])
def test_same_output_with_and_without_fast_path(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = run_cli(*args)
    with monkeypatch.context() as m:
        m.setattr(coerce, "_fast_process_value", lambda param, annotation, typer_process: typer_process)
        slow = run_cli(*args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_fast_path_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain options never reach Typer's pydantic coercion (a Typer upgrade that breaks the
    hook shows here, not only as a slower start-up)."""
    slow: list[str] = []
    original = typer.core._TyperParameter.get_runtime_param

    def spy(self: Any) -> Any:
        slow.append(self.name)
        return original(self)

    monkeypatch.setattr(typer.core._TyperParameter, "get_runtime_param", spy)
    monkeypatch.setattr(rigfit.cli, "_plan_fast", lambda argv: False)  # plan through Typer here
    r = run_cli("plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "8192", "--json")
    assert r.exit_code == 0
    assert slow == []
    r = run_cli("plan", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--ctx", "8e3")
    assert r.exit_code == 2 and slow == ["ctx"]  # an unusual spelling goes to Typer


def test_plan_process_imports_neither_pydantic_nor_numpy() -> None:
    code = (
        "import sys; from rigfit.cli import main\n"
        "try:\n    main(['plan', 'llama-3.1-8b', '--on', 'RTX 3060 12GB', '--json', '--ctx', '4096'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'numpy'}), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[]"
