"""The JSON API of ``rigfit serve`` against a real uvicorn server on 127.0.0.1.

The answers must be the CLI's ``--json`` output for the same inputs and validate against the schema
they name (rigfit/schemas/); bad input must be a 4xx with ``{"schema": "rigfit.error/1", "error",
"hint"}``; nothing may answer 500.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from jsonschemas import checked_json
from rigfit.jsonout import load_schema
from rigfit.serve.api import ENDPOINTS, PLAN_PARAMS, openapi
from rigfit.serve.params import Endpoint, Param

pytestmark = pytest.mark.xdist_group("serve")

MACHINE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def test_plan_is_the_cli_json(server, api_get, run_cli):
    status, body = api_get(
        server,
        "/api/plan",
        {"model": "qwen2.5-14b", "on": MACHINE, "ctx": 16384, "kv_type": "q8_0", "parallel": 2},
    )
    assert status == 200
    assert body == run_cli(
        "plan", "qwen2.5-14b", "--on", MACHINE, "--ctx", "16384", "--kv-type", "q8_0", "--parallel", "2"
    )


def test_plan_max_ctx_and_vllm_are_the_cli_json(server, api_get, run_cli):
    q = {"model": "llama-3.1-8b", "on": "RTX 4090"}
    status, body = api_get(server, "/api/plan", {**q, "max_ctx": "true"})
    assert status == 200 and body["max_ctx"] > 4096
    assert body == run_cli("plan", "llama-3.1-8b", "--on", "RTX 4090", "--max-ctx")
    status, body = api_get(server, "/api/plan", {**q, "runtime": "vllm"})
    assert status == 200 and "vllm_serve_line" in body["commands"]
    assert body == run_cli("plan", "llama-3.1-8b", "--on", "RTX 4090", "--runtime", "vllm")


def test_recommend_floor_cost_are_the_cli_json(server, api_get, run_cli):
    status, rec = api_get(server, "/api/recommend", {"on": MACHINE, "use": "code", "limit": 5})
    assert status == 200 and rec["picks"]
    assert rec == run_cli("recommend", "--on", MACHINE, "--use", "code", "--limit", "5")
    status, fl = api_get(server, "/api/floor", {"model": "llama-3.1-70b", "min_tps": 8, "budget_usd": 3000})
    assert status == 200 and fl["options"]
    assert fl == run_cli("floor", "llama-3.1-70b", "--min-tps", "8", "--budget-usd", "3000")
    status, co = api_get(
        server, "/api/cost", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "hours_per_day": 4}
    )
    assert status == 200
    assert co == run_cli("cost", "llama-3.1-8b", "--on", "RTX 3060 12GB", "--hours-per-day", "4")


def test_results_hardware_models_are_the_cli_json(server, api_get, run_cli):
    status, res = api_get(server, "/api/results")
    assert status == 200 and len(res["results"]) == 5
    assert res == run_cli("results")
    status, hw = api_get(server, "/api/hardware", {"name": "M3 Max 64GB"})
    assert status == 200 and hw == run_cli("hardware", "M3 Max 64GB")
    status, ms = api_get(server, "/api/models", {"search": "qwen2.5 14"})
    assert status == 200 and ms == run_cli("models", "--search", "qwen2.5 14")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/plan", {"model": "qwen3-30b-a3b", "on": MACHINE, "ctx": 8192}),
        ("/api/recommend", {"on": MACHINE, "limit": 3}),
        ("/api/compare", [("model", "llama-3.1-8b"), ("on", "RTX 3060 12GB"), ("on", "M3 Max 64GB")]),
        ("/api/floor", {"model": "llama-3.1-8b", "min_tps": 20}),
        ("/api/cost", {"model": "llama-3.1-8b", "on": MACHINE}),
        ("/api/results", {}),
        ("/api/hardware", {"name": "2x RTX 3090"}),
        ("/api/hardware/search", {"q": "3090"}),
        ("/api/models", {"family": "qwen3"}),
        ("/api/models/search", {"q": "qwen 14"}),
    ],
)
def test_every_answer_matches_its_published_schema(server, api_get, path, params):
    status, body = api_get(server, path, params)
    assert status == 200, body
    endpoint = next(ep for ep in ENDPOINTS if ep.path == path)
    checked_json(json.dumps(body), endpoint.schema)
    # the OpenAPI document publishes the same schema for the answer
    answer = openapi()["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == load_schema(endpoint.schema)


def test_compare_plans_each_machine_and_fills_the_quant_matrix(server, api_get, run_cli):
    ons = ["RTX 3060 12GB", "RTX 4090", "M3 Max 64GB"]
    status, body = api_get(
        server, "/api/compare", [("model", "llama-3.1-8b"), ("ctx", "8192"), *(("on", o) for o in ons)]
    )
    assert status == 200 and body["schema"] == "rigfit.compare/1"
    assert [m["query"] for m in body["machines"]] == ons
    assert body["machines"][1]["plan"] == run_cli("plan", "llama-3.1-8b", "--on", "RTX 4090", "--ctx", "8192")
    assert "Q4_K_M" in body["quants"] and "Q8_0" in body["quants"]
    for m in body["machines"]:
        assert [c["quant"] for c in m["quants"]] == body["quants"]
        q8, q4 = (next(c for c in m["quants"] if c["quant"] == q) for q in ("Q8_0", "Q4_K_M"))
        assert q8["memory_bytes"] > q4["memory_bytes"] > 0  # more bits, more memory
        assert q4["decode_tps"]["value"] > 0


def test_search_as_you_type(server, api_get):
    status, hw = api_get(server, "/api/hardware/search", {"q": "rtx 309"})
    assert status == 200
    names = [m["name"] for m in hw["matches"]]
    assert names[0] == "GeForce RTX 3090", names
    assert any(m["kind"] == "machine" and "3090" in m["name"] for m in hw["matches"])
    for q, kind in (("m3 max", "apple"), ("ryzen 7 5800x", "cpu"), ("cerebras", "hosted")):
        _, got = api_get(server, "/api/hardware/search", {"q": q})
        assert got["matches"] and got["matches"][0]["kind"] == kind, (q, got["matches"][:2])
    _, mo = api_get(server, "/api/models/search", {"q": "qwen 14"})
    assert {m["id"] for m in mo["matches"]} >= {"qwen2.5-14b", "qwen3-14b"}
    _, none = api_get(server, "/api/models/search", {"q": "zzzz-no-such"})
    assert none["matches"] == [] and none["count"] == 0


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/api/plan", {"model": "llama-3.1-8bb", "on": "RTX 3060 12GB"}, "Unknown model"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 9999 Ultra"}, "Unknown hardware"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "ctx": "abc"}, "whole number"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "ctx": "-5"}, "ctx"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "ctxx": "1"}, "Unknown parameter"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "kv_type": "q9"}, "KV"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "ngl": "many"}, "--ngl"),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "fa": "maybe"}, "must be one of"),
        (
            "/api/plan",
            {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "gpu_memory_utilization": "nan"},
            "finite",
        ),
        ("/api/plan", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "quant": "Q7_K"}, "Q7_K"),
        ("/api/plan", {"on": "RTX 3060 12GB"}, "'model' is required"),
        (
            "/api/plan",
            {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "max_ctx": "perhaps"},
            "true or false",
        ),
        ("/api/recommend", {"on": "RTX 3060 12GB", "min_tps": "-1"}, "--min-tps"),
        ("/api/recommend", {"on": "RTX 3060 12GB", "use": "gaming"}, "must be one of"),
        ("/api/floor", {"model": "llama-3.1-8b", "ctx": "999999999"}, "ctx"),
        ("/api/cost", {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "hours_per_day": "25"}, "24"),
        (
            "/api/cost",
            {"model": "llama-3.1-8b", "on": "RTX 3060 12GB", "hosted": "groq", "hosted_monthly_usd": "20"},
            "not both",
        ),
        ("/api/compare", [("model", "llama-3.1-8b"), *(("on", "RTX 4090"),) * 5], "at most 4"),
        ("/api/hardware", {"name": "GTX 99999"}, "Unknown hardware"),
        ("/api/models", {"family": "nosuchfamily"}, "Unknown model family"),
    ],
)
def test_bad_input_is_a_400_with_one_line(server, api_get, path, params, words):
    status, body = api_get(server, path, params)
    assert status == 400, body
    assert set(body) == {"schema", "error", "hint"}
    checked_json(json.dumps(body), "rigfit.error/1")
    assert words.lower() in (body["error"] + " " + (body["hint"] or "")).lower(), body
    assert "\n" not in body["error"] and "Traceback" not in body["error"]


def test_unknown_path_and_method_are_json(server, api_get):
    status, body = api_get(server, "/api/nope")
    assert status == 404 and "/api/plan" in body["hint"]
    req = urllib.request.Request(server + "/api/plan?model=x&on=y", method="POST", data=b"")
    try:
        urllib.request.urlopen(req, timeout=30)
        raise AssertionError("POST was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 405 and json.loads(e.read())["error"]


def test_a_defect_is_a_clean_json_answer_not_a_500(launch):
    """An exception that is not a user error is logged and answered 422 in the error shape."""
    import uvicorn

    from rigfit.serve.app import create_app

    def broken(args):
        raise ZeroDivisionError("division by zero")

    _, free_port, _ = launch
    port = free_port()
    ep = Endpoint("/api/broken", "always fails", (Param("x", int, "a number"),), "none", broken)
    config = uvicorn.Config(create_app([ep]), host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        for url, code in (("/api/broken?x=1", 422), ("/api/broken?x=y", 400)):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=30)
                raise AssertionError("no error")
            except urllib.error.HTTPError as e:
                body = json.loads(e.read())
                assert e.code == code and set(body) == {"schema", "error", "hint"}
                assert "Traceback" not in body["error"]
                if code == 422:
                    assert "ZeroDivisionError" in body["error"] and "defect" in body["hint"]
    finally:
        server.should_exit = True
        t.join(timeout=10)


def test_openapi_describes_every_endpoint_and_parameter(server, api_get):
    status, doc = api_get(server, "/api/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert doc == json.loads(json.dumps(openapi()))
    assert set(doc["paths"]) == {ep.path for ep in ENDPOINTS}
    for ep in ENDPOINTS:
        op = doc["paths"][ep.path]["get"]
        assert [p["name"] for p in op["parameters"]] == [p.name for p in ep.params]
        assert all(p["description"] for p in op["parameters"])
        assert {"200", "400"} <= set(op["responses"])
    plan_names = [p["name"] for p in doc["paths"]["/api/plan"]["get"]["parameters"]]
    assert plan_names == [p.name for p in PLAN_PARAMS]
    # every endpoint answers (the schema is not describing routes that do not exist)
    for ep in ENDPOINTS:
        status, _ = api_get(server, ep.path)
        assert status in (200, 400)


def test_pages_and_assets_load_nothing_from_the_network(server):
    import re

    for page in ("/", "/plan", "/recommend", "/compare", "/floor", "/measurements"):
        with urllib.request.urlopen(server + page, timeout=30) as r:
            html = r.read().decode()
            assert r.status == 200 and r.headers["content-type"].startswith("text/html")
        assert '<script src="/static/app.js">' in html
    for asset in ("index.html", "app.js", "style.css"):
        with urllib.request.urlopen(f"{server}/static/{asset}", timeout=30) as r:
            text = r.read().decode()
        # the SVG namespace is a name, not a download
        assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", text), asset
        assert "@import" not in text and "googleapis" not in text


def test_fifty_concurrent_plan_requests_all_succeed(server):
    """Load: 50 plan requests at once (latency figures live in benchmarks/serve_speed.py)."""
    import urllib.parse

    def one(i: int) -> tuple[int, str]:
        q = urllib.parse.urlencode(
            {"model": ("llama-3.1-8b", "qwen2.5-14b")[i % 2], "on": MACHINE, "ctx": 2048 * (1 + i % 8)}
        )
        with urllib.request.urlopen(f"{server}/api/plan?{q}", timeout=120) as r:
            return r.status, json.loads(r.read())["fit"]

    with ThreadPoolExecutor(max_workers=50) as pool:
        got = list(pool.map(one, range(50)))
    assert [s for s, _ in got] == [200] * 50
    assert {f for _, f in got} <= {"fits", "tight", "offload", "no"}


def test_only_answers_that_depend_on_their_arguments_alone_are_cached(tmp_path):
    from rigfit.serve.app import _cache_key

    eps = {ep.path: ep for ep in ENDPOINTS}
    rec = {
        "on": "RTX 4090",
        "use": "chat",
        "min_ctx": None,
        "min_tps": None,
        "max_quality_loss": None,
        "limit": 10,
    }
    assert _cache_key(eps["/api/recommend"], rec) == _cache_key(eps["/api/recommend"], dict(rec))
    assert _cache_key(eps["/api/recommend"], rec | {"limit": 5}) != _cache_key(eps["/api/recommend"], rec)
    assert _cache_key(eps["/api/recommend"], rec | {"on": "local"}) is None
    assert _cache_key(eps["/api/compare"], {"model": "llama-3.1-8b", "on": ["RTX 4090", "local"]}) is None
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    assert _cache_key(eps["/api/compare"], {"model": str(f), "on": ["RTX 4090"]}) is None
    assert _cache_key(eps["/api/results"], {"mine": False}) is None
    assert _cache_key(eps["/api/plan"], {"model": "llama-3.1-8b", "on": "RTX 4090"}) is None


def test_plan_users_and_kv_types_are_the_cli_json(server, api_get, run_cli):
    q = {
        "model": "llama-3.1-8b",
        "on": "RTX 4090",
        "users": 4,
        "min_tps": 30,
        "kv_type_k": "q8_0",
        "kv_type_v": "q5_1",
    }
    status, body = api_get(server, "/api/plan", q)
    assert status == 200 and body["concurrency"]["users"] == 4
    assert body == run_cli(
        "plan",
        "llama-3.1-8b",
        "--on",
        "RTX 4090",
        "--users",
        "4",
        "--min-tps",
        "30",
        "-ctk",
        "q8_0",
        "-ctv",
        "q5_1",
    )


def test_plan_keeps_the_os_reserve_of_the_machine_description(server, api_get):
    """The API reads the machine grammar's '(reserve N)' like the CLI; the default is the desktop's."""
    status, body = api_get(server, "/api/plan", {"model": "llama-3.1-8b", "on": MACHINE})
    assert status == 200 and body["machine"]["ram_reserve_bytes"] == 4 * 2**30
    status, body = api_get(server, "/api/plan", {"model": "llama-3.1-8b", "on": MACHINE + " (reserve 2GB)"})
    assert status == 200 and body["machine"]["ram_reserve_bytes"] == 2 * 2**30
    assert body["memory"]["devices"][-1]["capacity_bytes"] == 30 * 2**30
