"""``rigfit plan --users/--min-tps/-ctk/-ctv/--kv-types`` and ``rigfit recommend --users`` in-process."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli

BOX = "RTX 3090 + Ryzen 9 5950X + 64GB DDR4-3200"


def test_plan_users_text_and_json():
    args = ("plan", "qwen3-8b", "--on", BOX, "--users", "8", "--prompt", "2000", "--output", "500")
    r = run_cli(*args, "--min-tps", "20")
    assert r.exit_code == 0, r.stderr
    assert "Concurrency" in r.stdout and "-np 8" in r.stdout and "-c 20224" in r.stdout
    assert "Largest number of users at ≥ 20 tok/s" in r.stdout
    j = json.loads(run_cli(*args, "--json").stdout)
    c = j["concurrency"]
    assert c["users"] == 8 and c["engine"] == "llama.cpp"
    per = c["at_users"]["per_user_decode_tps"]
    assert per["provenance"] == "estimated" and per["low"] <= per["value"] <= per["high"]
    agg = c["at_users"]["aggregate_decode_tps"]
    assert agg["value"] == pytest.approx(8 * per["value"])
    assert [b["users"] for b in c["curve"]][:4] == [1, 2, 4, 8]
    assert j["settings"]["n_parallel"] == 8 and j["settings"]["users"] == 8


def test_plan_vllm_users_reports_the_pool():
    r = run_cli("plan", "llama-3.1-8b", "--on", "H100", "--runtime", "vllm", "--users", "32", "--json")
    assert r.exit_code == 0, r.stderr
    c = json.loads(r.stdout)["concurrency"]
    assert c["engine"] == "vllm" and "Maximum concurrency" in c["memory_how"]


def test_plan_kv_types_k_v_differ_and_table():
    r = run_cli(
        "plan", "llama-3.1-8b", "--on", BOX, "--ctx", "32768", "-ctk", "q8_0", "-ctv", "q5_1", "--kv-types"
    )
    assert r.exit_code == 0, r.stderr
    assert "-ctk q8_0 -ctv q5_1" in r.stdout
    assert "KV cache types at 32,768 tokens" in r.stdout and "iq4_nl" in r.stdout
    assert "github.com/ggml-org/llama.cpp/pull/7412" in r.stdout.replace("\n", "")
    j = json.loads(run_cli("plan", "llama-3.1-8b", "--on", BOX, "--kv-types", "--json").stdout)
    assert {row["kv_type"] for row in j["kv_types"]} >= {"f16", "q8_0", "q4_0", "q5_1", "iq4_nl"}


def test_plan_beyond_training_context_prints_yarn():
    r = run_cli("plan", "qwen2.5-7b", "--on", "H100 + 128GB", "--ctx", "65536")
    assert r.exit_code == 0, r.stderr
    out = r.stdout.replace("\n", " ")
    assert "--rope-scaling yarn --rope-scale 2 --yarn-orig-ctx 32768" in out


@pytest.mark.parametrize(
    "bad",
    [
        ("--users", "-1"),
        ("--users", "2", "--output", "0"),
        ("--users", "2", "--min-tps", "0"),
        ("-ctv", "q4_0", "--fa", "off"),
        ("-ctk", "q9_9"),
    ],
)
def test_plan_bad_concurrency_and_kv_input(bad):
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX, *bad)
    assert r.exit_code == 2, (bad, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.strip()


def test_recommend_team_box_json():
    r = run_cli(
        "recommend", "--on", "RTX 4090 + 64GB", "--use", "agents", "--users", "4", "--limit", "2", "--json"
    )
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["users"] == 4 and j["ctx"] == 65536 and j["prompt_caching_turn_tokens"] == 2048
    top = j["picks"][0]
    assert "prompt caching" in top["ttft_s"]["source"]
