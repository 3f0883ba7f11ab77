"""Composition: a compiled protocol graph used as a member of another protocol.

Wherever a role takes a model it can often take a protocol instead (a juror that is a debate, a
cascade stage that is a jury, a courtroom whose verdict stage is a jury). :func:`run_member` runs
the sub-protocol on the trial and hands back its verdict and its turns, re-labelled so the parent's
transcript stays readable and its visibility stays honest: ``advocate_A`` inside ``juror_1`` becomes
``juror_1/advocate_A``; a turn the sub-protocol showed to everyone is visible to the sub-protocol's
participants (and the member as a whole), not to the parent's other members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langgraph.pregel import Pregel

from courtgraph.agents.base import ModelLike, as_model
from courtgraph.agents.juror import Vote, verdict_line
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import graph_name, invoke
from courtgraph.models import ChatModel
from courtgraph.schema import EVERYONE, Trial, Turn, Verdict

#: A role player: a model (spec, ChatModel, LangChain model) or a compiled protocol graph.
Member = ModelLike | Graph


def as_member(member: Member) -> ChatModel | Graph:
    return member if isinstance(member, Pregel) else as_model(member)


def in_frame(verdict: Verdict, source: Trial, target: Trial) -> Verdict:
    """A verdict said in ``source``'s shown frame, expressed in ``target``'s (via the trials' own maps)."""
    same = target.to_shown(source.to_case("A")) == "A"
    return verdict if same else verdict.flipped()


def relabel(turns: Sequence[Turn], prefix: str) -> list[Turn]:
    """Sub-protocol turns named ``prefix/agent``, with visibility mapped into the parent's names."""
    inside = sorted({f"{prefix}/{t.agent}" for t in turns})

    def audience(names: list[str]) -> list[str]:
        """Public turns go to the member and its participants; a private note stays with its author."""
        out: list[str] = []
        for n in names:
            out.extend([prefix, *inside] if n == EVERYONE else [f"{prefix}/{n}"])
        return list(dict.fromkeys(out))

    return [t.model_copy(update={
        "agent": f"{prefix}/{t.agent}", "visible_to": audience(t.visible_to),
        "verdict": t.verdict.model_copy(update={"agent": f"{prefix}/{t.verdict.agent or t.agent}"})
        if t.verdict else None}) for t in turns]


async def run_member(graph: Graph, trial: Trial, prefix: str, record: Sequence[Turn] = ()) -> Vote:
    """Run a sub-protocol on ``trial``; its verdict (agent ``prefix``) and its re-labelled new turns.

    ``record`` is passed in as the sub-protocol's starting turns (a jury reads it as the proceedings)
    and is not returned again. A failing sub-protocol is an ``error`` verdict, a failed member that
    fails the parent's trial unless the parent has a quorum rule; the turns it finished before
    failing are kept (their calls were paid for).
    """
    state, error = await invoke(graph, {"trial": trial, "turns": list(record)})
    if error is not None:
        error = f"{prefix} ({graph_name(graph)}): {error}"
    turns = relabel(list(state.get("turns") or [])[len(record):], prefix)
    verdict = state.get("verdict") if error is None else None
    if verdict is None:
        verdict = Verdict.failed(error or f"{prefix}: the protocol returned no verdict")
    return Vote(turns, verdict.model_copy(update={"agent": prefix}))


@dataclass(frozen=True)
class GraphMember:
    """A protocol graph as a voting member (a juror that is a debate, say)."""

    graph: Graph
    name: str
    role: str = "juror"

    async def vote(self, trial: Trial, record: Sequence[Turn], audience: Sequence[str]) -> Vote:
        """The sub-protocol's turns, then one turn by the member that hands its verdict to ``audience``."""
        inner = await run_member(self.graph, trial, self.name, record)
        v = inner.verdict
        handed = Turn(role=self.role, agent=self.name, model=f"protocol:{graph_name(self.graph)}", phase="vote",
                      content=f"{verdict_line(v)}{f' ({v.error})' if v.error else ''}", visible_to=list(audience),
                      verdict=v)
        return Vote([*inner.turns, handed], v)


def draw(graph: Graph, fmt: str = "mermaid") -> str:
    """A protocol graph as mermaid, or as ASCII (LangGraph's drawing when grandalf is installed, else a
    plain edge list: ``-->`` always, ``..>`` one of the targets by the router or a fan-out)."""
    drawn = graph.get_graph()
    if fmt == "mermaid":
        return drawn.draw_mermaid()
    try:
        return drawn.draw_ascii()
    except ImportError:
        pass
    lines = [graph_name(graph)]
    for node in drawn.nodes:
        edges = [e for e in drawn.edges if e.source == node]
        always = [e.target for e in edges if not e.conditional]
        routed = [e.target for e in edges if e.conditional]
        lines += [f"  {node} --> {', '.join(always)}"] if always else []
        lines += [f"  {node} ..> {' | '.join(routed)}"] if routed else []
    return "\n".join(lines)
