"""Report writer and charts (issue 7: `rigfit report`)."""

from __future__ import annotations

import re

import pytest

from clirun import run_cli
from jsonschemas import checked_json
from rigfit.figures import Figure
from rigfit.report import charts
from rigfit.report.charts import context_label, spread_labels
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
    assert '<th class="num">tok/s [est]</th>' in html and "<!DOCTYPE html>" in html
    assert '<td class="num" data-v="42">42 (35–50)</td>' in html and "<td>Q4_K_M</td>" in html
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
    assert html.count('<table class="sortable">') >= 5
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


# --- issue 17: "The report looks like defaults" ------------------------------------------------


def _png_dpi(path) -> float:
    """Resolution from the PNG pHYs chunk [dots per inch] (pixels per metre × 0.0254)."""
    data = path.read_bytes()
    i = data.index(b"pHYs")
    ppm = int.from_bytes(data[i + 4 : i + 8], "big")
    assert data[i + 12] == 1  # unit: metre
    return ppm * 0.0254


def _svg_texts(path) -> list[str]:
    """matplotlib writes each text of an SVG as a comment next to its glyphs."""
    return re.findall(r"<!-- (.*?) -->", path.read_text())


def test_html_embeds_every_chart_and_loads_nothing_from_the_network(rendered):
    out, files = rendered
    html = (out / "report.html").read_text()
    imgs = re.findall(r'<img src="([^"]+)"', html)
    assert len(imgs) == files["n_charts"] >= 2
    assert all(src.startswith("data:image/svg+xml;base64,") for src in imgs)
    assert not re.search(r'(src|href)="https?:', html)


def test_html_tables_are_sortable_with_numbers_right_aligned(rendered):
    out, _ = rendered
    html = (out / "report.html").read_text()
    assert "<script>" in html and "table.sortable" in html and "aria-sort" in html
    assert html.count('class="num"') > 20
    assert re.search(r'<td class="num" data-v="[0-9.e+-]+">', html)
    # a label column is not numeric: quant names stay left-aligned text
    assert "<td>Q4_K_M</td>" in html


def test_charts_are_high_dpi_with_a_credit_line_and_1k_to_64k_axis(rendered):
    out, files = rendered
    for f in files["files"]["charts"]:
        p = out / "charts" / f.rsplit("/", 1)[1]
        if p.suffix == ".png":
            assert _png_dpi(p) >= 200
        else:
            assert any(t.startswith("Source: ") for t in _svg_texts(p)), p.name
    texts = _svg_texts(out / "charts" / "decode_vs_context.svg")
    assert {"1K", "4K", "8K", "16K", "32K", "64K"} <= set(texts)


def test_the_32k_cliff_is_explained_on_the_chart(rendered):
    out, _ = rendered
    texts = " ".join(_svg_texts(out / "charts" / "decode_vs_context.svg"))
    # Llama 3.1 8B Q8_0 on a 12 GB card: at 32K the KV cache pushes layers to system RAM
    assert "Q8_0 from 32K context: KV cache no longer fits in fast memory" in texts
    md = (out / "report.md").read_text()
    assert "stops fitting in fast memory" in md


def test_spread_labels_never_overlap():
    # eight labels on almost the same spot (the same quant of several models)
    anchors = [(100.0 + i, 50.0 + 0.5 * i) for i in range(8)]
    sizes = [(40.0, 10.0)] * 8
    offsets = spread_labels(anchors, sizes, step=2.0)
    boxes = [(x, y + dy, w, h) for (x, y), (_, dy), (w, h) in zip(anchors, offsets, sizes, strict=True)]
    for i, (x, y, w, h) in enumerate(boxes):
        for a, b, c, d in boxes[i + 1 :]:
            assert x + w <= a or a + c <= x or y + h <= b or b + d <= y, boxes
    assert offsets[0] == (0.0, 0.0)  # the first label stays where it was


def test_context_axis_labels():
    assert [context_label(n) for n in (1024, 4096, 65536, 131072, 1048576, 1000)] == [
        "1K",
        "4K",
        "64K",
        "128K",
        "1M",
        "1,000",
    ]


def test_without_matplotlib_the_report_says_how_to_install_and_keeps_the_tables(tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "available", lambda: False)
    res = run_cli("report", "--on", "M4 Pro 48GB", "--out", str(tmp_path / "r"))
    assert res.exit_code == 0, res.stderr
    assert "matplotlib is not installed" in res.stderr and "pip install 'rigfit[report]'" in res.stderr
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## Quantisation matrix" in md and "## Charts" not in md
