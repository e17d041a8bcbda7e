"""`rigfit check` and speculative decoding / MTP (issue 14): a decode claim that mentions a draft
model or MTP (or whose model carries MTP layers) is checked against the speculative bound, not
called impossible for beating the single-stream roofline."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.claims import check_claim, parse_prose
from rigfit.estimate.speculative import check_speculative_decode, mentions_speculative
from rigfit.figures import Figure

#: Five published speculative-decoding / MTP results (as claims), with their sources.
PUBLISHED = [
    # llama-speculative, Llama 3.1 8B Q8_0 + Llama 3.2 1B Q8_0 draft on an RTX 3060: 55.473 t/s
    # (above the single-stream roofline of 360 GB/s / 8 GB ≈ 45 tok/s)
    (
        "Llama-3.1-8B Q8_0 at 55.5 tok/s on an RTX 3060 with a Llama-3.2-1B draft model",
        "https://github.com/ggml-org/llama.cpp/issues/5877",
    ),
    # llama-speculative, Qwen2.5-Coder-32B Q4_K_L + 3B Q4_0 draft on an M4 Pro: 10.781 t/s
    (
        "Qwen2.5-Coder-32B Q4_K_M at 10.8 tok/s on M4 Pro with speculative decoding",
        "https://github.com/ggml-org/llama.cpp/pull/10455",
    ),
    # Xwin-LM-70B (Llama 2 70B) 4.0 bpw + TinyLlama draft on 2x RTX 4090: "40-50 t/s with SD"
    (
        "Llama-2-70B Q4_0 at 45 tok/s on 2x RTX 4090 with speculative decoding",
        "https://www.reddit.com/r/LocalLLaMA/comments/17h4rqz/speculative_decoding_in_exllama_v2_and_llamacpp/",
    ),
    # GLM-4.5-Air UD-Q4_K_XL on 3x RTX 3090 with --spec-type draft-mtp --spec-draft-n-max 2: 45.28 t/s
    (
        "GLM-4.5-Air Q4_K_M at 45.3 tok/s on 3x RTX 3090 with MTP",
        "https://github.com/ggml-org/llama.cpp/pull/26534",
    ),
    # Qwen2.5-Coder 0.5B Q8_0 with a 7B Q8_0 draft, -ngld 99, RX 6900 XT (Vulkan): "about 10-12 t/s"
    (
        "Qwen2.5-0.5B Q8_0 at 11 tok/s on RX 6900 XT with a Qwen2.5-Coder-7B draft",
        "https://github.com/ggml-org/llama.cpp/pull/10455",
    ),
]


@pytest.mark.parametrize(("text", "source"), PUBLISHED, ids=[t[:40] for t, _ in PUBLISHED])
def test_published_speculative_claims_are_not_impossible(text, source):
    v = check_claim(parse_prose(text))
    assert v.verdict != "impossible", (v.reason, source)
    assert v.verdict in ("ok", "implausible")
    assert v.bound is not None and v.claim.value <= v.bound
    assert any("speculative decoding: at most E" in line for line in v.arithmetic)


def test_claim_above_the_single_stream_bound_needs_speculative_decoding():
    text = PUBLISHED[0][0]
    v = check_claim(parse_prose(text))
    assert v.verdict == "ok"
    assert v.reason.startswith("needs speculative decoding: 1.2")
    # the same figure without a draft is still beyond physics for one plain stream
    plain = check_claim(parse_prose("Llama-3.1-8B Q8_0 at 55.5 tok/s on an RTX 3060"))
    assert plain.verdict == "impossible"
    assert plain.bound == pytest.approx(v.bound / 9.86, rel=0.01)


def test_absurd_speculative_claim_is_still_impossible():
    v = check_claim(
        parse_prose("Llama-3.1-8B Q4_K_M at 1500 tok/s on an RTX 3060 with MTP speculative decoding")
    )
    assert v.verdict == "impossible"
    assert "speculative-decoding bound" in v.reason


def test_model_with_mtp_layers_may_exceed_the_single_stream_bound():
    # GLM-4.5-Air carries an MTP layer: beyond the single-stream roofline is not impossible
    single = check_claim(parse_prose("GLM-4.5-Air Q4_K_M at 100 tok/s on an RTX 3090 + 128GB DDR5-6000"))
    assert single.verdict != "impossible"
    assert any("MTP (NextN) layers" in line for line in single.arithmetic)


def test_speculative_check_function():
    pred = Figure(40.0, "tok/s", "estimated", "test", 35.0, 45.0)
    ok = check_speculative_decode(60.0, 50.0, pred, False)
    assert ok.verdict == "ok" and ok.reason.startswith("needs speculative decoding: 1.20×")
    assert check_speculative_decode(600.0, 50.0, pred, False).verdict == "impossible"
    assert check_speculative_decode(300.0, 50.0, pred, False).verdict == "implausible"
    assert mentions_speculative("with a 1B draft") and mentions_speculative("Qwen3.6-27B-MTP")
    assert not mentions_speculative("Llama 3.1 8B at 40 tok/s on a 3060", None)


def test_check_cli_json_reports_the_speculative_bound(tmp_path):
    f = tmp_path / "claims.txt"
    f.write_text(PUBLISHED[0][0] + "\n")
    out = run_cli("check", str(f), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    rows = data if isinstance(data, list) else data.get("verdicts", data.get("claims"))
    assert rows[0]["verdict"] == "ok"
    assert "needs speculative decoding" in rows[0]["reason"]
