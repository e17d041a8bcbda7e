"""A third-party engine adds itself through the ``rigfit.engines`` entry-point group.

The toy package (tests/data/toy_engine/rigfit_toy) is "installed" the way pip would leave it: the
module and a ``toy_engine-0.1.dist-info`` (METADATA + entry_points.txt) in a folder on sys.path,
so importlib.metadata finds it like any installed distribution. No network, no pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rigfit.catalog.models import get_model
from rigfit.cli import main
from rigfit.engines import GROUP, Engine, engine_names, get_engine
from rigfit.engines.llamacpp import LlamaCppEngine
from rigfit.engines.vllm import VllmEngine
from rigfit.errors import RigfitError
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import NoteCode, PlanSettings, Verdict, note_code

TOY_SRC = Path(__file__).resolve().parents[1] / "data" / "toy_engine" / "rigfit_toy"
ROOT = Path(__file__).resolve().parents[2]

#: What the toy distribution registers: its engine, an attempt to take over a built-in's name,
#: and an engine whose module does not exist.
ENTRY_POINTS = f"""[{GROUP}]
toy = rigfit_toy:ToyEngine
llama.cpp = rigfit_toy:ToyEngine
llamacpp = rigfit_toy:ToyEngine
broken = rigfit_toy_missing:Engine
notanengine = rigfit_toy:TOY_RUNTIME_BYTES
"""


def install_toy(site: Path) -> Path:
    """Lay the toy distribution out in ``site`` as an installer would; returns ``site``."""
    shutil.copytree(TOY_SRC, site / "rigfit_toy")
    info = site / "toy_engine-0.1.dist-info"
    info.mkdir()
    metadata = "Metadata-Version: 2.1\nName: toy-engine\nVersion: 0.1\n"
    (info / "METADATA").write_text(metadata, encoding="utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return site


@pytest.fixture
def toy_site(tmp_path, monkeypatch):
    site = install_toy(tmp_path / "site-packages")
    site.mkdir(exist_ok=True)
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("rigfit_toy", None)


def _spec(model_id: str, quant: str):
    return catalog_model_spec(get_model(model_id), quant)


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_toy_engine_is_discovered_and_plans_through_the_public_api(toy_site):
    assert "toy" in engine_names()
    eng = get_engine("toy")
    assert isinstance(eng, Engine) and eng.name == "toy" and eng.formats == ("TOY",)
    spec = _spec("llama-3.1-8b", "Q4_K_M")
    p = make_plan(spec, resolve_machine("RTX 4090 + 32GB"), PlanSettings(runtime="toy"))
    assert p.fit is Verdict.FITS
    assert p.devices[0].total_bytes == spec.weights_bytes + 2**30
    assert p.commands["toy_serve"] == ["toy-serve", "llama-3.1-8b", "--ctx", "4096"]
    assert [note_code(n) for n in p.notes] == [NoteCode.ENGINE]
    assert p.speed is None and p.speed_reason == "speed is not modelled for toy"
    small = make_plan(spec, resolve_machine("RTX 3050 4GB"), PlanSettings(runtime="toy"))
    assert small.fit is Verdict.NO
    with pytest.raises(RigfitError, match="at most 4 slots"):  # the engine's own settings check
        make_plan(spec, resolve_machine("RTX 4090"), PlanSettings(runtime="toy", n_parallel=8))


def test_toy_engine_plans_through_the_cli(toy_site, capsys):
    code, out, _ = run_main(
        ["plan", "llama-3.1-8b", "--on", "RTX 4090 + 32GB", "--runtime", "toy", "--json"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert data["fit"] == "fits" and data["settings"]["runtime"] == "toy"
    assert data["commands"]["toy_serve_line"] == "toy-serve llama-3.1-8b --ctx 4096"
    code, out, _ = run_main(["plan", "llama-3.1-8b", "--on", "RTX 4090 + 32GB", "--runtime", "toy"], capsys)
    assert code == 0
    assert "toy: toy-serve llama-3.1-8b --ctx 4096" in out and "toy result:" in out
    assert "Verdict: fits" in out and "llama-server" not in out and "Ollama" not in out


def test_toy_engine_cannot_take_over_or_break_the_builtins(toy_site, capsys):
    assert engine_names()[:2] == ["llama.cpp", "vllm"]
    assert isinstance(get_engine("llama.cpp"), LlamaCppEngine)
    assert isinstance(get_engine("llamacpp"), LlamaCppEngine)
    assert isinstance(get_engine("vllm"), VllmEngine)
    spec = _spec("llama-3.1-8b", "Q4_K_M")
    p = make_plan(spec, resolve_machine("RTX 4090 + 32GB"), PlanSettings(), with_speed=False)
    assert p.fit is Verdict.FITS and "llama_server" in p.commands
    # a registered engine that cannot be imported, or is not an engine, fails alone and says so
    with pytest.raises(RigfitError, match=r"'broken' \(rigfit_toy_missing:Engine\) failed to load"):
        get_engine("broken")
    with pytest.raises(RigfitError, match="does not implement rigfit's Engine interface"):
        get_engine("notanengine")
    code, _, err = run_main(["plan", "llama-3.1-8b", "--on", "RTX 4090", "--runtime", "broken"], capsys)
    assert code == 2 and "failed to load" in err and "Traceback" not in err
    assert isinstance(get_engine("llama.cpp"), LlamaCppEngine)


def test_unknown_runtime_is_one_line_listing_the_engines(toy_site, capsys):
    code, out, err = run_main(["plan", "llama-3.1-8b", "--on", "RTX 4090", "--runtime", "sglang"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: Unknown --runtime 'sglang'; the engines are: llama.cpp, vllm, broken, notanengine, toy."
    )


def test_builtins_are_known_without_any_installed_metadata(monkeypatch):
    """From a source tree (no rigfit dist-info): the built-ins still resolve."""
    monkeypatch.setattr("rigfit.engines.registry.entry_points", lambda group: [])
    monkeypatch.setattr("rigfit.engines.registry._discovered", {})
    assert engine_names() == ["llama.cpp", "vllm"]
    assert isinstance(get_engine("vllm"), VllmEngine)
    with pytest.raises(RigfitError, match=r"Unknown runtime 'toy'; the engines are: llama\.cpp, vllm\."):
        make_plan(_spec("llama-3.1-8b", "Q4_K_M"), resolve_machine("RTX 4090"), PlanSettings(runtime="toy"))


def test_toy_engine_end_to_end_in_a_fresh_process(tmp_path):
    """The installed-package experience: a new interpreter with the toy's folder on its path."""
    site = install_toy(tmp_path / "site")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT / "src")]))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rigfit",
            "plan",
            "llama-3.1-8b",
            "--on",
            "RTX 4090 + 32GB",
            "--runtime",
            "toy",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["commands"]["toy_serve"][0] == "toy-serve"
