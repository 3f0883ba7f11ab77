"""Consultancy wiring: closed rooms per side, questions each round, the verdicts combined, no leaks."""

from __future__ import annotations

import importlib

import pytest
from parts import role_text

from courtgraph.graphs.consultancy import consultancy
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ModelError, ScriptedModel
from courtgraph.schema import Case, Label, Trial

#: the module (the package's ``consultancy`` is the function)
consultancy_module = importlib.import_module("courtgraph.graphs.consultancy")

GOLD = "GOLD-SENTINEL-1618"
CASE = Case(id="k1", question="Sort [3, 1, 2] ascending.", candidates=["[1, 2, 3]", "[3, 2, 1]"], label="A",
            context="CTX-SENTINEL", metadata={"gold": GOLD})
TRIAL = Trial(case=CASE)


def consultant(*choices: str | Exception) -> ScriptedModel:
    """Argues per side and round; answers an open side choice with ``choices`` in turn (default [[B]])."""
    answers = iter(choices or ["[[B]]"])

    def argue(messages: list[Message], _schema: object) -> str | Exception:
        if "which one" in role_text(messages):
            return next(answers)
        side = "A" if "that Response A is the better one" in role_text(messages) else "B"
        rnd = messages[-1]["content"].split("Round ")[1].split(" ")[0]
        return f"<notes>NOTES-{side}{rnd}</notes>CASE-{side}{rnd}"
    return ScriptedModel(argue, name="consultant")


def judge(verdicts: dict[str, Label]) -> ScriptedModel:
    """Asks a question, or decides per room: the side the consultant argued maps to a verdict."""
    def answer(messages: list[Message], _schema: object) -> str:
        side = "A" if "that Response A is better" in role_text(messages) else "B"
        if "Ask the consultant one question" in messages[-1]["content"]:
            return f"QUESTION-{side}?"
        return f"Decided. Confidence: 60%\n[[{verdicts[side]}]]"
    return ScriptedModel(answer, name="judge")


async def test_both_sides_make_2r_calls_each_in_closed_rooms() -> None:
    c, j = consultant(), judge({"A": "A", "B": "A"})
    result = await run_trial(consultancy(c, j, rounds=3), TRIAL)
    assert len(c.calls) == 6 and len(j.calls) == 6  # per side: R arguments, R-1 questions, 1 verdict
    assert result.verdict.winner == "A" and [v.agent for v in result.verdict.votes] == ["judge_A", "judge_B"]
    for p in j.prompts():
        mine = "A" if "that Response A is better" in p else "B"
        other = "B" if mine == "A" else "A"
        assert f"CASE-{other}" not in p and f"QUESTION-{other}" not in p
        assert "CTX-SENTINEL" not in p and "NOTES-" not in p and GOLD not in p
    assert all("CTX-SENTINEL" in p for p in c.prompts())
    room_a = [(t.agent, t.phase, t.round) for t in result.turns if t.agent.endswith("_A") and t.phase != "notes"]
    assert room_a == [("consultant_A", "argument", 1), ("judge_A", "question", 2), ("consultant_A", "argument", 2),
                      ("judge_A", "question", 3), ("consultant_A", "argument", 3), ("judge_A", "verdict", None)]
    assert all(t.visible_to in (["consultant_A", "judge_A"], ["consultant_A"]) for t in result.turns
               if t.agent.endswith("_A"))
    assert "QUESTION-A?" in c.prompts()[2] or "QUESTION-A?" in c.prompts()[3]  # round 2 answers the question


@pytest.mark.parametrize(("verdicts", "winner"), [({"A": "A", "B": "B"}, "tie"), ({"A": "B", "B": "B"}, "B")])
async def test_the_two_judges_are_votes(verdicts: dict[str, Label], winner: str) -> None:
    result = await run_trial(consultancy(consultant(), judge(verdicts), rounds=1), TRIAL)
    assert result.verdict.winner == winner and result.verdict.stage == "majority"


async def test_one_assigned_side() -> None:
    c, j = consultant(), judge({"A": "B", "B": "B"})
    result = await run_trial(consultancy(c, j, rounds=2, side="A"), TRIAL)
    assert len(c.calls) + len(j.calls) == 4
    assert result.verdict.winner == "B" and result.verdict.agent == "judge_A"
    assert not any(t.agent.endswith("_B") for t in result.turns)


async def test_open_consultancy_chooses_privately() -> None:
    c, j = consultant(), judge({"A": "A", "B": "B"})
    result = await run_trial(consultancy(c, j, rounds=2, side="open"), TRIAL)
    assert len(c.calls) + len(j.calls) == 2 * 2 + 1
    assert result.turns[0].visible_to == ["consultant"] and result.turns[0].phase == "choice"
    assert {t.agent for t in result.turns[1:]} == {"consultant_B", "judge_B"}
    assert "chose to argue" in j.prompts()[-1]


@pytest.mark.parametrize("choices", [("Equal. [[C]]", "Still equal. [[C]]"), ("Hmm.", "No idea."),
                                     (ModelError("provider down"),)])
async def test_open_consultancy_without_a_valid_choice_is_assigned_and_the_judge_is_told(
        choices: tuple[str | Exception, ...]) -> None:
    c, j = consultant(*choices), judge({"A": "A", "B": "B"})
    result = await run_trial(consultancy(c, j, rounds=1, side="open"), TRIAL)
    assert result.verdict.valid and {t.agent for t in result.turns[1:]} == {"consultant_A", "judge_A"}
    (prompt,) = j.prompts()
    assert "was assigned" in prompt and "chose" not in prompt
    choice = result.turns[0]
    assert choice.verdict is not None and not choice.verdict.valid and "assigned side, A" in choice.content
    if len(choices) == 2:  # re-asked once, for a side only
        assert "[[C]]" not in c.calls[1][-1]["content"] and "[[A]] or [[B]]" in c.calls[1][-1]["content"]


async def test_open_consultancy_a_re_asked_choice_counts() -> None:
    c, j = consultant("Equal. [[C]]", "Then B. [[B]]"), judge({"A": "A", "B": "B"})
    result = await run_trial(consultancy(c, j, rounds=1, side="open"), TRIAL)
    assert {t.agent for t in result.turns[1:]} == {"consultant_B", "judge_B"} and result.verdict.winner == "B"
    assert "chose to argue that Response B" in j.prompts()[0]
    assert result.turns[0].usage.calls == 2 and result.turns[0].verdict is not None
    assert set(result.turns[0].templates) == {"advocate_open", "reask"}


async def test_a_misrouted_loop_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consultancy_module, "route", lambda *_: "question")
    result = await run_trial(consultancy(consultant(), judge({"A": "A", "B": "A"}), rounds=1), TRIAL)
    assert result.verdict.status == "error" and "recursion limit" in (result.error or "")


def test_bad_side() -> None:
    with pytest.raises(ValueError, match="side must be"):
        consultancy("scripted:x", "scripted:y", side="C")  # type: ignore[arg-type]
