"""Consumer Ampere on the int8 (MMQ) prompt path: the RTX 3080 ground-truth rows and the repository's
RTX 3060 llama-bench fixture, which stays out of the fit (issue 13: it must fall inside its band)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigfit.estimate.predict import case_features, predict_case, resolve_case
from rigfit.estimate.speed import load_constants
from rigfit.measure.groundtruth import case_from_row, ground_truth_dir, read_cases
from rigfit.measure.importers import parse_file

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "llama_bench" / "rtx3060_llama8b.md"


def _ampere_file() -> Path:
    folder = ground_truth_dir()
    if folder is None or not (folder / "speed_nvidia_ampere.csv").exists():
        pytest.skip("data/ground-truth not present")
    return folder / "speed_nvidia_ampere.csv"


def test_rtx3080_rows_take_the_int8_path_with_the_ampere_delta():
    cases = read_cases(_ampere_file())
    assert [c.test_name for c in cases] == ["pp512", "tg128"]
    assert all("3060" not in c.hardware for c in cases)  # the fixture's card stays out of the fit
    feats, _ = case_features(resolve_case(cases[0]), load_constants())
    assert "CUDA|p=int8:c" in feats
    assert "CUDA|*g=ampere:c" in feats


def test_rtx3060_fixture_inside_its_band():
    """pp512 and pp512@d4096 of the fixture (b7311, Llama 3.1 8B Q4_K_M) with the shipped constants."""
    batch = parse_file(FIXTURE)
    C = load_constants()
    seen = 0
    for res in batch.results:
        row = {
            "hardware": "NVIDIA GeForce RTX 3060 12 GB",
            "hardware_kind": res.hardware_kind,
            "n_devices": "1",
            "backend": res.backend,
            "model": res.model,
            "model_family": res.model_family,
            "params_b": str(res.params_b),
            "quant": res.quant,
            "model_size_gib": str((res.model_size_bytes or 0) / 2**30 or ""),
            "test": res.test,
            "prompt_tokens": str(res.prompt_tokens or ""),
            "gen_tokens": str(res.gen_tokens or ""),
            "depth": str(res.depth or 0),
            "ngl": str(res.ngl or ""),
            "date_or_build": res.build or "",
        }
        tps, lo, hi, status = predict_case(case_from_row(row), C)
        assert tps is not None and lo is not None and hi is not None, status
        assert lo <= res.tokens_per_s <= hi, (res.test, res.tokens_per_s, lo, hi)
        seen += 1
    assert seen == 4
