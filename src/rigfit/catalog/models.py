"""The model catalog: open-weight LLM architectures as llama.cpp sees them, and name resolution.

Data lives in ``catalog/data/models.json`` (schema below); each record maps 1:1 onto
:class:`rigfit.catalog.arch.Architecture`.

JSON schema of one record (``schema_version`` 1; the ``--json`` output of ``rigfit models``,
``{"schema": "rigfit.models/1", "models": [...]}``, uses the same field names, with per-layer
patterns expanded to full lists):

=====================  ====================================================================
id                     catalog id, e.g. ``llama-3.1-8b`` (lowercase, ``-`` separated)
name                   display name, e.g. ``Llama 3.1 8B``
family                 product family (``llama``, ``qwen2.5``, ``qwen3``, ``gemma3``, ``gpt-oss`` …)
arch                   llama.cpp ``general.architecture`` (``llama``, ``qwen3moe``, ``deepseek2`` …)
hf_repo                Hugging Face repo id of the reference checkpoint
aliases                extra names the resolver accepts
n_layer … n_vocab      llama.cpp hparams: n_layer, n_embd, n_head, n_head_kv, n_embd_head_k,
                       n_embd_head_v, n_ff (int, or list of n_layer ints), n_vocab
n_ctx_train            training context as llama.cpp reads it (``<arch>.context_length``)
tied_embeddings        output projection shares the token embedding
attn_bias, qk_norm     Q/K/V projection biases; per-head RMSNorm on Q and K
sliding_window         SWA window [tokens] or null
swa_layers             null, a list of n_layer booleans, or ``{"period": P, "dense_first": B}``
                       expanded with llama.cpp's ``llama_hparams::set_swa_pattern`` rule
moe                    null or {n_expert, n_expert_used, expert_ff, n_expert_shared, shared_ff,
                       n_dense_lead}
mla                    null or {q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
                       v_head_dim}
ssm                    null or {d_conv, d_inner, d_state, n_group, n_head}
recurrent_layers       null, a list of booleans, ``{"full_attn_interval": N}`` (Qwen3-Next rule:
                       layer i is recurrent unless (i+1) % N == 0) or ``{"attn_layers": [...]}``
total_params           weights incl. embeddings (and output head when untied) [count]
active_params          weights touched per token: non-expert + top-k + shared experts [count]
sources, verified      citations (keys of the file's ``sources`` map or free text); "verified",
                       "verified-by-family …", "partly …" or "UNVERIFIED …"
notes, extra           free text; arch-specific extras (``swa_type``, ``gguf_arch_aliases`` …);
                       ``released`` / ``released_source`` (model card date), ``capabilities``
                       (vision, tools, reasoning), ``config_source`` (the config.json URL)
=====================  ====================================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, fields, replace
from functools import cache, lru_cache
from typing import Any

from rigfit.catalog.arch import MLA, SSM, Architecture, MoE
from rigfit.datafiles import read_text
from rigfit.errors import AmbiguousNameError, UnknownNameError

SCHEMA_VERSION = 1

# Keys of one ``--json`` record, in output order (documented, stable).
JSON_FIELDS: tuple[str, ...] = (
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
    "attention_kind",
    "sources",
    "verified",
    "notes",
    "extra",
)

# --------------------------------------------------------------------------------------------
# Per-layer pattern expansion (llama.cpp rules)
# --------------------------------------------------------------------------------------------


def swa_pattern(n_layer: int, period: int, dense_first: bool = False) -> tuple[bool, ...]:
    """llama.cpp ``llama_hparams::set_swa_pattern`` (src/llama-hparams.cpp).

    dense_first=False: layer ``il`` is SWA iff ``il % period < period - 1`` (the last layer of each
    period is full attention: Gemma 2 period 2 → even layers SWA; Gemma 3 period 6 → 5 SWA : 1 full).
    dense_first=True: layer ``il`` is SWA iff ``il % period != 0``. period 0 → every layer SWA.
    """
    if dense_first:
        return tuple(period == 0 or (il % period != 0) for il in range(n_layer))
    return tuple(period == 0 or (il % period < period - 1) for il in range(n_layer))


def _expand_swa(spec: Any, n_layer: int) -> tuple[bool, ...] | None:
    if spec is None:
        return None
    if isinstance(spec, dict):
        return swa_pattern(n_layer, int(spec["period"]), bool(spec.get("dense_first", False)))
    return tuple(bool(x) for x in spec)


def _expand_recurrent(spec: Any, n_layer: int) -> tuple[bool, ...] | None:
    if spec is None:
        return None
    if isinstance(spec, dict):
        if "full_attn_interval" in spec:  # llama.cpp qwen3next: recurrent unless (i+1) % N == 0
            n = int(spec["full_attn_interval"])
            return tuple((i + 1) % n != 0 for i in range(n_layer))
        if "attn_layers" in spec:
            attn = set(spec["attn_layers"])
            return tuple(i not in attn for i in range(n_layer))
        raise ValueError(f"unknown recurrent_layers spec {spec!r}")
    return tuple(bool(x) for x in spec)


def _per_layer(value: Any, n_layer: int) -> int | tuple[int, ...]:
    if isinstance(value, list):
        if len(value) != n_layer:
            raise ValueError(f"per-layer list of length {len(value)} != n_layer {n_layer}")
        return tuple(int(v) for v in value)
    return int(value)


# --------------------------------------------------------------------------------------------
# Parameter counting
# --------------------------------------------------------------------------------------------

# Small per-architecture tensors that the Architecture fields do not name. Defaults by arch;
# a record's ``extra`` may override any of them.
_ARCH_PARAM_RULES: dict[str, dict[str, Any]] = {
    "gemma2": {"norms_per_layer": 4},
    "gemma3": {"norms_per_layer": 4},
    "gpt-oss": {"attn_out_bias": True, "attn_sinks": True, "router_bias": True, "expert_bias": True},
    "deepseek2": {"exp_probs_b": True},
    "glm4moe": {"exp_probs_b": True},
    "dots1": {"exp_probs_b": True},
    "qwen3next": {"attn_output_gate": True, "shared_expert_gate": True},
    # Qwen3.5 / 3.6: the Qwen3-Next language model (gated attention, gated delta net, gated shared
    # expert); https://github.com/THUDM/slime/blob/main/scripts/models/qwen3.5-35B-A3B.sh
    "qwen35": {"attn_output_gate": True},
    "qwen35moe": {"attn_output_gate": True, "shared_expert_gate": True},
    "qwen2moe": {"shared_expert_gate": True},
    "mamba2": {"norms_per_layer": 1},
}


def _rules(arch: Architecture) -> dict[str, Any]:
    r = {
        "norms_per_layer": 2,
        "attn_out_bias": False,
        "attn_sinks": False,
        "router_bias": False,
        "expert_bias": False,
        "exp_probs_b": False,
        "shared_expert_gate": False,
        "attn_output_gate": False,
    }
    r.update(_ARCH_PARAM_RULES.get(arch.arch, {}))
    r.update({k: v for k, v in (arch.extra or {}).items() if k in r})
    return r


#: architectures whose recurrent mixer is Qwen3-Next's gated delta net (not a Mamba-2 block)
_GATED_DELTA_NET_ARCHS = ("qwen3next", "qwen35", "qwen35moe")


def _ssm_params(arch: Architecture) -> int:
    """One recurrent mixer (Mamba-2, or Qwen3-Next gated delta net), without the layer norm."""
    s = arch.ssm
    assert s is not None
    e = arch.n_embd
    if arch.arch in _GATED_DELTA_NET_ARCHS:
        # ssm: d_state = key head dim, n_group = key heads, n_head = value heads, d_inner = value dims
        qk = 2 * s.n_group * s.d_state
        conv_dim = qk + s.d_inner
        return (
            e * (qk + 2 * s.d_inner)  # in_proj_qkvz
            + e * 2 * s.n_head  # in_proj_ba
            + conv_dim * s.d_conv  # conv1d (no bias)
            + 2 * s.n_head  # dt_bias, A_log
            + s.d_inner // s.n_head  # gated RMSNorm over one value head
            + s.d_inner * e
        )  # out_proj
    conv_dim = s.d_inner + 2 * s.n_group * s.d_state
    return (
        e * (2 * s.d_inner + 2 * s.n_group * s.d_state + s.n_head)  # in_proj (z, x, B, C, dt)
        + conv_dim * (s.d_conv + 1)  # conv1d weight + bias
        + 3 * s.n_head  # dt_bias, A_log, D
        + s.d_inner  # gated RMSNorm
        + s.d_inner * e
    )  # out_proj


def _attn_params(arch: Architecture, il: int, r: dict[str, Any]) -> int:
    e, h = arch.n_embd, arch.n_head
    if arch.mla is not None:
        m = arch.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            q = e * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * h * qk_head
        else:
            q = e * h * qk_head
        kv = (
            e * (m.kv_lora_rank + m.qk_rope_head_dim)
            + m.kv_lora_rank
            + m.kv_lora_rank * h * (m.qk_nope_head_dim + m.v_head_dim)
        )
        return q + kv + h * m.v_head_dim * e
    hkv, dk, dv = arch.head_kv(il), arch.n_embd_head_k, arch.n_embd_head_v
    q_out = h * dk * (2 if r["attn_output_gate"] else 1)
    n = e * q_out + e * hkv * dk + e * hkv * dv + h * dv * e
    if arch.attn_bias:
        n += h * dk + hkv * dk + hkv * dv
    if r["attn_out_bias"]:
        n += e
    if r["attn_sinks"]:
        n += h
    if arch.qk_norm:
        n += 2 * dk
    return n


def _ffn_params(arch: Architecture, il: int, r: dict[str, Any]) -> tuple[int, int]:
    """(total, active) FFN weights of layer ``il``."""
    e = arch.n_embd
    if arch.is_moe_layer(il):
        m = arch.moe
        assert m is not None
        per_expert = 3 * e * m.expert_ff + ((2 * m.expert_ff + e) if r["expert_bias"] else 0)
        router = (
            e * m.n_expert + (m.n_expert if r["router_bias"] else 0) + (m.n_expert if r["exp_probs_b"] else 0)
        )
        shared = 3 * e * m.shared_ff_total
        if shared and r["shared_expert_gate"]:
            shared += e
        total = router + shared + m.n_expert * per_expert
        active = router + shared + m.n_expert_used * per_expert
        return total, active
    dense = 3 * e * arch.ff(il)
    return dense, dense


#: architectures counted from their GGUF tensor table (rigfit.archs shape builders): LFM2's
#: short-convolution layers and Nemotron-H's separate Mamba / attention / FFN layers are not
#: the attention + FFN blocks the formula below counts; the DSA models' lightning indexer
#: (deepseek32, glm-dsa) is a block the formula does not know; gemma4's K = V global layers and
#: KV-shared layers drop projections the formula counts.
_COUNTED_FROM_TENSORS = ("lfm2", "lfm2moe", "nemotron_h", "nemotron_h_moe", "deepseek32", "glm-dsa", "gemma4")


def _count_from_tensors(arch: Architecture) -> tuple[int, int]:
    """(total, active) from the tensor table llama.cpp loads, without MTP blocks (``blk.N`` from
    n_layer on, as the formula counts); active keeps top-k of the routed experts (``*_exps``)."""
    from rigfit.archs.registry import tensor_family  # lazy: the families load the shape builders

    build = tensor_family(arch).build_shapes
    assert build is not None
    total = experts = 0
    for name, shape in build(arch):
        if name.startswith("blk.") and int(name.split(".")[1]) >= arch.n_layer:
            continue
        n = 1
        for d in shape:
            n *= int(d)
        total += n
        if "_exps." in name:
            experts += n
    if arch.moe is None or not experts:
        return total, total
    return total, total - experts + experts * arch.moe.n_expert_used // arch.moe.n_expert


def count_params(arch: Architecture) -> tuple[int, int]:
    """(total, active) weight counts computed from the architecture.

    Counts token embedding, output head (unless tied), norms, attention (GQA, MLA, biases, QK-norm,
    sinks), recurrent mixers and FFN/MoE blocks; active = everything except the routed experts not
    chosen (top-k of n_expert). Matches HF safetensors totals exactly for most dense models.
    """
    if arch.arch in _COUNTED_FROM_TENSORS:
        return _count_from_tensors(arch)
    r = _rules(arch)
    e = arch.n_embd
    total = arch.n_vocab * e + (0 if arch.tied_embeddings else arch.n_vocab * e) + e
    active = total
    for il in range(arch.n_layer):
        layer = r["norms_per_layer"] * e
        if arch.is_recurrent(il):
            layer += _ssm_params(arch)
        elif arch.n_head > 0:
            layer += _attn_params(arch, il, r)
        ft, fa = _ffn_params(arch, il, r)
        total += layer + ft
        active += layer + fa
    return total, active


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

_ARCH_FIELDS = {f.name for f in fields(Architecture)}


def _record_to_arch(rec: dict[str, Any]) -> Architecture:
    n_layer = int(rec["n_layer"])
    extra = dict(rec.get("extra") or {})
    if rec.get("aliases"):
        extra["aliases"] = list(rec["aliases"])
    moe = MoE(**rec["moe"]) if rec.get("moe") else None
    mla = MLA(**rec["mla"]) if rec.get("mla") else None
    ssm = SSM(**rec["ssm"]) if rec.get("ssm") else None
    kwargs: dict[str, Any] = {k: v for k, v in rec.items() if k in _ARCH_FIELDS}
    kwargs.update(
        n_head_kv=_per_layer(rec["n_head_kv"], n_layer),
        n_ff=_per_layer(rec["n_ff"], n_layer),
        swa_layers=_expand_swa(rec.get("swa_layers"), n_layer),
        recurrent_layers=_expand_recurrent(rec.get("recurrent_layers"), n_layer),
        moe=moe,
        mla=mla,
        ssm=ssm,
        sources=tuple(rec.get("sources") or ()),
        extra=extra,
    )
    return Architecture(**kwargs)


def _models_json_text() -> str:
    # the file beside this module (a plain install) without importing importlib.resources or
    # pathlib (~8 ms of `rigfit inspect`'s start-up); resources only for zipped installs
    return read_text("rigfit.catalog", "data", "models.json")


@lru_cache(maxsize=1)
def _raw_catalog() -> dict[str, Any]:
    data = json.loads(_models_json_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise RuntimeError(f"models.json schema_version {data.get('schema_version')} != {SCHEMA_VERSION}")
    return data


def _build(rec: dict[str, Any]) -> Architecture:
    """One catalog record as loaded: fields, expanded patterns, counted params where missing."""
    a = _record_to_arch(rec)
    if a.total_params is None or a.active_params is None:
        t, act = count_params(a)
        a = replace(a, total_params=a.total_params or t, active_params=a.active_params or act)
    return a


@cache
def _built(i: int) -> Architecture:
    """Catalog record ``i`` as loaded (once: :func:`load_models` and :func:`get_model` share it)."""
    return _build(_raw_catalog()["models"][i])


@lru_cache(maxsize=1)
def load_models() -> tuple[Architecture, ...]:
    """All catalog models, in catalog order."""
    return tuple(_built(i) for i in range(len(_raw_catalog()["models"])))


def models_with_shape(arch: str, n_layer: int, n_embd: int) -> list[Architecture]:
    """Catalog models (catalog order) of llama.cpp architecture ``arch`` (or one of their
    ``extra.gguf_arch_aliases``) with ``n_layer`` blocks of width ``n_embd``.

    Same objects as :func:`load_models` gives, but builds only the records that fit (parameter
    counting of the whole catalog is most of a cold ``rigfit inspect``'s catalog time).
    """

    def fits(rec: dict[str, Any]) -> bool:
        names = {rec.get("arch"), *((rec.get("extra") or {}).get("gguf_arch_aliases") or [])}
        return arch in names and rec.get("n_layer") == n_layer and rec.get("n_embd") == n_embd

    if load_models.cache_info().currsize:  # already built in this process
        return [a for a, rec in zip(load_models(), _raw_catalog()["models"], strict=True) if fits(rec)]
    return [_build(rec) for rec in _raw_catalog()["models"] if fits(rec)]


def catalog_sources() -> dict[str, str]:
    """Citation keys used in ``Architecture.sources`` → full citation."""
    return dict(_raw_catalog().get("sources", {}))


def get_model(model_id: str) -> Architecture:
    """Exact catalog id lookup (KeyError if absent); see :func:`resolve_model` for loose names.

    Builds only that model when the catalog is not loaded yet (``rigfit plan MODEL``)."""
    i = _index_of_ids().get(model_id)
    if i is None:
        raise KeyError(model_id)
    return _built(i)


@lru_cache(maxsize=1)
def _index_of_ids() -> dict[str, int]:
    """Catalog id -> the index of its (first) record: a recommend ladder looks ids up ~2,500 times."""
    out: dict[str, int] = {}
    for i, rec in enumerate(_raw_catalog()["models"]):
        out.setdefault(rec["id"], i)
    return out


# --------------------------------------------------------------------------------------------
# Descriptions
# --------------------------------------------------------------------------------------------


def attention_kind(arch: Architecture, short: bool = False) -> str:
    """Label: MHA, GQA, MQA, MLA, +SWA window (and SWA layer count), hybrid, SSM."""
    if arch.recurrent_layers is not None and any(arch.recurrent_layers):
        n_attn = sum(1 for x in arch.recurrent_layers if not x)
        if not n_attn:
            return "SSM"
        return "hybrid" if short else f"hybrid ({n_attn}/{arch.n_layer} attn)"
    if arch.ssm is not None and arch.arch in ("mamba", "mamba2"):
        return "SSM"
    if arch.mla is not None:
        return "MLA"
    kv = max(arch.head_kv(i) for i in range(arch.n_layer))
    base = "MHA" if kv == arch.n_head else ("MQA" if kv == 1 else "GQA")
    if arch.sliding_window and arch.swa_layers and any(arch.swa_layers):
        n_swa = sum(arch.swa_layers)
        swa_type = (arch.extra or {}).get("swa_type", "SWA")
        if short:
            return f"{base}+{swa_type} {arch.sliding_window}"
        return f"{base}+{swa_type} {arch.sliding_window} ({n_swa}/{arch.n_layer})"
    return base


def arch_to_json(arch: Architecture) -> dict[str, Any]:
    """One ``--json`` record (see the module docstring for the schema)."""
    d = asdict(arch)
    extra = dict(d.pop("extra") or {})
    aliases = extra.pop("aliases", [])
    d["aliases"] = aliases
    d["extra"] = extra
    d["attention_kind"] = attention_kind(arch)
    for k in ("n_head_kv", "n_ff", "swa_layers", "recurrent_layers", "sources"):
        if isinstance(d.get(k), tuple):
            d[k] = list(d[k])
    if d.get("moe"):
        d["moe"]["shared_ff"] = arch.moe.shared_ff_total if arch.moe else None
    return {k: d.get(k) for k in JSON_FIELDS}


def models_json(archs: Iterable[Architecture]) -> dict[str, Any]:
    """``rigfit models --json``: ``{"schema": "rigfit.models/1", "models": [arch_to_json(...), ...]}``."""
    return {"schema": "rigfit.models/1", "models": [arch_to_json(a) for a in archs]}


# --------------------------------------------------------------------------------------------
# Name resolution
# --------------------------------------------------------------------------------------------

_QUANT_RE = re.compile(
    r"(?ix)(?<![a-z0-9])(?:ud[-_])?(?:"
    r"i?q[1-8](?:_[a-z0-9]+)*(?:\s*-\s*(?:small|medium|large|xs|xxs|s|m|l))?"
    r"|f16|bf16|f32|fp16|fp32|fp8|int4|int8|mxfp4(?:[_-]moe)?|nvfp4|awq|gptq|mostly|qat"
    r"|i1|imatrix|mlx|\d{1,2}bit|dynamic"
    r")(?![a-z0-9])"
)
_SHARD_RE = re.compile(r"(?i)-?\d{5}-of-\d{5}")
_SUFFIX_WORDS = ("instruct", "it", "chat", "hf", "inst", "base", "gguf", "ggml", "model")
# compiled once: the name index canonicalises ~1,400 names (a third of its time went to re's cache)
_HF_PREFIX_RE = re.compile(r"(?i)^(hf|huggingface)[:/]")
_HF_URL_RE = re.compile(r"(?i)^https?://huggingface\.co/")
_EXTENSION_RE = re.compile(r"(?i)\.(gguf|safetensors|bin)$")
_LONE_DOT_RE = re.compile(r"(?<!\d)\.|\.(?!\d)")
_LETTER_DIGIT_RE = re.compile(r"(?<=[a-z])(?=\d)")
_NON_WORD_RE = re.compile(r"[^a-z0-9.]+")
_DASH_DOT_RE = re.compile(r"-?\.-?")
_DASHES_RE = re.compile(r"-+")


def _basename(name: str) -> str:
    s = name.strip()
    s = _HF_PREFIX_RE.sub("", s)
    s = _HF_URL_RE.sub("", s)
    s = _EXTENSION_RE.sub("", s)
    if "/" in s:
        s = s.rsplit("/", 1)[1] or s
    return s


def _canon(name: str) -> str:
    """Lowercase, quant/shard/extension stripped, words separated by single '-'."""
    s = _basename(name).lower()
    s = _SHARD_RE.sub("", s)
    s = _QUANT_RE.sub(" ", s)
    s = _LONE_DOT_RE.sub("-", s)  # keep '.' only inside numbers (3.1, 0.5b)
    s = _LETTER_DIGIT_RE.sub("-", s)  # llama3.1 → llama-3.1
    s = _NON_WORD_RE.sub("-", s)
    s = _DASH_DOT_RE.sub(".", s).strip("-.")
    s = _DASHES_RE.sub("-", s)
    return s


def _strip_suffixes(c: str) -> str:
    parts = c.split("-")
    while len(parts) > 1 and parts[-1] in _SUFFIX_WORDS:
        parts.pop()
    return "-".join(parts)


def _compact(c: str) -> str:
    return c.replace("-", "").replace(".", "")


#: how strongly an index key names a model: its id, HF repo or display name beats an alias, which
#: beats a form with -instruct/-it/-chat … stripped (the lowest tier that matches wins).
_TIER_EXACT, _TIER_ALIAS, _TIER_STRIPPED = 0, 1, 2
#: leading words that only name the publisher ("Meta-Llama-3.1-8B" is Llama 3.1 8B).
_PUBLISHER_WORDS = ("meta",)


def _named(rec: dict[str, Any]) -> tuple[tuple[list[str], int], ...]:
    """A catalog record's names by tier (id, name and HF repo; aliases), read from the record as
    _record_to_arch reads it (building every model costs more than indexing it)."""
    hf_repo, extra = rec.get("hf_repo"), rec.get("extra") or {}
    exact = [rec["id"], rec.get("name", "")]
    if hf_repo:
        exact.append(hf_repo.replace("/", "-"))  # org-name
        if extra.get("index_repo_basename", True):
            exact.append(hf_repo)
    aliases = rec["aliases"] if rec.get("aliases") else extra.get("aliases", [])
    return ((exact, _TIER_EXACT), (aliases, _TIER_ALIAS))


def _add(idx: dict[str, dict[str, int]], key: str, mid: str, tier: int) -> None:
    if key:
        ids = idx.setdefault(key, {})
        ids[mid] = min(tier, ids.get(mid, tier))


@lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, int]]:
    """compact key → {model id: tier}."""
    idx: dict[str, dict[str, int]] = {}
    for rec in _raw_catalog()["models"]:
        for names, tier in _named(rec):
            for n in names:
                c = _canon(n)
                _add(idx, _compact(c), rec["id"], tier)
                _add(idx, _compact(_strip_suffixes(c)), rec["id"], max(tier, _TIER_STRIPPED))
    return idx


@lru_cache(maxsize=256)
def _index_at(key: str) -> dict[str, int] | None:
    """``_index().get(key)``, without canonicalising every name of the catalog (most of a
    ``rigfit plan``'s model lookup) while the whole index is not built: a name's compact key is a
    subsequence of its lower-cased text (canonicalising only deletes, replaces and inserts
    separators), so only the names holding ``key`` as a subsequence can have it."""
    if _index.cache_info().currsize or not key:
        return _index().get(key)
    holds = re.compile(key[0] + "".join(f"[^{c}]*{c}" for c in key[1:])).search  # keys: [a-z0-9]+
    found: dict[str, dict[str, int]] = {}
    for rec in _raw_catalog()["models"]:
        for names, tier in _named(rec):
            for n in names:
                if holds(n.lower()):
                    c = _canon(n)
                    if _compact(c) == key:
                        _add(found, key, rec["id"], tier)
                    if _compact(_strip_suffixes(c)) == key:
                        _add(found, key, rec["id"], max(tier, _TIER_STRIPPED))
    return found.get(key)


def _best(found: dict[str, int]) -> set[str]:
    """The ids of the lowest tier."""
    top = min(found.values())
    return {mid for mid, tier in found.items() if tier == top}


def _lookup(name: str) -> set[str]:
    forms = [_canon(name)]
    if "/" in name.strip().rstrip("/"):  # "org/repo": try the full id first
        forms.insert(0, _canon(name.strip().replace("/", "-")))
    first = forms[-1].split("-", 1)
    if len(first) == 2 and first[0] in _PUBLISHER_WORDS:
        forms.append(first[1])
    for c in forms:
        for key in (_compact(c), _compact(_strip_suffixes(c))):
            ids = _index_at(key)
            if ids is not None:
                return _best(ids)
    return set()


@lru_cache(maxsize=1)
def _token_sets() -> tuple[tuple[str, frozenset[str]], ...]:
    """(model id, every word of its id, name, HF repo name and aliases), for loose names."""
    out = []
    for a in load_models():
        names = [a.id, a.name, *(a.extra or {}).get("aliases", [])]
        if a.hf_repo:
            names.append(a.hf_repo.rsplit("/", 1)[-1])
        words: set[str] = set()
        for n in names:
            words.update(w for w in _canon(n).split("-") if w)
        out.append((a.id, frozenset(words)))
    return tuple(out)


def _loose_candidates(name: str) -> list[str]:
    """Models whose words include every word of ``name`` ("qwen3 coder 30b", "hermes 3 8b"),
    fewest extra words first; empty when none."""
    words = {w for w in _strip_suffixes(_canon(name)).split("-") if w}
    if not words:
        return []
    found = [(len(ws - words), mid) for mid, ws in _token_sets() if words <= ws]
    return [mid for _, mid in sorted(found)]


def resolve_model(name: str) -> Architecture:
    """Catalog model for ``name``: an id, HF repo id, display name, GGUF file name, or alias.

    Case, spacing and punctuation are ignored; quant tags (Q4_K_M, UD-Q4_K_XL, MXFP4 …), shard
    suffixes (-00001-of-00003), extensions and -instruct/-it/-chat suffixes are stripped. An id,
    repo or display name beats an alias. A loose name ("qwen3 coder 30b") whose words fit exactly
    one model names it. Unknown → UnknownNameError with close candidates; several equally good →
    AmbiguousNameError listing them.
    """
    if not name or not name.strip():
        raise UnknownNameError("model", name or "", hint="Run 'rigfit models' to list the catalog.")
    ids = _lookup(name)
    if len(ids) == 1:
        return get_model(next(iter(ids)))
    if len(ids) > 1:
        order = [a.id for a in load_models() if a.id in ids]
        raise AmbiguousNameError("model", name, order)
    loose = _loose_candidates(name)
    if len(loose) == 1:
        return get_model(loose[0])
    if loose:
        raise AmbiguousNameError("model", name, loose[:8])
    raise UnknownNameError(
        "model", name, suggest_models(name), hint="Run 'rigfit models' to list the catalog."
    )


def suggest_models(name: str, n: int = 5) -> list[str]:
    """Closest catalog ids to ``name`` (difflib on normalised names)."""
    c = _strip_suffixes(_canon(name))
    key = _compact(c)
    idx = _index()
    import difflib  # lazy: only an unknown name needs it (issue 15: ~1 ms of every start)

    close = difflib.get_close_matches(key, list(idx), n=n * 3, cutoff=0.5)
    out: list[str] = []
    for k in close:
        for mid in sorted(idx[k]):
            if mid not in out:
                out.append(mid)
    if len(out) < n:  # token overlap as a fallback (e.g. "qwen 14b")
        toks = set(c.split("-"))
        scored = sorted(((len(toks & set(a.id.split("-"))), a.id) for a in load_models()), reverse=True)
        out += [mid for s, mid in scored if s > 0 and mid not in out][: n - len(out)]
    return out[:n]


def _arch_names(a: Architecture) -> set[str]:
    names = {a.arch, *(a.extra or {}).get("gguf_arch_aliases", [])}
    return {re.sub(r"[^a-z0-9]", "", x.lower()) for x in names}


def same_architecture(a: Architecture, family: str) -> bool:
    """Whether a llama.cpp architecture / family string (as in ground-truth files) fits ``a``.

    Loose: ``hunyuan`` matches ``hunyuan-moe``, and GGUF aliases count (Mistral Small 3.1 GGUFs
    made before llama.cpp's mistral3 arch say ``llama``).
    """
    f = re.sub(r"[^a-z0-9]", "", family.lower())
    if not f:
        return False
    return (
        any(n == f or n.startswith(f) for n in _arch_names(a))
        or re.sub(r"[^a-z0-9]", "", a.family.lower()) == f
    )


def find_by_family_size(
    family: str, params_b: float, rel_tol: float = 0.03, hint: str | None = None
) -> list[Architecture]:
    """Catalog models of llama.cpp architecture/family ``family`` whose total params ≈ ``params_b`` [1e9].

    Sorted best first: token overlap with ``hint`` (e.g. the published model name), then closeness
    of the parameter count, then catalog order. Empty when nothing is within ``rel_tol``.
    """
    hint_toks = set(_canon(hint).split("-")) if hint else set()
    out = []
    for order, a in enumerate(load_models()):
        if not same_architecture(a, family) or not a.total_params:
            continue
        tb = a.total_params / 1e9
        err = abs(tb - params_b) / max(params_b, 1e-9)
        if err > rel_tol:
            continue
        cand_toks = set(_canon(a.id).split("-")) | set(_canon(a.name).split("-"))
        overlap = len(hint_toks & cand_toks)
        out.append((-overlap, err, order, a))
    out.sort(key=lambda t: t[:3])
    return [t[3] for t in out]


def match_model(name: str, family: str | None = None, params_b: float | None = None) -> Architecture | None:
    """Best catalog model for a loosely published name (benchmark tables, llama-bench rows).

    Tries the name, then each parenthesised part (often a GGUF file name), then the text before
    the first parenthesis; requires the architecture to agree with ``family`` when given. Falls
    back to :func:`find_by_family_size`. None when nothing fits.
    """
    candidates = [name, *re.findall(r"\(([^)]*)\)", name), name.split("(")[0]]
    for cand in candidates:
        if not cand.strip():
            continue
        for mid in sorted(_lookup(cand)):
            a = get_model(mid)
            if family is None or same_architecture(a, family):
                return a
    # contiguous word windows, longest first ("Llama 2 7B-v2" → "llama-2-7b",
    # "shisa-v2-llama3.3-70b.i1" → "llama-3.3-70b"); a window must name exactly one model
    for cand in candidates:
        toks = [t for t in _canon(cand).split("-") if t]
        for size in range(len(toks) - 1, 1, -1):
            for start in range(len(toks) - size + 1):
                ids = _lookup("-".join(toks[start : start + size]))
                fits = [get_model(i) for i in sorted(ids)]
                fits = [a for a in fits if family is None or same_architecture(a, family)]
                if len(fits) == 1:
                    return fits[0]
    if family and params_b:
        found = find_by_family_size(family, params_b, hint=name)
        if found:
            return found[0]
    return None


def filter_models(
    family: str | None = None, search: str | None = None, arch: str | None = None
) -> list[Architecture]:
    """Catalog models filtered by family (family or llama.cpp arch, loose), arch, free-text search."""
    out = list(load_models())
    if family:
        f = re.sub(r"[^a-z0-9.]", "", family.lower())
        out = [
            a
            for a in out
            if re.sub(r"[^a-z0-9.]", "", a.family.lower()).startswith(f) or same_architecture(a, family)
        ]
    if arch:
        out = [a for a in out if same_architecture(a, arch)]
    if search:
        terms = _canon(search).split("-")

        def hay(a: Architecture) -> str:
            parts = [a.id, a.name, a.family, a.arch, a.hf_repo or "", *(a.extra or {}).get("aliases", [])]
            return " ".join(_compact(_canon(p)) for p in parts)

        out = [a for a in out if all(_compact(t) in hay(a) for t in terms if t)]
    return out
