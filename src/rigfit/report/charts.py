"""Charts for reports (matplotlib, Agg backend; PNG and SVG side by side).

matplotlib is the optional ``report`` extra; without it :func:`available` is False and reports
are written without charts (the Markdown says so).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from rigfit.errors import RigfitError
from rigfit.formats.bundled import cache_dir
from rigfit.report.document import Chart
from rigfit.safeio import atomic_output, clean_text


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
                dpi=110 if ext == "png" else None,
                bbox_inches="tight",
                metadata={"Date": None} if ext == "svg" else None,
            )
        chart.files.append(f"charts/{chart.stem}.{ext}")
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
) -> Chart:
    """Lines ``name -> (x, y)``; optional ``bands`` ``name -> (low, high)`` shaded."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, (xs, ys) in series.items():
        (ln,) = ax.plot(xs, ys, marker="o", markersize=3, label=name)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(xs, lo, hi, color=ln.get_color(), alpha=0.15, linewidth=0)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
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
    ax.legend(fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
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
) -> Chart:
    """Labelled points ``(x, y, label)``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    ax.scatter(xs, ys, s=22)
    for x, y, lab in points:
        ax.annotate(lab, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if logx:
        ax.set_xscale("symlog", linthresh=0.001)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, out_dir, Chart(title, stem, caption))


def tradeoff_chart(
    out_dir: Path,
    stem: str,
    title: str,
    series: dict[str, list[tuple[float, float, str]]],
    xlabel: str,
    ylabel: str,
    caption: str = "",
) -> Chart:
    """One line per series through labelled points ``(x, y, label)``; symlog x (0 allowed)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for name, pts in series.items():
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        (ln,) = ax.plot(xs, ys, marker="o", markersize=4, label=name)
        for x, y, lab in pts:
            ax.annotate(
                lab, (x, y), fontsize=6.5, xytext=(3, 3), textcoords="offset points", color=ln.get_color()
            )
    ax.set_xscale("symlog", linthresh=0.001)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, out_dir, Chart(title, stem, caption))
