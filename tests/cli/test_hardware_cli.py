"""``rigfit hardware``: rendering, JSON, listing and exit codes (through rigfit.cli.main)."""

from __future__ import annotations

import json

import pytest

from rigfit.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_shows_labelled_figures(capsys):
    code, out, _ = run(capsys, "hardware", "RTX 3060 12GB")
    assert code == 0
    assert "GeForce RTX 3060 12 GB" in out
    assert "12.0 GiB (12.9 GB)" in out  # both units labelled
    assert "360.0 GB/s" in out
    assert "51.0 TFLOPS" in out  # tensor FP16, not the 12.7 TF shader figure
    assert "looked-up" in out and "derived" in out
    assert "techpowerup" in out  # the source is printed


def test_words_may_be_unquoted(capsys):
    code, out, _ = run(capsys, "hardware", "M3", "Max", "40-core", "128GB")
    assert code == 0 and "128.0 GiB" in out and "409.6 GB/s" in out


def test_json_schema(capsys):
    code, out, _ = run(capsys, "hardware", "NVIDIA H100 80GB HBM3", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "rigfit.hardware/1"
    dev = doc["machine"]["accelerators"][0]
    assert dev["name"] == "H100 SXM5 80 GB"
    assert dev["memory_bytes"] == 80 * 1024**3
    assert dev["bandwidth_bytes_per_s"] == pytest.approx(3.36e12)
    assert dev["sources"]["fp16_flops"] and dev["status"]["fp16_flops"] == "verified"


def test_machine_json(capsys):
    code, out, _ = run(capsys, "hardware", "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200", "--json")
    assert code == 0
    m = json.loads(out)["machine"]
    assert m["cpu"]["name"] == "AMD Ryzen 7 5800X"
    assert m["host"]["ram_bytes"] == 32 * 1024**3
    assert m["host"]["ram_bandwidth_bytes_per_s"] == pytest.approx(51.2e9)
    assert m["host_link"]["kind"] == "pcie"


@pytest.mark.parametrize("kind", ["gpu", "apple", "cpu", "apu", "hosted"])
def test_list_kinds(capsys, kind):
    code, out, _ = run(capsys, "hardware", "--list", "--kind", kind, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "rigfit.hardware-list/1"
    assert doc["devices"] and {d["kind"] for d in doc["devices"]} == {kind}


def test_list_table(capsys):
    code, out, _ = run(capsys, "hardware", "--list", "--kind", "hosted")
    assert code == 0 and "Cerebras" in out and "Groq" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("hardware", "RTX 9999"), "Unknown hardware"),
        (("hardware", "quantum toaster"), "Unknown hardware"),
        (("hardware", "0x RTX 3090"), "Impossible device count 0"),
        (("hardware", "RTX 3060 + -32GB"), "Impossible RAM size"),
        (("hardware", "A100"), "ambiguous"),
        (("hardware", "M3 Max 40-core 256GB"), "no 256 GB configuration"),
        (("hardware", "2x RTX 4090 NVLink"), "no NVLink"),
        (("hardware",), "No hardware given"),
        (("hardware", "--list", "--kind", "fpga"), "Unknown device kind"),
        (("hardware", "RTX 3090", "--list"), "either a name or --list"),
        (("hardware", "RTX 3090", "--kind", "gpu"), "only apply with --list"),
    ],
)
def test_user_errors_exit_2_with_one_clear_line(capsys, args, needle):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith("error:")
    assert len(err.strip().splitlines()) <= 2  # the message and one suggestion line


def test_unknown_name_suggests(capsys):
    code, _, err = run(capsys, "hardware", "RTX 3070 Tii")
    assert code == 2 and "GeForce RTX 3070 Ti" in err
