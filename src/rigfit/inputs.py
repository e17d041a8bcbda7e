"""Validation of user input shared by the CLI, the library API and every engine.

One function per kind of input, so the CLI (``rigfit plan --ctx``, ``rigfit floor --ctx``,
``rigfit recommend --min-ctx``), the planner and the memory model refuse the same values with
the same one-line message.
"""

from __future__ import annotations

from rigfit.errors import RigfitError


def check_ctx(n_ctx: int | None, *, flag: str = "--ctx", minimum: int = 0) -> None:
    """Refuse a context below ``minimum`` [tokens] (None = the default, always accepted).

    ``minimum`` 0 is the planner's rule (0 means the model's training context); commands that
    search over contexts (floor, recommend, report) ask for at least 256 tokens, the step of
    their search.
    """
    if n_ctx is None or n_ctx >= minimum:
        return
    if minimum <= 0:
        raise RigfitError(f"{flag} must be ≥ 0 (0 = the model's training context), got {n_ctx}.")
    raise RigfitError(f"{flag} must be at least {minimum} tokens.")
