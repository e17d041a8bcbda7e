"""The shortcuts behind a fast ``rigfit inspect`` give exactly what the plain code gives.

* the memoryview string walk (``_skip_strings_views``) == the struct walk, on any bytes;
* ``path_str`` / ``path_name`` / ``path_stem`` == pathlib, on any path text;
* ``models_with_shape`` == filtering ``load_models()``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigfit.catalog.models import load_models, models_with_shape
from rigfit.formats.gguf import (
    _skip_strings_struct,
    _skip_strings_views,
    path_name,
    path_stem,
    path_str,
)

_LENGTHS = st.one_of(
    st.just(0),
    st.integers(1, 40),
    st.integers(200, 3000),
    st.sampled_from([2**16, 2**40, 2**63, 2**64 - 1]),
)


@st.composite
def _string_arrays(draw: st.DrawFn) -> tuple[bytes, int, int]:
    lengths = draw(st.lists(_LENGTHS, max_size=40))
    body = b"".join(struct.pack("<Q", n) + bytes([7]) * min(n, 3000) for n in lengths)
    lead = bytes(draw(st.integers(0, 9)))
    buf = lead + body + bytes(draw(st.integers(0, 40)))
    buf = buf[: draw(st.integers(0, len(buf)))] or b"\x00"
    pos = min(len(lead), len(buf))
    return buf, pos, draw(st.integers(0, len(lengths) + 20))


@settings(max_examples=400, deadline=None)
@given(_string_arrays())
def test_view_walk_equals_struct_walk(case: tuple[bytes, int, int]) -> None:
    buf, pos, count = case
    end = len(buf)
    fast = _skip_strings_views(buf, pos, count, end)
    plain = _skip_strings_struct(buf, pos, count, end, "<")
    assert (fast > end) == (plain > end)
    if plain <= end:
        assert fast == plain


def test_view_walk_long_zero_runs_are_skipped_in_c() -> None:
    # 2M empty strings then one non-empty: one C-speed search, not 2M Python steps
    buf = bytes(8 * 2_000_000) + struct.pack("<Q", 3) + b"abc"
    assert _skip_strings_views(buf, 0, 2_000_001, len(buf)) == len(buf)
    assert _skip_strings_views(buf, 0, 2_000_002, len(buf)) > len(buf)


@pytest.mark.skipif(os.name != "posix", reason="pathlib itself is used off POSIX")
@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["/", ".", "..", "a", "b.", "x.gguf", " ", "~", ".c"]), max_size=8))
def test_path_helpers_equal_pathlib(pieces: list[str]) -> None:
    s = "".join(pieces)
    p = Path(s)
    assert path_str(s) == path_str(p) == str(p)
    assert path_name(s) == p.name
    assert path_stem(s) == p.stem


def test_models_with_shape_equals_filtering_the_catalog() -> None:
    every = load_models()
    for a in every:
        got = models_with_shape(a.arch, a.n_layer, a.n_embd)
        want = [
            c
            for c in every
            if a.arch in {c.arch, *((c.extra or {}).get("gguf_arch_aliases") or [])}
            and (c.n_layer, c.n_embd) == (a.n_layer, a.n_embd)
        ]
        assert got == want


def test_models_with_shape_before_the_catalog_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import rigfit.catalog.models as models

    class _Empty:
        currsize = 0

    monkeypatch.setattr(models.load_models, "cache_info", lambda: _Empty)  # as in a fresh process
    for a in load_models():
        built = models_with_shape(a.arch, a.n_layer, a.n_embd)
        assert a in built
        assert all(b is not c for b in built for c in load_models())  # really built anew
