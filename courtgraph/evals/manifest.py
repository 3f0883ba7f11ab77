"""A run's manifest (``manifest.json``): what was run, with which stack, and whether it may be continued.

A resumed run must be the same experiment: a different benchmark, different cases under the same
ids, other models, other protocol parameters, other orders, another seed or a changed prompt
template would mix two experiments in one table, so :func:`check_resumable` refuses them with a
message saying which. The manifest keeps every invocation's command line (``history``), the package
versions and the hash of every prompt template, so a result can be traced to what produced it.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from courtgraph.errors import InputError
from courtgraph.evals.store import RunStore
from courtgraph.prompts import PromptError, available_prompts, load_prompt
from courtgraph.schema import Case

#: Packages whose versions go into every manifest (a result is only as reproducible as its stack).
PACKAGES = ("courtgraph", "langgraph", "langchain-core", "openai", "anthropic", "pydantic")
#: Config keys that change results: a run cannot be resumed with different values.
RESULT_KEYS = ("bench", "roles", "orders", "seed", "settings")


def versions() -> dict[str, str | None]:
    """The installed version of each of :data:`PACKAGES` (None when it is not installed)."""
    out: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def current_template_hashes() -> dict[str, str]:
    """The hash of every prompt template there is, by template name (the manifest's ``prompts``).

    Records say which templates they used (``Record.templates_used``); this is the whole set at the
    time of the run, so a template edited later shows up as a difference.
    """
    return {name: load_prompt(name).hash for name in available_prompts()}


def normal(value: Any) -> Any:
    """JSON-normalised (tuples become lists), so a config compares equal to its stored copy. Keys keep
    their order: the manifest's protocols are in the run's order, which readers show them in."""
    return json.loads(json.dumps(value, default=str))


def check_resumable(store: RunStore, config: dict[str, Any], cases: list[Case]) -> None:
    """Refuse to add to a run whose results came from a different experiment."""
    old = store.manifest().get("config")
    if old is None:
        return
    new = normal(config)
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
    _check_base_urls(old.get("models") or {}, new.get("models") or {}, where, hint)
    stored = store.cases()
    for case in cases:
        if case.id in stored and stored[case.id] != case:
            raise InputError(f"{where}: case {case.id!r} differs from the one stored in the run "
                             f"(the benchmark file changed?); {hint}")
    for name, hashes in store.template_hashes_seen().items():
        try:
            current = load_prompt(name).hash
        except PromptError:
            current = "(missing)"
        if hashes != {current}:
            raise InputError(f"{where}: prompt template {name!r} changed since its records were made "
                             f"({', '.join(sorted(hashes))} -> {current}); {hint}")


def _check_base_urls(then: dict[str, Any], now: dict[str, Any], where: str, hint: str) -> None:
    """Refuse a resume whose role is now called at another base URL (a spec's ``@URL``, ``$OPENAI_BASE_URL``
    or ``$ANTHROPIC_BASE_URL`` changed): the cached answers and the prices depend on the server, so its
    records would mix two experiments. Manifests that recorded no base URL are not checked."""
    for protocol, roles in then.items():
        for role, was in (roles or {}).items():
            is_now = (now.get(protocol) or {}).get(role)
            if not is_now or "base_url" not in was or "base_url" not in is_now:
                continue
            if was["base_url"] != is_now["base_url"]:
                raise InputError(f"{where}: {protocol} {role} was called at {was['base_url'] or 'the default URL'}, "
                                 f"now at {is_now['base_url'] or 'the default URL'} (spec @URL, "
                                 f"$OPENAI_BASE_URL or $ANTHROPIC_BASE_URL); {hint}")


def default_baseline(config: Mapping[str, Any], protocols: Iterable[str]) -> str:
    """What the Δ column compares with when no ``--baseline`` is given, among the protocols ``names``:
    ``single`` when there is one, else a single judge under another name (``fast=single``), else the
    first protocol. (Only ``single`` left a run whose single judge was renamed with no comparison.)"""
    names = list(dict.fromkeys(protocols))
    if "single" in names or not names:
        return "single"
    specs = {name: (described or {}).get("spec") for name, described in (config.get("protocols") or {}).items()}
    return next((name for name in names if specs.get(name) == "single"), names[0])


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def run_identity(old: dict[str, Any]) -> dict[str, Any]:
    """The run's id (kept across resumes: log lines and traces of every invocation share it), when it
    was created and when this invocation started (UTC, ISO 8601)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {"run_id": old.get("run_id") or uuid.uuid4().hex[:12], "created": old.get("created") or now,
            "started": now}


def begin_run(store: RunStore, config: dict[str, Any], cases: list[Case],
              command: Sequence[str] | None) -> dict[str, Any]:
    """Check that the run can take this invocation, store its cases and write its manifest."""
    check_resumable(store, config, cases)
    old = store.manifest()
    if old.get("config"):  # keep the protocols an earlier invocation ran and this one does not
        config = {**config, "protocols": {**old["config"].get("protocols", {}), **config["protocols"]},
                  "models": {**old["config"].get("models", {}), **config.get("models", {})}}
    store.put_cases(cases)
    manifest = {"command": list(command if command is not None else sys.argv),
                "history": [*old.get("history", []), *([old["command"]] if old.get("command") else [])],
                "cwd": str(Path.cwd()), "config": normal(config), "versions": versions(),
                "prompts": current_template_hashes(), "seed": config["seed"], "status": "running",
                **run_identity(old)}
    store.write_manifest(manifest)
    return manifest
