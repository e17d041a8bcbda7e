"""Run ``rigfit ARGS`` in-process with Typer's ``CliRunner`` (so coverage sees the CLI code).

The runner calls :func:`rigfit.cli.main`, the console script's entry point, not the bare Typer app:
``main`` is where a ``RigfitError`` becomes one line on stderr and its exit code (2 for user
errors), and where ``rigfit inspect FILE --json`` takes its fast path. A test therefore sees the
same exit code, stdout and stderr as a user in a shell. An unexpected exception (a bug that would
print a traceback) is not swallowed into exit code 1: it propagates and fails the test with its
traceback.

True end-to-end runs of ``python -m rigfit`` in a fresh process live in tests/e2e/.
"""

from __future__ import annotations

from collections.abc import Mapping

import typer
from typer.testing import CliRunner
from typer.testing import Result as CliResult

from rigfit.cli import app as _cli_app
from rigfit.cli import main

# rich fixes a Console's width at construction when COLUMNS is set then (pytest-xdist workers run
# with COLUMNS=80), so the shared consoles would ignore the COLUMNS each test passes in ``env``.
# Unfixed, they read COLUMNS at every print, as in a user's shell where it does not change.
_cli_app.console._width = _cli_app.err_console._width = None

_entry = typer.Typer(add_completion=False)


@_entry.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "allow_interspersed_args": False,
        "help_option_names": [],
    }
)
def _rigfit(ctx: typer.Context) -> None:
    """Hand the whole command line to rigfit's entry point (which exits through SystemExit)."""
    main(list(ctx.args))


def run_cli(*args: str, input: str | None = None, env: Mapping[str, str | None] | None = None) -> CliResult:
    """``rigfit ARGS`` in-process: ``.exit_code``, ``.stdout``, ``.stderr`` (kept apart), ``.output``.

    ``input`` is fed to stdin; ``env`` overrides environment variables for the run only (``None``
    as a value removes one).
    """
    return CliRunner().invoke(
        _entry, list(args), input=input, env=env, catch_exceptions=False, prog_name="rigfit"
    )
