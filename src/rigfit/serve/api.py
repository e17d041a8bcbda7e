"""The JSON answers of ``rigfit serve``: each calls the same library functions as the CLI command of
the same name and returns the same schema as its ``--json`` output.

Endpoints without a CLI twin (``/api/compare``, the ``/search`` pickers) have their own schema names
(``rigfit.compare/1``, ``rigfit.hardware-search/1``, ``rigfit.model-search/1``).

Caching (serve only; the library is untouched): model specs per (model, quant) for catalog names,
resolved machines per description, and the search indexes, so a warm plan costs a few ms. (So an edit
to the user hardware rows in ``$XDG_CONFIG_HOME/rigfit/hardware.toml`` shows after a restart.)
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rigfit import __version__
from rigfit.catalog.models import load_models, models_json, resolve_model
from rigfit.catalog.native import quality_summary
from rigfit.cli.plan_options import option_fields, value_type
from rigfit.errors import RigfitError
from rigfit.estimate.cost import local_cost
from rigfit.fit_advice import fit_alternatives
from rigfit.floor import hardware_floor
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.jsonout import machine_to_json
from rigfit.hardware.names import list_devices
from rigfit.hardware.prices import floor_machines
from rigfit.measure.fingerprint import detect_fingerprint
from rigfit.measure.store import open_store
from rigfit.options import check_cost, check_floor, check_recommend, floor_quant, plan_settings, select_models
from rigfit.plan import make_plan, max_context, max_context_by_quant
from rigfit.recommend import PROMPT_TOKENS, evaluate, quant_ladder
from rigfit.recommend import recommend as run
from rigfit.serve.params import MAX_COMPARE, Endpoint, Param, openapi_document

# --------------------------------------------------------------------------------------------
# caches
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _catalog_spec(model: str, quant: str | None) -> Any:

    return load_model_source(model, quant)


def model_spec(model: str, quant: str | None) -> Any:
    """ModelSpec of ``model`` at ``quant``; cached per (model, quant) unless ``model`` is a file or
    folder on disk (a file can change between two requests)."""

    if Path(model).expanduser().exists():
        return load_model_source(model, quant)
    return _catalog_spec(model, quant)


@lru_cache(maxsize=512)
def machine(on: str) -> Any:
    """The Machine an ``--on`` description names (cached per description; 'local' detected once)."""

    return resolve_machine(on)


# --------------------------------------------------------------------------------------------
# handlers: args are already parsed and checked against the endpoint's Param table
# --------------------------------------------------------------------------------------------


def plan(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit plan MODEL --on ON … --json`` (schema rigfit.plan/1)."""

    settings = plan_settings(
        ctx=a["ctx"],
        ngl=a["ngl"],
        fa=a["fa"],
        kv_type=a["kv_type"],
        parallel=a["parallel"],
        kv_unified=a["kv_unified"],
        ubatch=a["ubatch"],
        swa_full=a["swa_full"],
        cpu_moe=a["cpu_moe"],
        n_cpu_moe=a["n_cpu_moe"],
        no_kv_offload=a["no_kv_offload"],
        tensor_split=a["tensor_split"],
        runtime=a["runtime"],
        llama_build=a["llama_build"],
        prompt=a["prompt"],
        gpu_util=a["gpu_memory_utilization"],
        kv_type_k=a["kv_type_k"],
        kv_type_v=a["kv_type_v"],
        users=a["users"],
        output=a["output"],
        min_tps=a["min_tps"],
    )
    spec = model_spec(a["model"], a["quant"])
    m = machine(a["on"])
    p = make_plan(spec, m, settings)
    out = p.to_json()
    out["quality"] = quality_summary(p.model.arch, p.model.file_type, p.model.path)  # as the CLI
    out["fit_alternatives"] = [x.to_json() for x in fit_alternatives(spec, m, settings, p)]  # as the CLI
    out["images"] = None  # the CLI's --images cost (rigfit plan --mmproj/--images); the page sends none
    if a["max_ctx"] and settings.runtime == "llama.cpp" and p.hosted is None:
        out["max_ctx"] = max_context(spec, m, settings)
        out["max_ctx_by_quant"] = max_context_by_quant(spec, m, settings)
    return out


def recommend(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit recommend --on ON … --json``."""

    check_recommend(a["limit"], a["min_ctx"], a["min_tps"], a["max_quality_loss"])
    rec = run(
        machine(a["on"]),
        a["use"],
        min_ctx=a["min_ctx"],
        min_tps=a["min_tps"],
        max_quality_loss=a["max_quality_loss"],
        limit=a["limit"],
    )
    return rec.to_json()


def _evaluation_json(e: Any) -> dict[str, Any]:
    """One cell of the compare quant matrix (memory [B], speeds [tok/s], TTFT [s], all estimated)."""
    return {
        "quant": e.quant,
        "fit": e.fit,
        "fit_label": e.fit_label,
        "memory_bytes": e.memory_bytes,
        "capacity_bytes": e.capacity_bytes,
        "weights_bytes": e.weights_bytes,
        "decode_tps": e.decode_tps.to_json() if e.decode_tps else None,
        "prefill_tps": e.prefill_tps.to_json() if e.prefill_tps else None,
        "ttft_s": e.ttft_s.to_json() if e.ttft_s else None,
    }


def compare(a: dict[str, Any]) -> dict[str, Any]:
    """Up to four machines for one model: a plan on each, and the quant matrix (memory, tok/s per quant)."""

    ons = a["on"]
    if len(ons) > MAX_COMPARE:
        raise RigfitError(f"Compare takes at most {MAX_COMPARE} machines, got {len(ons)}.", "Drop a machine.")
    defaults = {p.name: p.default for p in PLAN_PARAMS}
    plans = [plan({**defaults, **a, "on": on, "max_ctx": False}) for on in ons]
    spec = model_spec(a["model"], a["quant"])
    catalog = plans[0]["model"]["origin"] == "catalog"
    quants = list(quant_ladder(spec.arch)) if catalog else []
    ctx = plans[0]["n_ctx"]
    rows = [
        {
            "query": on,
            "machine": p["machine"]["name"],
            "plan": p,
            "quants": [_evaluation_json(evaluate(machine(on), spec.arch, q, ctx)) for q in quants],
        }
        for on, p in zip(ons, plans, strict=True)
    ]
    return {
        "schema": "rigfit.compare/1",
        "model": plans[0]["model"],
        "n_ctx": ctx,
        "quants": quants,
        "matrix_prompt_tokens": min(PROMPT_TOKENS, ctx),
        "matrix_note": "quant matrix: the planner at each quant with default settings (every layer "
        "that fits on the GPUs, f16 KV); decode at the full context; estimated",
        "machines": rows,
    }


def floor(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit floor MODEL … --json``."""

    check_floor(a["ctx"], a["min_tps"], a["budget_usd"])
    arch = resolve_model(a["model"])
    q = floor_quant(arch, a["quant"], a["ctx"])
    return hardware_floor(arch, q, a["ctx"], a["min_tps"], a["budget_usd"]).to_json()


def cost(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit cost MODEL --on ON … --json``."""

    check_cost(
        hours_per_day=a["hours_per_day"],
        tokens_per_day=a["tokens_per_day"],
        electricity=a["electricity_usd_per_kwh"],
        hardware_usd=a["hardware_usd"],
        amortize_months=a["amortize_months"],
        hosted_monthly_usd=a["hosted_monthly_usd"],
        hosted=a["hosted"],
    )
    arch = resolve_model(a["model"])
    lc = local_cost(
        arch,
        machine(a["on"]),
        a["quant"],
        hours_per_day=a["hours_per_day"],
        tokens_per_day=a["tokens_per_day"],
        usd_per_kwh=a["electricity_usd_per_kwh"],
        hardware_usd=a["hardware_usd"],
        amortize_months=a["amortize_months"],
        hosted_monthly_usd=a["hosted_monthly_usd"],
        hosted=a["hosted"],
    )
    return lc.to_json()


def results(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit results --json`` (listing; the store is opened read-only and never created)."""

    fp = detect_fingerprint()
    with open_store(read_only=True) as store:
        rows = store.results(machine_id=fp.id if a["mine"] else None)
        failed = store.runs(status="failed")
        return {
            "schema": "rigfit.results/1",
            "store": str(store.path),
            "machine_id": fp.id,
            "results": [r.to_json() for r in rows],
            "failed_runs": [r.to_json() for r in failed],
        }


def hardware(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit hardware NAME --json`` (schema rigfit.hardware/1)."""

    return machine_to_json(machine(a["name"]), a["name"])


def models(a: dict[str, Any]) -> dict[str, Any]:
    """``rigfit models [NAME] [--family F] [--search S] --json`` (schema rigfit.models/1)."""

    return models_json(select_models(a["name"], a["family"], a["search"]))


# --------------------------------------------------------------------------------------------
# search-as-you-type
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9.]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=1)
def _hardware_index() -> tuple[tuple[str, tuple[str, ...], int, dict[str, Any]], ...]:
    """(joined words, words, rank bonus, row) for every catalog device and priced machine."""

    rows: list[tuple[str, tuple[str, ...], int, dict[str, Any]]] = []
    for d in list_devices(include_old=True):
        recent = d.kind != "gpu" or ((d.release_year or 0) >= 2016 and d.memory_bytes)
        row = {
            "name": d.name,
            "on": d.name,
            "kind": d.kind,
            "vendor": d.vendor,
            "memory_bytes": d.memory_bytes,
            "bandwidth_bytes_per_s": d.bandwidth_bytes_per_s,
            "release_year": d.release_year,
        }
        w = _words(f"{d.vendor} {d.name}")
        rows.append((" ".join(w), tuple(w), 1 if recent else 0, row))
    for m in floor_machines():
        row = {
            "name": m.name,
            "on": m.name,
            "kind": "machine",
            "vendor": "",
            "memory_bytes": m.accelerator_memory_bytes or m.ram_bytes,
            "bandwidth_bytes_per_s": None,
            "release_year": None,
        }
        w = _words(m.name)
        rows.append((" ".join(w), tuple(w), 0, row))  # after the device itself
    return tuple(rows)


def _rank(query: str, index: tuple) -> list[dict[str, Any]]:
    """Rows whose words contain every query word (as a prefix scores higher), best first."""
    q = _words(query)
    if not q:
        return []
    scored = []
    for joined, words, bonus, row in index:
        s = 0.0
        for t in q:
            if any(w.startswith(t) for w in words):
                s += 2
            elif t in joined:
                s += 1
            else:
                break
        else:
            scored.append((-(s + 2 * bonus - len(joined) / 200), joined, row))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [r for _, _, r in scored]


def hardware_search(a: dict[str, Any]) -> dict[str, Any]:
    """Search-as-you-type over every GPU, CPU, Mac, APU, hosted system and priced machine."""
    found = _rank(a["q"], _hardware_index())
    if a["kind"]:
        found = [r for r in found if r["kind"] == a["kind"]]
    return {
        "schema": "rigfit.hardware-search/1",
        "query": a["q"],
        "count": len(found),
        "matches": found[: a["limit"]],
    }


@lru_cache(maxsize=1)
def _model_index() -> tuple[tuple[str, tuple[str, ...], int, dict[str, Any]], ...]:

    rows = []
    for m in load_models():
        row = {
            "id": m.id,
            "name": m.name or m.id,
            "family": m.family,
            "arch": m.arch,
            "total_params": m.total_params,
            "active_params": m.active_params,
            "n_ctx_train": m.n_ctx_train,
        }
        w = _words(f"{m.id} {m.name} {m.family}")
        rows.append((" ".join(w), tuple(w), 0, row))
    return tuple(rows)


def models_search(a: dict[str, Any]) -> dict[str, Any]:
    """Search-as-you-type over the model catalog (ids, names, families)."""
    found = _rank(a["q"], _model_index())
    return {
        "schema": "rigfit.model-search/1",
        "query": a["q"],
        "count": len(found),
        "matches": found[: a["limit"]],
    }


# --------------------------------------------------------------------------------------------
# the endpoint table
# --------------------------------------------------------------------------------------------

#: ``rigfit plan``'s options by field name (:class:`rigfit.cli.plan_options.PlanOptions`, the one
#: list of their types, defaults and help).
_PLAN_FIELDS = {f.name: f for f in option_fields()}
#: Long flag -> query parameter name, for the plan options' help texts ("overrides --kv-type").
_FLAG_NAMES = {
    flag: flag.removeprefix("--").replace("-", "_")
    for f in _PLAN_FIELDS.values()
    for flag in f.metadata["flags"]
    if flag.startswith("--")
}


def _api_help(text: str) -> str:
    """A plan option's help as the API documents it: flags named as query parameters, and no Rich
    markup escapes (``\\[tok/s]``)."""
    text = re.sub(r"--[a-z][a-z0-9-]*", lambda m: _FLAG_NAMES.get(m.group(), m.group()), text)
    return text.replace("\\[", "[")


def _plan_param(field_name: str, *, required: bool = False, **serve_only: Any) -> Param:
    """The query parameter of ``rigfit plan``'s option ``field_name``: its name (the long flag's),
    type, default and help from :class:`~rigfit.cli.plan_options.PlanOptions`; ``serve_only`` adds
    what the API alone checks (``enum``, ``minimum``, ``maximum``) or says (``help``). A required
    parameter has no default."""
    f = _PLAN_FIELDS[field_name]
    serve_only.setdefault("help", _api_help(f.metadata["help"]))
    return Param(
        _FLAG_NAMES[f.metadata["flags"][0]],
        value_type(f),
        default=None if required else f.default,
        required=required,
        **serve_only,
    )


_MODEL = Param(
    "model", str, "Catalog model id (llama-3.1-8b), GGUF file, HF folder or ollama:NAME.", required=True
)
_ON = _plan_param("on", required=True)
_QUANT = _plan_param("quant")
_CTX = _plan_param("ctx", minimum=0)

PLAN_PARAMS = (
    _MODEL,
    _ON,
    _QUANT,
    _CTX,
    _plan_param("ngl"),
    _plan_param("fa", enum=("auto", "on", "off")),
    _plan_param("kv_type"),
    _plan_param("parallel", minimum=1, maximum=4096),
    _plan_param("kv_unified"),
    _plan_param("ubatch", minimum=1, maximum=1 << 16),
    _plan_param("swa_full"),
    _plan_param("cpu_moe"),
    _plan_param("n_cpu_moe", minimum=0, maximum=10_000),
    _plan_param("no_kv_offload"),
    _plan_param("tensor_split"),
    # the API takes the built-in engines only (no entry-point engines), so not the CLI's help
    _plan_param("runtime", help="Engine.", enum=("llama.cpp", "llamacpp", "vllm")),
    _plan_param("llama_build"),
    # three help texts say more than the CLI's, for API callers (what it costs, the range)
    _plan_param("prompt", help="Prompt tokens for prefill and TTFT.", minimum=1, maximum=1 << 24),
    _plan_param("gpu_util", help="vLLM memory claim (0, 1]."),
    _plan_param("max_ctx", help="Also find the largest context that fits (slower)."),
    _plan_param("kv_type_k"),
    _plan_param("kv_type_v"),
    _plan_param("users", minimum=0, maximum=4096),
    _plan_param("output", minimum=1, maximum=1 << 24),
    _plan_param("min_tps"),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/api/plan",
        "Plan a model on a machine: memory per device, verdict, speed, command lines.",
        PLAN_PARAMS,
        "rigfit.plan/1",
        plan,
    ),
    Endpoint(
        "/api/recommend",
        "Ranked model × quant picks for a machine and a use (recommend --json).",
        (
            Param("on", str, _ON.help, required=True),
            Param("use", str, "Use.", "chat", enum=("chat", "code", "long-context", "agents")),
            Param("min_ctx", int, "Context to plan for [tokens] (default: per use).", minimum=0),
            Param("min_tps", float, "Slowest acceptable decode [tok/s]."),
            Param("max_quality_loss", float, "Largest mean KL divergence vs F16 [nats] (default 0.25)."),
            Param("limit", int, "How many picks to list.", 10, minimum=1, maximum=500),
        ),
        "rigfit.recommend/1",
        recommend,
    ),
    Endpoint(
        "/api/compare",
        "One model on up to four machines, with the quant matrix (memory, tok/s).",
        (
            _MODEL,
            Param("on", str, "Machine (repeat: on=A&on=B, up to 4).", required=True, many=True),
            _QUANT,
            _CTX,
        ),
        "rigfit.compare/1",
        compare,
    ),
    Endpoint(
        "/api/floor",
        "Cheapest catalog hardware that runs a model at a speed (rigfit floor --json).",
        (
            Param("model", str, "Catalog model id or name, e.g. llama-3.1-70b.", required=True),
            _QUANT,
            Param("ctx", int, "Context to plan for [tokens].", 8192, minimum=0),
            Param("min_tps", float, "Decode speed to reach [tok/s].", 10.0),
            Param("budget_usd", float, "Also list what fits within this budget [USD]."),
        ),
        "rigfit.floor/1",
        floor,
    ),
    Endpoint(
        "/api/cost",
        "Power, cost per token and break-even against a hosted bill (rigfit cost --json).",
        (
            Param("model", str, "Catalog model id or name, e.g. llama-3.1-8b.", required=True),
            Param("on", str, _ON.help, required=True),
            _QUANT,
            Param("hours_per_day", float, "Hours the machine is on per day."),
            Param("tokens_per_day", float, "Generated tokens per day."),
            Param("electricity_usd_per_kwh", float, "Electricity price [USD/kWh].", 0.17),
            Param("hardware_usd", float, "Purchase price [USD] (default: catalog)."),
            Param("amortize_months", float, "Months to spread the hardware over.", 36.0),
            Param("hosted_monthly_usd", float, "Monthly hosted bill the box would replace [USD]."),
            Param("hosted", str, "Hosted model or provider to compare with (e.g. groq)."),
        ),
        "rigfit.cost/1",
        cost,
    ),
    Endpoint(
        "/api/results",
        "Stored measurements with what rigfit predicted (rigfit results --json).",
        (Param("mine", bool, "Only results measured on this machine.", False),),
        "rigfit.results/1",
        results,
    ),
    Endpoint(
        "/api/hardware",
        "One device or machine: memory, bandwidth, FLOPS, power, price, with sources.",
        (Param("name", str, "Device or machine, e.g. 'RTX 3060 12GB' or 'local'.", required=True),),
        "rigfit.hardware/1",
        hardware,
    ),
    Endpoint(
        "/api/hardware/search",
        "Search-as-you-type over catalog GPUs, CPUs, Macs, APUs and machines.",
        (
            Param("q", str, "Words to find, e.g. '3090' or 'm3 max'.", required=True),
            Param("kind", str, "Only this kind.", enum=("gpu", "apple", "cpu", "apu", "hosted", "machine")),
            Param("limit", int, "Rows to return.", 20, minimum=1, maximum=500),
        ),
        "rigfit.hardware-search/1",
        hardware_search,
    ),
    Endpoint(
        "/api/models",
        "The model catalog (rigfit models --json): one model, a family or a search.",
        (
            Param("name", str, "One model (id, HF repo, GGUF file name…)."),
            Param("family", str, "Family or llama.cpp arch (llama, qwen3 …)."),
            Param("search", str, "Words that must all appear."),
        ),
        "rigfit.models/1",
        models,
    ),
    Endpoint(
        "/api/models/search",
        "Search-as-you-type over the model catalog.",
        (
            Param("q", str, "Words to find, e.g. 'qwen 14'.", required=True),
            Param("limit", int, "Rows to return.", 20, minimum=1, maximum=500),
        ),
        "rigfit.model-search/1",
        models_search,
    ),
)


@lru_cache(maxsize=1)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /api/openapi.json."""
    return openapi_document(ENDPOINTS, __version__)
