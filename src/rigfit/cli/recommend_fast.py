"""``rigfit recommend`` without the CLI framework, for the command lines it reads exactly as Click does.

As :mod:`rigfit.cli.plan_fast` does for ``rigfit plan``: importing Typer (and the ``traceback``,
``subprocess``, ``shutil`` … it brings) and building the command cost ~25 ms CPU of a whole
``rigfit recommend`` process (issue 15). :func:`parse` reads the plain command lines into
:func:`rigfit.cli.recommend_view.run_recommend`'s keyword arguments and answers None for everything
else (``--help``, unknown options, a missing ``--on``, values out of range or spelled unusually),
which Typer then reads and words as before (tests/cli/test_recommend_fast.py runs each command line
both ways and checks :data:`OPTIONS` against the options Typer builds from
:func:`rigfit.cli.recommend_cmd.recommend`).
"""

from __future__ import annotations

from typing import Any

from rigfit.cli.plan_fast import parse_words

#: ``rigfit recommend``'s options as :mod:`rigfit.cli.recommend_cmd` declares them: parameter ->
#: (flags, type); ``bool`` is a flag without a value.
OPTIONS: dict[str, tuple[tuple[str, ...], type]] = {
    "on": (("--on",), str),
    "use": (("--use",), str),
    "min_ctx": (("--min-ctx",), int),
    "min_tps": (("--min-tps",), float),
    "max_quality_loss": (("--max-quality-loss",), float),
    "limit": (("--limit",), int),
    "users": (("--users",), int),
    "reserve_ram": (("--reserve-ram",), str),
    "json_out": (("--json",), bool),
}


def parse(words: list[str], defaults: dict[str, Any]) -> dict[str, Any] | None:
    """``run_recommend``'s keyword arguments for ``rigfit recommend WORDS``, or None: let Typer read
    them. defaults: ``run_recommend``'s defaults, whose ranges Click checks too."""
    return parse_words(words, defaults, OPTIONS, required=("on",))
