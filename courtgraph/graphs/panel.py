"""Specialist panel (M-MAD): one specialist per dimension, then an aggregator combines the dimensions.

Each specialist judges only its dimension (correctness, reasoning, completeness,
instruction-following, safety, or any ``name -> description`` given), in parallel, without seeing
the others. The aggregator is a stated rule over the dimension votes (``majority``, ``weighted`` with
per-dimension ``weights``, ``strict``, or ``mean`` for pointwise scores), in which a dimension that
ties abstains rather than outvoting the dimensions that discriminate, or a model that synthesizes
the dimension verdicts (M-MAD's final judge). Calls: one per dimension (+1 for an LLM aggregator).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from courtgraph.agents.aggregator import make_aggregator
from courtgraph.agents.base import ModelLike, as_model
from courtgraph.agents.juror import JurorMode
from courtgraph.agents.specialist import DIMENSIONS, described, specialist
from courtgraph.graphs.jury import voting_graph
from courtgraph.graphs.state import Graph


def panel(specialists: ModelLike | Mapping[str, ModelLike], *,
          dimensions: Sequence[str] | Mapping[str, str] = tuple(DIMENSIONS), aggregate: str | ModelLike = "majority",
          weights: Mapping[str, float] | None = None, mode: JurorMode = "pairwise",
          scale: tuple[float, float] = (1, 10), tie_delta: float = 0.0, reference: bool = False,
          name: str = "panel", checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """A panel graph. ``specialists``: one model for all, or a mapping dimension -> model.

    Args:
        dimensions: dimension names, or name -> description.
        aggregate: a rule (majority, weighted, strict, mean) or a model combining them.
        weights: per-dimension weights.
        mode: specialists give a verdict between two responses, or a score for each.
        scale: pointwise scale.
        tie_delta: pointwise: score gap counted as a tie.
        reference: show the reference answer.
    """
    dims = described(dimensions, DIMENSIONS, "dimensions")
    if isinstance(specialists, Mapping):
        missing = sorted(set(dims) - set(specialists))
        if missing:
            raise ValueError(f"{name}: no specialist model for {missing}")
    voters = [specialist(as_model(specialists[d] if isinstance(specialists, Mapping) else specialists), d, text,
                         mode=mode, scale=scale, tie_delta=tie_delta, reference=reference)
              for d, text in dims.items()]
    agg = make_aggregator(aggregate, weights=[weights.get(d, 1.0) for d in dims] if weights else None,
                          tie_delta=tie_delta, ties=False, prompt="aggregator_panel", scale=scale, reference=reference,
                          mode=mode)
    return voting_graph(voters, agg, name=name, checkpointer=checkpointer, store=store)
