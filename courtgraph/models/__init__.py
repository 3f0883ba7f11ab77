"""Model specs to model objects.

``get_model`` accepts a spec string, a :class:`ChatModel`, or any LangChain ``BaseChatModel``:

* ``openai:MODEL`` or ``openai:MODEL@BASE_URL`` (any OpenAI-compatible server, e.g.
  ``openai:qwen2.5-7b@http://localhost:8000/v1``); key from ``OPENAI_API_KEY``
* ``anthropic:MODEL`` or ``anthropic:MODEL@BASE_URL`` (base without ``/v1``); key from ``ANTHROPIC_API_KEY``
* ``langchain:PROVIDER:MODEL[@BASE_URL]`` any LangChain integration, built with ``init_chat_model``
  (``pip install 'courtgraph[langchain]'`` and the integration, e.g. ``langchain-google-genai``)
* ``scripted:TEXT`` answers TEXT to every call (tests)
* ``sim:...`` simulated agents and ``recorded:PATH`` recorded verdicts: plug-ins their owners register
  (``courtgraph.providers`` entry points); add your own with :func:`register_provider`
  (see :mod:`courtgraph.models.providers`)
"""

from __future__ import annotations

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
from courtgraph.models.providers import PROVIDERS, register_provider, resolve_spec
from courtgraph.models.scripted import ScriptedModel

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
    return resolve_spec(model)


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
    "register_provider",
    "use_cache",
]
