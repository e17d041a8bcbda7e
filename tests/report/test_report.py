"""Report writer and charts (issue 7: `rigfit report`)."""

from __future__ import annotations

import re

import pytest

from clirun import run_cli
from jsonschemas import checked_json
from rigfit.figures import Figure
from rigfit.report.document import Column, Report, Table, fmt_band, to_html, to_markdown, write_report


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_markdown_and_html_writer(tmp_path):
    t = Table(
        "Demo",
        [Column("quant"), Column("tok/s", "estimated"), Column("price", "looked_up")],
        notes=["a | note"],
    )
    t.add("Q4_K_M", "42 (35–50)", "$215")
    with pytest.raises(ValueError):
        t.add("too", "few")
    rep = Report("Title", summary=["hello"], tables=[t])
    md = to_markdown(rep)
    assert "| quant | tok/s [est] | price [looked up] |" in md
    assert "a \\| note" not in md and "- a | note" in md  # notes are bullets, not table cells
    html = to_html(rep)
    assert "<th>tok/s [est]</th>" in html and "<!DOCTYPE html>" in html
    files = write_report(rep, tmp_path / "out")
    assert (tmp_path / "out" / "report.md").read_text() == md
    assert files["html"][0].endswith("report.html")
    assert fmt_band(Figure(42.0, "tok/s", "estimated", low=35, high=50)) == "42 (35–50)"
    assert fmt_band(None) == "—"


def test_charts_write_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib")
    from rigfit.report import charts

    c1 = charts.line_chart(
        tmp_path,
        "lines",
        "Decode vs context",
        {"Q4_K_M": ([1024, 4096, 16384], [40.0, 36.0, 28.0])},
        "ctx",
        "tok/s",
        bands={"Q4_K_M": ([35, 31, 24], [45, 41, 32])},
        logx=True,
    )
    c2 = charts.stacked_bars(
        tmp_path,
        "bars",
        "Memory",
        ["Q4_K_M", "Q8_0"],
        {"weights": [4.6, 7.9], "KV": [1.0, 1.0]},
        "GiB",
        limit=12,
        limit_label="VRAM",
    )
    c3 = charts.scatter(
        tmp_path, "pts", "Speed vs quality", [(0.03, 40, "a"), (0.001, 25, "b")], "KLD", "tok/s", logx=True
    )
    for c in (c1, c2, c3):
        assert sorted(f.rsplit(".", 1)[1] for f in c.files) == ["png", "svg"]
        png = tmp_path / next(f for f in c.files if f.endswith(".png"))
        w, h = _png_size(png)
        assert w > 300 and h > 200
        svg = (tmp_path / next(f for f in c.files if f.endswith(".svg"))).read_text()
        assert "<svg" in svg
    rep = Report("R", charts=[c1, c2])
    md = to_markdown(rep)
    assert len(re.findall(r"!\[[^\]]*\]\(charts/[a-z]+\.png\)", md)) == 2


REFERENCE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("report")
    res = run_cli("report", "--on", REFERENCE, "--out", str(out), "--json")
    assert res.exit_code == 0, res.stderr
    return out, checked_json(res.stdout, "rigfit.report/1")


def test_report_has_tables_and_charts(rendered):
    out, files = rendered
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert files["n_tables"] >= 5 and files["n_charts"] >= 2
    files = files["files"]
    for title in (
        "Quantisation matrix",
        "Benchmark table",
        "Spec delta",
        "Within reach",
        "Perf per dollar",
        "Verdict matrix",
    ):
        assert f"## {title}" in md and title in html
    assert html.count("<table>") >= 5
    # every table's numeric columns say where their numbers come from
    headers = [ln for ln in md.splitlines() if ln.startswith("| ") and "---" not in ln and "[" in ln]
    assert len(headers) >= 5
    assert "[est]" in md and "[looked up]" in md
    pngs = [out / f for f in files["charts"] if f.endswith(".png")]
    assert len(pngs) >= 2
    for p in pngs:
        w, h = _png_size(p)
        assert w >= 400 and h >= 250 and p.stat().st_size > 10_000
        assert f"charts/{p.name}" in md
    assert all((out / f).exists() for f in files["charts"])


def test_report_numbers_are_consistent_with_the_planner(rendered):
    out, _ = rendered
    md = (out / "report.md").read_text()
    rows = {
        ln.split("|")[1].strip(): ln
        for ln in md.split("## Quantisation matrix", 1)[1].split("##", 1)[0].splitlines()
        if ln.startswith("| Q") or ln.startswith("| F16")
    }
    assert {"Q4_K_M", "Q8_0", "F16"} <= set(rows)
    assert "fits" in rows["Q4_K_M"]
    assert "offload" in rows["F16"]  # 16 GB of F16 weights cannot sit in 12 GB of VRAM
    bench = md.split("## Benchmark table", 1)[1].split("##", 1)[0]
    assert "Llama 3.1 70B" in bench and "won't run" in bench.split("Llama 3.1 70B", 1)[1]
