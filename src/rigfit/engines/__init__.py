"""Inference engines rigfit plans for: llama.cpp and vLLM built in, more through the
``rigfit.engines`` entry-point group (see :mod:`rigfit.engines.base` and
:mod:`rigfit.engines.registry`)."""

from rigfit.engines.base import BaseEngine, CommandLine, Engine
from rigfit.engines.registry import GROUP, engine_names, get_engine

__all__ = ["GROUP", "BaseEngine", "CommandLine", "Engine", "engine_names", "get_engine"]
