"""Notebooks: the shipped example runs cell by cell in one running event loop (as Jupyter runs it),
``results`` displays in a few KB, ``to_pandas()`` agrees with the report, and the sync ``run`` works
(in a worker thread, with a warning) when a loop is already running."""

from __future__ import annotations

import ast
import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from courtgraph.evals import run, run_async
from courtgraph.evals.frames import record_error
from courtgraph.graphs.registry import Roles
from courtgraph.schema import Record, TrialResult, Verdict

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"


async def _run_cells(cells: list[str]) -> dict[str, Any]:
    """Each code cell compiled with top-level await (as IPython does) and run in this one loop."""
    namespace: dict[str, Any] = {}
    for source in cells:
        code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # the repository's own notebook
        if asyncio.iscoroutine(result):
            await result
    return namespace


def test_the_notebook_runs_in_one_loop_and_agrees_with_the_report() -> None:
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    assert any("await run_async" in c for c in cells)
    ns = asyncio.run(_run_cells(cells))
    results = ns["results"]
    shutil.rmtree(ns["out"])
    assert len(repr(results)) < 5_000 and len(results._repr_html_()) < 5_000
    assert len(repr(results.summary)) < 5_000 and "<table>" in results.summary._repr_html_()
    records, turns, trials = ns["records"], ns["turns"], ns["trials"]
    assert len(records) == len(results.records) == 24 and len(trials) == 48
    for name, m in results.summary.protocols.items():
        rows = records[records.protocol == name]
        assert rows["calls"].mean() == pytest.approx(m.calls_per_case)
        tokens = (rows["input_tokens"] + rows["output_tokens"]).mean()
        assert tokens == pytest.approx(m.tokens_per_case)
        assert rows["correct"].astype(float).mean() == pytest.approx(m.accuracy)
    debate = turns[turns.protocol == "debate"]
    assert set(debate.role) >= {"advocate", "judge"} and debate["round"].notna().any()
    assert len(turns) == sum(len(t.turns) for r in results.records for t in r.trials)


def test_calls_count_cache_hits_like_the_report(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    roles = Roles(model="scripted:[[A]]")
    run("sample", ["single"], roles=roles, out=tmp_path / "a", limit=3, cache=cache, progress=False)
    again = run("sample", ["single"], roles=roles, out=tmp_path / "b", limit=3, cache=cache, progress=False)
    frame = again.to_pandas()
    m = again.summary.protocols["single"]
    assert frame["calls"].mean() == pytest.approx(m.calls_per_case)
    assert (frame["billed_calls"] + frame["cache_hits"]).sum() == frame["calls"].sum()


def test_verdict_level_errors_are_in_the_error_column() -> None:
    failed = Verdict.failed("judge: 503 from the server")
    record = Record(case_id="c", protocol="p", verdict=Verdict(status="ok", winner="A"),
                    trials=[TrialResult(order="AB", verdict=failed), TrialResult(order="BA", verdict=Verdict(
                        status="ok", winner="B"))])
    assert record.error is None and record_error(record) == "judge: 503 from the server"


def test_sync_run_inside_a_running_loop_works_in_a_thread(tmp_path: Path) -> None:
    async def notebook_cell() -> Any:
        with pytest.warns(UserWarning, match="await courtgraph.evals.run_async"):
            return run("sample", ["single"], roles=Roles(model="sim:0.7"), out=tmp_path / "r", limit=2, cache=None,
                       progress=False)

    results = asyncio.run(notebook_cell())
    assert len(results.records) == 2


async def test_await_run_async_in_a_running_loop(tmp_path: Path) -> None:
    results = await run_async("sample", ["single"], roles=Roles(model="sim:0.7"), out=tmp_path / "r", limit=2,
                              cache=None, progress=False)
    assert len(results.records) == 2 and "2 records" in repr(results)
