# ruff: noqa: E501, RUF005
"""Build src/rigfit/catalog/data/models.json from the research snapshot plus verified additions.

    python tools/build_model_catalog.py [data/reference/models.json]

The reference file (data/reference/models.json, the 2026-11 research snapshot; HF config.json field
names, each model with its public sources) is converted to llama.cpp hparam names; models the
reference lacks are added below, each with its citations (public URLs: the model's Hugging Face
config.json, a repository file). total/active params are recomputed with rigfit.catalog.models.count_params and checked against the reference.
Re-run after editing; the output is deterministic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from model_configs import LLMFIT_PARAMS, published_counts, records_from_folder  # noqa: E402

from rigfit.catalog.models import _record_to_arch, count_params  # noqa: E402

OUT = ROOT / "src/rigfit/catalog/data/models.json"
REFERENCE = ROOT / "data/reference/models.json"
#: llama.cpp as vendored in the llama-cpp-python 0.3.36 sdist (commit 0c1e570).
LLAMA_CPP = "https://github.com/ggml-org/llama.cpp/tree/0c1e570"


def _hf_config(repo: str) -> str:
    """Public URL of a Hugging Face model's config.json."""
    return f"https://huggingface.co/{repo}/blob/main/config.json"


EXTRA_SOURCES = {
    "llamacpp_arch": f"{LLAMA_CPP}/src/llama-arch.cpp LLM_ARCH_NAMES (general.architecture strings; "
    "llama.cpp 0c1e570 as vendored in llama-cpp-python 0.3.36)",
    "llamacpp_swa": f"{LLAMA_CPP}/src/llama-hparams.cpp llama_hparams::set_swa_pattern; "
    f"{LLAMA_CPP}/src/models (gemma2, gemma3, openai-moe, llama4: load_swa_pattern(ml, 2|6|2|4))",
    "llamacpp_convert": f"{LLAMA_CPP}/conversion (what convert_hf_to_gguf writes: arch, MLA as "
    "MQA with key_length 576/value_length 512, SSM keys, per-layer head_count_kv)",
    "llamacpp_recr": f"{LLAMA_CPP}/src/models/qwen3next.cpp (recurrent unless (i+1) % "
    f"full_attention_interval == 0); {LLAMA_CPP}/src/models/granite-hybrid.cpp "
    "(recurrent iff head_count_kv[il] == 0)",
    "litgpt_llama": "https://github.com/Lightning-AI/litgpt/blob/main/litgpt/config.py Llama-2 7B/13B/70B entries "
    "(verbatim from "
    + _hf_config("meta-llama/Llama-2-7b-hf")
    + ", "
    + _hf_config("meta-llama/Llama-2-13b-hf")
    + ", "
    + _hf_config("meta-llama/Llama-2-70b-hf")
    + ")",
    "fs_llama1_30b": _hf_config("huggyllama/llama-30b") + " (hidden 6656, ffn 17920, 52 heads, 60 layers, "
    "vocab 32000, max_pos 2048)",
    "fs_llama1": "; ".join(_hf_config(f"huggyllama/llama-{s}") for s in ("7b", "13b", "30b", "65b"))
    + " (layers 32/40/60/80, hidden 4096/5120/6656/8192)",
    "gt_params": "data/ground-truth/speed_calibration.csv params_b (llama-bench 'params' of the real GGUF, "
    "as published at each row's source_url): computed total matches to 0.01 B",
    "llama4_scout_cfg": _hf_config("meta-llama/Llama-4-Scout-17B-16E-Instruct") + "; "
    "https://github.com/Shameerisb/llama-4-scout_Implementation_Pytorch/blob/main/configs/"
    "text_config.py (Llama4TextConfig: vocab 202048, hidden 5120, expert ffn 8192, dense ffn "
    "16384, 48 layers, 40/8 heads, head_dim 128, 16 experts top-1, chunk 8192)",
    "fs_qwen3_next": _hf_config("Qwen/Qwen3-Next-80B-A3B-Instruct")
    + "; "
    + _hf_config("Qwen/Qwen3-Coder-Next")
    + " (48 layers, hidden 2048, 16/2 heads x256, 512 experts top-10, expert 512, "
    "shared 512, linear 16 key heads x128, 32 value heads x128, conv 4, interval 4; "
    "published total 79,674,391,296 / active 3,874,929,408)",
    "fs_granite_h_tiny": _hf_config("ibm-granite/granite-4.0-h-tiny")
    + "; "
    + _hf_config("ibm-granite/granite-4.0-h-1b")
    + " (config.json fields incl. layer_types)",
    "fs_granite_h_small": _hf_config("ibm-granite/granite-4.0-h-small") + " (36 mamba + 4 attention layers; "
    "32.19B / 8.78B)",
    "fs_mamba2_27b": _hf_config("state-spaces/mamba2-2.7b")
    + " (d_model 2560, 64 layers, vocab 50277 padded to "
    "50288, tied, 80 heads)",
    "fs_glm47_flash": _hf_config("zai-org/GLM-4.7-Flash")
    + " (Glm4MoeLiteConfig: 47 layers, hidden 2048, 20 heads, "
    "MLA q_lora 768 kv_lora 512 nope 192 rope 64 v 256, 64 experts top-4 + 1 shared, expert 1536, "
    "dense 10240, first_k_dense 1, vocab 154880, max_pos 202752)",
    "fs_dots1": _hf_config("rednote-hilab/dots.llm1.inst")
    + " (62 layers, hidden 4096, 32/32 heads, dense ffn "
    "10944, 128 experts top-6 + 2 shared, expert 1408, first_k_dense 1, vocab 152064, max_pos 32768)",
    "fs_hunyuan_a13b": _hf_config("tencent/Hunyuan-A13B-Instruct")
    + " (32 layers, hidden 4096, 32/8 heads x128, "
    "64 experts top-8 + 1 shared, expert ffn 3072, vocab 128167)",
    "cohere_r7b_config": _hf_config("CohereLabs/c4ai-command-r7b-12-2024"),
}


# --------------------------------------------------------------------------------------------
# Conversion of reference records
# --------------------------------------------------------------------------------------------

FAMILY_ARCH = {
    # reference family -> (rigfit family, llama.cpp arch)
    "llama": ("llama", "llama"),
    "qwen2": ("qwen2.5", "qwen2"),
    "qwen3": ("qwen3", "qwen3"),
    "qwen3_moe": ("qwen3", "qwen3moe"),
    "gemma2": ("gemma2", "gemma2"),
    "gemma3": ("gemma3", "gemma3"),
    "mistral": ("mistral", "llama"),
    "mixtral": ("mixtral", "llama"),
    "phi3": ("phi", "phi3"),
    "deepseek_v3": ("deepseek", "deepseek2"),
    "gpt_oss": ("gpt-oss", "gpt-oss"),
    "glm4_moe": ("glm", "glm4moe"),
}

NAMES = {
    "llama-3.1-8b": "Llama 3.1 8B",
    "llama-3.1-70b": "Llama 3.1 70B",
    "llama-3.1-405b": "Llama 3.1 405B",
    "llama-3.3-70b": "Llama 3.3 70B",
    "llama-3.2-1b": "Llama 3.2 1B",
    "llama-3.2-3b": "Llama 3.2 3B",
    "deepseek-r1-distill-llama-70b": "DeepSeek-R1-Distill-Llama 70B",
    "deepseek-r1-distill-llama-8b": "DeepSeek-R1-Distill-Llama 8B",
    "deepseek-r1-distill-qwen-32b": "DeepSeek-R1-Distill-Qwen 32B",
    "deepseek-r1-distill-qwen-14b": "DeepSeek-R1-Distill-Qwen 14B",
    "qwen3-30b-a3b-instruct-2507": "Qwen3 30B-A3B Instruct 2507",
    "qwen3-coder-30b-a3b": "Qwen3-Coder 30B-A3B",
    "qwen3-235b-a22b": "Qwen3 235B-A22B",
    "qwen3-30b-a3b": "Qwen3 30B-A3B",
    "mistral-7b-v0.3": "Mistral 7B v0.3",
    "mistral-nemo-12b": "Mistral Nemo 12B",
    "mistral-small-24b-2501": "Mistral Small 3 24B (2501)",
    "ministral-8b-2410": "Ministral 8B (2410)",
    "mixtral-8x7b": "Mixtral 8x7B",
    "mixtral-8x22b": "Mixtral 8x22B",
    "phi-4": "Phi-4 14B",
    "phi-4-mini": "Phi-4-mini 3.8B",
    "deepseek-coder-6.7b": "DeepSeek-Coder 6.7B",
    "deepseek-coder-33b": "DeepSeek-Coder 33B",
    "deepseek-v3": "DeepSeek V3",
    "deepseek-r1": "DeepSeek R1",
    "deepseek-v3.1": "DeepSeek V3.1",
    "gpt-oss-20b": "gpt-oss 20B",
    "gpt-oss-120b": "gpt-oss 120B",
    "glm-4.5-air": "GLM-4.5-Air",
}

ALIASES = {
    "llama-3.1-8b": ["Meta-Llama-3.1-8B-Instruct", "llama3.1:8b"],
    "llama-3.1-70b": ["Meta-Llama-3.1-70B-Instruct", "llama3.1:70b"],
    "llama-3.1-405b": ["Meta-Llama-3.1-405B-Instruct", "llama3.1:405b"],
    "llama-3.3-70b": ["llama3.3:70b", "Llama-3.3-70B-Instruct"],
    "llama-3.2-1b": ["llama3.2:1b"],
    "llama-3.2-3b": ["llama3.2:3b"],
    "qwen3-30b-a3b": ["qwen3:30b", "Qwen3-30B-A3B"],
    "qwen3-235b-a22b": ["qwen3:235b"],
    "gpt-oss-20b": ["gpt-oss:20b"],
    "gpt-oss-120b": ["gpt-oss:120b"],
    "phi-4": ["phi4", "phi4:14b"],
    "phi-4-mini": ["phi4-mini"],
    "mistral-nemo-12b": ["Mistral-Nemo-Instruct-2407", "mistral-nemo", "Mistral Nemo"],
    "mistral-7b-v0.3": ["Mistral-7B-Instruct-v0.3", "mistral:7b"],
    "mistral-small-24b-2501": ["Mistral-Small-24B-Instruct-2501", "Mistral Small 3"],
    "mixtral-8x7b": ["Mixtral-8x7B-Instruct-v0.1", "mixtral:8x7b"],
    "mixtral-8x22b": ["Mixtral-8x22B-Instruct-v0.1", "mixtral:8x22b"],
    "deepseek-v3": ["DeepSeek-V3-0324"],
    "deepseek-r1": ["DeepSeek-R1-0528"],
    "deepseek-coder-6.7b": ["deepseek-coder-6.7b-instruct"],
    "deepseek-coder-33b": ["deepseek-coder-33b-instruct"],
    "gemma-3-27b": ["gemma3:27b"],
    "gemma-3-12b": ["gemma3:12b"],
    "gemma-3-4b": ["gemma3:4b"],
    "gemma-3-1b": ["gemma3:1b"],
    "gemma-3-270m": ["gemma3:270m"],
    "gemma-2-27b": ["gemma2:27b"],
    "gemma-2-9b": ["gemma2:9b"],
    "gemma-2-2b": ["gemma2:2b"],
}


def _name_from_id(mid: str) -> str:
    if mid in NAMES:
        return NAMES[mid]
    parts = mid.split("-")
    head = parts[0]
    pretty = {"qwen2.5": "Qwen2.5", "qwen3": "Qwen3", "gemma": "Gemma", "llama": "Llama"}.get(head, head)
    rest = []
    for p in parts[1:]:
        rest.append(p.upper() if p[-1:] in "bm" and p[:-1].replace(".", "").isdigit() else p)
    return " ".join([pretty, *rest])


def convert(ref: dict) -> dict:
    fam, arch = FAMILY_ARCH[ref["family"]]
    mid = ref["id"]
    if mid.startswith("deepseek-r1-distill"):
        fam = "deepseek-r1-distill"
    if mid.startswith("deepseek-coder"):
        fam = "deepseek-coder"
    n_layer = ref["num_hidden_layers"]
    rec: dict = {
        "id": mid,
        "name": _name_from_id(mid),
        "family": fam,
        "arch": arch,
        "hf_repo": ref["hf_repo"],
        "aliases": ALIASES.get(mid, []),
        "n_layer": n_layer,
        "n_embd": ref["hidden_size"],
        "n_head": ref["num_attention_heads"],
        "n_head_kv": ref["num_key_value_heads"],
        "n_embd_head_k": ref["head_dim"],
        "n_embd_head_v": ref["head_dim"],
        "n_ff": ref["intermediate_size"],
        "n_vocab": ref["vocab_size"],
        "n_ctx_train": ref["max_position_embeddings"],
        "tied_embeddings": bool(ref["tie_word_embeddings"]),
        "attn_bias": arch in ("qwen2", "gpt-oss", "glm4moe"),
        "qk_norm": arch in ("qwen3", "qwen3moe", "gemma3"),
        "sliding_window": None,
        "swa_layers": None,
        "moe": None,
        "mla": None,
        "ssm": None,
        "recurrent_layers": None,
        "total_params": None,
        "active_params": None,
        "sources": list(ref.get("sources", [])) + ["llamacpp_arch"],
        "verified": ref["verified"],
        "notes": ref.get("notes"),
        "extra": {},
    }
    extra = rec["extra"]
    for k in (
        "rope_theta",
        "rope_scaling",
        "partial_rotary_factor",
        "official_params",
        "active_params_excl_input_embedding",
        "total_params_incl_mtp",
        "params_from_safetensors_llmfit",
        "attn_logit_softcapping",
        "final_logit_softcapping",
        "query_pre_attn_scalar",
        "rope_local_base_freq",
    ):
        if ref.get(k) is not None:
            extra[k] = ref[k]
    extra["hf_architecture"] = ref["architecture"]
    extra["reference_total_params"] = ref["total_params"]
    extra["reference_active_params"] = ref["active_params"]

    # Sliding window, as llama.cpp applies it
    if arch in ("gemma2", "gemma3", "gpt-oss"):
        rec["sliding_window"] = ref["sliding_window"]
        rec["swa_layers"] = {"period": 6 if arch == "gemma3" else 2, "dense_first": False}
        rec["sources"].append("llamacpp_swa")
    elif ref.get("sliding_window"):
        why = {
            "phi3": "llama.cpp phi3 disables SWA (src/models/phi3.cpp: 'Phi SWA is currently disabled')",
            "llama": "llama.cpp's llama arch has no SWA; window >= context anyway",
        }[arch]
        extra["hf_sliding_window"] = ref["sliding_window"]
        rec["notes"] = "; ".join(
            x for x in (rec["notes"], f"HF sliding_window {ref['sliding_window']} ignored: {why}") if x
        )

    moe = ref.get("moe")
    if moe:
        n_exp = moe.get("num_experts") or moe.get("n_routed_experts") or moe.get("num_local_experts")
        shared = moe.get("n_shared_experts") or moe.get("shared_experts") or 0
        expert_ff = moe.get("moe_intermediate_size") or ref["intermediate_size"]
        rec["moe"] = {
            "n_expert": n_exp,
            "n_expert_used": moe["num_experts_per_tok"],
            "expert_ff": expert_ff,
            "n_expert_shared": shared,
            "shared_ff": None,
            "n_dense_lead": moe.get("first_k_dense_replace", 0),
        }
        if arch != "glm4moe" and arch != "deepseek2":
            rec["n_ff"] = 0 if arch in ("qwen3moe", "gpt-oss") else ref["intermediate_size"]
        if arch == "llama":  # Mixtral: dense intermediate_size is the expert width
            rec["n_ff"] = 0
    mla = ref.get("mla")
    if mla:
        rec["mla"] = {
            k: mla[k]
            for k in ("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
        }
        # convert_hf_to_gguf writes MLA as MQA over the latent: head_count_kv 1,
        # key_length kv_lora + rope (576), value_length kv_lora (512)
        rec["n_head_kv"] = 1
        rec["n_embd_head_k"] = mla["kv_lora_rank"] + mla["qk_rope_head_dim"]
        rec["n_embd_head_v"] = mla["kv_lora_rank"]
        rec["sources"].append("llamacpp_convert")
        extra["hf_num_key_value_heads"] = ref["num_key_value_heads"]
    if ref.get("num_nextn_predict_layers"):
        extra["n_nextn_layers"] = ref["num_nextn_predict_layers"]
        extra["nextn_in_gguf"] = arch != "deepseek2"  # deepseek2 convert skips MTP (skip_mtp = True)
    if arch == "gpt-oss":
        extra["swa_type"] = "SWA"
    return rec


# --------------------------------------------------------------------------------------------
# Additions
# --------------------------------------------------------------------------------------------


def dense(
    mid,
    name,
    family,
    arch,
    hf_repo,
    n_layer,
    n_embd,
    n_head,
    n_head_kv,
    head_dim,
    n_ff,
    n_vocab,
    n_ctx,
    tied=False,
    attn_bias=False,
    qk_norm=False,
    sources=(),
    verified="verified",
    notes=None,
    aliases=(),
    extra=None,
    **kw,
):
    rec = {
        "id": mid,
        "name": name,
        "family": family,
        "arch": arch,
        "hf_repo": hf_repo,
        "aliases": list(aliases),
        "n_layer": n_layer,
        "n_embd": n_embd,
        "n_head": n_head,
        "n_head_kv": n_head_kv,
        "n_embd_head_k": head_dim,
        "n_embd_head_v": head_dim,
        "n_ff": n_ff,
        "n_vocab": n_vocab,
        "n_ctx_train": n_ctx,
        "tied_embeddings": tied,
        "attn_bias": attn_bias,
        "qk_norm": qk_norm,
        "sliding_window": None,
        "swa_layers": None,
        "moe": None,
        "mla": None,
        "ssm": None,
        "recurrent_layers": None,
        "total_params": None,
        "active_params": None,
        "sources": list(sources) + ["llamacpp_arch"],
        "verified": verified,
        "notes": notes,
        "extra": dict(extra or {}),
    }
    rec.update(kw)
    return rec


def copy_of(base: dict, **changes) -> dict:
    rec = json.loads(json.dumps(base))
    extra = changes.pop("extra", None)
    rec.update(changes)
    for k in ("reference_total_params", "reference_active_params", "params_from_safetensors_llmfit"):
        rec["extra"].pop(k, None)
    if extra:
        rec["extra"].update(extra)
    return rec


def additions(by_id: dict[str, dict]) -> list[dict]:
    out = []
    # --- Llama 1 / 2 / 3 (ground-truth rows) ----------------------------------------------
    for size, (nl, e, h, kv, ff) in {
        "7b": (32, 4096, 32, 32, 11008),
        "13b": (40, 5120, 40, 40, 13824),
        "70b": (80, 8192, 64, 8, 28672),
    }.items():
        out.append(
            dense(
                f"llama-2-{size}",
                f"Llama 2 {size.upper()}",
                "llama",
                "llama",
                f"meta-llama/Llama-2-{size}-chat-hf",
                nl,
                e,
                h,
                kv,
                128,
                ff,
                32000,
                4096,
                sources=["litgpt_llama", "gt_params"],
                aliases=[f"Llama-2-{size}-hf", f"llama2:{size}", f"Llama-2-{size}-chat"],
            )
        )
    for size, (nl, e, h, ff) in {
        "7b": (32, 4096, 32, 11008),
        "13b": (40, 5120, 40, 13824),
        "30b": (60, 6656, 52, 17920),
        "65b": (80, 8192, 64, 22016),
    }.items():
        out.append(
            dense(
                f"llama-1-{size}",
                f"LLaMA 1 {size.upper()}",
                "llama",
                "llama",
                f"huggyllama/llama-{size}",
                nl,
                e,
                h,
                h,
                128,
                ff,
                32000,
                2048,
                sources=["fs_llama1", "fs_llama1_30b", "gt_params"],
                verified="verified",
                aliases=[f"LLaMA-1-{size}", f"llama1-{size}"]
                + (["LLaMA-33B", "LLaMA-1-33B"] if size == "30b" else []),
                extra={"index_repo_basename": False},
                notes="original LLaMA (2023); params match llama-bench 6.74/13.02/32.53/65.29 B. "
                "Not resolved from the bare 'llama 7B' (llama.cpp's generic size label)",
            )
        )
    l31_8, l31_70 = by_id["llama-3.1-8b"], by_id["llama-3.1-70b"]
    out.append(
        copy_of(
            l31_8,
            id="llama-3-8b",
            name="Llama 3 8B",
            hf_repo="meta-llama/Meta-Llama-3-8B-Instruct",
            n_ctx_train=8192,
            aliases=["Meta-Llama-3-8B", "llama3:8b"],
            sources=["tt", "gt_params", "llamacpp_arch"],
            verified="verified-by-family (= Llama 3.1 8B except context 8192 and no llama3 rope scaling)",
            extra={"rope_scaling": None, "official_params": "8.03B"},
        )
    )
    out.append(
        copy_of(
            l31_70,
            id="llama-3-70b",
            name="Llama 3 70B",
            hf_repo="meta-llama/Meta-Llama-3-70B-Instruct",
            n_ctx_train=8192,
            aliases=["Meta-Llama-3-70B", "llama3:70b"],
            sources=["tt", "gt_params", "llamacpp_arch"],
            verified="verified-by-family (= Llama 3.1 70B except context 8192)",
            extra={"rope_scaling": None},
        )
    )
    # --- Llama 4 Scout ------------------------------------------------------------------------
    out.append(
        dense(
            "llama-4-scout",
            "Llama 4 Scout 17B-16E",
            "llama4",
            "llama4",
            "meta-llama/Llama-4-Scout-17B-16E-Instruct",
            48,
            5120,
            40,
            8,
            128,
            0,
            202048,
            10485760,
            sources=["llama4_scout_cfg", "gt_params", "llamacpp_swa"],
            aliases=["Llama-4-Scout-17B-16E", "llama4:scout", "Llama 4 Scout"],
            verified="verified (text dims; total matches llama-bench 107.77 B)",
            moe={
                "n_expert": 16,
                "n_expert_used": 1,
                "expert_ff": 8192,
                "n_expert_shared": 1,
                "shared_ff": 8192,
                "n_dense_lead": 0,
            },
            sliding_window=8192,
            swa_layers={"period": 4, "dense_first": False},
            notes="chunked attention (8192-token chunks) on 3 of every 4 layers, the 4th is global NoPE; "
            "llama.cpp: LLAMA_SWA_TYPE_CHUNKED, load_swa_pattern(ml, 4); text-only count "
            "(HF checkpoint adds a vision tower: 109B)",
            extra={
                "swa_type": "chunked",
                "official_params": "109B total (with vision) / 17B active",
                "rope_theta": 500000.0,
                "interleave_moe_layer_step": 1,
            },
        )
    )
    # --- Qwen ---------------------------------------------------------------------------------
    q235 = by_id["qwen3-235b-a22b"]
    out.append(
        copy_of(
            q235,
            id="qwen3-235b-a22b-instruct-2507",
            name="Qwen3 235B-A22B Instruct 2507",
            hf_repo="Qwen/Qwen3-235B-A22B-Instruct-2507",
            n_ctx_train=262144,
            aliases=["Qwen3-235B-A22B-2507"],
            sources=["titan_qwen3", "gt_params", "llamacpp_arch"],
            verified="verified-by-family (= Qwen3-235B-A22B; 2507 raises context to 262144)",
        )
    )
    for size in ("7b", "14b", "32b"):
        base = by_id[f"qwen2.5-{size}"]
        out.append(
            copy_of(
                base,
                id=f"qwen2.5-coder-{size}",
                name=f"Qwen2.5-Coder {size.upper()}",
                hf_repo=f"Qwen/Qwen2.5-Coder-{size.upper()}-Instruct",
                aliases=[f"qwen2.5-coder:{size}"],
                sources=list(base["sources"]) + (["gt_params"] if size == "7b" else []),
                verified="verified-by-family (Qwen2.5-Coder 7B/14B/32B share the Qwen2.5 "
                "base architecture; 7B count = llama-bench 7.62 B)",
            )
        )
    # --- Mistral Small 3.1 / 3.2 ---------------------------------------------------------------
    ms = by_id["mistral-small-24b-2501"]
    for mid, name, repo, al in (
        (
            "mistral-small-3.1-24b",
            "Mistral Small 3.1 24B (2503)",
            "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
            ["Mistral-Small-3.1-24B-Instruct-2503", "mistral-small3.1"],
        ),
        (
            "mistral-small-3.2-24b",
            "Mistral Small 3.2 24B (2506)",
            "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
            ["Mistral-Small-3.2-24B-Instruct-2506", "mistral-small3.2"],
        ),
    ):
        out.append(
            copy_of(
                ms,
                id=mid,
                name=name,
                hf_repo=repo,
                arch="mistral3",
                n_ctx_train=131072,
                aliases=al,
                sources=["fs_mistral_small", "gt_params", "llamacpp_convert"],
                verified="verified (text architecture identical to 2501; context 128K)",
                notes="Mistral3ForConditionalGeneration: current convert_hf_to_gguf writes arch "
                "'mistral3' (same tensors as llama); GGUFs made before that say 'llama'. "
                "Text-only count (the vision encoder ships as a separate mmproj)",
                extra={"gguf_arch_aliases": ["llama"]},
            )
        )
    # --- DeepSeek-family / GLM / dots / Hunyuan --------------------------------------------------
    out.append(
        dense(
            "glm-4.7-flash",
            "GLM-4.7-Flash 30B-A3B",
            "glm",
            "deepseek2",
            "zai-org/GLM-4.7-Flash",
            47,
            2048,
            20,
            1,
            576,
            10240,
            154880,
            202752,
            sources=["fs_glm47_flash", "llamacpp_convert"],
            aliases=["GLM-4.7-Flash", "glm4.7-flash"],
            verified="verified (config fields quoted twice)",
            n_embd_head_v=512,
            moe={
                "n_expert": 64,
                "n_expert_used": 4,
                "expert_ff": 1536,
                "n_expert_shared": 1,
                "shared_ff": 1536,
                "n_dense_lead": 1,
            },
            mla={
                "q_lora_rank": 768,
                "kv_lora_rank": 512,
                "qk_nope_head_dim": 192,
                "qk_rope_head_dim": 64,
                "v_head_dim": 256,
            },
            notes="Glm4MoeLiteForCausalLM: DeepSeek-V3 style MLA + MoE, converted to llama.cpp "
            "'deepseek2' (MQA over the 576-wide latent); GGUF may carry 1 MTP layer",
            extra={
                "hf_architecture": "Glm4MoeLiteForCausalLM",
                "hf_num_key_value_heads": 20,
                "n_nextn_layers": 1,
                "rope_theta": 1000000.0,
            },
        )
    )
    out.append(
        dense(
            "dots-llm1",
            "dots.llm1 142B-A14B",
            "dots",
            "dots1",
            "rednote-hilab/dots.llm1.inst",
            62,
            4096,
            32,
            32,
            128,
            10944,
            152064,
            32768,
            qk_norm=True,
            sources=["fs_dots1", "gt_params"],
            aliases=["dots.llm1.inst", "dots1"],
            verified="verified (config quoted; total = llama-bench 142.77 B)",
            moe={
                "n_expert": 128,
                "n_expert_used": 6,
                "expert_ff": 1408,
                "n_expert_shared": 2,
                "shared_ff": None,
                "n_dense_lead": 1,
            },
            extra={"hf_architecture": "Dots1ForCausalLM", "rope_theta": 10000000.0},
        )
    )
    out.append(
        dense(
            "hunyuan-a13b",
            "Hunyuan-A13B 80B-A13B",
            "hunyuan",
            "hunyuan-moe",
            "tencent/Hunyuan-A13B-Instruct",
            32,
            4096,
            32,
            8,
            128,
            0,
            128167,
            262144,
            tied=True,
            qk_norm=True,
            sources=["fs_hunyuan_a13b", "gt_params"],
            aliases=["Hunyuan-A13B-Instruct", "hunyuan-moe-a13b"],
            verified="partly: dims quoted (fs_hunyuan_a13b); tied embeddings inferred from the "
            "llama-bench total 80.39 B (untied would be 80.92 B); context 262144 from the "
            "model card, not a quoted config",
            moe={
                "n_expert": 64,
                "n_expert_used": 8,
                "expert_ff": 3072,
                "n_expert_shared": 1,
                "shared_ff": 3072,
                "n_dense_lead": 0,
            },
            extra={"hf_architecture": "HunYuanMoEV1ForCausalLM"},
        )
    )
    # --- Recurrent / hybrid ----------------------------------------------------------------------
    out.append(
        dense(
            "mamba2-2.7b",
            "Mamba-2 2.7B",
            "mamba",
            "mamba2",
            "state-spaces/mamba2-2.7b",
            64,
            2560,
            0,
            0,
            0,
            0,
            50288,
            1048576,
            tied=True,
            sources=["fs_mamba2_27b", "llamacpp_convert"],
            aliases=["mamba2-2.7b", "Mamba2 2.7B"],
            verified="verified (config quoted twice)",
            ssm={"d_conv": 4, "d_inner": 5120, "d_state": 128, "n_group": 1, "n_head": 80},
            notes="pure Mamba-2 SSM: no KV cache, fixed-size recurrent state; vocab 50277 padded to "
            "50288 (convert pads to a multiple of 16); GGUF context_length is 2^20 (arbitrary)",
            extra={
                "hf_architecture": "Mamba2ForCausalLM (state-spaces mamba_ssm)",
                "hf_vocab_size": 50277,
                "trained_context": 2048,
            },
        )
    )
    out.append(
        dense(
            "mamba-codestral-7b",
            "Mamba-Codestral 7B",
            "mamba",
            "mamba2",
            "mistralai/Mamba-Codestral-7B-v0.1",
            64,
            4096,
            0,
            0,
            0,
            0,
            32768,
            1048576,
            sources=["llamacpp_convert"],
            aliases=["Mamba-Codestral-7B-v0.1", "codestral-mamba"],
            verified="partly: 64 layers x 4096 from llama.cpp (mamba2.cpp type table 64/4096 = 7B; "
            "convert_hf_to_gguf notes transformers' Mamba2Config defaults are this model); "
            "n_groups 8, 128 heads x 64, vocab 32768, untied from memory of the HF config",
            ssm={"d_conv": 4, "d_inner": 8192, "d_state": 128, "n_group": 8, "n_head": 128},
            notes="pure Mamba-2 SSM (Mistral AI, code); 256K-token context advertised; GGUF "
            "context_length is 2^20",
            extra={"hf_architecture": "Mamba2ForCausalLM", "official_params": "7.3B"},
        )
    )
    gran_attn = [5, 15, 25, 35]
    out.append(
        dense(
            "granite-4.0-h-tiny",
            "Granite 4.0 H Tiny 7B-A1B",
            "granite",
            "granitehybrid",
            "ibm-granite/granite-4.0-h-tiny",
            40,
            1536,
            12,
            [4 if i in gran_attn else 0 for i in range(40)],
            128,
            0,
            100352,
            131072,
            tied=True,
            sources=["fs_granite_h_tiny", "llamacpp_recr"],
            aliases=["granite4:tiny-h", "granite-4.0-h-tiny"],
            verified="verified (config quoted)",
            moe={
                "n_expert": 64,
                "n_expert_used": 6,
                "expert_ff": 512,
                "n_expert_shared": 1,
                "shared_ff": 1024,
                "n_dense_lead": 0,
            },
            ssm={"d_conv": 4, "d_inner": 3072, "d_state": 128, "n_group": 1, "n_head": 48},
            recurrent_layers={"attn_layers": gran_attn},
            notes="hybrid: 36 Mamba-2 + 4 attention layers (5, 15, 25, 35), NoPE; MoE (64 x 512, top-6) "
            "+ shared expert 1024 on every layer; GGUF writes context_length 2^20 (no RoPE)",
            extra={"hf_architecture": "GraniteMoeHybridForCausalLM", "gguf_n_ctx_train": 1048576},
        )
    )
    out.append(
        dense(
            "granite-4.0-h-small",
            "Granite 4.0 H Small 32B-A9B",
            "granite",
            "granitehybrid",
            "ibm-granite/granite-4.0-h-small",
            40,
            4096,
            32,
            [8 if i in gran_attn else 0 for i in range(40)],
            128,
            0,
            100352,
            131072,
            tied=True,
            sources=["fs_granite_h_small", "llamacpp_recr"],
            aliases=["granite4:small-h", "granite-4.0-h-small"],
            verified="partly: dims, experts and 36/4 layer split quoted; attention layer positions "
            "(5, 15, 25, 35) and Mamba heads (128 x 64, 1 group) assumed as in h-tiny",
            moe={
                "n_expert": 72,
                "n_expert_used": 10,
                "expert_ff": 768,
                "n_expert_shared": 1,
                "shared_ff": 1536,
                "n_dense_lead": 0,
            },
            ssm={"d_conv": 4, "d_inner": 8192, "d_state": 128, "n_group": 1, "n_head": 128},
            recurrent_layers={"attn_layers": gran_attn},
            notes="hybrid: 36 Mamba-2 + 4 attention layers, MoE on every layer; 32.19B / 8.78B "
            "reported by an independent count (fs_granite_h_small)",
            extra={
                "hf_architecture": "GraniteMoeHybridForCausalLM",
                "gguf_n_ctx_train": 1048576,
                "official_params": "32B total / 9B active",
            },
        )
    )
    out.append(
        dense(
            "granite-4.0-h-1b",
            "Granite 4.0 H 1B",
            "granite",
            "granitehybrid",
            "ibm-granite/granite-4.0-h-1b",
            40,
            1536,
            12,
            [4 if i in gran_attn else 0 for i in range(40)],
            128,
            4096,
            100352,
            131072,
            tied=True,
            sources=["fs_granite_h_tiny", "llamacpp_recr"],
            aliases=["granite4:1b-h"],
            verified="verified (config quoted)",
            ssm={"d_conv": 4, "d_inner": 3072, "d_state": 128, "n_group": 1, "n_head": 48},
            recurrent_layers={"attn_layers": gran_attn},
            notes="dense hybrid: 36 Mamba-2 + 4 attention layers, dense FFN 4096 on every layer",
            extra={"hf_architecture": "GraniteMoeHybridForCausalLM", "gguf_n_ctx_train": 1048576},
        )
    )
    out.append(
        dense(
            "qwen3-next-80b-a3b",
            "Qwen3-Next 80B-A3B",
            "qwen3-next",
            "qwen3next",
            "Qwen/Qwen3-Next-80B-A3B-Instruct",
            48,
            2048,
            16,
            [2 if (i + 1) % 4 == 0 else 0 for i in range(48)],
            256,
            0,
            151936,
            262144,
            qk_norm=True,
            sources=["fs_qwen3_next", "llamacpp_recr", "llamacpp_convert"],
            aliases=["Qwen3-Next-80B-A3B-Thinking", "qwen3-next"],
            verified="verified (config quoted; total equals Qwen3-Coder-Next's published 79.67B)",
            moe={
                "n_expert": 512,
                "n_expert_used": 10,
                "expert_ff": 512,
                "n_expert_shared": 1,
                "shared_ff": 512,
                "n_dense_lead": 0,
            },
            ssm={"d_conv": 4, "d_inner": 4096, "d_state": 128, "n_group": 16, "n_head": 32},
            recurrent_layers={"full_attn_interval": 4},
            notes="hybrid: gated DeltaNet linear attention on 36 layers, gated full attention "
            "(16 q / 2 kv heads x 256) on every 4th layer (3, 7, …, 47); ssm fields in llama.cpp "
            "terms: d_state = linear key head dim, n_group = linear key heads, n_head = linear "
            "value heads, d_inner = value heads x value dim; GGUF may carry 1 MTP layer",
            extra={
                "hf_architecture": "Qwen3NextForCausalLM",
                "n_nextn_layers": 1,
                "rope_theta": 10000000.0,
                "partial_rotary_factor": 0.25,
                "published_total_params": 79674391296,
                "published_active_params": 3874929408,
            },
        )
    )
    # --- Cohere Command R7B (cohere2: parallel block, 3 SWA layers then 1 global) ----------------
    r7b = dense(
        "command-r7b",
        "Command R7B (12-2024)",
        "cohere2",
        "cohere2",
        "CohereLabs/c4ai-command-r7b-12-2024",
        32,
        4096,
        32,
        8,
        128,
        14336,
        256000,
        132096,
        tied=True,
        sources=["cohere_r7b_config"],
        aliases=["c4ai-command-r7b-12-2024", "command-r7b-12-2024", "command-r7b:7b"],
        sliding_window=4096,
        swa_layers={"period": 4, "dense_first": False},
        notes="Parallel attention+FFN block with LayerNorm; output head re-uses token_embd (llama.cpp cohere2).",
        extra={"rope_theta": 50000.0, "logit_scale": 0.25, "hf_architecture": "Cohere2ForCausalLM"},
    )
    r7b["sources"].append("llamacpp_swa")
    out.append(r7b)
    return out


def main(ref_path: str) -> None:
    ref = json.loads(Path(ref_path).read_text())
    sources = dict(ref["sources"])
    sources.update(EXTRA_SOURCES)
    recs = [convert(m) for m in ref["models"]]
    by_id = {r["id"]: r for r in recs}
    recs += additions(by_id)
    from_configs, missing = records_from_folder({r["id"]: r for r in recs}, sources)
    if missing:
        raise SystemExit(f"INDEX.csv rows without a saved config or reference record: {missing}")
    recs += from_configs
    # order: by family, then size
    fam_order = [
        "llama",
        "llama4",
        "qwen2.5",
        "qwen3",
        "qwen3-next",
        "gemma2",
        "gemma3",
        "mistral",
        "mixtral",
        "phi",
        "deepseek-coder",
        "deepseek",
        "deepseek-r1-distill",
        "gpt-oss",
        "glm",
        "dots",
        "hunyuan",
        "granite",
        "mamba",
        "cohere2",
    ]
    problems = []
    checks = published_counts()
    sources["llmfit_params"] = LLMFIT_PARAMS
    for r in recs:
        a = _record_to_arch(r)
        t, act = count_params(a)
        r["total_params"], r["active_params"] = t, act
        if r["id"] in checks:
            repo, pub = checks[r["id"]]
            if abs(t - pub) <= 1e-4 * pub:
                r["verified"] = (
                    f"verified: computed total {t:,} matches {repo}'s published safetensors count {pub:,}"
                    + ("" if t == pub else f" within {abs(t - pub) / pub:.4%}")
                )
                r["sources"].append("llmfit_params")
            else:
                problems.append(f"{r['id']}: total {t} != published {pub} ({repo})")
        rt = r["extra"].get("reference_total_params")
        if rt is not None and rt != t:
            problems.append(f"{r['id']}: total {t} != reference {rt}")
        ra = r["extra"].get("reference_active_params")
        if ra is not None and ra != act:
            problems.append(f"{r['id']}: active {act} != reference {ra}")
    fam_order += sorted({r["family"] for r in recs} - set(fam_order))
    recs.sort(key=lambda r: (fam_order.index(r["family"]), r["total_params"]))
    data = {
        "schema_version": 1,
        "generated": "tools/build_model_catalog.py from data/reference/models.json (2026-11) + additions "
        "+ data/model-configs (saved config.json files)",
        "notes": [
            "Field names are llama.cpp hparams; see rigfit.catalog.models for the schema.",
            "total_params/active_params are computed by rigfit.catalog.models.count_params (embeddings and "
            "output head included; active = non-expert + top-k routed + shared experts).",
            "swa_layers {'period': P, 'dense_first': false} follows llama.cpp set_swa_pattern: layer il is "
            "SWA iff il % P < P - 1.",
            "MLA models are stored as llama.cpp sees them: n_head_kv 1, n_embd_head_k 576, n_embd_head_v 512 "
            "(the compressed latent); the mla block keeps the HF dims.",
        ],
        "sources": sources,
        "models": recs,
    }
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} with {len(recs)} models")
    for p in problems:
        print("MISMATCH", p)


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        raise SystemExit(__doc__)
    if len(sys.argv) == 2 and not Path(sys.argv[1]).is_file():
        raise SystemExit(f"no reference file at {sys.argv[1]}; usage:\n{__doc__}")
    main(sys.argv[1] if len(sys.argv) > 1 else str(REFERENCE))
