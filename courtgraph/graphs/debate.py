"""Debate (Khan et al. 2024; Kenton et al. 2024): two advocates argue over R rounds, then a judge decides.

``advocate_A`` argues that Response A is better, ``advocate_B`` that B is. ``simultaneous``: both
write each round seeing only earlier rounds; ``sequential``: B also sees A's argument of the current
round (the harness's other order puts the other candidate first). Arguments are truncated to
``word_limit`` words and private ``<thinking>`` is split off (see :mod:`courtgraph.agents.advocate`).
``open=True`` follows Kenton's open debate: the protagonist (the first debater model) first chooses,
in a private turn, the side it believes in ([[A]] or [[B]]; with no valid choice it argues A, as
in a closed debate); the antagonist takes the other side. Names stay by side, so the judge cannot
tell which side was chosen, and is never told that one was. ``interactive=True``: from round 2 on the judge asks
each advocate a question (one call per round) before they speak. The advocates see the hidden
context; the judge never does. Calls: 2R + 1, plus R - 1 if interactive, plus 1 if open (2 if its choice is re-asked).
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.advocate import Advocate, choose_side
from courtgraph.agents.base import (
    Facts,
    ModelLike,
    Speaker,
    as_model,
    case_vars,
    context_vars,
    decide,
    speak,
    transcript_text,
)
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.build import compile_protocol
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.prompts import load_prompt
from courtgraph.schema import Label, Trial, Turn, flip_label, visible_turns

#: How the advocates speak in a round: at once, or B after reading A's argument.
Speaking = Literal["simultaneous", "sequential"]


class DebateState(TrialState, total=False):
    round: int
    protagonist: Label  # open debate: the side the protagonist chose


def pair(models: ModelLike | tuple[ModelLike, ModelLike] | list[ModelLike]) -> tuple[ModelLike, ModelLike]:
    """One model for both sides, or (first, second)."""
    if isinstance(models, tuple | list):
        if len(models) != 2:
            raise ValueError(f"expected one model or two, got {len(models)}")
        return models[0], models[1]
    return models, models


def debate(debaters: ModelLike | tuple[ModelLike, ModelLike], judge: ModelLike, *, rounds: int = 3,
           speaking: Speaking = "simultaneous", word_limit: int | None = 150, open: bool = False,
           interactive: bool = False, name: str = "debate",
           checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """A debate graph. ``debaters``: one model for both advocates, or (for A / protagonist, for B / antagonist).

    Args:
        rounds: argument rounds.
        speaking: both advocates speak at once each round, or B after reading A.
        word_limit: words per argument, truncated.
        open: the protagonist chooses its side.
        interactive: the judge questions both advocates from round 2.
    """
    if rounds < 1:
        raise ValueError("a debate needs at least one round")
    first, second = (as_model(m) for m in pair(debaters))
    bench = as_model(judge)

    def values(trial: Trial, turns: list[Turn], viewer: str, r: int) -> dict[str, str]:
        return case_vars(trial) | {"transcript": transcript_text(visible_turns(turns, viewer)),
                                   "round": str(r), "rounds": str(rounds)}

    async def choose(state: DebateState) -> dict[str, Any]:
        choice = await choose_side(first, state["trial"], "protagonist", "advocate")
        return {"turns": [choice.turn], "protagonist": choice.side}  # no valid choice: sides as assigned

    async def argue(state: DebateState) -> dict[str, Any]:
        r, trial, turns = state.get("round", 0) + 1, state["trial"], state.get("turns", [])
        players = {"A": first, "B": second} if state.get("protagonist", "A") == "A" else {"A": second, "B": first}

        async def one(side: Label, seen: list[Turn]) -> list[Turn]:
            agent = Advocate(players[side], f"advocate_{side}", "advocate", "advocate_debate", word_limit)
            extra = {"side": side, "opponent": str(flip_label(side))} | context_vars(trial)
            return await agent.argue(values(trial, seen, agent.name, r) | extra, round=r, phase="argument",
                                     trial=trial, facts=Facts(side=side, asked=interactive and r > 1))

        if speaking == "simultaneous":
            a, b = await gather_all(one("A", turns), one("B", turns))
        else:
            a = await one("A", turns)
            b = await one("B", turns + a)
        return {"turns": a + b, "round": r}

    async def question(state: DebateState) -> dict[str, Any]:
        template, r = load_prompt("judge_debate_question"), state.get("round", 0) + 1
        who = Speaker(agent="judge", role="judge", round=r, phase="question", prompt=template, trial=state["trial"],
                      facts=Facts(act="ask", setting="debate", addressees={"advocate_A": "A", "advocate_B": "B"}))
        turn = await speak(bench, template.render(**values(state["trial"], state.get("turns", []), "judge", r)), who)
        return {"turns": [turn]}

    async def verdict(state: DebateState) -> dict[str, Any]:
        template = load_prompt("judge_debate")
        who = Speaker(agent="judge", role="judge", phase="verdict", prompt=template, trial=state["trial"],
                      facts=Facts(setting="debate"))
        turn = await decide(bench, template.render(**values(state["trial"], state.get("turns", []), "judge", rounds)),
                            who)
        return {"turns": [turn], "verdict": turn.verdict}

    g = StateGraph(DebateState)
    g.add_node("argue", argue)
    g.add_node("judge", verdict)
    if open:
        g.add_node("choose", choose)
        g.add_edge(START, "choose")
        g.add_edge("choose", "argue")
    else:
        g.add_edge(START, "argue")
    if interactive:
        g.add_node("question", question)
        g.add_edge("question", "argue")
    g.add_conditional_edges("argue", lambda s: route(s, rounds, interactive),
                            ["question", "argue", "judge"] if interactive else ["argue", "judge"])
    g.add_edge("judge", END)
    return compile_protocol(g, name=name, recursion_limit=2 * rounds + 4, checkpointer=checkpointer, store=store)


def route(state: DebateState, rounds: int, interactive: bool) -> Literal["question", "argue", "judge"]:
    """After a round of arguments: another round (after the judge's questions, if interactive) or the verdict."""
    if state.get("round", 0) >= rounds:
        return "judge"
    return "question" if interactive else "argue"
