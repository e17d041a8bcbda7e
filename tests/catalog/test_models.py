"""Model catalog: data integrity, parameter counts, llama.cpp layer rules, name resolution, CLI."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from clirun import run_cli
from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import (
    JSON_FIELDS,
    arch_to_json,
    catalog_sources,
    count_params,
    filter_models,
    find_by_family_size,
    get_model,
    load_models,
    match_model,
    resolve_model,
    same_architecture,
    swa_pattern,
)
from rigfit.errors import AmbiguousNameError, RigfitError, UnknownNameError

MODELS = load_models()
IDS = [a.id for a in MODELS]


# --- catalog content --------------------------------------------------------------------------


def test_catalog_size_and_unique_ids():
    assert len(MODELS) >= 58
    assert len(set(IDS)) == len(IDS)
    for mid in IDS:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", mid), mid


@pytest.mark.parametrize(
    "mid",
    [
        # Llama 3.x 1B-405B
        "llama-3.2-1b",
        "llama-3.2-3b",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.3-70b",
        "llama-3.1-405b",
        # Qwen 2.5 / 3 incl. MoE and the hybrid
        "qwen2.5-7b",
        "qwen2.5-14b",
        "qwen2.5-32b",
        "qwen2.5-72b",
        "qwen2.5-coder-7b",
        "qwen3-8b",
        "qwen3-32b",
        "qwen3-30b-a3b",
        "qwen3-235b-a22b",
        "qwen3-next-80b-a3b",
        # Gemma 2/3
        "gemma-2-9b",
        "gemma-2-27b",
        "gemma-3-270m",
        "gemma-3-4b",
        "gemma-3-27b",
        # Mistral / Nemo / Small, Mixtral
        "mistral-7b-v0.3",
        "mistral-nemo-12b",
        "mistral-small-24b-2501",
        "mistral-small-3.2-24b",
        "mixtral-8x7b",
        "mixtral-8x22b",
        # Phi-4, DeepSeek-Coder, DeepSeek V3/R1, gpt-oss
        "phi-4",
        "deepseek-coder-6.7b",
        "deepseek-v3",
        "deepseek-r1",
        "gpt-oss-20b",
        "gpt-oss-120b",
        # recurrent / hybrid
        "mamba2-2.7b",
        "mamba-codestral-7b",
        "granite-4.0-h-tiny",
        "granite-4.0-h-small",
        # ground-truth models
        "llama-2-7b",
        "llama-2-13b",
        "llama-2-70b",
        "llama-3-8b",
        "llama-3-70b",
        "llama-4-scout",
        "glm-4.5-air",
        "glm-4.7-flash",
    ],
)
def test_mission_families_present(mid):
    a = get_model(mid)
    assert a.n_layer > 0 and a.n_embd > 0 and a.n_vocab > 0 and a.n_ctx_train > 0


def test_mission_architectures_present():
    arches = {a.arch for a in MODELS}
    for arch in (
        "llama",
        "qwen2",
        "qwen3",
        "qwen3moe",
        "qwen3next",
        "gemma2",
        "gemma3",
        "phi3",
        "deepseek2",
        "gpt-oss",
        "glm4moe",
        "mamba2",
        "granitehybrid",
        "llama4",
    ):
        assert arch in arches
    assert any(a.mla for a in MODELS) and any(a.moe for a in MODELS) and any(a.ssm for a in MODELS)
    assert any(a.sliding_window for a in MODELS)


def test_every_record_has_sources_and_verification():
    srcs = catalog_sources()
    for a in MODELS:
        assert a.sources, a.id
        assert a.verified, a.id
        assert a.verified.split()[0].lower().rstrip(":") in (
            "verified",
            "verified-by-family",
            "partly",
            "unverified",
        ), a.verified
        for s in a.sources:
            assert s in srcs, f"{a.id}: unknown source key {s}"


def test_unverified_models_explain_why():
    for a in MODELS:
        if a.verified.lower().startswith(("unverified", "partly")):
            assert len(a.verified) > 20, a.id  # says what is not verified


# --- per-layer patterns (llama.cpp rules) -------------------------------------------------------


@pytest.mark.parametrize("a", MODELS, ids=IDS)
def test_per_layer_tuples_have_n_layer_entries(a: Architecture):
    for value in (a.n_head_kv, a.n_ff, a.swa_layers, a.recurrent_layers):
        if isinstance(value, tuple):
            assert len(value) == a.n_layer
    if a.swa_layers is not None:
        assert a.sliding_window and a.sliding_window > 0
    # accessors work for every layer
    for il in range(a.n_layer):
        a.head_kv(il), a.ff(il), a.is_swa(il), a.is_recurrent(il)


def test_set_swa_pattern_rule():
    # llama.cpp set_swa_pattern(n, dense_first=false): il % n < n - 1 is SWA
    assert swa_pattern(6, 2) == (True, False) * 3
    assert swa_pattern(12, 6) == (True,) * 5 + (False,) + (True,) * 5 + (False,)
    assert swa_pattern(4, 2, dense_first=True) == (False, True, False, True)


def test_gemma_and_gpt_oss_windows():
    g2 = get_model("gemma-2-9b")
    assert g2.sliding_window == 4096 and g2.is_swa(0) and not g2.is_swa(1)
    assert sum(g2.swa_layers) == 21
    for mid, window in (
        ("gemma-3-270m", 512),
        ("gemma-3-1b", 512),
        ("gemma-3-4b", 1024),
        ("gemma-3-27b", 1024),
    ):
        g3 = get_model(mid)
        assert g3.sliding_window == window
        assert [g3.is_swa(i) for i in range(6)] == [True] * 5 + [False]
    g27 = get_model("gemma-3-27b")
    assert sum(not x for x in g27.swa_layers) == 10  # layers 5, 11, …, 59
    oss = get_model("gpt-oss-120b")
    assert oss.sliding_window == 128 and oss.is_swa(0) and not oss.is_swa(1)
    assert sum(oss.swa_layers) == 18


def test_hybrid_layer_rules():
    qn = get_model("qwen3-next-80b-a3b")
    attn = [i for i in range(qn.n_layer) if not qn.is_recurrent(i)]
    assert attn == list(range(3, 48, 4))  # (i + 1) % 4 == 0
    for i in range(qn.n_layer):
        assert (qn.head_kv(i) > 0) == (i in attn)
    for mid in ("granite-4.0-h-tiny", "granite-4.0-h-small", "granite-4.0-h-1b"):
        g = get_model(mid)
        assert [i for i in range(40) if not g.is_recurrent(i)] == [5, 15, 25, 35]
        # llama.cpp granitehybrid: a layer is recurrent iff head_count_kv[il] == 0
        assert all((g.head_kv(i) == 0) == g.is_recurrent(i) for i in range(40))
    m = get_model("mamba2-2.7b")
    assert m.ssm is not None and all(m.is_recurrent(i) for i in range(m.n_layer))


def test_mla_as_llama_cpp_stores_it():
    ds = get_model("deepseek-v3")
    assert ds.arch == "deepseek2"
    assert ds.mla.q_lora_rank == 1536 and ds.mla.kv_lora_rank == 512
    assert (ds.mla.qk_rope_head_dim, ds.mla.qk_nope_head_dim, ds.mla.v_head_dim) == (64, 128, 128)
    assert ds.mla.cache_elems_per_token == 576
    assert (ds.n_head_kv, ds.n_embd_head_k, ds.n_embd_head_v) == (1, 576, 512)
    assert ds.moe.n_expert == 256 and ds.moe.n_expert_used == 8 and ds.moe.n_dense_lead == 3
    assert ds.moe.n_expert_shared == 1


# --- parameter counts -------------------------------------------------------------------------

# (total, active) from HF safetensors / vendor figures, as recorded in the research snapshot
KNOWN_COUNTS = {
    "llama-3.2-1b": (1_235_814_400, None),
    "llama-3.1-8b": (8_030_261_248, None),
    "llama-3.1-70b": (70_553_706_496, None),
    "llama-3.1-405b": (405_853_388_800, None),
    "qwen2.5-7b": (7_615_616_512, None),
    "qwen2.5-72b": (72_706_203_648, None),
    "qwen3-8b": (8_190_735_360, None),
    "qwen3-30b-a3b": (30_532_122_624, 3_353_032_704),
    "qwen3-235b-a22b": (235_093_634_560, 22_190_763_520),
    "gemma-2-9b": (9_241_705_984, None),
    "gemma-3-270m": (268_098_176, None),
    "gemma-3-1b": (999_885_952, None),
    "mistral-7b-v0.3": (7_248_023_552, None),
    "mixtral-8x7b": (46_702_792_704, 12_879_925_248),
    "mixtral-8x22b": (140_630_071_296, 39_161_468_928),
    "phi-4-mini": (3_836_021_760, None),
    "deepseek-coder-6.7b": (6_740_512_768, None),
    "deepseek-v3": (671_026_419_200, 37_552_297_472),
    "gpt-oss-20b": (20_914_757_184, 4_187_440_704),
    "gpt-oss-120b": (116_829_156_672, 5_711_982_912),
    "glm-4.5-air": (106_852_251_264, 13_424_129_664),
    "qwen3-next-80b-a3b": (79_674_391_296, 3_874_929_408),  # Qwen3-Coder-Next published counts
}


@pytest.mark.parametrize("mid", sorted(KNOWN_COUNTS))
def test_count_params_matches_known_counts(mid):
    total, active = count_params(get_model(mid))
    want_total, want_active = KNOWN_COUNTS[mid]
    assert total == want_total
    assert active == (want_active if want_active is not None else want_total)


# llama-bench "params" of real GGUF files (ground-truth speed_calibration.csv), in billions
GGUF_PARAMS_B = {
    "llama-1-7b": 6.74,
    "llama-1-13b": 13.02,
    "llama-1-30b": 32.53,
    "llama-1-65b": 65.29,
    "llama-2-7b": 6.74,
    "llama-2-13b": 13.02,
    "llama-2-70b": 68.98,
    "llama-3-8b": 8.03,
    "llama-3-70b": 70.55,
    "llama-4-scout": 107.77,
    "dots-llm1": 142.77,
    "hunyuan-a13b": 80.39,
    "qwen2.5-coder-7b": 7.62,
    "mistral-small-3.1-24b": 23.57,
    "qwen3-235b-a22b-instruct-2507": 235.09,
}


@pytest.mark.parametrize("mid", sorted(GGUF_PARAMS_B))
def test_count_params_matches_gguf_param_counts(mid):
    total, _ = count_params(get_model(mid))
    assert round(total / 1e9, 2) == GGUF_PARAMS_B[mid]


@pytest.mark.parametrize("a", MODELS, ids=IDS)
def test_stored_counts_are_computed_counts(a: Architecture):
    assert (a.total_params, a.active_params) == count_params(a)
    assert a.active_params <= a.total_params
    ref = a.extra.get("reference_total_params")
    if ref is not None:
        assert a.total_params == ref
        assert a.active_params == a.extra["reference_active_params"]


# --- name resolution ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,want",
    [
        ("llama-3.1-8b", "llama-3.1-8b"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("Llama 3.1 8B Instruct", "llama-3.1-8b"),
        ("Llama-3.1-8B-Instruct-Q4_K_M.gguf", "llama-3.1-8b"),
        ("llama3.1:8b", "llama-3.1-8b"),
        ("qwen2.5 14b", "qwen2.5-14b"),
        ("Qwen2.5-14B-Instruct", "qwen2.5-14b"),
        ("Qwen/Qwen3-30B-A3B", "qwen3-30b-a3b"),
        ("Qwen3-Coder-30B-A3B-Instruct-UD-Q4_K_XL.gguf", "qwen3-coder-30b-a3b"),
        ("gemma-3-27b-it", "gemma-3-27b"),
        ("google/gemma-3-4b-it", "gemma-3-4b"),
        ("gemma-3-270m-q4_k_m.gguf", "gemma-3-270m"),
        ("GPT-OSS-120B", "gpt-oss-120b"),
        ("gpt-oss-20b-mxfp4.gguf", "gpt-oss-20b"),
        ("DeepSeek R1", "deepseek-r1"),
        ("Mistral-Nemo-Instruct-2407", "mistral-nemo-12b"),
        ("Mixtral-8x7B-Instruct-v0.1.Q4_K_M.gguf", "mixtral-8x7b"),
        ("phi4", "phi-4"),
        ("DeepSeek-R1-Distill-Qwen-14B-Q4_K_M.gguf", "deepseek-r1-distill-qwen-14b"),
        ("Llama-4-Scout-17B-16E-Instruct-UD-Q4_K_XL-00001-of-00002.gguf", "llama-4-scout"),
        ("ibm-granite/granite-4.0-h-tiny", "granite-4.0-h-tiny"),
    ],
)
def test_resolve_model(name, want):
    assert resolve_model(name).id == want


def test_unknown_model_has_suggestions():
    with pytest.raises(UnknownNameError) as ei:
        resolve_model("llama 3.1 9b")
    assert "llama-3.1-8b" in ei.value.candidates
    assert isinstance(ei.value, RigfitError) and ei.value.exit_code == 2
    with pytest.raises(UnknownNameError):
        resolve_model("")


def test_resolution_keys_are_unambiguous_for_every_id_and_repo():
    for a in MODELS:
        assert resolve_model(a.id).id == a.id
        assert resolve_model(a.name).id == a.id
        if a.hf_repo:
            assert resolve_model(a.hf_repo).id == a.id


def test_ambiguous_error_type_exists():
    assert issubclass(AmbiguousNameError, RigfitError)


@pytest.mark.parametrize(
    "model,family,params_b,want",
    [
        ("Llama 2 7B-v2 (ggml-model-q4_0.gguf)", "llama", 6.74, "llama-2-7b"),
        ("LLaMA 1 30B (ggml-model-f16.gguf)", "llama", 32.53, "llama-1-30b"),
        ("llama 8B Q4_K - Medium (Llama 3)", "llama", 8.03, "llama-3-8b"),
        ("llama 8B Q4_K - Medium (shisa-v2-llama3.1-8b.i1-Q4_K_M.gguf)", "llama", 8.03, "llama-3.1-8b"),
        ("qwen3moe 30B.A3B Q8_0", "qwen3moe", 30.53, "qwen3-30b-a3b"),
        ("gpt-oss ?B F16 (gpt-oss-20b-F16.gguf)", "gpt-oss", 20.91, "gpt-oss-20b"),
        ("GLM-4.7-Flash Q8_0", "deepseek2", None, "glm-4.7-flash"),
        (
            "dots1 142B Q4_K - Medium (dots.llm1.inst-UD-Q4_K_XL-00001-of-00002.gguf)",
            "dots1",
            142.77,
            "dots-llm1",
        ),
        (
            "llama 13B Q4_K - Medium (Mistral-Small-3.1-24B-Instruct-2503-UD-Q4_K_XL.gguf)",
            "llama",
            23.57,
            "mistral-small-3.1-24b",
        ),
        (
            "hunyuan-moe A13B Q6_K (Hunyuan-A13B-Instruct-UD-Q6_K_XL-00001-of-00002.gguf)",
            "hunyuan",
            80.39,
            "hunyuan-a13b",
        ),
        ("gemma3 4B Q4_0", "gemma3", 3.88, "gemma-3-4b"),
    ],
)
def test_match_ground_truth_names(model, family, params_b, want):
    a = match_model(model, family, params_b)
    assert a is not None and a.id == want
    assert same_architecture(a, family)


def test_find_by_family_size():
    found = find_by_family_size("qwen2", 7.62)
    assert {a.id for a in found} >= {"qwen2.5-7b", "qwen2.5-coder-7b"}
    assert find_by_family_size("llama", 70.55, hint="Llama 3")[0].id == "llama-3-70b"
    assert find_by_family_size("gemma3", 99.0) == []


def test_filters():
    g3 = filter_models(family="gemma3")
    assert g3 and all(a.family == "gemma3" for a in g3)
    assert {a.id for a in filter_models(family="deepseek2")} >= {"deepseek-v3", "glm-4.7-flash"}
    assert [a.id for a in filter_models(search="gpt oss 120")] == ["gpt-oss-120b", "gpt-oss-safeguard-120b"]


# --- JSON and CLI ------------------------------------------------------------------------------


def test_data_file_schema():
    data = json.loads(resources.files("rigfit.catalog").joinpath("data/models.json").read_text())
    assert data["schema_version"] == 1
    required = {
        "id",
        "name",
        "family",
        "arch",
        "hf_repo",
        "aliases",
        "n_layer",
        "n_embd",
        "n_head",
        "n_head_kv",
        "n_embd_head_k",
        "n_embd_head_v",
        "n_ff",
        "n_vocab",
        "n_ctx_train",
        "tied_embeddings",
        "attn_bias",
        "qk_norm",
        "sliding_window",
        "swa_layers",
        "moe",
        "mla",
        "ssm",
        "recurrent_layers",
        "total_params",
        "active_params",
        "sources",
        "verified",
        "notes",
        "extra",
    }
    for rec in data["models"]:
        assert required <= set(rec), rec["id"]


def test_cli_models_json():
    out = run_cli("models", "--json")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == "rigfit.models/1"
    recs = doc["models"]
    assert isinstance(recs, list) and len(recs) == len(MODELS)
    for rec in recs:
        assert tuple(rec) == JSON_FIELDS
        for k in ("swa_layers", "recurrent_layers"):
            assert rec[k] is None or len(rec[k]) == rec["n_layer"]
    by_id = {r["id"]: r for r in recs}
    assert by_id["deepseek-v3"]["mla"]["kv_lora_rank"] == 512
    assert by_id["qwen3-30b-a3b"]["moe"]["n_expert"] == 128
    assert by_id["gemma-3-4b"]["attention_kind"].startswith("GQA+SWA 1024")
    assert by_id["llama-3.1-8b"] == arch_to_json(get_model("llama-3.1-8b"))


def test_cli_models_table_and_filters():
    out = run_cli("models", "--family", "gpt-oss")
    assert out.exit_code == 0, out.stderr
    assert "gpt-oss-20b" in out.stdout and "gpt-oss-120b" in out.stdout and "llama-3.1-8b" not in out.stdout
    out = run_cli("models", "--search", "qwen3 30b", "--json")
    assert out.exit_code == 0
    assert {r["id"] for r in json.loads(out.stdout)["models"]} == {
        "qwen3-30b-a3b",
        "qwen3-30b-a3b-instruct-2507",
        "qwen3-30b-a3b-thinking-2507",
        "qwen3-coder-30b-a3b",
    }
    out = run_cli("models", "Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    assert out.exit_code == 0 and "llama-3.1-8b" in out.stdout


def test_cli_unknown_model_exit_2_with_suggestion():
    out = run_cli("models", "llama 3.1 9b")
    assert out.exit_code == 2
    assert "Traceback" not in out.stderr
    assert "llama-3.1-8b" in out.stderr
    out = run_cli("models", "--family", "gemmma3")
    assert out.exit_code == 2 and "gemma3" in out.stderr
