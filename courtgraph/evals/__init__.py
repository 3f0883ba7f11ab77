"""The harness as a library: replay a benchmark through protocols and compare them.

Example::

    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles

    results = run("sample", ["single", "jury"], roles=Roles(model="openai:gpt-4o-mini"), out="runs/first")
    results.report()

The settings of a run are a :class:`RunPlan` (see it for every argument); ``courtgraph run`` builds
one from its flags and runs it with :func:`run_plan`, and :func:`resume_plan` continues a stored run
with the settings not given again taken from its manifest::

    results = asyncio.run(run_plan(resume_plan("runs/first", concurrency=16)))

In a notebook (Jupyter runs an event loop, so ``asyncio.run`` raises there), await instead::

    results = await run_async("sample", ["single", "jury"], roles=Roles(model="sim:0.7"))
    results                      # the comparison table
    results.to_pandas("turns")   # one row per turn (also "records", "trials")

What is shown while a run runs is passed in: a :class:`RunDisplay` (progress) and a :class:`WatchTrial`
(the watched case's turns; the CLI passes the transcript view).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import warnings
from typing import TYPE_CHECKING, Any

from courtgraph._lazy import package_exports

if TYPE_CHECKING:
    from courtgraph.evals.benchmarks import Benchmark as Benchmark
    from courtgraph.evals.benchmarks import load_bench as load_bench
    from courtgraph.evals.calibration import Calibration as Calibration
    from courtgraph.evals.calibration import calibrated_cascade as calibrated_cascade
    from courtgraph.evals.frontier import Frontier as Frontier
    from courtgraph.evals.frontier import pareto_frontier as pareto_frontier
    from courtgraph.evals.metrics import Summary as Summary
    from courtgraph.evals.metrics import summarize as summarize
    from courtgraph.evals.plan import BenchLike, ProtocolsLike
    from courtgraph.evals.plan import RunPlan as RunPlan
    from courtgraph.evals.progress import RunDisplay as RunDisplay
    from courtgraph.evals.progress import WatchTrial as WatchTrial
    from courtgraph.evals.rejudge import Rejudged as Rejudged
    from courtgraph.evals.rejudge import rejudge as rejudge
    from courtgraph.evals.resume import resume_plan as resume_plan
    from courtgraph.evals.runner import Results as Results
    from courtgraph.evals.runner import run_async as run_async
    from courtgraph.evals.runner import run_plan as run_plan
    from courtgraph.evals.store import RunStore as RunStore

#: Imported on first use (reading a run, ``courtgraph show``, needs the store, not LangGraph); the names
#: are listed once, in :data:`courtgraph._api.PUBLIC_API`.
__getattr__, __all__ = package_exports(__name__)


def run(bench: BenchLike, protocols: ProtocolsLike, **kwargs: Any) -> Results:
    """:func:`run_async` on one event loop for the whole run (the SDKs' HTTP pools are bound to it).

    Called where an event loop already runs (Jupyter, an async app), where ``asyncio.run`` would
    raise, the run goes to a worker thread with its own loop and this call waits for it: it works,
    but blocks that loop meanwhile; in a notebook prefer ``results = await run_async(...)``.
    """
    from courtgraph.evals.runner import run_async

    # The coroutine run returns None: on Python 3.11, asyncio.run's SIGINT bookkeeping formats the main task's
    # repr when it restores the handler, and a task holding the Results would render every record (seconds,
    # and a string the size of the run).
    out: list[Results] = []

    async def main() -> None:
        out.append(await run_async(bench, protocols, **kwargs))

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop running: the usual script
        asyncio.run(main())
        return out[0]
    warnings.warn("courtgraph.evals.run() was called inside a running event loop (Jupyter?): running it in a "
                  "worker thread; use `results = await courtgraph.evals.run_async(...)` instead", stacklevel=2)
    context = contextvars.copy_context()  # the caller's simulation seed, cache and run settings go along
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="courtgraph-run") as pool:
        pool.submit(context.run, asyncio.run, main()).result()
    return out[0]

