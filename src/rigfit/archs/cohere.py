"""Cohere family: cohere2 (Command R7B, Command A) and cohere2moe.

Sources: llama.cpp ``src/models/cohere2.cpp``, ``cohere2moe.cpp``
(https://github.com/ggml-org/llama.cpp/tree/master/src/models).
"""

from __future__ import annotations

from rigfit.archs.registry import ArchFamily, SwaRule, register

register(ArchFamily("cohere2", swa=SwaRule(4, False, 0, "always"), hf_model_types=("cohere2",)))
register(ArchFamily("cohere2moe", swa=SwaRule(4, True, 0, "always")))  # dense first
