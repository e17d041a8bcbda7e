"""Issue 18, defect 4: the claim parser is linear (no ReDoS), lines are capped, and adversarial
strings still give the right reading or one clear error. The time bound lives in
benchmarks/claims_redos.py; these tests check results only."""

from __future__ import annotations

import pytest

from rigfit.claims import MAX_CLAIM_LINE_CHARS, parse_claims, parse_prose
from rigfit.errors import RigfitError

#: The strings of the issue (8 KB of "1,1,1,…", "1s " × 30000) cut to fit one line.
ADVERSARIAL = [
    "1," * 2000 + "1",
    "1s " * 1300,
    "1s " * 1300 + "ttft",
    "ttft " * 800,
    "on " * 1300,
    "on x" + " " * 4000 + "y",
    "1" * 4000,
    "1." * 2000,
    "Q4_" + "a_" * 2000,
    "x" + " " * 4000 + "y at z",
    "1 " * 2000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_lines_give_one_clear_error(text):
    with pytest.raises(RigfitError) as info:
        parse_claims(text)
    assert "\n" not in info.value.message
    assert len(info.value.message) < 200


def test_a_real_claim_is_still_found_after_adversarial_padding():
    pad = "1,1," * 200
    c = parse_prose(f"{pad} Llama-3.1-8B Q4_K_M at 1,200 tok/s on an RTX 3060.")
    assert c.metric == "decode_tps" and c.value == 1200.0 and c.hardware == "RTX 3060"
    assert c.quant == "Q4_K_M"


def test_ttft_readings_number_first_and_keyword_first():
    c = parse_prose("Llama-3.1-8B Q4_K_M: 350 ms to first token on an RTX 3060")
    assert c.metric == "ttft_s" and c.value == pytest.approx(0.35)
    c = parse_prose("Llama-3.1-8B Q4_K_M has a TTFT of 0.4 s on an RTX 3060")
    assert c.metric == "ttft_s" and c.value == pytest.approx(0.4)
    # a full stop between the time and the keyword ends the sentence: not a TTFT
    c = parse_prose("Llama-3.1-8B Q4_K_M at 2 s. ttft 0.5 s on an RTX 3060")
    assert c.metric == "ttft_s" and c.value == pytest.approx(0.5)


def test_spec_context_and_bandwidth_readings():
    assert parse_prose("a wafer holds 900 GB of SRAM").value == 900.0
    c = parse_prose("an H100 has 3.35 TB/s")
    assert c.metric == "spec_bandwidth_gb_s" and c.value == pytest.approx(3350.0)
    c = parse_prose("Llama-3.1-8B Q4_K_M fits 32k context on an RTX 3060")
    assert c.metric == "max_ctx" and c.value == 32 * 1024


def test_malformed_number_is_one_line_not_a_traceback():
    with pytest.raises(RigfitError, match="not a number"):
        parse_prose("an H100 has 1.5.3 TB/s")


def test_line_over_the_cap_is_refused():
    with pytest.raises(RigfitError, match="longer than a claim"):
        parse_claims("x" * (MAX_CLAIM_LINE_CHARS + 1))


@pytest.mark.parametrize("cell", ["abc", "1e400", "nan", "-5", "9" * 100, "inf"])
def test_bad_token_cells_in_csv_are_one_line(cell):
    text = f"hardware,model,quant,metric,value,ctx\nRTX 3060,llama-3.1-8b,Q4_K_M,decode_tps,50,{cell}\n"
    with pytest.raises(RigfitError, match="ctx"):
        parse_claims(text)


def test_unclosed_quote_over_many_lines_is_one_line():
    text = 'hardware,model,quant,metric,value\n"RTX 3060' + "\nx" * 70000 + "\n"
    with pytest.raises(RigfitError):
        parse_claims(text)
