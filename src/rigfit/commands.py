"""How to run a plan: the llama-server command line and the Ollama settings that realise it.

Flags as in llama.cpp's common/arg.cpp of 2026 releases
(https://github.com/ggml-org/llama.cpp/blob/master/common/arg.cpp); Ollama's parameters and
environment as its FAQ documents them (https://github.com/ollama/ollama/blob/main/docs/faq.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rigfit.catalog.arch import ModelSpec
from rigfit.estimate import speculative as spec_mod
from rigfit.estimate import vision as vision_mod
from rigfit.estimate.kvtypes import ctx_per_sequence, rope_scaling_advice
from rigfit.plan import max_ngl
from rigfit.plantypes import OffloadKind, Plan


def _model_arg(model: ModelSpec) -> str:
    if model.path:
        return str(model.path)
    return f"{model.arch.id}-{model.file_type or 'Q4_K_M'}.gguf"


def commands_for(plan: Plan) -> dict[str, Any]:
    """llama-server command line and Ollama parameters that realise the plan (flags as in
    llama.cpp common/arg.cpp of 2026 releases)."""
    s = plan.settings
    arch = plan.model.arch
    n_all = arch.n_layer + 1
    args = ["llama-server", "-m", _model_arg(plan.model), "-c", str(plan.n_ctx)]
    has_gpu = bool(plan.placement and plan.placement.gpu_devices)
    if has_gpu:
        args += ["-ngl", str(plan.ngl) if plan.ngl < n_all else "all"]
    else:
        args += ["-ngl", "0"]
    args += ["-fa", s.flash_attn]
    if s.kv_type_k != "f16":
        args += ["-ctk", s.kv_type_k]
    if s.kv_type_v != "f16":
        args += ["-ctv", s.kv_type_v]
    args += ["-np", str(s.n_parallel)]
    if s.kv_unified:
        args.append("-kvu")
    if s.n_ubatch != 512:
        args += ["-ub", str(s.n_ubatch)]
    if s.n_batch != 2048:
        args += ["-b", str(s.n_batch)]
    if s.swa_full:
        args.append("--swa-full")
    if s.cpu_moe:
        args.append("--cpu-moe")
    elif s.n_cpu_moe:
        args += ["--n-cpu-moe", str(s.n_cpu_moe)]
    if s.no_kv_offload:
        args.append("--no-kv-offload")
    if s.tensor_split:
        args += ["-ts", ",".join(f"{x:g}" for x in s.tensor_split)]
    if s.repack is False:
        args.append("--no-repack")
    rope = rope_scaling_advice(arch, ctx_per_sequence(plan.n_ctx, s.n_parallel, s.kv_unified))
    if rope is not None and rope.llama_flags:
        args += rope.llama_flags.split()
    args += spec_mod.llama_server_args(s.speculative, _model_arg) + vision_mod.llama_server_args(s.vision)
    return {"llama_server": args, "llama_server_line": " ".join(args), "ollama": _ollama(plan, has_gpu)}


def _ollama(plan: Plan, has_gpu: bool) -> dict[str, Any]:
    """Ollama parameters and environment that come closest to the plan."""
    s = plan.settings
    # Ollama allocates num_ctx × OLLAMA_NUM_PARALLEL tokens ("a 2K context with 4 parallel requests
    # will result in an 8K context", https://github.com/ollama/ollama/blob/main/docs/faq.md): per
    # request it takes llama.cpp's -c divided by the slots
    num_ctx = plan.n_ctx // s.n_parallel if s.n_parallel > 1 else plan.n_ctx
    ollama: dict[str, Any] = {"num_ctx": num_ctx, "num_gpu": plan.ngl if has_gpu else 0}
    ollama_note = None
    if plan.experts_in_ram and has_gpu:
        # Ollama offloads whole layers only: no per-expert setting (feature request ollama/ollama#11772
        # open; PRs #16146 and #16688 unmerged), so the nearest Ollama plan is whole-layer offload
        alt = plan.alternative
        lay: int | None
        if alt is not None and alt.offload is OffloadKind.LAYERS:
            lay = alt.ngl
        else:
            plain = replace(s, cpu_moe=False, n_cpu_moe=0)
            lay = max_ngl(plan.model, plan.machine, plain)
            if lay is None:
                lay = max_ngl(plan.model, plan.machine, plain, allow_tight=True)
        ollama["num_gpu"] = 0 if lay is None else min(lay, plan.ngl)
        ollama_note = (
            "Ollama has no setting to keep only the MoE experts in RAM (it offloads whole layers)"
            + (
                f": num_gpu={ollama['num_gpu']} is the whole-layer offload that fits (slower)."
                if lay is not None
                else " and no whole-layer offload fits: num_gpu=0."
            )
        )
    if s.speculative is not None:
        # Ollama has no draft model or MTP option (ollama/ollama#5800 open; PR #8134 closed unmerged)
        spec_note = "Ollama has no speculative decoding (draft model / MTP): expect the plain decode speed."
        ollama_note = f"{ollama_note} {spec_note}" if ollama_note else spec_note
    env = {}
    if s.flash_attn == "on" or s.kv_type_k != "f16":
        env["OLLAMA_FLASH_ATTENTION"] = "1"
    if s.kv_type_k != "f16":
        env["OLLAMA_KV_CACHE_TYPE"] = s.kv_type_k
    if s.n_parallel > 1:
        env["OLLAMA_NUM_PARALLEL"] = str(s.n_parallel)
    return {"parameters": ollama, "env": env, "note": ollama_note}
