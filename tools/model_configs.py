"""Catalog records from saved Hugging Face ``config.json`` files (``data/model-configs/``).

Each saved config is the subset of a model's own ``config.json`` that rigfit reads, with the public
URL it came from in ``_source`` (and, where the values were read from a repository that vendors
the config verbatim, that file in ``_via``; a config without ``_via`` holds values recalled from
the published file, and its record says so in ``verified``; ``_checked`` names the fields of such a
config that were checked against a public repository file, and that file). ``data/model-configs/INDEX.csv``
names every catalog model (``repo, id, name, family, released, released_source, capabilities,
aliases``): rows whose config is saved are built from it; the others are models the reference
snapshot already holds, and get their
release date, capabilities and extra names from the row.

Offline (the default): rebuild from the saved configs. Online (maintainers only, never in tests):

    python tools/model_configs.py fetch Qwen/Qwen3-8B mistralai/Devstral-Small-2507

downloads each repo's ``config.json`` with ``huggingface_hub`` (HF_TOKEN / HF_ENDPOINT honoured),
keeps the fields rigfit reads and writes ``data/model-configs/<org>__<repo>.json``; add an INDEX row
(its ``released`` defaults to the repo's creation date on the Hub) and re-run
``tools/build_model_catalog.py``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigfit.archs.registry import hf_family  # noqa: E402
from rigfit.catalog.models import arch_to_json  # noqa: E402
from rigfit.formats.hf import architecture_from_config  # noqa: E402

CONFIG_DIR = ROOT / "data" / "model-configs"
INDEX = CONFIG_DIR / "INDEX.csv"

#: config.json keys kept when a config is fetched (everything the HF reader and the families read).
KEEP_KEYS = [
    "architectures",
    "model_type",
    "num_hidden_layers",
    "n_layer",
    "num_layers",
    "hidden_size",
    "d_model",
    "n_embd",
    "num_attention_heads",
    "n_head",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "ffn_dim",
    "intermediate_size_mlp",
    "vocab_size",
    "max_position_embeddings",
    "max_seq_len",
    "tie_word_embeddings",
    "attention_bias",
    "use_qk_norm",
    "sliding_window",
    "layer_types",
    "sliding_window_pattern",
    "rope_theta",
    "partial_rotary_factor",
    "query_pre_attn_scalar",
    "num_local_experts",
    "num_experts",
    "n_routed_experts",
    "moe_num_experts",
    "num_experts_per_tok",
    "moe_topk",
    "top_k",
    "moe_intermediate_size",
    "expert_intermediate_size",
    "n_shared_experts",
    "num_shared_experts",
    "shared_expert_intermediate_size",
    "shared_intermediate_size",
    "first_k_dense_replace",
    "interleave_moe_layer_step",
    "q_lora_rank",
    "kv_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "num_nextn_predict_layers",
    "linear_num_key_heads",
    "linear_num_value_heads",
    "linear_key_head_dim",
    "linear_value_head_dim",
    "linear_conv_kernel_dim",
    "full_attention_interval",
    "mamba_d_state",
    "mamba_d_conv",
    "mamba_n_heads",
    "mamba_d_head",
    "mamba_n_groups",
    "mamba_expand",
    "mamba_num_heads",
    "mamba_head_dim",
    "ssm_state_size",
    "n_groups",
    "conv_kernel",
    "expand",
    "hybrid_override_pattern",
    "layers_block_type",
    "mamba_num_heads",
    "mamba_head_dim",
    "moe_shared_expert_intermediate_size",
    "full_attn_idxs",
    "conv_L_cache",
    "block_ff_dim",
    "block_auto_adjust_ff_dim",
    "block_ffn_dim_multiplier",
    "block_multiple_of",
    "num_dense_layers",
    "attention_chunk_size",
    "no_rope_layers",
    "index_n_heads",
    "index_head_dim",
    "index_topk",
    # Gemma 4 (convert_hf_to_gguf.py Gemma4Model)
    "global_head_dim",
    "num_global_key_value_heads",
    "attention_k_eq_v",
    "num_kv_shared_layers",
    "hidden_size_per_layer_input",
    "use_double_wide_mlp",
    "enable_moe_block",
    "top_k_experts",
    "final_logit_softcapping",
    "text_config",
]

CAPABILITIES = ("vision", "tools", "reasoning")

#: Published parameter counts (the Hub's safetensors totals, as collected by llmfit) that check a
#: recalled config: ``PARAM_CHECKS.csv`` rows ``id, repo, published_params``.
PARAM_CHECKS = CONFIG_DIR / "PARAM_CHECKS.csv"
LLMFIT_PARAMS = (
    "https://github.com/AlexsJones/llmfit/blob/026ac571bab477fcc50ba9c7a4aabbeff56828d2/llmfit-core/data/"
    "hf_models.json (parameters_raw: the Hugging Face safetensors parameter total of each repo)"
)


def published_counts(path: Path = PARAM_CHECKS) -> dict[str, tuple[str, int]]:
    """catalog id → (HF repo, published parameter count)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["id"]: (r["repo"], int(r["published_params"])) for r in csv.DictReader(fh)}


def read_index(path: Path = INDEX) -> list[dict[str, str]]:
    """Rows of INDEX.csv (one per catalog model)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def config_path(repo: str, folder: Path = CONFIG_DIR) -> Path:
    """Where the saved config of ``org/repo`` lives."""
    return folder / (repo.replace("/", "__") + ".json")


#: HF model types rigfit.archs does not map yet, read with the converter of the architecture whose
#: language model they share, then given llama.cpp's own arch name: Qwen3.5 / 3.6 are the Qwen3-Next
#: LM (gated attention + gated delta net + MoE with a gated shared expert) in a vision wrapper
#: (https://github.com/THUDM/slime/blob/main/scripts/models/qwen36-35B-A3B.sh and qwen3.5-35B-A3B.sh;
#: llama.cpp names them qwen35 / qwen35moe, src/llama-arch.cpp). Once rigfit.archs maps the type
#: itself, its own converter is used instead.
STAND_INS: dict[str, tuple[str, str]] = {
    "qwen3_5_moe": ("qwen3_next", "qwen35moe"),
    "qwen3_5": ("qwen3_next", "qwen35"),
}


def _meta(row: dict[str, str]) -> dict[str, Any]:
    caps = [c for c in row["capabilities"].split() if c]
    bad = [c for c in caps if c not in CAPABILITIES]
    if bad:
        raise ValueError(f"{row['id']}: unknown capabilities {bad}")
    return {
        "released": row["released"] or None,
        "released_source": row["released_source"] or None,
        "capabilities": caps,
    }


def _verified(cfg: dict[str, Any]) -> str:
    """How far a saved config was checked: all of it (``_via``), some fields (``_checked``), none."""
    if str(cfg.get("_via", "")).startswith("https://huggingface.co/"):
        return "verified (config.json, read at the cited Hugging Face URL)"
    if cfg.get("_via"):
        return "verified (config.json, as vendored at the cited repository file)"
    recalled = (
        "config.json values recalled by the maintainer (no network when saved), "
        "not copied from a fetched file; re-fetch with `tools/model_configs.py fetch`"
    )
    if cfg.get("_checked"):
        return f"partly: {cfg['_checked']}; the other {recalled}"
    return f"partly: {recalled}"


def record_from_config(row: dict[str, str], cfg: dict[str, Any]) -> dict[str, Any]:
    """One models.json record from a saved config and its INDEX row."""
    source = cfg["_source"]
    clean = {k: v for k, v in cfg.items() if not k.startswith("_")}
    mt = str((clean.get("text_config") or {}).get("model_type") or clean.get("model_type") or "")
    outer = str(clean.get("model_type") or "")
    stand_in = None
    if hf_family(mt, outer) is None:
        stand_in = STAND_INS.get(outer)
        if stand_in is None:
            raise ValueError(f"{row['id']}: model_type {mt!r} is not mapped by rigfit.archs")
        clean = {**(clean.get("text_config") or clean), "model_type": stand_in[0]}
    arch = architecture_from_config(clean, row["id"], path=source)
    rec = arch_to_json(arch)
    if stand_in is not None:
        rec["arch"] = stand_in[1]
        rec["extra"] = {**(rec["extra"] or {}), "read_as_hf_model_type": stand_in[0], "hf_model_type": outer}
    aliases = [a for a in row["aliases"].split(";") if a]
    for per_layer in ("n_head_kv", "n_ff"):
        v = rec[per_layer]
        if isinstance(v, list) and len(set(v)) == 1:
            rec[per_layer] = v[0]
    # header bookkeeping of the in-memory GGUF the HF reader builds (no file exists): not model facts
    extra = {k: v for k, v in (rec["extra"] or {}).items() if k not in ("gguf_version", "alignment")}
    extra = json.loads(json.dumps(extra))  # per-layer tuples as the JSON lists models.json holds
    extra.update(_meta(row))
    extra["config_source"] = source
    if cfg.get("_via"):
        extra["config_via"] = cfg["_via"]
    if cfg.get("_checked"):
        extra["config_checked"] = cfg["_checked"]
    repo = row["repo"]
    rec.update(
        id=row["id"],
        name=row["name"],
        family=row["family"],
        hf_repo=row["repo"],
        aliases=aliases,
        sources=[f"config:{repo}", *([f"via:{repo}"] if cfg.get("_via") else []), "llamacpp_arch"],
        verified=_verified(cfg),
        notes=None,
        extra=extra,
        total_params=None,
        active_params=None,
    )
    rec.pop("attention_kind", None)
    moe = rec.get("moe")
    if moe and moe.get("shared_ff") == moe["n_expert_shared"] * moe["expert_ff"]:
        moe.pop("shared_ff")  # the default width; a different one (Nemotron-H: 3712 vs 1856) stays
    return rec


def records_from_folder(
    legacy: dict[str, dict[str, Any]], sources: dict[str, str], folder: Path = CONFIG_DIR
) -> tuple[list[dict[str, Any]], list[str]]:
    """(records built from the saved configs, INDEX ids neither saved nor in ``legacy``).

    ``sources`` (citation key → text) gains ``config:<repo>`` (the config.json URL) and
    ``via:<repo>`` (the repository file that vendors it) for every saved config.

    ``legacy`` (id → record, the reference-built catalog) gains the INDEX row's release date,
    capabilities and aliases in place."""
    out: list[dict[str, Any]] = []
    missing: list[str] = []
    for row in read_index(folder / "INDEX.csv"):
        path = config_path(row["repo"], folder)
        if path.is_file():
            if row["id"] in legacy:
                raise ValueError(f"{row['id']}: both a saved config and a reference record")
            cfg = json.loads(path.read_text(encoding="utf-8"))
            out.append(record_from_config(row, cfg))
            sources[f"config:{row['repo']}"] = cfg["_source"]
            if cfg.get("_via"):
                sources[f"via:{row['repo']}"] = cfg["_via"]
        elif row["id"] in legacy:
            rec = legacy[row["id"]]
            rec["extra"].update(_meta(row))
            extra_names = [a for a in row["aliases"].split(";") if a and a not in rec["aliases"]]
            rec["aliases"] = rec["aliases"] + extra_names
        else:
            missing.append(row["id"])
    return out, missing


def fetch(repos: list[str], folder: Path = CONFIG_DIR) -> None:  # pragma: no cover - network
    """Download each repo's config.json (huggingface_hub) and save the fields rigfit reads."""
    # lazy: huggingface_hub is only needed by maintainers refreshing configs
    from huggingface_hub import hf_hub_download, model_info

    for repo in repos:
        cfg = json.loads(Path(hf_hub_download(repo, "config.json")).read_text(encoding="utf-8"))
        keep = {"_source": f"https://huggingface.co/{repo}/blob/main/config.json"}
        keep.update({k: cfg[k] for k in KEEP_KEYS if k in cfg})
        if isinstance(keep.get("text_config"), dict):
            keep["text_config"] = {k: v for k, v in keep["text_config"].items() if k in KEEP_KEYS}
        config_path(repo, folder).write_text(json.dumps(keep, indent=1) + "\n", encoding="utf-8")
        created = getattr(model_info(repo), "created_at", None)
        print(f"{repo}: saved; created on the Hub {created:%Y-%m-%d}" if created else f"{repo}: saved")


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 2 and sys.argv[1] == "fetch":
        fetch(sys.argv[2:])
    else:
        print(__doc__)
