"""Batch mode end to end: ``courtgraph run --batch`` through the real openai / anthropic SDK clients against
the stub's batch endpoints (OpenAI Files + Batch API, Anthropic Message Batches).

What is checked: the same verdicts as a synchronous run at exactly half its cost, no synchronous call, the
exact number of batches (a debate's rounds each a batch), requests that expire or fail re-queued or failed by
the sync call's rules, a failed batch failing its records with the provider's message, and an interrupted run
resumed without submitting its pending batch again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.evals import RunStore
from courtgraph.evals.batch_journal import RunBatchJournal
from courtgraph.evals.runner import run_async
from courtgraph.evals.store import failure_text, record_failed
from courtgraph.graphs.registry import Roles
from courtgraph.models.batch_terms import BatchSettings, request_id
from courtgraph.models.errors import ConfigError
from courtgraph.models.pricing import _TABLE, Price
from courtgraph.schema import Record, Usage
from courtgraph.testing import StubServer

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-3-5-haiku-latest' is deprecated")

PROVIDERS = ["openai", "anthropic"]
#: Fast polling: the stub's batches end after ``batch_delay`` seconds.
FAST = ["--batch-wait", "30", "--batch-poll", "0.02"]


@pytest.fixture
def priced(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    """The stub priced like a real model (a server at another URL is otherwise of unknown price)."""
    monkeypatch.setitem(_TABLE, f"openai:gpt-4o-mini@{stub.openai_url}", Price(0.15, 0.60, 0.075))
    monkeypatch.setitem(_TABLE, f"anthropic:claude-3-5-haiku-latest@{stub.anthropic_url}", Price(0.80, 4.0, 0.08, 1.0))
    stub.batches.delay = 0.05
    yield stub


def spec(stub: StubServer, provider: str) -> str:
    if provider == "openai":
        return f"openai:gpt-4o-mini@{stub.openai_url}"
    return f"anthropic:claude-3-5-haiku-latest@{stub.anthropic_url}"


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        # a resumed run keeps its own cache choice (the debate's resume test reads its first round from it)
        main(["run", "-b", "sample", *([] if "--resume" in args else ["--no-cache"]), "--display", "none", *args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.err + captured.out


def records(out: Path) -> list[Record]:
    with RunStore(out, create=False) as store:
        return store.records()


def total(out: Path) -> Usage:
    return Usage.total(r.usage for r in records(out))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_batch_run_gives_the_sync_verdicts_at_half_the_cost(priced: StubServer, provider: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-p", "single,jury", "-m", spec(priced, provider), "-n", "3"]
    code, err = cli_run(capsys, *args, "-o", str(tmp_path / "sync"))
    assert code == 0, err
    sync_calls = priced.batches.sync_calls
    assert sync_calls == 3 * 2 * (1 + 3) and len(priced.batches) == 0  # single + a jury of 3, both orders

    code, err = cli_run(capsys, *args, "-o", str(tmp_path / "batch"), "--batch", "--batch-size", "24", *FAST)
    assert code == 0, err
    assert "batch APIs answered (at half the price) single 6 of 6 calls, jury 18 of 18 calls" in err
    assert priced.batches.sync_calls == sync_calls  # not one synchronous call more
    assert priced.batches.total_requests == sync_calls  # every call went through a batch, once
    sync, batch = total(tmp_path / "sync"), total(tmp_path / "batch")
    assert batch.calls == batch.batched == sync.calls == sync_calls and sync.batched == 0
    assert batch.tokens == sync.tokens and sync.cost_usd
    assert batch.cost_usd == pytest.approx(sync.cost_usd / 2, rel=1e-12)
    pairs = zip(records(tmp_path / "sync"), records(tmp_path / "batch"), strict=True)
    assert all(a.verdict.winner == b.verdict.winner and a.correct == b.correct for a, b in pairs)
    manifest = json.loads((tmp_path / "batch" / "manifest.json").read_text())
    assert manifest["config"]["batch"] == {"size": 24, "wait_s": 30.0, "poll_s": 0.02}
    with RunBatchJournal(tmp_path / "batch") as journal:
        assert sum(journal.counts().values()) == len(priced.batches) and "pending" not in journal.counts()


@pytest.mark.parametrize(("speaking", "steps"),
                         [("simultaneous", lambda r: r + 1), ("sequential", lambda r: 2 * r + 1)])
def test_each_debate_step_is_one_batch(priced: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       speaking: str, steps: Callable[[int], int]) -> None:
    """4 cases x 2 orders = 8 debates at once: each step of theirs (a round's speeches, then the verdict) is one
    batch. Simultaneous speaking: both debaters of a round in one step, R + 1 batches; sequential: 2R + 1."""
    rounds = 2
    code, err = cli_run(capsys, "-p", "debate", "-m", spec(priced, "openai"), "-n", "4", "--param",
                        f"debate.rounds={rounds}", "--param", f"debate.speaking={speaking}", "-o", str(tmp_path / "r"),
                        "--batch", "--batch-size", "16", *FAST)
    assert code == 0, err
    done = records(tmp_path / "r")
    assert len(done) == 4 and all(r.error is None for r in done)
    assert {len(t.turns) for r in done for t in r.trials} == {2 * rounds + 1}
    calls = sum(r.usage.calls for r in done)
    assert calls == 8 * (2 * rounds + 1) == priced.batches.total_requests and priced.batches.sync_calls == 0
    assert len(priced.batches) == steps(rounds)
    width = 16 if speaking == "simultaneous" else 8
    assert priced.batches.sizes == [width] * (steps(rounds) - 1) + [8]  # the judges' step: 8 verdicts


@pytest.mark.parametrize("provider", PROVIDERS)
def test_expired_requests_are_sent_again(priced: StubServer, provider: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.fault("expire", done=2)  # the first batch runs 2 of its 6 requests, the rest expire
    code, err = cli_run(capsys, "-p", "single", "-m", spec(priced, provider), "-n", "3", "-o", str(tmp_path / "r"),
                        "--batch", "--batch-size", "6", "--batch-wait", "0.2", "--batch-poll", "0.02")
    assert code == 0, err
    assert priced.batches.sizes == [6, 4] and priced.batches.sync_calls == 0
    done = records(tmp_path / "r")
    assert done and not any(map(record_failed, done))
    usage = Usage.total(r.usage for r in done)
    assert usage.calls == usage.batched == 6 and usage.faults == {"expired": 4} and usage.retries == 4


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_retryable_error_is_requeued_and_a_final_one_fails_its_record(
        priced: StubServer, provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.fault("partial", n=1, status=500, message="server hiccup")
    code, err = cli_run(capsys, "-p", "single", "-m", spec(priced, provider), "-n", "2", "-o", str(tmp_path / "a"),
                        "--batch", "--batch-size", "4", "--batch-wait", "0.2", "--batch-poll", "0.02")
    assert code == 0, err
    assert priced.batches.sizes == [4, 1]
    assert Usage.total(r.usage for r in records(tmp_path / "a")).faults == {"500": 1}

    priced.batches.fault("partial", n=1, status=400, message="prompt is too long")
    code, err = cli_run(capsys, "-p", "single", "-m", spec(priced, provider), "-n", "2", "-o", str(tmp_path / "b"),
                        "--batch", "--batch-size", "4", "--batch-wait", "0.2", "--batch-poll", "0.02")
    assert code == 1 and "1 record(s) failed" in err
    assert priced.batches.sizes == [4, 1, 4]  # a 400 is final: not sent again
    failed = [r for r in records(tmp_path / "b") if record_failed(r)]
    assert len(failed) == 1 and "prompt is too long" in failure_text(failed[0])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_failed_batch_fails_its_records_with_the_providers_message(
        priced: StubServer, provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.fault("fail", message="the input file is not valid")
    out = tmp_path / "r"
    code, err = cli_run(capsys, "-p", "single", "-m", spec(priced, provider), "-n", "2", "-o", str(out),
                        "--batch", "--batch-size", "4", *FAST)
    assert code == 1 and "2 record(s) failed" in err and "the input file is not valid" in err
    assert all("the input file is not valid" in failure_text(r) for r in records(out))
    # the failures are not final for the run: --resume sends them again, in a new batch
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    assert not any(map(record_failed, records(out))) and priced.batches.sync_calls == 0


def test_batch_mode_is_refused_when_no_model_has_a_batch_api(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, err = cli_run(capsys, "-p", "single", "-m", "sim:0.7", "-n", "2", "-o", str(tmp_path / "r"), "--batch")
    assert code == 2 and "no model of this run has a batch API" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    code, err = cli_run(capsys, "-p", "single", "-m", "sim:0.7", "-n", "2", "--batch-size", "5")
    assert code == 2 and "apply with --batch" in err


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_interrupted_batch_run_resumes_without_paying_twice(priced: StubServer, provider: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.delay = 3600  # the batch stays pending until the run has been interrupted
    out = tmp_path / "r"

    async def interrupted() -> None:
        task = asyncio.create_task(run_async(
            "sample", ["single"], roles=Roles(model=spec(priced, provider)), out=out, limit=3, cache=None,
            progress=False, batch=BatchSettings(size=6, wait_s=30, poll_s=0.02)))
        while not (len(priced.batches) and _pending(out)):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    assert "1 batches still pending at the provider" in capsys.readouterr().err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert records(out) == [] and priced.batches.sizes == [6]
    priced.batches.delay = 0.0
    code, err = cli_run(capsys, "--resume", "-o", str(out))  # the stored batch settings are the run's
    assert code == 0, err
    assert priced.batches.sizes == [6] and priced.batches.sync_calls == 0  # no second batch, no sync call
    done = records(out)
    assert len(done) == 3 and not any(map(record_failed, done))
    usage = Usage.total(r.usage for r in done)
    assert usage.calls == usage.batched == 6
    with RunBatchJournal(out) as journal:
        assert journal.pending_batches() == [] and sum(journal.counts().values()) == 1


def test_a_debate_killed_in_its_second_round_resumes_from_the_pending_batch(
        priced: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Round 1 ended (its answers in the response cache), round 2 pending at the kill: the resumed run takes
    round 1 from the cache, polls round 2's batch again, and submits only the judges' batch."""
    priced.batches.delay = 3600
    out, cache = tmp_path / "r", tmp_path / "cache.sqlite"

    async def interrupted() -> None:
        task = asyncio.create_task(run_async(
            "sample", ["debate"], roles=Roles(model=spec(priced, "openai")), out=out, limit=4, cache=cache,
            params={"debate": {"rounds": 2}}, progress=False, batch=BatchSettings(size=16, wait_s=30, poll_s=0.02)))
        while len(priced.batches) < 1:
            await asyncio.sleep(0.01)
        priced.batches[0].started -= 7200  # round 1's batch ends at its next look; later ones stay pending
        while not (len(priced.batches) == 2 and len(_pending(out)) == 1):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    assert priced.batches.sizes == [16, 16] and [b.ended is not None for b in priced.batches] == [True, False]
    assert _pending(out) == [priced.batches[1].id]
    priced.batches.delay = 0.0
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    assert "polled again, not resubmitted" in err
    assert priced.batches.sizes == [16, 16, 8] and priced.batches.sync_calls == 0
    done = records(out)
    usage = Usage.total(r.usage for r in done)
    assert len(done) == 4 and not any(map(record_failed, done))
    assert usage.cache_hits == 16 and usage.calls == usage.batched == 16 + 8


def test_sigkill_while_a_batch_is_pending_then_resume_pays_once(priced: StubServer, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.delay = 3600
    out = tmp_path / "r"
    command = [sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
               spec(priced, "anthropic"), "-n", "4", "--no-cache", "-o", str(out), "--batch", "--batch-size", "8",
               "--batch-poll", "0.05"]
    killed = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a bound on a hung child only: nothing is asserted about time
        while not _pending(out) and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.02)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
    assert killed.returncode == -signal.SIGKILL and priced.batches.sizes == [8]
    priced.batches.delay = 0.0
    code, err = cli_run(capsys, "--resume", "-o", str(out))
    assert code == 0, err
    assert priced.batches.sizes == [8] and priced.batches.sync_calls == 0
    done = records(out)
    assert len(done) == 4 and not any(map(record_failed, done))
    assert Usage.total(r.usage for r in done).batched == 8 and _pending(out) == []


def _pending(out: Path) -> list[str]:
    if not (out / "run.db").is_file():
        return []
    with RunBatchJournal(out) as journal:
        return [entry.batch_id for entry in journal.pending_batches()]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_courtroom_through_batches_matches_its_sync_run(priced: StubServer, provider: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-p", "courtroom", "-m", spec(priced, provider), "-n", "2"]
    code, err = cli_run(capsys, *args, "-o", str(tmp_path / "sync"))
    assert code == 0, err
    sync_calls = priced.batches.sync_calls
    code, err = cli_run(capsys, *args, "-o", str(tmp_path / "batch"), "--batch", "--batch-size", "100", *FAST)
    assert code == 0, err
    sync, batch = total(tmp_path / "sync"), total(tmp_path / "batch")
    assert priced.batches.sync_calls == sync_calls and batch.calls == batch.batched == sync.calls == sync_calls
    assert priced.batches.total_requests == sync_calls and batch.cost_usd == pytest.approx(sync.cost_usd / 2)
    steps = {len(t.turns) for r in records(tmp_path / "batch") for t in r.trials}
    assert steps == {7}  # 2 cases x 2 orders = 4 courtrooms of 7 sequential calls each: 7 batches of 4
    assert priced.batches.sizes == [4] * 7
    pairs = zip(records(tmp_path / "sync"), records(tmp_path / "batch"), strict=True)
    assert all(a.verdict.winner == b.verdict.winner for a, b in pairs)


def test_a_flaky_batch_endpoint_is_retried(priced: StubServer, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.fault("http", status=503)  # the upload answers 503 once
    priced.batches.fault("http", status=429, retry_after=0)
    code, err = cli_run(capsys, "-p", "single", "-m", spec(priced, "openai"), "-n", "2", "-o", str(tmp_path / "r"),
                        "--batch", *FAST)
    assert code == 0, err
    assert priced.batches.sizes == [4] and priced.batches.sync_calls == 0
    assert not any(map(record_failed, records(tmp_path / "r")))


def test_batch_settings_are_checked_and_request_ids_name_the_exact_body() -> None:
    for bad in ({"size": 0}, {"size": 50_001}, {"wait_s": -1}, {"poll_s": 0}):
        with pytest.raises(ConfigError):
            BatchSettings(**bad)  # type: ignore[arg-type]
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    same = request_id("openai", "http://h/v1", dict(reversed(list(body.items()))))
    assert request_id("openai", "http://h/v1", body) == same and len(same) == 64 and same.isalnum()
    assert request_id("openai", "http://h/v1", {**body, "max_tokens": 6}) != same
    assert request_id("anthropic", "http://h/v1", body) != same != request_id("openai", "http://g/v1", body)
    # a prompt-cache breakpoint changes the price, not the answer: a resumed run finds the same request either way
    marked = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}]}
    plain = {**marked, "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}
    assert request_id("anthropic", "http://h", marked) == request_id("anthropic", "http://h", plain)
    assert request_id("anthropic", "http://h", plain) != request_id("anthropic", "http://h", {**plain, "max_tokens": 6})


def test_no_batch_finishes_a_batch_run_synchronously(priced: StubServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    priced.batches.fault("fail", message="quota exceeded")
    out = tmp_path / "r"
    code, _ = cli_run(capsys, "-p", "single", "-m", spec(priced, "openai"), "-n", "2", "-o", str(out), "--batch",
                      *FAST)
    assert code == 1 and priced.batches.sync_calls == 0
    assert json.loads((out / "manifest.json").read_text())["config"]["batch"]["size"] == 100
    code, err = cli_run(capsys, "--resume", "-o", str(out), "--no-batch")
    assert code == 0, err
    assert priced.batches.sync_calls == 4 and len(priced.batches) == 1
    assert "batch" not in json.loads((out / "manifest.json").read_text())["config"]
    assert total(out).batched == 0 and not any(map(record_failed, records(out)))
