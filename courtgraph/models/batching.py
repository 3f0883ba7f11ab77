"""Batch mode: the calls of many trials collected into the providers' batch APIs, at half the price.

OpenAI's Batch API and Anthropic's Message Batches answer a file of requests within 24 hours at 50%
of the token price. A judging run makes many independent calls at once (every trial's juror, debater
or judge of the same step), so within :func:`use_batch_mode` an HTTP provider's call
(:class:`~courtgraph.models.endpoint.EndpointModel`) makes no request of its own: its body, exactly
what a synchronous call would send, is queued with a future. A queue (one per provider, base URL, key and
model: an OpenAI batch holds one model) is flushed into a batch when it holds ``size`` requests, or
``wait_s`` seconds after its first request was queued. Each batch is submitted
(:mod:`courtgraph.models.batch_apis`), polled every ``poll_s`` seconds, and each line's answer is
routed back to its call, parsed by the provider's own code into the same ``Completion`` a sync call
returns, marked ``batched`` (billed at the batch price, :func:`courtgraph.models.pricing.batch_factor`).

Failures follow a sync call's rules (:mod:`courtgraph.models.retry`): an errored line's HTTP status is
judged retryable or final as a sync call's would be, and a retryable one (and a request that expired
or was cancelled before it ran) is queued again into a later batch, up to the model's
``retry.attempts``; then, or at once for a final error, the call fails with a ModelError, never a
quiet wrong verdict. A batch that fails as a whole fails its calls with the provider's message.
Submitting and polling are retried like any request (a 503 on the poll is not the batch's end).

**Identity and resuming.** Each request's ``custom_id`` is the SHA-256 of provider, base URL and the
exact body (:func:`request_id`), so the same call made again has the same id. Every batch is journaled
(:class:`BatchJournal`, in ``run.db``): its create as an intent before it is sent, its id once accepted. A
resumed run polls its pending batches again, and a call whose id is in one waits for it (never submitted
twice); an intent left open by a crash is looked for at the provider (:mod:`courtgraph.models.batch_submit`).
Answers of a resumed batch no call has claimed yet are kept for the calls still to come.

**When a batch is sent.** When its queue holds ``size`` requests; ``wait_s`` after its first request
was queued; or as soon as the run is *stalled*: every trial the run has admitted is waiting in a
batched call (:meth:`~courtgraph.models.admission.Admission.stalled`), so no further request can come
until a batch returns and waiting longer would only add latency. This is what makes each step of a
multi-round protocol one batch (a debate's round, then its judge) whatever the step's width.

**Never a silent hang**: a waiting call is always in a queue or a live batch task, and a watchdog resends
any call nothing holds (:mod:`courtgraph.models.batch_watch`). Submits and polls count in the circuit breaker.

**Concurrency.** A call waiting for its batch counts as in flight in the run's admission, and a batch
pays off only when many calls wait together: a batch run admits ``max(concurrency, size)`` calls at once
(:mod:`courtgraph.models.admission`); batch calls hold no endpoint slot (they are not HTTP requests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from courtgraph.models.admission import current_admission
from courtgraph.models.batch_apis import BATCH_APIS, BatchState, Line, endpoint_call
from courtgraph.models.batch_submit import Submits
from courtgraph.models.batch_terms import (
    Batchable,
    BatchJournal,
    BatchSettings,
    JournalEntry,
    SubmitIntent,
    line_failure,
    request_id,
)
from courtgraph.models.batch_watch import Watchdog
from courtgraph.models.errors import EndpointDown
from courtgraph.models.pricing import batch_factor
from courtgraph.models.retry import Failure
from courtgraph.schema import Usage

log = logging.getLogger("courtgraph.models")
#: Seconds a run must stay stalled (every admitted trial waiting in a batched call) before its queues are sent:
#: the calls of one fan-out (a jury's jurors) start within a few loop iterations of each other.
STALL_S = 0.05


@dataclass
class _Queue:
    """Requests waiting for their batch, for one provider, base URL and model."""

    model: Batchable
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None


class BatchMode:
    """The batch collector of one run, on its event loop (see the module docstring)."""

    def __init__(self, settings: BatchSettings, journal: BatchJournal | None = None,
                 notify: Callable[[str], None] | None = None, watchdog_s: float | None = None) -> None:
        self.settings = settings
        self.journal = journal
        self.notify = notify  # one line for the user when a batch is submitted, resumed or ends
        self.submitted = 0  # batches this run submitted
        self.ended = 0  # batches that ended (resumed ones included)
        self.resumed = 0  # journaled batches polled again instead of submitting their requests
        self.pending: dict[str, int] = {}  # batch id -> requests, while it is pending
        self._queues: dict[tuple[str, str, str, str], _Queue] = {}
        self._waiting: dict[str, asyncio.Future[Line]] = {}  # custom_id -> its answer, queued or submitted
        self._ready: dict[str, Line] = {}  # answers of resumed batches that no call has claimed yet
        self._adoptable: dict[str, JournalEntry] = {}
        self._followed: set[str] = set()
        self._intents: dict[str, SubmitIntent] = {}  # custom_id -> an interrupted create's intent (resumed)
        self._recovering: set[str] = set()  # submit ids being looked for at the provider
        self._held: dict[str, dict[str, Any]] = {}  # bodies of calls waiting for an interrupted create's batch
        self._tasks: set[asyncio.Task[None]] = set()
        self._blocked = 0  # calls now waiting for a batch's answer
        self._stall_check: asyncio.TimerHandle | None = None
        self._live: dict[str, int] = {}  # custom_id -> live batch tasks (submitting, polling) that hold it
        self.listeners: list[Callable[[], None]] = []  # told when a batch is submitted, resumed or ends
        self.watchdog = Watchdog(self, watchdog_s)
        self.submits = Submits(self)
        for entry in journal.pending_batches() if journal is not None else []:
            self._adoptable.update(dict.fromkeys(entry.custom_ids, entry))
        for intent in journal.open_intents() if journal is not None else []:
            self._intents.update(dict.fromkeys(intent.custom_ids, intent))

    def __repr__(self) -> str:
        return f"BatchMode(submitted={self.submitted}, pending={len(self.pending)}, queued={self.queued})"

    @property
    def queued(self) -> int:  # requests waiting in a queue for their batch to be sent
        return sum(len(q.requests) for q in self._queues.values())

    # -- a call ------------------------------------------------------------------------------------

    async def complete(self, model: Batchable, messages: Any, schema: type[BaseModel] | None, params: Any) -> Any:
        """The ``Completion`` of one call, answered by a batch (retried in later batches as the module says)."""
        body = model._batch_body(messages, schema, params)
        custom_id = request_id(model.provider, model.base_url, body)
        faults: dict[str, int] = {}
        attempts = 0
        while True:
            attempts += 1
            try:
                claimed = self._claim(model, custom_id, body)
                self._blocked += 1
                self._watch_stall()
                self.watchdog.arm()
                try:
                    line = await asyncio.shield(claimed)
                finally:
                    self._blocked -= 1
                failure = line_failure(model, line)
                if failure is None and line.body is not None:
                    try:
                        done = model._batch_completion(line.body, schema)
                    except ValueError as exc:  # pydantic's ValidationError too
                        failure = Failure(f"malformed batch answer from {model.provider}: {exc}", retryable=True,
                                          kind="malformed")
                    else:
                        done.batched, done.retries, done.faults = True, attempts - 1, faults
                        return done
            except Failure as final:  # submitting or polling failed after its retries, or the batch failed
                failure = final
            assert failure is not None
            faults[failure.kind] = faults.get(failure.kind, 0) + 1
            if failure.retryable and attempts < model.retry.attempts:
                log.info("batch request %s… queued again after: %s", custom_id[:12], failure)
                continue
            error = model._give_up(failure)
            error.usage = Usage(retries=attempts - 1, faults=faults)
            raise error from failure

    def _claim(self, model: Batchable, custom_id: str, body: dict[str, Any]) -> asyncio.Future[Line]:
        """The future of ``custom_id``'s answer: a resumed batch's, the one already queued, or a new one."""
        loop = asyncio.get_running_loop()
        if (line := self._ready.pop(custom_id, None)) is not None:
            done: asyncio.Future[Line] = loop.create_future()
            done.set_result(line)
            return done
        if (waiting := self._waiting.get(custom_id)) is not None:  # the same request, already on its way
            return waiting
        future = self._waiting[custom_id] = loop.create_future()
        entry = self._adoptable.get(custom_id)
        if entry is not None and (entry.provider, entry.base_url) == (model.provider, model.base_url):
            if entry.batch_id not in self._followed:
                self._followed.add(entry.batch_id)
                self._spawn_batch(entry.custom_ids, self.submits.follow(model, entry))
            return future
        intent = self._intents.get(custom_id)
        if intent is not None and (intent.provider, intent.base_url) == (model.provider, model.base_url or ""):
            self._held[custom_id] = body  # sent again if the interrupted create's batch is not found
            if intent.submit_id not in self._recovering:
                self._recovering.add(intent.submit_id)
                self._spawn_batch(intent.custom_ids, self.submits.recover(model, intent))
            return future
        self._enqueue(model, custom_id, body)
        return future

    def _enqueue(self, model: Batchable, custom_id: str, body: dict[str, Any]) -> None:
        """Put a request in its queue (sent when full, after ``wait_s``, or when the run stalls)."""
        key = (model.provider, model.base_url or "", model.model, model.batch_account())
        queue = self._queues.setdefault(key, _Queue(model))
        queue.requests[custom_id] = body
        if len(queue.requests) >= self.settings.size:
            self.flush(key)
        elif queue.timer is None:
            queue.timer = asyncio.get_running_loop().call_later(self.settings.wait_s, self.flush, key)

    # -- batches -----------------------------------------------------------------------------------

    def _watch_stall(self) -> None:
        """Look again in :data:`STALL_S` whether the run is stalled on batched calls (module docstring)."""
        if self._stall_check is None and any(q.requests for q in self._queues.values()):
            self._stall_check = asyncio.get_running_loop().call_later(STALL_S, self._flush_if_stalled)

    def _flush_if_stalled(self) -> None:
        self._stall_check = None
        admission = current_admission()
        if admission is not None and admission.stalled(self._blocked):
            for key, queue in list(self._queues.items()):
                if queue.requests:
                    log.debug("every trial waits for a batch: sending %d queued requests now", len(queue.requests))
                    self.flush(key)
        else:
            self._watch_stall()

    def flush(self, key: tuple[str, str, str, str]) -> None:
        """Send up to ``size`` of a queue's requests as one batch; what is left waits for its own timer."""
        queue = self._queues[key]
        if queue.timer is not None:
            queue.timer.cancel()
            queue.timer = None
        if not queue.requests:
            return
        taken = list(queue.requests.items())[: self.settings.size]
        for custom_id, _ in taken:
            del queue.requests[custom_id]
        if queue.requests:
            queue.timer = asyncio.get_running_loop().call_later(self.settings.wait_s, self.flush, key)
        self._spawn_batch([custom_id for custom_id, _ in taken], self.submits.submit(queue.model, taken))

    async def _settle(self, model: Batchable, entry: JournalEntry, first_look: float) -> None:
        """Poll until the batch ends, then route each line to its call."""
        api = BATCH_APIS[model.provider]
        self.pending[entry.batch_id] = len(entry.custom_ids)
        self._changed()
        wait = first_look
        try:
            while True:
                await asyncio.sleep(wait)
                wait = self.settings.poll_s
                state: BatchState = await endpoint_call(model, lambda client: api.poll(client, entry.batch_id))
                if state.ended:
                    break
        except asyncio.CancelledError:
            raise  # still pending at the provider: close() says so, and the journal keeps it for --resume
        except BaseException as exc:
            self._forget(entry)
            if not isinstance(exc, Failure):
                raise  # the batch task's guard fails its calls
            self.fail_calls(entry.custom_ids, Failure(f"polling batch {entry.batch_id} failed: {exc.message}",
                                                      status=exc.status, kind=exc.kind))
            return
        self._finish(model, entry, state)

    def _finish(self, model: Batchable, entry: JournalEntry, state: BatchState) -> None:
        """An ended batch: journal its end, then fail its calls (a failed batch) or route each line to its call."""
        self._forget(entry)
        self.ended += 1
        status = "failed" if state.failed else state.status or "ended"
        self._keep("batch %s ended but its journal row was not updated: --resume polls it again",
                   entry.batch_id, lambda: None if self.journal is None else self.journal.batch_ended(
                       entry.batch_id, status))
        if state.failed is not None:
            self.say("batch %s failed: %s", entry.batch_id, state.failed, level=logging.WARNING)
            self.fail_calls(entry.custom_ids, Failure(
                f"{model.provider} batch {entry.batch_id} failed: {state.failed}", kind="batch_failed"))
            return
        lines = {line.custom_id: line for line in state.lines}
        answered = sum(line.body is not None for line in lines.values())
        self.say("batch %s ended (%s): %d of %d requests answered (pending batches: %d)", entry.batch_id,
                 state.status, answered, len(entry.custom_ids), len(self.pending))
        for custom_id in entry.custom_ids:
            line = lines.get(custom_id) or Line(custom_id, unrun=True, message="missing from the batch's results")
            future = self._waiting.pop(custom_id, None)
            if future is None:
                self._ready[custom_id] = line  # a resumed batch's answer for a call still to come
            elif not future.done():
                future.set_result(line)

    def _forget(self, entry: JournalEntry) -> None:  # over (ended or failed): no later call may wait to adopt it
        self.pending.pop(entry.batch_id, None)
        for custom_id in entry.custom_ids:
            self._adoptable.pop(custom_id, None)

    def say(self, text: str, *args: Any, level: int = logging.INFO) -> None:
        """A batch's event in the log (run.log) and on the user's console if asked (a failing console is logged)."""
        log.log(level, text, *args)
        if self.notify is not None:
            try:
                self.notify(text % args)
            except Exception:
                log.exception("batch mode could not show a line on the console")
        self._changed()

    def _keep(self, lost: str, batch_id: str, write: Callable[[], None]) -> None:
        """Write to the journal; a failure is said loudly and the batch goes on (its answers still count)."""
        try:
            write()
        except Exception as exc:
            self.say(lost + " (%s: %s)", batch_id, type(exc).__name__, exc, level=logging.ERROR)

    def _changed(self) -> None:  # a batch was submitted, resumed or ended: tell the listeners (status lines)
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:
                log.exception("a batch-mode listener failed")

    def fail_calls(self, ids: Sequence[str], exc: BaseException) -> None:
        for custom_id in ids:
            future = self._waiting.pop(custom_id, None)
            if future is not None and not future.done():
                future.set_exception(exc)

    def _spawn_batch(self, ids: Sequence[str], work: Awaitable[None]) -> None:
        """Run one batch's task; while it lives its calls are *placed*. However it ends, none of its calls is
        left waiting: an error it did not expect fails them (logged), EndpointDown included."""
        for custom_id in ids:
            self._live[custom_id] = self._live.get(custom_id, 0) + 1

        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except EndpointDown as down:
                self.fail_calls(ids, down)
            except Exception as exc:
                log.exception("batch mode: a batch task of %d requests failed; its calls fail", len(ids))
                self.fail_calls(ids, exc)
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: its calls fail, and it goes on up
                self.fail_calls(ids, exc)
                raise

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            for custom_id in ids:
                left = self._live.pop(custom_id, 1) - 1
                if left:
                    self._live[custom_id] = left

        task: asyncio.Task[None] = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(done)

    async def close(self) -> None:
        """Stop the timers and pollers: a pending batch stays with the provider (and in the journal)."""
        for queue in self._queues.values():
            if queue.timer is not None:
                queue.timer.cancel()
        if self._stall_check is not None:
            self._stall_check.cancel()
        self.watchdog.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.pending:
            self.say("%d batches still pending at the provider (%s): --resume polls them again, never pays twice",
                     len(self.pending), ", ".join(self.pending))
        if self.submits.unsettled:
            self.say("%d batch creates interrupted before the provider's answer: --resume looks for them there "
                     "(never pays twice)", len(self.submits.unsettled))


def billed_share(provider: str) -> float:
    """The share of the synchronous price a call to ``provider`` made here is billed: its batch price in batch
    mode for a provider with a batch API (what ``EndpointModel._complete`` batches), else 1."""
    return batch_factor(provider) if _current.get() is not None and provider in BATCH_APIS else 1.0


_current: ContextVar[BatchMode | None] = ContextVar("courtgraph_batch_mode", default=None)


def current_batch_mode() -> BatchMode | None:
    """The batch collector of the run this code runs in, if it runs in batch mode."""
    return _current.get()


@asynccontextmanager
async def use_batch_mode(settings: BatchSettings | None, journal: BatchJournal | None = None,
                         notify: Callable[[str], None] | None = None,
                         watchdog_s: float | None = None) -> AsyncIterator[BatchMode | None]:
    """Within the block, HTTP providers' calls go through batches (nothing changes when ``settings`` is None);
    ``notify`` gets a line for each batch submitted, resumed and ended; ``watchdog_s``: see :class:`Watchdog`."""
    if settings is None:
        yield None
        return
    mode = BatchMode(settings, journal, notify, watchdog_s)
    token = _current.set(mode)
    try:
        yield mode
    finally:
        _current.reset(token)
        await mode.close()
