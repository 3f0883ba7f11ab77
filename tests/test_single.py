"""The single-judge protocol with scripted models: calls, prompts, re-ask, invalid, modes, both orders."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from courtgraph.graphs import judge_case, run_trial, single
from courtgraph.models import Message, ModelError, ScriptedModel
from courtgraph.schema import Case, Trial

CASE = Case(id="c", question="What is 17 * 3?", candidates=["51", "41"], reference="51", label="A",
            context="HIDDEN-CONTEXT")


async def test_pairwise_one_call_reasoning_then_verdict() -> None:
    model = ScriptedModel(["17*3 = 51, so A is right.\n[[A]]"])
    result = await run_trial(single(model), Trial(case=CASE))
    assert result.verdict.winner == "A" and result.verdict.status == "ok"
    assert len(model.calls) == 1
    assert result.turns[0].content.startswith("17*3") and result.turns[0].model == "scripted:scripted"
    prompt = model.prompts()[0]
    assert "51" in prompt and "41" in prompt and "HIDDEN-CONTEXT" not in prompt
    assert "Reference answer" not in prompt  # reference only when asked for


async def test_unparseable_answer_is_reasked_once_then_invalid_with_raw_text() -> None:
    model = ScriptedModel(["I like the first one.", "Still the first one."])
    result = await run_trial(single(model), Trial(case=CASE))
    assert result.verdict.status == "invalid" and result.verdict.winner is None
    assert len(model.calls) == 2
    assert "I like the first one." in (result.verdict.raw or "")
    assert "Still the first one." in (result.verdict.raw or "")
    # the re-ask shows the model its own answer and what was wrong
    reask = model.calls[1]
    assert reask[-2] == {"role": "assistant", "content": "I like the first one."}
    assert "could not be read" in reask[-1]["content"]


async def test_reask_that_parses_is_ok_and_sums_usage() -> None:
    model = ScriptedModel(["hmm", "Fine: [[B]]"])
    result = await run_trial(single(model), Trial(case=CASE))
    assert result.verdict.winner == "B" and result.usage.calls == 2


async def test_structured_answer_is_validated() -> None:
    good = ScriptedModel([{"reasoning": "51 is right", "verdict": "A", "confidence": 0.9}], structured=True)
    result = await run_trial(single(good), Trial(case=CASE))
    assert result.verdict.winner == "A" and result.verdict.confidence == 0.9

    bad = ScriptedModel([{"reasoning": "x", "verdict": "first"}, {"reasoning": "x", "verdict": "A"}],
                        structured=True)
    result = await run_trial(single(bad), Trial(case=CASE))
    assert result.verdict.winner == "A" and len(bad.calls) == 2
    assert "verdict" in bad.calls[1][-1]["content"]  # the re-ask names the bad field


async def test_failed_call_is_an_error_verdict_not_a_side() -> None:
    model = ScriptedModel([ModelError("503 from stub", status=503, retryable=True)])
    result = await run_trial(single(model), Trial(case=CASE))
    assert result.verdict.status == "error" and result.verdict.winner is None
    assert "503" in (result.verdict.error or "")


async def test_both_orders_are_judged_and_combined() -> None:
    def always_first(messages: list[Message], schema: type[BaseModel] | None) -> str:
        return "The first response is better. [[A]]"

    record = await judge_case(single(ScriptedModel(always_first)), CASE)
    assert [t.order for t in record.trials] == ["AB", "BA"]
    assert record.verdict.winner == "tie" and record.correct is False  # position bias is not accuracy

    def correct(messages: list[Message], schema: type[BaseModel] | None) -> str:
        case = messages[1]["content"]  # the shared case message shows the responses in the trial's order
        return "[[A]]" if case.index("51") < case.index("41") else "[[B]]"

    record = await judge_case(single(ScriptedModel(correct)), CASE)
    assert record.verdict.winner == "A" and record.correct is True
    assert record.templates_used.keys() == {"judge_pairwise"}


async def test_reference_guided_shows_the_reference() -> None:
    model = ScriptedModel(["[[A]]"])
    await run_trial(single(model, reference=True), Trial(case=CASE))
    assert "Reference answer" in model.prompts()[0]


def _scores(a: str, b: str) -> Callable[[list[Message], type[BaseModel] | None], str]:
    def answer(messages: list[Message], schema: type[BaseModel] | None) -> str:
        return f"score [[{a}]]" if "\n51\n" in messages[1]["content"] else f"score [[{b}]]"  # the case message

    return answer


async def test_pointwise_single_candidate_and_pair() -> None:
    one = Case(id="p", question="17*3?", candidates=["51"], label=9.0)
    model = ScriptedModel(["Correct. [[9]]"])
    result = await run_trial(single(model, mode="pointwise"), Trial(case=one))
    assert result.verdict.score == 9.0
    assert "1 to 10" in model.prompts()[0]

    pair = single(ScriptedModel(_scores("9", "3")), mode="pointwise")
    result = await run_trial(pair, Trial(case=CASE, order="BA"))
    assert result.verdict.winner == "B" and result.verdict.scores == {"A": 3.0, "B": 9.0}
    assert len(result.turns) == 2

    close = single(ScriptedModel(_scores("7", "6.5")), mode="pointwise", tie_delta=1.0)
    assert (await run_trial(close, Trial(case=CASE))).verdict.winner == "tie"


async def test_score_outside_the_scale_is_invalid() -> None:
    model = ScriptedModel(["[[11]]", "[[12]]"])
    one = Case(id="p", question="q", candidates=["x"])
    result = await run_trial(single(model, mode="pointwise"), Trial(case=one))
    assert result.verdict.status == "invalid" and "outside the scale" in (result.verdict.error or "")
