"""``rigfit predict`` turns the catalog's refusals into an "unresolved: …" row, never a defect.

``resolve_work`` and ``_resolve_device_name`` once caught every exception; a TypeError in the
catalog code then read as "model not resolved". They catch the catalog's own errors alone now.
"""

from __future__ import annotations

import pytest

from rigfit.errors import RigfitError, UnknownNameError
from rigfit.estimate import predict as predict_mod


def _raiser(exc: Exception):
    def fail(*args: object, **kwargs: object) -> object:
        raise exc

    return fail


@pytest.mark.parametrize("target", ["match_model", "catalog_model_spec"])
def test_catalog_refusal_is_unresolved_and_a_defect_propagates(monkeypatch, target: str) -> None:
    predict_mod.resolve_work.cache_clear()
    monkeypatch.setattr(predict_mod, target, _raiser(RigfitError("no such thing")))
    with pytest.raises(predict_mod.Unresolved, match="no such thing"):
        predict_mod.resolve_work("llama-3.1-8b", "llama", 8.0, "Q4_K_M", None)
    predict_mod.resolve_work.cache_clear()
    monkeypatch.setattr(predict_mod, target, _raiser(TypeError("missing argument")))
    with pytest.raises(TypeError, match="missing argument"):
        predict_mod.resolve_work("llama-3.1-8b", "llama", 8.0, "Q4_K_M", None)
    predict_mod.resolve_work.cache_clear()


def test_unknown_hardware_is_unresolved_and_a_defect_propagates(monkeypatch) -> None:
    monkeypatch.setattr(predict_mod, "resolve_device", _raiser(UnknownNameError("hardware", "x")))
    with pytest.raises(predict_mod.Unresolved, match="not in the catalog"):
        predict_mod._resolve_device_name(("x", "y"))
    monkeypatch.setattr(predict_mod, "resolve_device", _raiser(AttributeError("no field")))
    with pytest.raises(AttributeError, match="no field"):
        predict_mod._resolve_device_name(("x",))
