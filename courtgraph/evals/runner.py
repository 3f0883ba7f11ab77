"""The harness: cases × protocols × orders, into a run directory, resumable.

This module puts the parts together; each lives in its own module:

* :mod:`courtgraph.evals.plan`: what a run is asked to do (:class:`RunPlan`), checked and prepared
  before anything is written;
* :mod:`courtgraph.evals.resume`: where a run is written, and continuing one from its stored settings;
* :mod:`courtgraph.evals.manifest`: the manifest, and the checks that a resumed run is the same experiment;
* :mod:`courtgraph.evals.loop`: the loop that judges and stores each record;
* :mod:`courtgraph.evals.progress`: what is shown while it runs, passed in as callbacks.

Re-running into the same directory runs only what is missing (failed records included: a transient
outage should not be final); with the response cache on, even the calls of trials lost to a kill are
not paid twice. One process writes a run at a time (:meth:`RunStore.lock`): two runs into one
directory would judge the same records twice. A run that crashes says so in its manifest
(``status: failed``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from courtgraph.agents import simulated
from courtgraph.errors import InputError
from courtgraph.evals.batch_journal import batch_journal
from courtgraph.evals.budget import RunGuard, RunLimits
from courtgraph.evals.logs import run_log
from courtgraph.evals.loop import judge_all
from courtgraph.evals.manifest import begin_run, default_baseline
from courtgraph.evals.plan import BenchLike, CacheLike, PreparedRun, ProtocolsLike, RunPlan
from courtgraph.evals.progress import NoDisplay, PlainWatcher, ProgressBar, RunDisplay, WatchTrial, follow_batches
from courtgraph.evals.resume import open_store
from courtgraph.evals.runlock import hold_run_lock
from courtgraph.evals.settings import RoleSettings
from courtgraph.evals.store import RunStore, record_failed
from courtgraph.graphs.registry import Roles
from courtgraph.models import use_cache
from courtgraph.models.batch_terms import BatchSettings
from courtgraph.models.batching import use_batch_mode
from courtgraph.models.connections import EndpointSettings, use_endpoint_settings
from courtgraph.models.errors import EndpointDown
from courtgraph.models.prefix_writers import use_prefix_warmup
from courtgraph.schema import Case, Order, Record

if TYPE_CHECKING:  # imported when used: the summary's and frames' modules are not needed before the first call
    from courtgraph.evals.frames import Frame
    from courtgraph.evals.metrics import Summary

#: The run's own events (start, end, interruption); records and retries are logged where they happen.
log = logging.getLogger("courtgraph.evals")


@dataclass(repr=False)
class Results:
    """What a run returns: its records, their metrics, and where they are stored.

    In a notebook it displays as the comparison table (``_repr_html_``); its ``repr`` is one line.
    ``records`` are read from the run directory on first use (protocol by protocol, each in case order),
    so a run that only prints its summary never holds every transcript at once."""

    summary: Summary
    run_dir: Path
    cases: dict[str, Case] = field(default_factory=dict)
    selection: str | None = None  # how the cases were chosen (Selection.describe)
    stopped: str | None = None  # why the run stopped before judging every case (a cost limit), if it did
    protocols: list[str] = field(default_factory=list)
    _records: list[Record] | None = field(default=None, repr=False)

    @property
    def records(self) -> list[Record]:
        if self._records is None:
            with RunStore(self.run_dir, create=False) as store:
                self._records = [r for p in self.protocols for r in store.iter_records(p) if r.case_id in self.cases]
        return self._records

    @property
    def failed(self) -> list[Record]:
        """Records that carry a failure (a crashed trial or a failed call) rather than a judgement."""
        if self._records is not None:
            return [r for r in self._records if record_failed(r)]
        with RunStore(self.run_dir, create=False) as store:
            found = [store.record(c, p) for c, p in self._failed_keys(store)]
        order = {(p, c): i for i, (p, c) in enumerate((p, c) for p in self.protocols for c in self.cases)}
        return sorted((r for r in found if r is not None), key=lambda r: order[r.protocol, r.case_id])

    def report(self, console: Console | None = None) -> None:
        """Print the comparison table (the same one ``courtgraph report`` prints)."""
        from courtgraph.evals.provenance import print_provenance
        from courtgraph.evals.report import print_summary

        if self.selection:
            (console or Console()).print(f"cases: {escape(self.selection)}", highlight=False, soft_wrap=True)
        print_summary(self.summary, console)
        print_provenance(self.run_dir, console)  # what ran: models, base URLs, settings, bench, versions

    def to_pandas(self, frame: Frame = "records") -> Any:
        """A pandas DataFrame: one row per record (default; figures count as the report counts them),
        per trial (``"trials"``) or per turn (``"turns"``); see :mod:`courtgraph.evals.frames`."""
        from courtgraph.evals.frames import to_pandas

        return to_pandas(self.records, frame)

    def _failed_keys(self, store: RunStore) -> list[tuple[str, str]]:
        keys = store.query("SELECT case_id, protocol FROM records WHERE failed = 1")
        return [(str(c), str(p)) for c, p in keys if c in self.cases and p in self.protocols]

    def __repr__(self) -> str:
        """One line, from the summary and one SQL count: it never reads a record (asyncio formats the
        result of a run's main task with it, which once unpacked every record of a big run)."""
        if self._records is not None:
            count, failed = len(self._records), len(self.failed)
            protocols = list(dict.fromkeys(r.protocol for r in self._records))
        else:
            count = sum(m.n for m in self.summary.protocols.values())
            protocols = [p for p in self.protocols if p in self.summary.protocols]
            with RunStore(self.run_dir, create=False) as store:
                failed = len(self._failed_keys(store))
        return (f"Results(run_dir={str(self.run_dir)!r}, {count} records, {len(self.cases)} cases, "
                f"protocols={protocols}, {failed} failed)")

    def _repr_html_(self) -> str:
        from courtgraph.evals.frames import summary_html

        failed = f", {len(self.failed)} failed" if self.failed else ""
        return summary_html(self.summary, f"{self.run_dir}: {len(self.records)} records{failed}")


# -- running -----------------------------------------------------------------------------------------


async def run_async(
    bench: BenchLike,
    protocols: ProtocolsLike,
    *,
    roles: Roles | None = None,
    out: str | Path | None = None,
    orders: Sequence[Order] | None = None,
    concurrency: int = 8,
    limit: int | None = None,
    categories: Sequence[str] | None = None,
    sample: int | None = None,
    shuffle: bool = False,
    cases: Sequence[str] | str | None = None,
    stratify: bool = True,
    settings: RoleSettings | Mapping[str, Any] | None = None,
    limits: RunLimits | None = None,
    seed: int = 0,
    cache: CacheLike = "default",
    progress: bool = True,
    endpoints: EndpointSettings | Mapping[str, Any] | None = None,
    watch: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    field_map: Mapping[str, str] | str | None = None,
    label_map: Mapping[str, str] | str | None = None,
    resume: bool = False,
    command: Sequence[str] | None = None,
    console: Console | None = None,
    watcher: WatchTrial | None = None,
    display: RunDisplay | None = None,
    batch: BatchSettings | None = None,
    prefix_warmup: bool = False,
) -> Results:
    """Judge every case of ``bench`` with every protocol, in both orders, into a run directory.

    The settings are those of :class:`~courtgraph.evals.plan.RunPlan` (see there). ``watch``: a case
    id whose turns are shown as they happen, by ``watcher`` (default: one line per turn on
    ``console``; the CLI passes the transcript view). ``display``: the progress display (default: a
    progress bar on ``console`` when ``progress``, else nothing). A run stopped by its cost limit
    returns with ``Results.stopped`` set; one stopped by its error budget raises
    :class:`~courtgraph.evals.budget.RunStopped`. ``batch``: send the calls through the providers' batch
    APIs at half the price (:mod:`courtgraph.models.batching`). ``prefix_warmup``: calls of a case sent
    together wait for the first to answer, then read its prompt cache (:mod:`courtgraph.models.prefix_writers`).
    """
    plan = RunPlan(bench, protocols, roles=roles, out=out, orders=orders, concurrency=concurrency, limit=limit,
                   categories=categories, sample=sample, shuffle=shuffle, cases=cases, stratify=stratify,
                   settings=settings, limits=limits, seed=seed, cache=cache, params=params, field_map=field_map,
                   label_map=label_map, resume=resume, command=command, endpoints=endpoints,
                   batch=batch, prefix_warmup=prefix_warmup)
    return await run_plan(plan, progress=progress, watch=watch, console=console, watcher=watcher, display=display)


async def run_plan(plan: RunPlan, *, progress: bool = True, watch: str | None = None, console: Console | None = None,
                   watcher: WatchTrial | None = None, display: RunDisplay | None = None,
                   log_level: int = logging.DEBUG) -> Results:
    """Run a :class:`RunPlan` (what :func:`run_async` does with its arguments); see there for the rest.

    The ``courtgraph`` logger's records at ``log_level`` and above (each retry, give-up and record)
    go to ``run.log`` in the run directory (:mod:`courtgraph.evals.logs`). An existing run's writer lock is
    taken first, so a second writer is refused before the seconds of loading, not after them."""
    with hold_run_lock(Path(plan.out) if plan.out is not None else None):
        return await _run_plan(plan, progress=progress, watch=watch, console=console, watcher=watcher,
                               display=display, log_level=log_level)


async def _run_plan(plan: RunPlan, *, progress: bool, watch: str | None, console: Console | None,
                    watcher: WatchTrial | None, display: RunDisplay | None, log_level: int) -> Results:
    console = console or Console(stderr=True)
    prepared = plan.prepare()
    cases = prepared.cases
    if watch is not None and watch not in {c.id for c in cases}:
        raise InputError(f"no case {watch!r} among the cases of this run", field="watch")
    for note in prepared.config["bench"].get("notes", []):  # e.g. gold by majority: class counts, items left out
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    for text in prepared.warnings:
        console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)
    if watch is not None and watcher is None:
        watcher = PlainWatcher(console)
    if display is None:
        display = ProgressBar(console) if progress else NoDisplay()

    with open_store(plan.out, resume=plan.resume) as store:
        store.lock()
        manifest = begin_run(store, prepared.config, cases, plan.command)
        with run_log(store.run_dir, manifest["run_id"], log_level), use_endpoint_settings(prepared.endpoints):
            for text in prepared.warnings:  # e.g. endpoint settings changed on resume: in run.log too
                log.warning("%s", text)
            return await _judge(plan, prepared, store, manifest, display, console, watch, watcher)


async def _judge(plan: RunPlan, prepared: PreparedRun, store: RunStore, manifest: dict[str, Any],
                 display: RunDisplay, console: Console, watch: str | None, watcher: WatchTrial | None) -> Results:
    """The run proper, its store open and locked, its manifest written, its log on."""
    cases, graphs = prepared.cases, prepared.graphs
    log.info("run %s: %s, protocols %s, %d cases", store.run_dir, manifest["config"]["bench"].get("name"),
             ", ".join(graphs), len(cases))
    finished = store.done()
    todo = [(c, p) for c in cases for p in graphs if (c.id, p) not in finished]
    total = len(cases) * len(graphs)
    if len(todo) < total:
        console.print(f"resuming {store.run_dir}: {total - len(todo)}/{total} records already done",
                      highlight=False, soft_wrap=True)
    written: list[Record] = []
    if prepared.held_out:  # --calibrate-on: the cascades' thresholds, before any case is judged
        from courtgraph.evals.calibration import calibrate_run

        with use_cache(prepared.cache), simulated.simulation(plan.seed):
            calibrations = await calibrate_run(graphs, prepared.config["protocols"], plan.roles or Roles(),
                                               prepared.held_out, alpha=plan.alpha, delta=plan.delta)
        manifest = {**manifest, "calibration": {n: c.to_json() for n, c in calibrations.items()}}
        store.write_manifest(manifest)
        for n, c in calibrations.items():
            console.print(f"{n}: {c.guarantee()}", highlight=False, soft_wrap=True)
    guard = RunGuard.for_run(prepared.limits, store.records())
    try:
        display.start(total, total - len(todo))
        try:
            with use_cache(prepared.cache), simulated.simulation(plan.seed), guard.active(), \
                    use_prefix_warmup(plan.prefix_warmup), \
                    batch_journal(store.run_dir, plan.batch, store.flush) as journal:
                async with use_batch_mode(plan.batch, journal, notify=lambda text: console.print(
                        escape(text), highlight=False, soft_wrap=True)) as batches:  # --batch: through batch APIs
                    follow_batches(display, batches)  # status lines and the bar show the pending batches
                    # a batch pays off when many calls wait together: batch mode admits a batch's worth at once
                    calls = max(plan.concurrency, plan.batch.size) if plan.batch else plan.concurrency
                    await judge_all(todo, graphs, prepared.orders, store=store, concurrency=calls,
                                    display=display, written=written, watch=watch, watcher=watcher, guard=guard)
        finally:
            display.stop()
    except (asyncio.CancelledError, KeyboardInterrupt):
        store.write_manifest({**manifest, "status": "interrupted"})
        log.warning("run %s interrupted", store.run_dir)
        saved = total - len(todo) + len(written)
        console.print(f"interrupted: {saved}/{total} records saved in {store.run_dir}; to finish, run the "
                      f"same command with --out {store.run_dir} --resume", highlight=False, soft_wrap=True)
        raise
    except Exception as exc:  # a crash must not leave the run looking as if it were still running
        store.write_manifest({**manifest, "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        if isinstance(exc, EndpointDown):
            saved = total - len(todo) + len(written)
            console.print(f"stopped: {exc}\n{saved}/{total} records saved in {store.run_dir}; once "
                          f"{exc.endpoint} is back, run the same command with --out {store.run_dir} --resume",
                          highlight=False, soft_wrap=True)
        log.exception("run %s crashed", store.run_dir)
        raise
    stopped = guard.summary()
    store.write_manifest({**manifest, "status": "stopped", "stopped": stopped} if stopped else
                         {**manifest, "status": "finished"})
    log.info("run %s finished: %d records written, %d failed", store.run_dir, len(written),
             sum(map(record_failed, written)))
    # protocol by protocol, in the order given, each in case order (the report keeps that order); streamed
    # without turns, so the summary of a big run never holds its transcripts (Results reads them on demand)
    from courtgraph.evals.metrics import summarize

    ids = {c.id for c in cases}
    light = (r for p in graphs for r in store.iter_records(p, whole=False) if r.case_id in ids)
    summary = summarize(light, default_baseline(manifest.get("config") or {}, list(graphs)), seed=plan.seed,
                        simulated=store.simulated_protocols())
    return Results(summary=summary, run_dir=store.run_dir, cases={c.id: c for c in cases},
                   selection=prepared.selection.describe(), stopped=stopped, protocols=list(graphs))
