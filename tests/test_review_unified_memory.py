"""Review regressions: a Mac's CPU buffers come out of the same RAM as Metal's working set.

``rigfit recommend --on "Mac mini M4 16GB"`` offered gpt-oss-20b with "experts of 5 layers in RAM"
and GLM-4.7-Flash Q3_K_M with "experts of 18 layers in RAM (5.1 GiB)" as comfortable, using
14.6 of 16 GiB: on unified memory --n-cpu-moe only moves buffers out of Metal's budget into
the share macOS keeps for itself.
"""

from __future__ import annotations

import json

from clirun import run_cli

MAC16 = "Mac mini M4 16GB"


def _plan_json(*args: str) -> dict:
    r = run_cli("plan", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_mac_plan_never_moves_experts_to_ram():
    j = _plan_json("glm-4.7-flash", "--quant", "Q3_K_M", "--on", MAC16)
    assert j["offload"]["n_cpu_moe"] == 0 and j["offload"]["kind"] is None
    assert j["fit"] == "no"


def test_mac_does_not_fit_hint_names_the_metal_limit_not_cpu_moe():
    r = run_cli("plan", "glm-4.7-flash", "--quant", "Q3_K_M", "--on", MAC16)
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "iogpu.wired_limit_mb" in text.split("To make it run")[1]
    assert "--cpu-moe" not in text.split("To make it run")[1]
    assert "macOS's share" in text


def test_mac_whole_footprint_stays_within_metal_working_set():
    """Whatever the split, Metal + CPU buffers of a plan that fits stay under the working set."""
    for model in ("gemma-3-12b", "qwen3-8b", "deepseek-v2-lite", "gpt-oss-20b"):
        j = _plan_json(model, "--on", MAC16)
        if j["fit"] == "no":
            continue
        devs = j["memory"]["devices"]
        metal = next(d for d in devs if d["kind"] == "apple")
        total = sum(d["total_bytes"] for d in devs)
        assert total <= metal["capacity_bytes"], (model, total, metal["capacity_bytes"])


def test_discrete_gpu_box_still_offloads_experts_to_ram():
    j = _plan_json("qwen3-30b-a3b", "--on", "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200")
    assert j["offload"]["n_cpu_moe"] > 0 or j["offload"]["kind"] == "experts"


def test_mac_cpu_capacity_leaves_out_the_drafts_metal_buffers():
    """`plan qwen3-8b --on "Mac mini M4 16GB" --draft qwen3-0.6b` left the draft's Metal buffers
    out of the unified RAM left for the CPU (5.14 GiB instead of 4.31)."""
    j = _plan_json("qwen3-8b", "--on", MAC16, "--draft", "qwen3-0.6b")
    devs = j["memory"]["devices"]
    metal = next(d for d in devs if d["kind"] == "apple")
    cpu = next(d for d in devs if d["kind"] == "cpu")
    assert metal["draft_bytes"] > 0
    assert metal["total_bytes"] + cpu["capacity_bytes"] <= metal["capacity_bytes"] + 1
