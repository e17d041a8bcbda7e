"""Review regression: the report called all of a 16 GB Mac's RAM "fast memory" (16.0 GiB line in
the memory chart, "fast memory holds 16.0 GiB") while Metal gets its working set (2/3 of RAM):
a 12 GiB bar below the line would not run."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import get_model
from rigfit.hardware.grammar import resolve_machine
from rigfit.report import build


def test_mac_fast_memory_is_metal_working_set(tmp_path, monkeypatch):
    seen = {}

    def fake_bars(out, stem, title, labels, parts, ylabel, caption="", limit=None, limit_label="", credit=""):
        seen.update(limit=limit, caption=caption)

    monkeypatch.setattr(build, "stacked_bars", fake_bars)
    machine = resolve_machine("Mac mini M4 16GB")
    arch = get_model("llama-3.2-3b")
    table, evals = build.quant_matrix(machine, arch, 4096)
    assert "fast memory holds 10.7 GiB" in table.intro
    build.chart_memory_breakdown(tmp_path, machine, evals, arch)
    assert seen["limit"] == pytest.approx(16 * 2 / 3, abs=0.01)


def test_discrete_gpu_fast_memory_is_unchanged():
    machine = resolve_machine("RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200")
    table, _ = build.quant_matrix(machine, get_model("llama-3.2-3b"), 4096)
    assert "fast memory holds 12.0 GiB" in table.intro
