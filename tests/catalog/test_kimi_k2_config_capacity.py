"""Issue 17: "Kimi K2 from a config gives a CPU capacity of −1,398.96 GiB".

The earlier fix was tested on the catalog's deepseek-v3 only. These tests plan Kimi K2 from its own
config.json, as a user would (``rigfit plan path/to/config.json``), and check that no device ever
gets a negative capacity, on unified-memory Macs (where the CPU's share is what the GPU leaves) and
on a discrete-GPU PC.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import Verdict

GIB = 1024**3

#: Kimi K2's config.json, the fields as published at
#: https://huggingface.co/moonshotai/Kimi-K2-Instruct/blob/main/config.json, read from the verbatim
#: copy at https://github.com/ai-dynamo/aiconfigurator/blob/821eb9a651450cef303fb858289bca98959fe4c2/
#: src/aiconfigurator/model_configs/moonshotai--Kimi-K2-Instruct_config.json
KIMI_K2_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "kimi_k2",
    "num_hidden_layers": 61,
    "hidden_size": 7168,
    "num_attention_heads": 64,
    "num_key_value_heads": 64,
    "intermediate_size": 18432,
    "vocab_size": 163840,
    "max_position_embeddings": 131072,
    "n_routed_experts": 384,
    "n_shared_experts": 1,
    "num_experts_per_tok": 8,
    "moe_intermediate_size": 2048,
    "moe_layer_freq": 1,
    "first_k_dense_replace": 1,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "routed_scaling_factor": 2.827,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "tie_word_embeddings": False,
}


@pytest.fixture(scope="module")
def kimi_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("Kimi-K2-Instruct")
    path = folder / "config.json"
    path.write_text(json.dumps(KIMI_K2_CONFIG), encoding="utf-8")
    return path


def test_kimi_k2_config_reads_as_the_published_model(kimi_config: Path) -> None:
    spec = load_model_source(kimi_config, "Q4_K_M")
    arch = spec.arch
    assert arch.arch == "deepseek2" and arch.n_layer == 61 and arch.n_embd == 7168
    assert arch.moe is not None and arch.moe.n_expert == 384 and arch.moe.n_expert_used == 8
    # Moonshot's model card: 1.04 T total, 32.9 B activated (1,026,470,731,056 in the safetensors)
    assert 1.00e12 < arch.total_params < 1.06e12
    assert 31e9 < arch.active_params < 34e9


@pytest.mark.parametrize(
    "machine",
    [
        "M2 Ultra 192GB",  # the case of the issue: the GPU's share alone exceeds the RAM
        "Mac mini M4 16GB",
        "M3 Max 128GB",
        "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
        "RTX 4090 + 64GB DDR5-6000",
    ],
)
@pytest.mark.parametrize("quant", ["Q4_K_M", "Q2_K", "BF16"])
def test_kimi_k2_from_its_config_never_gets_a_negative_capacity(
    kimi_config: Path, machine: str, quant: str
) -> None:
    spec = load_model_source(kimi_config, quant)
    plan = make_plan(spec, resolve_machine(machine))
    # a 1 T model never fits these machines: ~500 GiB at Q4_K_M, ~2 TB at BF16
    assert plan.fit is Verdict.NO
    assert spec.weights_bytes > 300 * GIB
    for dev in plan.devices:
        if dev.capacity_bytes is not None:
            assert dev.capacity_bytes >= 0, f"{dev.name}: capacity {dev.capacity_bytes / GIB:,.2f} GiB"
    cpu = next(d for d in plan.devices if d.kind == "cpu")
    assert cpu.capacity_bytes is not None
