"""Errors a user can cause. The CLI turns each into one line and exit code 2."""

from __future__ import annotations


class RigfitError(Exception):
    """A problem with the user's input: unknown name, bad file, impossible setting.

    ``message`` says what is wrong; ``suggestion`` (optional) says what to try instead.
    """

    exit_code = 2

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion

    def __str__(self) -> str:
        if self.suggestion:
            return f"{self.message} {self.suggestion}"
        return self.message


class UnknownNameError(RigfitError):
    """A hardware, model or quant name that does not resolve; carries close candidates."""

    def __init__(
        self, what: str, name: str, candidates: list[str] | None = None, hint: str | None = None
    ) -> None:
        self.what = what
        self.name = name
        self.candidates = list(candidates or [])
        suggestion = None
        if self.candidates:
            suggestion = "Did you mean: " + ", ".join(repr(c) for c in self.candidates[:5]) + "?"
        if hint:
            suggestion = f"{suggestion} {hint}" if suggestion else hint
        super().__init__(f"Unknown {what} {name!r}.", suggestion)


class AmbiguousNameError(RigfitError):
    """A name that matches several catalog entries equally well (e.g. '3060': 8 GB or 12 GB)."""

    def __init__(self, what: str, name: str, candidates: list[str]) -> None:
        self.what = what
        self.name = name
        self.candidates = list(candidates)
        super().__init__(
            f"{what.capitalize()} name {name!r} is ambiguous.",
            "Be more specific, e.g. " + ", ".join(repr(c) for c in self.candidates[:6]) + ".",
        )


class BadFileError(RigfitError):
    """A model file that cannot be read: truncated, wrong magic, absurd counts."""

    def __init__(self, path: object, problem: str, suggestion: str | None = None) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}", suggestion)
