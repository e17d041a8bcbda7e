"""Hardware names that published benchmark rows use and that once failed to resolve (issue 13)."""

from __future__ import annotations

import pytest

from rigfit.errors import AmbiguousNameError
from rigfit.hardware.names import resolve_device

GIB = 2**30


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NVIDIA GeForce GTX 1060 6 GB", "GeForce GTX 1060 6 GB"),
        ("GTX 1060 6GB", "GeForce GTX 1060 6 GB"),
        ("GeForce GTX 1060 6 GB GDDR5X", "GeForce GTX 1060 6 GB GDDR5X"),
        ("GeForce GTX 1060 6 GB Rev. 2", "GeForce GTX 1060 6 GB Rev. 2"),
        ("GTX 1060 3GB", "GeForce GTX 1060 3 GB"),
    ],
)
def test_gtx_1060_variant_named_by_its_words(name: str, expected: str) -> None:
    # "6 GB" names the plain 6 GB card, not one of the four other 6 GB variants
    assert resolve_device(name).name == expected


@pytest.mark.parametrize("name", ["GTX 1060", "A100 40GB"])
def test_unnamed_variants_stay_ambiguous(name: str) -> None:
    with pytest.raises(AmbiguousNameError):
        resolve_device(name)


def test_apple_m5_max() -> None:
    d = resolve_device("Apple M5 Max")
    assert d.kind == "apple"
    assert d.bandwidth_bytes_per_s == pytest.approx(614e9)
    assert d.extra["gpu_cores"] == 40
    assert resolve_device("M5 Max 128GB").memory_bytes == 128 * GIB


def test_apple_m5_pro() -> None:
    d = resolve_device("Apple M5 Pro 48GB")
    assert d.bandwidth_bytes_per_s == pytest.approx(307e9)
    assert d.memory_bytes == 48 * GIB


@pytest.mark.parametrize("name", ["Intel Arc Pro B70", "Intel(R) Arc(TM) Pro B70 Graphics", "Arc Pro B70"])
def test_intel_arc_pro_b70(name: str) -> None:
    d = resolve_device(name)
    assert d.name == "Arc Pro B70"
    assert d.vendor == "Intel"
    assert d.memory_bytes == 32 * GIB
    assert d.bandwidth_bytes_per_s == pytest.approx(608e9)
    assert d.int8_ops == pytest.approx(367e12)
    assert "zolotukhin.ai" in d.sources["bandwidth_bytes_per_s"]
