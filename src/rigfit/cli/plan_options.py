"""``rigfit plan``'s options, declared once: name, type, default, flags and help of each.

:class:`PlanOptions` is the one list. The Typer command (:mod:`rigfit.cli.plan_cmd`) builds its
parameters from it, the fast path (:mod:`rigfit.cli.plan_fast`) reads its flags and value types from
it, and :func:`rigfit.cli.plan_view.run_plan` takes an instance. This module imports neither Typer
nor Click, so the fast path stays free of the CLI framework (issue 15).
"""

# No ``from __future__ import annotations`` here: the field types are read at run time, by Typer
# (as the parameters' annotations) and by the fast path (the type a value converts to).
import types
from dataclasses import Field, dataclass, field, fields
from typing import Any, get_args

from rigfit.hardware.osreserve import RESERVE_HELP
from rigfit.inputs import OS_HELP

_H_ON = "Machine: 'RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200', '2x RTX 3090', 'M3 Max 64GB' or 'local'."
_H_QUANT = "File type for catalog models (default Q4_K_M; MXFP4_MOE for gpt-oss)."
_H_CTX = "Context in tokens (default 4096; 0 = training context)."
_H_NGL = "Layers on the GPU(s): a number or 'all' (default: all, or the largest that fits)."
_H_KV = "KV cache type for K and V: f32 f16 bf16 q8_0 q5_1 q5_0 q4_1 iq4_nl q4_0."
_H_KVK = "KV cache type for K only (-ctk); overrides --kv-type."
_H_KVV = "KV cache type for V only (-ctv; quantized needs flash attention)."
_H_KVT = "Also show every KV cache type: bytes, decode at the context, published quality cost."
_H_USERS = "Concurrent users (requests in flight): per-user and aggregate tok/s, TTFT, max users."
_H_OUTPUT = "Output tokens per request (with --users)."
_H_MINTPS = "Per-user decode floor \\[tok/s]: the largest number of users that keeps it."
_H_SWA = "Full-size cache for sliding-window layers."
_H_NCMOE = "Keep the experts of the first N layers in RAM."
_H_BUILD = (
    "llama.cpp build profile: current, b9294-2026-05, b7800-2026-01, b2800-2024-05, b1650-2023-12 or bNNNN."
)
_H_MAXCTX = "Also find the largest context that fits."
_H_RUNTIME = "Engine: llama.cpp | vllm, or one a package registers (rigfit.engines entry points)."
_H_OFFLINE = "No network: remote names from rigfit's header cache only."
_H_DRAFT = "Draft model for speculative decoding (-md): any model rigfit reads, like MODEL."
_H_MTP = "Speculative decoding with the model's own MTP head (--spec-type draft-mtp)."
_H_ACCEPT = "Per-token draft acceptance 0…0.99 (default: the --task band from published runs)."
_H_TASK = "Task for the acceptance band: code | chat | mixed | reasoning | agents | rag | prose."
_H_MMPROJ = "Multimodal projector GGUF (--mmproj): its weights and image-encoder buffer are added."
_H_NO_MMPROJ_OFFLOAD = "Keep the image encoder on the CPU (--no-mmproj-offload)."
_H_IMAGES = "Images in one prompt: adds their image tokens and encoder time to the prefill."
_H_IMAGE_SIZE = "Size of each image, WxH in pixels (e.g. 1280x720); default: the encoder's own."


def _opt(default: Any, *flags: str, help: str) -> Any:
    """A field of :class:`PlanOptions`: its default, its command-line flags and its help text."""
    return field(default=default, metadata={"flags": flags, "help": help})


@dataclass(frozen=True)
class PlanOptions:
    """``rigfit plan``'s options in the order ``rigfit plan --help`` lists them (the model, the one
    argument, is apart: :data:`MODEL_HELP`)."""

    on: str = _opt("local", "--on", help=_H_ON)
    quant: str | None = _opt(None, "--quant", "-q", help=_H_QUANT)
    ctx: int | None = _opt(None, "--ctx", "-c", help=_H_CTX)
    ngl: str | None = _opt(None, "--ngl", help=_H_NGL)
    fa: str = _opt("auto", "--fa", help="Flash attention: auto | on | off.")
    kv_type: str = _opt("f16", "--kv-type", help=_H_KV)
    parallel: int = _opt(1, "--parallel", "-np", help="Slots (-np).")
    kv_unified: bool = _opt(False, "--kv-unified", help="Shared KV (-kvu).")
    ubatch: int = _opt(512, "--ubatch", "-ub", help="Physical batch size (-ub).")
    swa_full: bool = _opt(False, "--swa-full", help=_H_SWA)
    cpu_moe: bool = _opt(False, "--cpu-moe", help="Experts in RAM.")
    n_cpu_moe: int = _opt(0, "--n-cpu-moe", help=_H_NCMOE)
    no_kv_offload: bool = _opt(False, "--no-kv-offload", help="Keep the KV cache in RAM.")
    tensor_split: str | None = _opt(None, "--tensor-split", "-ts", help="GPU shares, e.g. 3,1.")
    runtime: str = _opt("llama.cpp", "--runtime", help=_H_RUNTIME)
    llama_build: str | None = _opt(None, "--llama-build", help=_H_BUILD)
    os_name: str = _opt("unknown", "--os", help=OS_HELP)
    max_ctx: bool = _opt(False, "--max-ctx", help=_H_MAXCTX)
    prompt: int = _opt(512, "--prompt", help="Prompt tokens (speed).")
    gpu_util: float = _opt(0.9, "--gpu-memory-utilization", help="vLLM memory claim.")
    kv_type_k: str | None = _opt(None, "--kv-type-k", "-ctk", help=_H_KVK)
    kv_type_v: str | None = _opt(None, "--kv-type-v", "-ctv", help=_H_KVV)
    kv_types: bool = _opt(False, "--kv-types", help=_H_KVT)
    users: int = _opt(0, "--users", help=_H_USERS)
    output: int = _opt(256, "--output", help=_H_OUTPUT)
    min_tps: float | None = _opt(None, "--min-tps", help=_H_MINTPS)
    as_json: bool = _opt(False, "--json", help="Machine-readable output.")
    offline: bool = _opt(False, "--offline", help=_H_OFFLINE)
    draft: str | None = _opt(None, "--draft", "-md", help=_H_DRAFT)
    draft_quant: str | None = _opt(None, "--draft-quant", help="Draft file type.")
    mtp: bool = _opt(False, "--mtp", help=_H_MTP)
    draft_max: int | None = _opt(None, "--draft-max", help="Drafted tokens (3).")
    draft_min: int | None = _opt(None, "--draft-min", help="Least drafted (0).")
    ngl_draft: int | None = _opt(None, "--gpu-layers-draft", "-ngld", help="Draft layers on GPU (all).")
    device_draft: str | None = _opt(None, "--device-draft", "-devd", help="Draft device: CUDA1, none…")
    kv_type_draft: str = _opt("f16", "--kv-type-draft", "-ctkd", help="Draft KV type.")
    accept_rate: float | None = _opt(None, "--accept-rate", help=_H_ACCEPT)
    task: str = _opt("mixed", "--task", help=_H_TASK)
    mmproj: str | None = _opt(None, "--mmproj", help=_H_MMPROJ)
    no_mmproj_offload: bool = _opt(False, "--no-mmproj-offload", help=_H_NO_MMPROJ_OFFLOAD)
    images: int = _opt(0, "--images", help=_H_IMAGES)
    image_size: str | None = _opt(None, "--image-size", help=_H_IMAGE_SIZE)
    reserve_ram: str | None = _opt(None, "--reserve-ram", help=RESERVE_HELP)


#: Help of the one argument, MODEL.
MODEL_HELP = (
    "Catalog model id (llama-3.1-8b), GGUF file, HF folder, ollama:NAME, or a remote repo "
    "(org/name:QUANT, hf:org/name)."
)


def option_fields() -> tuple[Field[Any], ...]:
    """:class:`PlanOptions`'s fields, in order; ``metadata["flags"]`` and ``["help"]`` on each."""
    return fields(PlanOptions)


def value_type(f: Field[Any]) -> type:
    """The type an option's value converts to: ``int`` for ``int | None``; ``bool`` is a flag."""
    kind = f.type
    if isinstance(kind, types.UnionType):
        (kind,) = (a for a in get_args(kind) if a is not types.NoneType)
    assert isinstance(kind, type), f.name
    return kind


#: Each option's default, by name: the values options not given take.
DEFAULTS: dict[str, Any] = {f.name: f.default for f in option_fields()}
