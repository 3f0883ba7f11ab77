"""Courtroom (AgentCourt, AgenticSimLaw): prosecutor and defender in phases, witnesses, then a ruling.

Framing. Pointwise (one response): the prosecutor argues the response is not correct and adequate,
the defender that it is; the ruling is a score on ``scale``. Pairwise: Response A (the one shown
first) is in the dock; the prosecutor argues it is the worse of the two (B is better), the defender
that it is the better. One trial per order, as the harness runs them, puts each candidate in the
dock once, at the cost of one debate-sized trial (two mini-trials per order would double it).

Phases: openings (prosecutor, then defender; each may end with ``WITNESS: name: question`` to call
one expert from ``witnesses``), evidence (the called witnesses answer, in parallel, within their
expertise), ``rebuttals`` rounds, closings, then the verdict stage: a judge model whose ruling cites
the record, or a protocol graph (e.g. a jury) that reads the public record. Advocates' private
``<thinking>`` stays in turns only their author sees; witnesses and advocates may see the hidden
context, the verdict stage does not. Calls: 4 + 2 x rebuttals + witnesses called + the verdict stage's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.advocate import Advocate, court_framing
from courtgraph.agents.base import Facts, ModelLike, Speaker, as_model, context_vars, decide, transcript_text
from courtgraph.agents.juror import decision_kind, verdict_vars
from courtgraph.agents.specialist import CALL_LINE, WITNESSES, described, testify, witness_calls
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.build import compile_protocol
from courtgraph.graphs.compose import Member, as_member, run_member
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.graphs.trial import graph_name
from courtgraph.models import ChatModel
from courtgraph.prompts import load_prompt
from courtgraph.schema import Turn, visible_turns


class CourtState(TrialState, total=False):
    round: int


def courtroom(prosecutor: ModelLike, defender: ModelLike, judge: Member, *, witness: ModelLike | None = None,
              witnesses: Sequence[str] | Mapping[str, str] = tuple(WITNESSES), rebuttals: int = 1,
              word_limit: int | None = 200, scale: tuple[float, float] = (1, 10), reference: bool = False,
              name: str = "courtroom", checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """A courtroom graph. ``judge``: a model (presiding judge) or a protocol graph such as a jury.

    ``witness`` is the witnesses' model (default: the judge's model); ``witnesses`` names them (see
    :data:`courtgraph.agents.specialist.WITNESSES`) or maps names to their expertise, in the third person
    ("Checks the SQL against the schema."); empty means no evidence phase. ``word_limit`` applies to
    the arguments: an opening's witness call is kept after the cut.

    Args:
        witnesses: the expert witnesses called (none: no evidence phase).
        rebuttals: rebuttal rounds.
        word_limit: words per statement, truncated.
        scale: pointwise scale.
        reference: show the reference answer.
    """
    if rebuttals < 0:
        raise ValueError("rebuttals must be >= 0")
    experts = described(witnesses, WITNESSES, "witnesses")
    bench = as_member(judge)
    if experts and witness is None and isinstance(bench, Pregel):
        raise ValueError("courtroom: give witness= (a model) when the verdict stage is a protocol graph")
    expert = as_model(witness) if witness is not None else bench if isinstance(bench, ChatModel) else None
    sides = {"prosecutor": as_model(prosecutor), "defender": as_model(defender)}
    roster = "; ".join(f"{n} ({d})" for n, d in experts.items())
    call_rule = (f"\n\nYou may call one expert witness, who answers a question of yours under oath: end your opening "
                 f"with one line 'WITNESS: <name>: <your question>', where <name> is one of: {roster}. "
                 "Write 'WITNESS: none' to call no one.") if experts else ""

    async def statements(state: CourtState, phase: str, r: int | None = None) -> list[Turn]:
        """The prosecutor's, then the defender's statement (the defender hears the prosecutor's first)."""
        trial, out = state["trial"], list[Turn]()
        opening = phase == "opening"
        for role, model in sides.items():
            seen = visible_turns([*state.get("turns", []), *out], role)
            values = {**verdict_vars(trial, decision_kind(trial), scale, reference=reference), **context_vars(trial),
                      **court_framing(trial, role), "transcript": transcript_text(seen), "phase": phase,
                      "call_rule": call_rule if opening else ""}
            speaker = Advocate(model, role, role, "advocate_courtroom", word_limit)
            facts = Facts(side="B" if role == "prosecutor" else "A") if len(trial.shown) == 2 else \
                Facts(stance="against" if role == "prosecutor" else "for")  # A is in the dock
            if opening and experts:
                facts["roster"] = experts
            out += await speaker.argue(values, round=r, phase=phase, keep=CALL_LINE if opening and experts else None,
                                       trial=trial, facts=facts)
        return out

    async def opening(state: CourtState) -> dict[str, Any]:
        return {"turns": await statements(state, "opening")}

    async def evidence(state: CourtState) -> dict[str, Any]:
        if expert is None:
            return {"turns": []}
        openings = [t for t in state.get("turns", []) if t.phase == "opening" and t.agent in sides]
        called = witness_calls(openings, experts)
        testimony = await gather_all(*(testify(expert, state["trial"], w, experts[w], q, caller,
                                               reference=reference) for w, q, caller in called))
        return {"turns": testimony}

    async def rebuttal(state: CourtState) -> dict[str, Any]:
        r = state.get("round", 0) + 1
        return {"turns": await statements(state, "rebuttal", r), "round": r}

    async def closing(state: CourtState) -> dict[str, Any]:
        return {"turns": await statements(state, "closing")}

    async def verdict(state: CourtState) -> dict[str, Any]:
        trial, turns = state["trial"], state.get("turns", [])
        if isinstance(bench, Pregel):
            stage = graph_name(bench)
            vote = await run_member(bench, trial, stage, visible_turns(turns, stage))
            return {"turns": vote.turns, "verdict": vote.verdict}
        template = load_prompt("judge_courtroom")
        kind = decision_kind(trial)
        values = verdict_vars(trial, kind, scale, reference=reference) | court_framing(trial) | {
            "transcript": transcript_text(visible_turns(turns, "judge"))}
        who = Speaker(agent="judge", role="judge", phase="verdict", prompt=template, trial=trial,
                      facts=Facts(setting="courtroom"))
        turn = await decide(bench, template.render(**values), who, kind=kind, scale=scale)
        return {"turns": [turn], "verdict": turn.verdict}

    g = StateGraph(CourtState)
    for node, fn in (("opening", opening), ("evidence", evidence), ("rebuttal", rebuttal), ("closing", closing),
                     ("verdict", verdict)):
        g.add_node(node, fn)
    g.add_edge(START, "opening")
    g.add_edge("opening", "evidence")
    g.add_conditional_edges("evidence", lambda s: route(s, rebuttals), ["rebuttal", "closing"])
    g.add_conditional_edges("rebuttal", lambda s: route(s, rebuttals), ["rebuttal", "closing"])
    g.add_edge("closing", "verdict")
    g.add_edge("verdict", END)
    return compile_protocol(g, name=name, recursion_limit=rebuttals + 6, checkpointer=checkpointer, store=store)


def route(state: CourtState, rebuttals: int) -> Literal["rebuttal", "closing"]:
    """Another rebuttal round, or on to the closings."""
    return "rebuttal" if state.get("round", 0) < rebuttals else "closing"
