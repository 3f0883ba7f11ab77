"""The state a protocol's nodes read and write: a trial in, turns and a verdict out.

It lives in the agents layer because agents build nodes (``judge`` returns a :class:`Node`) and must
not import the graphs that assemble them; ``courtgraph.graphs.state`` re-exports both names, so
protocol code keeps importing them from there.

A protocol is any compiled LangGraph graph that reads ``trial`` and writes ``verdict`` (in the
trial's shown frame) and appends ``turns``. That contract is what lets one protocol be a node of
another (a jury of debates, a cascade of protocols). Protocols may add keys of their own by
subclassing :class:`TrialState`.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Protocol, TypedDict

from courtgraph.schema import Trial, Turn, Verdict


class TrialState(TypedDict, total=False):
    trial: Trial
    turns: Annotated[list[Turn], operator.add]
    verdict: Verdict
    votes: Annotated[list[Verdict], operator.add]  # member verdicts collected by a fan-out


class Node(Protocol):
    """A graph node: reads the state, returns the keys it updates."""

    async def __call__(self, state: TrialState) -> dict[str, Any]: ...


__all__ = ["Node", "TrialState"]
