"""``rigfit plan``: will a model fit a machine, with what memory per device, and how to run it.

This module declares the command's options for Typer; the work and the output are in
:mod:`rigfit.cli.plan_view`.
"""

# No ``from __future__ import annotations`` here: Typer evaluates the string annotations of
# ``plan``'s ~45 parameters several times per run (``eval`` and ``compile`` each), ~4 % of the
# whole command's time; evaluated once when the function is defined, they cost nothing.
from typing import Annotated

import typer

from rigfit.cli import vision_view
from rigfit.cli.app import app
from rigfit.cli.plan_view import run_plan
from rigfit.hardware.osreserve import RESERVE_HELP
from rigfit.inputs import OS_HELP

_H_MODEL = (
    "Catalog model id (llama-3.1-8b), GGUF file, HF folder, ollama:NAME, or a remote repo "
    "(org/name:QUANT, hf:org/name)."
)
_H_OFFLINE = "No network: remote names from rigfit's header cache only."
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
_H_DRAFT = "Draft model for speculative decoding (-md): any model rigfit reads, like MODEL."
_H_MTP = "Speculative decoding with the model's own MTP head (--spec-type draft-mtp)."
_H_ACCEPT = "Per-token draft acceptance 0…0.99 (default: the --task band from published runs)."
_H_TASK = "Task for the acceptance band: code | chat | mixed | reasoning | agents | rag | prose."


@app.command()
def plan(
    model: Annotated[str, typer.Argument(help=_H_MODEL)],
    on: Annotated[str, typer.Option("--on", help=_H_ON)] = "local",
    quant: Annotated[str | None, typer.Option("--quant", "-q", help=_H_QUANT)] = None,
    ctx: Annotated[int | None, typer.Option("--ctx", "-c", help=_H_CTX)] = None,
    ngl: Annotated[str | None, typer.Option("--ngl", help=_H_NGL)] = None,
    fa: Annotated[str, typer.Option("--fa", help="Flash attention: auto | on | off.")] = "auto",
    kv_type: Annotated[str, typer.Option("--kv-type", help=_H_KV)] = "f16",
    parallel: Annotated[int, typer.Option("--parallel", "-np", help="Slots (-np).")] = 1,
    kv_unified: Annotated[bool, typer.Option("--kv-unified", help="Shared KV (-kvu).")] = False,
    ubatch: Annotated[int, typer.Option("--ubatch", "-ub", help="Physical batch size (-ub).")] = 512,
    swa_full: Annotated[bool, typer.Option("--swa-full", help=_H_SWA)] = False,
    cpu_moe: Annotated[bool, typer.Option("--cpu-moe", help="Experts in RAM.")] = False,
    n_cpu_moe: Annotated[int, typer.Option("--n-cpu-moe", help=_H_NCMOE)] = 0,
    no_kv_offload: Annotated[bool, typer.Option("--no-kv-offload", help="Keep the KV cache in RAM.")] = False,
    tensor_split: Annotated[
        str | None, typer.Option("--tensor-split", "-ts", help="GPU shares, e.g. 3,1.")
    ] = None,
    runtime: Annotated[str, typer.Option("--runtime", help=_H_RUNTIME)] = "llama.cpp",
    llama_build: Annotated[str | None, typer.Option("--llama-build", help=_H_BUILD)] = None,
    os_name: Annotated[str, typer.Option("--os", help=OS_HELP)] = "unknown",
    max_ctx: Annotated[bool, typer.Option("--max-ctx", help=_H_MAXCTX)] = False,
    prompt: Annotated[int, typer.Option("--prompt", help="Prompt tokens (speed).")] = 512,
    gpu_util: Annotated[float, typer.Option("--gpu-memory-utilization", help="vLLM memory claim.")] = 0.9,
    kv_type_k: Annotated[str | None, typer.Option("--kv-type-k", "-ctk", help=_H_KVK)] = None,
    kv_type_v: Annotated[str | None, typer.Option("--kv-type-v", "-ctv", help=_H_KVV)] = None,
    kv_types: Annotated[bool, typer.Option("--kv-types", help=_H_KVT)] = False,
    users: Annotated[int, typer.Option("--users", help=_H_USERS)] = 0,
    output: Annotated[int, typer.Option("--output", help=_H_OUTPUT)] = 256,
    min_tps: Annotated[float | None, typer.Option("--min-tps", help=_H_MINTPS)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help=_H_OFFLINE)] = False,
    draft: Annotated[str | None, typer.Option("--draft", "-md", help=_H_DRAFT)] = None,
    draft_quant: Annotated[str | None, typer.Option("--draft-quant", help="Draft file type.")] = None,
    mtp: Annotated[bool, typer.Option("--mtp", help=_H_MTP)] = False,
    draft_max: Annotated[int | None, typer.Option("--draft-max", help="Drafted tokens (3).")] = None,
    draft_min: Annotated[int | None, typer.Option("--draft-min", help="Least drafted (0).")] = None,
    ngl_draft: Annotated[
        int | None, typer.Option("--gpu-layers-draft", "-ngld", help="Draft layers on GPU (all).")
    ] = None,
    device_draft: Annotated[
        str | None, typer.Option("--device-draft", "-devd", help="Draft device: CUDA1, none…")
    ] = None,
    kv_type_draft: Annotated[str, typer.Option("--kv-type-draft", "-ctkd", help="Draft KV type.")] = "f16",
    accept_rate: Annotated[float | None, typer.Option("--accept-rate", help=_H_ACCEPT)] = None,
    task: Annotated[str, typer.Option("--task", help=_H_TASK)] = "mixed",
    mmproj: Annotated[str | None, typer.Option("--mmproj", help=vision_view.H_MMPROJ)] = None,
    no_mmproj_offload: Annotated[
        bool, typer.Option("--no-mmproj-offload", help=vision_view.H_NO_MMPROJ_OFFLOAD)
    ] = False,
    images: Annotated[int, typer.Option("--images", help=vision_view.H_IMAGES)] = 0,
    image_size: Annotated[str | None, typer.Option("--image-size", help=vision_view.H_IMAGE_SIZE)] = None,
    reserve_ram: Annotated[str | None, typer.Option("--reserve-ram", help=RESERVE_HELP)] = None,
) -> None:
    """Plan a model on a machine: memory per device, verdict, and the command line to run it.

    Examples:

      rigfit plan llama-3.1-8b --on "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"

      rigfit plan qwen2.5-14b --on "RTX 3060 12GB + 32GB" --max-ctx

      rigfit plan llama-3.1-70b --on "RTX 4090 + 64GB DDR5" --ctx 8192 --kv-type q8_0

      rigfit plan ./model.gguf --on local --json

      rigfit plan unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M --on "RTX 4090 + 64GB"

      rigfit plan qwen3-8b --on "RTX 3090" --users 8 --prompt 2000 --output 500 --min-tps 20

      rigfit plan qwen2.5-14b --on "RTX 4090" --ctx 65536 -ctk q8_0 -ctv q5_1 --kv-types

      rigfit plan qwen3-8b --draft qwen3-0.6b --draft-max 5 --task code --on "RTX 3060 12GB"

      rigfit plan ./GLM-4.5-Air-Q4_K_M.gguf --mtp --on "2x RTX 3090 + 128GB"

      rigfit plan qwen3-30b-a3b --on "RTX 3060 12GB + 32GB" --reserve-ram 8GB
    """
    run_plan(
        model,
        on=on,
        quant=quant,
        ctx=ctx,
        ngl=ngl,
        fa=fa,
        kv_type=kv_type,
        parallel=parallel,
        kv_unified=kv_unified,
        ubatch=ubatch,
        swa_full=swa_full,
        cpu_moe=cpu_moe,
        n_cpu_moe=n_cpu_moe,
        no_kv_offload=no_kv_offload,
        tensor_split=tensor_split,
        runtime=runtime,
        llama_build=llama_build,
        os_name=os_name,
        max_ctx=max_ctx,
        prompt=prompt,
        gpu_util=gpu_util,
        kv_type_k=kv_type_k,
        kv_type_v=kv_type_v,
        kv_types=kv_types,
        users=users,
        output=output,
        min_tps=min_tps,
        as_json=as_json,
        offline=offline,
        draft=draft,
        draft_quant=draft_quant,
        mtp=mtp,
        draft_max=draft_max,
        draft_min=draft_min,
        ngl_draft=ngl_draft,
        device_draft=device_draft,
        kv_type_draft=kv_type_draft,
        accept_rate=accept_rate,
        task=task,
        mmproj=mmproj,
        no_mmproj_offload=no_mmproj_offload,
        images=images,
        image_size=image_size,
        reserve_ram=reserve_ram,
    )
