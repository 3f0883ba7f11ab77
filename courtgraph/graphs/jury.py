"""Jury (PoLL; ChatEval for deliberation): N jurors vote in parallel, an aggregator decides.

Round 0 runs every juror as a node of its own (named after the juror: ``juror_1``, ``juror_2``...;
see :func:`voter_nodes`), all started from START in one step: each judges alone and never sees
another juror (they all read the state as it was before any of them voted). Static nodes rather than
a ``Send`` fan-out: the same parallel step, the jurors' names in streams and drawings, and less of
LangGraph's CPU per trial (``benchmarks/drivers.py floor``: ``static3`` against ``fanout3``). With
``rounds`` R > 0 the jurors then deliberate for R rounds: each reads the others' latest
verdicts and rationales and may revise. ``simultaneous``: everyone reads the previous round;
``one-by-one``: within a shared round a juror also reads the revisions made before it. The final
round is private in both (ChatEval's blind judges): a final vote is seen only by its juror and the
aggregator. The aggregator is a rule (``majority``, ``strict``, ``weighted``, ``mean``; see
:mod:`courtgraph.agents.aggregator`) or a model (a presiding judge). A juror may be a protocol graph
(a jury of debates); a jury given a record (input ``turns``, e.g. a courtroom's) lets jurors read it.
A juror whose call fails for good fails the trial (a resume runs it again) unless ``quorum`` says how
many answering jurors suffice; a verdict reached with members missing says so in ``Verdict.quorum``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.aggregator import AGENT, Aggregator, check_quorum, make_aggregator, member_quorum, quorum_failure
from courtgraph.agents.base import ModelLike
from courtgraph.agents.juror import Juror, JurorMode, Vote
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.build import compile_protocol
from courtgraph.graphs.compose import GraphMember, Member, as_member
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.schema import Trial, Turn, Verdict, visible_turns

#: How jurors deliberate: all read the previous round, or each also reads the revisions before it.
Deliberation = Literal["simultaneous", "one-by-one"]


class Voter(Protocol):
    @property
    def name(self) -> str: ...

    async def vote(self, trial: Trial, record: Sequence[Turn], audience: Sequence[str]) -> Vote: ...


class JuryState(TrialState, total=False):
    round: int


#: Node names a voter cannot take: the jury's own nodes.
_TAKEN = frozenset({"aggregate", "deliberate", START, END})


def voter_nodes(names: Sequence[str]) -> list[str]:
    """The node of each voter: its own name, so that streams and drawings say who voted.

    LangGraph applies the writes of one step in the order of its nodes' names, and the transcript
    keeps the voters in roster order (as a fan-out did): so the names are used as they are only when
    they sort in roster order and can be nodes (not a jury node's name, no ``|`` or ``:``, LangGraph's
    separators, no leading ``__``); otherwise each node is ``vote_<i>_<name>``, ``i`` zero-padded
    (``vote_1_correctness``, ``vote_2_reasoning`` for a panel; ``vote_01_juror_1`` in a jury of ten).
    """
    usable = all(n not in _TAKEN and not n.startswith("__") and "|" not in n and ":" not in n for n in names)
    if usable and list(names) == sorted(names):
        return list(names)
    width = len(str(len(names)))
    return [f"vote_{i + 1:0{width}d}_{n.replace('|', '_').replace(':', '_')}" for i, n in enumerate(names)]


def proceedings(names: Sequence[str]) -> Callable[[list[Turn], str], list[Turn]]:
    """What a voter may read of a trial's turns: the proceedings given to the jury (a courtroom's record),
    not the voters' own turns (``juror_1``, ``juror_1[A]``, ``juror_1/advocate_A``), as ``viewer`` sees them."""
    members = frozenset(names)

    def own(agent: str) -> bool:
        return agent.split("/", 1)[0].split("[", 1)[0] in members

    def record(turns: list[Turn], viewer: str) -> list[Turn]:
        return visible_turns([t for t in turns if not own(t.agent)], viewer) if turns else []

    return record


def voting_graph(voters: Sequence[Voter], aggregator: Aggregator, *, rounds: int = 0,
                 deliberation: Deliberation = "simultaneous", name: str = "jury", quorum: int | None = None,
                 checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """Run ``voters`` in parallel (one node each), optionally deliberate, aggregate. Shared by the jury and
    the panel.

    ``quorum``: how many voters must answer for a verdict (default: all; see
    :func:`~courtgraph.agents.aggregator.member_quorum`). A voter that failed takes no further part.
    """
    names = [v.name for v in voters]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"{name}: voters need distinct names, got {names}")
    check_quorum(quorum, len(names), name)
    jurors = [v for v in voters if isinstance(v, Juror)]
    if rounds and len(jurors) != len(voters):
        raise ValueError(f"{name}: deliberation needs model jurors (a protocol cannot revise its vote)")
    record = proceedings(names)

    def cast(voter: Voter) -> Any:
        """The node of one voter: its first vote, on the proceedings it may read."""
        audience = list(names) if rounds else [voter.name, AGENT]  # a final vote: itself and the aggregator

        async def vote(state: JuryState) -> dict[str, Any]:
            v = await voter.vote(state["trial"], record(state.get("turns", []), voter.name), audience)
            return {"turns": v.turns, "votes": [v.verdict]}

        return vote

    async def deliberate(state: JuryState) -> dict[str, Any]:
        r, trial = state.get("round", 0) + 1, state["trial"]
        final = r == rounds
        current = latest(state.get("votes", []), names)
        if member_quorum(ballots(current, names), quorum)[0]:  # the trial fails: no more calls to pay for
            return {"round": rounds}
        talking = [j for j in jurors if current[j.name].status != "error"]
        results: list[Vote] = []

        async def one(j: Juror, seen: dict[str, Verdict]) -> Vote:
            peers = [seen[n] for n in names if n != j.name and seen[n].status != "error"]
            return await j.revise(trial, record(state.get("turns", []), j.name), seen[j.name], peers,
                                  round=r, final=final,
                                  audience=[j.name, AGENT] if final else names)

        if deliberation == "simultaneous" or final:  # a final vote is private: nobody reads it before voting
            results = await gather_all(*(one(j, current) for j in talking))
        else:
            for j in talking:
                results.append(await one(j, current))
                current = {**current, j.name: results[-1].verdict}
        return {"turns": [t for v in results for t in v.turns], "votes": [v.verdict for v in results], "round": r}

    async def aggregate(state: JuryState) -> dict[str, Any]:
        votes = ballots(latest(state.get("votes", []), names), names)
        failure, note = member_quorum(votes, quorum)
        turn = quorum_failure(votes, failure) if failure else await aggregator(state["trial"], votes)
        if note and turn.verdict is not None and turn.verdict.valid:
            verdict = turn.verdict.model_copy(update={"quorum": note})
            turn = turn.model_copy(update={"verdict": verdict, "content": f"{turn.content}\n\nDecided under the "
                                                                          f"quorum rule: {note}"})
        return {"turns": [turn], "verdict": turn.verdict}

    def after_deliberation(state: JuryState) -> Literal["deliberate", "aggregate"]:
        return "deliberate" if state.get("round", 0) < rounds else "aggregate"

    g = StateGraph(JuryState)
    after = "deliberate" if rounds else "aggregate"
    for voter, node in zip(voters, voter_nodes(names), strict=True):
        g.add_node(node, cast(voter))
        g.add_edge(START, node)
        g.add_edge(node, after)  # all voters finish in the one step they start in: ``after`` runs once
    g.add_node("aggregate", aggregate)
    if rounds:
        g.add_node("deliberate", deliberate)
        g.add_conditional_edges("deliberate", after_deliberation)
    g.add_edge("aggregate", END)
    return compile_protocol(g, name=name, recursion_limit=rounds + 4, checkpointer=checkpointer, store=store)


def latest(votes: Sequence[Verdict], names: Sequence[str]) -> dict[str, Verdict]:
    """Each member's most recent vote."""
    return {v.agent: v for v in votes if v.agent is not None and v.agent in names}


def ballots(got: dict[str, Verdict], names: Sequence[str]) -> list[Verdict]:
    """One vote per member in roster order; a member with no vote at all counts as failed."""
    return [got.get(n) or Verdict.failed("no vote", agent=n) for n in names]


def members(items: Member | Sequence[Member], n: int | None, what: str) -> list[Any]:
    """A list of members, or one member repeated ``n`` times (3 by default)."""
    if isinstance(items, list | tuple):
        if n is not None and n != len(items):
            raise ValueError(f"{what}: n={n} but {len(items)} given")
        return list(items)
    return [items] * (3 if n is None else n)


def jury(jurors: Member | Sequence[Member], *, n: int | None = None, aggregate: str | ModelLike = "majority",
         weights: Sequence[float] | None = None, rounds: int = 0, deliberation: Deliberation = "simultaneous",
         personas: Sequence[str] | None = None, mode: JurorMode = "pairwise", scale: tuple[float, float] = (1, 10),
         tie_delta: float = 0.0, reference: bool = False, sequential: bool = False, wave: int = 1,
         quorum: int | None = None, name: str = "jury", checkpointer: Checkpointer = None,
         store: BaseStore | None = None) -> Graph:
    """A jury of ``jurors`` (models or protocol graphs; one member is repeated ``n`` times).

    ``quorum=2`` (of 3): decide when at least 2 jurors answered; by default a juror whose call fails
    for good fails the trial, so the run's record is marked failed and ``--resume`` runs it again.

    Calls per trial without deliberation: one per juror (two for a pointwise juror on a pair), plus
    one for an LLM aggregator (none for a rule). Each deliberation round adds one call per juror.

    Args:
        n: jurors when one member is given (3 when not given).
        aggregate: a rule (majority, strict, weighted, mean) or a model presiding.
        weights: per-juror weights for weighted/mean (default: each juror's confidence).
        rounds: deliberation rounds.
        deliberation: all jurors read the previous round, or each also the revisions before it.
        personas: one role description per juror.
        mode: jurors give a verdict between two responses, or a score for each.
        scale: pointwise scale.
        tie_delta: pointwise: score gap counted as a tie.
        reference: show the reference answer.
        sequential: call jurors in turn and stop once the rule's verdict is decided (majority or strict).
        wave: jurors called at a time when sequential.
        quorum: decide when at least this many jurors answered (all: a failed juror fails the trial); when
            sequential, a failed juror counts against it.
    """
    items = members(jurors, n, name)
    if personas is not None and len(personas) != len(items):
        raise ValueError(f"{name}: {len(personas)} personas for {len(items)} jurors")
    voters: list[Voter] = []
    for i, item in enumerate(items):
        who, player = f"juror_{i + 1}", as_member(item)
        voters.append(GraphMember(player, who) if isinstance(player, Pregel) else
                      Juror(player, who, persona=personas[i] if personas else "", mode=mode, scale=scale,
                            tie_delta=tie_delta, reference=reference))
    if sequential:  # early stopping: courtgraph.graphs.sequential
        from courtgraph.graphs.sequential import sequential_graph

        if rounds or mode != "pairwise" or not isinstance(aggregate, str):
            raise ValueError(f"{name}: sequential voting needs pairwise jurors, no deliberation and a count rule")
        return sequential_graph(voters, aggregate, wave=wave, name=name, quorum=quorum)
    agg = make_aggregator(aggregate, weights=weights, tie_delta=tie_delta, scale=scale, reference=reference,
                          mode=mode)
    return voting_graph(voters, agg, rounds=rounds, deliberation=deliberation, name=name, quorum=quorum,
                        checkpointer=checkpointer, store=store)
