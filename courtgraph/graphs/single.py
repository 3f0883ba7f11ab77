"""The single-judge protocol: one judge, one call (two for pointwise scoring of a pair).

The baseline every other protocol is compared with. Swapping the order is the harness's job.
"""

from __future__ import annotations

import inspect
from typing import TypeGuard

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.base import ModelLike
from courtgraph.agents.judge import Mode, judge
from courtgraph.graphs.build import compile_protocol
from courtgraph.graphs.state import Graph, Node, TrialState
from courtgraph.prompts import Prompt


def is_node(obj: object) -> TypeGuard[Node]:
    """A ready node (an async function of the state), as opposed to a model or a LangChain runnable."""
    return inspect.iscoroutinefunction(obj)


def single(model: ModelLike | Node, *, mode: Mode = "pairwise", reference: bool = False,
           scale: tuple[float, float] = (1, 10), tie_delta: float = 0.0,
           prompt: str | Prompt | None = None, name: str = "single",
           checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """One judge over one trial. ``model`` is a model (spec, ChatModel, LangChain model) or a ready node.

    Args:
        mode: a verdict between two responses, or a score for each.
        reference: show the reference answer.
        scale: pointwise scale.
        tie_delta: pointwise: score gap counted as a tie.
        prompt: the judge's prompt template, by name or as a file (default: the mode's).
    """
    node: Node = model if is_node(model) else \
        judge(model, mode=mode, reference=reference, scale=scale, tie_delta=tie_delta, prompt=prompt)
    g = StateGraph(TrialState)
    g.add_node("judge", node)
    g.add_edge(START, "judge")
    g.add_edge("judge", END)
    return compile_protocol(g, name=name, recursion_limit=5, checkpointer=checkpointer, store=store)
