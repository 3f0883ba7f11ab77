"""The circuit breaker of an endpoint: after N consecutive failed calls, calls fail at once.

Kept apart from the rest of the endpoint's bookkeeping (:mod:`courtgraph.models.limits`), which owns
one :class:`Breaker` per endpoint and re-exports these names.
"""

from __future__ import annotations

import threading
import time

from courtgraph.models.errors import EndpointDown
from courtgraph.models.retry import env_count

#: Consecutive failed calls (each after its retries) that open an endpoint's circuit breaker.
DEFAULT_BREAKER = 5
#: Seconds an open breaker refuses calls before letting one through to try again.
BREAKER_COOLDOWN_S = 60.0
#: Statuses that fault one request (too long, malformed), not the endpoint: they never count toward opening it.
REQUEST_FAULTS = frozenset({400, 413, 422})


class Breaker:
    """A circuit breaker: after ``threshold`` consecutive failed calls to one endpoint, calls fail at once.

    A provider that is down would otherwise cost every remaining call its full retries (4 attempts
    with backoff): minutes of 503s before a run ends. Open, the breaker raises
    :class:`~courtgraph.models.errors.EndpointDown` for ``cooldown_s`` seconds, then lets one call
    through (half-open): its success closes the breaker, its failure opens it again. Any success
    resets the count. ``threshold`` 0 turns the breaker off. A run stops taking new work when it
    opens (see :func:`tripped`).
    """

    def __init__(self, where: str, threshold: int, cooldown_s: float = BREAKER_COOLDOWN_S) -> None:
        self.where = where
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.last_error = ""
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        with self._lock:
            return self._opened_at is not None and time.monotonic() - self._opened_at < self.cooldown_s

    @property
    def opened_at(self) -> float:
        """When it last opened (``time.monotonic()``), or -inf."""
        return float("-inf") if self._opened_at is None else self._opened_at

    def down(self) -> EndpointDown:
        return EndpointDown(self.where, self.failures, self.last_error)

    def check(self) -> None:
        """Raise :class:`EndpointDown` while open; after the cooldown one call goes through (half-open)."""
        with self._lock:
            if self._opened_at is None:
                return
            if time.monotonic() - self._opened_at < self.cooldown_s:
                raise self.down()
            self._opened_at = time.monotonic()  # half-open: this call tries; others still wait the cooldown

    def failed(self, error: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = error
            if self.threshold and self.failures >= self.threshold:
                self._opened_at = time.monotonic()

    def succeeded(self) -> None:
        with self._lock:
            self.failures = 0
            self._opened_at = None


def breaker_threshold() -> int:
    """``$COURTGRAPH_BREAKER``: consecutive failed calls that open a breaker (0: never), default 5."""
    count = env_count("COURTGRAPH_BREAKER", "0 (off) or a whole number of failed calls")
    return DEFAULT_BREAKER if count is None else count
