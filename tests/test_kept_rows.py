"""The planner's kept device rows and the speed model's kept coefficients (issue 15):

* plan_capacity.kept_rows hands a miss's caller the rows just built, a hit's caller a fresh copy,
  and no caller's change reaches the kept copy;
* pack_rows packs rows whose attributes are out of field order the same as in order;
* speed.coefficients.coefficient gives the same figure kept or worked out afresh, and a dict other
  than the bundled constants is never answered from the kept figures.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from rigfit.estimate.speed import coefficients as coef_mod
from rigfit.estimate.tablecache import IdentityCache
from rigfit.plan_capacity import PackedRows, kept_rows, pack_rows, unpack_rows
from rigfit.plantypes import DeviceMemory, Verdict


def _rows() -> list[DeviceMemory]:
    return [
        DeviceMemory(name="GPU0", kind="gpu", weights_bytes=7, capacity_bytes=100, fit=Verdict.FITS),
        DeviceMemory(name="CPU", kind="cpu", kv_bytes=3, fit=Verdict.NO),
    ]


def _fields(rows: list[DeviceMemory]) -> list[tuple]:
    return [tuple(getattr(d, f.name) for f in fields(DeviceMemory)) for d in rows]


def test_miss_gets_the_built_rows_and_hits_get_copies() -> None:
    cache: IdentityCache[tuple[str, PackedRows]] = IdentityCache(8)
    obj, built = object(), []

    def build() -> tuple[str, list[DeviceMemory]]:
        built.append(_rows())
        return "placement", built[-1]

    x, first = kept_rows(cache, obj, "k", build)
    assert x == "placement" and first is built[0]
    first[0].weights_bytes = 999  # the caller changes its rows: the kept copy does not
    first[1].fit = Verdict.TIGHT
    x2, second = kept_rows(cache, obj, "k", build)
    assert len(built) == 1 and x2 == "placement"
    assert _fields(second) == _fields(_rows())
    assert second[0] is not first[0]
    third = kept_rows(cache, obj, "k", build)[1]
    assert third[0] is not second[0] and _fields(third) == _fields(second)


def test_unhashable_key_raises_type_error() -> None:
    cache: IdentityCache[tuple[None, PackedRows]] = IdentityCache(8)
    with pytest.raises(TypeError):
        kept_rows(cache, object(), ["a list"], lambda: (None, _rows()))


def test_pack_rows_out_of_order_attributes() -> None:
    rows = _rows()
    shuffled = []
    for d in rows:
        e = object.__new__(DeviceMemory)
        e.__dict__.update(reversed(list(d.__dict__.items())))
        shuffled.append(e)
    assert pack_rows(shuffled) == pack_rows(rows)
    assert _fields(unpack_rows(pack_rows(shuffled))) == _fields(rows)


def test_kept_coefficients_match_fresh_ones() -> None:
    C = coef_mod.load_constants()
    keys = [*list(C.get("coefficients", {}))[:50], "CUDA|*c=apu:w", "no-such:w", "Vulkan|q=k:w"]
    for k in keys:
        assert coef_mod.coefficient(C, k) == coef_mod._coefficient(C, k)
        assert coef_mod.coefficient(C, k) == coef_mod._coefficient(C, k)  # kept: the same
    other = dict(C, coefficients={keys[0]: 123.0})  # another dict: its own figures
    assert coef_mod.coefficient(other, keys[0]) == 123.0
    assert coef_mod.coefficient(C, keys[0]) == coef_mod._coefficient(C, keys[0])
