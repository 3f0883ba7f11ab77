"""The direct path for one-node graphs gives what Pregel gives, and is refused wherever it could differ."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph

from courtgraph.graphs.jury import jury
from courtgraph.graphs.single import single
from courtgraph.graphs.state import TrialState
from courtgraph.graphs.trial import _run_one_node, invoke, one_node, run_trial
from courtgraph.models import ScriptedModel
from courtgraph.schema import Case, Trial, Turn, Verdict

CASE = Case(id="c", question="2+2?", candidates=["4", "5"], label="A")


def without_latency(state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "turns": [t.model_copy(update={"latency_s": 0.0}) for t in state["turns"]]}


@pytest.mark.parametrize("order", ["AB", "BA"])
async def test_single_runs_directly_and_equals_pregel(order: str) -> None:
    graph = single(ScriptedModel("Reasoning.\n[[A]]"))
    assert one_node(graph) is not None
    state = {"trial": Trial(case=CASE, order=order), "turns": [Turn(role="x", agent="earlier", content="kept")]}
    direct = await _run_one_node(graph, one_node(graph), state)
    through_pregel = await graph.ainvoke(state)
    assert without_latency(direct) == without_latency(through_pregel)
    result = await run_trial(graph, Trial(case=CASE, order=order))
    assert result.verdict.winner == "A" and len(result.turns) == 1


async def test_graphs_that_could_differ_go_through_pregel() -> None:
    model = ScriptedModel("[[A]]")
    assert one_node(jury([model, model, model])) is None

    async def node(state: TrialState) -> dict[str, Any]:
        return {"verdict": Verdict(winner="B")}

    looped = StateGraph(TrialState)
    looped.add_node("judge", node)
    looped.add_edge(START, "judge")
    looped.add_conditional_edges("judge", lambda s: END)
    assert one_node(looped.compile()) is None
    retried = StateGraph(TrialState)
    retried.add_node("judge", node, retry_policy={"max_attempts": 2})  # type: ignore[arg-type]
    retried.add_edge(START, "judge")
    retried.add_edge("judge", END)
    assert one_node(retried.compile()) is None


async def test_odd_updates_behave_as_through_pregel() -> None:
    async def node(state: TrialState) -> Any:
        return {"no_such_key": 1, "verdict": Verdict(winner="B")}

    g = StateGraph(TrialState)
    g.add_node("judge", node)
    g.add_edge(START, "judge")
    g.add_edge("judge", END)
    graph = g.compile()
    assert one_node(graph) is not None
    state = {"trial": Trial(case=CASE, order="AB"), "turns": []}
    assert await invoke(graph, state) == (await graph.ainvoke(state), None)

    async def wrong(state: TrialState) -> Any:
        return "not a dict"

    g = StateGraph(TrialState)
    g.add_node("judge", wrong)
    g.add_edge(START, "judge")
    g.add_edge("judge", END)
    _, error = await invoke(g.compile(), state)
    assert error is not None and "dict" in error


def test_runs_take_the_direct_path_unless_someone_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    from courtgraph.graphs.trial import trial_config, unobserved

    graph = single(ScriptedModel("[[A]]"))
    config = trial_config(graph, Trial(case=CASE), {"metadata": {"courtgraph_run_id": "r1"}})
    assert unobserved(config) and unobserved(None)  # what the harness passes: nobody listens
    assert not unobserved({**config, "callbacks": [BaseCallbackHandler()]})  # a handler sees the graph run
    assert not unobserved({**config, "configurable": {"thread_id": "t", "user_key": 1}})  # a node may read it
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "test-key-not-used")
    assert not unobserved(config)  # LangSmith tracing traces the graph run
