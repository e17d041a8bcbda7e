"""Saved configs checked against public copies: labels, shared-expert widths, checked layouts."""

from __future__ import annotations

import json

from model_configs_kit import BY_ID, CONFIGS, ROWS, model_configs
from model_configs_kit import saved_config as _saved
from rigfit.catalog.models import _record_to_arch, count_params
from rigfit.formats.hf import architecture_from_config


def _cites_a_file(text: str) -> bool:
    """A GitHub file (``/blob/``) or a file on the Hugging Face Hub (``/blob/`` or ``/blame/``)."""
    github = "https://github.com/" in text and "/blob/" in text
    hub = "https://huggingface.co/" in text and ("/blob/" in text or "/blame/" in text)
    return github or hub


def test_every_via_or_checked_cites_a_github_file_at_a_commit():
    """A ``_via`` names the file read: a GitHub file, or a config.json on the Hub (the repo's own
    or a verbatim copy). A ``_checked`` names a file too, or, for fields a model card states, the
    card's Hub page."""
    for path in sorted(CONFIGS.glob("*.json")):
        cfg = json.loads(path.read_text())
        if "_via" in cfg:
            via = cfg["_via"]
            assert _cites_a_file(via), (path.name, via)
            if via.startswith("https://huggingface.co/"):
                assert via.split("?")[0].endswith("/config.json"), (path.name, via)
        if "_checked" in cfg:
            label = cfg["_checked"]
            assert _cites_a_file(label) or "https://huggingface.co/" in label, (path.name, label)


def test_checked_fields_are_named_in_the_label_and_the_rest_stays_recalled():
    label = model_configs._verified({"_source": "s", "_checked": "layers checked against https://x"})
    assert label.startswith("partly: layers checked against https://x; the other ")
    assert "recalled" in label
    assert model_configs._verified({"_source": "s", "_via": "https://v"}).startswith("verified")
    assert model_configs._verified({"_source": "s"}).startswith("partly: config.json values recalled")


def test_a_shared_expert_wider_than_a_routed_one_survives_the_record_round_trip():
    """Nemotron 3 Nano: routed experts 1856 wide, the shared one 3712 (config.json
    moe_shared_expert_intermediate_size). Dropping it undercounted 229,490,688 weights."""
    repo = "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
    cfg = _saved(repo)
    rec = model_configs.record_from_config(ROWS["nemotron-3-nano-30b-a3b"], cfg)
    assert rec["moe"]["shared_ff"] == 3712
    direct = architecture_from_config({k: v for k, v in cfg.items() if not k.startswith("_")}, "n3", path="x")
    assert count_params(_record_to_arch({**rec, "total_params": 0, "active_params": 0})) == count_params(
        direct
    )
    # the published total is 31.6B (https://huggingface.co/nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16)
    assert 31.5e9 < BY_ID["nemotron-3-nano-30b-a3b"].total_params < 31.65e9


def test_default_shared_width_is_not_written_twice():
    rec = model_configs.record_from_config(ROWS["kimi-k2"], _saved("moonshotai/Kimi-K2-Instruct"))
    assert "shared_ff" not in rec["moe"]  # one shared expert of the routed width: the default


def test_lfm2_2_6b_attention_layers_are_those_of_the_checkpoint_contract():
    # https://github.com/NVIDIA/TensorRT-Model-Connect/blob/e9132e79fba1bd22e5b121a4f339268e64a6faaf/tests/e2e/models/lfm2/manifests/lfm2-2.6b.json
    a = BY_ID["lfm2-2.6b"]
    assert isinstance(a.n_head_kv, tuple)
    assert [i for i, h in enumerate(a.n_head_kv) if h] == [2, 5, 9, 13, 17, 21, 24, 27]
    assert a.n_layer == 30 and a.n_embd == 2048 and a.ff(0) == 10752
