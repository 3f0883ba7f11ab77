"""Where a run is written, and continuing one: the stored settings fill in what is not given again.

``courtgraph run --resume`` (and :func:`resume_plan` in Python) continues a run with only the
settings that change, e.g. a new ``--concurrency``: everything not given is taken from the run's
manifest, so "the same command" and "--resume alone" continue the same experiment. Whether the
result is still the same experiment is checked later, against the stored config
(:func:`courtgraph.evals.manifest.check_resumable`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from courtgraph.errors import InputError
from courtgraph.evals.budget import RunLimits
from courtgraph.evals.plan import CacheLike, RunPlan, protocol_label
from courtgraph.evals.settings import RoleSettings
from courtgraph.evals.store import RunStore
from courtgraph.graphs.registry import Roles
from courtgraph.models.batch_terms import BatchSettings
from courtgraph.models.connections import EndpointSettings
from courtgraph.schema import Order


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


def stored_config(out: str | Path | None) -> tuple[Path, dict[str, Any]]:
    """The run a resume continues (``out``, else the latest under runs/) and the config it stored."""
    run_dir = Path(out) if out is not None else latest_run()
    with RunStore(run_dir, create=False) as store:
        config: dict[str, Any] = store.manifest().get("config") or {}
    if not config:
        raise InputError("the run has no manifest to resume from", path=run_dir)
    return run_dir, config


def resume_plan(out: str | Path | None = None, *, bench: str | None = None, protocols: Sequence[str] | None = None,
                roles: Roles | None = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                orders: Sequence[Order] | None = None, limit: int | None = None,
                categories: Sequence[str] | None = None, sample: int | None = None, shuffle: bool = False,
                cases: Sequence[str] | str | None = None, stratify: bool = True,
                settings: RoleSettings | None = None, limits: RunLimits | None = None, seed: int | None = None,
                field_map: Mapping[str, str] | str | None = None, label_map: Mapping[str, str] | str | None = None,
                concurrency: int | None = None, cache: CacheLike = "default",
                command: Sequence[str] | None = None, endpoints: EndpointSettings | None = None,
                batch: BatchSettings | bool | None = None, prefix_warmup: bool | None = None) -> RunPlan:
    """A plan that continues the run in ``out`` (else the latest under runs/): each setting not given
    (None or empty) is the stored one, the case choice, generation settings, limits, concurrency and
    cache choice (``--no-cache`` included) among them. The stored benchmark and protocols must be
    specs (a run whose cases or graphs were given in Python needs them given again). ``endpoints`` go
    over the stored endpoint settings, field by field: they change no verdict, so they may change, and
    the plan's ``notes`` say how. ``batch``: batch settings, False for synchronous calls, None for the
    run's own (its pending batches are polled again). ``prefix_warmup``: None keeps the run's own."""
    run_dir, old = stored_config(out)
    stored_endpoints = EndpointSettings.from_json((old.get("endpoints") or {}).get("settings"))
    chosen_endpoints = stored_endpoints.merged(endpoints) if endpoints else stored_endpoints
    notes = [] if chosen_endpoints.to_json() == stored_endpoints.to_json() else [
        f"endpoint settings changed on resume (they change no verdict): were {_text(stored_endpoints)}, "
        f"now {_text(chosen_endpoints)}"]
    was = old.get("bench") or {}
    if bench is None and not was.get("spec"):
        raise InputError("the run's benchmark was given in Python: give --bench", field="bench")
    stored_protocols: dict[str, Any] = old.get("protocols") or {}
    if not protocols:
        if not all(p.get("spec") for p in stored_protocols.values()):
            raise InputError("the run has protocols built in Python: give --protocols", field="protocols")
        protocols = [p["spec"] if name == protocol_label(p["spec"]) else f"{name}={p['spec']}"
                     for name, p in stored_protocols.items()]
        params = params or {name: p["params"] for name, p in stored_protocols.items() if p.get("params")}
    chosen = old.get("selection") or {}
    if sample is None and limit is None and cases is None and not shuffle:
        sample, shuffle, stratify = chosen.get("sample"), bool(chosen.get("shuffle")), chosen.get("stratify", True)
        cases = list(chosen.get("cases") or []) or None
    if cache == "default" and "cache" in old:  # the run's own cache choice, --no-cache included
        cache = Path(old["cache"]) if old["cache"] else None
    return RunPlan(
        bench=bench or was["spec"], protocols=list(protocols),
        roles=roles if roles is not None else Roles(**old.get("roles", {})),
        out=run_dir, orders=orders or old.get("orders") or ("AB", "BA"),
        concurrency=concurrency if concurrency is not None else old.get("concurrency") or 8,
        limit=limit if limit is not None else old.get("limit"),
        categories=categories or old.get("categories") or None,
        sample=sample, shuffle=shuffle, cases=cases, stratify=stratify,
        settings=settings if settings else RoleSettings.from_json(old.get("settings")),
        limits=limits if limits is not None else RunLimits.from_json(old.get("limits")),
        endpoints=chosen_endpoints, notes=notes,
        seed=seed if seed is not None else old.get("seed") or 0, cache=cache, params=params,
        field_map=field_map or was.get("field_map"), label_map=label_map or was.get("label_map"),
        resume=True, command=command, calibrate_on=old.get("calibrate_on"), alpha=old.get("alpha", 0.15),
        delta=old.get("delta", 0.1),  # a calibrated run holds out the same cases again
        batch=stored_batch(old) if batch is None else batch if isinstance(batch, BatchSettings) else None,
        prefix_warmup=bool(old.get("prefix_warmup")) if prefix_warmup is None else prefix_warmup,
    )


def _text(settings: EndpointSettings) -> str:
    """Endpoint settings on one line: ``rpm=120, timeout=5; http://host/v1: max_connections=3``."""
    def pairs(values: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())

    parts = [pairs(settings.default.over(settings.file_default).to_json()) or "defaults"]
    parts += [f"{key}: {pairs(limits.to_json())}" for key, limits in sorted(settings.endpoints.items()) if limits]
    return "; ".join(parts)
def stored_batch(config: Mapping[str, Any]) -> BatchSettings | None:
    """The batch settings a run stored (``config.batch``), or None for a synchronous run."""
    stored = config.get("batch")
    return BatchSettings(**stored) if isinstance(stored, dict) else None
