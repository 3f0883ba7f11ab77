"""Endpoint settings of a run: calls in flight, timeout, retries and request/token budgets, per endpoint.

An endpoint is one provider at one base URL (:class:`~courtgraph.models.limits.Endpoint`). A run gives
settings for every endpoint (``--max-connections``, ``--timeout``, ``--max-retries``, ``--rpm``,
``--tpm``) and per endpoint (a roles file's ``[endpoints."URL"]`` tables), held in an
:class:`EndpointSettings`. The settings are the run's, not the process's: the run makes them current
(:func:`use_endpoint_settings`, a context variable like the run's admission), and every call reads them
where it is made: :meth:`Endpoint.slot <courtgraph.models.limits.Endpoint.slot>` for the bound and the
budgets, :class:`~courtgraph.models.endpoint.EndpointModel` for the timeout and the retries. A call
outside a run, or a setting the run does not give, falls back to the environment and the defaults.

Precedence, most specific first: the run's entry for the endpoint, then its setting for every endpoint
(the flags; in a roles file, the ``[endpoints]`` table's own keys rank below the flags), then what
Python configured on the endpoint or the model (``Endpoint.configure``, ``timeout=``), then the
environment (``$COURTGRAPH_MAX_CONCURRENCY``, ``$COURTGRAPH_TIMEOUT``, ``$COURTGRAPH_MAX_RETRIES``,
``$COURTGRAPH_RPM``, ``$COURTGRAPH_TPM``), then the defaults: as many calls as the run's
``--concurrency``, 60 s, 3 retries, no RPM or TPM budget.

Endpoint keys: ``"URL"`` (every provider at that base URL), ``"PROVIDER@URL"`` or ``"PROVIDER"`` (every
endpoint of that provider, e.g. ``openai`` or ``langchain:google_genai``); the most specific key that
matches wins, field by field over the settings for every endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any

from courtgraph.errors import InputError
from courtgraph.models.errors import ConfigError
from courtgraph.models.retry import env_retries

#: Each setting: (the CLI option, the environment variable, whole number?, least value).
SETTINGS: Mapping[str, tuple[str, str, bool, float]] = {
    "max_connections": ("--max-connections", "COURTGRAPH_MAX_CONCURRENCY", True, 1),
    "timeout": ("--timeout", "COURTGRAPH_TIMEOUT", False, 0),
    "max_retries": ("--max-retries", "COURTGRAPH_MAX_RETRIES", True, 0),
    "rpm": ("--rpm", "COURTGRAPH_RPM", True, 1),
    "tpm": ("--tpm", "COURTGRAPH_TPM", True, 1),
}
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 3


def env_number(name: str, default: float, *, integer: bool = False) -> float:
    """A positive number from the environment, or ``default``; a bad value is a ConfigError."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"${name} must be a positive {'integer' if integer else 'number'}, got {raw!r}")
    return value


def check_value(name: str, value: Any, *, where: str) -> int | float:
    """``value`` as the number setting ``name`` takes, or an error naming ``where`` and what was expected:
    a whole number of at least 1 (max_connections, rpm, tpm; 0 or more for max_retries), seconds above 0."""
    _, _, whole, least = SETTINGS[name]
    number: int | float | None = None
    if isinstance(value, str):
        try:
            number = int(value) if whole else float(value)
        except ValueError:
            number = None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    if whole and isinstance(number, float):
        number = int(number) if number.is_integer() else None
    if number is None or number != number or number in (float("inf"),):
        number = None
    ok = number is not None and (number >= least if whole else number > least)
    if not ok:
        wanted = (f"a whole number of at least {least:g}" if whole else "a number of seconds above 0")
        raise InputError(f"expected {wanted}, not {value!r}", field=where)
    assert number is not None
    return number


@dataclass(frozen=True)
class EndpointLimits:
    """The five settings of one endpoint (or of every endpoint); None: not given here."""

    max_connections: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    rpm: int | None = None
    tpm: int | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, where: str = "") -> EndpointLimits:
        """From ``{name: value}``; an unknown name or a bad value is an :class:`InputError` whose field is
        ``where.NAME`` (e.g. ``endpoints."http://host/v1".rpm``), or the option for a flag (``where`` "")."""
        given: dict[str, Any] = {}
        for name, value in values.items():
            label = f"{where}.{name}" if where else SETTINGS.get(name, (name,))[0].lstrip("-")
            if name not in SETTINGS:
                raise InputError(f"no endpoint setting {name!r}; they are {', '.join(SETTINGS)}", field=label)
            if value is not None:
                given[name] = check_value(name, value, where=label)
        return cls(**given)

    def over(self, base: EndpointLimits) -> EndpointLimits:
        """These settings, and ``base``'s where these give none."""
        return replace(base, **self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The settings given (None left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def __bool__(self) -> bool:
        return bool(self.to_json())


NO_LIMITS = EndpointLimits()


def parse_key(key: str) -> tuple[str | None, str | None]:
    """An endpoint key as (provider or None, base URL or None); see the module docstring."""
    key = key.strip()
    if "://" in key and not key.startswith(("http://", "https://")) and "@http" not in key:
        raise InputError(f"expected an http(s):// base URL, not {key!r}", field=f'endpoints."{key}"')
    if key.startswith(("http://", "https://")):
        return None, key.rstrip("/")
    provider, sep, url = key.partition("@")
    if sep and url.startswith(("http://", "https://")) and provider:
        return provider, url.rstrip("/")
    if not sep and key:
        return key, None
    raise InputError(f"expected URL, PROVIDER@URL or PROVIDER, not {key!r}", field=f'endpoints."{key}"')


def endpoint_key(provider: str, base_url: str) -> str:
    """How the manifest names an endpoint: ``PROVIDER@URL``."""
    return f"{provider}@{base_url.rstrip('/')}"


@dataclass(frozen=True)
class EndpointSettings:
    """A run's endpoint settings: ``default`` for every endpoint, ``endpoints`` per endpoint key (module
    docstring), ``file_default`` (a roles file's ``[endpoints]`` keys: below the flags), and ``source``,
    the roles file they came from (named in errors)."""

    default: EndpointLimits = NO_LIMITS
    endpoints: Mapping[str, EndpointLimits] = field(default_factory=dict)
    file_default: EndpointLimits = NO_LIMITS
    source: str | None = None
    #: each endpoint's settings once worked out (every call asks)
    _memo: dict[tuple[str, str], EndpointLimits] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)

    def __post_init__(self) -> None:
        for key in self.endpoints:
            parse_key(key)

    def __bool__(self) -> bool:
        return bool(self.default or self.file_default or any(self.endpoints.values()))

    def for_endpoint(self, provider: str, base_url: str) -> EndpointLimits:
        """The settings for one endpoint: the most specific matching entries, then the defaults."""
        found = self._memo.get((provider, base_url))
        if found is None:
            found = self._memo[(provider, base_url)] = self._work_out(provider, base_url)
        return found

    def _work_out(self, provider: str, base_url: str) -> EndpointLimits:
        url = base_url.rstrip("/")
        found = self.default.over(self.file_default)
        ranked = []
        for key, limits in self.endpoints.items():
            p, u = parse_key(key)
            if (p is None or p == provider) and (u is None or u == url):
                ranked.append(((p is not None) + 2 * (u is not None), limits))
        for _, limits in sorted(ranked, key=lambda r: r[0]):
            found = limits.over(found)
        return found

    def unused(self, used: list[tuple[str, str]]) -> list[str]:
        """The endpoint keys that match none of the ``(provider, base URL)`` pairs the run uses."""
        out = []
        for key in self.endpoints:
            p, u = parse_key(key)
            if not any((p is None or p == prov) and (u is None or u == url.rstrip("/")) for prov, url in used):
                out.append(key)
        return out

    def merged(self, other: EndpointSettings) -> EndpointSettings:
        """These settings with ``other``'s on top, field by field (a resume's flags over the stored ones)."""
        keys = {*self.endpoints, *other.endpoints}
        return EndpointSettings(
            default=other.default.over(self.default), file_default=other.file_default.over(self.file_default),
            endpoints={k: other.endpoints.get(k, NO_LIMITS).over(self.endpoints.get(k, NO_LIMITS)) for k in keys},
            source=other.source or self.source)

    def to_json(self) -> dict[str, Any] | None:
        """The manifest's copy of what was given; None when nothing was."""
        if not self:
            return None
        return {"default": self.default.to_json(), "file_default": self.file_default.to_json(),
                "endpoints": {k: v.to_json() for k, v in sorted(self.endpoints.items())}, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EndpointSettings:
        if not data:
            return cls()
        return cls(default=EndpointLimits(**data.get("default") or {}),
                   file_default=EndpointLimits(**data.get("file_default") or {}),
                   endpoints={k: EndpointLimits(**v) for k, v in (data.get("endpoints") or {}).items()},
                   source=data.get("source"))

    @classmethod
    def of(cls, value: EndpointSettings | Mapping[str, Any] | None) -> EndpointSettings:
        """From Python's shorthand: ``{"rpm": 500, "http://127.0.0.1:8000/v1": {"max_connections": 4}}`` (a
        mapping is one endpoint's settings; any other key is a setting for every endpoint)."""
        if isinstance(value, EndpointSettings):
            return value
        given = dict(value or {})
        per = {k: EndpointLimits.parse(v, where=f'endpoints."{k}"') for k, v in given.items() if isinstance(v, Mapping)}
        return cls(default=EndpointLimits.parse({k: v for k, v in given.items() if k not in per}), endpoints=per)


_current: ContextVar[EndpointSettings | None] = ContextVar("courtgraph_endpoint_settings", default=None)


def current_endpoint_settings() -> EndpointSettings | None:
    """The endpoint settings of the run this code runs in, if any."""
    return _current.get()


@contextmanager
def use_endpoint_settings(settings: EndpointSettings | None) -> Iterator[None]:
    """Make ``settings`` the current run's: its calls use them (see the module docstring)."""
    token = _current.set(settings)
    try:
        yield
    finally:
        _current.reset(token)


def run_limits_for(provider: str, base_url: str) -> EndpointLimits:
    """What the current run sets for this endpoint (nothing outside a run)."""
    settings = _current.get()
    return settings.for_endpoint(provider, base_url) if settings is not None else NO_LIMITS


def in_force(provider: str, base_url: str, settings: EndpointSettings | None, configured: EndpointLimits,
             concurrency: int) -> dict[str, Any]:
    """What one endpoint gets in a run (the manifest's ``config.endpoints.in_force``): each setting after
    the precedence of the module docstring, ``configured`` being what Python or the environment set on the
    endpoint. LangChain models keep their own timeout and retries (None here)."""
    given = settings.for_endpoint(provider, base_url) if settings is not None else NO_LIMITS
    own = provider.startswith("langchain:")
    retries = given.max_retries if given.max_retries is not None else env_retries()
    return {
        "provider": provider, "base_url": base_url,
        "max_connections": given.max_connections or configured.max_connections or concurrency,
        "timeout": None if own else given.timeout or env_number("COURTGRAPH_TIMEOUT", DEFAULT_TIMEOUT),
        "max_retries": None if own else DEFAULT_RETRIES if retries is None else retries,
        "rpm": given.rpm or configured.rpm, "tpm": given.tpm or configured.tpm,
    }
