"""Regression tests for bugs found by exercising every command as a user would (review pass).

Each test names the command and input that misbehaved. Offline and fast: catalog models only,
no llama.cpp runs.
"""

from __future__ import annotations

import json
import re

import pytest

from rigfit.cli import main
from rigfit.errors import RigfitError
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import REFERENCE_BOX, resolve_machine
from rigfit.plan import PlanSettings, make_plan, max_context


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``rigfit ARGS`` in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


# --- help text: "[tokens]" was eaten as rich markup -------------------------------------------


@pytest.mark.parametrize(
    ("command", "unit"), [("floor", "[tok/s]"), ("recommend", "[tokens]"), ("report", "[tokens]")]
)
def test_help_keeps_bracketed_units(capsys, command, unit):
    code, out, _ = cli(capsys, command, "--help")
    assert code == 0 and unit in out


# --- plan: bad numbers were accepted silently --------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--prompt", "0"),
        ("--prompt", "-1"),
        ("--ngl", "-3"),
        ("--runtime", "vllm", "--gpu-memory-utilization", "5"),
    ],
)
def test_plan_rejects_bad_numbers(capsys, args):
    code, _, err = cli(capsys, "plan", "llama-3.1-8b", "--on", REFERENCE_BOX, *args)
    assert code == 2 and "error:" in err


def test_empty_model_name_is_a_user_error(capsys):
    with pytest.raises(RigfitError, match="Empty model name"):
        load_model_source("  ")
    code, _, err = cli(capsys, "plan", "", "--on", REFERENCE_BOX)
    assert code == 2 and "rigfit models" in err


def test_gpt_oss_defaults_to_its_native_mxfp4_in_plan_as_in_cost():
    assert load_model_source("gpt-oss-20b").file_type == "MXFP4_MOE"
    assert load_model_source("llama-3.1-8b").file_type == "Q4_K_M"


# --- plan on hosted systems: said "fits" with a llama-server line ------------------------------


def test_plan_on_cerebras_is_hosted_with_systems_needed(capsys):
    p = make_plan(load_model_source("deepseek-v3"), resolve_machine("WSE-3"))
    assert p.fit == "hosted" and p.commands == {} and p.devices == []
    # ~404 GB of weights over 44 GB of SRAM per system: at least 10 systems
    assert p.hosted.systems_needed >= 10
    assert p.to_json()["hosted"]["systems_needed"] == p.hosted.systems_needed
    code, out, _ = cli(capsys, "plan", "deepseek-v3", "--on", "WSE-3")
    assert code == 0 and "hosted" in out and "llama-server" not in out and "looked up" in out


def test_floor_lists_hosted_systems_for_models_larger_than_one_system():
    from rigfit.catalog.models import resolve_model
    from rigfit.floor import hardware_floor

    res = hardware_floor(resolve_model("deepseek-v3"), "Q4_K_M", machines=[resolve_machine("WSE-3")])
    assert len(res.hosted) == 1 and res.hosted[0].evaluation.systems_needed >= 10


# --- plan verdicts ----------------------------------------------------------------------------


def test_plan_with_no_known_capacity_is_unknown_not_fits():
    p = make_plan(load_model_source("llama-3.1-70b"), resolve_machine("Ryzen 7 5800X"), with_speed=False)
    assert p.fit == "unknown"


def test_plan_that_does_not_fit_has_no_speed_and_a_suggestion():
    p = make_plan(
        load_model_source("qwen2.5-14b"), resolve_machine(REFERENCE_BOX), PlanSettings(n_ctx=10_000_000)
    )
    assert p.fit == "no" and p.speed is None and "does not fit" in p.speed_reason
    notes = " ".join(p.notes)
    assert "beyond the native context" in notes and "--max-ctx" in notes


# --- recommend agreed with plan --max-ctx? ---------------------------------------------------


def test_recommend_max_ctx_matches_plan_max_ctx():
    from rigfit.recommend import max_context_for

    m = resolve_machine(REFERENCE_BOX)
    spec = load_model_source("qwen2.5-14b", "Q4_K_M")
    assert max_context_for(m, "qwen2.5-14b", "Q4_K_M") == max_context(spec, m, PlanSettings()) > 4096


# --- check: "1e12 tok/s" was read as 12, "-5 tok/s" as 5 ----------------------------------------


def test_check_reads_exponents_and_rejects_non_positive_values(capsys, tmp_path):
    from rigfit.claims import parse_claims

    assert parse_claims("Llama-3.1-8B Q4_K_M at 1e12 tok/s on RTX 3090")[0].value == 1e12
    assert parse_claims("Llama-3.1-8B Q4_K_M at 1,200 tok/s on RTX 3090")[0].value == 1200
    for bad in (
        "Llama-3.1-8B Q4_K_M at -5 tok/s on RTX 3090",
        "Llama-3.1-8B Q4_K_M at 0 tok/s on RTX 3090",
        "hardware,model,quant,metric,value\nRTX 3090,llama-3.1-8b,Q4_K_M,decode_tps,-4\n",
    ):
        with pytest.raises(RigfitError, match="not a positive number"):
            parse_claims(bad)
    code, _, err = cli(capsys, "check", str(tmp_path))
    assert code == 2 and "folder" in err


# --- cost / recommend / floor: negative money and impossible workloads -------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "llama-3.1-8b", "--on", REFERENCE_BOX, "--hardware-usd", "-100"),
        ("cost", "llama-3.1-8b", "--on", REFERENCE_BOX, "--hosted-monthly-usd", "-3"),
        ("cost", "llama-3.1-8b", "--on", REFERENCE_BOX, "--tokens-per-day", "1e15"),
        ("recommend", "--on", REFERENCE_BOX, "--min-tps", "-3"),
        ("recommend", "--on", REFERENCE_BOX, "--max-quality-loss", "-1"),
        ("floor", "llama-3.1-8b", "--budget-usd", "-1"),
    ],
)
def test_money_and_workload_inputs_are_checked(capsys, args):
    code, _, err = cli(capsys, *args)
    assert code == 2 and "error:" in err


def test_tokens_per_day_beyond_one_machine_is_an_error_not_a_40_billion_hour_day():
    from rigfit.estimate.cost import PowerProfile, Workload, cost_summary

    power = PowerProfile(devices_tdp_w=(170.0,), devices_idle_w=(15.0,), rest_w=65.0)
    with pytest.raises(RigfitError, match="more than a day"):
        cost_summary(50.0, power, Workload(tokens_per_day=1e9))
    s = cost_summary(50.0, power, Workload(tokens_per_day=1e6))  # 5.6 h of generation: fine
    assert 5 < s.busy_hours_per_day < 6


# --- results --import: a truncated ground-truth row became an empty stored result -------------


def test_ground_truth_import_skips_truncated_rows(tmp_path):
    from rigfit.measure.groundtruth import GROUND_TRUTH_COLUMNS
    from rigfit.measure.importers import parse_ground_truth_csv

    good = {c: "" for c in GROUND_TRUTH_COLUMNS}
    good.update(
        hardware="NVIDIA GeForce RTX 3090",
        n_devices="1",
        backend="CUDA",
        model="Llama 3.1 8B",
        quant="Q4_K_M",
        test="tg128",
        tokens_per_s="120.5",
        source_url="https://example.org/x",
    )
    f = tmp_path / "gt.csv"
    f.write_text(
        ",".join(GROUND_TRUTH_COLUMNS)
        + "\n"
        + ",".join(good[c] for c in GROUND_TRUTH_COLUMNS)
        + "\nhttps://github.com/XiongjieDai/GPU\n",
        encoding="utf-8",
    )
    batch = parse_ground_truth_csv(f)
    assert [r.tokens_per_s for r in batch.results] == [120.5]
    assert len(batch.warnings) == 1 and "skipped" in batch.warnings[0]


def test_bench_timeout_must_be_positive():
    from rigfit.measure.bench import BenchSettings

    with pytest.raises(RigfitError, match="--timeout"):
        BenchSettings(model_path="m.gguf", timeout_s=0).validate()


def test_plan_json_for_hosted_is_valid_json(capsys):
    code, out, _ = cli(capsys, "plan", "llama-3.1-8b", "--on", "Groq LPU", "--json")
    assert code == 0 and json.loads(out)["fit"] == "hosted"


# --- more: hosted wall power, recommend without RAM, -np speed, hosted memory in evaluations ---


def test_hardware_does_not_invent_a_desktop_wall_power_for_hosted_systems(capsys):
    code, out, _ = cli(capsys, "hardware", "WSE-3")
    assert code == 0 and "not yours to meter" in out and "idle 32" not in out


def test_recommend_without_any_known_memory_says_so(capsys):
    code, _, err = cli(capsys, "recommend", "--on", "Ryzen 7 5800X")
    assert code == 2 and "unknown" in err and "32GB" in err


def test_plan_shows_per_user_and_total_speed_with_parallel_slots(capsys):
    code, out, _ = cli(capsys, "plan", "llama-3.1-8b", "--on", "RTX 3090 + 64GB", "--parallel", "4")
    assert code == 0 and "4 users decoding at once" in out and "in total" in out


def test_hosted_evaluation_reports_the_memory_the_model_needs():
    from rigfit.catalog.models import resolve_model
    from rigfit.recommend import evaluate

    ev = evaluate(resolve_machine("WSE-3"), resolve_model("llama-3.1-8b"), "Q4_K_M", 8192)
    assert ev.fit == "hosted" and ev.memory_bytes > 4e9 and ev.systems_needed == 1


def test_inspect_config_only_folder_reports_unknown_bytes_not_exact_zero(capsys, tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llama",
                "hidden_size": 4096,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "intermediate_size": 14336,
                "vocab_size": 128256,
                "max_position_embeddings": 131072,
                "torch_dtype": "bfloat16",
            }
        ),
        encoding="utf-8",
    )
    code, out, _ = cli(capsys, "inspect", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["tensor_bytes"] is None
    code, out, _ = cli(capsys, "inspect", str(tmp_path))
    assert code == 0 and "unknown" in out and "exact, from the header" not in out


@pytest.mark.parametrize("spec", ["WSE-3 + RTX 3090", "Groq LPU + Ryzen 7 5800X", "WSE-3 + 64GB"])
def test_hosted_system_cannot_be_mixed_with_local_devices(spec):
    with pytest.raises(RigfitError, match="hosted system"):
        resolve_machine(spec)


def test_plan_on_local_applies_the_factors_rigfit_calibrate_fitted():
    """`rigfit calibrate` promises that later predictions for this machine use its factors."""
    from rigfit.measure.fingerprint import detect_fingerprint
    from rigfit.measure.store import Calibration, open_store

    spec = load_model_source("llama-3.2-1b")
    local = resolve_machine("local")
    before = make_plan(spec, local).speed
    with open_store() as store:  # the test's private store (conftest)
        store.add_calibration(Calibration(detect_fingerprint().id, {"pp": 0.5, "tg": 0.25}, 2))
    after = make_plan(spec, local).speed
    assert after.decode_tps.provenance == "calibrated"
    assert after.decode_tps.value == pytest.approx(before.decode_tps.value * 0.25)
    assert after.prefill_tps.value == pytest.approx(before.prefill_tps.value * 0.5)
    assert after.ttft_s.value == pytest.approx(before.ttft_s.value / 0.5)


def test_floor_rejects_context_beyond_training(capsys):
    code, _, err = cli(capsys, "floor", "llama-3.1-8b", "--ctx", "10000000")
    assert code == 2 and "training context" in err


# --- second review: predict fit / n_devices, hosted labels, -np context, recurrent words, "no" ------

_CASE = {
    "hardware": "NVIDIA GeForce RTX 3060 12 GB",
    "hardware_kind": "nvidia",
    "n_devices": "1",
    "backend": "CUDA",
    "model": "llama 8B Q4_K - Medium (Llama 3)",
    "model_family": "llama",
    "params_b": "8.03",
    "quant": "Q4_K_M",
    "model_size_gib": "4.58",
    "test": "tg128",
    "gen_tokens": "128",
    "ngl": "99",
}


@pytest.mark.parametrize("ngl", ["99", "", "10"])
def test_predict_says_a_kv_cache_that_can_never_fit_does_not_fit(ngl):
    from rigfit.estimate.predict import predict_rows

    rows = [dict(_CASE, ngl=ngl), dict(_CASE, ngl=ngl, test="tg128@d99999999")]
    ok, huge = predict_rows(rows)
    assert ok["status"] == "ok" and float(ok["predicted_tps"]) > 1
    assert huge["status"].startswith("unresolved: does not fit") and huge["predicted_tps"] == ""


@pytest.mark.parametrize("n", ["-2", "abc", "0", "1.5"])
def test_predict_reports_a_bad_device_count_and_goes_on(n):
    from rigfit.estimate.predict import predict_rows

    bad, good = predict_rows([dict(_CASE, n_devices=n), dict(_CASE, n_devices="2")])
    assert bad["status"].startswith("unresolved: n_devices") and repr(n) in bad["status"]
    assert bad["predicted_tps"] == "" and good["status"] == "ok"


def test_predict_cli_keeps_going_past_bad_rows(capsys, tmp_path):
    import csv

    inp, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [dict(_CASE, n_devices="-2"), dict(_CASE, test="tg128@d99999999"), _CASE]
    with open(inp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(_CASE))
        w.writeheader()
        w.writerows(rows)
    code, _, err = cli(capsys, "predict", "--cases", str(inp), "--out", str(out))
    assert code == 0 and "1 predicted, 2 unresolved" in err
    with open(out, newline="", encoding="utf-8") as fh:
        got = [r["status"] for r in csv.DictReader(fh)]
    assert got[0].startswith("unresolved: n_devices") and "does not fit" in got[1] and got[2] == "ok"


def test_hosted_speed_for_a_model_the_vendor_does_not_serve_is_estimated(capsys):
    p = make_plan(load_model_source("deepseek-v3"), resolve_machine("WSE-3"))
    tg = p.speed.decode_tps
    assert tg.provenance == "estimated" and "other models" in tg.source
    assert tg.low <= tg.value / 1.9 and tg.high >= tg.value * 1.9  # a wide band, not a figure
    served = make_plan(load_model_source("gpt-oss-120b"), resolve_machine("WSE-3")).speed.decode_tps
    assert served.provenance == "looked_up" and served.value == 2059.0  # the vendor's own figure
    code, out, _ = cli(capsys, "plan", "deepseek-v3", "--on", "WSE-3", "--json")
    assert code == 0 and json.loads(out)["speed"]["decode_tps"]["provenance"] == "estimated"


def test_plan_decode_at_context_uses_the_per_slot_context_without_kvu():
    spec, box = load_model_source("llama-3.1-8b"), resolve_machine("RTX 3090 + 64GB")
    split = make_plan(spec, box, PlanSettings(n_ctx=32768, n_parallel=4)).speed
    unified = make_plan(spec, box, PlanSettings(n_ctx=32768, n_parallel=4, kv_unified=True)).speed
    one = make_plan(spec, box, PlanSettings(n_ctx=8192)).speed
    assert split.context_tokens == 8192 and unified.context_tokens == 32768
    assert split.decode_tps_ctx.value == pytest.approx(one.decode_tps_ctx.value)
    assert split.decode_tps_ctx.value > unified.decode_tps_ctx.value


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("mamba-codestral-7b", "weights and recurrent state"),
        ("granite-4.0-h-tiny", "weights, KV cache and recurrent state"),
        ("llama-3.1-8b", "weights and KV cache"),
    ],
)
def test_bottleneck_names_what_the_model_actually_reads(model, words):
    from rigfit.estimate.speed import model_work, state_words

    assert state_words(model_work(load_model_source(model))) == words


def test_recurrent_model_bottleneck_does_not_mention_a_kv_cache():
    p = make_plan(load_model_source("mamba-codestral-7b", "Q8_0"), resolve_machine("RTX 3060 12 GB"))
    assert "memory bandwidth" in p.speed.bottleneck and "KV" not in p.speed.bottleneck
    assert "recurrent state" in p.speed.bottleneck


def test_plan_that_does_not_fit_prints_what_would_make_it_run_not_a_command(capsys):
    code, out, _ = cli(capsys, "plan", "llama-3.1-8b", "--on", "RTX 3060 12 GB + 8GB", "--ctx", "131072")
    assert code == 0 and "Verdict: no" in out
    assert "llama-server" not in out and "Ollama" not in out and "num_ctx" not in out
    assert "To make it run" in out and re.search(r"--ctx [\d,]+ fits", out) and "smaller --quant" in out
    code, out, _ = cli(
        capsys, "plan", "llama-3.1-8b", "--on", "RTX 3060 12 GB + 8GB", "--ctx", "131072", "--json"
    )
    assert code == 0 and json.loads(out)["fit"] == "no"
    code, out, _ = cli(capsys, "plan", "llama-3.1-8b", "--on", "RTX 3060 12 GB + 8GB", "--ctx", "32768")
    assert code == 0 and "llama-server" in out and "To make it run" not in out  # fits: command shown
