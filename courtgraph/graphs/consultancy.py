"""Consultancy (Khan et al. 2024; Kenton et al. 2024): a consultant argues one side to a questioning judge.

Round 1 is the consultant's case; in each later round the judge asks a question and the consultant
answers; then the judge decides (calls per consultation: 2R). ``side``:

* ``"A"`` or ``"B"``: one consultation, the consultant assigned to that response;
* ``"both"`` (default): one consultation per side, run in parallel inside the trial, each in its
  own room (``consultant_A``/``judge_A`` never see ``consultant_B``/``judge_B``); the two judge
  verdicts are votes combined by majority: agreeing judges decide, a judge persuaded by each
  consultant in turn gives a tie. Khan's harness runs the correct and incorrect assignment
  separately; this puts both in one trial, and the harness's two orders cover each order;
* ``"open"``: the consultant first chooses its side in a private turn (Kenton's open consultancy);
  with no valid choice it argues A, and the judge is told that side was assigned, not chosen.

The judge never sees the hidden context, and is told the consultant may argue for the worse side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.advocate import choose_side
from courtgraph.agents.aggregator import majority
from courtgraph.agents.base import ModelLike, as_model
from courtgraph.agents.consultant import Consultation
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.build import compile_protocol
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.schema import Label, Turn

Side = Literal["A", "B", "both", "open"]


class ConsultancyState(TrialState, total=False):
    round: int
    open_side: Label  # open consultancy: the side the consultant argues
    chosen: bool  # whether it chose that side (False: its choice failed and it was assigned)


def consultancy(consultant: ModelLike, judge: ModelLike, *, rounds: int = 3, side: Side = "both",
                word_limit: int | None = 200, name: str = "consultancy",
                checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """A consultancy graph (see the module docstring for ``side``).

    Args:
        rounds: rounds, a judge question before each after the first.
        side: the side the consultant argues; both: once per side, the verdicts combined.
        word_limit: words per answer, truncated.
    """
    if rounds < 1:
        raise ValueError("a consultancy needs at least one round")
    if side not in ("A", "B", "both", "open"):
        raise ValueError(f"side must be A, B, both or open, not {side!r}")
    adviser, bench = as_model(consultant), as_model(judge)

    def rooms(state: ConsultancyState) -> list[Consultation]:
        sides: list[Label] = ["A", "B"] if side == "both" else [state.get("open_side", "A")] if side == "open" \
            else [side]
        return [Consultation(adviser, bench, s, rounds, word_limit, chosen=state.get("chosen", False)) for s in sides]

    async def each(state: ConsultancyState, act: Callable[[Consultation], Awaitable[Turn | list[Turn]]]) -> list[Turn]:
        """``act`` in every room at once, the turns flattened in room order."""
        done = await gather_all(*(act(room) for room in rooms(state)))
        return [t for d in done for t in (d if isinstance(d, list) else [d])]

    async def choose(state: ConsultancyState) -> dict[str, Any]:
        choice = await choose_side(adviser, state["trial"], "consultant", "consultant")
        return {"turns": [choice.turn], "open_side": choice.side, "chosen": choice.chosen}

    async def argue(state: ConsultancyState) -> dict[str, Any]:
        r, trial, turns = state.get("round", 0) + 1, state["trial"], state.get("turns", [])
        return {"turns": await each(state, lambda room: room.argue(trial, turns, r)), "round": r}

    async def question(state: ConsultancyState) -> dict[str, Any]:
        r, trial, turns = state.get("round", 0) + 1, state["trial"], state.get("turns", [])
        return {"turns": await each(state, lambda room: room.ask(trial, turns, r))}

    async def verdict(state: ConsultancyState) -> dict[str, Any]:
        trial, turns = state["trial"], state.get("turns", [])
        decided = await each(state, lambda room: room.decide(trial, turns))
        votes = [t.verdict for t in decided if t.verdict is not None]
        return {"turns": decided, "verdict": votes[0] if len(votes) == 1 else majority(votes)}

    g = StateGraph(ConsultancyState)
    g.add_node("argue", argue)
    g.add_node("question", question)
    g.add_node("judge", verdict)
    if side == "open":
        g.add_node("choose", choose)
        g.add_edge(START, "choose")
        g.add_edge("choose", "argue")
    else:
        g.add_edge(START, "argue")
    g.add_conditional_edges("argue", lambda s: route(s, rounds), ["question", "judge"])
    g.add_edge("question", "argue")
    g.add_edge("judge", END)
    return compile_protocol(g, name=name, recursion_limit=2 * rounds + 4, checkpointer=checkpointer, store=store)


def route(state: ConsultancyState, rounds: int) -> Literal["question", "judge"]:
    """After the consultant speaks: the judge's next question, or its verdict after the last round."""
    return "judge" if state.get("round", 0) >= rounds else "question"
