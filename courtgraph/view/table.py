"""The case table of a run: every case with each protocol's verdict, filtered, sorted and paged.

The filters answer the questions people bring to a run: where do two protocols disagree
(``debate!=single``), which cases did a protocol get wrong, which flipped with the order, which
verdicts did not count. The browser's filter box takes the same filters as words, so there is one
place that decides what a filter means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from courtgraph.errors import InputError
from courtgraph.view.runs import CaseRow, Outcome

SortKey = Literal["position", "id", "category"]

_WHERE = re.compile(r"^\s*([^\s=!]+)\s*(==|!=)\s*([^\s=!]+)\s*$")


@dataclass(frozen=True)
class AgreementFilter:
    """``left==right`` or ``left!=right`` over two protocols' verdicts (cases missing either are left out)."""

    left: str
    op: str
    right: str

    @classmethod
    def parse(cls, text: str) -> AgreementFilter:
        m = _WHERE.match(text)
        if not m:
            raise InputError(f"{text!r}: expected PROTOCOL!=PROTOCOL or PROTOCOL==PROTOCOL, e.g. debate!=single",
                             field="where")
        return cls(*m.groups())

    def holds(self, row: CaseRow) -> bool:
        a, b = row.outcomes.get(self.left), row.outcomes.get(self.right)
        if a is None or b is None:
            return False
        return (a.answer == b.answer) == (self.op == "==")


@dataclass(frozen=True)
class Filters:
    """Which cases to list. Every filter given must hold. ``protocols`` scopes ``inconsistent`` and
    ``invalid`` (any protocol when empty); ``text`` matches part of the case id."""

    where: tuple[AgreementFilter, ...] = ()
    wrong: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    inconsistent: bool = False
    invalid: bool = False
    protocols: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, words: str) -> Filters:
        """The browser's filter box: ``debate!=single wrong:jury cat:math inconsistent invalid`` and
        any other word as part of a case id."""
        where, wrong, cats, text = [], [], [], []
        flags = {"inconsistent": False, "invalid": False}
        for word in words.split():
            key, sep, value = word.partition(":")
            if "=" in word:
                where.append(AgreementFilter.parse(word))
            elif sep and key == "wrong":
                wrong.append(value)
            elif sep and key in ("cat", "category"):
                cats.append(value)
            elif word in flags:
                flags[word] = True
            else:
                text.append(word)
        return cls(tuple(where), tuple(wrong), tuple(cats), flags["inconsistent"], flags["invalid"],
                   text=" ".join(text))

    def check(self, known: Sequence[str]) -> None:
        """Unknown protocol names are the user's typo: say so rather than list nothing."""
        named = [*(("where", n) for c in self.where for n in (c.left, c.right)),
                 *(("wrong", n) for n in self.wrong), *(("protocol", n) for n in self.protocols)]
        for option, name in named:
            if name not in known:
                raise InputError(f"no protocol {name!r} in this run; it has {', '.join(known) or 'none'}",
                                 field=option)

    def matches(self, row: CaseRow) -> bool:
        scoped = [o for p, o in row.outcomes.items() if not self.protocols or p in self.protocols]
        return (all(c.holds(row) for c in self.where)
                and all(_wrong(row.outcomes.get(p)) for p in self.wrong)
                and (not self.categories or row.category in self.categories)
                and (not self.inconsistent or any(o.inconsistent for o in scoped))
                and (not self.invalid or any(o.invalid for o in scoped))
                and (not self.text or self.text.lower() in row.id.lower()))


def _wrong(o: Outcome | None) -> bool:
    return o is not None and o.correct is False


def select(rows: Iterable[CaseRow], filters: Filters, sort: SortKey = "position") -> list[CaseRow]:
    """The rows that match, sorted (run order by default)."""
    out = [r for r in rows if filters.matches(r)]
    if sort == "id":
        out.sort(key=lambda r: _natural(r.id))
    elif sort == "category":
        out.sort(key=lambda r: (r.category or "", r.position))
    return out


def _natural(text: str) -> list[tuple[int, int | str]]:
    """Sort key putting case-2 before case-10."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p]


def outcome_cell(o: Outcome | None) -> Text:
    """A verdict with its mark: ✓ right, ✗ wrong, ⇄ inconsistent between the orders."""
    if o is None:
        return Text("—", style="dim")
    style = "green" if o.correct else "red" if o.correct is False else ""
    cell = Text(o.answer, style=style if o.status == "ok" else "bold red")
    if o.correct is not None:
        cell.append(" ✓" if o.correct else " ✗", style=style)
    if o.inconsistent:
        cell.append(" ⇄", style="yellow")
    return cell


def case_table(rows: Sequence[CaseRow], protocols: Sequence[str]) -> RenderableType:
    """One page of the case table: id, category, gold label, then each protocol's verdict with its marks.

    Built for 80 columns with several protocols: no vertical rules, the case id never wraps (it is what
    the reader copies into ``--case``). When the table is too wide the category column goes first, then
    long protocol names fold in their headers; then the protocols are split over several tables, one
    under the other, so no protocol is ever cropped.
    """
    layouts: list[tuple[list[Sequence[str]], bool, bool]] = [([protocols], True, True), ([protocols], False, True),
                                                             ([protocols], False, False)]
    for size in range(len(protocols) - 1, 0, -1):
        chunks = [protocols[i:i + size] for i in range(0, len(protocols), size)]
        layouts += [(chunks, False, True), (chunks, False, False)]
    return _Fit([(Group(*(_table(rows, chunk, category=category, roomy=roomy) for chunk in chunks)),
                  max(_min_width(rows, chunk, category=category, roomy=roomy) for chunk in chunks))
                 for chunks, category, roomy in layouts])


_CATEGORY_WIDTH, _PROTOCOL_WIDTH, _ROOMY_WIDTH = 12, 7, 12


def _header_width(protocol: str, roomy: bool) -> int:
    return max(_PROTOCOL_WIDTH, min(len(protocol), _ROOMY_WIDTH)) if roomy else _PROTOCOL_WIDTH


def _min_width(rows: Sequence[CaseRow], protocols: Sequence[str], *, category: bool, roomy: bool) -> int:
    """The narrowest this table renders without cropping or folding a cell (headers may fold).

    Computed rather than measured: rich measures a folding header at its full length, which would
    make every table with a long protocol name look too wide to fit.
    """
    # the id as it renders: it never wraps (a 36-character JudgeBench UUID takes 36 columns)
    widths = [max((len(r.id) for r in rows), default=4), len("gold")]
    widths += [_CATEGORY_WIDTH] if category else []
    for p in protocols:
        cells = (outcome_cell(r.outcomes.get(p)).cell_len for r in rows)
        widths.append(max([_header_width(p, roomy), *cells]))
    return sum(widths) + 3 * (len(widths) - 1)  # between columns: padding, the (blank) divider, padding


def _table(rows: Sequence[CaseRow], protocols: Sequence[str], *, category: bool, roomy: bool = False) -> Table:
    """``roomy``: headers get the width of the protocol's name (up to 12), instead of folding at 7."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
    longest = max((len(r.id) for r in rows), default=4)
    table.add_column("case", no_wrap=True, min_width=longest, overflow="ellipsis")
    if category:
        table.add_column("category", no_wrap=True, max_width=_CATEGORY_WIDTH, overflow="ellipsis")
    table.add_column("gold", justify="center", no_wrap=True)
    for p in protocols:
        table.add_column(p, overflow="fold", min_width=_header_width(p, roomy))
    for row in rows:
        cells = [outcome_cell(row.outcomes.get(p)) for p in protocols]
        table.add_row(row.id, *([row.category or ""] if category else []), row.label or "", *cells)
    return table


class _Fit:
    """The first layout whose minimum width fits the console, else the last one."""

    def __init__(self, layouts: list[tuple[RenderableType, int]]) -> None:
        self.layouts = layouts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield next((r for r, width in self.layouts if width <= options.max_width), self.layouts[-1][0])


def page_caption(shown: int, *, matched: int, total: int, offset: int = 0) -> str:
    """Which page of how many matching cases the table shows, and what its marks mean."""
    first, last = (offset + 1, offset + shown) if shown else (0, 0)
    return f"cases {first}–{last} of {matched:,} matching ({total:,} in the run) · ✓ right ✗ wrong ⇄ order flip"
