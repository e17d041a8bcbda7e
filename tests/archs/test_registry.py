"""The architecture registry: every llama.cpp architecture has one family, the estimators and
readers never compare architecture names, and a family registered from outside plans a model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rigfit.archs import (
    ArchFamily,
    canonical_arch,
    families,
    family_for,
    gguf_family,
    hf_family,
    is_expert_tensor,
    register,
    registry,
    supported_archs,
)
from rigfit.archs.registry import UnsupportedArchitectureError
from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import load_models
from rigfit.estimate.tensors import catalog_model_spec

SRC = Path(__file__).resolve().parents[2] / "src" / "rigfit"
#: modules that must ask the registry instead of testing architecture names
NAME_FREE = [
    "estimate/memory.py",
    "estimate/tensors.py",
    *(
        str(p.relative_to(SRC))
        for d in ("estimate/speed", "formats")
        for p in sorted((SRC / d).glob("*.py"))
        # projector files: their "architecture" is the file kind "clip" and their projector types
        # ("gemma3", "mlp", …) are not model architectures, though some share a spelling
        if p.name != "mmproj.py"
    ),
]


@pytest.mark.parametrize("module", NAME_FREE)
def test_module_compares_no_architecture_name(module):
    names = {f.name for f in families()} | {a for f in families() for a in f.aliases}
    text = (SRC / module).read_text(encoding="utf-8")
    literals = set(re.findall(r"""["']([a-z][a-z0-9_.-]*)["']""", text))
    # "mamba" etc. may appear in prose, never as a string literal the code compares
    assert not (literals & names), f"{module} names architectures {sorted(literals & names)}"
    assert 'startswith("gemma' not in text


def test_every_catalog_arch_has_a_family_that_plans_it():
    registered = {f.name for f in families()}
    for a in load_models():
        fam = family_for(a.arch)
        if not fam.predicts_tensors:
            # listed in the catalog but not planned yet (Gated-DeltaNet hybrids, llama.cpp archs
            # registered without tensor rules): still a registered llama.cpp architecture
            assert fam.name in registered, a.id
            continue
        assert catalog_model_spec(a, "Q4_K_M").tensors, a.id


def test_lookup_by_alias_gguf_and_hf_names():
    assert canonical_arch("mistral3") == "llama" and canonical_arch("qwen3_moe") == "qwen3moe"
    assert gguf_family("openai-moe").name == "gpt-oss"
    assert gguf_family("gpt_oss") is None  # not a GGUF spelling
    assert hf_family("gemma3_text").name == "gemma3"
    assert hf_family("mistral", "mistral3").name == "mistral3"
    assert family_for("no-such-arch").build_shapes is None
    with pytest.raises(UnsupportedArchitectureError, match="catalog prediction covers"):
        canonical_arch("jamba")
    assert canonical_arch("falcon-h1") == "falcon-h1"  # issue 12: predicted since
    assert "cohere2" in supported_archs()


@pytest.mark.parametrize(
    "name,expert",
    [
        ("blk.3.ffn_gate_exps.weight", True),
        ("blk.3.ffn_down_exps.bias", True),
        ("blk.3.ffn_gate_up_exps.weight", True),
        ("blk.3.ffn_up_chexps.weight", True),
        ("model.layers.3.mlp.experts.7.down_proj.weight", True),
        ("blk.3.ffn_gate_shexp.weight", False),
        ("blk.3.ffn_gate_inp.weight", False),
        ("blk.3.exp_probs_b.bias", False),
        ("model.layers.3.mlp.shared_experts.down_proj.weight", False),
    ],
)
def test_one_expert_tensor_definition(name, expert):
    assert is_expert_tensor(name) is expert


def test_a_family_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        register(ArchFamily("llama"))


def test_ssm_scan_rules_are_registered_names():
    with pytest.raises(ValueError, match="ssm_scan"):
        register(ArchFamily("not-an-arch-ssm-scan", ssm_scan="guess"))
    assert "not-an-arch-ssm-scan" not in {f.name for f in families()}
    assert family_for("falcon-h1").ssm_scan == "conv_hole" and family_for("mamba2").ssm_scan == "states"


def test_a_family_registered_from_outside_plans_a_model():
    """What a new architecture needs: one module calling register() (here, a toy one)."""

    def shapes(arch: Architecture) -> list:
        e = arch.n_embd
        out = [("token_embd.weight", (e, arch.n_vocab)), ("output_norm.weight", (e,))]
        for il in range(arch.n_layer):
            out += [
                (f"blk.{il}.attn_norm.weight", (e,)),
                (f"blk.{il}.ffn_up.weight", (e, arch.ff(il))),
                (f"blk.{il}.ffn_down.weight", (arch.ff(il), e)),
            ]
        return out

    register(ArchFamily("toy-test-arch", build_shapes=shapes))
    try:
        arch = Architecture(
            id="toy",
            arch="toy-test-arch",
            n_layer=2,
            n_embd=256,
            n_head=0,
            n_head_kv=0,
            n_embd_head_k=0,
            n_embd_head_v=0,
            n_ff=512,
            n_vocab=1000,
            n_ctx_train=4096,
        )
        spec = catalog_model_spec(arch, "Q8_0")
    finally:  # leave the registry as other tests expect it
        registry._FAMILIES.pop("toy-test-arch")
        registry._BY_ALIAS.pop("toy-test-arch")
    assert len(spec.tensors) == 2 + 3 * 2
    assert {t.ggml_type for t in spec.tensors if t.name.endswith("ffn_up.weight")} == {"Q8_0"}
