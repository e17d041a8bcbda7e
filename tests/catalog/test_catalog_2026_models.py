"""This year's open-weight models (issue 12, "Missing models"): each resolves by the names people
write, plans on the reference box, and counts about the parameters its publisher states.

Published figures are the ones in each model's name / model card (rounded: "0.8B", "122B-A10B");
rigfit counts the language model only (no vision tower, no MTP layer beyond what llama.cpp loads),
so the check is a band around the published figure, not equality.
"""

from __future__ import annotations

import pytest

from rigfit.catalog.filters import released
from rigfit.catalog.models import get_model, resolve_model
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import Verdict

REFERENCE_BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"

F, OFF, N = Verdict.FITS, Verdict.OFFLOAD, Verdict.NO

#: id, names people write, published total / active parameters [B] and where they are stated,
#: the verdict at Q4_K_M and 4,096 tokens of context on the reference box.
NEW_MODELS = [
    # https://huggingface.co/collections/Qwen/qwen35 (sizes in the model names)
    ("qwen3.5-0.8b", ["Qwen/Qwen3.5-0.8B", "qwen3.5:0.8b", "Qwen3.5-0.8B-Q4_K_M.gguf"], 0.8, None, F),
    ("qwen3.5-2b", ["Qwen/Qwen3.5-2B", "qwen3.5:2b"], 2.0, None, F),
    ("qwen3.5-4b", ["Qwen/Qwen3.5-4B", "qwen3.5:4b", "unsloth/Qwen3.5-4B-GGUF"], 4.0, None, F),
    ("qwen3.5-9b", ["Qwen/Qwen3.5-9B", "qwen3.5:9b", "qwen 3.5 9b"], 9.0, None, F),
    ("qwen3.5-27b", ["Qwen/Qwen3.5-27B", "qwen3.5:27b", "Qwen3.5-27B-UD-Q4_K_XL.gguf"], 27.0, None, OFF),
    ("qwen3.5-122b-a10b", ["Qwen/Qwen3.5-122B-A10B", "qwen3.5:122b"], 122.0, 10.0, N),
    ("qwen3.5-397b-a17b", ["Qwen/Qwen3.5-397B-A17B", "qwen3.5:397b"], 397.0, 17.0, N),
    ("qwen3.6-27b", ["Qwen/Qwen3.6-27B", "qwen3.6:27b", "qwen 3.6 27b"], 27.0, None, OFF),
    # https://huggingface.co/zai-org/GLM-4.7 (355B total, 32B active, as GLM-4.5/4.6)
    ("glm-4.7", ["zai-org/GLM-4.7", "GLM-4.7", "glm4.7"], 355.0, 32.0, N),
    # https://huggingface.co/moonshotai/Kimi-K2.5 (1T total, 32B activated)
    ("kimi-k2.5", ["moonshotai/Kimi-K2.5", "Kimi-K2.5", "kimi k2.5"], 1000.0, 32.0, N),
    # https://huggingface.co/mistralai/Devstral-Small-2-24B-Instruct-2512
    (
        "devstral-small-2",
        ["mistralai/Devstral-Small-2-24B-Instruct-2512", "devstral-small-2:24b"],
        24.0,
        None,
        OFF,
    ),
    # https://huggingface.co/allenai/Olmo-3-7B-Instruct, .../Olmo-3.1-32B-Think
    ("olmo-3-7b-instruct", ["allenai/Olmo-3-7B-Instruct", "Olmo-3-7B-Instruct"], 7.0, None, F),
    ("olmo-3-7b-think", ["allenai/Olmo-3-7B-Think", "olmo 3 7b think"], 7.0, None, F),
    ("olmo-3.1-32b-think", ["allenai/Olmo-3.1-32B-Think", "Olmo-3.1-32B-Think"], 32.0, None, OFF),
    ("olmo-3.1-32b-instruct", ["allenai/Olmo-3.1-32B-Instruct", "olmo 3.1 32b instruct"], 32.0, None, OFF),
    # https://huggingface.co/LiquidAI (sizes in the model names; 8B-A1B: 8.3B total, 1.5B active)
    ("lfm2-350m", ["LiquidAI/LFM2-350M", "lfm2:350m", "LFM2-350M-Q4_K_M.gguf"], 0.35, None, F),
    ("lfm2-700m", ["LiquidAI/LFM2-700M", "lfm2:700m"], 0.7, None, F),
    ("lfm2-1.2b", ["LiquidAI/LFM2-1.2B", "lfm2:1.2b"], 1.2, None, F),
    ("lfm2-2.6b", ["LiquidAI/LFM2-2.6B", "LFM2-2.6B"], 2.6, None, F),
    ("lfm2.5-1.2b", ["LiquidAI/LFM2.5-1.2B-Instruct", "LFM2.5-1.2B", "lfm2.5:1.2b"], 1.2, None, F),
    ("lfm2-8b-a1b", ["LiquidAI/LFM2-8B-A1B", "lfm2:8b", "LFM2-8B-A1B-Q4_K_M.gguf"], 8.3, 1.5, F),
    # https://huggingface.co/LiquidAI/LFM2-24B-A2B (24B total, 2.3B active)
    ("lfm2-24b-a2b", ["LiquidAI/LFM2-24B-A2B", "lfm2:24b", "LFM2-24B-A2B-Q4_0.gguf"], 24.0, 2.3, OFF),
    # https://huggingface.co/nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16 (31.6B total, 3.2B active
    # without embeddings, 3.6B with them: rigfit counts them, so the band spans both)
    (
        "nemotron-3-nano-30b-a3b",
        ["nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "nemotron-3-nano:30b"],
        31.6,
        3.4,
        OFF,
    ),
    # https://huggingface.co/MiniMaxAI/MiniMax-M2 (230B total, 10B activated: without the token
    # embedding and output head, which rigfit's active count includes; see the test below)
    ("minimax-m2", ["MiniMaxAI/MiniMax-M2", "MiniMax-M2", "minimax m2"], 230.0, 10.0, N),
    ("minimax-m2.1", ["MiniMaxAI/MiniMax-M2.1", "MiniMax-M2.1", "minimax m2.1"], 230.0, 10.0, N),
]

#: models whose publisher counts the active parameters without the token embedding and output head
ACTIVE_WITHOUT_EMBEDDINGS = {"minimax-m2", "minimax-m2.1"}

#: rounded names and the uncounted vision towers / MTP layers keep the count within this of the figure
BAND = 0.08


@pytest.mark.parametrize(("model_id", "names"), [(m[0], m[1]) for m in NEW_MODELS])
def test_resolves_by_its_common_names(model_id: str, names: list[str]) -> None:
    assert resolve_model(model_id).id == model_id
    for name in names:
        assert resolve_model(name).id == model_id, name


@pytest.mark.parametrize(("model_id", "total_b", "active_b"), [(m[0], m[2], m[3]) for m in NEW_MODELS])
def test_parameter_count_is_the_published_figure(
    model_id: str, total_b: float, active_b: float | None
) -> None:
    a = get_model(model_id)
    assert a.total_params is not None and a.active_params is not None
    assert abs(a.total_params / 1e9 - total_b) <= BAND * total_b, a.total_params
    if active_b is None:
        assert a.active_params == a.total_params
    else:
        assert a.moe is not None
        active = a.active_params
        if model_id in ACTIVE_WITHOUT_EMBEDDINGS:
            active -= a.n_vocab * a.n_embd * (1 if a.tied_embeddings else 2)
        assert abs(active / 1e9 - active_b) <= BAND * active_b + 0.1, a.active_params


@pytest.mark.parametrize(("model_id", "verdict"), [(m[0], m[4]) for m in NEW_MODELS])
def test_plans_on_the_reference_box(model_id: str, verdict: Verdict) -> None:
    spec = catalog_model_spec(get_model(model_id), "Q4_K_M")
    plan = make_plan(spec, resolve_machine(REFERENCE_BOX))
    assert plan.fit is verdict
    assert plan.weights_bytes > 0
    for dev in plan.devices:
        assert dev.capacity_bytes is None or dev.capacity_bytes >= 0
    if verdict is not Verdict.NO:
        assert plan.speed is not None and plan.speed.decode_tps.value > 0


def test_the_catalog_holds_this_years_models() -> None:
    """Issue 12: only 4 models from 2026 were in the catalog."""
    from rigfit.catalog.models import load_models

    this_year = [a.id for a in load_models() if (released(a) or "").startswith("2026")]
    assert len(this_year) >= 15
    for model_id in ("qwen3.5-0.8b", "qwen3.5-397b-a17b", "qwen3.6-27b", "kimi-k2.5", "lfm2.5-1.2b"):
        assert model_id in this_year
