"""The run loop: every (case, protocol) still to do, judged in its orders, each record stored at once.

Why it is shaped this way:

* One bound for the whole run, in model calls in flight (``concurrency``): a trial starts when its
  calls fit beside those in flight, so a jury's jurors run together (:mod:`courtgraph.models.admission`).
  Each endpoint's bound follows it unless configured apart (the manifest records both).
* Trials are queued case by case, so an interrupted run has finished whole cases for every
  protocol rather than a scatter of half-done ones, and the records in flight at a kill are few.
* A record is written the moment both its trials finish, so a Ctrl-C or a SIGKILL loses only what
  was in flight.
* Invoking graphs, choosing a case's orders and combining them happen in
  :mod:`courtgraph.graphs.trial`, nowhere else; what is shown while it runs is passed in
  (:mod:`courtgraph.evals.progress`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

from courtgraph.evals.budget import RunGuard, RunLimits
from courtgraph.evals.logs import RUN_ID
from courtgraph.evals.progress import RunDisplay, WatchTrial
from courtgraph.evals.store import RunStore, record_failed
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import direct_paths, make_record, run_trial, trial_orders
from courtgraph.models.admission import Admission, use_admission
from courtgraph.models.limits import tripped
from courtgraph.models.tracing import quiet_run
from courtgraph.schema import Case, Order, Record, Trial, TrialResult

#: Each stored record is logged here (a run's ``run.log`` collects it, see :mod:`courtgraph.evals.logs`).
log = logging.getLogger("courtgraph.evals")


def log_record(record: Record) -> None:
    """A record in the log: DEBUG when it judged, WARNING when it failed (with why)."""
    verdict = record.verdict
    what = f"record {record.case_id} / {record.protocol}: {verdict.winner or verdict.score or verdict.status}"
    usage = f"{record.usage.calls} calls, {record.usage.tokens} tokens, {record.latency_s:.2f} s"
    if record_failed(record):
        why = record.error or verdict.error or next((t.verdict.error for t in record.trials if t.verdict.error), None)
        log.warning("%s (%s) failed: %s", what, usage, why)
    else:
        log.debug("%s (%s), correct=%s", what, usage, record.correct)


async def judge_all(todo: Sequence[tuple[Case, str]], graphs: Mapping[str, Graph], orders: Sequence[Order], *,
                    store: RunStore, concurrency: int, display: RunDisplay, written: list[Record],
                    watch: str | None = None, watcher: WatchTrial | None = None,
                    guard: RunGuard | None = None) -> None:
    """Run every (case, protocol) of ``todo``; each record is stored as soon as its trials finish and
    appended to ``written`` (what an interrupted run had saved). The trials of case ``watch`` run
    through ``watcher``. ``guard`` stops the run at a cost limit (records it cut short are not
    stored) or an error budget."""
    admission = Admission(concurrency)
    started = time.monotonic()
    guard = guard or RunGuard(RunLimits())

    async def trial(protocol: str, case: Case, order: Order) -> TrialResult | None:
        graph = graphs[protocol]
        async with admission.trial(protocol):
            if guard.stopped:  # the cost limit was reached while this trial waited: it never starts
                return None
            if (down := tripped(since=started)) is not None:  # an endpoint's breaker opened: take no new work
                raise down
            if watcher is not None and case.id == watch:
                return await watcher(graph, Trial(case=case, order=order))
            # the run id in the trial's metadata: traces and checkpointer threads are the run's
            return await run_trial(graph, Trial(case=case, order=order),
                                   {"metadata": {"courtgraph_run_id": RUN_ID.get()}})

    async def record(case: Case, protocol: str) -> None:
        with guard.record() as (refused, raised):
            trials = await asyncio.gather(*(trial(protocol, case, o) for o in trial_orders(case, orders)))
        judged = [t for t in trials if t is not None]
        if refused or len(judged) < len(trials):  # cut short by the cost limit: not judged, not stored
            guard.cut_short += bool(judged)
            return
        done = make_record(case, protocol, judged)
        store.write(done)
        written.append(done)
        log_record(done)
        display.advance(done)
        guard.check(done, raised)

    # Created in plan order: the admission starts waiting trials first come, first served. Who listens (LangSmith,
    # langchain-core's handlers) is read once for the run: each trial and call would otherwise read it again.
    with use_admission(admission), quiet_run(), direct_paths(graphs.values()):
        tasks = [asyncio.create_task(record(case, protocol)) for case, protocol in todo]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
