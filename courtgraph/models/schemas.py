"""Each structured-output schema's JSON shapes, built once per schema class.

Pydantic builds a model's JSON schema anew on every ``model_json_schema()`` call, and the OpenAI SDK's
strict conversion walks it again: about a tenth of a model call's client CPU when done per call.
The shapes depend only on the class, so they are memoised here by class (an explicit, bounded memo:
schema classes are few and live as long as the process). The returned dicts are shared: read them,
never change them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel


@lru_cache(maxsize=256)
def json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """``schema.model_json_schema()``, built once."""
    return schema.model_json_schema()


@lru_cache(maxsize=256)
def json_schema_key(schema: type[BaseModel]) -> str:
    """:func:`json_schema` as a cache key holds it (:func:`courtgraph.models.cache.key_json`), built once."""
    from courtgraph.models.cache import key_json

    return key_json(json_schema(schema))


@lru_cache(maxsize=256)
def strict_json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The strict-mode shape OpenAI's ``parse()`` would send (every property required, no extras), built once."""
    from openai.lib._pydantic import to_strict_json_schema

    return to_strict_json_schema(schema)
