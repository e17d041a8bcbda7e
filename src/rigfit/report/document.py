"""Report structures and writers: Markdown, self-contained HTML, chart files.

Every column carries a provenance tag — ``est`` (estimated by rigfit's models), ``looked up``
(catalog figure with a source), ``measured`` — shown in its header, so every number in a report
says where it comes from.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

from rigfit.safeio import atomic_output

PROVENANCE_TAGS = {
    "estimated": "est",
    "looked_up": "looked up",
    "measured": "measured",
    "calibrated": "calibrated",
    "input": "input",
    "": "",
}


@dataclass
class Column:
    """A table column: header text and provenance of its numbers ("" for labels)."""

    title: str
    provenance: str = ""

    @property
    def header(self) -> str:
        tag = PROVENANCE_TAGS.get(self.provenance, self.provenance)
        return f"{self.title} [{tag}]" if tag else self.title


@dataclass
class Table:
    """One table: a title, columns, rows of already formatted cells, and notes (sources, caveats)."""

    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    intro: str = ""

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(["" if c is None else str(c) for c in cells])


@dataclass
class Chart:
    """A chart written to ``<stem>.png`` and ``<stem>.svg`` under the report's ``charts/``."""

    title: str
    stem: str
    caption: str = ""
    files: list[str] = field(default_factory=list)
    #: the written bytes by extension ("png", "svg"): the HTML embeds them as data: URIs
    embedded: dict[str, bytes] = field(default_factory=dict, repr=False)


@dataclass
class Report:
    title: str
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def table_markdown(t: Table) -> str:
    lines = [f"## {t.title}", ""]
    if t.intro:
        lines += [t.intro, ""]
    lines.append("| " + " | ".join(_md_cell(c.header) for c in t.columns) + " |")
    lines.append("|" + "|".join("---" for _ in t.columns) + "|")
    for r in t.rows:
        lines.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
    if not t.rows:
        lines.append("| " + " | ".join("—" for _ in t.columns) + " |")
    if t.notes:
        lines.append("")
        lines += [f"- {n}" for n in t.notes]
    return "\n".join(lines) + "\n"


def to_markdown(rep: Report) -> str:
    out = [f"# {rep.title}", ""]
    out += [*rep.summary, ""] if rep.summary else []
    for t in rep.tables:
        out.append(table_markdown(t))
    if rep.charts:
        out.append("## Charts\n")
        for c in rep.charts:
            png = next((f for f in c.files if f.endswith(".png")), None)
            out.append(f"### {c.title}\n")
            if png:
                out.append(f"![{c.title}]({png})\n")
            if c.caption:
                out.append(c.caption + "\n")
    if rep.footer:
        out += ["---", *rep.footer]
    return "\n".join(out).rstrip() + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;font-size:.92em}th{background:#f3f3f3}caption{text-align:left;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#e6e6e6}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.notes{font-size:.85em;color:#555}img{max-width:100%}figure{margin:1em 0}
figcaption{font-size:.85em;color:#555}"""

#: Click a header to sort by that column (again to reverse); numbers sort by value (data-v).
#: Plain DOM, no framework, nothing loaded from the network.
_SORT_JS = """document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=th.getAttribute('aria-sort')!=='ascending';
t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
th.setAttribute('aria-sort',asc?'ascending':'descending');
function key(r){var c=r.cells[i];if(!c)return '';var v=c.getAttribute('data-v');
return v===null?c.textContent.trim().toLowerCase():parseFloat(v)}
rows.sort(function(x,y){var a=key(x),c=key(y);
if(typeof a!==typeof c){return typeof a==='number'?-1:1}
return (a<c?-1:a>c?1:0)*(asc?1:-1)});
rows.forEach(function(r){b.appendChild(r)})})})});"""

#: A cell that is a figure: optional sign or currency, digits with thousands commas and a decimal
#: point, then an optional unit or band ("42 (35–50)", "$1,299", "12.3 GiB", "1.05×", "−3 %").
_NUMBER = re.compile(r"^\s*[~≈<>≤≥+\-−]?\s*\$?\s*(\d[\d,]*(?:\.\d+)?)")
_EMPTY = ("", "—", "-", "–", "n/a", "?")


def cell_number(text: str) -> float | None:
    """The leading figure of a table cell, or None when the cell is not a number."""
    m = _NUMBER.match(text)
    if not m:
        return None
    value = float(m.group(1).replace(",", ""))
    return -value if text.strip().startswith(("-", "−")) else value


def numeric_columns(t: Table) -> list[bool]:
    """Per column: True when most non-empty cells start with a figure (right-aligned, sorted by
    value; words such as "won't run" in such a column sort after the numbers)."""
    out = []
    for i in range(len(t.columns)):
        cells = [r[i] for r in t.rows if r[i].strip() not in _EMPTY]
        numbers = sum(cell_number(c) is not None for c in cells)
        out.append(bool(cells) and numbers * 2 > len(cells))
    return out


def table_html(t: Table) -> str:
    import html  # lazy: rigfit recommend imports this module for fmt_band alone (~2 ms, issue 15)

    e = html.escape
    h = [f"<h2>{e(t.title)}</h2>"]
    if t.intro:
        h.append(f"<p>{e(t.intro)}</p>")
    numeric = numeric_columns(t)
    head = "".join(
        f'<th class="num">{e(c.header)}</th>' if n else f"<th>{e(c.header)}</th>"
        for c, n in zip(t.columns, numeric, strict=True)
    )
    h.append(f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>')
    for r in t.rows:
        cells = []
        for c, n in zip(r, numeric, strict=True):
            v = cell_number(c) if n else None
            cells.append(
                f'<td class="num" data-v="{v:g}">{e(c)}</td>' if v is not None else f"<td>{e(c)}</td>"
            )
        h.append("<tr>" + "".join(cells) + "</tr>")
    h.append("</tbody></table>")
    if t.notes:
        h.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in t.notes) + "</ul>")
    return "\n".join(h)


_MIME = {"svg": "image/svg+xml", "png": "image/png"}


def chart_src(c: Chart) -> str | None:
    """The chart as a data: URI (SVG, else PNG), so the HTML needs no other file and no network;
    the relative file path when its bytes were not kept."""
    for ext in ("svg", "png"):
        if ext in c.embedded:
            return f"data:{_MIME[ext]};base64," + base64.b64encode(c.embedded[ext]).decode("ascii")
    return next((f for f in c.files if f.endswith((".svg", ".png"))), None)


def to_html(rep: Report) -> str:
    import html  # lazy, as in table_html

    e = html.escape
    body = [f"<h1>{e(rep.title)}</h1>"]
    body += [f"<p>{e(s)}</p>" for s in rep.summary]
    body += [table_html(t) for t in rep.tables]
    if rep.charts:
        body.append("<h2>Charts</h2>")
        for c in rep.charts:
            src = chart_src(c)
            body.append(f"<figure><h3>{e(c.title)}</h3>")
            if src:
                body.append(f'<img src="{e(src)}" alt="{e(c.title)}">')
            if c.caption:
                body.append(f"<figcaption>{e(c.caption)}</figcaption>")
            body.append("</figure>")
    if rep.footer:
        body.append('<hr><div class="notes">' + "".join(f"<p>{e(f)}</p>" for f in rep.footer) + "</div>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        + e(rep.title)
        + f"</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{_SORT_JS}</script>\n</body></html>\n"
    )


def write_report(rep: Report, out_dir: str | Path) -> dict[str, list[str]]:
    """Write ``report.md`` and ``report.html`` (charts must already be in ``out_dir/charts``).

    Returns the written paths by kind: markdown, html, charts.
    """

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "report.md"
    ht = out / "report.html"
    # temp file + rename: a symlink planted at report.html is replaced, never written through
    with atomic_output(md, "w", force=True, encoding="utf-8") as fh:
        fh.write(to_markdown(rep))
    with atomic_output(ht, "w", force=True, encoding="utf-8") as fh:
        fh.write(to_html(rep))
    return {
        "markdown": [str(md)],
        "html": [str(ht)],
        "charts": [str(out / f) for c in rep.charts for f in c.files],
    }


def fmt_band(fig, digits: int = 0, band: bool = True) -> str:
    """'42 (35–50)' for a Figure with a band, '42' without, '—' when unknown."""
    if fig is None or fig.value is None:
        return "—"
    s = f"{fig.value:,.{digits}f}"
    if band and fig.low is not None and fig.high is not None:
        s += f" ({fig.low:,.{digits}f}–{fig.high:,.{digits}f})"
    return s
