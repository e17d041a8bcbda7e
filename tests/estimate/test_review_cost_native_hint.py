"""Review regression: `rigfit cost gpt-oss-20b --on "Mac mini M4 16GB"` told the user to try
"--quant Q3_K_M", a quant gpt-oss does not have (its MXFP4 experts are not re-quantized)."""

from __future__ import annotations

from clirun import run_cli


def test_cost_does_not_suggest_a_requant_of_a_native_mxfp4_model():
    r = run_cli("cost", "gpt-oss-20b", "--on", "Mac mini M4 16GB")
    assert r.exit_code == 2
    assert "Q3_K_M" not in r.stderr and "smaller model" in r.stderr


def test_cost_still_suggests_a_smaller_quant_for_a_bf16_release():
    r = run_cli("cost", "llama-3.1-70b", "--on", "Mac mini M4 16GB")
    assert r.exit_code == 2 and "Q3_K_M" in r.stderr
