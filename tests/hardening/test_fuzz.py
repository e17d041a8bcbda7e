"""Issue 18 acceptance: a property suite over every input kind (hypothesis, bounded time).

For any hostile GGUF header, HF config, safetensors header, claims CSV, cases CSV, llama-bench
import or command line, rigfit exits 0 or 2, prints no traceback, and a refusal is one line on
stderr. The builders live in tests/fuzzkit.py and are shared with benchmarks/fuzz_all.py, which
runs ≥ 10,000 cases per kind; here each kind gets a few dozen examples so the suite stays fast.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzkit

FAST = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("kind", sorted(fuzzkit.KINDS))
@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_every_input_kind_exits_0_or_2_without_traceback(kind, seed):
    with tempfile.TemporaryDirectory() as d:
        args, outcome = fuzzkit.run_kind(kind, random.Random(seed), Path(d))
    assert fuzzkit.problem(outcome) is None, (args, outcome.exit_code, outcome.stderr, outcome.exception)


@FAST
@given(line=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_any_claim_line(line):
    outcome = fuzzkit.run_case(["check", "-"], stdin=line + "\n")
    assert fuzzkit.problem(outcome) is None, (line, outcome.stderr, outcome.exception)


@FAST
@given(
    flag=st.sampled_from(
        [
            "--ctx",
            "--prompt",
            "--ubatch",
            "--parallel",
            "--n-cpu-moe",
            "--gpu-memory-utilization",
            "--ngl",
            "--tensor-split",
            "--kv-type",
        ]
    ),
    value=st.one_of(
        st.sampled_from(fuzzkit.NASTY),
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(max_size=30),
    ),
)
def test_any_plan_option_value(flag, value):
    outcome = fuzzkit.run_case(["plan", "llama-3.1-8b", "--on", "RTX 4090", flag, value])
    assert fuzzkit.problem(outcome) is None, (flag, value, outcome.stderr, outcome.exception)


@FAST
@given(data=st.binary(min_size=0, max_size=600))
def test_any_gguf_bytes(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("g") / "m.gguf"
    f.write_bytes(b"GGUF" + data)
    outcome = fuzzkit.run_case(["inspect", str(f)])
    assert fuzzkit.problem(outcome) is None, (data[:40], outcome.stderr, outcome.exception)


@FAST
@given(hardware=st.one_of(st.sampled_from(fuzzkit.NASTY), st.text(max_size=60)))
def test_any_machine_description(hardware):
    outcome = fuzzkit.run_case(["hardware", hardware])
    assert fuzzkit.problem(outcome) is None, (hardware, outcome.stderr, outcome.exception)
