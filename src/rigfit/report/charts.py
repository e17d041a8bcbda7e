"""Charts for reports (matplotlib, Agg backend; PNG and SVG side by side).

matplotlib is the optional ``report`` extra; without it :func:`available` is False and reports
are written without charts (the Markdown says so).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from rigfit import __version__
from rigfit.errors import RigfitError
from rigfit.formats.bundled import cache_dir
from rigfit.report.document import Chart
from rigfit.safeio import atomic_output, clean_text

#: PNG resolution [dots per inch]: 220 keeps text sharp on high-DPI (2×) screens and in print.
PNG_DPI = 220
#: The credit line under every chart unless a chart names its own sources.
CREDIT = f"Source: rigfit {__version__} estimates (rigfit speed and memory models, rigfit hardware catalog)"
#: Label size used for placement [points]; annotations are drawn at this size.
LABEL_FONT_PT = 6.5


def context_label(tokens: float) -> str:
    """An axis label for a context length: 1024 -> '1K', 65536 -> '64K', 1048576 -> '1M'."""
    n = round(tokens)
    if n >= 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}K"
    return f"{n:,}"


def spread_labels(
    anchors: list[tuple[float, float]], sizes: list[tuple[float, float]], step: float = 2.0, tries: int = 40
) -> list[tuple[float, float]]:
    """Offsets [same unit as the inputs] that keep labels from overlapping.

    anchors: where each label would sit (its lower-left corner); sizes: (width, height) of each.
    Labels are placed in order; a label that would overlap one already placed moves up, then
    down, by ``step`` until it is clear (at most ``tries`` steps each way). Returns (dx, dy) per
    label; dx is always 0.
    """
    placed: list[tuple[float, float, float, float]] = []
    out: list[tuple[float, float]] = []

    def clear(x: float, y: float, w: float, h: float) -> bool:
        return all(x + w <= a or a + c <= x or y + h <= b or b + d <= y for a, b, c, d in placed)

    for (x, y), (w, h) in zip(anchors, sizes, strict=True):
        dy = 0.0
        for k in range(tries * 2 + 1):
            cand = (k + 1) // 2 * step * (1 if k % 2 else -1)
            if clear(x, y + cand, w, h):
                dy = cand
                break
        placed.append((x, y + dy, w, h))
        out.append((0.0, dy))
    return out


def _credit(fig, text: str) -> None:
    """The source/credit line at the bottom left of a chart."""
    fig.text(0.01, -0.02, text, fontsize=6.5, color="0.35", ha="left", va="top", wrap=True)


def available() -> bool:
    try:
        import matplotlib  # noqa: F401  # lazy: optional, heavy (report extra)
    except ImportError:
        return False
    return True


def _plt():
    """matplotlib.pyplot on the Agg backend; lazy: matplotlib is the optional report extra.

    matplotlib keeps its font cache in MPLCONFIGDIR (default ~/.cache/matplotlib or
    ~/.config/matplotlib, https://matplotlib.org/stable/install/environment_variables_faq.html);
    rigfit points it at its own cache folder unless the user set it.
    """
    if not os.environ.get("MPLCONFIGDIR"):
        d = cache_dir() / "matplotlib"
        with contextlib.suppress(OSError):
            d.mkdir(parents=True, exist_ok=True)
            os.environ["MPLCONFIGDIR"] = str(d)
    # lazy: matplotlib is an optional, heavy dependency (the report says how to install it)
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # lazy: after choosing the Agg backend

    return plt


def _save(fig, out_dir: Path, chart: Chart) -> Chart:
    d = out_dir / "charts"
    if d.is_symlink():
        raise RigfitError(
            f"{clean_text(str(d))} is a symbolic link; not writing through it.",
            "Remove it, or choose another --out folder.",
        )
    d.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "svg"):
        p = d / f"{chart.stem}.{ext}"
        with atomic_output(p, "wb", force=True) as fh:  # replaces a planted symlink, never follows it
            fig.savefig(
                fh,
                format=ext,
                dpi=PNG_DPI if ext == "png" else None,
                bbox_inches="tight",
                metadata={"Date": None} if ext == "svg" else None,
            )
        chart.files.append(f"charts/{chart.stem}.{ext}")
        chart.embedded[ext] = p.read_bytes()
    _plt().close(fig)
    return chart


def line_chart(
    out_dir: Path,
    stem: str,
    title: str,
    series: dict[str, tuple[list[float], list[float]]],
    xlabel: str,
    ylabel: str,
    caption: str = "",
    bands: dict | None = None,
    logx: bool = False,
    context_axis: bool = False,
    notes: list[tuple[float, float, str]] | None = None,
    credit: str = CREDIT,
) -> Chart:
    """Lines ``name -> (x, y)``; optional ``bands`` ``name -> (low, high)`` shaded.

    context_axis: x is a context length, ticked 1K, 2K … 64K at the plotted points. notes:
    ``(x, y, text)`` explanations drawn on the chart with an arrow to the point (a cliff).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, (xs, ys) in series.items():
        (ln,) = ax.plot(xs, ys, marker="o", markersize=3, label=name)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(xs, lo, hi, color=ln.get_color(), alpha=0.15, linewidth=0)
    if logx:
        ax.set_xscale("log", base=2)
    if context_axis:
        ticks = sorted({x for xs, _ in series.values() for x in xs})
        ax.set_xticks(ticks, [context_label(t) for t in ticks])
        ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    for i, (x, y, text) in enumerate(notes or ()):
        ax.annotate(
            text,
            (x, y),
            xytext=(0.03, 0.06 + 0.16 * i),
            textcoords="axes fraction",
            fontsize=7,
            ha="left",
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.7"},
            arrowprops={"arrowstyle": "->", "color": "0.3", "linewidth": 0.8},
            wrap=True,
        )
    _credit(fig, credit)
    return _save(fig, out_dir, Chart(title, stem, caption))


def stacked_bars(
    out_dir: Path,
    stem: str,
    title: str,
    labels: list[str],
    parts: dict[str, list[float]],
    ylabel: str,
    caption: str = "",
    limit: float | None = None,
    limit_label: str = "",
    credit: str = CREDIT,
) -> Chart:
    """Stacked bars: one bar per label, one segment per ``parts`` key; optional horizontal limit."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    bottom = [0.0] * len(labels)
    for name, vals in parts.items():
        ax.bar(labels, vals, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    if limit is not None:
        ax.axhline(limit, color="crimson", linestyle="--", linewidth=1.2, label=limit_label or "limit")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    # headroom above the tallest bar and the limit line; the legend beside the plot, over nothing
    ax.set_ylim(0, max([*bottom, limit or 0.0]) * 1.12 or 1.0)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    _credit(fig, credit)
    return _save(fig, out_dir, Chart(title, stem, caption))


def scatter(
    out_dir: Path,
    stem: str,
    title: str,
    points: list[tuple[float, float, str]],
    xlabel: str,
    ylabel: str,
    caption: str = "",
    logx: bool = False,
    credit: str = CREDIT,
) -> Chart:
    """Labelled points ``(x, y, label)``; labels moved apart where they would overlap."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    ax.scatter(xs, ys, s=22)
    if logx:
        ax.set_xscale("symlog", linthresh=0.001)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _label_series(ax, fig, [(points, None)])
    _credit(fig, credit)
    return _save(fig, out_dir, Chart(title, stem, caption))


def tradeoff_chart(
    out_dir: Path,
    stem: str,
    title: str,
    series: dict[str, list[tuple[float, float, str]]],
    xlabel: str,
    ylabel: str,
    caption: str = "",
    credit: str = CREDIT,
) -> Chart:
    """One line per series through labelled points ``(x, y, label)``; symlog x (0 allowed).

    A label shared by several series (the same quant of several models sits at about the same
    x) is written once, at its highest point; labels are moved apart so none overlaps another
    (:func:`spread_labels`).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.6))
    colored: list[tuple[list[tuple[float, float, str]], str | None]] = []
    for name, pts in series.items():
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        (ln,) = ax.plot(xs, ys, marker="o", markersize=4, label=name)
        colored.append((pts, ln.get_color()))
    ax.set_xscale("symlog", linthresh=0.001)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    highest: dict[str, tuple[float, float, str]] = {}
    for pts, _ in colored:
        for x, y, lab in pts:
            if lab not in highest or y > highest[lab][1]:
                highest[lab] = (x, y, lab)
    _label_series(ax, fig, [(sorted(highest.values()), "0.2")])
    _credit(fig, credit)
    return _save(fig, out_dir, Chart(title, stem, caption))


def _label_series(ax, fig, colored: list[tuple[list[tuple[float, float, str]], str | None]]) -> None:
    """Label the points of several series, placed together so labels of different series do not
    overlap either; each label in its series' colour."""
    fig.canvas.draw()
    pt = fig.dpi / 72.0
    flat = [(x, y, lab, color) for pts, color in colored for x, y, lab in pts]
    anchors = [
        (float(px) + 3 * pt, float(py) + 3 * pt)
        for px, py in (ax.transData.transform((x, y)) for x, y, _, _ in flat)
    ]
    sizes = [(len(lab) * 0.6 * LABEL_FONT_PT * pt, 1.25 * LABEL_FONT_PT * pt) for _, _, lab, _ in flat]
    offsets = spread_labels(anchors, sizes, step=2 * pt)
    for (x, y, lab, color), (_, dy) in zip(flat, offsets, strict=True):
        ax.annotate(
            lab,
            (x, y),
            fontsize=LABEL_FONT_PT,
            xytext=(3, 3 + dy / pt),
            textcoords="offset points",
            color=color,
            arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.5} if dy else None,
        )
