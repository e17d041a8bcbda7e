"""Issue 17, names: nvidia-smi's strings for common cards resolve to the variant most often sold
(said, with the other named); `check` reads "on my …", "DeepSeek R1 671B", "on M4 Pro" and goes on
past an unreadable line."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.claims import UNREADABLE, check_claims, parse_claims
from rigfit.errors import RigfitError
from rigfit.hardware.names import resolve_device, variant_assumptions
from rigfit.units import GIB


@pytest.mark.parametrize(
    ("nvml_name", "assumed_gib", "other"),
    [
        ("NVIDIA GeForce RTX 3060", 12, "RTX 3060 8 GB"),
        ("NVIDIA GeForce RTX 4060 Ti", 8, "RTX 4060 Ti 16 GB"),
        ("NVIDIA GeForce RTX 5060 Ti", 16, "RTX 5060 Ti 8 GB"),
    ],
)
def test_nvml_names_of_common_cards_resolve_to_the_common_variant(nvml_name, assumed_gib, other):
    dev = resolve_device(nvml_name)
    assert dev.memory_bytes == assumed_gib * GIB
    notes = variant_assumptions([dev])
    assert len(notes) == 1 and "most often sold" in notes[0] and other in notes[0]
    assert "https://" in notes[0]
    # a size in the name still picks the other variant, with no assumption to report
    sized = resolve_device(f"{nvml_name} {other.split()[-2]}GB")
    assert sized.memory_bytes != dev.memory_bytes and not variant_assumptions([sized])


def test_plan_prints_the_assumed_variant():
    out = run_cli("plan", "llama-3.1-8b", "--on", "NVIDIA GeForce RTX 3060")
    assert out.exit_code == 0, out.stderr
    assert "RTX 3060 12 GB" in out.stdout
    assert "most often sold" in out.stderr and "RTX 3060 8 GB" in out.stderr


def test_check_reads_my_card_a_sized_model_name_and_a_bare_apple_chip():
    claims = parse_claims(
        "Llama-3.1-8B Q4_K_M at 50 tok/s on my RTX 4090\n"
        "DeepSeek R1 671B Q4_K_M at 10 tok/s on an M3 Ultra 512GB\n"
        "Llama 3.1 8B Q4_K_M at 30 tok/s on M4 Pro\n"
    )
    assert [c.hardware for c in claims] == ["RTX 4090", "M3 Ultra 512GB", "M4 Pro"]
    verdicts = check_claims(claims)
    assert [v.verdict for v in verdicts] != ["unknown"] * 3
    for v in verdicts:
        assert v.verdict != "unknown", v.reason
    assert any("DeepSeek R1" in a for a in verdicts[1].arithmetic)
    assert any("assumed the base configuration" in a for a in verdicts[2].arithmetic)


def test_a_size_that_contradicts_the_catalog_is_not_dropped():
    (v,) = check_claims(parse_claims("Llama 3.1 13B Q4_K_M at 10 tok/s on an RTX 4090\n"))
    assert v.verdict == "unknown" and "model" in v.reason


def test_one_unreadable_line_is_reported_and_the_batch_goes_on():
    claims = parse_claims("blah blah\nLlama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060\n")
    assert claims[0].metric == UNREADABLE and claims[0].line == 1
    v = check_claims(claims)
    assert v[0].verdict == "unknown" and "cannot read" in v[0].reason
    assert v[1].verdict == "impossible"
    with pytest.raises(RigfitError):  # nothing readable at all: one clear error, as before
        parse_claims("blah blah\nnothing here either\n")
    out = run_cli("check", "-", "--json", input="blah\nLlama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060\n")
    assert out.exit_code == 0, out.stderr
    text = out.stdout
    data = json.loads(text)
    rows = data if isinstance(data, list) else data.get("verdicts", data.get("claims"))
    assert [r["verdict"] for r in rows] == ["unknown", "ok"]
