"""A SQLite response cache, so re-running an experiment costs nothing.

Keyed by a hash of everything that determines an answer: provider, model, base URL, sampling
parameters, messages and the requested output schema. The cache stores the response as the
provider gave it (with the usage it cost), so a hit can report what it saved.

The current run's cache is a context variable: graphs can be built before the run decides whether
and where to cache, and models left on the default pick it up at call time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from courtgraph.models.errors import ConfigError
from courtgraph.models.secrets import redact

#: A cache up to this size is checked whole when opened (well under a second); a larger one as it is read.
QUICK_CHECK_BYTES = 64 * 1024 * 1024


def default_cache_path() -> Path:
    """``$COURTGRAPH_CACHE``, else ``$XDG_CACHE_HOME/courtgraph/responses.sqlite``."""
    if env := os.environ.get("COURTGRAPH_CACHE"):
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "courtgraph" / "responses.sqlite"


def cache_key(provider: str, model: str, base_url: str | None, params: dict[str, Any],
              messages: Any, schema: dict[str, Any] | None, *, schema_json: str | None = None) -> str:
    """The SHA-256 of ``[provider, model, base_url, params, messages, schema]`` as canonical JSON.

    ``schema_json``: the schema's own canonical JSON (:func:`key_json`), when the caller keeps it (a structured
    call's schema is the same on every call); the list's JSON is its items' JSON joined, so the key is the same."""
    items = [key_json(x) for x in (provider, model, base_url, params, messages)]
    items.append(key_json(schema) if schema_json is None else schema_json)
    return hashlib.sha256(("[" + ",".join(items) + "]").encode()).hexdigest()


def key_json(value: Any) -> str:
    """One item of a cache key as canonical JSON (sorted keys, no spaces, not ASCII-escaped)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def check_cache_path(path: Path) -> None:
    """A ConfigError, before any work, when ``path`` cannot hold a cache: a file stands where a folder must."""
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"{path}: cannot hold the response cache: {parent} is a file, not a directory")


class ResponseCache:
    """A key -> JSON store in one SQLite file; safe to share across threads and processes.

    A cache is a convenience, never a reason for a run to fail: a damaged file (truncated, not a
    database, a bad page found mid-run) is named in one warning on the ``courtgraph`` logger, moved
    aside to ``NAME.damaged-TIMESTAMP`` and replaced by an empty cache (a file up to
    :data:`QUICK_CHECK_BYTES` is checked whole when opened, a larger one as it is read); a path that cannot hold a
    cache (a directory there) is named and the run goes on uncached. A bad row (not JSON) is a miss,
    replaced by the next answer for its key: see :meth:`get`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.bad_rows = 0
        self._closed = False
        self._db: sqlite3.Connection | None = None
        check_cache_path(self.path)
        with self._lock:
            self._db = self._open()

    def _open(self) -> sqlite3.Connection | None:
        """The open database: a damaged file is moved aside once and a new one made; None if that fails too."""
        if self.path.is_dir():
            _warn(f"response cache {self.path} is a directory, not a cache file; running without a cache")
            return None
        for _ in range(2):
            db = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                db.commit()
                if self.path.stat().st_size <= QUICK_CHECK_BYTES:
                    found = db.execute("PRAGMA quick_check(1)").fetchone()
                    if found is None or found[0] != "ok":
                        raise sqlite3.DatabaseError(f"quick_check: {found[0] if found else 'no answer'}")
                return db
            except sqlite3.DatabaseError as exc:
                if db is not None:
                    db.close()
                if not self._move_aside(exc):
                    return None
            except OSError as exc:
                _warn(f"response cache {self.path}: {exc.strerror or exc}; running without a cache")
                return None
        return None

    def _move_aside(self, exc: BaseException) -> bool:
        """Rename a damaged cache file (and its WAL files) out of the way, saying so in one line."""
        what = " ".join(str(exc).split())[:160]  # one line, whatever SQLite said
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            for suffix in ("", "-wal", "-shm"):
                part = self.path.with_name(self.path.name + suffix)
                if part.exists():
                    os.replace(part, aside.with_name(aside.name + suffix))
        except OSError as move:
            _warn(f"response cache {self.path} is damaged ({what}) and cannot be moved aside "
                  f"({move.strerror or move}); running without a cache")
            return False
        _warn(f"response cache {self.path} is damaged ({what}); moved aside to {aside.name}, starting a new one")
        return True

    def _run(self, sql: str, args: tuple[Any, ...], *, commit: bool = False) -> list[Any] | None:
        """One statement under the lock; a damaged database found now is moved aside and the statement
        tried once on the new one. None when running without a cache."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"response cache {self.path} is closed")
            for _ in range(2):
                if self._db is None:
                    return None
                try:
                    rows = self._db.execute(sql, args).fetchall()
                    if commit:
                        self._db.commit()
                    return rows
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                        raise  # busy for 30 s: another process holds it, which is not damage
                    self._db.close()
                    self._db = self._open() if self._move_aside(exc) else None
            return None

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or None: a miss, or a row that is not a JSON object (counted in ``bad_rows``,
        and replaced when the answer is stored again)."""
        rows = self._run("SELECT value FROM responses WHERE key = ?", (key,))
        if not rows:
            return None
        try:
            value = json.loads(rows[0][0])
        except (TypeError, ValueError):
            value = None
        if not isinstance(value, dict):
            self.bad_row(key)
            return None
        return value

    def bad_row(self, key: str) -> None:
        """Count a row that could not be used (the caller found it malformed); warn once per cache."""
        with self._lock:
            self.bad_rows += 1
            first = self.bad_rows == 1
        if first:
            _warn(f"response cache {self.path}: a malformed entry ({key[:12]}...) is treated as a miss and "
                  "replaced; further ones are counted silently")

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._run("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                  (key, redact(json.dumps(value, ensure_ascii=False))), commit=True)

    @property
    def usable(self) -> bool:
        """False when running without a cache (its file could not be opened or replaced)."""
        return self._db is not None

    def __len__(self) -> int:
        rows = self._run("SELECT COUNT(*) FROM responses", ())
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None


def _warn(message: str) -> None:
    """One line on the ``courtgraph`` logger (printed on stderr even when logging is not configured)."""
    logging.getLogger("courtgraph").warning("warning: %s", message)


_current: ContextVar[ResponseCache | None] = ContextVar("courtgraph_cache", default=None)


def current_cache() -> ResponseCache | None:
    """The cache models on the default use now (None: no caching)."""
    return _current.get()


@contextmanager
def use_cache(cache: ResponseCache | str | Path | None) -> Iterator[ResponseCache | None]:
    """Within the block, models on the default cache through ``cache`` (a path opens one)."""
    opened = ResponseCache(cache) if isinstance(cache, str | Path) else cache
    token = _current.set(opened)
    try:
        yield opened
    finally:
        _current.reset(token)
        if opened is not cache and opened is not None:
            opened.close()
