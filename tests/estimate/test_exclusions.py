"""The ground-truth exclusion list: rules match by source, hardware, device count and test."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rigfit.estimate.exclusions import default_exclusions_path, exclusion_reason, read_exclusions
from rigfit.estimate.lodo import build_fit_rows
from rigfit.estimate.speed import load_constants
from rigfit.measure.groundtruth import case_from_row, read_rows

HEADER = "name,source_url,hardware,n_devices,test_prefix,reason\n"


def _row(url: str, hw: str, n: int, test: str) -> dict:
    return {"source_url": url, "hardware": hw, "n_devices": str(n), "test": test, "tokens_per_s": "10"}


def test_rule_matches_only_its_rows(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(HEADER + "rig,https://a/1,GPU X,2,pp,link narrower than assumed\n")
    rules = read_exclusions(p)
    assert exclusion_reason(case_from_row(_row("https://a/1", "GPU X", 2, "pp512")), rules) == "rig"
    assert exclusion_reason(case_from_row(_row("https://a/1", "GPU X", 2, "tg128")), rules) is None
    assert exclusion_reason(case_from_row(_row("https://a/1", "GPU X", 1, "pp512")), rules) is None
    assert exclusion_reason(case_from_row(_row("https://a/1", "GPU Y", 2, "pp512")), rules) is None
    assert exclusion_reason(case_from_row(_row("https://a/2", "GPU X", 2, "pp512")), rules) is None


def test_rule_needs_a_reason(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(HEADER + "rig,https://a/1,,,,\n")
    with pytest.raises(ValueError, match="reason"):
        read_exclusions(p)


def test_excluded_rows_are_counted_not_fitted(tmp_path: Path) -> None:
    gt = tmp_path / "speed_x.csv"
    gt.write_text(
        "source_url,hardware,hardware_kind,n_devices,backend,model,model_family,params_b,quant,"
        "model_size_gib,test,prompt_tokens,gen_tokens,depth,ngl,threads,flash_attn,tokens_per_s,"
        "date_or_build,notes\n"
        "https://a/1,NVIDIA GeForce RTX 4090,nvidia,1,CUDA,llama 8B Q4_0,llama,8.03,Q4_0,4.33,"
        "pp512,512,,0,99,,,10000,build 1 (7000),\n"
    )
    ex = tmp_path / "x.csv"
    ex.write_text(HEADER + "all-of-a,https://a/1,,,,test\n")
    rows, unresolved, total = build_fit_rows(gt, load_constants(), None, read_exclusions(ex))
    assert (len(rows), total) == (0, 1)
    assert unresolved == Counter({"excluded: all-of-a": 1})
    rows, _, _ = build_fit_rows(gt, load_constants())
    assert len(rows) == 1


def test_shipped_list_names_rows_of_the_ground_truth() -> None:
    path = default_exclusions_path()
    if path is None:
        pytest.skip("no data/ground-truth in this checkout")
    urls = set()
    for f in path.parent.glob("speed_*.csv"):
        urls |= {(r.get("source_url") or "").strip() for r in read_rows(f)[1]}
    for rule in read_exclusions(path):
        assert rule.source_url in urls, rule.name
        assert len(rule.reason) > 40, rule.name  # a stated reason, not a label
