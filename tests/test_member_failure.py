"""A member whose call fails for good fails the trial (kept turns, failed record, resume re-runs it),
unless the protocol has an explicit quorum rule, and then the verdict says it was decided under it."""

from __future__ import annotations

from pathlib import Path

import pytest
from parts import case_text, role_text

from courtgraph.errors import InputError
from courtgraph.evals.store import RunStore, record_failed
from courtgraph.graphs.cascade import cascade
from courtgraph.graphs.jury import jury
from courtgraph.graphs.panel import panel
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.single import single
from courtgraph.graphs.trial import judge_case, run_trial
from courtgraph.models import Message, ModelError, ScriptedModel
from courtgraph.prompts import unfence
from courtgraph.schema import Case, Trial

CASE = Case(id="q1", question="What is 17 * 3?", candidates=["51", "54"], label="A")
TRIAL = Trial(case=CASE)


def says(tag: str, name: str) -> ScriptedModel:
    return ScriptedModel(lambda _m, _s: f"I am {name}. Confidence: 80%\n[[{tag}]]", name=name)


def knows(name: str) -> ScriptedModel:
    """Picks the shown candidate "51" in either order (so a case's two orders agree)."""
    def pick(messages: list[Message], _s: object) -> str:
        return f"I am {name}.\n[[{'A' if unfence(case_text(messages))['response_a'] == '51' else 'B'}]]"

    return ScriptedModel(pick, name=name)


def down(name: str = "down") -> ScriptedModel:
    def fail(_m: list[Message], _s: object) -> str:
        raise ModelError("503 Service Unavailable after 4 attempts", status=503, retryable=True)

    return ScriptedModel(fail, name=name)


async def test_a_failing_juror_fails_the_trial_and_keeps_the_paid_turns() -> None:
    graph = jury([says("A", "a"), down(), says("B", "b")])
    result = await run_trial(graph, TRIAL)
    assert result.verdict.status == "error"
    assert "juror_2" in (result.verdict.error or "") and "503" in (result.verdict.error or "")
    assert "no quorum" in (result.verdict.error or "")
    # the two answering jurors' calls were paid for: their turns and usage stay on the trial
    voted = {t.agent: t for t in result.turns if t.role == "juror"}
    assert voted["juror_1"].verdict is not None and voted["juror_1"].verdict.winner == "A"
    assert voted["juror_3"].verdict is not None and voted["juror_3"].verdict.winner == "B"
    assert voted["juror_2"].verdict is not None and voted["juror_2"].verdict.status == "error"
    assert result.usage.calls == 2
    assert result.turns[-1].model == "rule:quorum" and [v.status for v in result.verdict.votes] == [
        "ok", "error", "ok"]


async def test_a_failed_trial_makes_a_failed_record_that_resume_runs_again(tmp_path: Path) -> None:
    record = await judge_case(jury([knows("a"), down(), knows("b")]), CASE, protocol="jury")
    assert record_failed(record)  # even though the two answering jurors agree on A
    store = RunStore(tmp_path / "run")
    store.put_cases([CASE])
    store.write(record)
    assert store.done() == set()  # not finished: a resume judges it again
    fixed = await judge_case(jury([knows("a"), knows("c"), knows("b")]), CASE, protocol="jury")
    assert not record_failed(fixed) and fixed.verdict.winner == "A" and fixed.verdict.quorum is None
    store.write(fixed)
    assert store.done() == {("q1", "jury")}
    store.close()


async def test_an_invalid_vote_still_abstains_without_failing_the_trial() -> None:
    mute = ScriptedModel(["no idea", "still none"], name="mute")
    result = await run_trial(jury([says("A", "a"), mute, says("A", "b")]), TRIAL)
    assert result.verdict.winner == "A" and result.verdict.quorum is None
    assert [v.status for v in result.verdict.votes] == ["ok", "invalid", "ok"]


async def test_with_a_quorum_the_verdict_is_decided_and_marked() -> None:
    result = await run_trial(jury([says("A", "a"), down(), says("A", "b")], quorum=2), TRIAL)
    assert result.verdict.status == "ok" and result.verdict.winner == "A"
    note = result.verdict.quorum or ""
    assert "2 of 3 members answered (quorum 2)" in note and "juror_2" in note and "503" in note
    assert "quorum" in result.turns[-1].content
    record = await judge_case(jury([knows("a"), down(), knows("b")], quorum=2), CASE)
    assert not record_failed(record)
    assert record.verdict.winner == "A" and record.verdict.quorum is not None
    assert record.verdict.quorum.startswith("AB: 2 of 3") and "; BA: 2 of 3" in record.verdict.quorum


async def test_below_the_quorum_the_trial_fails() -> None:
    result = await run_trial(jury([says("A", "a"), down("d1"), down("d2")], quorum=2), TRIAL)
    assert result.verdict.status == "error" and "only 1 of 3 members answered, quorum 2" in (
        result.verdict.error or "")


async def test_an_llm_aggregator_is_not_paid_for_when_the_trial_fails() -> None:
    presiding = ScriptedModel(["[[A]]"], name="presiding")
    result = await run_trial(jury([says("A", "a"), down(), says("A", "b")], aggregate=presiding), TRIAL)
    assert result.verdict.status == "error" and presiding.calls == []


async def test_deliberation_stops_when_a_juror_fails_and_a_quorum_leaves_it_out() -> None:
    flaky = ScriptedModel([ModelError("timeout", status=None, retryable=True)], name="flaky")
    a, b = says("A", "a"), says("B", "b")
    failed = await run_trial(jury([a, flaky, b], rounds=2), TRIAL)
    assert failed.verdict.status == "error" and len(a.calls) == 1  # no deliberation paid for
    a, b, c = says("A", "a"), says("A", "b"), ScriptedModel([ModelError("timeout")], name="c")
    kept = await run_trial(jury([a, b, c], rounds=1, quorum=2), TRIAL)
    assert kept.verdict.winner == "A" and kept.verdict.quorum and len(c.calls) == 1  # not asked again
    assert len(a.calls) == 2 and "timeout" not in a.prompts()[1].split("other jurors' latest")[-1]


async def test_a_failing_panel_specialist_fails_the_trial_unless_a_quorum() -> None:
    def specialist(messages: list[Message], _s: object) -> str:
        if "safety specialist" in role_text(messages):
            raise ModelError("500 Internal Server Error")
        return "Fine. [[A]]"

    failed = await run_trial(panel(ScriptedModel(specialist)), TRIAL)
    assert failed.verdict.status == "error" and "safety" in (failed.verdict.error or "")
    decided = await run_trial(panel(ScriptedModel(specialist), quorum=4), TRIAL)
    assert decided.verdict.winner == "A" and "4 of 5" in (decided.verdict.quorum or "")


async def test_a_failing_cascade_stage_fails_the_trial_instead_of_escalating() -> None:
    strong = says("A", "strong")
    result = await run_trial(cascade([down("cheap"), strong], check_swap=False), TRIAL)
    assert result.verdict.status == "error" and "503" in (result.verdict.error or "")
    assert strong.calls == []  # a failure is not a reason to pay the next stage
    assert any(t.agent == "cascade" and "fails" in t.content for t in result.turns)


async def test_a_cascade_stage_decided_under_quorum_carries_the_mark() -> None:
    stage = jury([says("A", "a"), down(), says("A", "b")], quorum=2)
    result = await run_trial(cascade([stage], check_swap=False), TRIAL)
    assert result.verdict.winner == "A" and "quorum 2" in (result.verdict.quorum or "")


async def test_a_composed_member_that_fails_fails_the_parent() -> None:
    inner = single(down("inner"))
    result = await run_trial(jury([inner, says("A", "a"), says("A", "b")]), TRIAL)
    assert result.verdict.status == "error" and "juror_1" in (result.verdict.error or "")
    nested = await run_trial(jury([jury([says("A", "x"), down(), says("A", "y")], quorum=2),
                                   says("A", "a"), says("B", "b")]), TRIAL)
    assert nested.verdict.winner == "A" and "juror_1: 2 of 3" in (nested.verdict.quorum or "")


def test_a_bad_quorum_is_refused_when_the_protocol_is_built() -> None:
    for bad in (0, 4, 1.5, True):
        with pytest.raises(ValueError, match="quorum"):
            jury([says("A", "a")] * 3, quorum=bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="quorum"):
        build_protocol("jury", Roles(model=says("A", "m")), quorum=5)
    assert build_protocol("jury", Roles(model=says("A", "m")), quorum=2) is not None


async def test_a_quorum_verdict_is_marked_in_every_view(tmp_path: Path) -> None:
    from courtgraph.evals.metrics import summarize
    from courtgraph.evals.report import summary_markdown
    from courtgraph.view import render
    from courtgraph.view.export import table_json
    from courtgraph.view.runs import Run
    from courtgraph.view.show import plain_text
    from courtgraph.view.table import outcome_cell

    marked = await judge_case(jury([knows("a"), down(), knows("b")], quorum=2), CASE, protocol="jury")
    plain = await judge_case(single(knows("s")), CASE, protocol="single")
    text = plain_text(render(marked, CASE))
    assert text.count("decided under the quorum rule") == 3  # each order's verdict and the combined one
    assert "decided under the quorum rule" not in plain_text(render(plain, CASE))
    summary = summarize([plain, marked])
    assert summary.to_json()["protocols"]["jury"]["quorum_decided"] == 1
    assert summary.to_json()["protocols"]["single"]["quorum_decided"] == 0
    assert "quorum rule, with members that failed: jury 1 of 1 records" in summary_markdown(summary)
    store = RunStore(tmp_path / "run")
    store.put_cases([CASE])
    store.write(marked)
    store.write(plain)
    store.close()
    with Run(tmp_path / "run") as run:
        row = run.rows()[0]
        assert row.outcomes["jury"].quorum and not row.outcomes["single"].quorum
        assert outcome_cell(row.outcomes["jury"]).plain.endswith(" q")
        assert '"quorum": true' in table_json([row])


async def test_a_failing_judge_of_one_consultancy_side_fails_the_trial() -> None:
    from courtgraph.graphs.consultancy import consultancy

    calls = {"n": 0}

    def judge(messages: list[Message], _s: object) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ModelError("503 Service Unavailable")
        return "Checked.\n[[A]]"

    result = await run_trial(consultancy(ScriptedModel("An argument."), ScriptedModel(judge), rounds=1), TRIAL)
    assert result.verdict.status == "error" and "503" in (result.verdict.error or "")
    assert sum(t.verdict is not None and t.verdict.valid for t in result.turns) == 1  # the other side's, kept


def test_a_run_with_a_failing_juror_reports_the_failure_and_resume_finishes_it(tmp_path: Path) -> None:
    from test_runner import make_cases, run_quiet, truthful

    def down_for_c1(messages: list[Message], schema: object) -> str | BaseException:
        return ModelError("503 overloaded") if "question 1" in case_text(messages) else truthful(messages)

    cases = make_cases(3)
    healthy = [ScriptedModel(truthful, name=f"j{i}") for i in range(2)]
    first = run_quiet(cases, {"jury": jury([healthy[0], ScriptedModel(down_for_c1), healthy[1]])}, tmp_path)
    assert [r.case_id for r in first.failed] == ["c1"]  # the CLI exits 1 on this
    failed = first.failed[0]
    assert all(t.verdict.status == "error" for t in failed.trials) and failed.usage.calls == 4  # paid turns kept
    again = [ScriptedModel(truthful, name=f"k{i}") for i in range(3)]
    second = run_quiet(cases, {"jury": jury(again)}, tmp_path, resume=True)
    assert [len(m.calls) for m in again] == [2, 2, 2]  # only c1, in both orders
    assert second.failed == [] and all(r.correct for r in second.records)


async def test_a_failing_juror_fails_a_sequential_jury_and_stops_calling() -> None:
    """Early stopping counts votes; a failed call is not a vote, so it fails the trial there and then."""
    later = says("B", "later")
    graph = jury([says("A", "a"), down(), later], sequential=True)
    result = await run_trial(graph, TRIAL)
    assert result.verdict.status == "error" and "no quorum" in (result.verdict.error or "")
    assert later.calls == []  # nobody is called after the failure
    # with quorum 2 the failure counts against it, and the last juror is still needed (tests/test_sequential_jury.py)
    kept = await run_trial(jury([says("A", "a"), down(), later], sequential=True, quorum=2), TRIAL)
    assert kept.verdict.valid and kept.verdict.winner == "tie" and len(later.calls) == 1
