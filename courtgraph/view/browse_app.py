"""The textual app behind ``courtgraph browse`` (imported only when textual is installed)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Input, RichLog

from courtgraph.errors import InputError
from courtgraph.schema import Order, Record
from courtgraph.view.probes import Twins, twin_view
from courtgraph.view.runs import CaseRow, Run
from courtgraph.view.table import Filters, outcome_cell, select
from courtgraph.view.transcript import render

ORDERS: list[Order | None] = [None, "AB", "BA"]
#: The case pane's width in cells and its largest share of the screen in percent (CSS ``#left`` below).
LEFT_WIDTH = 44
LEFT_SHARE = 45
#: What the case table takes besides its cells: one cell of padding each side of 3 columns, and a
#: one-cell scrollbar (so that at 80 columns a 36-character id takes two lines of its row, not three).
TABLE_CHROME = 3 * 2 + 1


class BrowseApp(App[None]):
    """Cases left, transcript right; the state is which case, protocol, order and search term."""

    TITLE = "courtgraph browse"
    CSS = f"""
    #left {{ width: {LEFT_WIDTH}; max-width: {LEFT_SHARE}%; }}
    #cases {{ height: 1fr; scrollbar-size-vertical: 1; }}
    #transcript {{ width: 1fr; }}
    #search {{ display: none; }}
    #search.shown {{ display: block; }}
    """
    BINDINGS: ClassVar[list[Any]] = [
        Binding("q", "quit", "quit"),
        Binding("p", "next_protocol", "protocol"),
        Binding("o", "next_order", "order"),
        Binding("slash", "search", "search"),
        Binding("n", "next_match", "next"),
        Binding("f", "filter", "filter"),
        Binding("t", "next_twin", "twin"),
        Binding("escape", "leave_input", "back", show=False),
    ]

    def __init__(self, run: Run, filters: str = "") -> None:
        super().__init__()
        self.run_data = run
        self.protocols = run.protocols()
        self.all_rows = run.rows()
        self.filter_text = filters
        self.rows: list[CaseRow] = []
        self.protocol = self.protocols[0] if self.protocols else ""
        self.order_index = 0
        self.case_id: str | None = None
        self.term = ""
        self.matches: list[int] = []
        self.match_index = -1
        self._records: dict[str, dict[str, Record]] = {}
        self._case_width = 0
        self.twins = Twins(run.path)  # perturbed twins (courtgraph probe), shown with t
        self.twin_index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield Input(self.filter_text, placeholder="filter: debate!=single wrong:jury cat:math "
                            "inconsistent invalid", id="filter")
                yield DataTable(id="cases", cursor_type="row", zebra_stripes=True)
            # rendered at the width it is shown at (never wider, which would cut words at 80 columns)
            yield RichLog(id="transcript", min_width=24, auto_scroll=False)
        yield Input(placeholder="search the transcript (enter: find, n: next match, esc: close)", id="search")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.run_data.path)
        self.apply_filter(self.filter_text)
        self.query_one("#cases", DataTable).focus()

    # -- the case list ---------------------------------------------------------------------------

    def apply_filter(self, text: str) -> None:
        try:
            filters = Filters.parse(text)
            filters.check(self.protocols)
        except InputError as exc:
            self.notify(str(exc), severity="error")
            return
        self.filter_text = text
        self.rows = select(self.all_rows, filters)
        self.fill_table()

    def fill_table(self) -> None:
        """The case list, laid out for the pane's width: a case id longer than its column (36-character
        UUIDs at 80 columns) wraps onto a second line of its row, whole, instead of being cut."""
        table = self.query_one("#cases", DataTable)
        golds = [Text(row.label or "") for row in self.rows]
        verdicts = [outcome_cell(row.outcomes.get(self.protocol)) for row in self.rows]
        gold_width = max([len("gold"), *(g.cell_len for g in golds)])
        verdict_width = max([len("verdict"), *(v.cell_len for v in verdicts)])
        ids = [Text(row.id, overflow="fold") for row in self.rows]
        self._case_width = self.case_width(gold_width + verdict_width)
        table.clear(columns=True)
        table.add_column("case", width=self._case_width)
        table.add_column("gold", width=gold_width)
        table.add_column("verdict", width=verdict_width)
        for row, case_id, gold, verdict in zip(self.rows, ids, golds, verdicts, strict=True):
            height = len(case_id.wrap(self.console, self._case_width, overflow="fold"))
            table.add_row(case_id, gold, verdict, key=row.id, height=height)
        if not self.rows:
            self.case_id = None
            self.show_transcript()

    def left_width(self) -> int:
        """The case pane's width: as laid out, or, before the first layout, what its CSS gives."""
        laid_out = self.query_one("#left", Vertical).size.width
        return laid_out or min(LEFT_WIDTH, self.size.width * LEFT_SHARE // 100)

    def on_resize(self) -> None:
        """Lay the case list out again for the new width (once the panes have their new size)."""
        self.call_after_refresh(self.refit)

    def refit(self) -> None:
        table = self.query_one("#cases", DataTable)
        others = sum(c.width for c in table.ordered_columns[1:])
        if self.rows and self._case_width != self.case_width(others):
            cursor = table.cursor_row
            self.fill_table()
            table.move_cursor(row=cursor)

    def case_width(self, others: int) -> int:
        """The case column's width: the longest id, or what the pane leaves beside the other columns."""
        widest = max([len("case"), *(Text(row.id).cell_len for row in self.rows)])
        return min(widest, max(8, self.left_width() - others - TABLE_CHROME))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.case_id = event.row_key.value
        self.twin_index = 0
        self.show_transcript()

    def on_unmount(self) -> None:
        self.twins.close()

    # -- the transcript --------------------------------------------------------------------------

    def records(self, case_id: str) -> dict[str, Record]:
        if case_id not in self._records:
            self._records[case_id] = self.run_data.records(case_id)
        return self._records[case_id]

    def show_transcript(self) -> None:
        log = self.query_one("#transcript", RichLog)
        log.clear()
        order = ORDERS[self.order_index]
        self.title = f"{self.protocol} · order {order or 'both'} · {len(self.rows)} cases"
        if self.case_id is None:
            log.write("no case matches the filter")
            return
        record = self.records(self.case_id).get(self.protocol)
        if record is None:
            log.write(f"{self.protocol} has no record of case {self.case_id}")
            return
        case = self.run_data.case(self.case_id)
        twins = self.twins.of(self.case_id)
        if case is not None and 0 < self.twin_index <= len(twins):  # a perturbed twin beside its original
            twin = twins[self.twin_index - 1]
            pair = [(self.protocol, record, self.twins.record(twin.id, self.protocol))]
            self.title += f" · probe {twin.metadata.get('probe')}"
            log.write(twin_view(case, twin, pair, order=order), expand=True)
        else:
            log.write(render(record, case, order=order, highlight=self.term or None), expand=True)
        log.scroll_home(animate=False)
        self.find_matches()

    def find_matches(self) -> None:
        log = self.query_one("#transcript", RichLog)
        term = self.term.lower()
        self.matches = [i for i, line in enumerate(log.lines) if term and term in line.text.lower()]
        self.match_index = -1
        if term:
            self.notify(f"{len(self.matches)} lines match {self.term!r}", timeout=2)

    # -- keys ------------------------------------------------------------------------------------

    def action_next_protocol(self) -> None:
        if self.protocols:
            self.protocol = self.protocols[(self.protocols.index(self.protocol) + 1) % len(self.protocols)]
            cursor = self.query_one("#cases", DataTable).cursor_row
            self.fill_table()
            self.query_one("#cases", DataTable).move_cursor(row=cursor)
            self.show_transcript()

    def action_next_twin(self) -> None:
        """The case, then its perturbed twins one by one (a run probed with courtgraph probe), then the case."""
        count = len(self.twins.of(self.case_id)) if self.case_id else 0
        if not count:
            self.notify("this case has no perturbed twin (courtgraph probe RUN --probes ...)", timeout=2)
        self.twin_index = (self.twin_index + 1) % (count + 1) if count else 0
        self.show_transcript()

    def action_next_order(self) -> None:
        self.order_index = (self.order_index + 1) % len(ORDERS)
        self.show_transcript()

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("shown")
        box.focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leave_input(self) -> None:
        self.query_one("#search", Input).remove_class("shown")
        self.query_one("#cases", DataTable).focus()

    def action_next_match(self) -> None:
        if not self.matches:
            self.notify("no match" if self.term else "search first with /", timeout=2)
            return
        self.match_index = (self.match_index + 1) % len(self.matches)
        self.query_one("#transcript", RichLog).scroll_to(y=self.matches[self.match_index], animate=False)
        self.notify(f"match {self.match_index + 1} of {len(self.matches)}", timeout=1)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.apply_filter(event.value)
        else:
            self.term = event.value.strip()
            self.show_transcript()
            self.action_next_match()
        self.action_leave_input()
