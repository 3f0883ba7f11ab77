"""A jury's jurors are static parallel nodes: named after them, isolated from each other's round-0 votes, in
roster order in the transcript, and resumable one juror at a time with a checkpointer."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START

from courtgraph.agents.aggregator import make_aggregator
from courtgraph.agents.juror import Juror, Vote
from courtgraph.graphs.debate import debate
from courtgraph.graphs.jury import jury, proceedings, voter_nodes, voting_graph
from courtgraph.graphs.panel import panel
from courtgraph.graphs.single import single
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.schema import EVERYONE, Case, Trial, Turn, Verdict

CASE = Case(id="c1", question="What is 17 * 3?", candidates=["51", "54"], label="A")
TRIAL = Trial(case=CASE)


def says(tag: str, name: str) -> ScriptedModel:
    return ScriptedModel(lambda _m, _s: f"I am {name}. Confidence: 80%\n[[{tag}]]", name=name)


def edges(graph: Any) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.get_graph().edges}


def test_each_juror_is_a_node_named_after_it_between_start_and_the_aggregate() -> None:
    graph = jury([says("A", "a"), says("B", "b"), says("A", "c")])
    assert set(graph.nodes) == {START, "juror_1", "juror_2", "juror_3", "aggregate"}
    assert edges(graph) == {(START, f"juror_{i}") for i in (1, 2, 3)} | {
        (f"juror_{i}", "aggregate") for i in (1, 2, 3)} | {("aggregate", END)}
    deliberating = jury([says("A", "a"), says("B", "b")], rounds=2)
    assert {("juror_1", "deliberate"), ("juror_2", "deliberate")} <= edges(deliberating)


async def test_stream_updates_name_each_juror_with_its_own_vote_only() -> None:
    graph = jury([says("A", "a"), says("B", "b"), says("A", "c")])
    updates: list[tuple[str, dict[str, Any]]] = []
    async for chunk in graph.astream({"trial": TRIAL, "turns": []}, stream_mode="updates"):
        updates.extend(chunk.items())
    nodes = [node for node, _ in updates]
    assert sorted(nodes[:3]) == ["juror_1", "juror_2", "juror_3"] and nodes[3:] == ["aggregate"]
    for node, update in updates[:3]:
        assert [t.agent for t in update["turns"]] == [node] and [v.agent for v in update["votes"]] == [node]
    assert updates[3][1]["verdict"].winner == "A"


class Slow:
    """A juror that starts its vote only after ``delay`` seconds, when the others have long voted."""

    def __init__(self, juror: Juror, delay: float) -> None:
        self.juror, self.delay = juror, delay

    @property
    def name(self) -> str:
        return self.juror.name

    async def vote(self, trial: Trial, record: Sequence[Turn], audience: Sequence[str]) -> Vote:
        await asyncio.sleep(self.delay)
        return await self.juror.vote(trial, record, audience)


async def test_a_late_juror_reads_the_proceedings_but_never_an_earlier_round_0_vote() -> None:
    fast, late = says("A", "FAST-JUROR"), says("B", "LATE-JUROR")
    voters = [Juror(fast, "juror_1"), Slow(Juror(late, "juror_2"), 0.05)]
    record = [Turn(role="prosecutor", agent="prosecutor", content="PUBLIC-ARGUMENT", visible_to=[EVERYONE]),
              Turn(role="prosecutor", agent="prosecutor", content="PRIVATE-NOTES", visible_to=["prosecutor"])]
    graph = voting_graph(voters, make_aggregator("majority"))
    out = await graph.ainvoke({"trial": TRIAL, "turns": record})
    assert out["verdict"].winner == "tie" and len(fast.calls) == len(late.calls) == 1
    prompt = "\n".join(m["content"] for m in late.calls[0])
    assert "PUBLIC-ARGUMENT" in prompt and "PRIVATE-NOTES" not in prompt
    assert "I am FAST-JUROR" not in prompt  # the earlier vote, done before this juror started, is not in it
    assert [t.agent for t in out["turns"][2:]] == ["juror_1", "juror_2", "aggregator"]


def test_proceedings_drop_every_voters_turn_whatever_its_suffix() -> None:
    record = proceedings(["juror_1", "juror_2"])
    turns = [Turn(role="r", agent=a, content=a, visible_to=[EVERYONE]) for a in
             ("clerk", "juror_1", "juror_1[A]", "juror_2/advocate_A", "juror_10", "juror_2x/judge")]
    assert [t.agent for t in record(turns, "juror_1")] == ["clerk", "juror_10", "juror_2x/judge"]
    assert record([], "juror_1") == []


def test_voter_nodes_keep_names_that_sort_in_roster_order_and_number_the_others() -> None:
    assert voter_nodes(["juror_1", "juror_2", "juror_3"]) == ["juror_1", "juror_2", "juror_3"]
    assert voter_nodes(["correctness", "reasoning"]) == ["correctness", "reasoning"]
    assert voter_nodes(["reasoning", "correctness"]) == ["vote_1_reasoning", "vote_2_correctness"]
    assert voter_nodes([f"juror_{i}" for i in range(1, 11)])[:2] == ["vote_01_juror_1", "vote_02_juror_2"]
    assert voter_nodes(["aggregate", "b"]) == ["vote_1_aggregate", "vote_2_b"]  # a jury node's name
    assert voter_nodes(["a:b", "c"]) == ["vote_1_a_b", "vote_2_c"]  # LangGraph's separator
    assert voter_nodes(["__x", "y"]) == ["vote_1___x", "vote_2_y"]


async def test_a_jury_of_eleven_keeps_roster_order_in_its_transcript_and_votes() -> None:
    models = [says("AB"[i % 2], f"m{i}") for i in range(11)]
    result = await run_trial(jury(models), TRIAL)
    roster = [f"juror_{i}" for i in range(1, 12)]
    assert [t.agent for t in result.turns] == [*roster, "aggregator"]
    assert [v.agent for v in result.verdict.votes] == roster and result.verdict.winner == "A"


async def test_a_panel_keeps_its_dimensions_in_order_as_nodes_of_its_own() -> None:
    dims = ["safety", "correctness", "reasoning"]

    def answer(messages: list[Message], _s: object) -> str:
        return "Fine.\n[[B]]" if "safety" in messages[-1]["content"].split("\n", 3)[0] else "Fine.\n[[A]]"

    graph = panel(ScriptedModel(answer, name="spec"), dimensions=dims)
    assert {"vote_1_safety", "vote_2_correctness", "vote_3_reasoning", "aggregate"} <= set(graph.nodes)
    result = await run_trial(graph, TRIAL)
    assert [t.agent for t in result.turns] == [*dims, "aggregator"]
    assert [v.agent for v in result.verdict.votes] == dims and result.verdict.valid


async def test_with_a_checkpointer_a_resume_reruns_only_the_juror_that_failed() -> None:
    flaky_calls: list[int] = []

    def flaky(_m: list[Message], _s: object) -> str:
        flaky_calls.append(1)
        if len(flaky_calls) == 1:
            raise RuntimeError("connection reset")  # not a model error: the node (and the step) fails
        return "Back. Confidence: 70%\n[[B]]"

    steady = [says("A", "a"), says("A", "c")]
    graph = jury([steady[0], ScriptedModel(flaky, name="flaky"), steady[1]], checkpointer=MemorySaver())
    config: dict[str, Any] = {"configurable": {"thread_id": "t1"}}
    with pytest.raises(RuntimeError, match="connection reset"):
        await graph.ainvoke({"trial": TRIAL, "turns": []}, config)
    out = await graph.ainvoke(None, config)  # resume the thread: only the failed node runs again
    assert out["verdict"].winner == "A" and [len(m.calls) for m in steady] == [1, 1] and len(flaky_calls) == 2
    assert [t.agent for t in out["turns"]] == ["juror_1", "juror_2", "juror_3", "aggregator"]
    assert [v.winner for v in out["verdict"].votes] == ["A", "B", "A"]
    assert isinstance(out["verdict"], Verdict)


def floor_drivers() -> Any:
    """``benchmarks/drivers.py`` as a module (registered first: LangGraph resolves its state hints there)."""
    spec = importlib.util.spec_from_file_location("courtgraph_bench_drivers",
                                                  Path(__file__).resolve().parents[1] / "benchmarks" / "drivers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def shape(graph: Any) -> list[tuple[str, str, bool]]:
    return sorted((e.source, e.target, e.conditional) for e in graph.get_graph().edges)


async def test_the_benchmark_floor_graphs_have_the_shapes_of_the_protocols_they_stand_under() -> None:
    graphs = floor_drivers().floor_graphs()
    assert shape(graphs["static3"][0]) == shape(jury("scripted:x [[A]]"))  # the floor printed under jury
    assert shape(graphs["debate3"][0]) == shape(debate("scripted:x", "scripted:y [[A]]"))
    assert shape(graphs["single"][0]) == shape(single("scripted:x [[A]]"))
    for name, (graph, calls) in graphs.items():  # each runs, and stands for the calls it says
        out = await graph.ainvoke({"trial": 1})
        assert out["verdict"] == 1 and len(out["turns"]) == calls, name  # one no-op turn per call
