"""Issue 18, defects 3, 7, 8, 10: no write outside what the user named (report --out symlinks,
--out '', matplotlib's cache), no read outside the model folder (HF weight_map), special files
refused, hostile headers and configs give one line and exit 2."""

from __future__ import annotations

import json
import math
import os
import struct

import pytest
from typer.testing import CliRunner

from rigfit.cli import _load_commands
from rigfit.cli.app import app
from rigfit.errors import BadFileError, RigfitError
from rigfit.formats.hf import model_from_hf
from rigfit.formats.safetensors import read_safetensors_dir, read_safetensors_header
from rigfit.safeio import check_output_dir

_load_commands([])
runner = CliRunner()

LLAMA_CONFIG = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 512,
    "vocab_size": 1000,
    "max_position_embeddings": 4096,
}


def _safetensors(path, header: dict, data: bytes = b"\0" * 64) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def _one_line_exit_2(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    return lines[0]


# --- report --out ------------------------------------------------------------------------------


def test_report_out_refuses_planted_symlinks_before_computing(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.html").symlink_to(victim)
    line = _one_line_exit_2(["report", "--on", "RTX 3060", "--out", str(out), "--no-charts", "--force"])
    assert "symbolic link" in line
    assert victim.read_text() == "keep"
    (out / "report.html").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "charts").symlink_to(elsewhere, target_is_directory=True)
    assert "symbolic link" in _one_line_exit_2(["report", "--on", "RTX 3060", "--out", str(out)])
    assert list(elsewhere.iterdir()) == []


def test_report_out_empty_is_refused_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "empty" in _one_line_exit_2(["report", "--on", "RTX 3060", "--out", ""])
    assert list(tmp_path.iterdir()) == []


def test_report_out_existing_report_needs_force(tmp_path):
    (tmp_path / "report.md").write_text("mine")
    assert "--force" in _one_line_exit_2(["report", "--on", "RTX 3060", "--out", str(tmp_path)])
    assert (tmp_path / "report.md").read_text() == "mine"


def test_report_out_where_no_folder_can_be_made_is_one_line(tmp_path):
    # found by benchmarks/fuzz_all.py: /proc/x passed the checks, then mkdir raised a traceback
    (tmp_path / "afile").write_text("x")
    assert "Cannot create" in _one_line_exit_2(
        ["report", "--on", "RTX 3060", "--out", "/proc/x", "--no-charts"]
    )
    under_file = str(tmp_path / "afile" / "sub")
    assert "is a file" in _one_line_exit_2(["report", "--on", "RTX 3060", "--out", under_file, "--no-charts"])


def test_check_output_dir_refuses_unwritable_parent(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as a user that ignores file permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(RigfitError, match="permission"):
            check_output_dir(ro / "new")
    finally:
        ro.chmod(0o700)


def test_matplotlib_cache_goes_to_rigfit_cache_dir(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path / "cache"))
    from rigfit.report import charts

    charts._plt()
    assert os.environ["MPLCONFIGDIR"] == str(tmp_path / "cache" / "matplotlib")


def test_atomic_report_write_replaces_a_symlink_not_its_target(tmp_path):
    from rigfit.report.document import Report, write_report

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.md").symlink_to(victim)
    write_report(Report("t"), out)
    assert victim.read_text() == "keep" and not (out / "report.md").is_symlink()


# --- HF folders ------------------------------------------------------------------------------------


def test_weight_map_traversal_is_refused_without_echoing_bytes(tmp_path):
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(b"TOPSECRET" * 10)
    model = tmp_path / "a" / "b" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    (model / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"x": "../../../secret.safetensors"}})
    )
    with pytest.raises(BadFileError) as info:
        read_safetensors_dir(model)
    assert "outside" in str(info.value) or "not a file name" in str(info.value)
    assert "TOPSECRET" not in str(info.value)
    line = _one_line_exit_2(["inspect", str(model)])
    assert "TOPSECRET" not in line


def test_symlinked_shard_pointing_outside_is_refused(tmp_path):
    outside = tmp_path / "outside.safetensors"
    _safetensors(outside, {"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})
    model = tmp_path / "model"
    model.mkdir()
    (model / "s.safetensors").symlink_to(outside)
    (model / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"t": "s.safetensors"}}))
    with pytest.raises(BadFileError, match="outside"):
        read_safetensors_dir(model)


@pytest.mark.parametrize("weight_map", [{"x": 5}, {"x": None}, ["a"], "x", {"x": ""}])
def test_bad_weight_map_values_are_one_error(tmp_path, weight_map):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    with pytest.raises(BadFileError):
        read_safetensors_dir(tmp_path)


def test_non_utf8_index_is_one_error(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_bytes(b'{"weight_map": {"\xff": 1}}')
    with pytest.raises(RigfitError, match="UTF-8"):
        read_safetensors_dir(tmp_path)


@pytest.mark.parametrize(
    "entry",
    [
        {"dtype": ["F32"], "shape": [4], "data_offsets": [0, 16]},
        {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 16]},
        {"dtype": "F32", "shape": [4], "data_offsets": [0, 1e400]},
        {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]},
        {"dtype": "F32", "shape": [True], "data_offsets": [0, 16]},
        {"dtype": "F32", "shape": [10**30], "data_offsets": [0, 16]},
        {"dtype": "F32", "shape": "4", "data_offsets": [0, 16]},
    ],
)
def test_hostile_safetensors_entries_are_one_error(tmp_path, entry):
    f = tmp_path / "m.safetensors"
    raw = json.dumps({"t": entry}).replace("Infinity", "1e400").encode()
    f.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 64)
    with pytest.raises(BadFileError):
        read_safetensors_header(f)


def test_deeply_nested_json_is_one_error(tmp_path):
    f = tmp_path / "m.safetensors"
    raw = b"[" * 100000 + b"]" * 100000
    f.write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(BadFileError, match="nested"):
        read_safetensors_header(f)
    (tmp_path / "config.json").write_bytes(b'{"a":' * 100000 + b"1" + b"}" * 100000)
    with pytest.raises(BadFileError):
        model_from_hf(tmp_path)


def test_symlink_loop_and_fifo_shards_are_refused(tmp_path):
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    with pytest.raises(RigfitError):
        read_safetensors_header(loop)
    fifo = tmp_path / "fifo.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(RigfitError, match="FIFO"):
        read_safetensors_header(fifo)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"architectures": 5}, None),
        ({"head_dim": "64"}, "head_dim"),
        ({"model_type": "deepseek_v3", "kv_lora_rank": "512"}, "kv_lora_rank"),
        ({"partial_rotary_factor": "half", "head_dim": 64}, "partial_rotary_factor"),
        ({"hidden_size": 2**62}, "embedding_length"),
        ({"num_key_value_heads": 1e30}, "num_key_value_heads"),
        ({"max_position_embeddings": 1e400}, "max_position_embeddings"),
        ({"num_attention_heads": 0}, "head_count"),
        ({"vocab_size": "HUGE"}, None),
    ],
)
def test_hf_configs_with_wrong_kinds(tmp_path, change, words):
    cfg = json.dumps({**LLAMA_CONFIG, **change}).replace("Infinity", "1e400").replace('"HUGE"', "9" * 5000)
    (tmp_path / "config.json").write_text(cfg)
    result = runner.invoke(app, ["inspect", str(tmp_path)])
    assert result.exit_code in (0, 2), result.exception
    assert "Traceback" not in result.output
    if words:
        assert result.exit_code == 2 and words in result.stderr


# --- GGUF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value",
    [
        ("llama.embedding_length", math.nan),
        ("llama.embedding_length", math.inf),
        ("llama.embedding_length", 2**63),
        ("llama.block_count", 12.5),
        ("llama.attention.head_count", 0),
        ("llama.context_length", "long"),
    ],
)
def test_gguf_hostile_architecture_keys(tmp_path, key, value):
    from rigfit.formats.gguf import GGUFFile, read_gguf
    from rigfit.formats.gguf_arch import architecture_from_gguf
    from synth import write_llama

    g = read_gguf(write_llama(tmp_path / "m.gguf").path)
    meta = dict(g.metadata)
    meta[key] = value
    fake = GGUFFile(
        path=g.path,
        version=g.version,
        byte_order=g.byte_order,
        alignment=g.alignment,
        metadata=meta,
        types=g.types,
        tensors=g.tensors,
        parts=g.parts,
    )
    with pytest.raises(BadFileError) as info:
        architecture_from_gguf(fake)
    assert "should be a number, not" not in str(info.value)


def test_fifo_model_and_dev_zero_are_refused_clearly(tmp_path):
    fifo = tmp_path / "m.gguf"
    os.mkfifo(fifo)
    assert "FIFO" in _one_line_exit_2(["inspect", str(fifo)])
    line = _one_line_exit_2(["plan", str(fifo), "--on", "RTX 4090"])
    assert "no such" not in line.lower()
    assert "no such" not in _one_line_exit_2(["plan", "/dev/zero", "--on", "RTX 4090"]).lower()


def test_fifo_in_a_model_folder_never_hangs(tmp_path):
    os.mkfifo(tmp_path / "x.gguf")
    line = _one_line_exit_2(["plan", str(tmp_path), "--on", "RTX 4090"])
    assert "FIFO" in line
    result = runner.invoke(app, ["local", str(tmp_path)])
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
    bench = runner.invoke(app, ["bench", str(tmp_path / "x.gguf")])
    assert bench.exit_code == 2 and "Traceback" not in bench.output
