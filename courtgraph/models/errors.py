"""The errors of the model layer, in a module of their own so that every part of it can raise them.

:class:`ModelError` is a call that failed for good; :class:`ConfigError` a model (or cache) that cannot
be used as configured, raised before any work; :class:`EndpointDown` a call refused without trying,
because its endpoint's circuit breaker is open. Messages are redacted (a provider body may echo a key).
"""

from __future__ import annotations

from courtgraph.models.secrets import redact
from courtgraph.schema import Usage


class ModelError(Exception):
    """A call that failed for good (after any retries). ``retryable`` says whether it ever was."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 usage: Usage | None = None) -> None:
        super().__init__(redact(message))  # provider bodies may echo the key
        self.status = status
        self.retryable = retryable
        #: what the failed attempts cost in trouble (retries, 429s, faults by kind): a turn keeps it
        self.usage = usage or Usage()


class EndpointDown(ModelError):
    """A call refused at once: its endpoint failed too many times in a row (the circuit breaker is open).

    A run stops taking new work when it sees one: every remaining call to that endpoint would fail the
    same way. ``endpoint`` names it (provider at URL) and ``last_error`` is the failure that opened it."""

    def __init__(self, endpoint: str, failures: int, last_error: str) -> None:
        super().__init__(f"{endpoint} is down: {failures} calls in a row failed; last: {last_error}",
                         retryable=True)
        self.endpoint = endpoint
        self.failures = failures
        self.last_error = redact(last_error)


class ConfigError(ValueError):
    """A model that cannot be used as configured (unknown spec, missing API key): raised before work."""
