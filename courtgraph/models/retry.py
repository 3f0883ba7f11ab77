"""The one retry layer of the HTTP providers: what a failed attempt was, how long to wait, when to stop.

429 (honouring ``Retry-After`` up to a cap), 408, 409, 5xx, timeouts, dropped connections and
malformed bodies are retried with exponential backoff and jitter; other 4xx fail at once with a
:class:`~courtgraph.models.base.ModelError` that says what to fix. The SDKs' own retries are off,
so retries never multiply.

This module knows tenacity and HTTP but no SDK: :class:`~courtgraph.models.endpoint.EndpointModel`
turns each SDK exception into a :class:`Failure` (retryable or not) and runs its attempts in
:func:`retrying`, so the policy lives in one place whatever the provider.
"""

from __future__ import annotations

import email.utils
import logging
import os
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.wait import wait_base

from courtgraph.models.errors import ConfigError
from courtgraph.models.secrets import redact


@dataclass(frozen=True)
class RetryPolicy:
    """How the one retry layer behaves: bounded attempts, exponential backoff with jitter.

    The n-th retry waits ``backoff * 2**(n-1)`` plus up to ``backoff`` of jitter, at most
    ``max_backoff``; a 429 with ``Retry-After`` waits what the server asks, if at most
    ``retry_after_cap`` (a longer ask, e.g. a spent daily quota, fails at once).
    """

    attempts: int = 4  # the first and 3 retries (``--max-retries N`` makes it N + 1)
    backoff: float = 0.5
    max_backoff: float = 30.0
    retry_after_cap: float = 60.0


def env_count(name: str, allowed: str) -> int | None:
    """A whole number of 0 or more from ``$name``, or None when unset; anything else is a ConfigError saying
    what is ``allowed`` (the retries here, the circuit breaker's failed calls)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ConfigError(f"${name} must be {allowed}, got {raw!r}")
    return int(raw)


def env_retries() -> int | None:
    """``$COURTGRAPH_MAX_RETRIES``: retries after a call's first attempt (0: none), or None when unset."""
    return env_count("COURTGRAPH_MAX_RETRIES", "0 or a whole number of retries")


class Failure(Exception):
    """One failed attempt, classified: retried by the retry layer if ``retryable``, counted by ``kind``."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, kind: str | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        #: what went wrong, for counting (``Usage.faults``): the HTTP status, or timeout, connection, malformed
        self.kind = kind or (str(status) if status is not None else "other")
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP date)."""
    if ms := headers.get("retry-after-ms"):
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


_HINTS = {
    400: "bad request", 401: "unauthorized; check {key_env}", 403: "forbidden; check that {key_env} may use {model}",
    404: "not found; check the model name {model!r} and the base URL", 413: "the request is too large",
    422: "the request was not understood", 429: "rate limited",
}


def status_hint(status: int, *, key_env: str, model: str) -> str:
    """What an HTTP status means for the user, and what to check (the key's variable, the model name)."""
    try:
        phrase = HTTPStatus(status).phrase.lower()
    except ValueError:
        phrase = "error"
    return _HINTS.get(status, phrase).format(key_env=key_env, model=model)


def server_message(body: object) -> str:
    """The human part of an error body, in either API's shape, with any key redacted (a gateway may echo it)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return redact(str(inner["message"]))
        if body.get("message"):
            return redact(str(body["message"]))
    return "" if body is None else redact(str(body))[:300]


class _Backoff(wait_base):
    """Wait what a 429 asks for (``Retry-After``), else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._exponential = wait_exponential_jitter(multiplier=policy.backoff, max=policy.max_backoff,
                                                    jitter=policy.backoff)

    def __call__(self, retry_state: RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, Failure) and failure.retry_after is not None:
            return failure.retry_after
        return self._exponential(retry_state)


#: Each retry is logged here (a run's ``run.log`` collects it, see :mod:`courtgraph.evals.logs`).
log = logging.getLogger("courtgraph.models")


def _log_retry(retry_state: RetryCallState) -> None:
    failure = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.info("retry %d after: %s (waiting %.2f s)", retry_state.attempt_number, failure, wait)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, Failure) and exc.retryable


def retrying(policy: RetryPolicy) -> AsyncRetrying:
    """A fresh retry loop for one call: a retryable :class:`Failure` is tried again, up to
    ``policy.attempts`` attempts in all, waiting as :class:`_Backoff` says; the last failure is re-raised."""
    return AsyncRetrying(stop=stop_after_attempt(policy.attempts), wait=_Backoff(policy),
                         retry=retry_if_exception(_retryable), reraise=True, before_sleep=_log_retry)
