"""The Typer application object and shared rendering helpers for every command module.

Each command lives in its own module in this package (``hardware_cmd.py``, ``plan_cmd.py`` …)
and registers itself with ``@app.command()``; ``rigfit.cli`` imports them all.
"""

from __future__ import annotations

from typing import Any

import typer
import typer.core
from typer.core import TyperGroup

from rigfit.cli.coerce import speed_up, speed_up_params
from rigfit.cli.consoles import console, err_console, print_json  # noqa: F401 (shared, re-exported)
from rigfit.errors import RigfitError
from rigfit.inputs import RANGES, Range, range_problem
from rigfit.safeio import clean_text

#: The Click that Typer runs on: vendored as ``typer._click`` since Typer 0.25, the ``click``
#: package before. Usage errors and options are that module's classes.
click: Any = getattr(typer.core, "_click", None) or typer.core.click  # type: ignore[attr-defined]


def _usage_error(exc: click.ClickException) -> None:
    """Print a Click usage error as one line with a suggestion, then exit with its code (2).

    Typer draws usage errors as five-line boxes; rigfit's rule is one line per user error.
    """
    message = clean_text(exc.format_message()).replace("\n", " ").strip()
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "rigfit"
    # lazy: rigfit.cli imports this module at start-up
    from rigfit.cli import json_mode, write_json_error

    if json_mode():
        write_json_error(message, f"Run '{where} --help' for the options.")
    typer.echo(f"error: {message} Run '{where} --help' for the options.", err=True)
    raise typer.Exit(exc.exit_code)


def _range_callback(flag: str, rng: Range, inner: Any) -> Any:
    """A Click parameter callback refusing values outside ``rng`` (then running ``inner``)."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        values = value if isinstance(value, list | tuple) else (value,)
        for v in values:
            if v is None or isinstance(v, str | bool):
                continue  # not given, or a text option that reads its own numbers ("--ngl all")
            problem = range_problem(v, rng, flag)
            if problem:
                raise click.exceptions.UsageError(problem, ctx)
        return inner(ctx, param, value) if inner else value

    return check


def apply_ranges(command: click.Command) -> click.Command:
    """Give every option of ``command`` listed in :data:`rigfit.inputs.RANGES` its range check."""
    for param in command.params:
        if param.param_type_name != "option" or getattr(param, "_rigfit_ranged", False):
            continue
        flag = next((o for o in param.opts if o in RANGES), None)
        if flag is not None:
            param.callback = _range_callback(flag, RANGES[flag], param.callback)
            param._rigfit_ranged = True  # type: ignore[attr-defined]
    return command


class RigfitGroup(TyperGroup):
    """The root command group: usage errors as one line (exit 2), numeric options checked
    against their documented sane ranges (:data:`rigfit.inputs.RANGES`), plain option values
    converted without pydantic (:mod:`rigfit.cli.coerce`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        return speed_up(apply_ranges(command)) if command is not None else None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return speed_up_params(super().get_params(ctx))

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            _usage_error(exc)
            raise  # not reached: _usage_error exits

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            _usage_error(exc)
            raise  # not reached
        except RigfitError as exc:
            # the same one line and exit code whether run as `rigfit` or through a CliRunner
            # lazy: rigfit.cli imports this module at start-up
            from rigfit.cli import report_error

            report_error(exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=RigfitGroup,
    name="rigfit",
    help=(
        "Which open-weight LLM fits your hardware, how fast it runs, and what it costs.\n\n"
        "Every figure is labelled measured, looked up (with source) or estimated (with a band)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _show_version(value: bool) -> None:
    """``--version``: print the version lines and stop."""
    if value:
        from rigfit.about import version_lines  # lazy: importlib.metadata costs ~10 ms of start-up

        for line in version_lines():
            console.print(line, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print rigfit's version, llama.cpp build profile and Python.",
    ),
) -> None:
    """Which open-weight LLM fits your hardware, how fast it runs, and what it costs."""
