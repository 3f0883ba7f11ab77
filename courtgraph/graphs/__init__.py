"""Protocol graphs: each a function returning a compiled LangGraph graph over one trial.

Every name is imported on first use (PEP 562), which keeps ``import courtgraph`` light and lets agent
modules import :mod:`courtgraph.graphs.state` without an import cycle. The exported names are listed
once, in :data:`courtgraph._api.PUBLIC_API`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from courtgraph._lazy import package_exports

if TYPE_CHECKING:
    from courtgraph.graphs.cascade import cascade as cascade
    from courtgraph.graphs.compose import Member as Member
    from courtgraph.graphs.compose import run_member as run_member
    from courtgraph.graphs.consultancy import consultancy as consultancy
    from courtgraph.graphs.courtroom import courtroom as courtroom
    from courtgraph.graphs.debate import debate as debate
    from courtgraph.graphs.jury import jury as jury
    from courtgraph.graphs.more import more as more
    from courtgraph.graphs.panel import panel as panel
    from courtgraph.graphs.registry import Roles as Roles
    from courtgraph.graphs.registry import build_protocol as build_protocol
    from courtgraph.graphs.samre import samre as samre
    from courtgraph.graphs.single import single as single
    from courtgraph.graphs.state import Node as Node
    from courtgraph.graphs.state import TrialState as TrialState
    from courtgraph.graphs.trial import judge_case as judge_case
    from courtgraph.graphs.trial import make_record as make_record
    from courtgraph.graphs.trial import run_trial as run_trial

__getattr__, __all__ = package_exports(__name__)
