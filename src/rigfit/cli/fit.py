"""Make a Rich table fit the terminal without cutting a word.

Rich shrinks a table that is wider than the terminal by narrowing columns below their longest
word, which prints "devi…" for "device" and "fi…" for the verdict "fits". :func:`fit_table`
instead applies a table's own narrowing steps in order (a shorter header, then dropping the
least useful column) until every column is at least as wide as its longest word, so cells wrap
between words and nothing is cut. Every command that prints a table calls it with the width of
the console it prints to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Column, Table


def column_shortfall(
    console: Console, table: Table, width: int, needs: dict[tuple[int, str], int] | None = None
) -> int:
    """How many columns Rich would draw narrower than their longest word at ``width`` columns
    (plus one when the table would come out wider than ``width``).

    needs: a memo of each column's longest word (by column and header) that a caller trying
    several widths or column sets of one table passes to every call (a column's cells do not
    change, and measuring them is most of the cost).
    """
    # Rich lays the columns out in the width left after the borders
    options = console.options.update_width(width - table._extra_width)
    widths = table._calculate_column_widths(console, options)
    # a column that cannot wrap (no_wrap) is not narrowed: the table then overflows the width
    short = int(sum(widths) + table._extra_width > width)
    memo = needs if needs is not None else {}
    for column, drawn in zip(table.columns, widths, strict=True):
        if drawn < _need(console, table, column, memo):
            short += 1
    return short


def _need(console: Console, table: Table, column: Column, memo: dict[tuple[int, str], int]) -> int:
    """The width of ``column``'s longest word, padding included (kept in ``memo`` by column and
    header)."""
    key = (id(column), str(column.header))
    need = memo.get(key)
    if need is None:
        need = memo[key] = table._measure_column(
            console, console.options.update_width(10_000), column
        ).minimum
    return need


def _word_widths(console: Console, table: Table) -> list[tuple[int, int]]:
    """(longest word, whole content) width of each column's cells, padding excluded."""
    options = console.options.update_width(10_000)
    out = []
    for column in table.columns:
        m = table._measure_column(console, options, column)
        pad = table._get_padding_width(column._index)
        out.append((m.minimum - pad, m.maximum - pad))
    return out


def allot_widths(console: Console, table: Table, width: int) -> bool:
    """Give every column at least its longest word, sharing what is left by content width.

    Rich's own layout narrows the widest columns first, below their longest word; fixed widths
    keep each word whole. False (nothing changed) when the longest words alone do not fit.
    """
    words = _word_widths(console, table)
    pads = [table._get_padding_width(c._index) for c in table.columns]
    room = width - table._extra_width - sum(pads) - sum(w for w, _ in words)
    if room < 0:
        return False
    wants = [max(0, whole - word) for word, whole in words]
    total_want = sum(wants)
    for column, (word, _), want in zip(table.columns, words, wants, strict=True):
        extra = min(want, room * want // total_want) if total_want else 0
        column.width = word + extra
    return True


def fits(console: Console, table: Table, width: int, needs: dict[tuple[int, str], int] | None = None) -> bool:
    """True when ``table`` draws within ``width`` columns with no word cut (``needs``: as for
    :func:`column_shortfall`)."""
    memo = needs if needs is not None else {}
    if sum(_need(console, table, column, memo) for column in table.columns) + table._extra_width > width:
        # the longest words alone are wider than ``width``: whatever Rich's layout, the table
        # overflows or a column is narrower than its longest word (no layout needed to say so)
        return False
    return column_shortfall(console, table, width, memo) == 0


def drop_column(table: Table, header: str, original: Mapping[int, str] | None = None) -> bool:
    """Remove the column headed ``header`` (and its cells); False when there is none.

    ``original``: id(column) -> the header it had before it was shortened.
    """
    for column in table.columns:
        if header in (str(column.header), (original or {}).get(id(column))):
            table.columns.remove(column)
            for index, col in enumerate(table.columns):
                col._index = index
            return True
    return False


def fit_table(
    console: Console,
    table: Table,
    *,
    short_headers: Mapping[str, str] | None = None,
    drop: Sequence[str] = (),
    width: int | None = None,
) -> Table:
    """Narrow ``table`` in place until it fits ``width`` (default: the console's width).

    Steps, each tried only while the table still does not fit: every header in ``short_headers``
    is replaced by its short form, then the columns named in ``drop`` are removed in order (least
    useful first). Columns not listed are never dropped: a verdict column stays whole.
    """
    avail = width if width is not None else console.width
    needs: dict[tuple[int, str], int] = {}  # each column's longest word, measured once
    if fits(console, table, avail, needs):
        return table
    original = {id(column): str(column.header) for column in table.columns}
    for column in table.columns:
        short = (short_headers or {}).get(str(column.header))
        if short is not None:
            column.header = short
    hidden: list[str] = []
    ok = False
    for header in drop:
        if fits(console, table, avail, needs):
            ok = True
            break
        if drop_column(table, header, original):
            hidden.append(header)
    if not ok and not fits(console, table, avail, needs):
        allot_widths(console, table, avail)
    if hidden:
        note = f"not shown at {avail} columns: {', '.join(hidden)} (a wider terminal shows them)"
        table.caption = f"{table.caption}\n{note}" if table.caption else note
        table.caption_justify = "left"
    return table
