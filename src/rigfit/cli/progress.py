"""Progress bars for long commands (report, recommend, floor): on stderr, only in a terminal.

A bar goes to stderr so stdout stays the answer (pipes and ``--json`` are unchanged), is
transient (erased when the work ends), and is off when stderr is not a terminal, so logs and
captured output never hold bar frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from rigfit.cli.consoles import err_console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

T = TypeVar("T")


def make_progress(console: Console | None = None) -> Progress:
    """A transient bar on ``console`` (default stderr), disabled when it is not a terminal."""
    # lazy: a piped command (most runs, and every benchmark) draws no bar
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    out = console or err_console
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=not out.is_terminal,
    )


def track(items: Iterable[T], description: str, console: Console | None = None) -> Iterator[T]:
    """Yield ``items`` while a bar counts them (total known when ``items`` has a length)."""
    if not (console or err_console).is_terminal:  # no bar to draw (as make_progress's disable)
        yield from items
        return
    total = len(items) if isinstance(items, Sized) else None
    with make_progress(console) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


@contextmanager
def steps(description: str, total: int, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """A bar of ``total`` steps; the yielded function marks one step done and names the next."""
    with make_progress(console) as progress:
        task = progress.add_task(description, total=total)

        def done(what: str) -> None:
            progress.update(task, advance=1, description=f"{description}: {what}")

        yield done
