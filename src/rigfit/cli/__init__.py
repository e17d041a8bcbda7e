"""rigfit's command line: a thin Typer layer over the library.

User mistakes (``RigfitError``) become one line on stderr and exit code 2, never a traceback. With
``--json`` on the command line the error is also a JSON object on stdout
(``{"schema": "rigfit.error/1", "error": ..., "hint": ...}``), with the same exit code.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from rigfit import codecache
from rigfit.errors import RigfitError

#: Whether the command line being run asked for ``--json`` (set by :func:`main`): errors then
#: also go to stdout as JSON.
_json_errors = False


def wants_json(argv: list[str]) -> bool:
    """Whether ``argv`` asks for JSON output (``--json`` before any ``--``)."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in words


def json_mode() -> bool:
    """Whether the command line :func:`main` is running asked for ``--json``."""
    return _json_errors


def write_json_error(message: str, hint: str | None) -> None:
    """Print ``{"schema": "rigfit.error/1", "error": ..., "hint": ...}`` on stdout."""
    # lazy: CLI start-up imports as little as possible
    from rigfit.jsonout import error_json, to_json_text

    sys.stdout.write(to_json_text(error_json(message, hint)) + "\n")


def _command_modules() -> dict[str, str]:
    """Command name -> module name: ``plan_cmd`` registers ``plan``, ``foo_bar_cmd`` ``foo-bar``."""
    try:  # the package folder's listing: what pkgutil.iter_modules finds, without importing pkgutil
        names = sorted(
            {f[: -len(".py")] for folder in __path__ for f in os.listdir(folder) if f.endswith("_cmd.py")}
        )
    except OSError:  # not a folder (a zipped install)
        import pkgutil

        names = [info.name for info in pkgutil.iter_modules(__path__) if info.name.endswith("_cmd")]
    return {name[: -len("_cmd")].replace("_", "-"): name for name in names}


def _load_commands(argv: list[str] | None = None) -> None:
    """Import the command modules; only the one asked for when the command line names it.

    Importing every command (and through them the whole library) costs ~0.3 s; a single command
    such as ``rigfit inspect FILE`` should start in a fraction of that.
    """
    modules = _command_modules()
    words = [a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("-")]
    wanted = modules.get(words[0]) if words else None
    names = [wanted] if wanted else sorted(modules.values())
    for name in names:
        importlib.import_module(f"{__name__}.{name}")


def error_line(exc: RigfitError) -> str:
    """A user error as one plain line: message, then the suggestion; control characters from
    file names or file contents shown as \\xNN so nothing reaches the terminal raw."""
    # lazy: CLI start-up imports as little as possible
    from rigfit.safeio import clean_text

    text = f"{exc.message}  {exc.suggestion}" if exc.suggestion else exc.message
    return clean_text(text).replace("\n", " ")


def report_error(exc: RigfitError) -> None:
    """Print a user error as one line (message and suggestion) on stderr; in ``--json`` mode also
    as JSON on stdout."""
    if _json_errors:
        write_json_error(exc.message, exc.suggestion)
    # lazy: loaded only when needed, so CLI start-up (and `rigfit --help`) stays fast
    from rich.markup import escape

    from rigfit.cli.consoles import err_console

    # messages are plain text (they quote file names and commands like 'rigfit[bench]'): escape markup
    err_console.print(f"[bold red]error:[/] {escape(error_line(exc))}", highlight=False, soft_wrap=True)


def _inspect_json_fast(argv: list[str]) -> bool:
    """``rigfit inspect PATH --json`` without the CLI framework.

    Scripts run it over whole model folders; Typer, Click, pydantic and rich cost ~150 ms per call,
    several times the header read itself. Same library call, same JSON, same errors and exit codes.
    """
    if len(argv) != 3 or argv[0] != "inspect" or "--json" not in argv[1:]:
        return False
    path = argv[2] if argv[1] == "--json" else argv[1]
    if path.startswith("-"):
        return False
    # lazy: loaded only when needed, so CLI start-up (and `rigfit --help`) stays fast
    from rigfit.formats.inspect import inspect_source
    from rigfit.jsonout import to_json_text, with_schema

    try:
        summary = inspect_source(path)
    except RigfitError as exc:
        write_json_error(exc.message, exc.suggestion)
        sys.stderr.write(f"error: {error_line(exc)}\n")
        sys.exit(exc.exit_code)
    sys.stdout.write(to_json_text(with_schema("rigfit.inspect/1", summary)) + "\n")
    return True


def _plan_fast(argv: list[str]) -> bool:
    """``rigfit plan …`` without the CLI framework, when :func:`rigfit.cli.plan_fast.parse` reads
    the command line exactly as Click would (else False: Typer runs it).

    Typer and Click cost ~10 % of a whole ``rigfit plan`` process, a command people run over and
    over (issue 15). Same function, same output, errors and exit codes as through Typer
    (:func:`_run_fast`).
    """
    if not argv or argv[0] != "plan":
        return False
    # lazy: loaded only when needed, so CLI start-up (and `rigfit --help`) stays fast
    from rigfit.cli.plan_fast import parse
    from rigfit.cli.plan_options import DEFAULTS
    from rigfit.cli.plan_view import run_plan

    kwargs = parse(argv[1:], DEFAULTS)
    if kwargs is None:
        return False
    _run_fast(run_plan, kwargs, argv)
    return True


def _recommend_fast(argv: list[str]) -> bool:
    """``rigfit recommend …`` without the CLI framework, when
    :func:`rigfit.cli.recommend_fast.parse` reads the command line exactly as Click would (else
    False: Typer runs it). Importing Typer costs ~25 ms CPU of the process (issue 15)."""
    if not argv or argv[0] != "recommend":
        return False
    # lazy: loaded only when needed, so CLI start-up (and `rigfit --help`) stays fast
    from rigfit.cli.recommend_fast import parse
    from rigfit.cli.recommend_view import run_recommend

    kwargs = parse(argv[1:], run_recommend.__kwdefaults__ or {})
    if kwargs is None:
        return False
    _run_fast(run_recommend, kwargs, argv)
    return True


def _run_fast(run: Callable[..., None], kwargs: dict[str, Any], argv: list[str]) -> None:
    """``run(**kwargs)`` as the Typer command that calls it runs: a user error is one line (and
    JSON in ``--json`` mode) with its exit code, Ctrl-C exits 130 and a closed pipe exits 1, as
    Typer's own main loop does."""
    global _json_errors
    _json_errors = wants_json(argv)
    try:
        run(**kwargs)
    except RigfitError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from rigfit.cli.app import click  # lazy: only for a closed pipe

        sys.stdout = click.utils.PacifyFlushWrapper(sys.stdout)
        sys.stderr = click.utils.PacifyFlushWrapper(sys.stderr)
        sys.exit(1)
    finally:
        _json_errors = False


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rigfit`` console script."""
    global _json_errors
    args = list(sys.argv[1:] if argv is None else argv)
    codecache.install()  # before the commands' modules define their dataclasses
    if _inspect_json_fast(args) or _plan_fast(args):
        return
    paused = _gc_off_for(args)
    try:
        if not _recommend_fast(args):
            _load_commands(args)
            _json_errors = wants_json(args)
            _run_app(args)
    except SystemExit as exc:
        if paused and argv is None:  # the console script: leave without tearing the heap down
            _exit_now(exc)
        raise
    finally:
        _json_errors = False
        if paused and argv is not None:  # called in-process (tests): the collector as it was
            gc.enable()
    if paused and argv is None:
        _exit_now(SystemExit(0))


def _exit_now(exc: SystemExit) -> None:
    """End the process as ``raise exc`` would, without the interpreter's teardown: a recommend
    ladder leaves ~10⁶ objects, and freeing them one by one at exit costs ~0.25 s CPU of a ~1.4 s
    run (issue 15). The exit handlers still run (the disk caches are written) and stdout and
    stderr are flushed first; anything unusual (an exit status that is not a number, another
    thread still running, a failing flush) returns, and the normal exit takes over."""
    import atexit
    import threading

    code = exc.code
    if code is None:
        code = 0
    if type(code) is not int or threading.active_count() != 1:
        return
    try:
        atexit._run_exitfuncs()  # (it forgets them: the normal exit would not run them twice)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # a closed pipe, …: the normal exit reports it as it always has
        return
    os._exit(code & 0xFF)  # the status the normal exit gives (the system keeps the low byte)


#: Commands run with Python's cyclic garbage collector off for the whole process: one-shot and
#: allocation-heavy (a recommend ladder keeps ~10⁶ objects without cycles), so its passes over
#: them, and the full pass at interpreter exit, cost ~0.45 s CPU of a 3.5 s run (issue 15).
#: Reference counting still frees everything else; nothing the command prints depends on it.
_GC_OFF_COMMANDS = frozenset({"recommend"})


def _gc_off_for(args: list[str]) -> bool:
    """Turn the cyclic collector off when ``args`` run one of :data:`_GC_OFF_COMMANDS`; whether
    this call turned it off."""
    words = [a for a in args if not a.startswith("-")]
    if not words or words[0] not in _GC_OFF_COMMANDS or not gc.isenabled():
        return False
    gc.disable()
    return True


def _run_app(args: list[str]) -> None:
    """Run the Typer app on ``args``: user errors as one line (and JSON in ``--json`` mode)."""
    # lazy: loaded only when needed, so CLI start-up (and `rigfit --help`) stays fast
    from rigfit.cli.app import app, err_console

    try:
        # standalone mode: Typer/Click print usage errors themselves and exit with code 2
        app(args=args, prog_name="rigfit")
    except RigfitError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        if _json_errors:
            write_json_error("interrupted", None)
        err_console.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
