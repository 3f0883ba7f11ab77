"""A run directory: ``run.db`` (every case and record, in SQLite) and ``manifest.json``.

Why SQLite and not a JSONL file: a run is written one record at a time by a process that may be
killed at any moment, and read (by protocol, or column by column for the case table) by reports
and browsers while it runs. Each record is one committed row, so a SIGKILL loses at most the
records in flight; WAL lets readers work beside the writer; the columns let the case table be read
without parsing every record. The record itself is kept whole as JSON, so nothing is lost to the
columns. One process writes a run at a time (:meth:`RunStore.lock`).
``records.jsonl`` is an export, for tools that want a flat file.

Compact records (schema version 2): the ``packed`` column holds the record's whole JSON, zlib-compressed
(records repeat themselves: jurors quote the same candidates, every turn and verdict carries the same
keys, so a jury's record shrinks about tenfold), and is what every reader parses: the record comes back
byte for byte. ``data`` keeps a skeleton for SQL readers (``json_extract`` on verdicts, usage, hashes,
as the viewer's case table does): the record without the trials' turns (their lists left empty) and
without the verdicts' text (``rationale``, ``raw``, nested ``votes``). Cases alike: their skeleton
keeps id, label, category and metadata, the packed JSON the question and candidates too. Version 1 runs (the whole
record in ``data``, no ``packed`` column) stay readable, and a resumed v1 run gains the column.

Group commit: inside an event loop, records written in one loop iteration are committed together
at its end (a SIGKILL still loses only what was in flight: those records' trials had finished in
the same instant); outside a loop each write commits at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from courtgraph.errors import InputError
from courtgraph.evals.packing import pack, pack_case, unpack, unpack_case
from courtgraph.evals.runlock import flock, held_lock
from courtgraph.models.faults import one_line
from courtgraph.models.secrets import redact
from courtgraph.schema import Case, Record

DB_NAME = "run.db"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
SCHEMA_VERSION = 2  # PRAGMA user_version of run.db (1 is read, and upgraded on resume); 2: records packed
_SIM_MODEL = b'"model":"sim:'  # how a simulated agent's turn reads in stored JSON
#: A group commit never holds more records than this.
MAX_PENDING = 256
#: Run formats this courtgraph reads (others are refused with a message).
READABLE_VERSIONS = (1, 2)
#: A run.db up to this size is checked whole when opened (a damaged page is named at once, not mid-run).
CHECK_BYTES = 256 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    category TEXT,
    data TEXT NOT NULL,
    packed BLOB
);
CREATE TABLE IF NOT EXISTS records (
    case_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    category TEXT,
    label TEXT,
    winner TEXT,
    status TEXT NOT NULL,
    correct INTEGER,
    failed INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    cost_usd REAL,
    latency_s REAL NOT NULL,
    error TEXT,
    written_at TEXT NOT NULL,
    data TEXT NOT NULL,
    packed BLOB,
    PRIMARY KEY (case_id, protocol)
);
CREATE INDEX IF NOT EXISTS records_protocol ON records (protocol);
"""


def record_failed(record: Record) -> bool:
    """Whether a record carries a failure (a crashed trial or a failed call), not a judgement.

    Such records are kept (with their messages) but count as unfinished: a resumed run retries them.
    """
    return record.error is not None or record.verdict.status == "error" or any(
        t.verdict.status == "error" for t in record.trials)


def failure_text(record: Record) -> str:
    """The real error of a failed record, on one line: its own error, else the first failed trial's,
    else its verdict's (a record whose other order decided it has no error of its own)."""
    trials = record.trials
    for text in (record.error, *(t.error for t in trials),
                 *(t.verdict.error for t in trials if t.verdict.status == "error"), record.verdict.error):
        if text:
            return one_line(text)
    return "failed, with no error message"


def _checked_manifest(data: Any, path: Path) -> dict[str, Any]:
    """The manifest if its shape is one courtgraph wrote (a hand edit may break it); else an InputError
    naming the field, so that a resume or report fails with a line, not a crash deep inside."""
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object, not {type(data).__name__}", path=path)
    config = data.get("config")
    if config is None:
        return data
    if not isinstance(config, dict):
        raise InputError(f"expected an object, not {type(config).__name__}", path=path, field="config")
    shapes: dict[str, tuple[type, ...]] = {"bench": (dict,), "protocols": (dict,), "roles": (dict,),
                                           "orders": (list,), "categories": (list, type(None)),
                                           "limit": (int, type(None)), "seed": (int, type(None))}
    for key, types in shapes.items():
        if key in config and not isinstance(config[key], types):
            raise InputError(f"unexpected {type(config[key]).__name__}", path=path, field=f"config.{key}")
    for name, protocol in (config.get("protocols") or {}).items():
        if not isinstance(protocol, dict):
            raise InputError(f"expected an object, not {type(protocol).__name__}", path=path,
                             field=f"config.protocols.{name}")
    return data


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunStore:
    """One run directory. ``create=False`` opens an existing run and refuses anything else."""

    def __init__(self, run_dir: str | Path, create: bool = True) -> None:
        path = Path(run_dir)
        if path.name == DB_NAME and path.is_file():
            path = path.parent
        self.run_dir = path
        self.db_path = path / DB_NAME
        self.manifest_path = path / MANIFEST_NAME
        if not create and not self.db_path.is_file():
            what = "no such directory" if not path.exists() else f"not a courtgraph run (no {DB_NAME})"
            raise InputError(what, path=path)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._writer: int | None = None  # the descriptor holding the run's lock, once taken
        self._pending = 0  # records written and not yet committed (group commit)
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (only a power cut may lose the last commits).
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            tables = int(self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0])
            if tables and version not in READABLE_VERSIONS:
                self._db.close()
                if version == 0:  # an SQLite file courtgraph never wrote
                    raise InputError("not a courtgraph run database (it has no run format version)",
                                     path=self.db_path)
                raise InputError(f"written in run format {version}, this courtgraph reads format {SCHEMA_VERSION}: "
                                 "use the courtgraph that wrote it, or a new --out", path=self.db_path)
            if create:
                self._db.executescript(_SCHEMA)
                for table in ("records", "cases"):
                    if not self._has_packed_column(table):  # a version 1 run being resumed
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN packed BLOB")
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._db.commit()
            self._db.execute("SELECT 1 FROM records LIMIT 0")  # an SQLite file of something else fails here
            self._packed_sql = "r.packed" if self._has_packed_column("records") else "NULL"
            self._case_packed_sql = "packed" if self._has_packed_column("cases") else "NULL"
            if self.db_path.stat().st_size <= CHECK_BYTES:
                found = self._db.execute("PRAGMA quick_check(1)").fetchone()
                if found is None or found[0] != "ok":
                    raise sqlite3.DatabaseError(found[0] if found else "quick_check gave no answer")
        except sqlite3.DatabaseError as exc:  # "file is not a database", a damaged page: not a usable run
            self._db.close()
            what = " ".join(str(exc).split())
            raise InputError(f"not a courtgraph run database, or a damaged one ({what})", path=self.db_path) from None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()
            if self._writer is not None:
                os.close(self._writer)  # releases the run's lock
                self._writer = None

    def lock(self) -> None:
        """Take the run's writer lock until :meth:`close`: two runs writing one directory would judge
        the same records twice and interleave their manifests, so the second is refused.

        An advisory ``flock`` on ``.lock``: readers (reports, the viewer) never take it, and the kernel
        releases it when the holding process dies, so a killed run never leaves a stale lock behind.
        """
        if held_lock() == self.run_dir.resolve():
            return  # this invocation took it before loading (hold_run_lock) and keeps it until the end
        self._writer = flock(self.run_dir)

    def __repr__(self) -> str:
        return f"RunStore({str(self.run_dir)!r})"

    # cases

    def put_cases(self, cases: Iterable[Case]) -> None:
        """Store the run's cases (replacing any with the same id), keeping their order."""
        with self._lock:
            start = int(self._db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM cases").fetchone()[0])
            rows = [(c.id, start + i, c.category, *pack_case(c)) for i, c in enumerate(cases)]
            self._db.executemany(
                "INSERT INTO cases (id, position, category, data, packed) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET category = excluded.category, data = excluded.data, "
                "packed = excluded.packed", rows)
            self._db.commit()

    def cases(self) -> dict[str, Case]:
        """Every stored case by id, in the order they were first stored."""
        rows = self.query(f"SELECT data, {self._case_packed_sql} FROM cases ORDER BY position")
        return {c.id: c for c in (unpack_case(*r) for r in rows)}

    def case(self, case_id: str) -> Case | None:
        """One stored case."""
        rows = self.query(f"SELECT data, {self._case_packed_sql} FROM cases WHERE id = ?", (case_id,))
        return unpack_case(*rows[0]) if rows else None

    # records

    def write(self, record: Record) -> None:
        """Store one record (replacing an earlier one for the same case and protocol);

        Every configured key is redacted from it first (:func:`~courtgraph.models.secrets.redact`): an
        error body may have echoed one, and what is stored is exported and shown. Committed at the end
        of the current event-loop iteration (group commit), or at once outside a loop."""
        usage = record.usage
        label = record.label if record.label is None else str(record.label)
        text = record.model_dump_json()
        if (safe := redact(text)) != text:  # an error body echoed a configured key: stored and exported redacted
            record = Record.model_validate_json(safe)
            text = record.model_dump_json()
        data, packed = pack(record, text)
        row = (record.case_id, record.protocol, record.category, label, record.verdict.winner,
               record.verdict.status, None if record.correct is None else int(record.correct),
               int(record_failed(record)), usage.calls, usage.tokens, usage.cost_usd, record.latency_s,
               None if record.error is None else redact(record.error), now_iso(), data, packed)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             row)
            self._pending += 1
            first = self._pending == 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self._pending >= MAX_PENDING:
            self.flush()
        elif first:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit the records written since the last commit."""
        with self._lock:
            if self._pending:
                self._db.commit()
                self._pending = 0

    def records(self, protocol: str | None = None, *, whole: bool = True) -> list[Record]:
        """Stored records, optionally of one protocol only, in case order. ``whole=False`` reads only their SQL
        skeletons: no turns (every trial's list empty) and no verdict text (rationale, raw, member votes),
        all a summary needs, at a fraction of the memory and time (nothing is decompressed)."""
        return list(self.iter_records(protocol, whole=whole))

    def iter_records(self, protocol: str | None = None, *, whole: bool = True) -> Iterator[Record]:
        """:meth:`records` one at a time, so a reader holds one record, not a run."""
        for data, packed in self._rows(protocol):
            yield unpack(data, packed, whole=whole)

    def simulated_protocols(self) -> set[str]:
        """The protocols whose stored turns include a simulated agent (a ``sim:`` model): what a summary of
        records read without turns cannot see. Streams the rows; JSON escaping keeps quoted text in a turn's
        content from matching."""
        found: set[str] = set()
        with self._lock:
            cursor = self._db.execute(f"SELECT r.protocol, r.data, {self._packed_sql} FROM records r")
        while True:
            with self._lock:
                batch = cursor.fetchmany(64)
            if not batch:
                return found
            for protocol, data, packed in batch:
                if protocol not in found and _SIM_MODEL in (zlib.decompress(packed) if packed else data.encode()):
                    found.add(str(protocol))

    def record(self, case_id: str, protocol: str) -> Record | None:
        """One stored record, whole."""
        rows = self.query(f"SELECT r.data, {self._packed_sql} FROM records r WHERE r.case_id = ? AND r.protocol = ?",
                          (case_id, protocol))
        return unpack(*rows[0]) if rows else None

    def case_records(self, case_id: str) -> dict[str, Record]:
        """Every protocol's record of one case, whole, by protocol (in the order they were written)."""
        rows = self.query(f"SELECT r.protocol, r.data, {self._packed_sql} FROM records r WHERE r.case_id = ? "
                          "ORDER BY r.rowid", (case_id,))
        return {str(p): unpack(data, packed) for p, data, packed in rows}

    def done(self) -> set[tuple[str, str]]:
        """(case_id, protocol) of every finished record; failed ones are not finished (resume retries them)."""
        return {(r[0], r[1]) for r in self.query("SELECT case_id, protocol FROM records WHERE failed = 0")}

    def protocols(self) -> list[str]:
        """The protocols with records: in the order the run named them (its manifest), then any others in
        the order their first record was written (records finish in any order, so that order is not the run's)."""
        written = [r[0] for r in self.query("SELECT protocol FROM records GROUP BY protocol ORDER BY MIN(rowid)")]
        planned = list((self.manifest().get("config") or {}).get("protocols") or {})
        return [p for p in planned if p in written] + [p for p in written if p not in planned]

    def template_hashes_seen(self) -> dict[str, set[str]]:
        """Every prompt template the stored records used, with the hashes it had when they did."""
        out: dict[str, set[str]] = {}
        for name, digest in self.query(  # records written before the field was renamed call it prompt_hashes
                "SELECT DISTINCT p.key, p.value FROM records r, json_each(COALESCE("
                "json_extract(r.data, '$.templates_used'), json_extract(r.data, '$.prompt_hashes'))) p"):
            out.setdefault(str(name), set()).add(str(digest))
        return out

    def export_jsonl(self, path: str | Path | None = None) -> Path:
        """Write every record as one JSON line (default ``records.jsonl`` in the run); returns the path."""
        out = Path(path) if path is not None else self.run_dir / "records.jsonl"
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for data, packed in self._rows(None):
                f.write((data if packed is None else zlib.decompress(packed).decode()) + "\n")
        os.replace(tmp, out)
        return out

    # manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` atomically; ``created`` is kept from the first write, ``updated`` is now."""
        stamped = {**manifest, "created": self.manifest().get("created") or now_iso(), "updated": now_iso()}
        tmp = self.manifest_path.with_name(MANIFEST_NAME + ".tmp")
        text = redact(json.dumps(stamped, indent=2, ensure_ascii=False, default=str))  # an error may quote a key
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def manifest(self) -> dict[str, Any]:
        """The manifest, or ``{}`` before one is written."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", path=self.manifest_path) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", path=self.manifest_path, line=exc.lineno) from None
        return _checked_manifest(data, self.manifest_path)

    # helpers

    def query(self, sql: str, args: Iterable[object] = ()) -> list[Any]:
        """Every row of one SQL query on the run's database (the viewer reads the columns directly)."""
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _has_packed_column(self, table: str) -> bool:
        return any(row[1] == "packed" for row in self._db.execute(f"PRAGMA table_info({table})"))

    def _rows(self, protocol: str | None) -> Iterator[tuple[str, bytes | None]]:
        """(data, packed) in case order, streamed from a cursor of its own (no list of the run)."""
        where, args = (" WHERE r.protocol = ?", [protocol]) if protocol is not None else ("", [])
        sql = (f"SELECT r.data, {self._packed_sql} FROM records r LEFT JOIN cases c ON c.id = r.case_id"
               f"{where} ORDER BY c.position, r.rowid")
        with self._lock:
            cursor = self._db.execute(sql, tuple(args))
        while True:
            with self._lock:
                batch = cursor.fetchmany(64)
            if not batch:
                return
            for data, blob in batch:
                yield str(data), blob
