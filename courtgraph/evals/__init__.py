"""The harness as a library: replay a benchmark through protocols and compare them.

Example::

    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles

    results = run("sample", ["single", "jury"], roles=Roles(model="openai:gpt-4o-mini"), out="runs/first")
    results.report()

The CLI (``courtgraph run``) is a thin layer over :func:`run`; see :func:`run_async` for every argument.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from courtgraph._lazy import lazy_exports

if TYPE_CHECKING:
    from courtgraph.evals.benchmarks import Benchmark, load_bench
    from courtgraph.evals.metrics import Summary, summarize
    from courtgraph.evals.runner import BenchLike, ProtocolsLike, Results, run_async
    from courtgraph.evals.store import RunStore

#: Imported on first use: reading a run (``courtgraph show``) needs the store, not LangGraph.
_EXPORTS = {
    "Benchmark": "courtgraph.evals.benchmarks", "load_bench": "courtgraph.evals.benchmarks",
    "Summary": "courtgraph.evals.metrics", "summarize": "courtgraph.evals.metrics",
    "Results": "courtgraph.evals.runner", "run_async": "courtgraph.evals.runner",
    "RunStore": "courtgraph.evals.store",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


def run(bench: BenchLike, protocols: ProtocolsLike, **kwargs: Any) -> Results:
    """:func:`run_async` on one event loop for the whole run (the SDKs' HTTP pools are bound to it)."""
    from courtgraph.evals.runner import run_async

    # The main task returns None: on Python 3.11, asyncio.run's SIGINT bookkeeping formats the main task's
    # repr when it restores the handler, and a task holding the Results would render every record (seconds,
    # and a string the size of the run).
    out: list[Results] = []

    async def main() -> None:
        out.append(await run_async(bench, protocols, **kwargs))

    asyncio.run(main())
    return out[0]


__all__ = ["Benchmark", "Results", "RunStore", "Summary", "load_bench", "run", "run_async", "summarize"]
