"""One validation of --ctx for the CLI, the planner and the memory model (rigfit.inputs)."""

import pytest

from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.inputs import check_ctx


def test_check_ctx_accepts_default_zero_and_positive():
    for n in (None, 0, 1, 4096):
        check_ctx(n)


def test_check_ctx_planner_message():
    with pytest.raises(RigfitError, match=r"--ctx must be ≥ 0 \(0 = the model's training context\), got -1"):
        check_ctx(-1)


def test_check_ctx_search_minimum_names_the_flag():
    check_ctx(256, minimum=256)
    with pytest.raises(RigfitError, match="--min-ctx must be at least 256 tokens"):
        check_ctx(255, flag="--min-ctx", minimum=256)


def test_memory_model_uses_the_same_rule():
    with pytest.raises(RigfitError, match="--ctx must be ≥ 0"):
        mem.validate(None, mem.LlamaSettings(n_ctx=-5))  # refused before the architecture is read
