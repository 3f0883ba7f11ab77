"""Running probes: the perturbed twins of a run's cases, judged by every protocol of the run.

``courtgraph probe RUN --probes verbosity,master-key`` (and ``courtgraph run ... --probes``, which
runs this right after the run) continues a stored run: its benchmark, protocols, models, orders,
seed and response cache are the manifest's (:func:`courtgraph.evals.resume.resume_plan`), and only
the perturbed cases are judged, so only they are paid for. The originals' records are already in
the run.

Perturbed cases and their records are a run of their own in ``RUN/probes/`` (the same
:class:`~courtgraph.evals.store.RunStore` layout, its manifest saying ``kind: probes``): the run's
own tables, resume and report are untouched by them, each perturbed record is linked to its original
by the case's ``metadata.original``, and ``courtgraph show RUN/probes --case ID~verbosity`` reads a
perturbed transcript like any other. Probing again with more probes adds to it; what is already
judged is not judged twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from courtgraph.agents import simulated
from courtgraph.errors import InputError
from courtgraph.evals.manifest import begin_run
from courtgraph.evals.probes import ProbeRegistry, ProbeSpec, default_registry, perturb_cases
from courtgraph.evals.store import RunStore
from courtgraph.models import use_cache
from courtgraph.models.connections import EndpointSettings, use_endpoint_settings
from courtgraph.schema import Case, Record

if TYPE_CHECKING:  # the loop and the plan (LangGraph) are imported by probe_async: `report` reads probes only
    from courtgraph.evals.plan import CacheLike
    from courtgraph.evals.progress import RunDisplay

#: The folder, inside a run, holding its perturbed cases and their records.
PROBES_DIR = "probes"
#: ``cache`` value meaning "the response cache the run itself used".
RUN_CACHE = "run"


def probes_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / PROBES_DIR


@dataclass
class ProbeResults:
    """What probing a run made: the probes, the perturbed cases and their records (all of them, old and new)."""

    run_dir: Path
    probes: list[ProbeSpec]
    cases: dict[str, Case]
    records: list[Record]
    new_records: int


async def probe_async(run_dir: str | Path, probes: str | Sequence[str], *, registry: ProbeRegistry | None = None,
                      protocols: Sequence[str] | None = None, concurrency: int = 8,
                      cache: CacheLike = RUN_CACHE, progress: bool = False, console: Console | None = None,
                      display: RunDisplay | None = None, command: Sequence[str] | None = None,
                      endpoints: EndpointSettings | None = None) -> ProbeResults:
    """Judge the perturbed twins of the run's cases with the run's protocols (or ``protocols``).

    ``probes``: names, ``name:key=value`` or ``FILE.py:FUNCTION`` (comma-separated or a list), looked
    up in ``registry`` (default: a new :func:`default_registry`). ``cache``: ``"run"`` (the run's own
    response cache), ``"default"``, a path or None. Probes that make no case (``position``,
    ``self-preference``) only choose what the robustness report shows.
    """
    console = console or Console(stderr=True)
    from courtgraph.evals.loop import judge_all
    from courtgraph.evals.progress import NoDisplay, ProgressBar
    from courtgraph.evals.resume import resume_plan

    registry = registry or default_registry()
    specs = registry.resolve(probes)
    run_dir = Path(run_dir)
    with RunStore(run_dir, create=False) as main:
        originals = list(main.cases().values())
        stored_cache = (main.manifest().get("config") or {}).get("cache")
    if not originals:
        raise InputError("the run has no cases to probe", path=run_dir)
    plan = resume_plan(run_dir, protocols=protocols, concurrency=concurrency,
                       cache=stored_cache if cache == RUN_CACHE else cache, command=command, endpoints=endpoints)
    prepared = plan.prepare()
    perturbed = perturb_cases(specs, originals, seed=plan.seed)
    graphs = prepared.graphs
    with RunStore(probes_dir(run_dir)) as store:
        store.lock()
        old = store.manifest()
        labels = list(dict.fromkeys([*old.get("probes", []), *(s.label for s in specs)]))
        manifest = begin_run(store, prepared.config, perturbed, command)
        manifest = {**manifest, "kind": "probes", "parent": str(run_dir), "probes": labels}
        store.write_manifest(manifest)
        finished = store.done()
        todo = [(c, p) for c in perturbed for p in graphs if (c.id, p) not in finished]
        written: list[Record] = []
        display = display or (ProgressBar(console) if progress else NoDisplay())
        display.start(len(perturbed) * len(graphs), len(perturbed) * len(graphs) - len(todo))
        try:
            with use_cache(prepared.cache), simulated.simulation(plan.seed), use_endpoint_settings(prepared.endpoints):
                await judge_all(todo, graphs, prepared.orders, store=store, concurrency=plan.concurrency,
                                display=display, written=written)
        except BaseException as exc:
            store.write_manifest({**manifest, "status": "interrupted" if isinstance(
                exc, asyncio.CancelledError | KeyboardInterrupt) else "failed"})
            raise
        finally:
            display.stop()
        store.write_manifest({**manifest, "status": "finished"})
        cases = store.cases()
        records = store.records()
    return ProbeResults(run_dir=run_dir, probes=specs, cases=cases, records=records, new_records=len(written))


def probe_run(run_dir: str | Path, probes: str | Sequence[str], **kwargs: Any) -> ProbeResults:
    """:func:`probe_async` on one event loop (the sync form, for scripts and notebooks)."""
    return asyncio.run(probe_async(run_dir, probes, **kwargs))


def load_probes(run_dir: str | Path) -> tuple[dict[str, Case], list[Record], list[str]]:
    """A run's perturbed cases, their records and the probes asked for (all empty when never probed)."""
    folder = probes_dir(run_dir)
    if not (folder / "run.db").is_file():
        return {}, [], []
    with RunStore(folder, create=False) as store:
        return store.cases(), store.records(), list(store.manifest().get("probes", []))
