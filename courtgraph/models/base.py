"""One model object, one async call.

Every model (OpenAI, Anthropic, any LangChain chat model, scripted, simulated, recorded) is a
:class:`ChatModel` whose :meth:`ChatModel.generate` returns a :class:`ModelResponse`: the text, the
structured data when a schema was asked for and the provider returned it, usage, latency, and
whether it came from the response cache. The response cache lives here, in one place, so every
provider gets it the same way; retries and endpoint limits belong to the providers' shared
:mod:`courtgraph.models.endpoint` layer, because only real HTTP calls need them.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from courtgraph.models.admission import counted_call
from courtgraph.models.cache import ResponseCache, cache_key, current_cache
from courtgraph.models.errors import ConfigError as ConfigError  # re-exported: raised and caught as base.ConfigError
from courtgraph.models.errors import EndpointDown as EndpointDown
from courtgraph.models.errors import ModelError as ModelError
from courtgraph.models.pricing import batch_factor, cache_write_premium, cost_usd, prompt_cache_saving
from courtgraph.models.schemas import json_schema, json_schema_key
from courtgraph.models.tracing import listening, traced_call
from courtgraph.schema import Trial, Usage


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerateParams(BaseModel):
    """Generation settings. Judges default to temperature 0 (MT-Bench, JudgeBench, Khan all do).

    Each provider sends them the way its API expects (see the provider modules); ``extra`` holds
    provider arguments sent as given (the CLI's ``-M key=value``). Unset optional fields are not sent
    and stay out of the cache key, so adding a field never invalidates cached answers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = 0.0
    max_tokens: int = 2048
    seed: int | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None  # OpenAI reasoning models: minimal, low, medium, high
    stop: tuple[str, ...] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def cache_fields(self) -> dict[str, Any]:
        """What goes into the cache key: the first three always (as they always were), others when set."""
        out = self.model_dump(mode="json")
        return {k: v for k, v in out.items() if k in ("temperature", "max_tokens", "seed") or v not in (None, {})}


IntentKind = Literal["pairwise", "score", "speak"]


@dataclass(frozen=True)
class Intent:
    """What a call is for, in structured form, beside the messages that say it in words.

    Real providers ignore it: their answers come from the messages. Models that answer from structure
    instead of text read it: simulated agents (so that rewording a prompt file can never change what
    they do) and recorded judges (so that a verdict is found by the item's id and the order shown, not
    by matching prompt text). ``kind`` is what the caller will parse: a pairwise verdict, a score, or
    free speech (an argument, a question, testimony). ``facts`` holds role-specific structure (the
    side argued, the scale, the witnesses that may be called...), keys listed in ``courtgraph.agents.base.Facts``.
    """

    agent: str
    role: str
    kind: IntentKind = "speak"
    trial: Trial | None = None
    round: int | None = None
    phase: str | None = None
    attempt: int = 0  # re-asks before this call
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Completion:
    """What a provider returns for one successful call, before cost and caching are applied."""

    text: str
    data: dict[str, Any] | None = None  # the structured object (JSON schema / tool call), if any
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0  # of input_tokens, those written to the provider's prompt cache
    retries: int = 0
    rate_limited: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # failed attempts before the answer, by kind
    truncated: bool = False  # the answer was cut off at max_tokens
    batched: bool = False  # answered by a provider batch (billed at the batch price: models/batching.py)
    extra: dict[str, Any] = field(default_factory=dict)


class ModelResponse(BaseModel):
    text: str
    data: dict[str, Any] | None = None
    model: str
    usage: Usage
    latency_s: float = 0.0
    cached: bool = False
    truncated: bool = False  # cut off at max_tokens: its verdict may be missing, and it is never cached


def current_budget() -> Any:
    """The run's cost limit (:mod:`courtgraph.models.budget`), imported here late: that module
    builds on this one."""
    from courtgraph.models.budget import current_budget as budget

    return budget()


_DEFAULT: Any = object()


def _scaled(usd: float | None, factor: float) -> float | None:
    return None if usd is None else usd * factor


class ChatModel(ABC):
    """Base of every model. Subclasses implement :meth:`_complete`; :meth:`generate` adds the cache.

    ``spec`` is the model's identity in records and cache keys (e.g. ``openai:gpt-4o-mini``).
    ``cache`` is a :class:`ResponseCache`, ``None`` for no caching, or left unset to use the
    cache of the current run (:func:`courtgraph.models.cache.use_cache`). Models whose answers
    cost nothing (scripted, simulated, recorded) set ``cacheable = False``.
    """

    cacheable: bool = True
    #: whether a call counts in ``Usage.calls`` (recorded judges replay answers: no call is made)
    counts_calls: bool = True
    #: whether the provider can return schema-shaped JSON (else callers parse the text)
    structured: bool = False
    #: whether the model reports its calls to LangChain callbacks itself (LangChain chat models do)
    reports_own_runs: bool = False

    def __init__(self, spec: str, *, provider: str, model: str, base_url: str | None = None,
                 params: GenerateParams | None = None, cache: ResponseCache | None = _DEFAULT) -> None:
        self.spec = spec
        self.provider = provider
        self.model = model
        self.base_url = base_url
        self.params = params or GenerateParams()
        self._cache = cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    @property
    def cache(self) -> ResponseCache | None:
        if not self.cacheable:
            return None
        return current_cache() if self._cache is _DEFAULT else self._cache

    async def generate(self, messages: list[Message], *, schema: type[BaseModel] | None = None,
                       params: GenerateParams | None = None, intent: Intent | None = None) -> ModelResponse:
        """One answer to ``messages``. ``intent`` says in structure what the messages say in words; it is not
        part of the cache key, because for every model that is cached the messages alone decide the answer.

        The call is reported as a chat-model run to whoever listens (LangSmith, ``astream_events``), unless the
        model reports its own runs (a LangChain chat model does)."""
        config = None if self.reports_own_runs else listening()
        if config is None:  # (nobody listens: no trace to open, no context to enter)
            return await self._generate(messages, schema, params, intent)
        async with traced_call(self, messages, structured=schema is not None,
                               agent=intent.agent if intent else None, config=config) as trace:
            response = await self._generate(messages, schema, params, intent)
            await trace.end(response)
        return response

    async def _generate(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams | None, intent: Intent | None) -> ModelResponse:
        params = params or self.params
        cache = self.cache
        key = ""
        if cache is not None:
            key = cache_key(self.provider, self.model, self.base_url, params.cache_fields(),
                            messages, json_schema(schema) if schema else None,
                            schema_json=json_schema_key(schema) if schema else None)
            hit = cache.get(key)
            if hit is not None:
                try:
                    return self._from_cache(hit)
                except ValidationError:  # a row that is JSON but not a response: a miss, replaced below
                    cache.bad_row(key)
        started = time.perf_counter()
        budget = current_budget() if self.counts_calls else None
        held = 0.0
        if budget is not None:  # the worst case: the prompt's tokens (~4 characters each) in, max_tokens out
            held = budget.reserve(self.spec, self.price(sum(len(m["content"]) for m in messages) // 4 + 1,
                                                        params.max_tokens))
        try:
            with counted_call():  # the run's concurrency counts calls, not trials (models/admission.py)
                done = await self._answer(messages, schema, params, intent)
        except BaseException:
            if budget is not None:
                budget.settle(held, 0.0)
            raise
        latency = time.perf_counter() - started
        cost = self.price(done.input_tokens, done.output_tokens, done.cached_input_tokens)
        if done.cache_write_tokens and cost is not None:  # Anthropic bills cache writes above input
            premium = cache_write_premium(*self.pricing_key, done.cache_write_tokens)
            cost = None if premium is None else cost + premium
        factor = batch_factor(self.provider) if done.batched else 1.0  # a batch bills every token at its price
        if cost is not None:
            cost *= factor
        if budget is not None:
            budget.settle(held, cost)
        usage = Usage(
            calls=1 if self.counts_calls else 0,
            input_tokens=done.input_tokens,
            output_tokens=done.output_tokens,
            cached_input_tokens=done.cached_input_tokens,
            cache_write_tokens=done.cache_write_tokens,
            prompt_cache_saved_usd=_scaled(prompt_cache_saving(*self.pricing_key, done.cached_input_tokens,
                                                               done.cache_write_tokens), factor),
            batched=int(done.batched),
            cost_usd=cost,
            retries=done.retries,
            rate_limited=done.rate_limited,
            faults=dict(done.faults),
        )
        response = ModelResponse(text=done.text, data=done.data, model=self.spec, usage=usage,
                                 latency_s=latency, truncated=done.truncated)
        if cache is not None and not done.truncated:  # a re-run should get the chance of a whole answer
            cache.put(key, response.model_dump(mode="json"))
        return response

    @property
    def pricing_key(self) -> tuple[str, str]:
        """``(provider, model)`` as the price table knows this model: one key for the call's cost, the cache-write
        premium and the prompt-cache saving alike (endpoints at a custom URL price ``model@URL``)."""
        return self.provider, self.model

    def price(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float | None:
        """USD for one call; None when the model's price is unknown. Free models override."""
        return cost_usd(*self.pricing_key, input_tokens, output_tokens, cached_input_tokens)

    def _from_cache(self, stored: dict[str, Any]) -> ModelResponse:
        """A cached answer: no call billed; what it would have cost is counted as saved."""
        was = ModelResponse.model_validate(stored)
        saved = Usage(
            cache_hits=1,
            saved_input_tokens=was.usage.input_tokens,
            saved_output_tokens=was.usage.output_tokens,
            saved_usd=was.usage.cost_usd,
            cost_usd=0.0,
        )
        return was.model_copy(update={"usage": saved, "cached": True, "latency_s": 0.0})

    async def _answer(self, messages: list[Message], schema: type[BaseModel] | None,
                      params: GenerateParams, intent: Intent | None) -> Completion:
        """The completion for one call. Models that answer from the :class:`Intent` (simulated, recorded)
        override this; every other provider implements :meth:`_complete` from the messages alone."""
        return await self._complete(messages, schema, params)

    @abstractmethod
    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        """Make one call (with whatever retries the provider owns) and return its completion."""
