"""Keys never leave the process in text: every configured key is redacted from what is printed or stored.

Some gateways repeat the key they were sent in a 401 body ("invalid key sk-abc..."), and that body
becomes an error message, which becomes a record, an export, a log line and a ``--debug``
traceback. So every text that leaves through courtgraph passes :func:`redact`, which replaces any
configured key, and any prefix of one at least :data:`MIN_PREFIX` characters long (a gateway may
echo a truncated key), with :data:`REDACTED`.

A *configured key* is the value of any environment variable whose name looks like a credential
(``*_API_KEY``, ``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``), as the environment is at
redaction time, plus every key handed to a model in code (:meth:`SecretRegistry.add`, which the HTTP
providers call). The list is kept between redactions (every stored record is redacted, and scanning
the environment decoded every variable each time) and read again whenever the environment differs
from the copy it was read from, so a key set later is redacted from the next text on.

:data:`SECRETS` is the one process-wide registry (documented, explicit, thread-safe): keys passed
as ``api_key=...`` live nowhere else that redaction could find them.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

#: What a redacted key reads as.
REDACTED = "[REDACTED]"
#: The shortest prefix of a key that is redacted on its own (shorter runs are too common to mean the key).
MIN_PREFIX = 8
#: Environment variables whose values are keys.
CREDENTIAL_NAME = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.IGNORECASE)


class SecretRegistry:
    """The keys given to models in code, beside those in the environment; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        # the last answer of keys(), and a copy of the environment it was read from (None: read again)
        self._known: tuple[str, ...] = ()
        self._known_env: dict[Any, Any] | None = None

    def add(self, key: str | None) -> None:
        """Remember ``key`` so that :func:`redact` removes it (short placeholders are ignored)."""
        if key and len(key) >= MIN_PREFIX:
            with self._lock:
                if key not in self._keys:
                    self._keys.add(key)
                    self._known_env = None

    def keys(self) -> tuple[str, ...]:
        """Every key to redact now, longest first (so a key containing another is removed whole).

        Read again whenever the environment is not the one the last answer was read from (the raw
        environment compared with a copy, in C), so that a key set at any time is never missed."""
        env = _raw_environ()
        with self._lock:
            if self._known_env is not None and self._known_env == env:
                return self._known
            seen = dict(env)  # copied before reading: a change made meanwhile makes the next call read again
            found = set(self._keys)
            found.update(v for name, v in os.environ.items()
                         if CREDENTIAL_NAME.search(name) and len(v) >= MIN_PREFIX)
            self._known, self._known_env = tuple(sorted(found, key=len, reverse=True)), seen
            return self._known

    def clear(self) -> None:
        """Forget the keys added in code (tests)."""
        with self._lock:
            self._keys.clear()
            self._known_env = None


SECRETS = SecretRegistry()


def _raw_environ() -> Mapping[Any, Any]:
    """The environment as stored, undecoded: ``os.environ``'s own dict, which every change through
    ``os.environ`` updates (``os.putenv`` alone changes neither it nor what ``os.environ`` reads).
    Anything else standing in for ``os.environ`` (a test's plain dict) is used as it is."""
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) else os.environ


def _redact_one(text: str, key: str) -> str:
    """``text`` with ``key``, and every prefix of it of at least MIN_PREFIX characters, replaced."""
    head, out, at = key[:MIN_PREFIX], [], 0
    while (found := text.find(head, at)) >= 0:
        end = found + len(head)
        while end < len(text) and end - found < len(key) and text[end] == key[end - found]:
            end += 1
        out += [text[at:found], REDACTED]
        at = end
    return "".join(out) + text[at:] if out else text


def redact(text: str, keys: Iterable[str] | None = None) -> str:
    """``text`` with every configured key (see the module docstring), and every long prefix of one, replaced
    by :data:`REDACTED`. ``keys`` overrides the configured keys (tests)."""
    if not text:
        return text
    for key in SECRETS.keys() if keys is None else sorted(keys, key=len, reverse=True):
        text = _redact_one(text, key)
    return text
