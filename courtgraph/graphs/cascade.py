"""Cascade (Trust or Escalate, Jung et al.): a cheap protocol first, a stronger one only when needed.

Each stage but the last judges the trial and, with ``check_swap`` (pairwise cases), the swapped
trial too, inside the cascade; the swapped verdict is mapped back through the trials' own frame
maps (:func:`courtgraph.graphs.compose.in_frame`). The stage decides when both orders agree on a
valid verdict and their mean confidence is at least its threshold (a stage that states no
confidence is judged on agreement alone); otherwise the trial escalates. The last stage decides
whatever it says, unless ``abstain=True``, when it is checked like the others and the cascade
abstains if it fails (TorE's selective evaluation). The verdict's ``stage`` names the stage that
decided; ``votes`` keeps every stage verdict (``stage`` / ``stage[swap]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.build import compile_protocol
from courtgraph.graphs.compose import Member, in_frame, run_member
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.graphs.trial import graph_name
from courtgraph.schema import Turn, Verdict


class CascadeState(TrialState, total=False):
    escalate: bool


def stage_graphs(stages: Sequence[Member | tuple[str, Member]]) -> list[tuple[str, Graph]]:
    """(unique name, graph) per stage; a bare model becomes a single judge."""
    from courtgraph.graphs.single import single

    out: list[tuple[str, Graph]] = []
    for i, item in enumerate(stages):
        label, member = item if isinstance(item, tuple) else (None, item)
        graph = member if isinstance(member, Pregel) else single(member)
        base = label or graph_name(graph)
        out.append((base if base not in {n for n, _ in out} else f"{base}_{i + 1}", graph))
    return out


def trusted(own: Verdict, other: Verdict | None, threshold: float) -> tuple[bool, str]:
    """Whether a stage's verdict may stand, and why not."""
    if not own.valid or (other is not None and not other.valid):
        return False, "no valid verdict"
    if other is not None and other.winner != own.winner:
        return False, f"the orders disagree ({own.winner} / {other.winner} after mapping back)"
    confs = [v.confidence for v in (own, other) if v is not None and v.confidence is not None]
    if confs and sum(confs) / len(confs) < threshold:
        return False, f"confidence {sum(confs) / len(confs):.2f} < {threshold:g}"
    return True, "trusted"


def cascade(stages: Sequence[Member | tuple[str, Member]], *, threshold: float | Sequence[float] = 0.7,
            check_swap: bool = True, abstain: bool = False, name: str = "cascade",
            checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """A cascade over ``stages`` (protocol graphs or models, cheapest first; ``(name, stage)`` to name one).

    Args:
        threshold: confidence needed per stage (one, or one per stage).
        check_swap: also judge the swapped order before trusting a stage.
        abstain: abstain when even the last stage is not trusted.
    """
    named = stage_graphs(stages)
    if not named:
        raise ValueError("a cascade needs at least one stage")
    limits = [float(threshold)] * len(named) if isinstance(threshold, int | float) else [float(t) for t in threshold]
    if len(limits) != len(named):
        raise ValueError(f"{len(limits)} thresholds for {len(named)} stages")

    def node(i: int) -> Any:
        label, graph = named[i]
        checked = i < len(named) - 1 or abstain

        async def run(state: CascadeState) -> dict[str, Any]:
            trial, earlier = state["trial"], state.get("votes", [])
            other = trial.swapped() if checked and check_swap and len(trial.shown) == 2 else None
            runs = [run_member(graph, trial, label)]
            if other is not None:
                runs.append(run_member(graph, other, f"{label}[swap]"))
            done = await gather_all(*runs)
            own = done[0].verdict.model_copy(update={"stage": label})
            back = in_frame(done[1].verdict, other, trial).model_copy(update={"stage": f"{label}[swap]"}) \
                if other is not None else None
            ok, why = trusted(own, back, limits[i]) if checked else (True, "last stage")
            votes = [own, *([back] if back else [])]
            last = i == len(named) - 1
            note = Turn(role="cascade", agent=name, model="rule:cascade", phase="escalation",
                        content=f"{label}: {why}; " + ("decides" if ok else "abstains" if last else "escalates"))
            update: dict[str, Any] = {"turns": [t for d in done for t in d.turns] + [note], "votes": votes,
                                      "escalate": not ok}
            if ok or last:
                final = own if ok else Verdict(status="abstain", error=f"no stage trusted: {why}", agent=name)
                update["verdict"] = final.model_copy(update={"stage": label, "votes": [*earlier, *votes]})
            return update

        return run

    g = StateGraph(CascadeState)
    for i, (label, _) in enumerate(named):
        g.add_node(label, node(i))
        nxt = named[i + 1][0] if i + 1 < len(named) else END
        if nxt == END:
            g.add_edge(label, END)
        else:
            g.add_conditional_edges(label, lambda s, nxt=nxt: nxt if s.get("escalate") else END, [nxt, END])
    g.add_edge(START, named[0][0])
    return compile_protocol(g, name=name, recursion_limit=len(named) + 3, checkpointer=checkpointer, store=store)
