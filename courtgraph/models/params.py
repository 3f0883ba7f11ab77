"""Generation settings from ``key=value`` text, and models that carry them.

The CLI's ``--temperature``, ``--judge-args temperature=0``, ``-M top_p=0.9`` and a roles file all end
here: :func:`parse_assignments` reads ``key=value`` pairs (values are JSON when they parse, else
strings), :func:`with_settings` returns a :class:`GenerateParams` with them applied (the named fields
set, anything else kept in ``extra`` and sent to the provider as given), and :func:`bind_settings`
gives a model that uses them. A model's settings are part of its cache key (``GenerateParams.cache_fields``),
so runs that differ only in them never share answers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from courtgraph.errors import InputError
from courtgraph.models.base import ChatModel, GenerateParams

#: The settings that are fields of GenerateParams; any other key is a provider argument (``extra``).
FIELDS = tuple(name for name in GenerateParams.model_fields if name != "extra")
#: Other spellings users bring from the providers' APIs.
ALIASES = {"max_completion_tokens": "max_tokens", "max_output_tokens": "max_tokens", "stop_sequences": "stop",
           "effort": "reasoning_effort"}


def parse_value(raw: str) -> Any:
    """JSON when it parses (``0.3``, ``true``, ``["a"]``), else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_assignments(items: Iterable[str] | None, *, option: str) -> dict[str, Any]:
    """``["temperature=0", "top_p=0.9"]`` (a comma also separates pairs) -> ``{"temperature": 0, ...}``."""
    out: dict[str, Any] = {}
    for item in items or []:
        for part in _split_pairs(item):
            key, sep, raw = part.partition("=")
            if not sep or not key.strip():
                raise InputError(f"{part!r}: expected KEY=VALUE, e.g. temperature=0", field=option)
            out[key.strip()] = parse_value(raw.strip())
    return out


def _split_pairs(item: str) -> list[str]:
    """``a=1,b=2`` -> two pairs; a comma inside a value (``stop=x,y``) stays when no ``=`` follows it."""
    pairs: list[str] = []
    for chunk in item.split(","):
        if pairs and "=" not in chunk:
            pairs[-1] += "," + chunk
        elif chunk.strip():
            pairs.append(chunk)
    return pairs


def with_settings(params: GenerateParams, settings: Mapping[str, Any], *, option: str = "settings") -> GenerateParams:
    """``params`` with ``settings`` applied: named fields set, anything else added to ``extra``."""
    fields: dict[str, Any] = {}
    extra = dict(params.extra)
    for key, value in settings.items():
        name = ALIASES.get(key, key)
        if name in FIELDS:
            fields[name] = [value] if name == "stop" and isinstance(value, str) else value
        else:
            extra[key] = value
    try:
        return GenerateParams.model_validate({**params.model_dump(), **fields, "extra": extra})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise InputError(f"{where}={first.get('input')!r}: {first['msg']}", field=option) from None


def bind_settings(model: Any, settings: Mapping[str, Any], *, option: str = "settings") -> Any:
    """A model that generates with ``settings``: a copy of the resolved model with its params updated.
    With no settings the model is returned as given (a spec stays a spec)."""
    if not settings:
        return model
    from courtgraph.models import get_model

    resolved = get_model(model)
    bound = copy.copy(resolved)  # shares the endpoint, its clients and its cache choice
    bound.params = with_settings(resolved.params, settings, option=option)
    return bound


def describe_params(model: Any) -> dict[str, Any] | None:
    """The settings a model generates with when they differ from the defaults (for the manifest)."""
    if not isinstance(model, ChatModel):
        return None
    given = model.params.model_dump(mode="json")
    default = GenerateParams().model_dump(mode="json")
    changed = {k: v for k, v in given.items() if v != default[k]}
    return changed or None
