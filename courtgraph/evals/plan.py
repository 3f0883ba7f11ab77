"""What a run is asked to do, shared by Python and the CLI: :class:`RunPlan`, and how it is prepared.

A plan is plain settings (a benchmark spec or cases, protocol names or graphs, which model plays
which role, orders, seed...). :meth:`RunPlan.prepare` turns it into what the loop needs (the chosen
cases, the compiled graphs) and into the ``config`` the manifest stores, which is also what a resume
compares and merges (:mod:`courtgraph.evals.resume`). Every check of the user's input happens here,
before a run directory is created, so a bad argument leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel

from courtgraph.errors import InputError
from courtgraph.evals.benchmarks import Benchmark, load_bench
from courtgraph.evals.budget import RunLimits
from courtgraph.evals.selection import Selection, choose_cases
from courtgraph.evals.settings import RoleSettings, apply_settings, check_endpoints_used, endpoints_in_force
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import graph_name
from courtgraph.models import ChatModel, ModelLike, ResponseCache, default_cache_path, get_model
from courtgraph.models.batch_apis import BATCH_APIS
from courtgraph.models.batch_terms import BatchSettings
from courtgraph.models.connections import EndpointSettings
from courtgraph.models.limits import endpoint_bound
from courtgraph.schema import ORDERS, Case, Order

BenchLike = Benchmark | Sequence[Case] | str
ProtocolsLike = Sequence[str] | Mapping[str, Graph | str]
CacheLike = str | Path | ResponseCache | None


@dataclass
class RunPlan:
    """The settings of one run: what :func:`courtgraph.evals.run` takes, and ``courtgraph run`` builds.

    ``bench``: a spec (``sample``, ``judgebench:PATH``, ``jsonl:PATH`` with ``field_map`` /
    ``label_map``...), a :class:`Benchmark` or a list of cases. ``protocols``: registry names or
    ``FILE.py:FUNCTION`` specs (built with ``roles``; ``params`` gives per-protocol parameters by
    name), or ``{name: compiled graph or spec}``. ``out``: the run directory (default
    ``runs/<timestamp>``); a directory that already holds this run is resumed, running only what is
    missing; ``resume=True`` requires that (and with ``out=None`` takes the latest run under
    ``runs/``). ``cache``: ``"default"`` (the user's response cache), a path, or None for no cache.
    Case choice (:mod:`courtgraph.evals.selection`): ``categories``, ``cases`` (ids, ``"ID,ID"`` or
    ``"@FILE"``), ``sample`` (a seeded random sample of N, stratified by category unless
    ``stratify=False``), ``shuffle``, then ``limit`` (the first N); ``seed`` seeds the choice.
    ``settings``: generation settings for every role and per role (:class:`RoleSettings`, or
    ``{"temperature": 0.7, "judge": {"temperature": 0}}``). ``limits``: a cost limit and an error
    budget (:class:`~courtgraph.evals.budget.RunLimits`). ``endpoints``: calls in flight, timeout,
    retries and RPM/TPM for every endpoint and per endpoint (:class:`~courtgraph.models.connections.
    EndpointSettings`, or ``{"rpm": 500, "http://127.0.0.1:8000/v1": {"max_connections": 4}}``); they
    change no verdict, so a resume may change them (``notes`` then says so in the run's log).
    ``command`` is recorded in the manifest (default: this process's command line). ``calibrate_on``:
    hold out the first N cases to calibrate every ``cascade``'s thresholds (agreement >= 1 - ``alpha``
    with probability >= 1 - ``delta``; :mod:`courtgraph.evals.calibration`); they are not judged.
    """

    bench: BenchLike
    protocols: ProtocolsLike
    roles: Roles | None = None
    out: str | Path | None = None
    orders: Sequence[Order] | None = None  # None: both, unless the roles are recordings of one order only
    concurrency: int = 8
    limit: int | None = None
    categories: Sequence[str] | None = None
    sample: int | None = None
    shuffle: bool = False
    cases: Sequence[str] | str | None = None
    stratify: bool = True
    settings: RoleSettings | Mapping[str, Any] | None = None
    limits: RunLimits | None = None
    endpoints: EndpointSettings | Mapping[str, Any] | None = None
    seed: int = 0
    cache: CacheLike = "default"
    params: Mapping[str, Mapping[str, Any]] | None = None
    field_map: Mapping[str, str] | str | None = None
    label_map: Mapping[str, str] | str | None = None
    resume: bool = False
    command: Sequence[str] | None = None
    calibrate_on: int | None = None
    alpha: float = 0.15
    delta: float = 0.1
    notes: Sequence[str] = ()  # said before the run starts, and in its log (a resume's changed endpoints)
    batch: BatchSettings | None = None  # --batch: calls through the providers' batch APIs (models/batching.py)
    prefix_warmup: bool = False  # --prefix-warmup: calls sharing a cacheable prefix wait for its first answer

    def prepare(self) -> PreparedRun:
        """Check every setting, load and choose the cases, build the protocols: raises InputError first."""
        orders, order_note = self._orders()
        if not orders or any(o not in ORDERS for o in orders) or len(set(orders)) != len(orders):
            raise InputError(f"orders must be AB and/or BA, each once, not {orders}", field="orders")
        if self.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, not {self.concurrency}", field="concurrency")
        settings = RoleSettings.of(self.settings)
        endpoints = EndpointSettings.of(self.endpoints)
        check_endpoints_used(endpoints, self.roles or Roles())
        roles = apply_settings(self.roles or Roles(), settings)
        all_cases, bench_id = load_cases(self.bench, self.field_map, self.label_map)
        selection = Selection.build(categories=self.categories, cases=self.cases, sample=self.sample,
                                    stratify=self.stratify, shuffle=self.shuffle, limit=self.limit, seed=self.seed)
        cases, warnings = select_cases(all_cases, selection)
        warnings += [order_note] if order_note else []
        warnings += list(self.notes)
        held_out: list[Case] = []
        if self.calibrate_on:
            if not 0 < self.calibrate_on < len(cases):
                raise InputError(f"calibrate-on {self.calibrate_on} must leave cases to judge (of {len(cases)})",
                                 field="calibrate_on")
            held_out, cases = cases[:self.calibrate_on], cases[self.calibrate_on:]
        graphs, described = build_protocols(self.protocols, roles, self.params or {})
        cache_path = default_cache_path() if self.cache == "default" else self.cache
        limits = self.limits or RunLimits()
        config = {
            "bench": bench_id, "bench_sha256": bench_hash(bench_id), "models": models_of(described),
            "protocols": {name: {k: v for k, v in d.items() if k != "models"} for name, d in described.items()},
            "roles": describe_roles(roles), "orders": orders,
            "concurrency": self.concurrency,
            "endpoint_concurrency": endpoints.default.max_connections or endpoint_bound(self.concurrency),
            "endpoints": {"settings": endpoints.to_json(),
                          "in_force": endpoints_in_force(endpoints, self.roles or Roles(), self.concurrency)},
            "limit": self.limit,
            "categories": list(self.categories) if self.categories else None,
            "selection": selection.to_json(), "settings": settings.to_json() if settings else None,
            "limits": limits.to_json(), "seed": self.seed,
            "cache": None if cache_path is None else str(getattr(cache_path, "path", cache_path)),
            **({"calibrate_on": self.calibrate_on, "alpha": self.alpha, "delta": self.delta} if held_out else {}),
            **({"batch": self.batch.to_json()} if self.batch else {}),
            **({"prefix_warmup": True} if self.prefix_warmup else {}),
        }
        if self.batch is not None:
            warnings += batch_warnings(models_of(described))
        return PreparedRun(plan=self, cases=cases, graphs=graphs, orders=orders, config=config,
                           cache=cache_path, selection=selection, limits=limits, warnings=warnings,
                           held_out=held_out, endpoints=endpoints)


    def _orders(self) -> tuple[list[Order], str | None]:
        """The orders asked for; by default both, or the one order that every recorded role covers (a
        recording of one order replayed in both would report the other as invalid), with a note saying so."""
        if self.orders is not None:
            return list(self.orders), None
        roles = self.roles or Roles()
        specs = [roles.model, roles.judge, *roles.jurors, *roles.debaters]
        if not any(isinstance(s, str) and s.startswith("recorded:") for s in specs):
            return list(ORDERS), None  # no recording (recorded_orders would say so): its module is not loaded
        from courtgraph.evals.recorded import recorded_orders

        covered = recorded_orders(specs)
        if covered is not None and len(covered) == 1:
            return list(covered), (f"the recorded judges cover order {covered[0]} only: judging that order alone "
                                   "(give both orders to judge them anyway)")
        return list(ORDERS), None


@dataclass
class PreparedRun:
    """A checked plan: the cases to judge, the compiled graphs by record name, and the manifest's config."""

    plan: RunPlan
    cases: list[Case]
    graphs: dict[str, Graph]
    orders: list[Order]
    config: dict[str, Any]
    cache: CacheLike
    selection: Selection
    limits: RunLimits
    warnings: list[str]
    held_out: list[Case] = field(default_factory=list)  # calibration cases (--calibrate-on), not judged
    endpoints: EndpointSettings = field(default_factory=EndpointSettings)  # made current while the run calls


def batch_warnings(models: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Batch mode's note on models without a batch API (they run synchronously); an InputError when no
    model of the run has one (``--batch`` would change nothing: a mistake worth a clear exit)."""
    used = {d.get("spec"): d.get("provider") for roles in models.values() for d in roles.values() if d.get("spec")}
    if not any(provider in BATCH_APIS for provider in used.values()):
        raise InputError(f"no model of this run has a batch API ({', '.join(BATCH_APIS)}): "
                         f"{', '.join(sorted(map(str, used))) or 'none'}; run without --batch", field="batch")
    sync = sorted(str(spec) for spec, provider in used.items() if provider not in BATCH_APIS)
    return [f"batch mode: {', '.join(sync)} {'has' if len(sync) == 1 else 'have'} no batch API: "
            "called synchronously"] if sync else []


# -- cases -------------------------------------------------------------------------------------------


def load_cases(bench: BenchLike, field_map: Mapping[str, str] | str | None,
               label_map: Mapping[str, str] | str | None) -> tuple[list[Case], dict[str, Any]]:
    """The benchmark's cases and its identity for the manifest."""
    if isinstance(bench, str):
        loaded = load_bench(bench, field_map=_as_dict(field_map), label_map=_as_dict(label_map))
        return loaded.cases, {"spec": bench, "name": loaded.name, "source": loaded.source,
                              "field_map": field_map, "label_map": label_map,
                              **({"notes": loaded.notes} if loaded.notes else {})}
    if isinstance(bench, Benchmark):
        return list(bench.cases), {"spec": None, "name": bench.name, "source": bench.source}
    return list(bench), {"spec": None, "name": "cases", "source": None}


def _as_dict(mapping: Mapping[str, str] | str | None) -> dict[str, str] | str | None:
    return dict(mapping) if isinstance(mapping, Mapping) else mapping


def select_cases(cases: list[Case], selection: Selection) -> tuple[list[Case], list[str]]:
    """The cases a run judges (see :mod:`courtgraph.evals.selection`) and the warnings about the choice."""
    chosen, warnings = choose_cases(cases, selection)
    if not chosen:
        raise InputError("the benchmark has no cases", field="bench")
    ids = [c.id for c in chosen]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"case id {dup!r} occurs more than once", field="bench")
    return chosen, warnings


# -- protocols and roles -----------------------------------------------------------------------------


def protocol_label(spec: str) -> str:
    """The name records carry for a protocol spec: a registry name, or ``file:function`` for a file."""
    if ".py:" in spec:
        path, _, func = spec.rpartition(":")
        return f"{Path(path).stem}:{func}"
    return spec


def named_protocol(spec: str) -> tuple[str, str]:
    """``NAME=SPEC`` (``mine=my_protocols.py:build``, ``strict=jury``) -> (NAME, SPEC); a bare spec is
    named by :func:`protocol_label`."""
    name, sep, rest = spec.partition("=")
    if sep and name.strip() and rest.strip() and ":" not in name and "/" not in name:
        return name.strip(), rest.strip()
    return protocol_label(spec), spec


def build_protocols(protocols: ProtocolsLike, roles: Roles,
                    params: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Graph], dict[str, Any]]:
    """Compiled graphs by record name, and how each was made (for the manifest)."""
    items: list[tuple[str, Graph | str]]
    if isinstance(protocols, Mapping):
        items = list(protocols.items())
    elif isinstance(protocols, str):
        items = [named_protocol(p) for p in protocols.split(",") if p.strip()]
    else:
        items = [named_protocol(p) for p in protocols]
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
            asked = RoleLog.of(roles)  # which model each role of this protocol was given
            graphs[name] = build_protocol(spec, asked, **given)
            described[name] = {"spec": spec, "params": given, **_file_hash(spec), "models": asked.described()}
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


def bench_hash(bench_id: Mapping[str, Any]) -> str | None:
    """The SHA-256 of the benchmark's file (None for cases given in Python): two runs that judged
    different files must not be compared as if they judged the same cases."""
    source = bench_id.get("source")
    if not source or not Path(str(source)).is_file():
        return None
    return hashlib.sha256(Path(str(source)).read_bytes()).hexdigest()


def models_of(described: Mapping[str, Any]) -> dict[str, Any]:
    """Per protocol, the model of each role (the manifest's ``config.models``)."""
    return {name: d.get("models", {}) for name, d in described.items()}


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


def describe_model(model: Any) -> dict[str, Any]:
    """A role's model as provenance: its spec, provider, model name, the base URL it is really called
    at (after ``--judge ...@URL``, ``$OPENAI_BASE_URL`` or ``$ANTHROPIC_BASE_URL``) and its settings."""
    if model is None:
        return {"spec": None}
    try:
        chat = model if isinstance(model, ChatModel) else get_model(model)
    except Exception:  # described, not used: a model that cannot be built here is still named
        return {"spec": model_name(model)}
    return {"spec": chat.spec, "provider": chat.provider, "model": chat.model, "base_url": chat.base_url,
            "settings": chat.params.cache_fields()}


@dataclass
class RoleLog(Roles):
    """:class:`Roles` that note which model each role was given while a protocol is built, so the
    manifest can say, per protocol, who judged, who sat on the jury and who debated."""

    asked: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, roles: Roles) -> RoleLog:
        return cls(model=roles.model, judge=roles.judge, jurors=list(roles.jurors), debaters=list(roles.debaters),
                   extra=dict(roles.extra))

    def get(self, role: str) -> ModelLike:
        model = super().get(role)
        self.asked.setdefault(role, model)
        return model

    def juror_models(self, default_n: int = 3) -> list[ModelLike]:
        models = super().juror_models(default_n)
        for i, model in enumerate(models, 1):
            self.asked[f"juror {i}"] = model
        self.asked.pop("juror", None)  # the jurors are named one by one
        return models

    def debater_models(self) -> tuple[ModelLike, ModelLike]:
        a, b = super().debater_models()
        self.asked.pop("debater", None)
        self.asked.update({"debater A": a, "debater B": b})
        return a, b

    def described(self) -> dict[str, Any]:
        """Each role asked for, with its model described (:func:`describe_model`)."""
        return {role: describe_model(model) for role, model in self.asked.items()}


def describe_roles(roles: Roles) -> dict[str, Any]:
    """The roles as the manifest stores them (and a resume rebuilds them from: ``Roles(**described)``)."""
    return {"model": model_name(roles.model), "judge": model_name(roles.judge),
            "jurors": [model_name(m) for m in roles.jurors], "debaters": [model_name(m) for m in roles.debaters],
            "extra": {k: model_name(m) for k, m in sorted(roles.extra.items())}}
