"""A run's batch journal: every batch it submitted, kept in ``run.db`` so that a resumed run never pays twice.

Batch mode (:mod:`courtgraph.models.batching`) writes each batch here the moment the provider has
accepted it: its id, provider, base URL, model and the ``custom_id`` of every request in it. Just before
the create request it writes the *intent* (table ``batch_intents``: a local submit id, the same fields, the
time): a process killed between the provider's acceptance and the batch's row leaves the intent open, and
the resumed run looks for that batch at the provider (:mod:`courtgraph.models.batch_submit`). A run
killed or interrupted while batches are pending leaves them here as ``pending``; resuming it reads
them, and each call whose ``custom_id`` is in one of them waits for that batch (polled again) instead
of being submitted again. A batch that ends is marked with its final status (``completed``,
``expired``, ``failed``, ``ended``...).

A table of its own (``batches``) in the run's database, through a connection of its own: the record
store (:mod:`courtgraph.evals.store`) neither knows nor reads it, and WAL lets both write, one at a time.

**Never behind the store's group commit.** The store commits the records written in one event-loop
iteration at the end of it (``RunStore.write``, then ``flush`` on the next iteration), so between the two
its connection holds SQLite's write lock. A journal write made in that window, on the same loop (a batch
ending in the iteration a record was written), would wait on a lock only the blocked loop can release:
SQLite's busy handler blocked the whole run for its 30 s timeout, then "database is locked" was raised
inside the batch's poller and its answers never reached their calls (the run hung). So the journal is
given the store's ``flush`` (``before_write``) and commits the store's pending records before each write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from courtgraph.evals.store import DB_NAME, now_iso
from courtgraph.models.batch_terms import BatchSettings, JournalEntry, SubmitIntent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    custom_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS batch_intents (
    submit_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    custom_ids TEXT NOT NULL,
    intended_at REAL NOT NULL,
    status TEXT NOT NULL,
    batch_id TEXT
);
"""


class RunBatchJournal:
    """The :class:`~courtgraph.models.batching.BatchJournal` of one run directory (see the module docstring)."""

    def __init__(self, run_dir: str | Path, before_write: Callable[[], None] | None = None) -> None:
        self.path = Path(run_dir) / DB_NAME
        self._before_write = before_write  # the record store's group commit (module docstring)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def __enter__(self) -> RunBatchJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def pending_batches(self) -> list[JournalEntry]:
        """The batches submitted and not yet seen to end, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT batch_id, provider, base_url, model, custom_ids FROM batches "
                                    "WHERE status = 'pending' ORDER BY rowid").fetchall()
        return [JournalEntry(str(b), str(p), str(u), str(m), tuple(json.loads(ids))) for b, p, u, m, ids in rows]

    def open_intents(self) -> list[SubmitIntent]:
        """The creates whose batch id was never written (status ``submitting``), oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT submit_id, provider, base_url, model, custom_ids, intended_at "
                                    "FROM batch_intents WHERE status = 'submitting' ORDER BY rowid").fetchall()
        return [SubmitIntent(str(s), str(p), str(u), str(m), tuple(json.loads(ids)), float(at))
                for s, p, u, m, ids, at in rows]

    def known_batch_ids(self) -> set[str]:
        with self._lock:
            return {str(row[0]) for row in self._db.execute("SELECT batch_id FROM batches")}

    def batch_intended(self, intent: SubmitIntent) -> None:
        self._release_store()
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO batch_intents VALUES (?, ?, ?, ?, ?, ?, 'submitting', NULL)",
                             (intent.submit_id, intent.provider, intent.base_url, intent.model,
                              json.dumps(list(intent.custom_ids)), intent.at))
            self._db.commit()

    def batch_submitted(self, entry: JournalEntry, submit_id: str | None = None) -> None:
        """The batch's row and, in the same transaction, its intent closed (a crash leaves both or neither)."""
        self._release_store()
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, 'pending', ?, NULL)",
                             (entry.batch_id, entry.provider, entry.base_url, entry.model,
                              json.dumps(list(entry.custom_ids)), now_iso()))
            if submit_id is not None:
                self._db.execute("UPDATE batch_intents SET status = 'submitted', batch_id = ? WHERE submit_id = ?",
                                 (entry.batch_id, submit_id))
            self._db.commit()

    def intent_dropped(self, submit_id: str, status: str) -> None:
        self._release_store()
        with self._lock:
            self._db.execute("UPDATE batch_intents SET status = ? WHERE submit_id = ?", (status, submit_id))
            self._db.commit()

    def batch_ended(self, batch_id: str, status: str) -> None:
        self._release_store()
        with self._lock:
            self._db.execute("UPDATE batches SET status = ?, ended_at = ? WHERE batch_id = ?",
                             (status, now_iso(), batch_id))
            self._db.commit()

    def _release_store(self) -> None:
        """Commit the record store's pending records first: its open transaction would hold the write lock."""
        if self._before_write is not None:
            self._before_write()

    def counts(self, table: str = "batches") -> dict[str, int]:
        """Batches (or, with ``table="batch_intents"``, intents) by status, for reports and tests."""
        if table not in ("batches", "batch_intents"):
            raise ValueError(f"no journal table {table!r}")
        with self._lock:
            rows = self._db.execute(f"SELECT status, COUNT(*) FROM {table} GROUP BY status").fetchall()
        return {str(status): int(n) for status, n in rows}


@contextmanager
def batch_journal(run_dir: str | Path, settings: BatchSettings | None,
                  before_write: Callable[[], None] | None = None) -> Iterator[RunBatchJournal | None]:
    """The run's journal while a batch run runs; nothing for a synchronous run (its run.db is left as it was).
    ``before_write``: the record store's ``flush`` (see the module docstring: without it a run can hang)."""
    if settings is None:
        yield None
        return
    with RunBatchJournal(run_dir, before_write) as journal:
        yield journal
