"""Jury wiring: independent fan-out, exact call counts, private final votes, deliberation, aggregation."""

from __future__ import annotations

import pytest

from courtgraph.graphs.jury import Deliberation, jury
from courtgraph.graphs.single import single
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.schema import Case, Trial

GOLD = "GOLD-SENTINEL-3141"
CASE = Case(id="c1", question="What is 17 * 3?", candidates=["51", "54"], label="A", context="CTX-SENTINEL",
            metadata={"gold": GOLD})
TRIAL = Trial(case=CASE)


def juror(tag: str, name: str, confidence: int = 80) -> ScriptedModel:
    """A juror whose answers carry its own name, so a prompt that quotes it is detectable."""
    return ScriptedModel(lambda _m, _s: f"I am {name}. Confidence: {confidence}%\n[[{tag}]]", name=name)


def no_leak(*models: ScriptedModel) -> None:
    for m in models:
        for p in m.prompts():
            assert GOLD not in p and "CTX-SENTINEL" not in p


async def test_independent_jurors_make_n_calls_and_never_see_each_other() -> None:
    models = [juror("A", "alpha"), juror("B", "bravo"), juror("A", "charlie")]
    result = await run_trial(jury(models), TRIAL)
    assert [len(m.calls) for m in models] == [1, 1, 1]  # N + 0 for a rule aggregator
    assert result.verdict.winner == "A" and result.verdict.stage == "majority"
    assert [v.agent for v in result.verdict.votes] == ["juror_1", "juror_2", "juror_3"]
    for m, others in ((models[0], ("bravo", "charlie")), (models[1], ("alpha", "charlie"))):
        assert not any(o in p for p in m.prompts() for o in others)
    votes = [t for t in result.turns if t.role == "juror"]
    assert all(t.visible_to == [t.agent, "aggregator"] for t in votes)  # private to juror + aggregator
    assert result.turns[-1].agent == "aggregator" and result.turns[-1].usage.calls == 0
    assert result.usage.calls == 3
    no_leak(*models)


async def test_llm_aggregator_adds_exactly_one_call_and_reads_the_rationales() -> None:
    models = [juror("A", f"j{i}") for i in range(4)]
    presiding = ScriptedModel(["Juror reasons hold. Confidence: 90%\n[[B]]"], name="presiding")
    result = await run_trial(jury(models, aggregate=presiding), TRIAL)
    assert sum(len(m.calls) for m in models) == 4 and len(presiding.calls) == 1
    assert result.verdict.winner == "B" and len(result.verdict.votes) == 4
    assert all(f"I am j{i}" in presiding.prompts()[0] for i in range(4))
    no_leak(presiding)


async def test_a_split_jury_is_a_tie_and_an_invalid_juror_abstains() -> None:
    bad = ScriptedModel(["no idea", "still no idea"], name="bad")
    result = await run_trial(jury([juror("A", "a"), bad, juror("B", "b")]), TRIAL)
    assert result.verdict.winner == "tie"
    assert [v.status for v in result.verdict.votes] == ["ok", "invalid", "ok"]
    assert len(bad.calls) == 2  # one re-ask, then invalid


async def test_weights_per_juror() -> None:
    models = [juror("A", "a"), juror("B", "b"), juror("B", "c")]
    result = await run_trial(jury(models, aggregate="weighted", weights=[3, 1, 1]), TRIAL)
    assert result.verdict.winner == "A" and result.verdict.stage == "weighted"


async def test_pointwise_jurors_and_mean() -> None:
    case = Case(id="p", question="Capital of France?", candidates=["Paris"], label=GOLD)
    models = [ScriptedModel([f"Fine.\n[[{s}]]"], name=f"s{s}") for s in (9, 7, 8)]
    result = await run_trial(jury(models, aggregate="mean", mode="pointwise"), Trial(case=case))
    assert result.verdict.score == pytest.approx(8.0)
    assert "[[SCORE]]" in models[0].prompts()[0]
    no_leak(*models)


async def test_deliberation_rounds_share_opinions_then_final_votes_are_private() -> None:
    def flipper(name: str, first: str, then: str) -> ScriptedModel:
        def answer(messages: list[Message], _schema: object) -> str:
            final = "This is the final round" in messages[-1]["content"]
            return f"{name}: {'FINAL-VOTE' if final else 'opening'}\n[[{then if final else first}]]"
        return ScriptedModel(answer, name=name)

    models = [flipper("ann", "A", "B"), flipper("bob", "B", "B"), flipper("cat", "A", "B")]
    result = await run_trial(jury(models, rounds=1), TRIAL)
    assert [len(m.calls) for m in models] == [2, 2, 2]  # N x (R + 1)
    assert result.verdict.winner == "B"
    second = models[0].prompts()[1]  # round 1 reads the others' round-0 rationales
    assert "bob: opening" in second and "cat: opening" in second
    assert not any("FINAL-VOTE" in p for m in models for p in m.prompts())  # nobody reads a final vote
    opening = [t for t in result.turns if t.round is None and t.role == "juror"]
    final = [t for t in result.turns if t.round == 1]
    assert all(t.visible_to == ["juror_1", "juror_2", "juror_3"] for t in opening)
    assert all(t.visible_to == [t.agent, "aggregator"] for t in final)
    assert {v.agent for v in result.verdict.votes} == {"juror_1", "juror_2", "juror_3"}
    assert all("FINAL-VOTE" in (v.rationale or "") for v in result.verdict.votes)


@pytest.mark.parametrize("deliberation", ["one-by-one", "simultaneous"])
async def test_one_by_one_shows_earlier_revisions_of_the_same_shared_round(deliberation: Deliberation) -> None:
    def counted(name: str) -> ScriptedModel:
        model = ScriptedModel(lambda _m, _s: f"{name}-call{len(model.calls) - 1}\n[[A]]", name=name)
        return model

    x, y = counted("x"), counted("y")
    await run_trial(jury([x, y], rounds=2, deliberation=deliberation), TRIAL)
    assert len(x.calls) == len(y.calls) == 3
    assert "y-call0" in x.prompts()[1]  # juror_1 speaks first in round 1: it reads round 0
    seen_by_y = "x-call1" if deliberation == "one-by-one" else "x-call0"
    assert seen_by_y in y.prompts()[1]
    assert "x-call1" in y.prompts()[2] and "x-call2" not in y.prompts()[2]  # the final round is private


async def test_a_jury_of_protocols_relabels_sub_turns_and_hands_over_votes() -> None:
    judges = [ScriptedModel([f"Sub {i}.\n[[{tag}]]"], name=f"sub{i}") for i, tag in enumerate("AAB")]
    result = await run_trial(jury([single(m) for m in judges]), TRIAL)
    assert result.verdict.winner == "A"
    agents = [t.agent for t in result.turns]
    assert agents[:-1].count("juror_1/judge") == 1 and "juror_3" in agents
    sub = next(t for t in result.turns if t.agent == "juror_1/judge")
    assert sub.visible_to == ["juror_1", "juror_1/judge"]  # the sub-trial's public turn stays inside it
    handed = next(t for t in result.turns if t.agent == "juror_1")
    assert handed.visible_to == ["juror_1", "aggregator"] and handed.usage.calls == 0
    assert handed.model == "protocol:single"
    assert result.usage.calls == 3


def test_bad_configurations_fail_at_build_time() -> None:
    with pytest.raises(ValueError, match="n=2 but 3 given"):
        jury([juror("A", "a")] * 3, n=2)
    with pytest.raises(ValueError, match="deliberation needs model jurors"):
        jury([single(juror("A", "a"))], n=1, rounds=1)
    with pytest.raises(ValueError, match="unknown aggregation rule"):
        jury(juror("A", "a"), aggregate="plurality")
