"""The submit window: a batch the provider accepted but whose create's answer never reached the run's journal
(the process killed in that round trip, or the answer lost on the wire) is found at the provider and adopted,
never paid twice; a create that never arrived is sent again; someone else's batch is never taken for ours.

End to end: ``courtgraph run --batch`` as a subprocess through the real openai / anthropic SDK clients against
the stub, whose fault ``lose`` accepts (or drops) the create and holds its answer until the test has killed
the process with SIGKILL; then ``--resume`` in this process. "Paid once" is read from the stub's own list
of the batches it created (``stub.batches``) and its count of synchronous calls."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from test_batch import FAST, PROVIDERS, cli_run, priced, records, spec

from courtgraph.evals.batch_journal import RunBatchJournal
from courtgraph.evals.runner import run_async
from courtgraph.evals.store import record_failed
from courtgraph.graphs.registry import Roles
from courtgraph.models.batch_apis import SUBMIT_KEY, AnthropicBatches, OpenAIBatches
from courtgraph.models.batch_terms import BatchSettings, SubmitIntent
from courtgraph.schema import Usage
from courtgraph.testing import StubServer

__all__ = ["priced"]  # the fixture, shared with test_batch.py

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-3-5-haiku-latest' is deprecated")

#: 4 sample cases in both orders: one batch of 8 calls.
CALLS = 8


def journal_of(out: Path) -> RunBatchJournal:
    return RunBatchJournal(out)


def open_intents(out: Path) -> list[SubmitIntent]:
    if not (out / "run.db").is_file():
        return []
    with journal_of(out) as journal:
        return journal.open_intents()


def kill_in_the_window(stub: StubServer, provider: str, out: Path, reached: Callable[[], bool]) -> SubmitIntent:
    """Run ``courtgraph run --batch`` until its create has reached the stub (held there by fault ``lose``) and
    the intent is journaled, then SIGKILL it; the intent it left open. The resumed run keeps its settings."""
    command = [sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m", spec(stub, provider),
               "-n", "4", "--no-cache", "-o", str(out), "--batch", "--batch-size", "100", "--batch-poll", "0.05",
               "--batch-wait", "3600"]  # calls sent again go out when the run stalls on them, not after an hour
    child = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a bound on a hung child only: nothing is asserted about time
        while not (reached() and open_intents(out)) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    intents = open_intents(out)
    assert len(intents) == 1 and len(intents[0].custom_ids) == CALLS
    with journal_of(out) as journal:
        assert journal.pending_batches() == [] and journal.known_batch_ids() == set()  # the window: no batch row
    return intents[0]


def assert_all_answered_by_batches(out: Path) -> None:
    done = records(out)
    assert len(done) == 4 and not any(map(record_failed, done))
    usage = Usage.total(r.usage for r in done)
    assert usage.calls == usage.batched == CALLS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_killed_after_the_provider_accepted_the_batch_the_resume_adopts_it(
        priced: StubServer, provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    priced.batches.fault("lose", hold=3600)  # the batch is made; its create's answer never comes
    intent = kill_in_the_window(priced, provider, out, lambda: len(priced.batches) == 1)
    ours = priced.batches[0]
    assert sorted(ours.custom_ids) == sorted(intent.custom_ids) and priced.batches.lost == 1
    if provider == "openai":
        assert ours.metadata == {SUBMIT_KEY: intent.submit_id}
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    assert f"batch {ours.id} submitted before the crash was found and adopted ({CALLS} calls)" in err
    assert priced.batches.sizes == [CALLS] and priced.batches.sync_calls == 0  # created once, paid once
    assert_all_answered_by_batches(out)
    assert f"batch {ours.id} submitted before the crash was found and adopted" in (out / "run.log").read_text()
    with journal_of(out) as journal:
        assert journal.open_intents() == [] and journal.counts("batch_intents") == {"submitted": 1}
        assert journal.known_batch_ids() == {ours.id} and journal.pending_batches() == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_interrupted_in_the_submit_window_the_resume_adopts_the_batch(
        priced: StubServer, provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C (the run's task cancelled) while the create waits for its answer: the intent stays open, the run
    says so, and the resume adopts the batch."""
    out = tmp_path / "r"
    priced.batches.fault("lose", hold=3600)

    async def interrupted() -> None:
        task = asyncio.create_task(run_async(
            "sample", ["single"], roles=Roles(model=spec(priced, provider)), out=out, limit=4, cache=None,
            progress=False, batch=BatchSettings(size=CALLS, wait_s=30, poll_s=0.02)))
        while not (len(priced.batches) == 1 and open_intents(out)):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    assert "1 batch creates interrupted before the provider's answer: --resume looks for them" in \
        capsys.readouterr().err
    assert records(out) == [] and len(open_intents(out)) == 1
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    assert f"batch {priced.batches[0].id} submitted before the crash was found and adopted ({CALLS} calls)" in err
    assert priced.batches.sizes == [CALLS] and priced.batches.sync_calls == 0
    assert_all_answered_by_batches(out)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_killed_before_the_create_arrived_the_resume_sends_the_calls_again(
        priced: StubServer, provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    priced.batches.fault("lose", accept=False, hold=3600)  # the create never makes a batch
    kill_in_the_window(priced, provider, out, lambda: priced.batches.lost == 1)
    assert len(priced.batches) == 0
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    assert f"no batch found for the interrupted submit; sending its {CALLS} calls again" in err
    assert priced.batches.sizes == [CALLS] and priced.batches.sync_calls == 0
    assert_all_answered_by_batches(out)
    with journal_of(out) as journal:
        assert journal.counts("batch_intents") == {"lost": 1, "submitted": 1}


def decoys(stub: StubServer, sizes: list[int]) -> list[str]:
    """Message batches of someone else on the same account: other requests (one of them as many as ours)."""
    client = anthropic.Anthropic(base_url=stub.anthropic_url, api_key="someone-else", max_retries=0)
    made = []
    for n, size in enumerate(sizes):
        requests: list[Any] = [{"custom_id": f"theirs-{n}-{i}", "params": {
            "model": "claude-3-5-haiku-latest", "max_tokens": 16,
            "messages": [{"role": "user", "content": f"their question {i}"}]}} for i in range(size)]
        made.append(client.messages.batches.create(requests=requests).id)
    return made


@pytest.mark.parametrize("accepted", [True, False], ids=["ours-and-a-decoy", "only-a-decoy"])
def test_an_anthropic_batch_of_someone_else_is_never_adopted(
        priced: StubServer, accepted: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Anthropic batches carry no id of ours: a batch created after the intent with as many requests is a
    candidate, waited for, and adopted only if its results' custom_ids are exactly the intent's."""
    out = tmp_path / "r"
    priced.batches.fault("lose", accept=accepted, hold=3600)
    kill_in_the_window(priced, "anthropic", out, lambda: priced.batches.lost == 1)
    decoy, smaller = decoys(priced, [CALLS, CALLS - 1])
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    candidates = err.split("many requests: ")[1].split(")")[0].split(", ")
    assert decoy in candidates and smaller not in candidates
    with journal_of(out) as journal:
        known = journal.known_batch_ids()
    assert decoy not in known and smaller not in known and len(known) == 1
    if accepted:
        ours = priced.batches[0].id
        assert candidates == [ours, decoy] and known == {ours}
        assert f"batch {ours} submitted before the crash was found and adopted ({CALLS} calls)" in err
        assert priced.batches.sizes == [CALLS, CALLS, CALLS - 1]  # ours and the decoys: ours created once
    else:
        assert candidates == [decoy]
        assert f"batch {decoy} is not the interrupted submit's (its requests differ): ignored" in err
        assert f"none of the 1 candidate batches was the interrupted submit's; sending its {CALLS} calls again" in err
        assert priced.batches.sizes == [CALLS, CALLS - 1, CALLS]  # the decoys, then ours sent again
    assert priced.batches.sync_calls == 0
    assert_all_answered_by_batches(out)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("accepted", [True, False], ids=["made", "not-made"])
def test_a_create_whose_answer_is_lost_is_looked_for_before_it_is_retried(
        priced: StubServer, provider: str, accepted: bool, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Within a run: the connection drops before the create's answer; the retry finds the batch (made) or
    creates it (not made). Either way the stub made exactly one batch for the run."""
    priced.batches.fault("lose", accept=accepted)
    out = tmp_path / "r"
    code, err = cli_run(capsys, "-p", "single", "-m", spec(priced, provider), "-n", "4", "-o", str(out), "--batch",
                        "--batch-size", str(CALLS), *FAST)
    assert code == 0, err
    assert priced.batches.sizes == [CALLS] and priced.batches.lost == 1 and priced.batches.sync_calls == 0
    adopted = f"batch {priced.batches[0].id} ({CALLS} requests), whose create's answer was lost, was found"
    assert (adopted in err) == accepted
    assert_all_answered_by_batches(out)
    with journal_of(out) as journal:
        assert journal.counts("batch_intents") == {"submitted": 1} and journal.open_intents() == []


def test_the_openai_search_pages_through_the_list_to_the_submit_id(stub: StubServer) -> None:
    """Our batch behind 120 newer ones: found on the second page of 100, by its metadata alone."""
    line = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}}'

    async def scene() -> tuple[str, Any, Any]:
        client = openai.AsyncOpenAI(base_url=stub.openai_url, api_key="k", max_retries=0)
        upload = await client.files.create(file=("in.jsonl", line), purpose="batch")
        ours = await OpenAIBatches().create(client, upload.id, [], "cg-ours")
        for n in range(120):
            await client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                        completion_window="24h", metadata={SUBMIT_KEY: f"other-{n}"})
        intent = SubmitIntent("cg-ours", "openai", stub.openai_url, "m", ("a",), time.time() - 5)
        found = await OpenAIBatches().find(client, intent, set())
        missing = await OpenAIBatches().find(client, SubmitIntent("cg-gone", "openai", "", "m", ("a",),
                                                                  intent.at), set())
        return ours, found, missing

    lists = stub.batches.lists
    ours, found, missing = asyncio.run(scene())
    assert found.batch_id == ours and not found.candidates and missing.batch_id is None
    assert stub.batches.lists - lists == 4  # two pages for each search: the list was paged, not read whole


def test_anthropic_candidates_are_recent_batches_of_the_same_size_not_yet_known(stub: StubServer) -> None:
    made = decoys(stub, [2, 2, 3, 2])
    intent = SubmitIntent("cg-x", "anthropic", stub.anthropic_url, "m", ("a", "b"), time.time() - 1)
    later = SubmitIntent("cg-y", "anthropic", stub.anthropic_url, "m", ("a", "b"), time.time() + 3600)

    async def scene() -> tuple[Any, Any]:
        client = anthropic.AsyncAnthropic(base_url=stub.anthropic_url, api_key="k", max_retries=0)
        return (await AnthropicBatches().find(client, intent, {made[3]}),
                await AnthropicBatches().find(client, later, set()))

    found, none = asyncio.run(scene())
    assert found.batch_id is None and found.candidates == (made[0], made[1])  # oldest first; 3 requests, known: no
    assert none.batch_id is None and none.candidates == ()  # every batch was made before that intent
