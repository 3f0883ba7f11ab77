"""Model specs to model objects.

``get_model`` accepts a spec string, a :class:`ChatModel`, or any LangChain ``BaseChatModel``:

* ``openai:MODEL`` or ``openai:MODEL@BASE_URL`` (any OpenAI-compatible server, e.g.
  ``openai:qwen2.5-7b@http://localhost:8000/v1``); key from ``OPENAI_API_KEY``
* ``anthropic:MODEL`` or ``anthropic:MODEL@BASE_URL`` (base without ``/v1``); key from ``ANTHROPIC_API_KEY``
* ``scripted:TEXT`` answers TEXT to every call (tests)
* ``sim:...`` simulated agents and ``recorded:PATH`` recorded verdicts (see those modules)
"""

from __future__ import annotations

import importlib
from typing import Any

from courtgraph.models.base import (
    ChatModel,
    Completion,
    ConfigError,
    GenerateParams,
    Intent,
    Message,
    ModelError,
    ModelResponse,
)
from courtgraph.models.cache import ResponseCache, current_cache, default_cache_path, use_cache
from courtgraph.models.scripted import ScriptedModel

#: spec prefix -> "module:factory"; the factory takes the text after the prefix. Imported lazily so
#: that loading courtgraph does not import every SDK.
PROVIDERS: dict[str, str] = {
    "openai": "courtgraph.models.openai:from_spec",
    "anthropic": "courtgraph.models.anthropic:from_spec",
    "scripted": "courtgraph.models.scripted:ScriptedModel",
    "sim": "courtgraph.agents.simulated:from_spec",
    "recorded": "courtgraph.evals.recorded:from_spec",
}

ModelLike = str | ChatModel | Any  # Any: a LangChain BaseChatModel


def get_model(model: ModelLike) -> ChatModel:
    """Resolve a spec string or model object to a :class:`ChatModel`.

    Raises :class:`ConfigError` for an unknown provider or a missing API key, before any call.
    """
    if isinstance(model, ChatModel):
        return model
    if not isinstance(model, str):
        from courtgraph.models.langchain import LangChainModel, is_langchain_model

        if is_langchain_model(model):
            return LangChainModel(model)
        raise ConfigError(f"not a model spec or chat model: {model!r}")
    provider, sep, rest = model.partition(":")
    if not sep or provider not in PROVIDERS or not rest:
        known = ", ".join(f"{p}:..." for p in PROVIDERS)
        raise ConfigError(f"unknown model spec {model!r}: expected one of {known}")
    module, _, attr = PROVIDERS[provider].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    resolved = factory(rest)
    if not isinstance(resolved, ChatModel):
        raise ConfigError(f"{model!r}: provider {provider!r} returned {type(resolved).__name__}")
    return resolved


__all__ = [
    "PROVIDERS",
    "ChatModel",
    "Completion",
    "ConfigError",
    "GenerateParams",
    "Intent",
    "Message",
    "ModelError",
    "ModelResponse",
    "ResponseCache",
    "ScriptedModel",
    "current_cache",
    "default_cache_path",
    "get_model",
    "use_cache",
]
