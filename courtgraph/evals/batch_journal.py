"""A run's batch journal: every batch it submitted, kept in ``run.db`` so that a resumed run never pays twice.

Batch mode (:mod:`courtgraph.models.batching`) writes each batch here the moment the provider has
accepted it: its id, provider, base URL, model and the ``custom_id`` of every request in it. A run
killed or interrupted while batches are pending leaves them here as ``pending``; resuming it reads
them, and each call whose ``custom_id`` is in one of them waits for that batch (polled again) instead
of being submitted again. A batch that ends is marked with its final status (``completed``,
``expired``, ``failed``, ``ended``...).

A table of its own (``batches``) in the run's database, through a connection of its own: the record
store (:mod:`courtgraph.evals.store`) neither knows nor reads it, and WAL lets both write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from courtgraph.evals.store import DB_NAME, now_iso
from courtgraph.models.batch_terms import BatchSettings, JournalEntry

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
"""


class RunBatchJournal:
    """The :class:`~courtgraph.models.batching.BatchJournal` of one run directory (see the module docstring)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / DB_NAME
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

    def batch_submitted(self, entry: JournalEntry) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, 'pending', ?, NULL)",
                             (entry.batch_id, entry.provider, entry.base_url, entry.model,
                              json.dumps(list(entry.custom_ids)), now_iso()))
            self._db.commit()

    def batch_ended(self, batch_id: str, status: str) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET status = ?, ended_at = ? WHERE batch_id = ?",
                             (status, now_iso(), batch_id))
            self._db.commit()

    def counts(self) -> dict[str, int]:
        """Batches by status (``pending``, ``completed``...), for reports and tests."""
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM batches GROUP BY status").fetchall()
        return {str(status): int(n) for status, n in rows}


@contextmanager
def batch_journal(run_dir: str | Path, settings: BatchSettings | None) -> Iterator[RunBatchJournal | None]:
    """The run's journal while a batch run runs; nothing for a synchronous run (its run.db is left as it was)."""
    if settings is None:
        yield None
        return
    with RunBatchJournal(run_dir) as journal:
        yield journal
