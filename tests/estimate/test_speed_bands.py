"""Speed bands by vendor × backend × split mode, and build-aware speed (issue 13)."""

from __future__ import annotations

import math

import pytest

from rigfit.catalog.models import resolve_model
from rigfit.estimate import speed as sp
from rigfit.estimate.speed.bands import (
    Residual,
    band_keys,
    fit_bands,
    fit_inflation,
    inflation_for,
    is_wide,
    lookup,
    nested_coverage,
    vendor_of,
    weighted_quantiles,
)
from rigfit.estimate.speed.classes import BUILD_MONTHS, build_from_date, build_label, build_month
from rigfit.estimate.speed.peaks import prefill_path
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.devices import Machine
from rigfit.hardware.names import resolve_device


@pytest.fixture(scope="module")
def C():
    return sp.load_constants()


def _res(dev: str, lr: float, vendor: str = "amd", backend: str = "ROCm", kind: str = "pp") -> Residual:
    return Residual(lr, dev, kind, vendor, backend, "layer")


# ------------------------------------------------------------------------------------------
# build numbers from dates
# ------------------------------------------------------------------------------------------


def test_build_from_date_hits_every_anchor():
    for build, year, month, _src in BUILD_MONTHS:
        assert build_from_date(f"{year:04d}-{month:02d}") == build


def test_build_from_date_interpolates_and_clamps():
    # between the 2024-05 (b2824) and 2024-09 (b3841) anchors
    b = build_from_date("2024-07 (PR #1234)")
    assert b is not None and 2824 < b < 3841
    assert build_from_date("Oct 2025") == build_from_date("2025-10")
    assert build_from_date("2019-01") == BUILD_MONTHS[0][0]
    assert build_from_date("2031-01") == BUILD_MONTHS[-1][0]
    assert build_from_date("no date here") is None
    assert build_from_date(None) is None


def test_build_label_names_build_month_and_era():
    assert build_label(None).startswith("current build profile")
    label = build_label(2824)
    assert "b2824" in label and "2024-05" in label and "2024" in label
    assert build_month(7340) == "2025-12"


def test_anchors_are_in_order():
    builds = [b for b, *_ in BUILD_MONTHS]
    months = [y * 12 + m for _, y, m, _ in BUILD_MONTHS]
    assert builds == sorted(builds) and months == sorted(months)
    assert all(src.startswith("https://") for *_, src in BUILD_MONTHS)


# ------------------------------------------------------------------------------------------
# bands
# ------------------------------------------------------------------------------------------


def test_band_keys_most_specific_first():
    keys = band_keys("pp", "NVIDIA", "CUDA", "row")
    assert keys[0] == "pp|nvidia|CUDA|row"
    assert keys.index("pp|CUDA|row") < keys.index("pp|CUDA") < keys.index("pp|nvidia") < keys.index("pp")
    assert band_keys("pg", None, None) == ["tg"]


def test_vendor_of():
    assert vendor_of("NVIDIA") == "nvidia"
    assert vendor_of("Intel Corporation") == "intel"
    assert vendor_of("") == "other"


def test_weighted_quantiles_equal_weights_match_median():
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert weighted_quantiles(vals, [1] * 5, [0.5])[0] == pytest.approx(3.0)
    # a heavy weight pulls the median
    assert weighted_quantiles(vals, [1, 1, 1, 1, 100], [0.5])[0] > 4.0


def test_group_with_one_device_falls_back_to_parent():
    res = [_res(f"a{i % 3}", 0.1 * i) for i in range(30)] + [
        _res("arc", -0.2, vendor="intel", backend="SYCL")
    ]
    bands = fit_bands(res)
    assert "pp|intel|SYCL" not in bands  # one device: no band of its own
    assert "pp|intel" not in bands
    borrowed = lookup(bands, "pp", "intel", "SYCL")
    assert borrowed["p90"] - borrowed["p10"] > bands["pp"]["p90"] - bands["pp"]["p10"]
    assert is_wide(borrowed)
    amd = lookup(bands, "pp", "amd", "ROCm")
    assert {k: amd[k] for k in ("p10", "p90", "n", "devices")} == bands["pp|amd|ROCm|layer"]


def test_few_devices_widen_the_band():
    few = [_res(f"d{i % 2}", x) for i, x in enumerate([-0.3, -0.1, 0.0, 0.1, 0.3] * 4)]
    many = [_res(f"d{i % 10}", x) for i, x in enumerate([-0.3, -0.1, 0.0, 0.1, 0.3] * 4)]
    b_few, b_many = fit_bands(few)["pp|amd|ROCm"], fit_bands(many)["pp|amd|ROCm"]
    assert b_few["p90"] - b_few["p10"] > b_many["p90"] - b_many["p10"]
    assert is_wide(b_few) and not is_wide(b_many)


def test_nested_coverage_never_uses_the_held_out_device():
    # nine well-behaved devices, one far-off device: its own rows must not widen its band
    res = [_res(f"ok{d}", 0.05 * ((i % 5) - 2)) for d in range(9) for i in range(10)]
    res += [_res("outlier", 3.0) for _ in range(10)]
    cov = nested_coverage(res)
    outlier = [(r, lo, hi) for r, lo, hi in cov if r.device == "outlier"]
    assert outlier and all(hi < 3.0 for _, _, hi in outlier)


def test_inflation_reaches_the_target_coverage():
    res = [_res(f"d{d}", 0.3 * math.sin(d * 1.7) + 0.05 * (i - 5)) for d in range(12) for i in range(10)]
    inf = fit_inflation(res)
    cov = nested_coverage(res, inf)
    share = sum(lo <= r.log_ratio <= hi for r, lo, hi in cov) / len(cov)
    # at the 80 % point: at least 80 % inside, and not one row more than needed (120 rows → 96)
    assert 0.8 <= share <= 97 / 120


def test_shipped_bands_have_vendor_groups(C):
    bands = C["bands"]
    assert {"pp", "tg"} <= set(bands)
    assert any(k.startswith("pp|nvidia") for k in bands) and any(k.startswith("tg|amd") for k in bands)
    for entry in bands.values():
        assert entry["p10"] < entry["p90"]


# ------------------------------------------------------------------------------------------
# build-aware speed and the matmul path per vendor
# ------------------------------------------------------------------------------------------


def _gpu_machine(name: str) -> Machine:
    dev = resolve_device(name)
    return Machine(
        dev.name, accelerators=(dev,), cpu=resolve_device("Ryzen 9 7950X"), ram_bandwidth_bytes_per_s=83e9
    )


def test_llama_build_changes_prefill_speed(C):
    w = sp.model_work(catalog_model_spec(resolve_model("llama-3.1-8b"), "Q4_K_M"))
    m = _gpu_machine("RTX 4090")
    new = sp.estimate_speed(w, m, constants=C, build=11549)
    old = sp.estimate_speed(w, m, constants=C, build=1650)
    assert new.prefill_tps.value != pytest.approx(old.prefill_tps.value, rel=0.01)
    assert "b11549" in new.details["build"] and "b1650" in old.details["build"]
    assert new.to_json()["llama_build"] == new.details["build"]


def test_intel_vulkan_uses_shader_alus_sycl_uses_xmx():
    arc = resolve_device("Arc A770")
    assert prefill_path("Vulkan", arc, "kquant", "new") == "fp32"
    assert prefill_path("SYCL", arc, "kquant", "new") == "fp16"
    assert prefill_path("Vulkan", resolve_device("RTX 4090"), "kquant", "new") == "fp16"


def test_vendor_inflation_applies_only_to_its_vendor():
    entry = {"p10": -0.2, "p90": 0.2, "n": 50, "devices": 10}
    bands = {"pp": entry, "pp|apple": entry, "pp|amd": entry}
    infl = {"pp": 1.5, "pp|apple": 0.5}
    apple = lookup(bands, "pp", "apple", "Metal", inflation=infl)
    other = lookup(bands, "pp", "amd", "ROCm", inflation=infl)
    assert apple["p90"] == pytest.approx(0.1) and other["p90"] == pytest.approx(0.3)


def test_vendor_without_a_group_gets_a_wider_flagged_band():
    bands = {
        "pp": {"p10": -0.2, "p90": 0.2, "n": 50, "devices": 10},
        "pp|amd": {"p10": -0.2, "p90": 0.2, "n": 50, "devices": 5},
    }
    amd = lookup(bands, "pp", "amd", "ROCm")
    intel = lookup(bands, "pp", "intel", "SYCL")
    assert intel["p90"] - intel["p10"] > amd["p90"] - amd["p10"]
    assert is_wide(intel) and not is_wide(amd)


# ------------------------------------------------------------------------------------------
# band factors at the exact 80 % point, one factor for thin vendors, wide-band note
# ------------------------------------------------------------------------------------------


def test_factor_is_the_exact_80_percent_point():
    from rigfit.estimate.speed.bands import _factor

    # ten rows at scaled distances 0.1 … 1.0 from the band centre: 8 of 10 inside needs f = 0.8
    sel = [(0.1 * i, 0.0, 1.0) for i in range(1, 11)]
    f = _factor(sel)
    assert f == pytest.approx(0.8)
    assert sum(abs(lr) <= f * half for lr, _, half in sel) == 8
    # 32 rows: 26 must be inside (26/32 = 81 %), not the next grid step
    sel32 = [(0.05 * i, 0.0, 1.0) for i in range(1, 33)]
    assert _factor(sel32) == pytest.approx(1.3)


def test_thin_vendor_gets_one_factor_for_both_kinds():
    res = [
        _res(f"n{d}", 0.2 * math.sin(d + i), "nvidia", "CUDA", k)
        for d in range(6)
        for i in range(10)
        for k in ("pp", "tg")
    ]
    # intel: 3 devices, 12 rows per kind (fewer than 20 each, 24 together), residuals far off
    res += [
        _res(f"arc{d}", 1.5 * math.cos(d * 2 + i), "intel", "Vulkan", k)
        for d in range(3)
        for i in range(4)
        for k in ("pp", "tg")
    ]
    inf = fit_inflation(res)
    assert "pp|intel" not in inf and "tg|intel" not in inf
    assert "*|intel" in inf
    assert inflation_for(inf, "pp", "intel") == inflation_for(inf, "tg", "intel") == inf["*|intel"]
    assert inflation_for(inf, "pp", "nvidia") == inf.get("pp|nvidia", inf["pp"])


def test_vendor_with_few_rows_is_flagged_wide():
    entry = {"p10": -0.2, "p90": 0.2, "n": 200, "devices": 20}
    bands = {
        "pp": entry,
        "pp|intel": {**entry, "n": 15, "devices": 4},
        "pp|amd": {**entry, "n": 60, "devices": 6},
    }
    intel = lookup(bands, "pp", "intel", "Vulkan")
    amd = lookup(bands, "pp", "amd", "Vulkan")
    assert intel["vendor_rows"] == 15 and is_wide(intel)
    assert amd["vendor_rows"] == 60 and not is_wide(amd)


def test_band_notes_say_when_a_vendor_has_few_rows():
    from rigfit.estimate.speed.estimate import band_notes

    entry = {"p10": -0.2, "p90": 0.2, "n": 200, "devices": 20}
    C = {
        "bands": {
            "pp": entry,
            "tg": entry,
            "pp|intel": {**entry, "n": 15, "devices": 4},
            "tg|intel": {**entry, "n": 30, "devices": 4},
        }
    }
    notes = band_notes(C, "Vulkan", "layer", "intel")
    assert len(notes) == 1 and "only 15 intel prefill measurements" in notes[0]
