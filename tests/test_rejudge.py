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
from courtgraph.graphs.samre import stopped
from courtgraph.schema import Case
from courtgraph.testing import StubServer
from courtgraph.testing.wire import StubRequest

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


def test_proceedings_whose_length_was_steered_are_recognised() -> None:
    from courtgraph.evals.rejudge import proceedings_kind
    from courtgraph.schema import Turn

    argued = Turn(role="advocate", agent="advocate_A", content="x")
    assert proceedings_kind([argued, Turn(role="controller", agent="samre", content="stopped",
                                          model="rule:samre")]) == "samre"
    assert proceedings_kind([Turn(role="aggregator", agent="aggregator", content="x"),
                             Turn(role="controller", agent="jury", content="3 of 5 jurors called",
                                  model="rule:sequential")]) == "sequential"
    assert proceedings_kind([argued]) == "debate"


async def test_the_report_compares_the_rejudged_protocol_with_its_original(tmp_path: Path) -> None:
    plan = RunPlan(CASES, ["debate"], roles=Roles(model="sim:agent:0.6"), out=tmp_path / "run", cache=None,
                   params={"debate": {"rounds": 1}})
    await run_plan(plan, progress=False)
    done = await rejudge(tmp_path / "run", "debate", judge="sim:strong:0.95", as_name="debate-strong")
    summary, _ = load_run(tmp_path / "run", baseline="debate")
    cmp = summary.protocols["debate-strong"].vs_baseline
    assert (cmp.wins, cmp.losses, cmp.n) == (done.wins, done.losses, done.n)
    assert cmp.p_value == pytest.approx(done.p_value)


def scores_or_verdicts(request: StubRequest) -> str:
    """The stub as every agent: a SAMRE judge scores A 90 and B 40 every round (so its gap converges at round 3);
    everyone else (advocates, jurors, a new judge) answers a verdict for A."""
    last = request.messages[-1]["content"]
    if "Score Response A." in last:
        return "Confidence: 80%\n[[90]]"
    if "Score Response B." in last:
        return "Confidence: 80%\n[[40]]"
    return "Response A answers the question correctly; Response B does not.\n[[A]]"


async def test_rejudging_a_samre_debate_and_a_sequential_jury(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    run = tmp_path / "run"
    with StubServer(scores_or_verdicts) as stub:
        roles = Roles(model=f"openai:stub-model@{stub.openai_url}")
        plan = RunPlan(CASES, ["samre", "jury"], roles=roles, out=run, cache=None,
                       params={"samre": {"max_tokens": None}, "jury": {"n": 5, "sequential": True}})
        await run_plan(plan, progress=False)
        before = stub.requests
        # 4 cases x 2 orders x (SAMRE: 3 rounds x (2 advocates + 2 scores); sequential jury of 5: the first 3 agree)
        assert before == 4 * 2 * (3 * 4 + 3)
        judged = await rejudge(run, "samre", judge=f"openai:other-judge@{stub.openai_url}", as_name="samre-other")
        assert stub.requests - before == 4 * 2 == judged.calls  # one call per trial: the new judge's verdict
        new_prompts = [r.text for r in stub.log[before:]]
        assert all(r.model == "other-judge" for r in stub.log[before:])
        # it reads the advocates (anonymized) but not the original judge's scores
        assert all("stub-model" not in p and "[[90]]" not in p and "advocate_A" in p for p in new_prompts)
        strict = await rejudge(run, "jury", aggregate="strict")
        weighted = await rejudge(run, "jury", aggregate="weighted")
        assert stub.requests - before == 8 and strict.calls == 0 == weighted.calls  # rules cost no call
    with RunStore(run, create=False) as store:
        old = {r.case_id: r for r in store.records("samre")}
        new = store.records("samre-other")
        seq_old = {r.case_id: r for r in store.records("jury")}
        seq_strict = store.records("jury@strict")
        seq_weighted = store.records("jury@weighted")
    for r in new:  # the last round's two scores are replaced by one verdict; the stop turn stays
        kept = [t for t in old[r.case_id].trials[0].turns if not (t.phase == "score" and t.round == 3)]
        assert r.trials[0].turns[:-1] == kept and stopped(r.trials[0]) == ("converged", 3)
        assert r.trials[0].turns[-1].phase == "verdict" and r.trials[0].verdict.winner is not None
    # strict (more than half of all 5) is decided by the 3 drawn votes for A whatever the 2 uncalled jurors say:
    # the re-aggregated verdicts are the full jury's, and the records say nothing was left undecided
    assert strict.undecided == 0 and all(r.metadata["rejudge_undecided"] == [] for r in seq_strict)
    assert all(r.verdict.winner == seq_old[r.case_id].verdict.winner for r in seq_strict)
    assert all(len(t.verdict.votes) == 3 for r in seq_strict for t in r.trials)  # only the drawn votes
    # a weighted vote depends on the uncalled jurors' confidences: computed over the drawn votes, and said so
    assert weighted.undecided == 8 and all(r.metadata["rejudge_undecided"] == ["AB", "BA"] for r in seq_weighted)
    assert "drawn jurors only" in weighted.summary() and "drawn jurors only" not in strict.summary()
    summary, _ = load_run(run, baseline="samre")
    cmp = summary.protocols["samre-other"].vs_baseline
    assert (cmp.wins, cmp.losses, cmp.n, cmp.p_value) == (judged.wins, judged.losses, judged.n,
                                                          pytest.approx(judged.p_value))
