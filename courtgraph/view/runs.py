"""Reading a run directory for the viewer: the case table in one query, single records on demand.

Listing 1,000 cases must take well under a second, so the table never builds whole records: one SQL
query reads the store's columns (winner, status, correctness) and each record's JSON, which is decoded
through :class:`RecordOutline`, the part of :class:`~courtgraph.schema.Record` the table needs, typed
with the schema's own ``Verdict`` and ``Order`` (the turns are skipped, not built). A change to
``Record`` is then a validation error or a failing test (``tests/test_view_run.py`` checks that the
outline is a part of ``Record``), never a table of blanks. Whole records are parsed only for the case on
screen. The tables are the ones :mod:`courtgraph.evals.store` writes; the viewer reads them through
its own store and never writes, so it can watch a run that is still being written (WAL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from courtgraph.errors import InputError
from courtgraph.evals.store import RunStore
from courtgraph.schema import Case, Label, Order, Record, Verdict, to_case_frame


@dataclass(frozen=True)
class Outcome:
    """What one protocol said about one case, without its transcript."""

    protocol: str
    winner: str | None  # case frame
    status: str
    correct: bool | None
    score: float | None = None
    orders: tuple[tuple[str, str | None, str], ...] = ()  # each trial: (order, case-frame winner, status)
    quorum: bool = False  # decided under a quorum rule with members missing

    @property
    def answer(self) -> str:
        """The verdict in one word: A, B, tie, a score, or the failure status in capitals."""
        if self.status != "ok":
            return self.status.upper()
        if self.winner is None and self.score is not None:
            return f"{self.score:g}"
        return self.winner or "none"

    @property
    def inconsistent(self) -> bool:
        """Judged in two orders and not consistent (the report's definition: both valid and agreeing)."""
        if len(self.orders) < 2:
            return False
        (_, w1, s1), (_, w2, s2) = self.orders[:2]
        return not (s1 == s2 == "ok" and w1 == w2)

    @property
    def invalid(self) -> bool:
        """The verdict, or any trial's verdict, does not count (invalid, abstain or error)."""
        return self.status != "ok" or any(s != "ok" for _, _, s in self.orders)


@dataclass
class CaseRow:
    """One line of the case table: the case's id, category, gold label and every protocol's outcome."""

    id: str
    position: int
    category: str | None
    label: str | None
    outcomes: dict[str, Outcome] = field(default_factory=dict)


class TrialOutline(BaseModel):
    """The part of a :class:`~courtgraph.schema.TrialResult` the case table reads (not its turns)."""

    order: Order
    verdict: Verdict

    def outcome(self) -> tuple[str, str | None, str]:
        """(order, case-frame winner or None when it does not count, status)."""
        winner = to_case_frame(self.order, self.verdict.winner) if self.verdict.valid else None
        return self.order, winner, self.verdict.status


class RecordOutline(BaseModel):
    """The part of a :class:`~courtgraph.schema.Record` the case table reads, decoded from its JSON."""

    trials: list[TrialOutline] = Field(default_factory=list)
    verdict: Verdict


class CaseOutline(BaseModel):
    """The part of a :class:`~courtgraph.schema.Case` the case table reads besides its columns."""

    label: Label | float | str | None = None


_ROWS_SQL = "SELECT case_id, protocol, winner, status, correct, category, label, data FROM records"


class Run:
    """A run directory opened for reading: its cases, protocols, case table and records."""

    def __init__(self, path: str | Path) -> None:
        self._store = RunStore(path, create=False)  # a folder that is not a run is an InputError
        self.path, self._protocols = self._store.run_dir, self._store.protocols()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._store.close()

    def protocols(self) -> list[str]:
        """The run's protocols, in the order the run named them (:meth:`RunStore.protocols`)."""
        return list(self._protocols)

    def rows(self) -> list[CaseRow]:
        """Every case with every protocol's outcome, in run order: two queries, each record decoded only
        as far as its :class:`RecordOutline`."""
        table: dict[str, CaseRow] = {}
        for cid, pos, cat, data in self._store.query("SELECT id, position, category, data FROM cases "
                                                     "ORDER BY position"):
            label = CaseOutline.model_validate_json(data).label
            table[cid] = CaseRow(cid, pos, cat, None if label is None else str(label))
        for cid, proto, winner, status, correct, cat, label, data in self._store.query(_ROWS_SQL):
            row = table.get(cid)
            if row is None:  # a record whose case was not stored: still list it, after the others
                row = table[cid] = CaseRow(cid, len(table) + 1_000_000, cat, label)
            outline = RecordOutline.model_validate_json(data)
            row.outcomes[proto] = Outcome(proto, winner, status, None if correct is None else bool(correct),
                                          outline.verdict.score, tuple(t.outcome() for t in outline.trials[:2]),
                                          outline.verdict.quorum is not None)
        return sorted(table.values(), key=lambda r: r.position)

    def case(self, case_id: str) -> Case | None:
        return self._store.case(case_id)

    def record(self, case_id: str, protocol: str) -> Record | None:
        return self._store.record(case_id, protocol)

    def records(self, case_id: str) -> dict[str, Record]:
        """Every protocol's record of one case, in the run's protocol order (:meth:`protocols`), so the
        first is the run's first protocol. Not in the order the rows were written: a resume rewrites a
        retried record, which would move it last."""
        rows = self._store.case_records(case_id)
        ordered = [p for p in self._protocols if p in rows] + [p for p in rows if p not in self._protocols]
        return {p: rows[p] for p in ordered}

    def require_case(self, case_id: str) -> Case:
        """The case, or an InputError naming the run and listing a few ids that do exist."""
        case = self.case(case_id)
        if case is None:
            some = [str(r[0]) for r in self._store.query("SELECT id FROM cases ORDER BY position LIMIT 5")]
            hint = f"; e.g. {', '.join(some)}" if some else "; the run has no cases"
            raise InputError(f"no case {case_id!r} in this run{hint}", path=self.path, field="case")
        return case

    def require_protocol(self, name: str, field_name: str = "protocol") -> str:
        known = self.protocols()
        if name not in known:
            raise InputError(f"no records of protocol {name!r}; the run has {', '.join(known) or 'none'}",
                             path=self.path, field=field_name)
        return name

