"""Review regression: `rigfit check` passed a speed claim for a model larger than all of the
machine's memory ("gpt-oss-120b at 20 tok/s on a Mac mini M4 16GB" was "OK": its 63 GB of
weights cannot stay in 16 GB, yet only the per-token roofline was checked)."""

from __future__ import annotations

import json

from clirun import run_cli


def _verdicts(text: str) -> list[dict]:
    r = run_cli("check", "-", "--json", input=text)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    return out["verdicts"] if isinstance(out, dict) else out


def test_speed_claim_for_a_model_beyond_all_memory_is_not_ok():
    (v,) = _verdicts("gpt-oss-120b at 20 tok/s on a Mac mini M4 16GB\n")
    assert v["verdict"] == "implausible"
    assert "do not fit" in v["reason"]


def test_unknown_host_ram_is_not_read_as_no_ram():
    """A GPU alone (host RAM not described): the model may still fit in RAM, so no memory verdict."""
    (v,) = _verdicts("Llama 3.1 70B Q4_K_M at 1.2 tok/s on an RTX 3060 12GB\n")
    assert v["verdict"] == "ok"


def test_model_that_fits_is_unaffected():
    (v,) = _verdicts("gpt-oss-20b at 100 tok/s on an RTX 4090 + 64GB DDR5-6000\n")
    assert "do not fit" not in v["reason"]


def test_speculative_claim_for_a_model_beyond_all_memory_is_not_ok():
    (v,) = _verdicts("GLM-4.5-Air at 40 tok/s on a Mac mini M4 16GB with speculative decoding\n")
    assert v["verdict"] == "implausible" and "do not fit" in v["reason"]


def test_memory_claim_with_uses_names_the_model():
    """ "Llama 3.1 8B uses 3 GB on a Raspberry Pi 5 16GB" read the whole line as the model name."""
    (v,) = _verdicts("Llama 3.1 8B uses 3 GB on a Raspberry Pi 5 16GB\n")
    assert v["verdict"] == "impossible"
