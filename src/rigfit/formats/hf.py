"""Hugging Face checkpoints: ``config.json`` (+ safetensors headers) -> Architecture / ModelSpec.

The config is first translated into the GGUF metadata that llama.cpp's converter
(``convert_hf_to_gguf.py``) would write for it, and then read by the very same code as a GGUF
file (:func:`rigfit.formats.gguf_arch.architecture_from_gguf`), so that a HF folder, its GGUF
and the catalog entry all plan identically, including the llama.cpp-derived SWA and recurrent
layer patterns. Works offline on a local folder or the local HF cache
(``$HF_HUB_CACHE``, ``$HF_HOME/hub``, ``~/.cache/huggingface/hub``).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from rigfit.archs import hf_family, hf_model_types, is_expert_tensor
from rigfit.catalog.arch import Architecture, ModelSpec, TensorInfo
from rigfit.catalog.models import count_params
from rigfit.errors import BadFileError, RigfitError
from rigfit.formats.gguf import GGUFFile
from rigfit.formats.gguf_arch import architecture_from_gguf
from rigfit.formats.safetensors import read_safetensors_dir
from rigfit.safeio import clean_text, read_text_regular

#: HF ``model_type`` -> llama.cpp ``general.architecture`` (as convert_hf_to_gguf.py maps them;
#: each family of rigfit.archs registers its own).
HF_TO_GGUF_ARCH: dict[str, str] = hf_model_types()


def hf_cache_dirs() -> list[Path]:
    """Candidate HF hub cache folders, most specific first (only those that exist)."""
    cands = []
    if os.environ.get("HF_HUB_CACHE"):
        cands.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        cands.append(Path(os.environ["HUGGINGFACE_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        cands.append(Path(os.environ["HF_HOME"]) / "hub")
    cands.append(Path.home() / ".cache" / "huggingface" / "hub")
    out = []
    for c in cands:
        if c.is_dir() and c not in out:
            out.append(c)
    return out


def hf_cache_snapshot(repo_id: str) -> Path | None:
    """Local snapshot folder of ``org/name`` in the HF cache (refs/main first, else newest)."""
    if repo_id.count("/") != 1:
        return None
    folder = "models--" + repo_id.replace("/", "--")
    for cache in hf_cache_dirs():
        d = cache / folder
        if not d.is_dir():
            continue
        ref = d / "refs" / "main"
        if ref.is_file():
            snap = d / "snapshots" / ref.read_text().strip()
            if snap.is_dir():
                return snap
        snaps = sorted((d / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
        if snaps:
            return snaps[0]
    return None


#: Largest config.json read [bytes]; real ones are a few KB.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """config.json as a dict: a regular file (never a FIFO), UTF-8, at most MAX_CONFIG_BYTES,
    plain JSON (deep nesting and 5,000-digit numbers are one clear error, not a traceback)."""
    p = Path(path)
    try:
        text = read_text_regular(p, "config.json", max_bytes=MAX_CONFIG_BYTES)
        cfg = json.loads(text)
    except RecursionError:
        raise BadFileError(p, "not a valid JSON config (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise BadFileError(p, f"not a valid JSON config (line {exc.lineno}, column {exc.colno})") from None
    except ValueError:
        raise BadFileError(p, "not a valid JSON config (a number too long to read)") from None
    if not isinstance(cfg, dict):
        raise BadFileError(p, "config.json is not a JSON object")
    return cfg


def _text_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """Multimodal wrappers (Gemma 3 4B+, Mistral 3.1, Llama 4) keep the LM in ``text_config``."""
    tc = cfg.get("text_config")
    if isinstance(tc, dict) and tc.get("num_hidden_layers"):
        merged = dict(tc)
        merged.setdefault("model_type", cfg.get("model_type"))
        merged["_outer_model_type"] = cfg.get("model_type")
        return merged
    return cfg


#: config.json keys that hold a whole number (sizes and counts) and those that hold any number.
_INT_KEYS = frozenset(
    {
        "num_hidden_layers",
        "n_layer",
        "num_layers",
        "hidden_size",
        "d_model",
        "n_embd",
        "max_position_embeddings",
        "max_seq_len",
        "vocab_size",
        "num_attention_heads",
        "n_head",
        "num_key_value_heads",
        "intermediate_size",
        "ffn_dim",
        "head_dim",
        "sliding_window",
        "num_local_experts",
        "num_experts",
        "n_routed_experts",
        "moe_num_experts",
        "num_experts_per_tok",
        "moe_topk",
        "top_k",
        "moe_intermediate_size",
        "expert_intermediate_size",
        "intermediate_size_mlp",
        "n_shared_experts",
        "num_shared_experts",
        "shared_expert_intermediate_size",
        "shared_intermediate_size",
        "first_k_dense_replace",
        "kv_lora_rank",
        "q_lora_rank",
        "qk_rope_head_dim",
        "qk_nope_head_dim",
        "v_head_dim",
        "global_head_dim",
        "num_global_key_value_heads",
        "num_kv_shared_layers",
        "hidden_size_per_layer_input",
        "top_k_experts",
    }
)
_FLOAT_KEYS = frozenset({"rope_theta", "partial_rotary_factor"})


def _checked_number(v: Any, key: str, path: str) -> Any:
    """``v`` when it has the kind ``key`` needs (a whole number for sizes and counts, a finite number
    for factors); otherwise one clear BadFileError ("head_dim is the text '64', not a number")."""
    if key not in _INT_KEYS and key not in _FLOAT_KEYS:
        return v
    ok = isinstance(v, int) and not isinstance(v, bool)
    if key in _FLOAT_KEYS:
        ok = ok or (isinstance(v, float) and math.isfinite(v))
    if ok:
        return v
    if isinstance(v, str):
        what = f"the text {clean_text(v, 20)!r}"
    elif isinstance(v, list | dict):
        what = f"a JSON {'list' if isinstance(v, list) else 'object'}"
    else:
        what = repr(v) if isinstance(v, bool | float) else type(v).__name__
    kind = "a whole number" if key in _INT_KEYS else "a finite number"
    raise BadFileError(path, f"{key} is {what}, not {kind}", "Fix config.json, or download it again.")


def config_to_gguf_metadata(cfg: dict[str, Any], path: str = "config.json") -> dict[str, Any]:
    """The GGUF metadata convert_hf_to_gguf.py would write for this config (architecture keys)."""
    c = _text_config(cfg)
    mt = str(c.get("model_type") or "")
    fam = hf_family(mt, str(c.get("_outer_model_type") or ""))
    if fam is None:
        raise RigfitError(
            f"{path}: unsupported model_type {mt!r} (architecture not known to rigfit).",
            "Convert it to GGUF and inspect the GGUF instead.",
        )

    def g(*names: str, default: Any = None) -> Any:
        for n in names:
            if c.get(n) is not None:
                return _checked_number(c[n], n, path)
        return default

    def req(*names: str) -> int:
        v = g(*names)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise BadFileError(path, f"config is missing a valid {names[0]}")
        return v

    n_layer = req("num_hidden_layers", "n_layer", "num_layers")
    n_embd = req("hidden_size", "d_model", "n_embd")
    a = fam.name
    m: dict[str, Any] = {"general.architecture": a}

    def put(k: str, v: Any) -> None:
        if v is not None:
            m[f"{a}.{k}"] = v

    put("block_count", n_layer)
    put("embedding_length", n_embd)
    put("context_length", g("max_position_embeddings", "max_seq_len", default=0))
    put("vocab_size", g("vocab_size"))
    n_head = g("num_attention_heads", "n_head", default=0)
    put("attention.head_count", n_head)
    put("attention.head_count_kv", g("num_key_value_heads", default=n_head))
    put("feed_forward_length", g("intermediate_size", "ffn_dim", default=0))
    if g("head_dim") and fam.hf_head_dim:
        put("attention.key_length", g("head_dim"))
        put("attention.value_length", g("head_dim"))
    put("rope.freq_base", g("rope_theta"))
    if g("sliding_window") and fam.hf_sliding_window:
        put("attention.sliding_window", g("sliding_window"))
    if g("partial_rotary_factor") and g("head_dim") is not None:
        put("rope.dimension_count", int(g("head_dim") * g("partial_rotary_factor")))
    # MoE
    n_exp = g("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
    if n_exp:
        put("expert_count", n_exp)
        put("expert_used_count", g("num_experts_per_tok", "moe_topk", "top_k"))
        ff_exp = g("moe_intermediate_size", "expert_intermediate_size")
        if ff_exp is None and fam.hf_expert_ff_is_intermediate:
            ff_exp = g("intermediate_size")  # Mixtral/gpt-oss: intermediate_size is the expert width
        put("expert_feed_forward_length", ff_exp)
        if fam.hf_expert_ff_is_intermediate:
            m[f"{a}.feed_forward_length"] = g("intermediate_size_mlp", default=0)
        put("expert_shared_count", g("n_shared_experts", "num_shared_experts"))
        put(
            "expert_shared_feed_forward_length",
            g("shared_expert_intermediate_size", "shared_intermediate_size"),
        )
        put("leading_dense_block_count", g("first_k_dense_replace"))
    # MLA (DeepSeek V2/V3, Kimi K2): convert writes the latent sizes as key/value_length
    if g("kv_lora_rank"):
        rope, nope, v = g("qk_rope_head_dim", default=64), g("qk_nope_head_dim", default=128), g("v_head_dim")
        kv = g("kv_lora_rank")
        put("attention.q_lora_rank", g("q_lora_rank") or 0)
        put("attention.kv_lora_rank", kv)
        put("attention.head_count_kv", 1)
        put("attention.key_length", kv + rope)
        put("attention.value_length", kv)
        put("attention.key_length_mla", nope + rope)
        put("attention.value_length_mla", v)
        put("rope.dimension_count", rope)
    # the family's own keys (SSM sizes, hybrid layer types, MoE interleave, MTP layers)
    if fam.hf_metadata is not None:
        fam.hf_metadata(g, put, m)
    return m


def architecture_from_config(
    cfg: dict[str, Any], model_id: str, path: str = "config.json", tensors: list[TensorInfo] | None = None
) -> Architecture:
    """Architecture of a HF config (and its safetensors tensor table, when known).

    A config value of a kind no real config has (``architectures: 5``, a text where a number
    belongs) is one BadFileError, never a traceback."""
    try:
        return _architecture_from_config(cfg, model_id, path, tensors)
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError, IndexError, ZeroDivisionError):
        raise BadFileError(
            path,
            "config.json holds a value of a kind no model config has",
            "Check the sizes and counts in it, or download it again.",
        ) from None


def _architecture_from_config(
    cfg: dict[str, Any], model_id: str, path: str, tensors: list[TensorInfo] | None
) -> Architecture:
    meta = config_to_gguf_metadata(cfg, path)
    types = {k: "u32" for k in meta}
    fake = GGUFFile(
        path=path, version=0, byte_order="<", alignment=0, metadata=meta, types=types, tensors=(), parts=()
    )
    arch = architecture_from_gguf(fake, model_id=model_id)
    c = _text_config(cfg)
    names = [t.name for t in tensors or []]
    if names:
        tied = not any(n.endswith("lm_head.weight") for n in names)
        bias = any(n.endswith(("q_proj.bias", "qkv_proj.bias")) for n in names)
        qkn = any(n.endswith(("q_norm.weight", "q_layernorm.weight")) for n in names)
    else:
        # transformers' per-model defaults when the config omits them (Gemma configs tie, Qwen2
        # has Q/K/V biases, Qwen3/Gemma 3/OLMo 2 have Q/K norms): the family's ``hf_*_default``
        fam = hf_family(str(c.get("model_type") or ""), str(c.get("_outer_model_type") or ""))
        default_tied = fam is not None and fam.hf_tied_default
        tied = bool(c.get("tie_word_embeddings", cfg.get("tie_word_embeddings", default_tied)))
        bias = bool(c.get("attention_bias", fam is not None and fam.hf_attn_bias_default))
        qkn = fam is not None and fam.hf_qk_norm_default
    extra = dict(arch.extra)
    extra["hf_model_type"] = c.get("model_type")
    archs = cfg.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        extra["hf_architecture"] = archs[0]
    total = active = None
    if tensors:
        total = sum(t.n_elements for t in tensors)
        if arch.moe:
            exp = sum(t.n_elements for t in tensors if is_expert_tensor(t.name))
            active = total - exp + exp * arch.moe.n_expert_used // max(arch.moe.n_expert, 1)
        else:
            active = total
    arch = replace(
        arch,
        tied_embeddings=tied,
        attn_bias=bias,
        qk_norm=qkn,
        total_params=total,
        active_params=active,
        sources=(f"Hugging Face config {path}",),
        verified="hf-config",
        hf_repo=cfg.get("_name_or_path") or None,
        extra=extra,
    )
    if total is None:
        try:
            t, act = count_params(arch)
            arch = replace(arch, total_params=t, active_params=act)
        except Exception:
            pass
    return arch


def model_from_hf(path: str | os.PathLike) -> ModelSpec:
    """ModelSpec of a HF folder or config.json: tensors from the safetensors headers (HF names,
    exact bytes in the checkpoint's own dtypes), or none when only the config is there."""
    p = Path(path)
    folder = p.parent if p.is_file() else p
    cfg_path = p if p.is_file() else p / "config.json"
    if not cfg_path.is_file():
        raise BadFileError(p, "no config.json here", "Pass a Hugging Face model folder or its config.json.")
    cfg = read_config(cfg_path)
    tensors = read_safetensors_dir(folder)
    model_id = folder.name
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        model_id = folder.parent.parent.name[len("models--") :].replace("--", "/")
    arch = architecture_from_config(cfg, model_id, str(cfg_path), tensors)
    dtype = Counter(t.ggml_type for t in tensors).most_common(1)
    ft = (
        dtype[0][0]
        if dtype
        else (
            str(cfg.get("torch_dtype") or "")
            .upper()
            .replace("BFLOAT16", "BF16")
            .replace("FLOAT16", "F16")
            .replace("FLOAT32", "F32")
            or None
        )
    )
    return ModelSpec(
        arch=arch,
        tensors=tuple(tensors),
        file_type=ft,
        origin="hf",
        path=str(folder),
        tensors_exact=bool(tensors),
    )
