"""Speculative decoding and MTP (estimate/speculative.py): acceptance, step cost, settings, plans."""

from __future__ import annotations

import csv
import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from rigfit.catalog.models import resolve_model
from rigfit.errors import RigfitError
from rigfit.estimate import speculative as sp
from rigfit.estimate.speed import model_work
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine
from rigfit.measure.llamacpp_log import parse_log
from rigfit.plan import PlanSettings, make_plan

GROUND_TRUTH = Path(__file__).resolve().parents[2] / "data" / "ground-truth" / "speculative.csv"


@pytest.fixture(scope="module")
def llama8b():
    return catalog_model_spec(resolve_model("llama-3.1-8b"), "Q8_0")


@pytest.fixture(scope="module")
def llama1b():
    return catalog_model_spec(resolve_model("llama-3.2-1b"), "Q8_0")


@pytest.fixture(scope="module")
def glm_air():
    return catalog_model_spec(resolve_model("glm-4.5-air"), "Q4_K_M")


def test_expected_tokens_per_step_matches_leviathan():
    # E = (1 − a^(k+1)) / (1 − a): nothing accepted → 1 token; all accepted → k + 1
    assert sp.expected_tokens_per_step(0.0, 5) == 1.0
    assert sp.expected_tokens_per_step(1.0, 5) == 6.0
    assert sp.expected_tokens_per_step(0.8, 4) == pytest.approx((1 - 0.8**5) / 0.2)
    assert sp.expected_tokens_per_step(0.999999, 3) == pytest.approx(4.0, rel=1e-5)


@pytest.mark.parametrize(("a", "k"), [(0.5, 1), (0.8, 3), (0.9, 16), (0.3, 8)])
def test_llamacpp_rate_round_trip(a, k):
    r = sp.llamacpp_rate(a, k)
    assert 0 < r < a + 1e-12  # later tokens are accepted less often than the first
    assert sp.acceptance_from_llamacpp_rate(r, k) == pytest.approx(a, abs=1e-6)
    # one drafted token: llama.cpp's rate is the per-token acceptance
    assert sp.llamacpp_rate(a, 1) == pytest.approx(a)


def test_step_cost_and_speedup():
    # a free draft on a bandwidth-bound target: the step costs the verify growth only
    assert sp.step_cost_ratio(3, 0.0) == pytest.approx(1 + 3 * sp.VERIFY_GROWTH_PER_TOKEN)
    # dearer drafts, MoE expert reads and lower acceptance all lower the gain
    assert sp.speedup(0.8, 3, 0.3) < sp.speedup(0.8, 3, 0.05)
    assert sp.speedup(0.8, 3, 0.05, expert_share_=0.6) < sp.speedup(0.8, 3, 0.05)
    assert sp.speedup(0.6, 3, 0.05) < sp.speedup(0.8, 3, 0.05)
    # a poor draft makes decoding slower
    assert sp.speedup(0.2, 8, 0.5) < 1.0
    assert 1 <= sp.best_draft_max(0.85, 0.05) <= 16


def test_task_bands_are_fitted_on_the_ground_truth():
    """TASK_ACCEPTANCE holds the p10/median/p90 of the published rows of each task."""
    rows = list(csv.DictReader(GROUND_TRUTH.open()))
    assert all(r["source_url"].startswith("https://") for r in rows)
    by_task: dict[str, list[float]] = {}
    for r in rows:
        k = float(r["n_max"])
        if r["predicted"]:
            steps = int(r["predicted"]) - int(r["accepted"])
            k = int(r["drafted"]) / steps
        by_task.setdefault(r["task"], []).append(sp.acceptance_from_llamacpp_rate(float(r["accept_rate"]), k))
    for task, (lo, mid, hi) in sp.TASK_ACCEPTANCE.items():
        vals = sorted(by_task[task])
        q = statistics.quantiles(vals, n=10, method="inclusive")
        assert (lo, mid, hi) == pytest.approx((q[0], statistics.median(vals), q[-1]), abs=0.002), task


def test_settings_validation(llama8b, llama1b, glm_air):
    assert sp.spec_settings(llama8b) is None
    s = sp.spec_settings(llama8b, draft=llama1b, draft_max=5, task="reasoning")
    assert s is not None and s.kind == "draft" and s.draft_max == 5 and s.task == "mixed"
    assert sp.spec_settings(glm_air, mtp=True).kind == "mtp"
    qwen06 = catalog_model_spec(resolve_model("qwen3-0.6b"), "Q8_0")
    bad = [
        dict(draft_max=4),  # a draft option without a draft
        dict(mtp=True),  # no MTP layers in Llama 3.1
        dict(draft=llama1b, mtp=True),
        dict(draft=qwen06),  # another tokenizer
        dict(draft=llama1b, draft_max=0),
        dict(draft=llama1b, draft_max=4, draft_min=5),
        dict(draft=llama1b, accept_rate=1.2),
        dict(draft=llama1b, task="poetry"),
    ]
    for kw in bad:
        with pytest.raises(RigfitError):
            sp.spec_settings(llama8b, **kw)


def test_n_mtp_layers(llama8b, glm_air):
    assert sp.n_mtp_layers(llama8b) == 0
    assert sp.n_mtp_layers(glm_air) == 1
    # MTP draft step: one MoE layer at its top-k share + its own head: a few % of a token
    assert 0.02 < sp.mtp_draft_ratio(glm_air, model_work(glm_air)) < 0.15


def test_plan_with_draft_adds_memory_and_speed(llama8b, llama1b):
    box = resolve_machine("RTX 3060 12GB + 32GB DDR4")
    plain = make_plan(llama8b, box, PlanSettings())
    spec = sp.spec_settings(llama8b, draft=llama1b, draft_max=5)
    p = make_plan(llama8b, box, PlanSettings(speculative=spec))
    gpu, gpu0 = p.devices[0], plain.devices[0]
    assert gpu.draft_bytes > llama1b.weights_bytes * 0.9  # the draft's weights + KV + compute on the GPU
    assert gpu.total_bytes == gpu0.total_bytes + gpu.draft_bytes
    r = p.speculative
    assert r is not None and r.kind == "draft" and r.draft_max == 5
    assert r.decode_tps is not None and plain.speed is not None
    assert r.decode_tps.value == pytest.approx(plain.speed.decode_tps.value * r.speedup.value)
    assert r.decode_tps.low < r.decode_tps.value < r.decode_tps.high
    assert 0.1 < r.draft_ratio < 0.5  # a 1B Q8_0 step against an 8B Q8_0 step
    line = p.commands["llama_server_line"]
    assert "-md llama-3.2-1b-Q8_0.gguf" in line and "--spec-draft-n-max 5" in line
    # JSON: the new figures in the labelled form of the other speed figures
    js = p.to_json()
    sj = js["speculative"]
    for key in ("decode_tps", "speedup", "tokens_per_step", "acceptance"):
        assert {"value", "unit", "provenance"} <= set(sj[key]), key
        assert sj[key]["provenance"] in ("estimated", "looked_up")
    assert {"low", "high"} <= set(sj["decode_tps"])
    assert js["settings"]["speculative"]["draft_model"]["id"] == "llama-3.2-1b"
    assert js["memory"]["devices"][0]["draft_bytes"] == gpu.draft_bytes


def test_draft_on_cpu_and_named_device(llama8b, llama1b):
    box = resolve_machine("RTX 3060 12GB + 32GB DDR4")
    spec = sp.spec_settings(llama8b, draft=llama1b, device_draft="none")
    p = make_plan(llama8b, box, PlanSettings(speculative=spec))
    gpu, cpu = p.devices
    assert cpu.draft_bytes > llama1b.weights_bytes * 0.9
    assert gpu.draft_bytes == 0
    assert "-devd none" in p.commands["llama_server_line"]
    with pytest.raises(RigfitError, match="device-draft"):
        make_plan(llama8b, box, PlanSettings(speculative=replace(spec, device_draft="CUDA7")))


def test_given_acceptance_is_labelled(llama8b, llama1b):
    box = resolve_machine("RTX 3060 12GB + 32GB DDR4")
    spec = sp.spec_settings(llama8b, draft=llama1b, accept_rate=0.5, draft_max=2)
    r = make_plan(llama8b, box, PlanSettings(speculative=spec)).speculative
    assert r is not None
    assert r.acceptance.provenance == "looked_up" and "--accept-rate" in (r.acceptance.source or "")
    assert r.tokens_per_step.value == pytest.approx(1 + 0.5 + 0.25)


def test_mtp_plan(glm_air):
    box = resolve_machine("4x RTX 3090 + 128GB DDR4")
    p = make_plan(glm_air, box, PlanSettings(speculative=sp.spec_settings(glm_air, mtp=True)))
    r = p.speculative
    assert r is not None and r.kind == "mtp" and r.draft_max == sp.DEFAULT_DRAFT_MAX
    buf, host = r.memory  # MTP context on the output layer's GPU, its logits in host memory
    assert p.placement is not None and buf.device == p.placement.output_device != "CPU"
    assert host.device == "CPU" and host.output_bytes == glm_air.arch.n_vocab * 4
    # the NextN block (2.4 GB at Q4_K_M) loads only with MTP: it is the MTP context's, not the trunk's
    nextn = sum(t.n_bytes for t in sp.mtp_tensors(glm_air))
    assert buf.weights_bytes == nextn > 2e9
    assert buf.kv_bytes == 4096 * 8 * 128 * 2 * 2  # one layer, 8 KV heads × 128, K and V, f16
    assert buf.compute_bytes > 0
    assert sum(d.draft_bytes for d in p.devices) == buf.total_bytes + host.total_bytes
    plain = make_plan(glm_air, box, PlanSettings())
    assert sum(d.weights_bytes for d in plain.devices) == glm_air.weights_bytes - nextn
    assert "--spec-type draft-mtp" in p.commands["llama_server_line"]
    assert 1.0 < r.speedup.value < 3.0


def test_speculative_needs_llamacpp():
    with pytest.raises(RigfitError, match=r"llama\.cpp only"):
        sp.check_engine("vllm")
    sp.check_engine("llama.cpp")


def test_draft_on_a_gpu_the_target_leaves_unused(llama8b, llama1b):
    """-devd CUDA1 with the target on CUDA0 only: the draft brings CUDA1's backend context."""
    box = resolve_machine("2x RTX 3060 12GB + 32GB DDR4")
    spec = sp.spec_settings(llama8b, draft=llama1b, device_draft="CUDA1")
    settings = PlanSettings(tensor_split=(1.0, 0.0), speculative=spec)
    p = make_plan(llama8b, box, settings)
    gpu0, gpu1, _ = p.devices
    assert gpu0.draft_bytes == 0 and gpu1.draft_bytes > llama1b.weights_bytes * 0.9
    assert gpu1.overhead_bytes > 0 and "-devd" in gpu1.overhead_source
    plain = make_plan(llama8b, box, replace(settings, speculative=None))
    assert plain.devices[1].overhead_bytes == 0


def test_parse_log_splits_the_draft_context():
    """Buffers logged after llama.cpp starts the speculative context belong to the draft."""
    text = "\n".join(
        [
            "I load_tensors:   CPU_Mapped model buffer size =    24.97 MiB",
            "I llama_context: n_outputs_max         = 17",
            "I llama_kv_cache:        CPU KV buffer size =     8.00 MiB",
            "I sched_reserve:        CPU compute buffer size =    18.02 MiB",
            "I common_speculative_init_result: loading draft model 'models/draft.gguf'",
            "I load_tensors:   CPU_Mapped model buffer size =     3.98 MiB",
            "I llama_context: n_outputs_max         = 1",
            "I llama_kv_cache:        CPU KV buffer size =     4.00 MiB",
            "I sched_reserve:        CPU compute buffer size =    11.02 MiB",
        ]
    )
    log = parse_log(text)
    assert log.mib("model") == 24.97 and log.mib("KV") == 8.0 and log.mib("compute") == 18.02
    assert log.context["n_outputs_max"] == "17"
    assert log.draft is not None
    assert log.draft.mib("model") == 3.98 and log.draft.mib("compute") == 11.02
    assert log.to_json()["draft"]["buffers"]["KV"] == {"CPU": 4.0}
    assert parse_log(text.split("\nI common_speculative")[0]).draft is None
