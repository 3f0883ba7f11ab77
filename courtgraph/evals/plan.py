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
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import graph_name
from courtgraph.models import ChatModel, ModelLike, ResponseCache, default_cache_path, get_model
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
    ``command`` is recorded in the manifest (default: this process's command line).
    """

    bench: BenchLike
    protocols: ProtocolsLike
    roles: Roles | None = None
    out: str | Path | None = None
    orders: Sequence[Order] = ORDERS
    concurrency: int = 8
    limit: int | None = None
    categories: Sequence[str] | None = None
    seed: int = 0
    cache: CacheLike = "default"
    params: Mapping[str, Mapping[str, Any]] | None = None
    field_map: Mapping[str, str] | str | None = None
    label_map: Mapping[str, str] | str | None = None
    resume: bool = False
    command: Sequence[str] | None = None

    def prepare(self) -> PreparedRun:
        """Check every setting, load and choose the cases, build the protocols: raises InputError first."""
        orders = list(self.orders)
        if not orders or any(o not in ORDERS for o in orders) or len(set(orders)) != len(orders):
            raise InputError(f"orders must be AB and/or BA, each once, not {orders}", field="orders")
        if self.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, not {self.concurrency}", field="concurrency")
        roles = self.roles or Roles()
        all_cases, bench_id = load_cases(self.bench, self.field_map, self.label_map)
        cases = select_cases(all_cases, self.categories, self.limit)
        graphs, described = build_protocols(self.protocols, roles, self.params or {})
        cache_path = default_cache_path() if self.cache == "default" else self.cache
        config = {
            "bench": bench_id, "bench_sha256": bench_hash(bench_id), "models": models_of(described),
            "protocols": {name: {k: v for k, v in d.items() if k != "models"} for name, d in described.items()},
            "roles": describe_roles(roles), "orders": orders,
            "concurrency": self.concurrency, "limit": self.limit,
            "categories": list(self.categories) if self.categories else None, "seed": self.seed,
            "cache": None if cache_path is None else str(getattr(cache_path, "path", cache_path)),
        }
        return PreparedRun(plan=self, cases=cases, graphs=graphs, orders=orders, config=config,
                           cache=cache_path)


@dataclass
class PreparedRun:
    """A checked plan: the cases to judge, the compiled graphs by record name, and the manifest's config."""

    plan: RunPlan
    cases: list[Case]
    graphs: dict[str, Graph]
    orders: list[Order]
    config: dict[str, Any]
    cache: CacheLike


# -- cases -------------------------------------------------------------------------------------------


def load_cases(bench: BenchLike, field_map: Mapping[str, str] | str | None,
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


# -- protocols and roles -----------------------------------------------------------------------------


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
            "settings": chat.params.model_dump()}


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
