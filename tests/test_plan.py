"""Plans: verdicts, max context / max ngl searches, bad settings, vLLM mode, CLI exit codes."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.errors import RigfitError
from rigfit.estimate.memory import LlamaSettings, build_profile, compute_stage_bytes
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import PlanSettings, make_plan, max_context, max_ngl

GIB = 1024**3
BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


@pytest.fixture(scope="module")
def box():
    return resolve_machine(BOX)


@pytest.fixture(scope="module")
def m8b():
    return load_model_source("llama-3.1-8b")


@pytest.fixture(scope="module")
def m70b():
    return load_model_source("llama-3.1-70b")


def test_8b_fits_reference_box(m8b, box):
    p = make_plan(m8b, box, with_speed=False)
    assert p.fit == "fits"
    gpu = p.devices[0]
    assert gpu.name == "CUDA0" and gpu.layers == 32 and gpu.holds_output
    # KV of Llama 3.1 8B: 128 KiB per token (f16) × 4096
    assert gpu.kv_bytes == 4096 * 128 * 1024
    assert gpu.total_bytes == (
        gpu.weights_bytes
        + gpu.kv_bytes
        + gpu.compute_bytes
        + gpu.overhead_bytes
        + gpu.recurrent_bytes
        + gpu.output_bytes
    )
    j = p.to_json()
    assert j["fit"] == "fits" and j["weights_bytes"] == m8b.weights_bytes
    for key in (
        "name",
        "weights_bytes",
        "kv_bytes",
        "recurrent_bytes",
        "compute_bytes",
        "output_bytes",
        "overhead_bytes",
        "total_bytes",
        "capacity_bytes",
        "fit",
    ):
        assert key in j["memory"]["devices"][0]
    assert "-ngl all" in p.commands["llama_server_line"]
    assert p.commands["ollama"]["parameters"] == {"num_ctx": 4096, "num_gpu": 33}


def test_70b_on_24gb_gpu_offloads(m70b):
    m = resolve_machine("RTX 3090 + 64GB DDR4")
    p = make_plan(m70b, m, with_speed=False)
    assert p.fit == "offload"
    n = max_ngl(m70b, m)
    assert p.ngl == n and 30 < n < 60
    assert p.devices[0].headroom_bytes >= p.margin_bytes
    # one more layer would not keep the margin
    over = make_plan(m70b, m, PlanSettings(ngl=n + 1), with_speed=False)
    assert over.devices[0].headroom_bytes < over.margin_bytes


def test_no_when_ram_too_small(m70b):
    p = make_plan(m70b, resolve_machine("RTX 3060 12GB + 16GB DDR4"), with_speed=False)
    assert p.fit == "no"


def test_tight_states_margin(m8b, box):
    ctx = max_context(m8b, box, allow_tight=True)
    p = make_plan(m8b, box, PlanSettings(n_ctx=ctx), with_speed=False)
    assert p.fit == "tight"
    assert any("margin" in n for n in p.notes)


def test_max_context_monotone(box):
    q = load_model_source("qwen2.5-14b")
    c_f16 = max_context(q, box)
    c_q8 = max_context(q, box, PlanSettings(kv_type_k="q8_0", kv_type_v="q8_0"))
    c_big = max_context(q, resolve_machine("RTX 3090 + 64GB"))
    assert 4096 <= c_f16 < c_q8 and c_f16 < c_big
    assert c_f16 % 256 == 0
    assert make_plan(q, box, PlanSettings(n_ctx=c_f16), with_speed=False).fit == "fits"
    assert make_plan(q, box, PlanSettings(n_ctx=c_f16 + 256), with_speed=False).fit != "fits"


def test_bad_settings(m8b, box):
    with pytest.raises(RigfitError, match="--ctx"):
        make_plan(m8b, box, PlanSettings(n_ctx=-5), with_speed=False)
    with pytest.raises(RigfitError, match="flash attention"):
        make_plan(
            m8b, box, PlanSettings(kv_type_k="q4_0", kv_type_v="q4_0", flash_attn="off"), with_speed=False
        )
    with pytest.raises(RigfitError):
        make_plan(m8b, box, PlanSettings(n_parallel=0), with_speed=False)
    with pytest.raises(RigfitError):
        make_plan(m8b, box, PlanSettings(llama_build="nonsense"), with_speed=False)
    # -ngl beyond the layer count is accepted (means all)
    assert make_plan(m8b, box, PlanSettings(ngl=500), with_speed=False).ngl == 33


def test_build_profiles(box):
    g = load_model_source("gemma-3-1b")
    s = LlamaSettings(n_ctx=4096)
    layers = list(range(g.arch.n_layer))
    new = compute_stage_bytes(g.arch, s, layers, True, build_profile("current"))
    old = compute_stage_bytes(g.arch, s, layers, True, build_profile("b9294"))
    assert old > 5 * new  # old builds reserve n_ubatch rows of logits
    ds = load_model_source("deepseek-v3")
    kv_new = make_plan(ds, box, PlanSettings(ngl=0), with_speed=False).devices[-1].kv_bytes
    kv_old = (
        make_plan(ds, box, PlanSettings(ngl=0, llama_build="b7800-2026-01"), with_speed=False)
        .devices[-1]
        .kv_bytes
    )
    assert kv_old == pytest.approx(kv_new * (576 + 512) / 576)


def test_vllm_mode(m8b, m70b):
    m = resolve_machine("RTX 4090")
    p = make_plan(m8b, m, PlanSettings(runtime="vllm", n_ctx=8192), with_speed=False)
    assert p.fit == "fits" and p.vllm.kv_cache_tokens > 8192
    assert p.vllm.max_concurrent_seqs_at_max_len >= 1
    assert p.commands["vllm_serve"][:3] == ["vllm", "serve", m8b.arch.hf_repo]
    assert make_plan(m70b, m, PlanSettings(runtime="vllm"), with_speed=False).fit == "no"


def test_cli_plan_json_and_errors():
    out = run_cli("plan", "llama-3.1-8b", "--on", BOX, "--json")
    assert out.exit_code == 0, out.stderr
    j = json.loads(out.stdout)
    assert j["fit"] == "fits" and j["memory"]["devices"][0]["name"] == "CUDA0"
    text = run_cli("plan", "llama-3.1-8b", "--on", BOX, "--max-ctx")
    assert text.exit_code == 0 and "llama-server" in text.stdout and "Largest context" in text.stdout
    for bad in (
        ["plan", "no-such-model-xyz", "--on", BOX],
        ["plan", "llama-3.1-8b", "--on", BOX, "--ctx", "-5"],
        ["plan", "llama-3.1-8b", "--on", BOX, "--fa", "maybe"],
        ["plan", "llama-3.1-8b", "--on", BOX, "--kv-type", "q4_0", "--fa", "off"],
    ):
        r = run_cli(*bad)
        assert r.exit_code == 2, (bad, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr


def test_published_cuda_logs_llama3_8b():
    """May 2024 CUDA logs (XiongjieDai GPU-Benchmarks, builds b2824–b2843), Llama 3 8B Q4_K_M, n_ctx 8192:
    one GPU: CUDA0 compute 560.00 MiB, CUDA_Host 24.01 MiB; two GPUs (pipeline parallel): 640.01 /
    640.02 MiB per GPU and 72.02 MiB host; KV 1024 MiB; CUDA0 model buffer 4403.49 MiB."""
    from rigfit.estimate.memory import build_profile as bp
    from rigfit.plan import device_memory

    spec = load_model_source("llama-3-8b")
    s = PlanSettings(n_ctx=8192, flash_attn="off", n_batch=512, llama_build="b2824")
    mib = 1024**2
    _, one = device_memory(spec, resolve_machine("RTX 4090 + 64GB"), s, 8192, None, bp("b2824"))
    assert one[0].compute_bytes / mib == pytest.approx(560.00, rel=0.01)
    assert one[-1].compute_bytes / mib == pytest.approx(24.01, rel=0.01)
    assert one[0].kv_bytes / mib == 1024
    assert one[0].weights_bytes / mib == pytest.approx(4403.49, rel=0.002)
    _, two = device_memory(spec, resolve_machine("2x RTX 4090 + 64GB"), s, 8192, None, bp("b2824"))
    assert [d.compute_bytes / mib for d in two[:2]] == pytest.approx([640.01, 640.02], rel=0.01)
    assert two[-1].compute_bytes / mib == pytest.approx(72.02, rel=0.01)


# ---------------------------------------------------------------------------------------------
# MoE spill: experts in RAM (--n-cpu-moe) against whole-layer offload (-ngl)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moe30b():
    return load_model_source("qwen3-30b-a3b", "Q4_K_M")


def test_moe_spill_picks_experts_in_ram(moe30b, box):
    from rigfit.plan import min_n_cpu_moe

    s = PlanSettings(n_ctx=16384)
    p = make_plan(moe30b, box, s)
    layers = make_plan(moe30b, box, PlanSettings(n_ctx=16384, ngl=p.max_ngl))
    assert layers.fit == "offload" and layers.offload == "layers" and layers.ngl < 49
    # experts in RAM: every layer on the GPU, the smallest --n-cpu-moe that keeps the margin
    n = min_n_cpu_moe(moe30b, box, s)
    assert p.fit == "offload" and p.offload == "experts" and p.ngl == 49
    assert 0 < n < 48 and p.settings.n_cpu_moe == n and p.experts_in_ram == n
    assert all(d.headroom_bytes >= p.margin_bytes for d in p.devices)
    fewer = make_plan(moe30b, box, PlanSettings(n_ctx=16384, n_cpu_moe=n - 1), with_speed=False)
    assert fewer.devices[0].headroom_bytes < fewer.margin_bytes  # one layer's experts fewer: no margin
    # chosen because it decodes faster; the layer plan is named in a note with its speed
    assert p.speed.decode_tps_ctx.value >= layers.speed.decode_tps_ctx.value
    assert p.alternative.offload == "layers" and p.alternative.ngl == layers.ngl
    assert p.alternative.decode_tps == pytest.approx(layers.speed.decode_tps.value)
    assert any(f"-ngl {layers.ngl} layer offload would decode at" in x for x in p.notes)
    assert not any(x.startswith("Only ") for x in p.notes)
    line = p.commands["llama_server_line"]
    assert "-ngl all" in line and f"--n-cpu-moe {n}" in line
    ol = p.commands["ollama"]
    assert ol["parameters"]["num_gpu"] == layers.ngl and "no setting" in ol["note"]
    j = p.to_json()
    assert j["offload"]["kind"] == "experts" and j["offload"]["n_cpu_moe"] == n
    # the same choice without the speed figures (recommend's cheap first pass)
    assert make_plan(moe30b, box, s, with_speed=False).settings.n_cpu_moe == n


def test_moe_spill_respects_user_settings(moe30b, box):
    p = make_plan(moe30b, box, PlanSettings(n_ctx=16384, ngl=20), with_speed=False)
    assert p.ngl == 20 and p.offload == "layers" and "--n-cpu-moe" not in p.commands["llama_server_line"]
    assert p.alternative is None
    q = make_plan(moe30b, box, PlanSettings(n_ctx=16384, n_cpu_moe=40), with_speed=False)
    assert q.settings.n_cpu_moe == 40 and q.fit == "offload" and q.offload == "experts"
    assert q.experts_in_ram == 40 and "--n-cpu-moe 40" in q.commands["llama_server_line"]
    # everything on the GPU: no search, no offload
    big = make_plan(
        moe30b, resolve_machine("RTX 5090 + 64GB DDR5"), PlanSettings(n_ctx=4096), with_speed=False
    )
    assert big.fit == "fits" and big.offload is None and big.alternative is None
    assert big.commands["ollama"]["note"] is None


def test_dense_spill_is_layer_offload(m70b):
    from rigfit.plan import min_n_cpu_moe

    m = resolve_machine("RTX 3090 + 64GB DDR4")
    p = make_plan(m70b, m, with_speed=False)
    assert p.fit == "offload" and p.offload == "layers" and p.alternative is None
    assert p.settings.n_cpu_moe == 0 and "--n-cpu-moe" not in p.commands["llama_server_line"]
    assert min_n_cpu_moe(m70b, m) is None


def test_moe_spill_cli_says_which_kind():
    r = run_cli("plan", "qwen3-30b-a3b", "--on", BOX, "--ctx", "16384")
    assert r.exit_code == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "offload — experts in RAM: all 49 layers on the GPU(s)" in out
    assert "--n-cpu-moe" in out and "layer offload would decode at" in out and "Ollama has no setting" in out
