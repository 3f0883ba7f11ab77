"""Builders take a LangGraph checkpointer: the harness's trials then each keep their own thread, and reading a
trial back is silent (courtgraph's state types are registered with LangGraph's serializer)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import MemorySaver

from courtgraph.evals import run_async
from courtgraph.graphs import debate, jury, single
from courtgraph.graphs.registry import PROTOCOLS
from courtgraph.schema import Case, Trial


async def test_a_debate_with_a_checkpointer_completes_every_trial_and_reads_back_silently(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    saver = MemorySaver()
    graph = debate("sim:0.7", "sim:judge:0.8", rounds=2, checkpointer=saver)
    results = await run_async("sample", {"debate": graph}, out=tmp_path / "run", cache=None, progress=False)
    assert results.records and not results.failed
    threads = set(saver.storage)  # one thread per trial: each case in both orders
    assert len(threads) == sum(len(r.trials) for r in results.records)

    caplog.set_level(logging.WARNING)
    for thread in threads:
        state = await graph.aget_state({"configurable": {"thread_id": thread}})
        assert isinstance(state.values["trial"], Trial) and state.values["verdict"].valid
    assert not [r for r in caplog.records if "unregistered" in r.getMessage()]


async def test_every_builder_takes_a_checkpointer_and_a_store() -> None:
    from langgraph.store.memory import InMemoryStore

    case = Case(id="q", question="2+2?", candidates=["4", "5"], label="A")
    for graph in (single("sim:0.8", checkpointer=MemorySaver(), store=InMemoryStore()),
                  jury("sim:0.7", n=3, checkpointer=MemorySaver())):
        assert graph.checkpointer is not None
        config = {"configurable": {"thread_id": "t"}}
        out = await graph.ainvoke({"trial": Trial(case=case), "turns": []}, config)
        assert out["verdict"].valid


def test_checkpointer_is_not_a_protocol_parameter() -> None:
    for info in PROTOCOLS.values():
        assert not {"checkpointer", "store"} & set(info.parameters())
