"""Tables that fit the terminal: figures are never cropped, at any width of 80 columns or more.

Rich crops a ``no_wrap`` column when a table is wider than the console, and the report's figures
must not wrap (a figure and its interval are two lines of one cell, by design). So the layout is
chosen at render time, for the width there is: the first column (a protocol's or a category's name)
gets what the figures leave, folding if it must (at least :data:`NAME_MIN` columns); when even that
does not fit, the figure columns are split over several tables, one under the other, each repeating
the names. Each layout is rendered off-screen and measured rather than computed, so the check is
the rendering itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

#: The narrowest a name column is folded to.
NAME_MIN = 8


class FitTable:
    """``headers`` and ``rows`` of strings (a cell's lines separated by ``\\n``) under ``title``, laid out
    for the console's width when printed."""

    def __init__(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.title, self.headers, self.rows = title, list(headers), [list(r) for r in rows]

    def _natural(self, i: int) -> int:
        cells = [self.headers[i], *(row[i] for row in self.rows)]
        return max((len(line) for cell in cells for line in cell.split("\n")), default=1)

    def _table(self, columns: Sequence[int], name_width: int, title: str) -> Table:
        table = Table(title=title or None, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                      pad_edge=False, collapse_padding=True)
        for i in columns:
            if i == 0:
                table.add_column(Text(self.headers[0]), overflow="fold", width=name_width)
            else:  # a header may fold; a figure never does (its width is its longest line)
                table.add_column(Text(self.headers[i]), justify="right", no_wrap=True, width=self._natural(i))
        for row in self.rows:
            table.add_row(*(Text(row[i]) for i in columns))
        return table

    def layout(self, width: int) -> Group:
        """The tables for ``width`` columns: all figures in one table if they fit, else in as few as fit."""
        figures = list(range(1, len(self.headers)))
        natural = self._natural(0)
        for parts in range(1, max(len(figures), 1) + 1):
            size = -(-len(figures) // parts)
            chunks = [figures[i:i + size] for i in range(0, len(figures), size)] or [[]]
            tables = []
            for n, chunk in enumerate(chunks):
                title = self.title if n == 0 else ""
                probe = self._table([0, *chunk], NAME_MIN, title)
                spare = width - _rendered_width(probe)
                tables.append(self._table([0, *chunk], max(NAME_MIN, min(natural, NAME_MIN + spare)), title))
            if all(_rendered_width(t) <= width for t in tables):
                return Group(*tables)
        return Group(*tables)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.layout(options.max_width)


def _rendered_width(table: Table) -> int:
    """How wide ``table`` renders with room to spare (its natural width, nothing cropped)."""
    probe = Console(width=10_000, record=False, color_system=None, legacy_windows=False)
    lines = probe.render_lines(table, probe.options, pad=False)
    return max((sum(seg.cell_length for seg in line) for line in lines), default=0)
