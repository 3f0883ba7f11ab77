"""The harness: cases × protocols × orders, into a run directory, resumable.

Why it is shaped this way:

* One bound for the whole run, in model calls in flight (``concurrency``): a trial starts when its
  calls fit beside those in flight, so a jury's jurors run together (:mod:`courtgraph.models.admission`).
  Each endpoint's bound follows it unless configured apart (the manifest records both).
* Trials are queued case by case, so an interrupted run has finished whole cases for every
  protocol rather than a scatter of half-done ones, and the records in flight at a kill are few.
* A record is written the moment both its trials finish, so a Ctrl-C or a SIGKILL loses only what
  was in flight; re-running into the same directory runs only what is missing (failed records
  included: a transient outage should not be final). With the response cache on, even the calls of
  the lost trials are not paid twice.
* A resumed run must be the same experiment: a different benchmark, different cases under the same
  ids, other models, other protocol parameters, other orders, another seed or a changed prompt
  template would mix two experiments in one table, so they are refused with a message saying which.
* One process writes a run at a time (:meth:`RunStore.lock`): two runs into one directory would
  judge the same records twice. A run that crashes says so in its manifest (``status: failed``).
* Invoking graphs, choosing a case's orders and combining them happen in
  :mod:`courtgraph.graphs.trial`, nowhere else.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from courtgraph.agents import simulated
from courtgraph.errors import InputError
from courtgraph.evals.benchmarks import Benchmark, load_bench
from courtgraph.evals.metrics import Summary, summarize
from courtgraph.evals.store import RunStore, record_failed
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import graph_name, make_record, run_trial, trial_orders
from courtgraph.models import ChatModel, ResponseCache, default_cache_path, use_cache
from courtgraph.models.admission import Admission, use_admission
from courtgraph.models.limits import endpoint_bound
from courtgraph.prompts import PromptError, available_prompts, load_prompt
from courtgraph.schema import ORDERS, Case, Order, Record, Trial, TrialResult, Usage

BenchLike = Benchmark | Sequence[Case] | str
ProtocolsLike = Sequence[str] | Mapping[str, Graph | str]
CacheLike = str | Path | ResponseCache | None

#: Packages whose versions go into every manifest (a result is only as reproducible as its stack).
PACKAGES = ("courtgraph", "langgraph", "langchain-core", "openai", "anthropic", "pydantic")
#: Config keys that change results: a run cannot be resumed with different values.
RESULT_KEYS = ("bench", "roles", "orders", "seed")


@dataclass
class Results:
    """What a run returns: its records, their metrics, and where they are stored.

    ``records`` are read from the run directory on first use (protocol by protocol, each in case order),
    so a run that only prints its summary never holds every transcript at once.
    """

    summary: Summary
    run_dir: Path
    cases: dict[str, Case] = field(default_factory=dict)
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
            keys = store.query("SELECT case_id, protocol FROM records WHERE failed = 1")
            found = [store.record(str(c), str(p)) for c, p in keys if c in self.cases and p in self.protocols]
        order = {(p, c): i for i, (p, c) in enumerate((p, c) for p in self.protocols for c in self.cases)}
        return sorted((r for r in found if r is not None), key=lambda r: order[r.protocol, r.case_id])

    def report(self, console: Console | None = None) -> None:
        """Print the comparison table (the same one ``courtgraph report`` prints)."""
        from courtgraph.evals.report import print_summary

        print_summary(self.summary, console)

    def to_pandas(self) -> Any:
        """One row per record (pandas is optional: ``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Results.to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame([_row(r) for r in self.records])


def _row(r: Record) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case_id": r.case_id, "protocol": r.protocol, "category": r.category, "label": r.label,
        "winner": r.verdict.winner, "status": r.verdict.status, "correct": r.correct,
        "calls": r.usage.calls, "input_tokens": r.usage.input_tokens, "output_tokens": r.usage.output_tokens,
        "cost_usd": r.usage.cost_usd, "saved_usd": r.usage.saved_usd, "latency_s": r.latency_s, "error": r.error,
    }
    for t in r.trials:
        row[f"winner_{t.order}"] = t.case_winner
    return row


# -- inputs ------------------------------------------------------------------------------------------


def _load_cases(bench: BenchLike, field_map: Mapping[str, str] | str | None,
                label_map: Mapping[str, str] | str | None) -> tuple[list[Case], dict[str, Any]]:
    """The benchmark's cases and its identity for the manifest."""
    if isinstance(bench, str):
        loaded = load_bench(bench, field_map=_as_dict(field_map), label_map=_as_dict(label_map))
        return loaded.cases, {"spec": bench, "name": loaded.name, "source": loaded.source,
                              "field_map": field_map, "label_map": label_map}
    if isinstance(bench, Benchmark):
        return list(bench.cases), {"spec": None, "name": bench.name, "source": bench.source}
    return list(bench), {"spec": None, "name": "cases", "source": None}


def _as_dict(mapping: Mapping[str, str] | str | None) -> dict[str, str] | str | None:
    return dict(mapping) if isinstance(mapping, Mapping) else mapping


def select_cases(cases: list[Case], categories: Sequence[str] | None, limit: int | None) -> list[Case]:
    """Cases in the given categories (all when None), then the first ``limit`` of them."""
    if categories:
        known = {c.category for c in cases}
        unknown = [c for c in categories if c not in known]
        if unknown:
            names = ", ".join(sorted(str(k) for k in known if k is not None)) or "(none)"
            raise InputError(f"no cases in categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                             f"this benchmark has: {names}", field="categories")
        cases = [c for c in cases if c.category in categories]
    if limit is not None:
        if limit < 1:
            raise InputError(f"limit must be at least 1, not {limit}", field="limit")
        cases = cases[:limit]
    if not cases:
        raise InputError("the benchmark has no cases", field="bench")
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"case id {dup!r} occurs more than once", field="bench")
    return cases


def protocol_label(spec: str) -> str:
    """The name records carry for a protocol spec: a registry name, or ``file:function`` for a file."""
    if ".py:" in spec:
        path, _, func = spec.rpartition(":")
        return f"{Path(path).stem}:{func}"
    return spec


def build_protocols(protocols: ProtocolsLike, roles: Roles,
                    params: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Graph], dict[str, Any]]:
    """Compiled graphs by record name, and how each was made (for the manifest)."""
    items: list[tuple[str, Graph | str]]
    if isinstance(protocols, Mapping):
        items = list(protocols.items())
    elif isinstance(protocols, str):
        items = [(protocol_label(p), p) for p in protocols.split(",") if p.strip()]
    else:
        items = [(protocol_label(p), p) for p in protocols]
    if not items:
        raise InputError("no protocols given", field="protocols")
    names = [n for n, _ in items]
    if len(set(names)) != len(names):
        raise InputError(f"protocol {next(n for n in names if names.count(n) > 1)!r} is given twice",
                         field="protocols")
    unknown = set(params) - set(names)
    if unknown:
        raise InputError(f"parameters for protocols not in the run: {', '.join(sorted(unknown))}", field="params")
    graphs: dict[str, Graph] = {}
    described: dict[str, Any] = {}
    for name, what in items:
        given = dict(params.get(name, {}))
        if isinstance(what, str):
            spec = what.strip()
            graphs[name] = build_protocol(spec, roles, **given)
            described[name] = {"spec": spec, "params": given, **_file_hash(spec)}
        elif isinstance(what, Pregel):
            if given:
                raise InputError(f"protocol {name!r} is a built graph: give its parameters when building it",
                                 field="params")
            graphs[name] = what
            described[name] = {"graph": graph_name(what), "nodes": sorted(what.nodes)}
        else:
            raise InputError(f"protocol {name!r}: expected a registry name, FILE.py:FUNCTION or a compiled graph, "
                             f"not {type(what).__name__}", field="protocols")
    return graphs, described


def _file_hash(spec: str) -> dict[str, str]:
    """A custom protocol file's hash: editing it makes a different experiment."""
    if ".py:" not in spec:
        return {}
    path = Path(spec.rpartition(":")[0])
    return {"file_sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}


def model_name(model: Any) -> str | None:
    """A model (spec, ChatModel or LangChain model) as a string for the manifest."""
    if model is None or isinstance(model, str):
        return model
    if isinstance(model, ChatModel):
        return model.spec
    return f"{type(model).__name__}:{getattr(model, 'model_name', None) or getattr(model, 'model', '?')}"


def describe_roles(roles: Roles) -> dict[str, Any]:
    return {"model": model_name(roles.model), "judge": model_name(roles.judge),
            "jurors": [model_name(m) for m in roles.jurors], "debaters": [model_name(m) for m in roles.debaters],
            "extra": {k: model_name(m) for k, m in sorted(roles.extra.items())}}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def prompt_hashes() -> dict[str, str]:
    """The hash of every prompt template there is (the records say which ones they used)."""
    return {name: load_prompt(name).hash for name in available_prompts()}


def _normal(value: Any) -> Any:
    """JSON-normalised (tuples become lists), so a config compares equal to its stored copy. Keys keep
    their order: the manifest's protocols are in the run's order, which readers show them in."""
    return json.loads(json.dumps(value, default=str))


# -- resuming ----------------------------------------------------------------------------------------


def open_store(out: str | Path | None, *, resume: bool) -> RunStore:
    """The run directory to write: a new one under ``runs/``, or ``out`` (an existing run is resumed)."""
    if out is None:
        if resume:
            return RunStore(latest_run(), create=False)
        out = Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
        while out.exists():
            out = out.with_name(out.name + "-1")
    path = Path(out)
    if resume:
        return RunStore(path, create=False)
    if path.is_dir() and any(path.iterdir()) and not (path / "run.db").is_file():
        raise InputError("exists and is not a courtgraph run; give a new or empty --out", path=path)
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a directory", path=path)
    return RunStore(path)


def latest_run(root: Path = Path("runs")) -> Path:
    """The most recently updated run under ``root`` (what a bare ``--resume`` continues)."""
    runs = sorted((p.parent for p in root.glob("*/run.db")), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise InputError(f"no run to resume under {root}/; give --out RUN_DIR", field="resume")
    return runs[-1]


def check_resumable(store: RunStore, config: dict[str, Any], cases: list[Case]) -> None:
    """Refuse to add to a run whose results came from a different experiment."""
    old = store.manifest().get("config")
    if old is None:
        return
    new = _normal(config)
    where = f"cannot resume {store.run_dir}"
    hint = "use a new --out, or the run's original settings"
    for key in RESULT_KEYS:
        if key == "bench":
            same = {k: v for k, v in old[key].items() if k != "source"} == \
                   {k: v for k, v in new[key].items() if k != "source"}
        else:
            same = old.get(key) == new[key]
        if not same:
            raise InputError(f"{where}: its {key} was {_short(old.get(key))}, now {_short(new[key])}; {hint}")
    for name, was in old.get("protocols", {}).items():
        now = new["protocols"].get(name)
        if now is not None and now != was:
            raise InputError(f"{where}: protocol {name!r} was {_short(was)}, now {_short(now)}; {hint}")
    stored = store.cases()
    for case in cases:
        if case.id in stored and stored[case.id] != case:
            raise InputError(f"{where}: case {case.id!r} differs from the one stored in the run "
                             f"(the benchmark file changed?); {hint}")
    for name, hashes in store.prompt_hashes().items():
        try:
            current = load_prompt(name).hash
        except PromptError:
            current = "(missing)"
        if hashes != {current}:
            raise InputError(f"{where}: prompt template {name!r} changed since its records were made "
                             f"({', '.join(sorted(hashes))} -> {current}); {hint}")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def begin_run(store: RunStore, config: dict[str, Any], cases: list[Case],
              command: Sequence[str] | None) -> dict[str, Any]:
    """Check that the run can take this invocation, store its cases and write its manifest."""
    check_resumable(store, config, cases)
    old = store.manifest()
    if old.get("config"):  # keep the protocols an earlier invocation ran and this one does not
        config = {**config, "protocols": {**old["config"].get("protocols", {}), **config["protocols"]}}
    store.put_cases(cases)
    manifest = {"command": list(command if command is not None else sys.argv),
                "history": [*old.get("history", []), *([old["command"]] if old.get("command") else [])],
                "cwd": str(Path.cwd()), "config": _normal(config), "versions": versions(),
                "prompts": prompt_hashes(), "seed": config["seed"], "status": "running"}
    store.write_manifest(manifest)
    return manifest


# -- progress ---------------------------------------------------------------------------


class RunProgress:
    """A progress bar with the run's running totals; silent when not on a terminal."""

    def __init__(self, total: int, already: int, *, enabled: bool, console: Console) -> None:
        self.done, self.errors = already, 0
        self.usage = Usage()
        self.started = time.monotonic()
        self.new = 0
        self.console = console
        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                             console=console, disable=not (enabled and console.is_terminal), transient=False)
        self._task = self._bar.add_task("records", total=total, completed=already, stats=self._stats())

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def advance(self, record: Record) -> None:
        self.done += 1
        self.new += 1
        self.errors += record_failed(record)
        self.usage = self.usage + record.usage
        self._bar.update(self._task, completed=self.done, stats=self._stats())

    def _stats(self) -> str:
        u = self.usage
        cost = "cost ?" if u.cost_usd is None else f"${u.cost_usd:.4f}"
        rate = self.new / max(time.monotonic() - self.started, 1e-9)
        errors = f"[red]{self.errors} errors[/]" if self.errors else "0 errors"
        return f"{errors} · {u.calls} calls · {u.tokens:,} tokens · {cost} · {rate:.1f} rec/s"


# -- running -----------------------------------------------------------------------------------------


async def _judge_all(plan: list[tuple[Case, str]], graphs: Mapping[str, Graph], orders: Sequence[Order], *,
                     store: RunStore, concurrency: int, bar: RunProgress,
                     watch: str | None) -> None:
    """Run every (case, protocol) of the plan; each record is stored as soon as its trials finish."""
    admission = Admission(concurrency)

    async def trial(protocol: str, case: Case, order: Order) -> TrialResult:
        graph = graphs[protocol]
        async with admission.trial(protocol):
            if case.id == watch:
                from courtgraph.view.live import watch_trial

                # both orders run at once, so their turns interleave: each says which order it is
                return await watch_trial(graph, Trial(case=case, order=order), bar.console, tag_order=True)
            return await run_trial(graph, Trial(case=case, order=order))

    async def record(case: Case, protocol: str) -> None:
        trials = await asyncio.gather(*(trial(protocol, case, o) for o in trial_orders(case, orders)))
        done = make_record(case, protocol, list(trials))
        store.write(done)
        bar.advance(done)

    # Created in plan order: the admission starts waiting trials first come, first served.
    with use_admission(admission):
        tasks = [asyncio.create_task(record(case, protocol)) for case, protocol in plan]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_async(
    bench: BenchLike,
    protocols: ProtocolsLike,
    *,
    roles: Roles | None = None,
    out: str | Path | None = None,
    orders: Sequence[Order] = ORDERS,
    concurrency: int = 8,
    limit: int | None = None,
    categories: Sequence[str] | None = None,
    seed: int = 0,
    cache: CacheLike = "default",
    progress: bool = True,
    watch: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    field_map: Mapping[str, str] | str | None = None,
    label_map: Mapping[str, str] | str | None = None,
    resume: bool = False,
    command: Sequence[str] | None = None,
    console: Console | None = None,
) -> Results:
    """Judge every case of ``bench`` with every protocol, in both orders, into a run directory.

    ``bench``: a spec (``sample``, ``judgebench:PATH``, ``jsonl:PATH`` with ``field_map`` /
    ``label_map``...), a :class:`Benchmark` or a list of cases. ``protocols``: registry names or
    ``FILE.py:FUNCTION`` specs (built with ``roles``; ``params`` gives per-protocol parameters by
    name), or ``{name: compiled graph or spec}``. ``out``: the run directory (default
    ``runs/<timestamp>``); a directory that already holds this run is resumed, running only what is
    missing; ``resume=True`` requires that (and with ``out=None`` takes the latest run under
    ``runs/``). ``cache``: ``"default"`` (the user's response cache), a path, or None for no cache.
    ``watch``: a case id whose turns are printed as they happen. ``command`` is recorded in the
    manifest (default: this process's command line).
    """
    console = console or Console(stderr=True)
    orders = list(orders)
    if not orders or any(o not in ORDERS for o in orders) or len(set(orders)) != len(orders):
        raise InputError(f"orders must be AB and/or BA, each once, not {orders}", field="orders")
    if concurrency < 1:
        raise InputError(f"concurrency must be at least 1, not {concurrency}", field="concurrency")
    roles = roles or Roles()
    all_cases, bench_id = _load_cases(bench, field_map, label_map)
    cases = select_cases(all_cases, categories, limit)
    if watch is not None and watch not in {c.id for c in cases}:
        raise InputError(f"no case {watch!r} among the cases of this run", field="watch")
    graphs, described = build_protocols(protocols, roles, params or {})
    cache_path = default_cache_path() if cache == "default" else cache
    config = {
        "bench": bench_id, "protocols": described, "roles": describe_roles(roles), "orders": orders,
        "concurrency": concurrency, "endpoint_concurrency": endpoint_bound(concurrency),
        "limit": limit, "categories": list(categories) if categories else None,
        "seed": seed, "cache": None if cache_path is None else str(getattr(cache_path, "path", cache_path)),
    }

    with open_store(out, resume=resume) as store:
        store.lock()
        manifest = begin_run(store, config, cases, command)
        finished = store.done()
        plan = [(c, p) for c in cases for p in graphs if (c.id, p) not in finished]
        total = len(cases) * len(graphs)
        if len(plan) < total:
            console.print(f"resuming {store.run_dir}: {total - len(plan)}/{total} records already done",
                          highlight=False, soft_wrap=True)
        # sim: agents learn each case's truth by candidate content, never through a prompt
        simulated.register_cases(cases, seed)
        bar = RunProgress(total, total - len(plan), enabled=progress, console=console)
        try:
            with use_cache(cache_path), bar:
                await _judge_all(plan, graphs, orders, store=store, concurrency=concurrency, bar=bar, watch=watch)
        except (asyncio.CancelledError, KeyboardInterrupt):
            store.write_manifest({**manifest, "status": "interrupted"})
            console.print(f"interrupted: {bar.done}/{total} records saved in {store.run_dir}; to finish, run the "
                          f"same command with --out {store.run_dir} --resume", highlight=False, soft_wrap=True)
            raise
        except Exception as exc:  # a crash must not leave the run looking as if it were still running
            store.write_manifest({**manifest, "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
            raise
        store.write_manifest({**manifest, "status": "finished"})
        # protocol by protocol, in the order given, each in case order (the report keeps that order); streamed
        # without turns, so the summary of a big run never holds its transcripts (Results reads them on demand)
        ids = {c.id for c in cases}
        light = (r for p in graphs for r in store.iter_records(p, whole=False) if r.case_id in ids)
        summary = summarize(light, seed=seed, simulated=store.simulated_protocols())
        return Results(summary=summary, run_dir=store.run_dir, cases={c.id: c for c in cases},
                       protocols=list(graphs))

