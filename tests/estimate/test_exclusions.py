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


HEADER_NOTES = "name,source_url,hardware,n_devices,test_prefix,notes_contains,reason\n"


def _row_notes(url: str, notes: str, test: str = "pp2048") -> dict:
    return {
        "source_url": url,
        "hardware": "GPU X",
        "n_devices": "1",
        "test": test,
        "tokens_per_s": "10",
        "notes": notes,
    }


def test_rule_matches_by_notes(tmp_path: Path) -> None:
    """Rows of one URL on two builds: only those whose notes name the branch are left out."""
    p = tmp_path / "x.csv"
    p.write_text(HEADER_NOTES + "branch,https://a/1,GPU X,,,Tune-Branch,measured on an unmerged branch\n")
    rules = read_exclusions(p)
    assert rules[0].notes_contains == "Tune-Branch"
    on_branch = case_from_row(_row_notes("https://a/1", "ROCm, lhl/llama.cpp tune-branch, -ub 2048"))
    upstream = case_from_row(_row_notes("https://a/1", "ROCm, hipBLAS + rocWMMA, -ub 2048"))
    no_notes = case_from_row(_row_notes("https://a/1", ""))
    other_url = case_from_row(_row_notes("https://a/2", "tune-branch"))
    assert exclusion_reason(on_branch, rules) == "branch"  # case-insensitive substring
    assert exclusion_reason(upstream, rules) is None
    assert exclusion_reason(no_notes, rules) is None
    assert exclusion_reason(other_url, rules) is None


def test_list_without_notes_column_reads_as_before(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(HEADER + "rig,https://a/1,GPU X,,,a reason\n")
    (rule,) = read_exclusions(p)
    assert rule.notes_contains == ""
    assert exclusion_reason(case_from_row(_row_notes("https://a/1", "anything")), [rule]) == "rig"


def test_shipped_list_leaves_out_branch_and_fork_rows_only() -> None:
    """The shipped rules single out the tuned-branch rows of lhl's README and keep the upstream
    rows of the same URL; every notes rule matches at least one row of the ground truth."""
    path = default_exclusions_path()
    if path is None:
        pytest.skip("no data/ground-truth in this checkout")
    rules = read_exclusions(path)
    hits: Counter = Counter()
    kept_same_url = 0
    for f in path.parent.glob("speed_*.csv"):
        for r in read_rows(f)[1]:
            case = case_from_row(r)
            why = exclusion_reason(case, rules)
            if why is not None:
                hits[why] += 1
            elif "strix-halo-testing" in case.source_url and "build 6792" in r.get("date_or_build", ""):
                kept_same_url += 1
    assert hits["unmerged-branch-rocm-wmma-tune"] == 10
    assert kept_same_url >= 20  # the upstream ROCm and Vulkan tables of the same section stay
    for rule in rules:
        if rule.notes_contains:
            assert hits[rule.name] > 0, rule.name
