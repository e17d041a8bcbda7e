"""Architecture registry: what rigfit knows about each llama.cpp architecture, one module per
family. Importing this package registers every family (explicit list below, in order).

Public API: :func:`family_for`, :class:`ArchFamily`, :func:`is_expert_tensor`,
:func:`canonical_arch`, :func:`tensor_shapes` (in :mod:`rigfit.estimate.tensors`).
"""

from __future__ import annotations

from rigfit.archs import (  # noqa: F401  (imported to register the families, in this order)
    llama,
    qwen,
    gemma,
    phi,
    deepseek,
    glm,
    gpt_oss,
    ssm,
    cohere,
    others,
)
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
    "ArchFamily", "SwaRule", "UnsupportedArchitectureError", "canonical_arch", "families", "family_for",
    "gguf_family", "hf_family", "hf_model_types", "is_expert_tensor", "is_known", "register",
    "supported_archs", "tensor_family",
]
