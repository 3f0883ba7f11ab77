"""The providers' batch wire: OpenAI's Batch API (with its Files API) and Anthropic's Message Batches.

Each API is reduced to what the collector (:mod:`courtgraph.models.batching`) needs: *prepare* a list of
``(custom_id, body)`` (OpenAI uploads its file) and *create* the batch on it, getting its id back; *poll* a
batch id, getting either "still pending" or its end: every line's outcome (:class:`Line`), or the provider's
message when the whole batch failed; and *find* the batch of a create whose answer never arrived
(:class:`~courtgraph.models.batch_terms.SubmitIntent`): OpenAI's exactly, by the submit id the create put in
its ``metadata``; Anthropic's Message Batches carry no metadata, so there only *candidates* (created since
the intent, with as many requests), which the caller tells apart by their results' ``custom_id``.
The bodies are exactly what a synchronous call sends (``EndpointModel._batch_body``) and the answers are
parsed by the same code as a synchronous answer (``EndpointModel._batch_completion``), so a batched call
returns the very ``Completion`` a sync one does.

This module knows the SDKs' batch resources and their result shapes, nothing about queues or runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from courtgraph.models.breaker import REQUEST_FAULTS
from courtgraph.models.retry import Failure, retrying, server_message

if TYPE_CHECKING:
    from courtgraph.models.batch_terms import Batchable, SubmitIntent

T = TypeVar("T")

#: The Chat Completions endpoint, the one OpenAI batch lines go to.
OPENAI_ENDPOINT = "/v1/chat/completions"
#: OpenAI batch states before the end.
OPENAI_PENDING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
#: OpenAI error-file codes of requests that were never run (re-queued, not failed).
UNRUN_CODES = frozenset({"batch_expired", "batch_cancelled"})
#: The HTTP status each Anthropic error type stands for (an errored batch result carries only its type).
ANTHROPIC_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                    "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                    "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529}
#: The key of an OpenAI batch's ``metadata`` that carries the local submit id of the create that made it.
SUBMIT_KEY = "courtgraph_submit"
#: Seconds the provider's clock may differ from this machine's when batches are looked for by creation time.
CLOCK_SKEW_S = 10.0
#: Seconds after its intent within which an Anthropic batch may be its create's: the create's retries (each
#: within the request timeout) are over long before, and a later batch is not a candidate to wait for.
CREATE_WINDOW_S = 900.0


@dataclass(frozen=True)
class Line:
    """What became of one request of an ended batch.

    ``body``: the answer (a Chat Completion or a Message, as JSON) when it succeeded. Otherwise
    ``status`` and ``message`` of an errored request (judged retryable or final by the same rules as a
    sync call's HTTP error), or ``unrun`` (expired or cancelled before it ran: it is queued again)."""

    custom_id: str
    body: dict[str, Any] | None = None
    status: int | None = None
    message: str = ""
    unrun: bool = False


@dataclass(frozen=True)
class BatchState:
    """One look at a batch: pending (``ended`` False), failed as a whole (``failed``: the provider's
    message), or ended with its lines (requests missing from them were never run)."""

    ended: bool
    failed: str | None = None
    lines: Sequence[Line] = field(default_factory=tuple)
    status: str = ""


@dataclass(frozen=True)
class Found:
    """What a provider holds of an intent's create: its batch (``batch_id``, an exact match), or the batches
    that may be it (``candidates``, oldest first), or nothing."""

    batch_id: str | None = None
    candidates: tuple[str, ...] = ()


Requests = Sequence[tuple[str, dict[str, Any]]]


class BatchApi(Protocol):
    """One provider's batch endpoints (the SDK client is the provider model's own)."""

    async def prepare(self, client: Any, requests: Requests) -> Any:
        """What the create needs beyond the requests (OpenAI: the uploaded file's id)."""
        ...

    async def create(self, client: Any, prepared: Any, requests: Requests, submit_id: str) -> str: ...

    async def find(self, client: Any, intent: SubmitIntent, known: Set[str]) -> Found: ...

    async def poll(self, client: Any, batch_id: str) -> BatchState: ...


class OpenAIBatches:
    """OpenAI: upload the JSONL of requests (purpose ``batch``), create the batch on it, then read the
    output and error files once it has ended."""

    async def prepare(self, client: Any, requests: Requests) -> Any:
        data = "\n".join(json.dumps({"custom_id": cid, "method": "POST", "url": OPENAI_ENDPOINT, "body": body},
                                    ensure_ascii=False) for cid, body in requests).encode()
        upload = await client.files.create(file=("courtgraph-batch.jsonl", data), purpose="batch")
        return upload.id

    async def create(self, client: Any, prepared: Any, requests: Requests, submit_id: str) -> str:
        batch = await client.batches.create(input_file_id=prepared, endpoint=OPENAI_ENDPOINT,
                                            completion_window="24h", metadata={SUBMIT_KEY: submit_id})
        return str(batch.id)

    async def find(self, client: Any, intent: SubmitIntent, known: Set[str]) -> Found:
        """The batch whose metadata carries the intent's submit id (the list is newest first: it stops at
        batches created before the intent)."""
        async for batch in client.batches.list(limit=100):
            if batch.created_at < intent.at - CLOCK_SKEW_S:
                break
            if (batch.metadata or {}).get(SUBMIT_KEY) == intent.submit_id:
                return Found(batch_id=str(batch.id))
        return Found()

    async def poll(self, client: Any, batch_id: str) -> BatchState:
        batch = await client.batches.retrieve(batch_id)
        status = str(batch.status)
        if status in OPENAI_PENDING:
            return BatchState(False, status=status)
        if status == "failed":
            errors = batch.errors.data if batch.errors is not None and batch.errors.data else []
            said = "; ".join(f"{e.code}: {e.message}" if e.code else str(e.message) for e in errors)
            return BatchState(True, failed=said or f"batch {batch_id} failed", status=status)
        lines: list[Line] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await client.files.content(file_id)
                lines += [openai_line(json.loads(text)) for text in content.text.splitlines() if text.strip()]
        return BatchState(True, lines=lines, status=status)


def openai_line(row: dict[str, Any]) -> Line:
    """One line of an OpenAI output or error file."""
    custom_id = str(row.get("custom_id"))
    response = row.get("response")
    error = row.get("error") or {}
    if isinstance(response, dict):
        body = response.get("body")
        code = int(response.get("status_code") or 500)
        if code == 200 and isinstance(body, dict):
            return Line(custom_id, body=body)
        return Line(custom_id, status=code, message=server_message(body) or str(error.get("message") or ""))
    if error.get("code") in UNRUN_CODES:
        return Line(custom_id, unrun=True, message=str(error.get("message") or error.get("code")))
    return Line(custom_id, status=500, message=str(error.get("message") or "the batch request failed"))


class AnthropicBatches:
    """Anthropic: create the Message Batch with every request inline, then stream its results."""

    async def prepare(self, client: Any, requests: Requests) -> Any:
        return None

    async def create(self, client: Any, prepared: Any, requests: Requests, submit_id: str) -> str:
        batch = await client.messages.batches.create(requests=[{"custom_id": cid, "params": body}
                                                               for cid, body in requests])
        return str(batch.id)

    async def find(self, client: Any, intent: SubmitIntent, known: Set[str]) -> Found:
        """Candidates: batches created from the intent's time (less the clock skew) to :data:`CREATE_WINDOW_S`
        after it, with as many requests, and not journaled by this run (the list is newest first)."""
        candidates: list[str] = []
        async for batch in client.messages.batches.list(limit=100):
            created = batch.created_at.timestamp()
            if created < intent.at - CLOCK_SKEW_S:
                break
            counts = batch.request_counts
            size = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
            if (created <= intent.at + CREATE_WINDOW_S and size == len(intent.custom_ids)
                    and batch.id not in known):
                candidates.append(str(batch.id))
        return Found(candidates=tuple(reversed(candidates)))

    async def poll(self, client: Any, batch_id: str) -> BatchState:
        batch = await client.messages.batches.retrieve(batch_id)
        if batch.processing_status != "ended":
            return BatchState(False, status=str(batch.processing_status))
        lines: list[Line] = []
        async for item in await client.messages.batches.results(batch_id):
            result = item.result
            if result.type == "succeeded":
                lines.append(Line(item.custom_id, body=result.message.model_dump(mode="json")))
            elif result.type == "errored":
                error = result.error.error
                lines.append(Line(item.custom_id, status=ANTHROPIC_STATUS.get(error.type, 500),
                                  message=str(error.message)))
            else:  # expired, canceled
                lines.append(Line(item.custom_id, unrun=True, message=f"the request {result.type}"))
        return BatchState(True, lines=lines, status="ended")


#: The batch API of each provider that has one.
BATCH_APIS: Mapping[str, BatchApi] = MappingProxyType({"openai": OpenAIBatches(), "anthropic": AnthropicBatches()})


async def endpoint_call(model: Batchable, request: Callable[[Any], Awaitable[T]]) -> T:
    """One batch-endpoint request (an upload, a create, a poll) through ``model``'s SDK client, retried as a
    sync call is (:func:`courtgraph.models.retry.retrying`) and counted by the endpoint's circuit breaker as one
    sync call: a failure after the retries counts toward opening it (a request's own 400/413/422 aside), a
    success resets it, and while it is open the request is refused at once with
    :class:`~courtgraph.models.errors.EndpointDown` (batch mode then fails the batch's calls, and the run stops
    taking new work as it does for sync calls)."""
    breaker = model.endpoint.breaker
    try:
        async for attempt in retrying(model.retry):
            with attempt:
                breaker.check()
                try:
                    done = await request(model.batch_client())
                except Exception as exc:
                    failure = model._classify(exc)
                    if failure is None:
                        raise
                    raise failure from exc
    except Failure as failure:
        if failure.status not in REQUEST_FAULTS:
            breaker.failed(failure.message)
        raise
    breaker.succeeded()
    return done
