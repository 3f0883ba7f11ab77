"""OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio, Together, OpenRouter).

Spec: ``openai:MODEL`` (api.openai.com, key from ``OPENAI_API_KEY``) or ``openai:MODEL@BASE_URL`` with
the base URL as the SDK takes it (``http://localhost:8000/v1``). With a base URL and no key set, a
placeholder key is sent: local servers don't check it. ``$OPENAI_BASE_URL`` is honoured as the SDK
honours it. Structured output uses ``response_format`` with a JSON schema, in strict mode (the
schema is made strict-compatible the way the SDK's own ``parse()`` does it: every property
required, nullable where optional, no extra properties), so the official API guarantees the shape;
the answer is validated by the caller, never here. On api.openai.com, ``max_completion_tokens`` is
sent (its newer models reject ``max_tokens``) and the reasoning models (o1, o3, o4, gpt-5...) get no
``temperature`` or ``top_p`` (they reject any but the default) but do get ``reasoning_effort``; other
servers get ``max_tokens``, ``temperature`` and ``top_p``. ``seed``, ``stop`` and ``reasoning_effort``
are sent when set; provider arguments (``GenerateParams.extra``, the CLI's ``-M``) go into the body as given.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from courtgraph.models.base import Completion, GenerateParams, Message
from courtgraph.models.endpoint import EndpointModel, parse_endpoint_spec
from courtgraph.models.prefix_writers import OPENAI_MIN_CHARS, case_prefix, prefix_key, prefix_warmup
from courtgraph.models.schemas import json_schema, strict_json_schema

if TYPE_CHECKING:
    import openai

OFFICIAL_URL = "https://api.openai.com/v1"
#: OpenAI's reasoning models reject any temperature but the default: none is sent to them.
REASONING = re.compile(r"^(o\d|gpt-5)")


def response_format(schema: type[BaseModel], *, strict: bool = True) -> dict[str, Any]:
    """The ``response_format`` asking for ``schema``'s JSON. Strict mode needs a strict-shaped schema."""
    shape = strict_json_schema(schema) if strict else json_schema(schema)
    return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": shape, "strict": strict}}


def alternating(messages: list[Message]) -> list[Message]:
    """Consecutive messages of one role joined into one (the shared case and the role's own message): some
    compatible servers' chat templates refuse two user turns in a row. The joined text keeps the case first,
    so the prompt still opens with the prefix every agent of the case shares (OpenAI's automatic caching)."""
    out: list[Message] = []
    for m in messages:
        if out and out[-1]["role"] == m["role"]:
            out[-1] = {"role": m["role"], "content": f"{out[-1]['content']}\n\n{m['content']}"}
        else:
            out.append(m)
    return out


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a structured answer holds (a ```json fence tolerated), or None."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class OpenAIModel(EndpointModel):
    """A chat model behind the OpenAI Chat Completions API (see the module docstring).

    ``strict`` is the JSON-schema strict flag for structured output; set it to False on an instance
    for a server that rejects strict schemas.
    """

    prefix = "openai"
    sdk_name = "openai"  # imported with the first client: a run answered from the cache never loads it
    key_env = "OPENAI_API_KEY"
    base_env = "OPENAI_BASE_URL"
    default_base_url = OFFICIAL_URL
    strict: bool = True

    def _make_client(self) -> openai.AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        """With the warm-up (``--prefix-warmup``), a call whose case prefix another call is sending now waits
        for its answer, then reads the cache; only a prefix likely long enough to be cached (1,024 tokens, at
        :data:`~courtgraph.models.prefix_writers.OPENAI_MIN_CHARS` characters) ever waits."""
        key = self._prefix_key(messages, schema) if prefix_warmup.get() else None
        if key is None:
            return await super()._complete(messages, schema, params)
        async with self.endpoint.prefixes.request(key, warmup=True):
            return await super()._complete(messages, schema, params)

    def _prefix_key(self, messages: list[Message], schema: type[BaseModel] | None) -> str | None:
        """The hash of the automatic cache's likely prefix (model, output format, the turns up to the case)."""
        shared = case_prefix(messages)
        if shared is None or sum(len(content) for _, content in shared) < OPENAI_MIN_CHARS:
            return None
        return prefix_key(self.model, schema.__name__ if schema is not None else None, shared)

    async def _request(self, client: openai.AsyncOpenAI, messages: list[Message], schema: type[BaseModel] | None,
                       params: GenerateParams) -> Completion:
        request = self._body(messages, schema, params)
        # The SDK's create() would walk the whole body to transform it (a no-op for these plain values) and
        # resolve client.chat.completions lazily on every call: post() sends the same request without that.
        from openai.types.chat import ChatCompletion

        r = await client.post("/chat/completions", body=request, cast_to=ChatCompletion)
        return self._completion(r, schema)

    def _body(self, messages: list[Message], schema: type[BaseModel] | None, params: GenerateParams) -> dict[str, Any]:
        """The JSON body of one chat completion: what a sync call posts and a batch line carries."""
        request: dict[str, Any] = {"model": self.model, "messages": alternating(messages)}
        if self.custom_url or not REASONING.match(self.model):
            request["temperature"] = params.temperature
            if params.top_p is not None:
                request["top_p"] = params.top_p
        # api.openai.com's newer models reject max_tokens; many compatible servers only know max_tokens
        request["max_tokens" if self.custom_url else "max_completion_tokens"] = params.max_tokens
        if params.seed is not None:
            request["seed"] = params.seed
        if params.stop:
            request["stop"] = list(params.stop)
        if params.reasoning_effort is not None:
            request["reasoning_effort"] = params.reasoning_effort
        if params.extra:  # provider arguments (-M key=value), merged into the JSON body as given
            request.update(params.extra)
        if schema is not None:
            request["response_format"] = response_format(schema, strict=self.strict)
        return request

    def _batch_body(self, messages: list[Message], schema: type[BaseModel] | None,
                    params: GenerateParams) -> dict[str, Any]:
        return self._body(messages, schema, params)

    def _batch_completion(self, body: dict[str, Any], schema: type[BaseModel] | None) -> Completion:
        from openai.types.chat import ChatCompletion

        return self._completion(ChatCompletion.model_validate(body), schema)

    def _completion(self, r: Any, schema: type[BaseModel] | None) -> Completion:
        """A ``ChatCompletion`` as the Completion every caller gets (sync or batched alike)."""
        message = r.choices[0].message if r.choices else None
        text = (message.content or message.refusal or "") if message else ""
        usage = r.usage
        details = usage.prompt_tokens_details if usage else None
        return Completion(
            text=text,
            data=json_object(text) if schema is not None else None,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            cached_input_tokens=(details.cached_tokens or 0) if details else 0,
            truncated=bool(r.choices) and r.choices[0].finish_reason == "length",
        )


def from_spec(rest: str) -> OpenAIModel:
    """``MODEL``, ``MODEL@BASE_URL`` or ``MODEL@BASE_URL#key_env=VAR`` (the text after ``openai:``)."""
    model, base_url, key_env = parse_endpoint_spec("openai", rest)
    return OpenAIModel(model, base_url=base_url, key_env=key_env)
