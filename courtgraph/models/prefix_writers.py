"""One writer per cacheable prefix, and the opt-in warm-up (docs/PERFORMANCE.md §5).

A provider serves a cached prefix only once a first request carrying it has answered: requests sent
together (a jury's jurors, a panel's specialists) all miss. On Anthropic each of them would also *write*
the prefix at 1.25x the input price, so a cached jury cost more than no caching. :class:`PrefixWriters`,
one per endpoint (provider + URL + key: :class:`~courtgraph.models.limits.Endpoint`), remembers which
prefixes (a hash of model, system, tools and the messages up to the breakpoint) have a request in flight
or have been answered:

* the first request of a prefix is its **writer** (it carries the breakpoint);
* while it is in flight, others with the same prefix are **plain** (sent without the breakpoint: 1x input);
* once it has answered, later ones are **readers** (they carry the breakpoint and read the cache);
* a writer that fails hands the role on: the next request writes.

With the warm-up (:data:`prefix_warmup`, ``courtgraph run --prefix-warmup``) a request that would be plain
waits for the writer's answer instead and goes as a reader: every call after the first of a case reads,
at the price of about one call's latency per case for concurrent protocols (nothing for sequential ones).
The markers never change an answer; only what the provider caches and bills.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

#: What one request does with its prefix: write it, read it, or go without a breakpoint.
Role = Literal["write", "read", "plain"]

#: The current run's warm-up setting (``run_async(prefix_warmup=True)``, ``--prefix-warmup``).
prefix_warmup: ContextVar[bool] = ContextVar("prefix_warmup", default=False)

#: The role of the request being built in this task (read by the provider when it sets its breakpoint); None:
#: not taken yet (a request without one carries the breakpoint, as every request did before).
breakpoint_role: ContextVar[Role | None] = ContextVar("breakpoint_role", default=None)

@contextmanager
def use_prefix_warmup(on: bool) -> Iterator[None]:
    """Turn the warm-up on (or off) for the calls made inside (a run: ``run_async(prefix_warmup=True)``)."""
    token = prefix_warmup.set(on)
    try:
        yield
    finally:
        prefix_warmup.reset(token)


#: How many recent prefixes an endpoint remembers (oldest forgotten first).
DEFAULT_CAPACITY = 4096

#: Anthropic's default cache lives five minutes from its last use: a prefix unused for longer is written anew
#: (so its next request is a writer again, and its concurrent siblings go plain). A little under, to be safe.
CACHE_TTL_S = 270.0

#: OpenAI caches a prefix from 1,024 tokens; at about 4 characters a token, shorter prefixes never wait.
OPENAI_MIN_CHARS = 1024 * 4


def prefix_key(*parts: Any) -> str:
    """A short stable hash of a cacheable prefix (model, system, tools, the messages up to the breakpoint)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def case_prefix(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]] | None:
    """The turns every agent of a case shares: up to and including the first user message (the case);
    None when there is no user message, so nothing to share."""
    first_user = next((i for i, m in enumerate(messages) if m["role"] == "user"), None)
    return None if first_user is None else [(m["role"], m["content"]) for m in messages[:first_user + 1]]


@dataclass
class _Entry:
    answered: bool = False
    used_at: float = 0.0  # when it was last answered or read (the provider's TTL counts from there)
    done: asyncio.Event | None = field(default=None)  # set when the writer in flight finishes (either way)


class PrefixWriters:
    """Per endpoint: which prefixes are being written or have been answered (an LRU of ``capacity``)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, ttl_s: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, key: str) -> Role:
        """The role of a request with this prefix now (a ``write`` must be ended with :meth:`finish`)."""
        entry = self._entries.get(key)
        now = self._clock()
        if entry is not None:
            self._entries.move_to_end(key)
            if entry.answered and now - entry.used_at <= self.ttl_s:
                entry.used_at = now
                return "read"
            if not entry.answered and entry.done is not None:
                return "plain"
        self._entries[key] = _Entry(done=asyncio.Event())
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return "write"

    def finish(self, key: str, *, answered: bool) -> None:
        """The writer of ``key`` is done: answered (later requests read) or failed (the next one writes)."""
        entry = self._entries.get(key)
        if entry is None:
            return
        if entry.done is not None:
            entry.done.set()
        if answered:
            entry.answered, entry.done, entry.used_at = True, None, self._clock()
        else:
            del self._entries[key]

    def in_flight(self, key: str) -> asyncio.Event | None:
        """The event of the writer in flight for ``key``, if any."""
        entry = self._entries.get(key)
        return None if entry is None or entry.answered else entry.done

    @asynccontextmanager
    async def request(self, key: str, *, warmup: bool = False) -> AsyncIterator[Role]:
        """The role of one request for its whole life: with ``warmup``, wait for a writer in flight first."""
        while warmup:
            pending = self.in_flight(key)
            if pending is None:
                break
            await pending.wait()  # the writer answered (then read) or failed (then maybe write)
        role = self.claim(key)
        mine = self._entries.get(key)
        answered = False
        try:
            yield role
            answered = True
        finally:
            if role == "write" and self._entries.get(key) is mine:  # not forgotten and claimed anew meanwhile
                self.finish(key, answered=answered)
