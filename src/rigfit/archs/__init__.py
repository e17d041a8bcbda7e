"""Architecture registry: what rigfit knows about each llama.cpp architecture, one module per
family. Importing this package registers every family (explicit list below, in order).

Public API: :func:`family_for`, :class:`ArchFamily`, :func:`is_expert_tensor`,
:func:`canonical_arch`, :func:`tensor_shapes` (in :mod:`rigfit.estimate.tensors`).
"""

from __future__ import annotations

# isort: off
# Registration order matters: ``others`` registers a bare family for every llama.cpp name the
# family modules above it did not claim, so it comes last.
from rigfit.archs import llama, qwen, gemma, phi, deepseek, glm, gpt_oss, ssm, cohere, postnorm  # noqa: F401
from rigfit.archs import others  # noqa: F401

# isort: on
from rigfit.archs.registry import (
    ArchFamily,
    SwaRule,
    UnsupportedArchitectureError,
    canonical_arch,
    families,
    family_for,
    gguf_family,
    hf_family,
    hf_model_types,
    is_expert_tensor,
    is_known,
    register,
    supported_archs,
    tensor_family,
)

__all__ = [
    "ArchFamily",
    "SwaRule",
    "UnsupportedArchitectureError",
    "canonical_arch",
    "families",
    "family_for",
    "gguf_family",
    "hf_family",
    "hf_model_types",
    "is_expert_tensor",
    "is_known",
    "register",
    "supported_archs",
    "tensor_family",
]
