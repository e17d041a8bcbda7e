"""rigfit's command line: a thin Typer layer over the library.

User mistakes (``RigfitError``) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from rigfit.cli.app import app, err_console
from rigfit.errors import RigfitError


def _load_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_cmd"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_commands()


def report_error(exc: RigfitError) -> None:
    """Print a user error as one line (plus an optional suggestion line) on stderr."""
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
    if exc.suggestion:
        err_console.print(f"  {exc.suggestion}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rigfit`` console script."""
    try:
        # standalone mode: Typer/Click print usage errors themselves and exit with code 2
        app(args=argv, prog_name="rigfit")
    except RigfitError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
