"""CPU batched decode: llama.cpp's kernel choice per weight and batch, and the step it implies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rigfit.estimate.concurrency import batched_decode
from rigfit.estimate.cpu_batch import (
    Matrix,
    StepParts,
    cpu_kernel,
    matrix_time,
    model_matrices,
    step_time,
)
from rigfit.estimate.speed.estimate import estimate_speed
from rigfit.formats.bundled import bundled_gemma_path
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import PlanSettings

CPU_BOX = "Ryzen 9 7950X + 64GB DDR5-6000"


@pytest.mark.parametrize(
    ("qtype", "ne01", "batch", "isa", "repackable", "kernel"),
    [
        ("Q4_K", 640, 1, "avx2", True, "repack"),  # repacked Q4_K 8x8 on AVX2
        ("Q4_K", 644, 2, "avx2", True, "vec"),  # rows not a multiple of 8: not repacked
        ("Q5_0", 1024, 1, "avx2", True, "vec"),  # llamafile_sgemm refuses n < 2
        ("Q5_0", 1024, 2, "avx2", True, "tinyblas"),
        ("Q8_0", 262144, 8, "avx512", False, "tinyblas"),  # tied output: not repacked, tinyBLAS
        ("Q4_0", 4096, 8, "avx2", False, "tinyblas"),  # embedding table: no repack
        ("Q6_K", 4096, 8, "avx512", True, "vec"),  # Q6_K is repacked only on ARM
        ("Q2_K", 4096, 8, "avx2", True, "vec"),
        ("Q2_K", 4096, 8, "avx512", True, "repack"),  # Q2_K 8x8 needs AVX-512
        ("Q8_0", 4096, 8, "neon", True, "vec"),  # no x86 rule claimed elsewhere
    ],
)
def test_kernel_rules(qtype: str, ne01: int, batch: int, isa: str, repackable: bool, kernel: str) -> None:
    assert cpu_kernel(qtype, ne01, batch, isa, repackable=repackable) == kernel


def test_matrix_time_by_kernel() -> None:
    t1, params, c = 1e-3, 1e6, 1e-11  # GEMM: 1e-5 s per token and column
    assert matrix_time("vec", t1, params, 3, c) == pytest.approx(3e-3)  # nothing amortised
    # weights read once; each further column adds its arithmetic (none hidden by default)
    assert matrix_time("tinyblas", t1, params, 8, c) == pytest.approx(1e-3 + 7e-5)
    assert matrix_time("tinyblas", t1, params, 8, c, overlap=True) == pytest.approx(1e-3)
    assert matrix_time("tinyblas", t1, params, 200, c, overlap=True) == pytest.approx(2e-3)
    assert matrix_time("repack", t1, params, 3, c) == pytest.approx(3e-3)  # three gemv
    assert matrix_time("repack", t1, params, 5, c) == pytest.approx(1e-3 + 3e-5 + 1e-3)  # gemm(4) + gemv
    for k in ("vec", "tinyblas", "repack"):
        assert matrix_time(k, t1, params, 1, c) == t1


def test_vec_dot_matrices_gain_nothing_from_batching() -> None:
    """All weights on the vec_dot path (Q6_K): two users get the same aggregate as one, while
    tinyBLAS weights (Q8_0) nearly double it."""
    parts = StepParts(weights=10e-3, kv=0.0, fixed=0.0)
    q6 = [Matrix("Q6_K", 4096, 1e7, 8.2e6)]
    q8 = [Matrix("Q8_0", 4096, 1e7, 1.06e7)]
    t1, _ = step_time(parts, q6, 1, "avx2", 1e-12)
    t2, by = step_time(parts, q6, 2, "avx2", 1e-12)
    assert 2 / t2 == pytest.approx(1 / t1) and set(by) == {"vec"}
    t2, by = step_time(parts, q8, 2, "avx2", 1e-12)
    assert 2 / t2 == pytest.approx(2 / t1, rel=1e-3) and set(by) == {"tinyblas"}


def test_tied_output_counts_the_embedding_table() -> None:
    T = SimpleNamespace
    tied = [T(name="token_embd.weight", shape=(64, 1000), ggml_type="Q8_0", n_bytes=68000)]
    mats = model_matrices(
        [*tied, T(name="blk.0.ffn_up.weight", shape=(64, 128), ggml_type="Q5_0", n_bytes=5632)]
    )
    assert [m.repackable for m in mats] == [False, True]
    untied = [*tied, T(name="output.weight", shape=(64, 1000), ggml_type="Q6_K", n_bytes=52500)]
    assert [m.ggml_type for m in model_matrices(untied)] == ["Q6_K"]


@pytest.fixture(scope="module")
def gemma_cpu():
    spec = load_model_source(str(bundled_gemma_path()), None)
    machine = resolve_machine(CPU_BOX)
    return spec, machine


def test_one_user_is_plans_single_stream_decode(gemma_cpu) -> None:
    """N = 1: the batched figure and band are exactly plan's calibrated decode figure and band."""
    spec, machine = gemma_cpu
    plan = make_plan(spec, machine, PlanSettings(n_ctx=4096), with_speed=False)
    for threads in (None, 4):
        one = batched_decode(plan, users=1, prompt_tokens=512, output_tokens=1, threads=threads)
        est = estimate_speed(
            spec, machine, placement=plan.placement, threads=threads, context=512, prompt=512
        )
        single = est.decode_tps_ctx  # decode at depth 512, as plan shows it
        got = one.per_user_tps
        assert (got.value, got.low, got.high) == pytest.approx((single.value, single.low, single.high))


def test_cpu_batches_scale_by_kernel(gemma_cpu) -> None:
    """Gemma 3 270M Q4_K_M on a CPU: aggregate rises with users (its big tied Q8_0 output and the
    Q5_0 matrices take tinyBLAS) but less than on a GPU; bands hold their value."""
    spec, machine = gemma_cpu
    plan = make_plan(spec, machine, PlanSettings(n_ctx=2048, n_parallel=8), with_speed=False)
    res = {n: batched_decode(plan, users=n, prompt_tokens=32, output_tokens=96) for n in (1, 2, 4, 8)}
    agg = [res[n].aggregate_tps.value for n in (1, 2, 4, 8)]
    assert agg[0] < agg[1] < agg[2] and agg[1] < 2 * agg[0]
    for b in res.values():
        assert b.per_user_tps.low <= b.per_user_tps.value <= b.per_user_tps.high
        assert "CPU batched-decode" in b.per_user_tps.source
    assert res[8].per_user_tps.value < res[1].per_user_tps.value
    assert res[1].limit == "weights" and res[8].limit == "compute"
