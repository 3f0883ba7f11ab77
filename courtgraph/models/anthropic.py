"""Anthropic's Messages API.

Spec: ``anthropic:MODEL`` (key from ``ANTHROPIC_API_KEY``) or ``anthropic:MODEL@BASE_URL`` with the base
URL *without* ``/v1`` (the SDK adds ``/v1/messages``); with a base URL and no key set, a placeholder
key is sent. ``$ANTHROPIC_BASE_URL`` is honoured as the SDK honours it. The end of the first user message
(the case, after the shared system prompt) is the one prompt-cache breakpoint (:func:`cache_breakpoints`);
cache reads and writes are counted and priced apart (:mod:`courtgraph.models.pricing`). Structured output is one
tool whose input schema is the pydantic schema, forced with ``tool_choice``: the tool call's input
is the structured answer. System messages go to the ``system`` parameter (the API has no system
role). No sampling parameters are sent: API version 2026-10-21, which the 2.x SDKs speak, rejects
``temperature``, ``top_p`` and ``top_k`` with a 400 (even at their defaults) and the SDK no longer
has them, so ``params.temperature``, ``params.top_p`` and ``params.seed`` are ignored here. ``stop`` is
sent as ``stop_sequences``; provider arguments (``params.extra``, the CLI's ``-M``) go into the body as
given; ``reasoning_effort`` is refused (Anthropic's thinking settings are its own: pass them with ``-M``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from courtgraph.models.base import Completion, ConfigError, GenerateParams, Message
from courtgraph.models.batching import current_batch_mode
from courtgraph.models.endpoint import EndpointModel, parse_endpoint_spec
from courtgraph.models.prefix_writers import breakpoint_role, case_prefix, prefix_key, prefix_warmup
from courtgraph.models.schemas import json_schema

if TYPE_CHECKING:
    import anthropic

#: Anthropic's default (five-minute) prompt cache.
EPHEMERAL = {"type": "ephemeral"}


#: Anthropic accepts at most this many ``cache_control`` breakpoints in one request.
MAX_BREAKPOINTS = 4


def cache_breakpoints(messages: list[dict[str, Any]], *, mark: bool = True) -> list[dict[str, Any]]:
    """The conversation as the API takes it, with one prompt-cache breakpoint: the end of the first user message.

    Every agent of a case opens with the same shared prefix: the system prompt (role-neutral rules) and
    a first user message holding the case (question, reference, responses in the trial's order); its
    own role, instructions, proceedings and ask come in the next user message. Anthropic caches the
    prefix up to a breakpoint, so one breakpoint at the end of the case lets every later agent of the
    case (and every debate round and re-ask) read the prefix at a tenth of the input price, while the
    role part after it is never written to the cache (a write costs 1.25x input). Consecutive messages
    of one role are merged into one message of several text blocks (the API wants turns to alternate),
    which keeps the breakpoint exactly at the end of the case. A prefix shorter than the model's
    minimum (1,024 tokens for most) is simply not cached. The system prompt carries no breakpoint of its
    own: it is a prefix of the case's, and a breakpoint is a limited resource (:data:`MAX_BREAKPOINTS`).
    ``mark=False`` sends the same turns without it (another request is writing this prefix right now:
    :mod:`courtgraph.models.prefix_writers`).
    """
    out: list[dict[str, Any]] = []
    marked = not mark
    for m in messages:
        block: dict[str, Any] = {"type": "text", "text": m["content"]}
        if m["role"] == "user" and not marked:
            block["cache_control"] = EPHEMERAL
            marked = True
        if out and out[-1]["role"] == m["role"]:
            out[-1]["content"].append(block)
        else:
            out.append({"role": m["role"], "content": [block]})
    for m in out:  # a lone unmarked block goes as plain text, as before
        if len(m["content"]) == 1 and "cache_control" not in m["content"][0]:
            m["content"] = m["content"][0]["text"]
    return out


def answer_tool(schema: type[BaseModel]) -> dict[str, Any]:
    """The one tool the model is forced to call with ``schema``-shaped input."""
    doc = (schema.__doc__ or f"Give the answer as {schema.__name__}.").strip()
    return {"name": schema.__name__, "description": doc, "input_schema": json_schema(schema)}


class AnthropicModel(EndpointModel):
    """A Claude model behind the Anthropic Messages API (see the module docstring)."""

    prefix = "anthropic"
    sdk_name = "anthropic"  # imported with the first client: a run answered from the cache never loads it
    key_env = "ANTHROPIC_API_KEY"
    base_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"

    def _make_client(self) -> anthropic.AsyncAnthropic:
        import anthropic

        return anthropic.AsyncAnthropic(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout,
                                        max_retries=0)

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        """One call, as the one writer of its cache prefix or not (:mod:`courtgraph.models.prefix_writers`).

        A sync call takes its role when it is sent (in :meth:`_request`, inside its endpoint slot), so a juror
        that waited for a slot until the writer answered reads. With the warm-up, or in a batch (requests
        queued together are concurrent: only the first of a prefix carries the breakpoint, and the batch's
        answer is when it has been written), the role is taken here and held for the whole call."""
        warmup = prefix_warmup.get()
        key = self._prefix_key(messages, schema) if warmup or current_batch_mode() is not None else None
        if key is None:  # a sync call without the warm-up: the role is taken when it is sent
            return await super()._complete(messages, schema, params)
        async with self.endpoint.prefixes.request(key, warmup=warmup) as role:
            token = breakpoint_role.set(role)
            try:
                return await super()._complete(messages, schema, params)
            finally:
                breakpoint_role.reset(token)

    def _prefix_key(self, messages: list[Message], schema: type[BaseModel] | None) -> str | None:
        """The hash of what the breakpoint caches (model, system, tool, the turns up to the case); None without one."""
        shared = case_prefix(messages)
        if shared is None:
            return None
        return prefix_key(self.model, answer_tool(schema) if schema is not None else None, shared)

    async def _request(self, client: anthropic.AsyncAnthropic, messages: list[Message],
                       schema: type[BaseModel] | None, params: GenerateParams) -> Completion:
        key = self._prefix_key(messages, schema) if breakpoint_role.get() is None else None
        if key is None:  # no prefix, or the role was taken for the whole call
            r = await client.messages.create(**self._params(messages, schema, params))
            return self._completion(r, schema)
        async with self.endpoint.prefixes.request(key) as role:
            token = breakpoint_role.set(role)
            try:
                r = await client.messages.create(**self._params(messages, schema, params))
            finally:
                breakpoint_role.reset(token)
        return self._completion(r, schema)

    def _params(self, messages: list[Message], schema: type[BaseModel] | None,
                params: GenerateParams) -> dict[str, Any]:
        """The arguments of ``messages.create`` (provider arguments under ``extra_body``)."""
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        request: dict[str, Any] = {
            "model": self.model, "max_tokens": params.max_tokens,
            "messages": cache_breakpoints([{"role": m["role"], "content": m["content"]}
                                           for m in messages if m["role"] != "system"],
                                          mark=breakpoint_role.get() != "plain"),
        }
        if system:
            request["system"] = system
        if params.stop:
            request["stop_sequences"] = list(params.stop)
        if params.reasoning_effort is not None:
            raise ConfigError(f"{self.spec}: reasoning_effort is OpenAI's setting; give Anthropic's own with -M "
                              "(e.g. -M 'thinking={\"type\": \"enabled\", \"budget_tokens\": 2048}')")
        if params.extra:  # provider arguments (-M key=value), merged into the JSON body as given
            request["extra_body"] = dict(params.extra)
        if schema is not None:
            request["tools"] = [answer_tool(schema)]
            request["tool_choice"] = {"type": "tool", "name": schema.__name__}
        return request

    def _batch_body(self, messages: list[Message], schema: type[BaseModel] | None,
                    params: GenerateParams) -> dict[str, Any]:
        """A Message Batch request's ``params``: the body a sync call sends, provider arguments merged in."""
        request = self._params(messages, schema, params)
        extra = request.pop("extra_body", {})
        return {**request, **extra}

    def _batch_completion(self, body: dict[str, Any], schema: type[BaseModel] | None) -> Completion:
        from anthropic.types import Message as AnthropicMessage

        return self._completion(AnthropicMessage.model_validate(body), schema)

    def _completion(self, r: Any, schema: type[BaseModel] | None) -> Completion:
        """A ``Message`` as the Completion every caller gets (sync or batched alike)."""
        text = "".join(block.text for block in r.content if block.type == "text")
        data = None
        if schema is not None:
            call = next((b for b in r.content if b.type == "tool_use" and b.name == schema.__name__), None)
            data = call.input if call is not None and isinstance(call.input, dict) else None
            text = text or (json.dumps(data) if data is not None else "")
        u = r.usage
        cached = u.cache_read_input_tokens or 0
        written = u.cache_creation_input_tokens or 0
        return Completion(
            text=text,
            data=data,
            # Anthropic's input_tokens exclude cache reads and writes; ours count every prompt token
            input_tokens=u.input_tokens + cached + written,
            output_tokens=u.output_tokens,
            cached_input_tokens=cached,
            cache_write_tokens=written,
            truncated=r.stop_reason == "max_tokens",
        )


def from_spec(rest: str) -> AnthropicModel:
    """``MODEL``, ``MODEL@BASE_URL`` or ``MODEL@BASE_URL#key_env=VAR`` (the text after ``anthropic:``)."""
    model, base_url, key_env = parse_endpoint_spec("anthropic", rest)
    return AnthropicModel(model, base_url=base_url, key_env=key_env)
