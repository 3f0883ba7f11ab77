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
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from courtgraph.models.secrets import redact


def default_cache_path() -> Path:
    """``$COURTGRAPH_CACHE``, else ``$XDG_CACHE_HOME/courtgraph/responses.sqlite``."""
    if env := os.environ.get("COURTGRAPH_CACHE"):
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "courtgraph" / "responses.sqlite"


def cache_key(provider: str, model: str, base_url: str | None, params: dict[str, Any],
              messages: Any, schema: dict[str, Any] | None) -> str:
    blob = json.dumps([provider, model, base_url, params, messages, schema], sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """A key -> JSON store in one SQLite file; safe to share across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                             (key, redact(json.dumps(value, ensure_ascii=False))))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
