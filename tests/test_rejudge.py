"""Re-judging stored proceedings: one call per trial for a new debate judge, none for a new jury rule
(counted at the loopback stub), new records beside the original, compared with an exact McNemar test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from courtgraph.cli import app
from courtgraph.evals import stats
from courtgraph.evals.plan import RunPlan
from courtgraph.evals.rejudge import rejudge
from courtgraph.evals.report import load_run
from courtgraph.evals.runner import run_plan
from courtgraph.evals.store import RunStore
from courtgraph.graphs.registry import Roles
from courtgraph.schema import Case
from courtgraph.testing import StubServer

CASES = [Case(id=f"c{i}", question=f"What is {i} + {i}?", candidates=[str(2 * i), str(2 * i + 1)],
              label="A" if i % 2 else "B") for i in range(4)]


async def stored_run(stub: StubServer, out: Path) -> None:
    roles = Roles(model=f"openai:stub-model@{stub.openai_url}")
    plan = RunPlan(CASES, ["debate", "jury"], roles=roles, out=out, cache=None, params={"debate": {"rounds": 1}})
    await run_plan(plan, progress=False)


async def test_rejudging_a_debate_makes_one_call_per_trial_and_a_jury_rule_none(
        stub: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    run = tmp_path / "run"
    await stored_run(stub, run)
    before = stub.requests
    assert before == 4 * 2 * (3 + 3)  # 4 cases x 2 orders x (debate: 2 advocates + judge; jury: 3 jurors)
    judged = await rejudge(run, "debate", judge=f"openai:other-judge@{stub.openai_url}", as_name="debate-other")
    assert stub.requests - before == 4 * 2 == judged.calls  # exactly one call per trial: the judge's
    aggregated = await rejudge(run, "jury", aggregate="strict")
    assert stub.requests - before == 8 and aggregated.calls == 0 and aggregated.protocol == "jury@strict"
    with RunStore(run, create=False) as store:
        new = store.records("debate-other")
        old = {r.case_id: r for r in store.records("debate")}
    assert len(new) == 4 and all(r.metadata["rejudged_from"] == "debate" for r in new)
    for r in new:  # the stored advocates' turns are kept as they were; only the judge's turn is new
        before_turns = [t for t in old[r.case_id].trials[0].turns if t.role == "advocate"]
        assert [t for t in r.trials[0].turns if t.role == "advocate"] == before_turns
        assert str(r.trials[0].turns[-1].model).startswith("openai:other-judge")
    assert judged.p_value == stats.mcnemar_exact(judged.wins, judged.losses)
    summary, _ = load_run(run)
    assert {"debate", "debate-other", "jury", "jury@strict"} <= set(summary.protocols)


def test_rejudge_cli_and_its_errors(stub: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    run = tmp_path / "run"
    asyncio.run(stored_run(stub, run))
    before = stub.requests
    out = CliRunner().invoke(app, ["rejudge", str(run), "--protocol", "jury", "--aggregate", "majority",
                                   "--as", "jury-again"])
    assert out.exit_code == 0, out.output
    assert "McNemar" in out.output and stub.requests == before
    bad = CliRunner().invoke(app, ["rejudge", str(run), "--protocol", "nope", "--judge", "sim:x"])
    assert bad.exit_code != 0 and "no records of protocol 'nope'" in str(bad.exception or bad.output)


async def test_rejudging_a_consultancy_asks_each_room_judge_again(tmp_path: Path) -> None:
    plan = RunPlan(CASES, ["consultancy", "courtroom"], roles=Roles(model="sim:agent:0.7"), out=tmp_path / "run",
                   cache=None, params={"consultancy": {"rounds": 2}, "courtroom": {"witnesses": []}})
    await run_plan(plan, progress=False)
    done = await rejudge(tmp_path / "run", "consultancy", judge="sim:other:0.9")
    assert done.calls == 4 * 2 * 2  # 4 cases x 2 orders x one verdict per room (A and B)
    for r in done.records:
        for t in r.trials:
            verdicts = [x for x in t.turns if x.phase == "verdict"]
            assert [x.agent for x in verdicts] == ["judge_A", "judge_B"] and len(t.verdict.votes) == 2
            assert all(x.model == "sim:other:0.9" for x in verdicts)
            # the new judge of each room read only its room: the questions stay the original judge's
            assert [x.model for x in t.turns if x.phase == "question"] == ["sim:agent:0.7"] * 2
    court = await rejudge(tmp_path / "run", "courtroom", judge="sim:other:0.9", as_name="court-other")
    assert court.calls == 4 * 2 and court.n == 4


def test_proceedings_whose_length_the_judge_decided_are_refused() -> None:
    from courtgraph.errors import InputError
    from courtgraph.evals.rejudge import proceedings_kind
    from courtgraph.schema import Turn

    with pytest.raises(InputError, match="rule:samre"):
        proceedings_kind([Turn(role="advocate", agent="advocate_A", content="x"),
                          Turn(role="controller", agent="samre", content="stopped", model="rule:samre")])
    assert proceedings_kind([Turn(role="advocate", agent="advocate_A", content="x")]) == "debate"


async def test_the_report_compares_the_rejudged_protocol_with_its_original(tmp_path: Path) -> None:
    plan = RunPlan(CASES, ["debate"], roles=Roles(model="sim:agent:0.6"), out=tmp_path / "run", cache=None,
                   params={"debate": {"rounds": 1}})
    await run_plan(plan, progress=False)
    done = await rejudge(tmp_path / "run", "debate", judge="sim:strong:0.95", as_name="debate-strong")
    summary, _ = load_run(tmp_path / "run", baseline="debate")
    cmp = summary.protocols["debate-strong"].vs_baseline
    assert (cmp.wins, cmp.losses, cmp.n) == (done.wins, done.losses, done.n)
    assert cmp.p_value == pytest.approx(done.p_value)
