"""Hashes of frozen dataclasses worked out once per instance.

A recommend ladder keys its caches by the machine, the plan settings and the architecture some 10⁴
times; their generated ``__hash__`` hashes every field each time (a machine's devices included,
~1 µs). :func:`cached_hash` keeps the generated hash in the instance's ``__dict__`` (not a field:
equality, ``replace`` and ``asdict`` ignore it) and leaves it, and every other private per-instance
memo, out of pickles and copies, since string hashes differ between processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")

_KEY = "_cached_hash"


def cached_hash(cls: type[T]) -> type[T]:
    """Class decorator (above ``@dataclass(frozen=True)``): the same hash, computed once."""
    generated: Callable[[Any], int] | None = getattr(cls, "__hash__", None)
    if generated is None:
        raise TypeError(f"{cls.__name__} is not hashable")
    gen = generated

    def __hash__(self: Any) -> int:
        try:  # (a subscript: cheaper than ``dict.get`` on the ~10⁵ hits of a ladder)
            return self.__dict__[_KEY]
        except KeyError:
            h = self.__dict__[_KEY] = gen(self)
            return h

    field_names = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]

    def __getstate__(self: Any) -> dict[str, Any]:
        # fields only, plus any public attribute: the kept hash and other per-instance memos
        # (e.g. estimate.tensors' key memo, holding a hashlib object) stay with this instance
        return {k: v for k, v in self.__dict__.items() if k in field_names or not k.startswith("_")}

    cls.__hash__ = __hash__  # type: ignore[method-assign,assignment]
    cls.__getstate__ = __getstate__  # type: ignore[method-assign]
    return cls
