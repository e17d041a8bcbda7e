"""The consoles every command prints to, and plain JSON output.

Kept apart from :mod:`rigfit.cli.app` (the Typer application) so that code which prints, such as
:mod:`rigfit.cli.plan_view`, runs without importing Typer or Click. ``rigfit.cli.app`` re-exports
these same objects.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.highlighter import ReprHighlighter
from rich.text import Text

from rigfit.jsonout import to_json_text


class _HighlightInColour(ReprHighlighter):
    """Rich's default highlighter (numbers, quotes, URLs … in colour), skipped while its console
    writes no colour or style (to a pipe or a file, or TERM=dumb): there Rich drops
    every style anyway, so the bytes are the same, and its regular expressions cost ~3 % of a
    whole ``rigfit plan`` (issue 15). Asked at each print, so a console whose colour system
    changes later highlights again."""

    def __init__(self, owner: Console) -> None:
        self._owner = owner

    def highlight(self, text: Text) -> None:
        if self._owner.color_system is not None:
            super().highlight(text)


console = Console()
err_console = Console(stderr=True)
for _c in (console, err_console):
    _c.highlighter = _HighlightInColour(_c)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (plain, no colour, stable key order)."""
    sys.stdout.write(to_json_text(data) + "\n")
