"""The terms of batch mode (:mod:`courtgraph.models.batching`): its settings, a submitted batch as a run's
journal keeps it, the journal's interface (the evals layer implements it in ``run.db``), what batch mode needs of
a provider model, and a request's identity (``custom_id``). Apart from the collector so that the run's layers can
name them without its machinery.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from courtgraph.models.batch_apis import Line
from courtgraph.models.errors import ConfigError, ModelError
from courtgraph.models.limits import Endpoint
from courtgraph.models.retry import Failure, RetryPolicy

#: Requests per batch at most: OpenAI's Batch API takes 50,000 (Anthropic's Message Batches 100,000).
MAX_BATCH = 50_000


@dataclass(frozen=True)
class BatchSettings:
    """``size``: requests per batch at most (a full queue is sent at once); ``wait_s``: seconds after a
    queue's first request before it is sent anyway; ``poll_s``: seconds between looks at a pending batch."""

    size: int = 100
    wait_s: float = 10.0
    poll_s: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.size <= MAX_BATCH:
            raise ConfigError(f"batch size must be from 1 to {MAX_BATCH:,} (OpenAI's limit per batch), got {self.size}")
        if self.wait_s < 0 or self.poll_s <= 0:
            raise ConfigError(f"batch wait must be at least 0 and poll above 0 seconds, got {self.wait_s:g} "
                              f"and {self.poll_s:g}")

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "wait_s": self.wait_s, "poll_s": self.poll_s}


@dataclass(frozen=True)
class JournalEntry:
    """A submitted batch as the run keeps it: enough to poll it again and route its answers."""

    batch_id: str
    provider: str
    base_url: str
    model: str
    custom_ids: tuple[str, ...]


@dataclass(frozen=True)
class SubmitIntent:
    """A batch about to be created, journaled *before* the create request (:mod:`courtgraph.models.batch_submit`):
    if the process dies before the provider's answer is journaled, a resumed run looks for the batch at the
    provider instead of paying for it again. ``submit_id`` is local (OpenAI carries it in the batch's
    ``metadata``); ``at`` is the wall-clock time (seconds since the epoch) just before the create."""

    submit_id: str
    provider: str
    base_url: str
    model: str
    custom_ids: tuple[str, ...]
    at: float


class BatchJournal(Protocol):
    """Where a run keeps its submitted batches (``courtgraph.evals.batch_journal`` writes them to run.db)."""

    def pending_batches(self) -> list[JournalEntry]: ...

    def open_intents(self) -> list[SubmitIntent]:
        """The creates journaled whose batch id was never written (the process died in between)."""
        ...

    def known_batch_ids(self) -> set[str]:
        """Every batch id journaled, whatever its status (these are never someone else's candidates)."""
        ...

    def batch_intended(self, intent: SubmitIntent) -> None: ...

    def batch_submitted(self, entry: JournalEntry, submit_id: str | None = None) -> None:
        """The provider accepted ``entry`` (the create of ``submit_id``'s intent, which is closed with it)."""
        ...

    def intent_dropped(self, submit_id: str, status: str) -> None:
        """No batch came of the intent (``lost``: nothing found at the provider; ``refused``): it is closed."""
        ...

    def batch_ended(self, batch_id: str, status: str) -> None: ...


class Batchable(Protocol):
    """What batch mode needs of a provider model (:class:`~courtgraph.models.endpoint.EndpointModel`)."""

    provider: str
    model: str
    base_url: str | None
    retry: RetryPolicy
    endpoint: Endpoint  # its circuit breaker counts batch submits and polls as sync calls

    def batch_client(self) -> Any: ...

    def batch_account(self) -> str: ...

    def _batch_body(self, messages: Any, schema: type[BaseModel] | None, params: Any) -> dict[str, Any]: ...

    def _batch_completion(self, body: dict[str, Any], schema: type[BaseModel] | None) -> Any: ...

    def _classify(self, exc: Exception) -> Failure | None: ...

    def _status_failure(self, status: int, headers: Any, said: str) -> Failure: ...

    def _give_up(self, failure: Failure) -> ModelError: ...


def request_id(provider: str, base_url: str | None, body: dict[str, Any]) -> str:
    """A request's ``custom_id``: the SHA-256 (64 hex digits, within Anthropic's limit) of the body without its
    prompt-cache markers. Which request of a prefix carries Anthropic's ``cache_control`` breakpoint depends on
    the order requests are built (one writer per prefix), and a resumed run must find its pending batch's
    answers whatever that order: the markers change the price of a request, never its answer."""
    blob = json.dumps([provider, base_url, _without_markers(body)], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _without_markers(value: Any) -> Any:
    """``value`` with every ``cache_control`` key removed, at any depth."""
    if isinstance(value, dict):
        return {k: _without_markers(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_markers(v) for v in value]
    return value


def line_failure(model: Batchable, line: Line) -> Failure | None:
    """An unanswered line as a sync call's failure: its status judged as a sync HTTP error's would be."""
    if line.body is not None:
        return None
    if line.unrun:
        return Failure(f"{model.provider} batch request never ran: {line.message}", retryable=True, kind="expired")
    return model._status_failure(line.status or 500, {}, line.message)
