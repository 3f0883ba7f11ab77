"""Submitting a batch so that it is never paid twice, and finding again a batch whose create's answer was lost.

A batch is paid when the provider accepts its create; the run learns its id only from the create's answer.
Between the two (one round trip) a process killed (SIGKILL, a crash, a lost machine) or an answer lost on
the wire would leave a batch the run does not know it has, and its calls would be sent (and paid) again.
So :class:`Submits` journals an *intent* (:class:`~courtgraph.models.batch_terms.SubmitIntent`: a local
submit id, the provider, the time and every request's ``custom_id``) before the create, and closes it with
the batch's id once the create answers. An intent still open was interrupted; the batch is looked for at
the provider (its list of batches, newest first, back to the intent's time):

* **OpenAI** batches carry ``metadata``: the create sends the submit id in it, and the batch that carries it
  is adopted, exactly (polled as a pending batch; none: the calls go out again).
* **Anthropic** Message Batches carry nothing of ours, so the batches created from the intent's time (less
  a clock skew) with as many requests are *candidates*. They are polled as pending batches; when one has
  ended, its results' ``custom_id`` set is compared with the intent's: each ``custom_id`` is the hash of the
  exact request, so equal sets are the same requests, and that batch is adopted (its answers routed). A
  candidate whose requests differ is someone else's and is ignored. While a candidate is unresolved the
  intent's calls wait for it (they are not sent again); when none was ours they go out again.

This happens on ``--resume`` for each intent left open (:meth:`Submits.recover`, when the first call of it
is made again), and within a run when a create failed with no answer (a timeout, a dropped connection)
and is about to be retried: the retry first looks for the batch (:meth:`Submits.submit`). A create the
provider refused with an HTTP status made no batch: its intent is closed and the retry creates.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from courtgraph.models.batch_apis import BATCH_APIS, Found, Requests, endpoint_call
from courtgraph.models.batch_terms import Batchable, JournalEntry, SubmitIntent
from courtgraph.models.retry import Failure

if TYPE_CHECKING:
    from courtgraph.models.batching import BatchMode

log = logging.getLogger("courtgraph.models")


class Submits:
    """The creates of one :class:`~courtgraph.models.batching.BatchMode` and the recovery of interrupted ones."""

    def __init__(self, mode: BatchMode) -> None:
        self.mode = mode
        self.adopted = 0  # batches of interrupted creates found at the provider and adopted
        self.resent = 0  # interrupted creates whose batch was not found: their calls went out again
        self._seen: set[str] = set()  # batch ids this run created, adopted or ruled out
        self.unsettled: set[str] = set()  # submit ids whose batch is not known yet (still open if interrupted)

    def known_ids(self) -> set[str]:
        """Batches that are this run's (journaled or seen here): never a candidate of another intent."""
        journal = self.mode.journal
        return self._seen | (journal.known_batch_ids() if journal is not None else set())

    async def submit(self, model: Batchable, requests: Requests) -> None:
        """Upload, journal the intent, create (a retry after an unanswered create looks for it first), poll."""
        mode, journal = self.mode, self.mode.journal
        ids = tuple(custom_id for custom_id, _ in requests)
        api = BATCH_APIS[model.provider]
        try:
            prepared = await endpoint_call(model, lambda client: api.prepare(client, requests))
        except Failure as failure:
            mode.fail_calls(ids, _submit_failed(len(ids), failure))
            return
        intent = SubmitIntent(f"cg-{uuid.uuid4().hex}", model.provider, model.base_url or "", model.model, ids,
                              time.time())
        mode._keep("the create of %s was not journaled first: a crash before its answer pays it again",
                   intent.submit_id, lambda: None if journal is None else journal.batch_intended(intent))
        self.unsettled.add(intent.submit_id)
        unanswered = found_again = False

        async def create(client: Any) -> Found:
            nonlocal unanswered, found_again
            if unanswered:  # an earlier create may have reached the provider, its answer lost on the way
                found = await api.find(client, intent, self.known_ids())
                if found.batch_id is not None or found.candidates:
                    found_again = True
                    return found
            try:
                return Found(batch_id=await api.create(client, prepared, requests, intent.submit_id))
            except Exception as exc:
                said = model._classify(exc)
                unanswered = unanswered or said is None or said.status is None
                raise

        try:
            found = await endpoint_call(model, create)
        except Failure as failure:
            if not unanswered:  # every create was answered with a refusal: no batch exists
                self.unsettled.discard(intent.submit_id)
                mode._keep("the refused create of %s is still open in the journal", intent.submit_id,
                           lambda: None if journal is None else journal.intent_dropped(intent.submit_id, "refused"))
            mode.fail_calls(ids, _submit_failed(len(ids), failure))
            return
        if found.batch_id is None:
            await self._match(model, intent, found.candidates, dict(requests), resumed=False)
            return
        if found_again:
            entry = self._adopt(model, intent, found.batch_id, resumed=False)
        else:
            entry = self._accepted(model, intent, found.batch_id)
            mode.submitted += 1
            mode.say("batch %s submitted to %s at %s: %d requests (pending batches: %d)", entry.batch_id,
                     model.provider, model.base_url, len(ids), len(mode.pending))
        await mode._settle(model, entry, first_look=mode.settings.poll_s)

    async def follow(self, model: Batchable, entry: JournalEntry) -> None:
        """A batch an earlier invocation submitted and journaled: poll it again, at once."""
        self.mode.resumed += 1
        self.mode.say("batch %s (%d requests, submitted before the run was resumed) polled again, not resubmitted",
                      entry.batch_id, len(entry.custom_ids))
        await self.mode._settle(model, entry, first_look=0.0)

    async def recover(self, model: Batchable, intent: SubmitIntent) -> None:
        """An intent an earlier invocation left open: adopt its batch, wait for its candidates, or send again."""
        mode = self.mode
        api = BATCH_APIS[model.provider]
        cancelled = False
        self.unsettled.add(intent.submit_id)
        try:
            found = await endpoint_call(model, lambda client: api.find(client, intent, self.known_ids()))
            if found.batch_id is not None:
                await mode._settle(model, self._adopt(model, intent, found.batch_id, resumed=True), first_look=0.0)
            elif found.candidates:
                await self._match(model, intent, found.candidates, mode._held, resumed=True)
            else:
                self._resend(model, intent, mode._held, "no batch found for the interrupted submit")
        except asyncio.CancelledError:
            cancelled = True  # still open in the journal: the next --resume looks again
            raise
        except Failure as failure:
            mode.fail_calls(intent.custom_ids, Failure(
                f"looking for the batch of an interrupted submit failed: {failure.message}", status=failure.status,
                kind=failure.kind))
        finally:
            if not cancelled:  # settled (adopted, sent again, or its search failed): later calls queue
                for custom_id in intent.custom_ids:
                    mode._intents.pop(custom_id, None)
                    mode._held.pop(custom_id, None)

    def _adopt(self, model: Batchable, intent: SubmitIntent, batch_id: str, resumed: bool) -> JournalEntry:
        """The intent's batch found at the provider: journaled, counted and said."""
        entry = self._accepted(model, intent, batch_id)
        self.adopted += 1
        if resumed:
            self.mode.resumed += 1
            self.mode.say("batch %s submitted before the crash was found and adopted (%d calls)", batch_id,
                          len(intent.custom_ids))
        else:
            self.mode.submitted += 1
            self.mode.say("batch %s (%d requests), whose create's answer was lost, was found at %s and adopted",
                          batch_id, len(intent.custom_ids), model.provider)
        return entry

    def _accepted(self, model: Batchable, intent: SubmitIntent, batch_id: str) -> JournalEntry:
        """The intent's batch, journaled as pending with its intent closed (one transaction)."""
        journal = self.mode.journal
        entry = JournalEntry(batch_id, model.provider, model.base_url or "", model.model, intent.custom_ids)
        self._seen.add(batch_id)
        self.unsettled.discard(intent.submit_id)
        self.mode.pending[batch_id] = len(intent.custom_ids)
        self.mode._keep("batch %s accepted but not journaled: a crash before it ends pays it again", batch_id,
                        lambda: None if journal is None else journal.batch_submitted(entry, intent.submit_id))
        return entry

    async def _match(self, model: Batchable, intent: SubmitIntent, candidates: tuple[str, ...],
                     bodies: Mapping[str, dict[str, Any]], resumed: bool) -> None:
        """Poll the candidates until each has ended; adopt the one whose requests are exactly the intent's."""
        mode = self.mode
        api = BATCH_APIS[model.provider]
        wanted = set(intent.custom_ids)
        mode.say("the interrupted submit of %d calls: candidate batches at %s (created since, as many requests: "
                 "%s); its calls wait for them to end and compare their requests", len(wanted), model.provider,
                 ", ".join(candidates))
        left = list(candidates)
        for batch_id in left:  # counted as pending while they are waited for (status lines, close)
            mode.pending.setdefault(batch_id, len(wanted))
        try:
            while left:
                for batch_id in list(left):
                    state = await endpoint_call(model, partial(api.poll, batch_id=batch_id))
                    if not state.ended:
                        continue
                    left.remove(batch_id)
                    mode.pending.pop(batch_id, None)
                    self._seen.add(batch_id)
                    ids = [line.custom_id for line in state.lines]
                    if state.failed is None and len(ids) == len(wanted) and set(ids) == wanted:
                        mode._finish(model, self._adopt(model, intent, batch_id, resumed), state)
                        return
                    mode.say("batch %s is not the interrupted submit's (its requests differ): ignored", batch_id)
                if left:
                    await asyncio.sleep(mode.settings.poll_s)
        except Failure:
            for batch_id in left:  # no longer waited for (a cancelled wait leaves them: --resume looks again)
                mode.pending.pop(batch_id, None)
            raise
        self._resend(model, intent, bodies, f"none of the {len(candidates)} candidate batches was the interrupted "
                                            "submit's")

    def _resend(self, model: Batchable, intent: SubmitIntent, bodies: Mapping[str, dict[str, Any]],
                why: str) -> None:
        mode, journal = self.mode, self.mode.journal
        self.resent += 1
        self.unsettled.discard(intent.submit_id)
        mode._keep("the lost create of %s is still open in the journal", intent.submit_id,
                   lambda: None if journal is None else journal.intent_dropped(intent.submit_id, "lost"))
        mode.say("%s; sending its %d calls again", why, len(intent.custom_ids))
        for custom_id in intent.custom_ids:  # the calls waiting now; those still to come queue as usual
            mode._intents.pop(custom_id, None)
            body, future = bodies.get(custom_id), mode._waiting.get(custom_id)
            if body is not None and future is not None and not future.done():
                mode._enqueue(model, custom_id, body)
        mode._watch_stall()  # sent at once if every trial now waits for them, as any queued call


def _submit_failed(size: int, failure: Failure) -> Failure:
    return Failure(f"submitting a batch of {size} requests failed: {failure.message}", status=failure.status,
                   kind=failure.kind)
