"""`rigfit plan --draft / --mtp` (issue 14) through the CLI entry point."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli

ON = "RTX 3060 12GB + 32GB DDR4"


def test_plan_with_draft_text():
    out = run_cli(
        "plan",
        "llama-3.1-8b",
        "-q",
        "Q8_0",
        "--draft",
        "llama-3.2-1b",
        "--draft-quant",
        "Q8_0",
        "--draft-max",
        "5",
        "--task",
        "code",
        "--on",
        ON,
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.stdout.split())
    assert "draft" in text  # the memory table's draft column
    assert "speculative decoding (draft model, --draft-max 5)" in text
    assert "estimated for task 'code'" in text
    assert "-md llama-3.2-1b-Q8_0.gguf --spec-draft-n-max 5" in text


def test_plan_with_draft_json_labelled():
    out = run_cli(
        "plan",
        "llama-3.1-8b",
        "--draft",
        "llama-3.2-1b",
        "-ngld",
        "8",
        "--accept-rate",
        "0.7",
        "--on",
        ON,
        "--json",
    )
    assert out.exit_code == 0, out.output
    js = json.loads(out.stdout)
    sp = js["speculative"]
    assert sp["kind"] == "draft" and sp["draft_max"] == 3
    assert sp["acceptance"] == {
        "value": 0.7,
        "unit": "fraction",
        "provenance": "looked_up",
        "source": "given (--accept-rate)",
    }
    for key in ("decode_tps", "speedup", "tokens_per_step"):
        fig = sp[key]
        assert fig["provenance"] == "estimated" and fig["low"] <= fig["value"] <= fig["high"]
    assert js["settings"]["speculative"]["ngl_draft"] == 8
    assert sum(d["draft_bytes"] for d in js["memory"]["devices"]) == sum(
        b["total_bytes"] for b in sp["memory"]["devices"]
    )
    assert "-ngld 8" in js["commands"]["llama_server_line"]


def test_plan_with_mtp_json():
    out = run_cli("plan", "glm-4.5-air", "--mtp", "--draft-max", "2", "--on", "4x RTX 3090 + 128GB", "--json")
    assert out.exit_code == 0, out.output
    sp = json.loads(out.stdout)["speculative"]
    assert sp["kind"] == "mtp" and sp["draft_max"] == 2
    assert sp["memory"]["devices"][0]["kv_bytes"] > 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--mtp",), "no MTP"),
        (("--draft-max", "4"), "needs --draft"),
        (("--draft", "qwen3-0.6b"), "vocabulary"),
        (("--draft", "llama-3.2-1b", "--mtp"), "not both"),
        (("--draft", "llama-3.2-1b", "--accept-rate", "1.5"), "--accept-rate"),
        (("--draft", "llama-3.2-1b", "-devd", "CUDA5"), "--device-draft"),
        (("--draft", "llama-3.2-1b", "--task", "poems"), "--task"),
        (("--draft", "no-such-draft-model"), "no-such-draft-model"),
        (("--draft", "llama-3.2-1b", "--runtime", "vllm"), "llama.cpp only"),
    ],
)
def test_bad_speculative_options_are_one_line(args, words):
    out = run_cli("plan", "llama-3.1-8b", "--on", ON, *args)
    assert out.exit_code == 2, out.output
    assert words in out.stderr
    assert "Traceback" not in out.output
