"""Generation settings per role: what every role uses, what one role overrides, and a roles file.

A debate's debaters may want temperature 0.7 while its judge keeps 0; a jury may mix providers.
:class:`RoleSettings` holds settings for every role (``all``) and per role (``roles``: ``judge``,
``juror``, ``debater``, ``consultant``, ...); :func:`apply_settings` turns a :class:`Roles` into one
whose models carry them (:func:`courtgraph.models.params.bind_settings`). The run records the settings
in its manifest and refuses to resume with others, since they change the answers.

A roles file (TOML) says the same for complex set-ups::

    temperature = 0.3                 # top-level settings: every role
    model = "openai:gpt-4o-mini"      # the default model

    [judge]
    model = "openai:gpt-4o"
    temperature = 0

    [juror]
    models = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest"]

    [debater]
    temperature = 0.7

    [endpoints]                       # endpoint settings for every endpoint (the flags override these)
    timeout = 120

    [endpoints."http://127.0.0.1:8000/v1"]   # one endpoint (a base URL, PROVIDER@URL or PROVIDER): over the flags
    max_connections = 4
    rpm = 600

Endpoint settings (:mod:`courtgraph.models.connections`) are read by :func:`load_endpoints_file`; a key
that no model of the run uses is refused (:func:`check_endpoints_used`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from courtgraph.errors import InputError
from courtgraph.graphs.registry import Roles
from courtgraph.models.base import ChatModel, GenerateParams
from courtgraph.models.connections import SETTINGS, EndpointLimits, EndpointSettings, endpoint_key, in_force
from courtgraph.models.limits import Endpoint
from courtgraph.models.params import bind_settings, with_settings

#: Roles the built-in protocols have; a setting for another name is a typo.
ROLE_NAMES = ("judge", "juror", "debater", "consultant", "prosecutor", "defender", "witness", "aggregator",
              "specialist")
#: Roles that take a list of models (one juror each; one debater for both sides, or two).
LIST_ROLES = ("juror", "debater")


@dataclass(frozen=True)
class RoleSettings:
    """Settings for every role (``all``) and per role (``roles``), as ``key: value`` mappings."""

    all: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.roles) - set(ROLE_NAMES))
        if unknown:
            raise InputError(f"no role named {', '.join(unknown)}; roles are {', '.join(ROLE_NAMES)}",
                             field="roles")
        for role, given in [("all", self.all), *self.roles.items()]:  # fail on a bad value before any work
            with_settings(GenerateParams(), given, option=f"{role}-args" if role != "all" else "settings")

    def __bool__(self) -> bool:
        return bool(self.all or any(self.roles.values()))

    def merged(self, other: RoleSettings) -> RoleSettings:
        """These settings with ``other``'s on top (the command line over a roles file)."""
        roles = {r: {**self.roles.get(r, {}), **other.roles.get(r, {})} for r in {*self.roles, *other.roles}}
        return RoleSettings(all={**self.all, **other.all}, roles={r: v for r, v in roles.items() if v})

    def for_role(self, role: str) -> dict[str, Any]:
        return {**self.all, **self.roles.get(role, {})}

    def to_json(self) -> dict[str, Any] | None:
        """The manifest's copy; None when nothing is set (so runs from before settings resume as they were)."""
        if not self:
            return None
        return {"all": dict(self.all), "roles": {r: dict(v) for r, v in sorted(self.roles.items()) if v}}

    @classmethod
    def of(cls, value: RoleSettings | Mapping[str, Any] | None) -> RoleSettings:
        """From Python's shorthand: ``{"temperature": 0.7, "judge": {"temperature": 0}}`` (a role's name
        holds that role's settings; any other key is a setting for every role)."""
        if isinstance(value, RoleSettings):
            return value
        given = dict(value or {})
        roles = {k: dict(v) for k, v in given.items() if k in ROLE_NAMES and isinstance(v, Mapping)}
        return cls(all={k: v for k, v in given.items() if k not in roles}, roles=roles)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RoleSettings:
        if not data:
            return cls()
        return cls(all=dict(data.get("all") or {}), roles={r: dict(v) for r, v in (data.get("roles") or {}).items()})


def apply_settings(roles: Roles, settings: RoleSettings | None) -> Roles:
    """``roles`` with every model carrying its role's settings. Roles that fall back to ``model`` get
    ``model`` with their own settings when they have some."""
    if not settings:
        return roles

    def bind(model: Any, role: str) -> Any:
        return bind_settings(model, settings.for_role(role), option=f"{role}-args")

    default = bind_settings(roles.model, settings.all) if roles.model is not None else None
    judge = roles.judge
    if judge is not None or "judge" in settings.roles:
        base = judge if judge is not None else roles.model
        judge = bind(base, "judge") if base is not None else None
    extra = {name: bind(m, name) for name, m in roles.extra.items()}
    lists: dict[str, list[Any]] = {}
    for role, given in (("juror", roles.jurors), ("debater", roles.debaters)):
        lists[role] = [bind(m, role) for m in given]
        if not given and role in settings.roles and roles.model is not None and role not in extra:
            extra[role] = bind(roles.model, role)
    for role in settings.roles:
        if role not in ("judge", *LIST_ROLES) and role not in extra and roles.model is not None:
            extra[role] = bind(roles.model, role)
    return replace(roles, model=default, judge=judge, jurors=lists["juror"], debaters=lists["debater"], extra=extra)


def load_roles_file(path: str | Path) -> tuple[dict[str, Any], RoleSettings]:
    """A roles file (module docstring): the models it names (``model``, ``judge``, ``jurors``,
    ``debaters``, ``extra``: :class:`Roles` arguments) and its settings."""
    path = Path(path)
    data = _read_toml(path)
    models: dict[str, Any] = {}
    every: dict[str, Any] = {}
    per_role: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key in SETTINGS:
            raise InputError(f"{key} is an endpoint setting: give it in an [endpoints] table (every endpoint) or "
                             f'[endpoints."URL"] (one endpoint), or as --{key.replace("_", "-")}', path=path,
                             field=key)
        if key == "endpoints":
            continue  # load_endpoints_file
        if key == "model":
            models["model"] = _spec(value, path, key)
        elif isinstance(value, dict):
            if key not in ROLE_NAMES:
                raise InputError(f"no role named {key!r}; roles are {', '.join(ROLE_NAMES)}", path=path, field=key)
            table = dict(value)
            if "model" in table and "models" in table:
                raise InputError("give model or models, not both", path=path, field=f"{key}.models")
            if "models" in table or (key in LIST_ROLES and "model" in table):
                raw = table.pop("models", None) or [table.pop("model")]
                specs = raw if isinstance(raw, list) else [raw]
                if key not in LIST_ROLES:
                    raise InputError("only juror and debater take a list of models", path=path, field=f"{key}.models")
                models[f"{key}s"] = [_spec(s, path, f"{key}.models") for s in specs]
            elif "model" in table:
                spec = _spec(table.pop("model"), path, f"{key}.model")
                if key == "judge":
                    models["judge"] = spec
                else:
                    models.setdefault("extra", {})[key] = spec
            if misplaced := sorted(set(table) & set(SETTINGS)):
                raise InputError(f"{misplaced[0]} is an endpoint setting, not a role's: give it in an "
                                 '[endpoints."URL"] table for the endpoint of that model', path=path,
                                 field=f"{key}.{misplaced[0]}")
            per_role[key] = table
        else:
            every[key] = value
    try:
        return models, RoleSettings(all=every, roles={r: v for r, v in per_role.items() if v})
    except InputError as exc:
        raise InputError(exc.message, path=path, field=exc.field) from None


def _spec(value: Any, path: Path, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"expected a model spec string, not {value!r}", path=path, field=where)
    return value.strip()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the roles file: {exc.strerror or exc}", path=path, field="roles") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=path, field="roles") from None


def load_endpoints_file(path: str | Path) -> EndpointSettings:
    """A roles file's ``[endpoints]`` table (module docstring): its own keys for every endpoint (below the
    flags), its sub-tables per endpoint (above them). A bad value names the file and the field."""
    path = Path(path)
    table = _read_toml(path).get("endpoints", {})
    if not isinstance(table, dict):
        raise InputError("expected a table: [endpoints]", path=path, field="endpoints")
    every = {k: v for k, v in table.items() if not isinstance(v, dict)}
    try:
        per = {k.strip(): EndpointLimits.parse(v, where=f'endpoints."{k}"') for k, v in table.items()
               if isinstance(v, dict)}
        return EndpointSettings(file_default=EndpointLimits.parse(every, where="endpoints"), endpoints=per,
                                source=str(path))
    except InputError as exc:
        raise InputError(exc.message, path=path, field=exc.field) from None


def check_endpoints_used(settings: EndpointSettings, roles: Roles) -> None:
    """Refuse endpoint keys that no model of the run uses (a typo in a URL would silently set nothing)."""
    if not settings.endpoints:
        return
    used = endpoints_of(roles)
    unused = settings.unused(used)
    if unused:
        named = ", ".join(f"{p}@{u}" for p, u in used) or "none (no model of this run calls an endpoint)"
        raise InputError(f"no model of this run uses this endpoint; the run's endpoints are: {named}",
                         path=settings.source, field=f'endpoints."{unused[0]}"')


def endpoints_in_force(settings: EndpointSettings, roles: Roles, concurrency: int) -> dict[str, Any]:
    """Per endpoint the roles call (``PROVIDER@URL``), the settings it gets (the manifest records them)."""
    return {endpoint_key(e.provider, e.base_url): in_force(e.provider, e.base_url, settings, e.configured,
                                                           concurrency) for e in _endpoints(roles)}


def endpoints_of(roles: Roles) -> list[tuple[str, str]]:
    """The (provider, base URL) of every endpoint the roles' models call, in order, once each."""
    return [(e.provider, e.base_url) for e in _endpoints(roles)]


def _endpoints(roles: Roles) -> list[Endpoint]:
    from courtgraph.models import get_model

    found: dict[tuple[str, str], Endpoint] = {}
    for model in [roles.model, roles.judge, *roles.jurors, *roles.debaters, *roles.extra.values()]:
        if model is None:
            continue
        try:
            chat = model if isinstance(model, ChatModel) else get_model(model)
        except Exception:  # a model that cannot be built fails where it is built, with its own message
            continue
        endpoint = getattr(chat, "endpoint", None)
        if isinstance(endpoint, Endpoint):
            found.setdefault((endpoint.provider, endpoint.base_url), endpoint)
    return list(found.values())
