"""Cascade: trust a cheap stage only when it is confident and order-consistent; say which stage decided."""

from __future__ import annotations

import pytest
from parts import case_text

from courtgraph.graphs.cascade import cascade
from courtgraph.graphs.jury import jury
from courtgraph.graphs.single import single
from courtgraph.graphs.trial import judge_case, run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.prompts import unfence
from courtgraph.schema import Case, Order, Trial

CASE = Case(id="cas", question="What is 6 * 7?", candidates=["42", "48"], label="A")


def knows(answer: str, name: str, confidence: int = 90) -> ScriptedModel:
    """Picks whichever shown response is ``answer``: consistent across orders."""
    def pick(messages: list[Message], _schema: object) -> str:
        shown = unfence(case_text(messages))
        tag = "A" if shown["response_a"] == answer else "B"
        return f"It is {answer}. Confidence: {confidence}%\n[[{tag}]]"
    return ScriptedModel(pick, name=name)


def biased(name: str) -> ScriptedModel:
    """Always answers A: flips with the order."""
    return ScriptedModel(lambda _m, _s: "First is best. Confidence: 95%\n[[A]]", name=name)


@pytest.mark.parametrize("order", ["AB", "BA"])
async def test_a_confident_consistent_first_stage_decides(order: Order) -> None:
    cheap, strong = knows("42", "cheap"), knows("42", "strong")
    result = await run_trial(cascade([cheap, strong]), Trial(case=CASE, order=order))
    assert len(cheap.calls) == 2 and len(strong.calls) == 0  # both orders, no escalation
    assert result.verdict.stage == "single"
    assert result.verdict.winner == ("A" if order == "AB" else "B")  # "42" in the shown frame
    assert [v.stage for v in result.verdict.votes] == ["single", "single[swap]"]
    assert all(v.winner == result.verdict.winner for v in result.verdict.votes)  # mapped back to this frame
    agents = [t.agent for t in result.turns]
    assert agents == ["single/judge", "single[swap]/judge", "cascade"]
    assert "decides" in result.turns[-1].content


async def test_a_flip_between_orders_escalates_and_the_record_says_who_decided() -> None:
    cheap, strong = biased("cheap"), knows("42", "strong")
    result = await run_trial(cascade([("cheap", cheap), ("strong", strong)]), Trial(case=CASE, order="BA"))
    assert len(cheap.calls) == 2 and len(strong.calls) == 1  # the last stage runs once
    assert result.verdict.stage == "strong" and result.verdict.winner == "B"
    assert [(v.stage, v.winner) for v in result.verdict.votes] == [("cheap", "A"), ("cheap[swap]", "B"),
                                                                    ("strong", "B")]
    assert "the orders disagree" in next(t.content for t in result.turns if t.agent == "cascade")


async def test_low_confidence_escalates_and_abstain_when_no_stage_is_trusted() -> None:
    unsure, also = knows("42", "unsure", confidence=40), knows("42", "also", confidence=50)
    result = await run_trial(cascade([unsure, also], threshold=0.6), Trial(case=CASE))
    assert result.verdict.stage == "single_2" and len(also.calls) == 1
    result = await run_trial(cascade([knows("42", "u", 40), knows("42", "v", 50)], threshold=0.6, abstain=True),
                             Trial(case=CASE))
    assert result.verdict.status == "abstain" and "confidence 0.50 < 0.6" in (result.verdict.error or "")
    assert len(result.verdict.votes) == 4


async def test_escalation_to_a_jury_and_per_stage_thresholds() -> None:
    jurors = [knows("42", f"j{i}") for i in range(3)]
    graph = cascade([single(biased("cheap")), jury(jurors)], threshold=[0.9, 0.0])
    record = await judge_case(graph, CASE)
    assert record.correct is True and all(t.verdict.stage == "jury" for t in record.trials)
    assert sum(len(j.calls) for j in jurors) == 6  # 3 jurors x 2 orders, the last stage unchecked
    assert any(t.agent.startswith("jury/juror_1") for t in record.trials[0].turns)


async def test_pointwise_cases_are_not_swapped() -> None:
    one = Case(id="pt", question="6*7?", candidates=["42"], label=9.0)
    grader = ScriptedModel(lambda _m, _s: "Right. Confidence: 90%\n[[9]]", name="grader")
    result = await run_trial(cascade([single(grader, mode="pointwise"), "scripted:unused"]), Trial(case=one))
    assert len(grader.calls) == 1 and result.verdict.score == 9 and result.verdict.stage == "single"


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="at least one stage"):
        cascade([])
    with pytest.raises(ValueError, match="2 thresholds for 3 stages"):
        cascade(["scripted:a", "scripted:b", "scripted:c"], threshold=[0.5, 0.5])
