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
    from courtgraph.evals.plan import BenchLike, ProtocolsLike, RunPlan
    from courtgraph.evals.progress import RunDisplay, WatchTrial
    from courtgraph.evals.resume import resume_plan
    from courtgraph.evals.runner import Results, run_async, run_plan
    from courtgraph.evals.store import RunStore

#: Imported on first use: reading a run (``courtgraph show``) needs the store, not LangGraph.
_EXPORTS = {
    "Benchmark": "courtgraph.evals.benchmarks", "load_bench": "courtgraph.evals.benchmarks",
    "Summary": "courtgraph.evals.metrics", "summarize": "courtgraph.evals.metrics",
    "Results": "courtgraph.evals.runner", "run_async": "courtgraph.evals.runner", "run_plan": "courtgraph.evals.runner",
    "RunPlan": "courtgraph.evals.plan", "resume_plan": "courtgraph.evals.resume",
    "RunDisplay": "courtgraph.evals.progress", "WatchTrial": "courtgraph.evals.progress",
    "RunStore": "courtgraph.evals.store",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


def run(bench: BenchLike, protocols: ProtocolsLike, **kwargs: Any) -> Results:
    """:func:`run_async` on one event loop for the whole run (the SDKs' HTTP pools are bound to it)."""
    from courtgraph.evals.runner import run_async

    return asyncio.run(run_async(bench, protocols, **kwargs))


__all__ = ["Benchmark", "Results", "RunDisplay", "RunPlan", "RunStore", "Summary", "WatchTrial", "load_bench",
           "resume_plan", "run", "run_async", "run_plan", "summarize"]
