"""What a run reads once (who listens, each graph's direct path) is read again where it must be.

A run asks once, as it starts, whether anybody listens (LangSmith, langchain-core's handlers) and which
of its graphs may skip Pregel; trials and calls rely on the answers. These tests pin where they must
not: a run started while someone listens goes through the graph and reports its calls, callbacks given
in a config are still seen inside a quiet run, a handler around a call still hears it, and a graph
that is not one of the run's is inspected when it is invoked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

import courtgraph.graphs.trial as trial_module
from courtgraph.evals import run
from courtgraph.graphs.registry import Roles
from courtgraph.graphs.single import single
from courtgraph.graphs.trial import direct_paths, one_node, run_trial, trial_config, unobserved
from courtgraph.models import ScriptedModel
from courtgraph.models.tracing import QUIET_RUN, may_listen, quiet_run
from courtgraph.schema import Case, Trial

CASES = [Case(id=f"c{i}", question="2+2?", candidates=["4", "5"], label="A") for i in range(3)]
ANSWER = "scripted:Four is right.\n[[A]]"


class Starts(BaseCallbackHandler):
    """Counts the chat-model runs and chain runs a handler hears."""

    def __init__(self) -> None:
        self.chat_models = 0
        self.chains = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.chat_models += 1

    def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        self.chains += 1


def count_direct(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many trials took the direct path (each appends to the list)."""
    taken: list[int] = []
    real = trial_module._run_one_node

    async def counted(*args: Any) -> dict[str, Any]:
        taken.append(1)
        return await real(*args)

    monkeypatch.setattr(trial_module, "_run_one_node", counted)
    return taken


def test_a_run_nobody_listens_to_takes_the_direct_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = count_direct(monkeypatch)
    results = run(CASES, ["single"], roles=Roles(model=ANSWER), out=tmp_path, cache=None, progress=False)
    assert len(taken) == 2 * len(CASES)
    assert [(r.verdict.winner, r.usage.calls) for r in results.records] == [("tie", 2)] * len(CASES)  # A both times


def test_a_run_started_while_someone_listens_goes_through_the_graph(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A tracer in context as the run starts (langchain-core's run collector, a configure hook as LangSmith's
    tracer is): no trial takes the direct path, and the graph runs and model calls reach it."""
    from langchain_core.tracers.context import collect_runs

    taken = count_direct(monkeypatch)
    with collect_runs() as collector:
        run(CASES[:1], ["single"], roles=Roles(model=ANSWER), out=tmp_path, cache=None, progress=False)
    assert taken == []
    kinds = [r.run_type for r in collector.traced_runs]
    assert sorted(kinds) == ["chain", "chain", "llm", "llm"]  # both orders: the graph run and the model call


def test_langsmith_tracing_on_as_a_run_starts_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    with quiet_run() as quiet:
        assert not quiet and not unobserved({"metadata": {"courtgraph_run_id": "r"}})


def test_the_answer_is_per_run_not_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run started while tracing was on, then one started after it was switched off: each reads its own."""
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    with quiet_run() as first:
        assert QUIET_RUN.get() is False
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    with quiet_run() as second:
        assert QUIET_RUN.get() is True
    assert (first, second) == (False, True) and QUIET_RUN.get() is False  # and outside a run, nothing is assumed


async def test_inside_a_quiet_run_given_callbacks_still_see_the_graph_and_the_calls() -> None:
    graph = single(ScriptedModel("Four.\n[[A]]"))
    heard = Starts()
    config = trial_config(graph, Trial(case=CASES[0]), {"metadata": {"courtgraph_run_id": "r"}})
    with quiet_run() as quiet:
        assert quiet and unobserved(config)
        assert not unobserved({**config, "callbacks": [heard]})  # a handler in the config sees the graph run
        result = await run_trial(graph, Trial(case=CASES[0]), {"callbacks": [heard]})
    assert result.verdict.winner == "A"
    assert heard.chains >= 1 and heard.chat_models == 1  # the graph run and its one model call were reported


async def test_inside_a_quiet_run_a_handler_around_a_call_hears_it() -> None:
    from langchain_core.runnables import RunnableLambda

    model = ScriptedModel("[[A]]")
    heard = Starts()

    async def call(_: object) -> str:
        assert may_listen()  # a runnable config with a handler surrounds this call
        return (await model.generate([{"role": "user", "content": "hi"}])).text

    with quiet_run():
        assert not may_listen()  # nothing around: the call opens no trace
        assert await RunnableLambda(call).ainvoke(None, {"callbacks": [heard]}) == "[[A]]"
    assert heard.chat_models == 1


async def test_graphs_are_inspected_once_per_run_and_others_when_invoked(monkeypatch: pytest.MonkeyPatch) -> None:
    inspected: list[object] = []
    real = trial_module.one_node

    def counted(graph: Any) -> Any:
        inspected.append(graph)
        return real(graph)

    monkeypatch.setattr(trial_module, "one_node", counted)
    ours, other = single(ScriptedModel("[[A]]")), single(ScriptedModel("[[B]]"))
    with direct_paths([ours]):
        assert inspected == [ours]
        for case in CASES:
            assert (await run_trial(ours, Trial(case=case))).verdict.winner == "A"
        assert inspected == [ours]  # not once per trial
        assert (await run_trial(other, Trial(case=CASES[0]))).verdict.winner == "B"
        assert inspected == [ours, other]  # not one of the run's graphs: inspected as it is invoked
    await run_trial(ours, Trial(case=CASES[0]))
    assert inspected == [ours, other, ours]  # outside the run, every invoke inspects again
    assert one_node(ours) is not None
