"""Resuming: finished records are never judged again, interrupted runs finish, other experiments are refused.

The acceptance test kills ``courtgraph run`` (a subprocess talking to the stub server over HTTP) with
SIGKILL in the middle of a run, resumes it, and compares the result with an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from parts import case_text
from rich.console import Console
from test_runner import make_cases, run_quiet, truthful

from courtgraph.errors import InputError
from courtgraph.evals import RunStore, run_async
from courtgraph.evals.benchmarks import load_bench
from courtgraph.graphs import single
from courtgraph.graphs.registry import Roles
from courtgraph.models import ModelError, ScriptedModel
from courtgraph.prompts import PROMPT_DIR, unfence
from courtgraph.testing import StubRequest, StubServer


def test_rerunning_into_the_same_directory_runs_only_what_is_missing(tmp_path: Path) -> None:
    cases = make_cases(8)
    first = ScriptedModel(truthful)
    run_quiet(cases, ["single"], tmp_path, roles=Roles(judge=first), limit=5)
    assert len(first.calls) == 10
    second = ScriptedModel(truthful)
    results = run_quiet(cases, ["single"], tmp_path, roles=Roles(judge=second))
    assert len(second.calls) == 6  # only the 3 new cases, in both orders
    assert [r.case_id for r in results.records] == [f"c{i}" for i in range(8)]
    third = ScriptedModel(truthful)
    run_quiet(cases, ["single"], tmp_path, roles=Roles(judge=third), resume=True)
    assert third.calls == []


def test_adding_a_protocol_runs_only_the_new_protocol(tmp_path: Path) -> None:
    cases = make_cases(3)
    run_quiet(cases, {"single": single(ScriptedModel(truthful))}, tmp_path)
    again, extra = ScriptedModel(truthful, name="again"), ScriptedModel(truthful, name="extra")
    results = run_quiet(cases, {"single": single(again), "other": single(extra)}, tmp_path)
    assert again.calls == [] and len(extra.calls) == 6
    assert len(results.records) == 6


def test_failed_records_are_retried_on_resume(tmp_path: Path) -> None:
    def down_for_c1(messages: Any, schema: Any) -> str | BaseException:
        return ModelError("503 overloaded") if "question 1" in case_text(messages) else truthful(messages)

    first = run_quiet(make_cases(3), ["single"], tmp_path, roles=Roles(judge=ScriptedModel(down_for_c1)))
    assert [r.case_id for r in first.failed] == ["c1"]
    healthy = ScriptedModel(truthful)
    second = run_quiet(make_cases(3), ["single"], tmp_path, roles=Roles(judge=healthy))
    assert len(healthy.calls) == 2 and "question 1" in healthy.prompts()[0]
    assert second.failed == [] and all(r.correct for r in second.records)


async def test_an_interrupted_run_keeps_what_finished_and_resumes(tmp_path: Path) -> None:
    started = asyncio.Event()

    class Gate:
        """Answers 6 calls, then blocks until cancelled, like a run cut off by Ctrl-C."""

        def __init__(self) -> None:
            self.calls = 0

        async def __call__(self) -> None:
            self.calls += 1
            if self.calls > 6:
                started.set()
                await asyncio.Event().wait()

    gate = Gate()

    class Blocking(ScriptedModel):
        async def _complete(self, messages: Any, schema: Any, params: Any) -> Any:
            await gate()
            return await super()._complete(messages, schema, params)

    out = io.StringIO()
    task = asyncio.create_task(run_async(make_cases(10), ["single"], roles=Roles(judge=Blocking(truthful)),
                                         out=tmp_path / "run", cache=None, progress=False, concurrency=2,
                                         console=Console(file=out, width=200)))
    await started.wait()
    await asyncio.sleep(0.05)  # let the trials that did finish be stored
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "interrupted: 3/10 records saved" in out.getvalue() and "--resume" in out.getvalue()
    store = RunStore(tmp_path / "run", create=False)
    assert store.manifest()["status"] == "interrupted"
    assert store.done() == {(f"c{i}", "single") for i in range(3)}

    finish = ScriptedModel(truthful)
    results = await run_async(make_cases(10), ["single"], roles=Roles(judge=finish), out=tmp_path / "run",
                              cache=None, progress=False)
    assert len(finish.calls) == 14  # the 7 unfinished cases, both orders
    assert len(results.records) == 10 and all(r.correct for r in results.records)


@pytest.mark.parametrize(("change", "message"), [
    ({"seed": 1}, "its seed was 0, now 1"),
    ({"orders": ["AB"]}, "its orders was"),
    ({"roles": Roles(judge="sim:other:0.9")}, "its roles was"),
    ({"params": {"single": {"tie_delta": 1}}}, "protocol 'single' was"),
])
def test_resuming_a_different_experiment_is_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"roles": Roles(judge="sim:judge:0.8"), "seed": 0}
    run_quiet(make_cases(4), ["single"], tmp_path, limit=2, **base)
    with pytest.raises(InputError, match=message):
        run_quiet(make_cases(4), ["single"], tmp_path, **{**base, **change})


def test_resuming_with_other_cases_under_the_same_ids_is_refused(tmp_path: Path) -> None:
    run_quiet(make_cases(2), ["single"], tmp_path, roles=Roles(judge="sim:0.8"))
    changed = [c.model_copy(update={"question": c.question + "?"}) for c in make_cases(2)]
    with pytest.raises(InputError, match="case 'c0' differs"):
        run_quiet(changed, ["single"], tmp_path, roles=Roles(judge="sim:0.8"))


def test_resuming_after_a_prompt_changed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_quiet(make_cases(2), ["single"], tmp_path, roles=Roles(judge="sim:0.8"))
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    text = (PROMPT_DIR / "judge_pairwise.md").read_text()
    (prompts / "judge_pairwise.md").write_text(text + "\nBe fair.\n")
    monkeypatch.setenv("COURTGRAPH_PROMPTS", str(prompts))
    with pytest.raises(InputError, match="prompt template 'judge_pairwise' changed"):
        run_quiet(make_cases(2), ["single"], tmp_path, roles=Roles(judge="sim:0.8"))


def test_resume_needs_an_existing_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such directory"):
        run_quiet(make_cases(2), ["single"], tmp_path, roles=Roles(judge="sim:0.8"), resume=True)


# -- the acceptance test: SIGKILL against the stub server ---------------------------------------------

def order_blind_judge(request: StubRequest) -> str | dict[str, Any]:
    """A deterministic judge that depends on the trial (content and order), so both runs must agree."""
    shown = unfence(request.text)
    a, b = (hashlib.sha256(shown[k].encode()).hexdigest() for k in ("response_a", "response_b"))
    side = "A" if a < b else "B"
    return {"reasoning": "hash", "verdict": side} if request.structured else f"hash\n[[{side}]]"


def case_of(request: StubRequest, by_pair: dict[frozenset[str], str]) -> str:
    shown = unfence(request.text)
    return by_pair[frozenset((shown["response_a"], shown["response_b"]))]


LIMIT = 24  # sample cases per run: enough to kill a run in its middle, few enough to keep the test quick


def cli(out: Path, stub: StubServer, *extra: str) -> list[str]:
    return [sys.executable, "-m", "courtgraph", "run", "--bench", "sample", "--protocols", "single",
            "--model", f"openai:gpt-4o-mini@{stub.openai_url}", "--no-cache", "--concurrency", "2",
            "--limit", str(LIMIT), "--out", str(out), *extra]


def records_in(run_dir: Path) -> int:
    try:
        with sqlite3.connect(run_dir / "run.db", timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    except sqlite3.Error:
        return 0


def verdicts(run_dir: Path) -> dict[tuple[str, str], tuple[str | None, str | None, str | None]]:
    with RunStore(run_dir, create=False) as store:
        return {(r.case_id, r.protocol): (r.verdict.winner, *(t.case_winner for t in r.trials))
                for r in store.records()}


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = load_bench("sample").cases[:LIMIT]
    by_pair = {frozenset(c.candidates): c.id for c in cases}
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    env = {**os.environ, "COURTGRAPH_CACHE": str(tmp_path / "cache.sqlite")}
    with StubServer(order_blind_judge, latency=0.03) as stub:
        # the uninterrupted run, through the Python API (the same runner the CLI calls)
        run_quiet("sample", ["single"], tmp_path, roles=Roles(model=f"openai:gpt-4o-mini@{stub.openai_url}"),
                  out=tmp_path / "whole", concurrency=2, limit=LIMIT)
        whole_requests = stub.requests
        assert whole_requests == 2 * len(cases)

        killed = subprocess.Popen(cli(tmp_path / "killed", stub), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while records_in(tmp_path / "killed") < 8 and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.02)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        finished_at_kill = {case_id for case_id, _ in RunStore(tmp_path / "killed", create=False).done()}
        assert 8 <= len(finished_at_kill) < len(cases)
        before_resume = len(stub.log)
        judged_before = {case_of(r, by_pair) for r in stub.log[whole_requests:before_resume]}

        resumed = subprocess.run(cli(tmp_path / "killed", stub, "--resume"), env=env, capture_output=True,
                                 text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        judged_after = [case_of(r, by_pair) for r in stub.log[before_resume:]]

    assert verdicts(tmp_path / "killed") == verdicts(tmp_path / "whole")
    assert not finished_at_kill & set(judged_after), "a finished case was judged again"
    in_flight = judged_before - finished_at_kill  # started before the kill, not stored
    assert len(in_flight) <= 3  # --concurrency 2 trials, plus a record killed between its last trial and its write
    assert len(judged_after) == 2 * (len(cases) - len(finished_at_kill))
