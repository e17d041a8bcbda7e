"""``rigfit plan FILE`` names the quant the tensors hold: a gpt-oss file whose ``general.file_type``
is F16 but whose routed experts are MXFP4 (unsloth's gpt-oss-20b-F16.gguf) reads
"F16 (MXFP4 experts)", read from the tensor types, not from the name."""

from __future__ import annotations

import json
from pathlib import Path

import synth
from archs.moe_synth import write_gpt_oss
from clirun import run_cli
from jsonschemas import checked_json
from rigfit.catalog.arch import file_type_label
from rigfit.formats.source import load_model_source

ON = "RTX 3060 12GB + 32GB DDR4-3200"


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "RIGFIT_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path / "home"),
        "COLUMNS": "200",
    }


def test_gpt_oss_f16_file_is_labelled_mxfp4_experts(tmp_path: Path) -> None:
    # a neutral file name: the label must come from the tensor types
    path = write_gpt_oss(tmp_path / "model.gguf", n_layer=2, wtype="F16").path
    env = _env(tmp_path)
    text = run_cli("plan", str(path), "--on", ON, env=env)
    assert text.exit_code == 0, text.stderr
    assert "F16 (MXFP4 experts) on" in text.stdout.splitlines()[0]
    out = run_cli("plan", str(path), "--on", ON, "--json", env=env)
    assert out.exit_code == 0, out.stderr
    model = checked_json(out.stdout, "rigfit.plan/1")["model"]
    assert model["file_type"] == "F16"  # general.file_type, as the header holds it
    assert model["file_type_label"] == "F16 (MXFP4 experts)"


def test_float_experts_and_quantized_files_keep_their_file_type(tmp_path: Path) -> None:
    """An MoE F16 file with F16 experts, and a gpt-oss file of another file type, are not relabelled."""
    moe = load_model_source(str(synth.write_moe(tmp_path / "moe.gguf", n_layer=2, wtype="F16").path))
    assert moe.file_type == "F16" and file_type_label(moe) == "F16"
    q8 = write_gpt_oss(tmp_path / "q8.gguf", n_layer=2, wtype="Q8_0").path
    spec = load_model_source(str(q8))
    assert file_type_label(spec) == spec.file_type == "Q8_0"
    out = run_cli("plan", str(q8), "--on", ON, "--json", env=_env(tmp_path))
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["model"]["file_type_label"] == "Q8_0"
