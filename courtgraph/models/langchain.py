"""Any LangChain chat model as a courtgraph model, so every LangChain integration works as a judge.

The adapter calls ``ainvoke`` and reads usage from ``usage_metadata``. Structured output goes through
``with_structured_output(json_schema, include_raw=True)`` when the model has tool calling: the JSON
schema (not the pydantic class) is passed so that the integration returns the raw object and
validation stays in one place (:func:`courtgraph.agents.base.decide`); some integrations validate a
pydantic class inside the SDK and raise even with ``include_raw=True``. A model without tool calling,
or whose structured call fails to parse, answers as text and the caller parses the tag.

Every call holds a slot of the model's endpoint (:mod:`courtgraph.models.limits`: one per LangChain
provider and base URL), so ``$COURTGRAPH_MAX_CONCURRENCY`` and RPM/TPM budgets bound LangChain models
as they bound the native providers. Retries and timeouts are the LangChain model's own (set
``max_retries`` and ``timeout`` on it); a failure becomes a :class:`~courtgraph.models.base.ModelError`.

One LangChain object per event loop: integrations keep async HTTP clients bound to the loop that made
them (``ChatOpenAI`` even shares one process-wide), so a model reused in a second ``asyncio.run`` failed
with "Event loop is closed". Each loop gets a fresh copy of the model, rebuilt from its fields with
its own HTTP client (:func:`rebuild`), closed with its loop. A model that cannot be rebuilt is used as
given in the first loop and refused, loudly, in any other.

From the CLI, ``langchain:PROVIDER:MODEL[@BASE_URL]`` builds the model with LangChain's
``init_chat_model`` (``pip install 'courtgraph[langchain]'`` plus the provider's integration). Such a
model is built from courtgraph's :class:`GenerateParams` (temperature, max_tokens, top_p, stop, seed,
reasoning_effort, and ``extra``, the CLI's ``-M``, as constructor arguments). A LangChain object
passed from Python keeps its own sampling settings: ``GenerateParams`` are not forwarded to it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from courtgraph.models.base import _DEFAULT, ChatModel, Completion, ConfigError, GenerateParams, Message, ModelError
from courtgraph.models.cache import ResponseCache
from courtgraph.models.endpoint import PLACEHOLDER_KEY, PerLoop, split_spec
from courtgraph.models.limits import Endpoint, get_endpoint

#: Fields holding SDK clients bound to the loop that made them: never copied into a rebuilt model.
CLIENT_FIELDS = ("client", "async_client", "root_client", "root_async_client")
#: The SDK whose default async HTTP client an integration's ``http_async_client`` field takes.
HTTP_SDKS = {"langchain_openai": "openai", "langchain_anthropic": "anthropic"}


def is_langchain_model(obj: object) -> bool:
    return isinstance(obj, BaseChatModel)


def _has_tools(llm: BaseChatModel) -> bool:
    """Whether the class overrides what ``with_structured_output`` needs (the base raises)."""
    cls = type(llm)
    return (cls.bind_tools is not BaseChatModel.bind_tools
            or cls.with_structured_output is not BaseChatModel.with_structured_output)


def _to_langchain(messages: list[Message]) -> list[AnyMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


def _completion(reply: AIMessage, data: dict[str, Any] | None) -> Completion:
    text = str(reply.text)
    if not text and data is not None:
        text = json.dumps(data)
    usage = reply.usage_metadata
    if usage is None:
        return Completion(text=text, data=data)
    details = usage.get("input_token_details") or {}
    return Completion(text=text, data=data, input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"],
                      cached_input_tokens=details.get("cache_read", 0))


class _LoopModel:
    """The model one event loop uses, and the HTTP client made for it (closed with the loop)."""

    def __init__(self, llm: BaseChatModel, http: Any = None) -> None:
        self.llm, self.http = llm, http

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def rebuild(llm: BaseChatModel) -> _LoopModel:
    """A fresh copy of ``llm`` for a new event loop: its fields but not its SDK clients, and a new HTTP
    client when the integration takes one (else the integration may reuse a process-wide one)."""
    import importlib

    fields = {k: getattr(llm, k) for k in llm.model_fields_set if k not in CLIENT_FIELDS}
    http = None
    sdk = HTTP_SDKS.get(type(llm).__module__.split(".")[0])
    if sdk and "http_async_client" in type(llm).model_fields and fields.get("http_async_client") is None:
        http = importlib.import_module(sdk).DefaultAsyncHttpxClient()
        fields["http_async_client"] = http
    return _LoopModel(type(llm)(**fields), http)


def _endpoint(llm: BaseChatModel, provider: str | None) -> Endpoint:
    """The endpoint a LangChain model's calls are counted against: its provider and base URL."""
    url = next((str(v) for k in ("openai_api_base", "base_url", "anthropic_api_url", "endpoint_url")
                if (v := getattr(llm, k, None))), "default")
    return get_endpoint(f"langchain:{provider or type(llm).__name__}", url, "")


class LangChainModel(ChatModel):
    """A LangChain ``BaseChatModel`` behind courtgraph's one async call.

    The spec is ``langchain:<model name>`` (or the class name when the model has none; ``name``
    overrides it). The price is known when the integration reports a provider and model that the
    price table has (``ChatOpenAI(model="gpt-4o-mini")`` is ``openai:gpt-4o-mini``), else unknown.
    ``factory`` (set by :func:`from_spec`) builds the model from the current params in each loop.
    """

    reports_own_runs = True  # LangChain's own callbacks trace the call

    def __init__(self, llm: BaseChatModel, *, name: str | None = None, params: GenerateParams | None = None,
                 cache: ResponseCache | None = _DEFAULT, spec: str | None = None,
                 factory: Callable[[GenerateParams], BaseChatModel] | None = None) -> None:
        ls = llm._get_ls_params()
        self.llm_provider: str | None = ls.get("ls_provider")
        self.llm_model: str | None = ls.get("ls_model_name")
        label = name or self.llm_model or type(llm).__name__
        # LangChain's own cache identity of the configured model stands in for a base URL in the cache
        # key, so two differently configured models with one name never share cached answers
        identity = hashlib.sha256(llm._get_llm_string().encode()).hexdigest()[:16]
        super().__init__(spec or f"langchain:{label}", provider="langchain", model=label,
                         base_url=f"langchain:{identity}", params=params, cache=cache)
        self.llm = llm
        self.structured = _has_tools(llm)
        self.factory = factory
        self.endpoint = _endpoint(llm, self.llm_provider)
        self._loops: PerLoop[_LoopModel] = PerLoop(self._for_loop)
        self._first_loop_taken = False

    def __copy__(self) -> LangChainModel:
        """A copy (e.g. with other params) gets its own per-loop models, built from its own params."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._loops = PerLoop(new._for_loop)
        new._first_loop_taken = False
        return new

    def _for_loop(self) -> _LoopModel:
        if self.factory is not None:
            return _LoopModel(self.factory(self.params))
        try:
            return rebuild(self.llm)
        except Exception as exc:
            if self._first_loop_taken:
                raise ConfigError(f"{self.spec}: this {type(self.llm).__name__} cannot be copied for a new event "
                                  f"loop ({type(exc).__name__}: {exc}), and its clients belong to the first one: "
                                  "build the model inside each run, or give a spec langchain:PROVIDER:MODEL") from exc
            self._first_loop_taken = True
            return _LoopModel(self.llm)

    @property
    def pricing_key(self) -> tuple[str, str]:
        """The wrapped model's price (an unknown provider or model prices as nothing known: ``None``)."""
        return self.llm_provider or "", self.llm_model or ""

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        prompt = _to_langchain(messages)
        llm = self._loops.get().llm
        estimate = sum(len(m["content"]) for m in messages) // 4 + params.max_tokens
        try:
            async with self.endpoint.slot(estimate) as slot:
                done = await self._call(llm, prompt, schema)
                slot.used(done.input_tokens + done.output_tokens)
                return done
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{self.spec}: {type(exc).__name__}: {exc}",
                             retryable=bool(getattr(exc, "is_retryable", False))) from exc

    async def _call(self, llm: BaseChatModel, prompt: list[AnyMessage], schema: type[BaseModel] | None) -> Completion:
        if schema is not None and self.structured:
            done = await self._structured(llm, prompt, schema)
            if done is not None:
                return done
        reply = await llm.ainvoke(prompt)
        return _completion(reply if isinstance(reply, AIMessage) else AIMessage(content=reply.content), None)

    async def _structured(self, llm: BaseChatModel, prompt: list[AnyMessage],
                          schema: type[BaseModel]) -> Completion | None:
        """The structured answer, or None when this model cannot give one (the caller asks for text)."""
        try:
            runnable = llm.with_structured_output(schema.model_json_schema(), include_raw=True)
        except NotImplementedError:
            self.structured = False  # no tool calling after all: stop trying
            return None
        try:
            out = await runnable.ainvoke(prompt)
        except ValueError as exc:
            # A parse failure raised through include_raw (ChatOpenAI's json_schema validates inside the
            # SDK): the call was made and paid, so it is answered as unparseable text (the caller's
            # re-ask follows) rather than silently made a second time. Its usage is not reported.
            return Completion(text=f"(the structured answer did not parse: {exc})")
        if not isinstance(out, dict) or not isinstance(out.get("raw"), AIMessage):
            return None
        raw, parsed = out["raw"], out.get("parsed")
        data = parsed if isinstance(parsed, dict) else parsed.model_dump() if isinstance(parsed, BaseModel) else None
        if data is None and raw.tool_calls:
            data = raw.tool_calls[0]["args"]  # a tool call the parser rejected: still the model's object
        return _completion(raw, data)


def init_kwargs(params: GenerateParams) -> dict[str, Any]:
    """``init_chat_model`` keyword arguments for courtgraph's settings (LangChain's standard names)."""
    kwargs: dict[str, Any] = {"temperature": params.temperature, "max_tokens": params.max_tokens}
    optional = {"top_p": params.top_p, "seed": params.seed, "reasoning_effort": params.reasoning_effort,
                "stop": list(params.stop) if params.stop else None}
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    kwargs.update(params.extra)
    return kwargs


def from_spec(rest: str) -> LangChainModel:
    """``PROVIDER:MODEL`` or ``PROVIDER:MODEL@BASE_URL`` (the text after ``langchain:``), built with
    ``init_chat_model``; the model is built once here so a missing package or key fails before work.

    With a base URL the provider's own key variable is not used (it must not go to another host):
    a placeholder key is sent, or the key in the variable that ``-M api_key_env=NAME`` names."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ConfigError(f"langchain:{rest} needs LangChain's init_chat_model: pip install 'courtgraph[langchain]' "
                          "and the provider's integration (e.g. langchain-google-genai)") from None
    model, base_url = split_spec(rest)
    fixed: dict[str, Any] = {"base_url": base_url} if base_url else {}

    def build(params: GenerateParams) -> BaseChatModel:
        kwargs = {**fixed, **init_kwargs(params)}
        if env := kwargs.pop("api_key_env", None):  # the key by the name of its variable, never in a manifest
            if not os.environ.get(str(env)):
                raise ConfigError(f"langchain:{rest}: api_key_env={env} but ${env} is not set")
            kwargs["api_key"] = os.environ[str(env)]
        elif kwargs.get("base_url") and "api_key" not in kwargs:  # from @URL or -M base_url=...
            kwargs["api_key"] = PLACEHOLDER_KEY  # a provider's own key never goes to another host
        try:
            built = init_chat_model(model, **kwargs)
        except ImportError as exc:
            raise ConfigError(f"langchain:{rest}: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"langchain:{rest}: {str(exc).splitlines()[0]}") from None
        except Exception as exc:  # an integration's own validation (a missing key is a pydantic error)
            raise ConfigError(f"langchain:{rest}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        if not isinstance(built, BaseChatModel):
            raise ConfigError(f"langchain:{rest}: init_chat_model returned {type(built).__name__}")
        return built

    params = GenerateParams()
    return LangChainModel(build(params), name=model, params=params, spec=f"langchain:{rest}", factory=build)
