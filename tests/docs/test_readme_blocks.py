"""Every ``$ rigfit …`` example in the README runs as shown (issue 17): the README's output is what
the command prints now (layout folded; measured figures and this machine's CPU masked; see
tools/readme_blocks.py, which also rewrites the outputs with ``--update``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("readme_blocks", ROOT / "tools" / "readme_blocks.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["readme_blocks"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.xdist_group("readme")
def test_every_readme_example_shows_its_real_output():
    tool = _tool()
    examples = [
        ex for b in tool.parse_blocks((ROOT / "README.md").read_text().splitlines()) for ex in b.examples
    ]
    assert len(examples) >= 15  # the tour, mistakes, bench, inspect, run, calibrate
    # measured examples (bench, run, calibrate) must run and answer; their figures vary with load
    problems = tool.run_all(ROOT / "README.md", update=False, strict_volatile=False)
    assert not problems, "\n\n".join(problems) + "\n(python tools/readme_blocks.py --update rewrites them)"


def test_the_comparison_catches_a_changed_figure_and_honours_elision():
    tool = _tool()
    ex = tool.Example("rigfit plan x", ["line one", "...", "decode 58.3 tok/s"], 1)
    assert tool.matches(ex, ["line one", "anything", "decode 58.3 tok/s"], "cpu")
    assert not tool.matches(ex, ["line one", "anything", "decode 60.1 tok/s"], "cpu")
    vol = tool.Example("rigfit bench", ["on Xeon (2 threads): 410.5 tok/s"], 1, recorded_cpu="Xeon")
    assert tool.matches(vol, ["on EPYC 7763 (2 threads): 593 tok/s"], "EPYC 7763")
    assert not tool.matches(vol, ["on EPYC 7763 (2 threads): 593 tok/min"], "EPYC 7763")
