"""Any LangChain chat model as a courtgraph model, so every LangChain integration works as a judge.

The adapter calls ``ainvoke`` and reads usage from ``usage_metadata``. Structured output goes through
``with_structured_output(json_schema, include_raw=True)`` when the model has tool calling: the JSON
schema (not the pydantic class) is passed so that the integration returns the raw object and
validation stays in one place (:func:`courtgraph.agents.base.decide`); some integrations validate a
pydantic class inside the SDK and raise even with ``include_raw=True``. A model without tool calling,
or whose structured call fails to parse, answers as text and the caller parses the tag.

Retries, timeouts and rate limits are the LangChain model's own (set ``max_retries`` and ``timeout``
on it); a failure becomes a :class:`~courtgraph.models.base.ModelError`. Sampling parameters are the
LangChain model's too: courtgraph's ``GenerateParams`` are not forwarded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from courtgraph.models.base import _DEFAULT, ChatModel, Completion, GenerateParams, Message, ModelError
from courtgraph.models.cache import ResponseCache
from courtgraph.models.pricing import cost_usd


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


class LangChainModel(ChatModel):
    """A LangChain ``BaseChatModel`` behind courtgraph's one async call.

    The spec is ``langchain:<model name>`` (or the class name when the model has none; ``name``
    overrides it). The price is known when the integration reports a provider and model that the
    price table has (``ChatOpenAI(model="gpt-4o-mini")`` is ``openai:gpt-4o-mini``), else unknown.
    """

    reports_own_runs = True  # LangChain's own callbacks trace the call

    def __init__(self, llm: BaseChatModel, *, name: str | None = None, params: GenerateParams | None = None,
                 cache: ResponseCache | None = _DEFAULT) -> None:
        ls = llm._get_ls_params()
        self.llm_provider: str | None = ls.get("ls_provider")
        self.llm_model: str | None = ls.get("ls_model_name")
        label = name or self.llm_model or type(llm).__name__
        # LangChain's own cache identity of the configured model stands in for a base URL in the cache
        # key, so two differently configured models with one name never share cached answers
        identity = hashlib.sha256(llm._get_llm_string().encode()).hexdigest()[:16]
        super().__init__(f"langchain:{label}", provider="langchain", model=label,
                         base_url=f"langchain:{identity}", params=params, cache=cache)
        self.llm = llm
        self.structured = _has_tools(llm)

    def price(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float | None:
        if not self.llm_provider or not self.llm_model:
            return None
        return cost_usd(self.llm_provider, self.llm_model, input_tokens, output_tokens, cached_input_tokens)

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        prompt = _to_langchain(messages)
        try:
            if schema is not None and self.structured:
                done = await self._structured(prompt, schema)
                if done is not None:
                    return done
            reply = await self.llm.ainvoke(prompt)
        except Exception as exc:
            raise ModelError(f"{self.spec}: {type(exc).__name__}: {exc}",
                             retryable=bool(getattr(exc, "is_retryable", False))) from exc
        return _completion(reply if isinstance(reply, AIMessage) else AIMessage(content=reply.content), None)

    async def _structured(self, prompt: list[AnyMessage], schema: type[BaseModel]) -> Completion | None:
        """The structured answer, or None when this model cannot give one (the caller asks for text)."""
        try:
            runnable = self.llm.with_structured_output(schema.model_json_schema(), include_raw=True)
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
