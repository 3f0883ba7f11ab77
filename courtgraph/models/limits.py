"""Endpoint limits: how many requests one provider account may have in flight, and how fast.

An *endpoint* is a provider + base URL + API key. Limits belong to it, not to a model object or a
graph run: LangGraph's ``max_concurrency`` is per run, so twenty concurrent graphs with eight
jurors each would otherwise send 160 requests at once to one account. Every model on the same
endpoint, in every graph and every run of the process, shares:

* a concurrency bound: ``$COURTGRAPH_MAX_CONCURRENCY`` or :meth:`Endpoint.configure` when set, else the
  ``--concurrency`` of the run that uses it (:mod:`courtgraph.models.admission`), else 8 outside a run;
* optional requests- and tokens-per-minute budgets (a token bucket refilled at the rate, holding one
  second's worth, so calls are paced evenly; a call waits for room, never fails for want of it; tokens
  are reserved at the prompt's estimate plus ``max_tokens`` and corrected to the usage reported);
* the current run's settings for the endpoint (``--max-connections``, ``--rpm``, ``--tpm`` and a roles
  file's ``[endpoints."URL"]``, :mod:`courtgraph.models.connections`) over all of the above;
* adaptive backoff: a 429 halves the endpoint's effective concurrency (floor 1), once per episode,
  and it grows back after a quiet period, as Inspect's adaptive connections do;
* a circuit breaker (:class:`Breaker`): after ``$COURTGRAPH_BREAKER`` (default 5) consecutive failed
  calls, calls fail at once with :class:`~courtgraph.models.errors.EndpointDown`, and runs stop.

The limits use no asyncio primitive (an ``asyncio.Semaphore`` binds to the first loop that waits on
it), so they hold across ``asyncio.run`` calls and threads. Slots are released in ``finally``
blocks and on cancellation, so a failed or cancelled call never leaks one (Verdict's limiter does).

This module knows no HTTP, SDK or retry: it is the bookkeeping alone, so it can be read and tested
on its own; :class:`~courtgraph.models.endpoint.EndpointModel` holds a slot around each request.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from courtgraph.models.admission import current_admission
from courtgraph.models.breaker import BREAKER_COOLDOWN_S, DEFAULT_BREAKER, Breaker, breaker_threshold
from courtgraph.models.connections import NO_LIMITS, EndpointLimits, current_endpoint_settings, env_number
from courtgraph.models.errors import ConfigError, EndpointDown
from courtgraph.models.prefix_writers import PrefixWriters

DEFAULT_CONCURRENCY = 8


def env_limit(name: str) -> int | None:
    """A whole positive number from the environment (an RPM or TPM budget), or None when unset."""
    value = int(env_number(name, 0, integer=True))
    return value or None


class _Gate:
    """An adaptive concurrency bound that any event loop, in any thread, can wait on."""

    def __init__(self, limit: int, recovery_s: float) -> None:
        self._lock = threading.Lock()
        self.max = limit  # the configured bound
        self.limit = limit  # the effective bound, lowered after 429s
        self.recovery_s = recovery_s
        self.in_flight = 0
        self.epoch = 0  # bumped by every cut: a 429 from a request started before it is the same episode
        self._changed = time.monotonic()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def acquire(self) -> int:
        """Wait for a slot; returns the epoch it was granted in (see :meth:`cut`)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._recover()
            if self.in_flight < self.limit and not self._waiters:
                self.in_flight += 1
                return self.epoch
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, waiter))
            self._wake()
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                queued = (loop, waiter) in self._waiters
                if queued:
                    self._waiters.remove((loop, waiter))
            if not queued and waiter.done() and not waiter.cancelled():
                self.release()  # granted, then cancelled before it could run: hand the slot back
            raise
        return self.epoch

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self._recover()
            self._wake()

    def cut(self, epoch: int) -> None:
        """A 429: halve the effective bound, once per episode (requests granted since the last cut)."""
        with self._lock:
            if epoch != self.epoch:
                return
            self.epoch += 1
            self.limit = max(1, self.limit // 2)
            self._changed = time.monotonic()

    def resize(self, limit: int) -> None:
        with self._lock:
            self.max = self.limit = limit
            self._wake()

    def _recover(self) -> None:
        """After a quiet period, grow the effective bound by half (at least one) toward the maximum."""
        now = time.monotonic()
        if self.limit < self.max and now - self._changed >= self.recovery_s:
            self.limit = min(self.max, self.limit + max(1, self.limit // 2))
            self._changed = now

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            loop, waiter = self._waiters.popleft()
            self.in_flight += 1
            try:
                loop.call_soon_threadsafe(self._grant, waiter)
            except RuntimeError:  # that waiter's loop is closed
                self.in_flight -= 1

    def _grant(self, waiter: asyncio.Future[None]) -> None:
        # runs on the waiter's own loop; a waiter cancelled after being picked hands its slot back
        if waiter.cancelled():
            self.release()
        else:
            waiter.set_result(None)


@dataclass
class _Use:
    at: float
    amount: int


class _Bucket:
    """At most ``limit`` units (requests or tokens) a minute, paced: a token bucket.

    It refills at ``limit / 60`` units a second and holds at most ``burst_s`` seconds' worth (at least
    one unit), so requests are spaced evenly rather than sent in a burst that a provider, which
    enforces its minute limit over shorter periods, would answer with 429s. A use waits until the
    bucket holds it (or, for a use larger than the bucket, until the bucket is full) and may leave
    the bucket in debt, so the long-run rate never passes ``limit``. :meth:`settle` refunds or charges
    the difference between an estimate and what was used.
    """

    def __init__(self, limit: int, *, burst_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.burst_s = burst_s
        self.limit = limit
        self._level = self.capacity
        self._at = clock()

    @property
    def capacity(self) -> float:
        return max(self.limit * self.burst_s / 60.0, 1.0)

    def _refill(self, now: float) -> None:
        self._level = min(self.capacity, self._level + (now - self._at) * self.limit / 60.0)
        self._at = now

    def try_take(self, amount: int) -> tuple[_Use | None, float]:
        """Take ``amount`` now if the bucket holds it (a use), else the seconds until it will."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            need = min(float(amount), self.capacity)
            if self._level + 1e-9 >= need:
                self._level -= amount
                return _Use(now, amount), 0.0
            return None, max((need - self._level) * 60.0 / self.limit, 0.001)

    async def take(self, amount: int) -> _Use:
        while True:
            use, delay = self.try_take(amount)
            if use is not None:
                return use
            await asyncio.sleep(delay)

    def settle(self, use: _Use, amount: int) -> None:
        """Replace an estimate with what the call really used."""
        with self._lock:
            self._refill(self._clock())
            self._level = min(self.capacity, self._level + use.amount - amount)
            use.amount = amount


class Slot:
    """One granted request: report a 429 (:meth:`rate_limited`) and the tokens used (:meth:`used`)."""

    def __init__(self, gate: _Gate, epoch: int, tokens: _Bucket | None, use: _Use | None) -> None:
        self._gate, self._epoch, self._tokens, self._use = gate, epoch, tokens, use
        self.settled = False

    def rate_limited(self) -> None:
        self._gate.cut(self._epoch)

    def used(self, tokens: int) -> None:
        if self._tokens is not None and self._use is not None:
            self._tokens.settle(self._use, tokens)
        self.settled = True


class Endpoint:
    """The shared limits of one provider + base URL + key. Get one with :func:`get_endpoint`.

    ``breaker`` (:class:`Breaker`) opens after ``$COURTGRAPH_BREAKER`` (default :data:`DEFAULT_BREAKER`)
    consecutive failed calls; :meth:`configure` sets it per endpoint. The bound and the RPM/TPM budgets
    are, most specific first: the current run's (:mod:`courtgraph.models.connections`), what
    :meth:`configure` or the environment set, and for the bound the run's ``--concurrency``."""

    def __init__(self, provider: str, base_url: str, max_concurrency: int, recovery_s: float = 15.0,
                 breaker: int = DEFAULT_BREAKER, *, explicit: bool = False, rpm: int | None = None,
                 tpm: int | None = None) -> None:
        self.provider = provider
        self.base_url = base_url
        self.breaker = Breaker(f"{provider} at {base_url}", breaker)
        self._gate = _Gate(max_concurrency, recovery_s)
        #: set on purpose (environment, configure): below a run's own settings, above its concurrency
        self._configured = EndpointLimits(max_connections=max_concurrency if explicit else None, rpm=rpm, tpm=tpm)
        self._requests: _Bucket | None = _Bucket(rpm) if rpm else None
        self._tokens: _Bucket | None = _Bucket(tpm) if tpm else None
        self.prefixes = PrefixWriters()  # who writes each cacheable prefix now (models/prefix_writers.py)

    def __repr__(self) -> str:
        return (f"Endpoint({self.provider} at {self.base_url}, limit={self.limit}/{self.max_concurrency}, "
                f"in_flight={self.in_flight})")

    @property
    def explicit(self) -> bool:
        """The bound was set on purpose (environment, configure): a run's concurrency does not change it."""
        return self._configured.max_connections is not None

    @property
    def configured(self) -> EndpointLimits:
        """What :meth:`configure` or the environment set (a run's own settings go above it)."""
        return self._configured

    @property
    def max_concurrency(self) -> int:
        return self._gate.max

    @property
    def limit(self) -> int:
        """The effective concurrency now (below ``max_concurrency`` for a while after a 429)."""
        return self._gate.limit

    @property
    def in_flight(self) -> int:
        return self._gate.in_flight

    @property
    def rpm(self) -> int | None:
        """The requests-per-minute budget in force (None: none)."""
        return self._requests.limit if self._requests is not None else None

    @property
    def tpm(self) -> int | None:
        """The tokens-per-minute budget in force (None: none)."""
        return self._tokens.limit if self._tokens is not None else None

    def configure(self, *, max_concurrency: int | None = None, rpm: int | None = None, tpm: int | None = None,
                  recovery_s: float | None = None, breaker: int | None = None,
                  breaker_cooldown_s: float | None = None) -> Endpoint:
        """Set this endpoint's limits for every model that uses it (``0`` turns a budget or the breaker off).

        A run's own endpoint settings (``--max-connections``, ``--rpm``...) still take precedence."""
        if breaker is not None:
            if breaker < 0:
                raise ConfigError(f"breaker must be 0 (off) or a number of failed calls, got {breaker}")
            self.breaker.threshold = breaker
        if breaker_cooldown_s is not None:
            self.breaker.cooldown_s = breaker_cooldown_s
        given: dict[str, int | None] = {}
        if max_concurrency is not None:
            if max_concurrency < 1:
                raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
            self._gate.resize(max_concurrency)
            given["max_connections"] = max_concurrency
        if rpm is not None:
            given["rpm"] = rpm if rpm > 0 else None
            self._requests = _budget(self._requests, given["rpm"])
        if tpm is not None:
            given["tpm"] = tpm if tpm > 0 else None
            self._tokens = _budget(self._tokens, given["tpm"])
        if given:
            self._configured = replace(self._configured, **given)
        if recovery_s is not None:
            self._gate.recovery_s = recovery_s
        return self

    def _follow_run(self) -> None:
        """Take the current run's bound and budgets (see the class docstring)."""
        settings = current_endpoint_settings()
        run_gives = settings.for_endpoint(self.provider, self.base_url) if settings is not None else NO_LIMITS
        mine = self._configured
        run = current_admission()
        bound = run_gives.max_connections or mine.max_connections or (run.concurrency if run is not None else None)
        if bound is not None and bound != self._gate.max:
            self._gate.resize(bound)
        self._requests = _budget(self._requests, run_gives.rpm or mine.rpm)
        self._tokens = _budget(self._tokens, run_gives.tpm or mine.tpm)

    @asynccontextmanager
    async def slot(self, estimated_tokens: int = 0) -> AsyncIterator[Slot]:
        """Hold one request slot (and the RPM/TPM budget) for the duration of one HTTP request.

        A call waits for its slot and for room in the budgets, it never fails for want of them. Tokens
        are reserved at the estimate (as providers do, counting ``max_tokens``) and settled to what the
        call reports; a call that fails without reporting counts none.
        """
        self._follow_run()
        epoch = await self._gate.acquire()
        try:
            if self._requests is not None:
                await self._requests.take(1)
            tokens = self._tokens
            use = await tokens.take(estimated_tokens) if tokens is not None else None
            slot = Slot(self._gate, epoch, tokens, use)
            try:
                yield slot
            finally:
                if not slot.settled:
                    slot.used(0)
        finally:
            self._gate.release()


def _budget(bucket: _Bucket | None, limit: int | None) -> _Bucket | None:
    """``bucket`` refilled at ``limit`` units a minute (its level kept), a new one, or None for no budget."""
    if limit is None:
        return None
    if bucket is None:
        return _Bucket(limit)
    bucket.limit = limit
    return bucket


_registry: dict[tuple[str, str, str], Endpoint] = {}
_registry_lock = threading.Lock()


def get_endpoint(provider: str, base_url: str, api_key: str) -> Endpoint:
    """The process-wide endpoint for this provider, URL and key (the key only as a hash)."""
    key = (provider, base_url.rstrip("/"), hashlib.sha256(api_key.encode()).hexdigest()[:16])
    with _registry_lock:
        found = _registry.get(key)
        if found is None:
            limit = int(env_number("COURTGRAPH_MAX_CONCURRENCY", DEFAULT_CONCURRENCY, integer=True))
            found = _registry[key] = Endpoint(
                provider, key[1], limit, breaker=breaker_threshold(), rpm=env_limit("COURTGRAPH_RPM"),
                tpm=env_limit("COURTGRAPH_TPM"),
                explicit=bool(os.environ.get("COURTGRAPH_MAX_CONCURRENCY", "").strip()))
        return found


def tripped(since: float = 0.0) -> EndpointDown | None:
    """The first endpoint whose breaker is open now, having opened at or after ``since`` (a
    ``time.monotonic()`` value: a run's start, so that one run's outage never stops the next), as the
    error to stop a run with; None if there is none."""
    with _registry_lock:
        endpoints = list(_registry.values())
    return next((e.breaker.down() for e in endpoints if e.breaker.open and e.breaker.opened_at >= since), None)


def endpoint_bound(concurrency: int) -> int:
    """The bound each endpoint gets in a run of ``concurrency`` unless one was configured (the manifest
    records it)."""
    return int(env_number("COURTGRAPH_MAX_CONCURRENCY", concurrency, integer=True))


def reset_endpoints() -> None:
    """Forget every endpoint and its limits (tests; a changed ``$COURTGRAPH_MAX_CONCURRENCY``)."""
    with _registry_lock:
        _registry.clear()


__all__ = ["BREAKER_COOLDOWN_S", "DEFAULT_BREAKER", "DEFAULT_CONCURRENCY", "Breaker", "Endpoint", "Slot",
           "breaker_threshold", "endpoint_bound", "env_limit", "env_number", "get_endpoint", "reset_endpoints",
           "tripped"]
