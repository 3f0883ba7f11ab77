"""Debate wiring: who speaks when, exact call counts, word limits, and what the judge never sees."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from parts import role_text
from pydantic import BaseModel

from courtgraph.graphs.debate import debate
from courtgraph.graphs.trial import run_trial
from courtgraph.models import ChatModel, Message, ModelError, ScriptedModel
from courtgraph.models.base import Completion, GenerateParams
from courtgraph.schema import EVERYONE, Case, Trial

#: the module (the package's ``debate`` is the function)
debate_module = importlib.import_module("courtgraph.graphs.debate")

GOLD = "GOLD-SENTINEL-2718"
CASE = Case(id="d1", question="Is 91 prime?", candidates=["No: 91 = 7 x 13.", "Yes, 91 is prime."], label="A",
            context="CTX-SENTINEL: a hidden passage", metadata={"gold": GOLD})
TRIAL = Trial(case=CASE)


def debater(name: str) -> ScriptedModel:
    """Argues with private notes; each argument names its speaker and round so prompts can be checked."""
    def argue(messages: list[Message], _schema: object) -> str:
        user = messages[-1]["content"]
        side = "A" if "You are advocate_A" in role_text(messages) else "B"
        rnd = user.split("Round ")[1].split(" ")[0]
        return f"<thinking>PRIVATE-{name}-{side}{rnd}</thinking>ARG-{side}{rnd} from {name}."
    return ScriptedModel(argue, name=name, tokens=(100, 20))


def bench(verdict: str = "B") -> ScriptedModel:
    def answer(messages: list[Message], _schema: object) -> str:
        if "Ask one question to each advocate" in messages[-1]["content"]:
            return "advocate_A: QUESTION-A?\nadvocate_B: QUESTION-B?"
        return f"Weighing it. Confidence: 70%\n[[{verdict}]]"
    return ScriptedModel(answer, name="strong-judge", tokens=(500, 50))


@pytest.mark.parametrize("rounds", [1, 3])
async def test_calls_order_and_models_per_role(rounds: int) -> None:
    a, b, judge = debater("cheapA"), debater("cheapB"), bench()
    result = await run_trial(debate((a, b), judge, rounds=rounds), TRIAL)
    assert len(a.calls) + len(b.calls) + len(judge.calls) == 2 * rounds + 1
    assert result.usage.calls == 2 * rounds + 1
    public = [t for t in result.turns if EVERYONE in t.visible_to]
    assert [(t.agent, t.round) for t in public] == \
        [(f"advocate_{s}", r) for r in range(1, rounds + 1) for s in "AB"] + [("judge", None)]
    assert result.verdict.winner == "B" and result.verdict.agent == "judge"
    for t in public:  # each turn records its own model and usage
        assert t.model == {"advocate_A": "scripted:cheapA", "advocate_B": "scripted:cheapB",
                           "judge": "scripted:strong-judge"}[t.agent]
        assert t.usage.calls == 1 and t.usage.input_tokens == (500 if t.agent == "judge" else 100)


async def test_the_judge_never_sees_context_notes_or_gold_and_advocates_see_context() -> None:
    a, b, judge = debater("a"), debater("b"), bench()
    result = await run_trial(debate((a, b), judge, rounds=2), TRIAL)
    (verdict_prompt,) = judge.prompts()
    assert "CTX-SENTINEL" not in verdict_prompt and "PRIVATE-" not in verdict_prompt
    assert "ARG-A2 from a" in verdict_prompt and "ARG-B2 from b" in verdict_prompt
    assert all("CTX-SENTINEL" in p for p in a.prompts() + b.prompts())
    assert not any(GOLD in p for m in (a, b, judge) for p in m.prompts())
    notes = [t for t in result.turns if t.phase == "notes"]
    assert len(notes) == 4 and all(t.visible_to == [t.agent] and t.usage.calls == 0 for t in notes)
    assert "PRIVATE-a-A1" in a.prompts()[1] and "PRIVATE-b-B1" not in a.prompts()[1]  # own notes only


async def test_simultaneous_rounds_hide_the_current_round_and_sequential_shows_it() -> None:
    a, b = debater("a"), debater("b")
    await run_trial(debate((a, b), bench(), rounds=2, speaking="simultaneous"), TRIAL)
    assert "ARG-A1" not in b.prompts()[0] and "ARG-A1" in b.prompts()[1] and "ARG-A2" not in b.prompts()[1]
    a, b = debater("a"), debater("b")
    await run_trial(debate((a, b), bench(), rounds=2, speaking="sequential"), TRIAL)
    assert "ARG-A1" in b.prompts()[0] and "ARG-A2" in b.prompts()[1]
    assert "ARG-B2" not in a.prompts()[1]


async def test_word_limit_is_stated_and_enforced() -> None:
    wordy = ScriptedModel(lambda _m, _s: "<thinking>long plan " + "x " * 50 + "</thinking>" + "word " * 40,
                          name="wordy")
    result = await run_trial(debate(wordy, bench(), rounds=1, word_limit=12), TRIAL)
    args = [t for t in result.turns if t.phase == "argument"]
    assert all(t.content == "word " * 11 + "word [truncated]" for t in args)
    assert "at most 12 words" in wordy.prompts()[0]
    notes = next(t for t in result.turns if t.phase == "notes")
    assert notes.content.count("x") == 50  # private notes are not cut


async def test_interactive_judge_questions_from_round_two() -> None:
    a, b, judge = debater("a"), debater("b"), bench()
    result = await run_trial(debate((a, b), judge, rounds=3, interactive=True), TRIAL)
    assert len(a.calls) + len(b.calls) + len(judge.calls) == 2 * 3 + 1 + 2
    questions = [t for t in result.turns if t.phase == "question"]
    assert [t.round for t in questions] == [2, 3] and all(t.visible_to == [EVERYONE] for t in questions)
    assert "QUESTION-A?" not in a.prompts()[0] and "QUESTION-A?" in a.prompts()[1]
    assert all("CTX-SENTINEL" not in p for p in judge.prompts())
    order = [t.agent for t in result.turns if t.phase in ("question", "argument")]
    assert order == ["advocate_A", "advocate_B", "judge", "advocate_A", "advocate_B", "judge", "advocate_A",
                     "advocate_B"]


async def test_open_debate_protagonist_chooses_privately_and_antagonist_takes_the_other_side() -> None:
    def protagonist(messages: list[Message], _schema: object) -> str:
        if "which one" in role_text(messages):
            return "B looks right to me. [[B]]"
        return "PROTAGONIST argues."

    pro = ScriptedModel(protagonist, name="pro")
    anti = ScriptedModel(lambda _m, _s: "ANTAGONIST argues.", name="anti")
    judge = bench()
    result = await run_trial(debate((pro, anti), judge, rounds=2, open=True), TRIAL)
    assert len(pro.calls) + len(anti.calls) + len(judge.calls) == 2 * 2 + 1 + 1
    choice = result.turns[0]
    assert choice.phase == "choice" and choice.visible_to == ["protagonist"] and choice.verdict is not None
    by_agent = {t.agent: t.model for t in result.turns if t.phase == "argument"}
    assert by_agent == {"advocate_B": "scripted:pro", "advocate_A": "scripted:anti"}
    assert all("You are advocate_B" in role_text(call) for call in pro.calls[1:])
    assert "looks right to me" not in judge.prompts()[0] and "protagonist" not in judge.prompts()[0]


class Stalled(ChatModel):
    """A call that starts, then waits until it is cancelled, and records that it was."""

    cacheable = False

    def __init__(self) -> None:
        super().__init__("scripted:stalled", provider="scripted", model="stalled")
        self.started, self.cancelled = asyncio.Event(), False

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("never reached")


class FailsOnceOtherStarted(ChatModel):
    """A call that fails for good, but only once ``other`` is in flight (so there is something to cancel)."""

    cacheable = False

    def __init__(self, other: Stalled) -> None:
        super().__init__("scripted:down", provider="scripted", model="down")
        self.other = other

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        await self.other.started.wait()
        raise ModelError("provider down")


async def test_a_failing_advocate_cancels_the_other_advocates_call() -> None:
    b = Stalled()
    result = await run_trial(debate((FailsOnceOtherStarted(b), b), bench(), rounds=1), TRIAL)
    assert b.cancelled  # not left running (and billing) after the round has failed
    assert result.verdict.status == "error" and result.error is not None
    assert result.error.endswith(": ModelError: provider down") and "Group" not in result.error  # the error itself


async def test_open_debate_without_a_valid_choice_argues_as_assigned() -> None:
    def protagonist(messages: list[Message], _schema: object) -> str:
        if "which one" in role_text(messages):
            return "They are equally good. [[C]]"
        return "PROTAGONIST argues."

    pro = ScriptedModel(protagonist, name="pro")
    result = await run_trial(debate((pro, ScriptedModel("ANTAGONIST argues.", name="anti")), bench(), rounds=1,
                                    open=True), TRIAL)
    assert len(pro.calls) == 3  # the choice, its re-ask, one argument
    assert "[[C]]" not in pro.calls[1][-1]["content"] and "[[A]] or [[B]]" in pro.calls[1][-1]["content"]
    choice = result.turns[0]
    assert choice.verdict is not None and choice.verdict.status == "invalid" and choice.usage.calls == 2
    assert "arguing the assigned side, A" in choice.content
    by_agent = {t.agent: t.model for t in result.turns if t.phase == "argument"}
    assert by_agent == {"advocate_A": "scripted:pro", "advocate_B": "scripted:anti"}


async def test_a_misrouted_loop_fails_fast_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debate_module, "route", lambda *_: "argue")  # never reaches the judge
    a = ScriptedModel("forever", name="loop")
    result = await run_trial(debate(a, bench(), rounds=2), TRIAL)
    assert result.verdict.status == "error" and result.error is not None
    assert "recursion limit 8 reached" in result.error
    assert len(a.calls) <= 2 * 8


def test_rounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one round"):
        debate("scripted:x", "scripted:y", rounds=0)
