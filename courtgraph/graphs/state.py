"""The state every protocol graph shares: a trial in, turns and a verdict out.

``TrialState`` and ``Node`` are defined one layer down, in :mod:`courtgraph.agents.state` (agents build
nodes and may not import graphs), and re-exported here, where protocol code looks for them. ``Graph``,
the compiled protocol type, needs LangGraph and stays here.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from langgraph.pregel import Pregel

from courtgraph.agents.state import Node, TrialState

#: A compiled protocol graph (any LangGraph Pregel over TrialState).
Graph: TypeAlias = Pregel[Any, Any, Any, Any]

__all__ = ["Graph", "Node", "TrialState"]
