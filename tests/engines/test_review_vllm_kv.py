"""Review regression: `plan --runtime vllm -ctk q4_0` planned an fp8 cache and `-ctv q5_1` a
16-bit one, silently: vLLM has one --kv-cache-dtype for K and V, auto or fp8."""

from __future__ import annotations

import pytest

from clirun import run_cli

BOX = "RTX 4090 + 64GB DDR5-6000"


@pytest.mark.parametrize("flags", [("-ctk", "q4_0"), ("-ctv", "q5_1"), ("--kv-type", "iq4_nl")])
def test_vllm_refuses_kv_types_it_does_not_have(flags):
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX, "--runtime", "vllm", *flags)
    assert r.exit_code == 2
    assert "--kv-cache-dtype" in r.stderr and "q8_0" in r.stderr


def test_vllm_q8_0_is_its_fp8_cache():
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX, "--runtime", "vllm", "--kv-type", "q8_0")
    assert r.exit_code == 0, r.output
    assert "--kv-cache-dtype fp8" in " ".join(r.stdout.split())
