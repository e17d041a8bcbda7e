"""``rigfit plan`` without the CLI framework, for the command lines it reads exactly as Click does.

Importing Typer and building the ``plan`` command from its ~45 annotated parameters cost ~10 % of a
whole ``rigfit plan`` process (issue 15). :func:`parse` reads the plain command lines (the model,
then options spelled ``--flag VALUE``, ``--flag=VALUE`` or as flags, values in their canonical
spelling) into :func:`rigfit.cli.plan_view.run_plan`'s keyword arguments, and answers None for
everything else: ``--help``, unknown or misspelled options, a missing or second model, values
that do not convert or are out of their range, ``--`` and values that start with ``-``. Those go
to Typer, which words every usage error and help text itself, so both paths print the same bytes
(tests/cli/test_plan_fast.py runs each command line both ways). The options, their flags and types
come from :class:`rigfit.cli.plan_options.PlanOptions`, as the Typer command's do.
"""

from __future__ import annotations

import os
from typing import Any

from rigfit.cli.coerce import _DEFER, _scalar
from rigfit.cli.plan_options import option_fields, value_type
from rigfit.inputs import RANGES, range_problem

#: ``rigfit plan``'s options as :class:`rigfit.cli.plan_options.PlanOptions` declares them:
#: parameter -> (flags, value type); ``bool`` is a flag without a value.
OPTIONS: dict[str, tuple[tuple[str, ...], type]] = {
    f.name: (f.metadata["flags"], value_type(f)) for f in option_fields()
}

#: Typer's shell-completion request (``_RIGFIT_COMPLETE=… rigfit``): Typer answers it.
_COMPLETE_VAR = "_RIGFIT_COMPLETE"


def _by_flag(options: dict[str, tuple[tuple[str, ...], type]]) -> dict[str, tuple[str, type]]:
    return {flag: (name, kind) for name, (flags, kind) in options.items() for flag in flags}


def _takes_equals(flag: str) -> bool:
    """Whether Click reads ``FLAG=VALUE`` as this option with a value: long options (``--ctx``,
    and ``-np``, whose name is longer than one letter), not one-letter ones (``-c=5`` is ``-c``
    with the value ``=5``)."""
    return flag.startswith("--") or len(flag) > 2


def parse(words: list[str], defaults: dict[str, Any]) -> dict[str, Any] | None:
    """``run_plan``'s keyword arguments for ``rigfit plan WORDS``, or None: let Typer read them.

    defaults: ``run_plan``'s defaults (the values options not given take), whose ranges Click
    checks too.
    """
    return parse_words(words, defaults, OPTIONS, positional="model")


def parse_words(
    words: list[str],
    defaults: dict[str, Any],
    options: dict[str, tuple[tuple[str, ...], type]],
    *,
    positional: str | None = None,
    required: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """A command's keyword arguments for the words after its name, or None: let Typer read them
    (:func:`parse` for ``plan``; :mod:`rigfit.cli.recommend_fast` for ``recommend``).

    options: the command's options as :data:`OPTIONS` lists ``plan``'s (parameter -> (flags, type));
    positional: the name of its one required argument (None: it takes none); required: options
    that must be given (Click's "Missing option" otherwise); defaults: the values options not
    given take, whose ranges Click checks too.
    """
    if os.environ.get(_COMPLETE_VAR):
        return None
    by_flag = _by_flag(options)
    argument: str | None = None
    given: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-"):
            if positional is None or argument is not None or _scalar(str, word) is _DEFER:
                return None  # an extra argument (Click's error), or text that is not Unicode
            argument = word
            continue
        flag, eq, attached = word.partition("=")
        entry = by_flag.get(flag) if eq else by_flag.get(word)
        if entry is None:
            return None  # --help, --, an unknown option, -c5
        name, kind = entry
        if kind is bool:
            if eq:
                return None  # Click: "Option '--json' does not take a value."
            given[name] = True
            continue
        if eq:
            if not _takes_equals(flag):
                return None
            raw = attached
        else:
            if i >= len(words) or words[i].startswith("-"):
                return None  # no value, or one Click might read otherwise
            raw = words[i]
            i += 1
        value = _scalar(kind, raw)
        if value is _DEFER:
            return None  # Typer converts (or refuses) unusual spellings
        given[name] = value
    if (positional is not None and argument is None) or any(name not in given for name in required):
        return None  # Typer words the missing argument or option
    for name, (flags, _) in options.items():
        ranged = next((f for f in flags if f in RANGES), None)
        value = given.get(name, defaults.get(name))
        if ranged is None or value is None or isinstance(value, str | bool):
            continue
        if range_problem(value, RANGES[ranged], ranged):
            return None  # Typer reports it as a usage error
    return given if positional is None else {positional: argument, **given}
