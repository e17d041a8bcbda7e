"""``rigfit inspect mmproj.gguf`` and ``rigfit plan --mmproj / --images`` through the CLI (issue 12)."""

from __future__ import annotations

import json

import pytest

from clirun import run_cli
from rigfit.estimate.vision import catalog_projector, encoder_compute_bytes
from rigfit.formats.bundled import bundled_gemma_path
from rigfit.formats.mmproj import read_mmproj
from synth_mmproj import write_gemma3_mmproj

ON = "RTX 3060 12GB + 32GB DDR4"


@pytest.fixture(scope="module")
def mmproj(tmp_path_factory):
    return write_gemma3_mmproj(tmp_path_factory.mktemp("cli") / "mmproj-test.gguf", image_size=448).path


def test_inspect_projector_text_and_json(mmproj):
    out = run_cli("inspect", str(mmproj))
    assert out.exit_code == 0, out.output
    assert "multimodal projector" in out.output and "gemma3" in out.output
    out = run_cli("inspect", str(mmproj), "--json")
    data = json.loads(out.output)
    assert data["schema"] == "rigfit.inspect/1" and data["kind"] == "mmproj"


def _devices(*args: str) -> dict:
    out = run_cli("plan", "gemma-3-4b", "--on", ON, "--json", *args)
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_plan_adds_projector_to_gpu_or_cpu(mmproj):
    info = read_mmproj(mmproj)
    base = _devices()
    on_gpu = _devices("--mmproj", str(mmproj))
    on_cpu = _devices("--mmproj", str(mmproj), "--no-mmproj-offload", "--fa", "off")
    want_on = info.weights_bytes + encoder_compute_bytes(info, flash_attn=True)
    want_off = info.weights_bytes + encoder_compute_bytes(info, flash_attn=False)
    gpu, host = on_gpu["memory"]["devices"][0], on_gpu["memory"]["devices"][-1]
    assert gpu["mmproj_bytes"] == want_on and host["mmproj_bytes"] == 0
    assert gpu["total_bytes"] == base["memory"]["devices"][0]["total_bytes"] + want_on
    assert (
        on_cpu["memory"]["devices"][0]["mmproj_bytes"] == 0
        and on_cpu["memory"]["devices"][-1]["mmproj_bytes"] == want_off
    )
    assert on_cpu["commands"]["llama_server"][-3:] == ["--mmproj", "mmproj-test.gguf", "--no-mmproj-offload"]
    assert on_cpu["settings"]["vision"]["mmproj_offload"] is False


def test_plan_images_cost(mmproj):
    data = _devices("--mmproj", str(mmproj), "--images", "3")
    img = data["images"]
    assert img["tokens_per_image"] == 64 and img["image_tokens"] == 192
    assert img["llm_prefill_s"]["value"] > 0 and img["encoder_s"]["value"] > 0
    out = run_cli("plan", "gemma-3-4b", "--on", ON, "--images", "2")
    assert out.exit_code == 0, out.output
    assert "512 image tokens" in out.output and "estimated" in out.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--image-size", "big"), "--image-size"),
        (("--images", "-1"), "--images"),
        (("--no-mmproj-offload",), "--mmproj"),
        (("--mmproj", str(bundled_gemma_path())), "not a projector"),
    ],
)
def test_bad_vision_input(args, words):
    out = run_cli("plan", "gemma-3-4b", "--on", ON, *args)
    assert out.exit_code == 2, out.output
    assert words in out.output and "Traceback" not in out.output


def test_catalog_vision_model_gets_its_projector_with_images():
    data = _devices("--images", "2")
    proj = catalog_projector("gemma3", 2560)
    assert proj is not None and proj.weights_source.startswith("estimated")
    want = proj.weights_bytes + encoder_compute_bytes(proj, flash_attn=True)
    assert data["memory"]["devices"][0]["mmproj_bytes"] == want
    assert data["images"]["tokens_per_image"] == 256 and data["images"]["encoder_s"]["value"] > 0


def test_text_model_images_say_unknown():
    out = run_cli("plan", "llama-3.1-8b", "--on", ON, "--images", "1")
    assert out.exit_code == 0, out.output
    assert "tokens per image unknown" in out.output
