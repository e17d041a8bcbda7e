"""``fits`` answers False without laying the table out when its longest words alone are wider than
the width (issue 15): the same answer as the layout's, at every width, before and after the
narrowing steps of ``fit_table``."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from rigfit.cli.fit import column_shortfall, drop_column, fits

WORDS = [
    ("#", "right", ["1", "2★", "25▲"]),
    ("model", "left", ["nous-hermes-2-mixtral-8x7b", "qwen3.5-35b-a3b", "gpt-oss-20b"]),
    ("quant", "left", ["IQ4_XS", "MXFP4_MOE", "Q5_K_M"]),
    ("tier", "left", ["large", "mid", "small model"]),
    ("decode tok/s", "right", ["10 (8–11)", "91 (74–108)", "51 (42–61)"]),
    ("GiB", "right", ["10.5+15", "11.4", "10.9+13"]),
    ("max ctx", "right", ["131,072", "—", "262,144"]),
]


def _table() -> Table:
    t = Table(title="a title that wraps in a narrow terminal", caption="a caption")
    for header, justify, _ in WORDS:
        t.add_column(header, justify=justify)  # type: ignore[arg-type]
    for i in range(3):
        t.add_row(*(cells[i] for _, _, cells in WORDS))
    return t


def test_fits_equals_the_layout_at_every_width() -> None:
    console = Console(file=io.StringIO(), width=200)
    t = _table()
    seen = set()
    for step in ("all", "tier", "max ctx", "GiB"):
        if step != "all":
            assert drop_column(t, step)
        needs: dict[tuple[int, str], int] = {}
        for width in range(5, 160):
            got = fits(console, t, width, needs)
            assert got == (column_shortfall(console, t, width) == 0), (step, width)
            seen.add(got)
    assert seen == {True, False}  # both answers were given
