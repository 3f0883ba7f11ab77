"""Batch mode never hangs silently (issue 10 item 6: a run once stopped at 103/108 records, every batch ended).

The cause, reproduced under load: the record store commits a loop iteration's records at the end of it, so
between ``RunStore.write`` and its commit the store's connection holds SQLite's write lock; a batch ending in
that iteration wrote its journal row through another connection on the same (then blocked) loop, waited the
30 s busy timeout, raised "database is locked" inside the poller, and the batch's answers never reached their
calls. Checked here: the journal commits the store's pending records first, a journal or console failure
after a batch ended no longer strands its calls, a resumed batch whose poll failed is not waited for again, and
the watchdog resends any call that nothing holds, saying so. Every call goes through the real SDK clients
against the stub; ``asyncio.wait_for`` bounds a hang (it asserts nothing about time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from courtgraph.evals import runner
from courtgraph.evals.batch_journal import batch_journal
from courtgraph.evals.runner import run_async
from courtgraph.evals.store import RunStore
from courtgraph.graphs.registry import Roles
from courtgraph.models import ModelError, get_model
from courtgraph.models.base import ChatModel, ModelResponse
from courtgraph.models.batch_terms import BatchSettings, JournalEntry, SubmitIntent, request_id
from courtgraph.models.batching import BatchMode, use_batch_mode
from courtgraph.models.errors import EndpointDown
from courtgraph.models.retry import RetryPolicy
from courtgraph.schema import Record, TrialResult, Usage, Verdict
from courtgraph.testing import StubServer

#: A bound on a hung test only (a hang is the failure these tests look for): nothing asserts a duration.
HANG = 60.0
FAST = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
NOW = BatchSettings(size=1, wait_s=0.0, poll_s=0.01)


def a_record(i: int) -> Record:
    verdict = Verdict(winner="A", rationale="r")
    trial = TrialResult(order="AB", verdict=verdict, turns=[], usage=Usage(calls=1))
    return Record(case_id=f"c{i}", protocol="single", category="math", label="A", trials=[trial], verdict=verdict,
                  correct=True, usage=Usage(calls=1))


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(batch_delay=0.0) as server:
        yield server


def model_of(stub: StubServer) -> ChatModel:
    model = get_model(f"openai:gpt-4o-mini@{stub.openai_url}")
    model.retry = FAST  # type: ignore[attr-defined]
    return model


async def answer(model: ChatModel, text: str) -> ModelResponse:
    return await asyncio.wait_for(model.generate(ask(text)), HANG)  # type: ignore[arg-type]


# -- the root cause: the journal behind the store's group commit ------------------------------------------------


async def test_a_journal_write_in_the_iteration_a_record_was_written_does_not_wait_for_its_commit(
        tmp_path: Path) -> None:
    """Without ``before_write`` the journal's UPDATE waits for a lock only this (blocked) loop can release:
    30 s, then "database is locked". With the store's flush it commits the record first and writes at once."""
    with RunStore(tmp_path) as store, batch_journal(tmp_path, NOW, store.flush) as journal:
        assert journal is not None
        store.write(a_record(1))  # its commit is scheduled for the loop's next iteration
        journal.batch_submitted(JournalEntry("b1", "openai", "u", "m", ("x", "y")))
        store.write(a_record(2))
        journal.batch_ended("b1", "completed")
        assert journal.counts() == {"completed": 1} and [r.case_id for r in store.records()] == ["c1", "c2"]


def test_the_runner_gives_the_journal_the_stores_flush(stub: StubServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    original = runner.batch_journal

    def spy(run_dir: Any, settings: Any, before_write: Any = None) -> Any:
        seen.append(before_write)
        return original(run_dir, settings, before_write)

    monkeypatch.setattr(runner, "batch_journal", spy)
    asyncio.run(run_async("sample", ["single"], roles=Roles(model=f"openai:gpt-4o-mini@{stub.openai_url}"),
                          out=tmp_path / "r", limit=2, cache=None, progress=False, batch=NOW))
    assert len(seen) == 1 and isinstance(getattr(seen[0], "__self__", None), RunStore)
    assert seen[0].__func__ is RunStore.flush


# -- whatever fails after a batch ended, its calls get their answers ---------------------------------------------


class NoIntents:
    """A journal's intent side with no open intent and writes that do nothing (the doubles below)."""

    def open_intents(self) -> list[SubmitIntent]:
        return []

    def known_batch_ids(self) -> set[str]:
        return set()

    def batch_intended(self, intent: SubmitIntent) -> None:
        pass

    def intent_dropped(self, submit_id: str, status: str) -> None:
        pass


class BrokenJournal(NoIntents):
    """A journal whose writes fail (as the locked database did)."""

    def pending_batches(self) -> list[JournalEntry]:
        return []

    def batch_intended(self, intent: SubmitIntent) -> None:
        raise OSError("disk full")

    def batch_submitted(self, entry: JournalEntry, submit_id: str | None = None) -> None:
        raise OSError("disk full")

    def batch_ended(self, batch_id: str, status: str) -> None:
        raise OSError("disk full")


async def test_a_failing_journal_or_console_is_said_and_the_answers_still_arrive(
        stub: StubServer, caplog: pytest.LogCaptureFixture) -> None:
    model = model_of(stub)

    def broken_console(text: str) -> None:
        raise RuntimeError("console gone")

    with caplog.at_level(logging.INFO, logger="courtgraph.models"):
        async with use_batch_mode(NOW, BrokenJournal(), notify=broken_console) as mode:
            done = await asyncio.gather(answer(model, "one"), answer(model, "two"))
            assert mode is not None and mode.ended == 2 and mode.pending == {}
    assert all(r.usage.batched == 1 and r.text for r in done) and len(stub.batches) == 2
    said = caplog.text
    assert "accepted but not journaled" in said and "ended but its journal row was not updated" in said
    assert "was not journaled first: a crash before its answer pays it again" in said
    assert "OSError: disk full" in said and "could not show a line on the console" in said


class PendingJournal(NoIntents):
    """A journal holding one pending batch from an earlier invocation (that the provider does not know)."""

    def __init__(self, entry: JournalEntry) -> None:
        self.entry = entry
        self.ended: list[tuple[str, str]] = []

    def pending_batches(self) -> list[JournalEntry]:
        return [self.entry]

    def batch_submitted(self, entry: JournalEntry, submit_id: str | None = None) -> None:
        pass

    def batch_ended(self, batch_id: str, status: str) -> None:
        self.ended.append((batch_id, status))


async def test_a_resumed_batch_whose_poll_failed_is_not_waited_for_again(stub: StubServer) -> None:
    """Two requests of a journaled batch the provider answers 404 for: the first call fails with the poll's
    error; the second used to wait for that dead batch forever, it is now sent in a batch of its own."""
    model = model_of(stub)
    ids = [request_id(model.provider, model.base_url, model._batch_body(ask(text), None, model.params))  # type: ignore[attr-defined, arg-type]
           for text in ("one", "two")]
    journal = PendingJournal(JournalEntry("batch_gone", "openai", model.base_url or "", model.model, tuple(ids)))
    async with use_batch_mode(NOW, journal):
        with pytest.raises(ModelError, match="polling batch batch_gone failed"):
            await answer(model, "one")
        second = await answer(model, "two")
    assert second.usage.batched == 1 and stub.batches.sizes == [1]


# -- the watchdog ---------------------------------------------------------------------------------------------


async def test_the_watchdog_says_and_resends_a_call_that_nothing_holds(
        stub: StubServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The first batch's answers are dropped on the floor (the poller ends without routing them, as the
    journal error made it do): the call waits in no queue and no batch. The watchdog logs it as an error, with
    its id, and fails it as retryable, so the call goes out again in a second batch and gets its answer."""
    model = model_of(stub)
    original = BatchMode._settle
    dropped: list[str] = []

    async def lossy(self: BatchMode, model: Any, entry: JournalEntry, first_look: float) -> None:
        if not dropped:
            dropped.append(entry.batch_id)
            return
        await original(self, model, entry, first_look)

    monkeypatch.setattr(BatchMode, "_settle", lossy)
    lines: list[str] = []
    with caplog.at_level(logging.INFO, logger="courtgraph.models"):
        async with use_batch_mode(NOW, notify=lines.append, watchdog_s=0.02) as mode:
            assert mode is not None
            done = await answer(model, "one")
    assert done.text and done.usage.batched == 1 and done.usage.faults == {"stalled": 1}
    assert len(stub.batches) == 2 and mode.watchdog.resent == 1 and len(dropped) == 1
    stalled = [line for line in lines if line.startswith("batch mode stalled")]
    assert len(stalled) == 1 and "1 calls have waited" in stalled[0]
    assert any(r.levelno == logging.ERROR and "batch mode stalled" in r.getMessage() for r in caplog.records)


async def test_the_watchdog_sends_a_queue_whose_timer_was_lost(stub: StubServer) -> None:
    model = model_of(stub)
    settings = BatchSettings(size=100, wait_s=3600.0, poll_s=0.01)  # only the watchdog can send it
    lines: list[str] = []
    async with use_batch_mode(settings, notify=lines.append, watchdog_s=0.02) as mode:
        assert mode is not None
        call = asyncio.ensure_future(answer(model, "one"))
        while not mode.queued:
            await asyncio.sleep(0)
        for queue in mode._queues.values():  # the timer is lost
            assert queue.timer is not None
            queue.timer.cancel()
            queue.timer = None
        done = await call
    assert done.text and mode.watchdog.flushed == 1 and stub.batches.sizes == [1]
    assert any("was overdue (its timer lost): sent now" in line for line in lines)


# -- the circuit breaker ---------------------------------------------------------------------------------------


async def test_a_dead_batch_endpoint_opens_the_breaker_and_later_calls_fail_at_once(stub: StubServer) -> None:
    model = model_of(stub)
    model.endpoint.configure(breaker=2)  # type: ignore[attr-defined]
    stub.batches.fault("http", times=1000, status=503)
    async with use_batch_mode(NOW):
        for text in ("one", "two"):  # each: a submit that fails after its 2 attempts (a failed submit is final)
            with pytest.raises(ModelError, match="503"):
                await answer(model, text)
        asked = stub.requests
        with pytest.raises(EndpointDown, match=r"is down: \d+ calls in a row failed; last: .*503"):
            await answer(model, "three")
    assert stub.requests == asked  # refused without a request
    assert model.endpoint.breaker.open  # type: ignore[attr-defined]
