"""What the stub server speaks: fault kinds, the request as a responder sees it, the parsing of both
APIs' request bodies and the building of their answers. Kept apart from :mod:`courtgraph.testing.stub`
(the server itself) so each reads on its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["openai", "anthropic"]
FaultKind = Literal["429", "500", "503", "stall", "drop", "malformed_json", "garbage", "truncated", "401"]
FAULTS: tuple[str, ...] = ("429", "500", "503", "stall", "drop", "malformed_json", "garbage", "truncated", "401")

#: The faults ``--fault-rate`` draws from by default: every kind a provider really shows under load.
RANDOM_FAULTS: tuple[str, ...] = ("429", "500", "503", "stall", "drop", "malformed_json", "garbage")

#: The text a "garbage" fault answers with: well-formed, but not a verdict in any format.
GARBAGE = "Both responses have their merits and I would rather not pick one."


@dataclass
class StubRequest:
    """One request as the responder sees it, normalized across the two APIs."""

    api: Api
    model: str
    messages: list[dict[str, str]]  # [{"role", "content"}], the system prompt included as role "system"
    structured: bool  # the request asked for a JSON schema, JSON mode or a tool
    body: dict[str, Any]
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Every message's content joined, for responders that look for words in the prompt."""
        return "\n".join(m["content"] for m in self.messages)


Responder = Callable[[StubRequest], str | dict[str, Any]]
#: A reply's token counts for its answer text: (prompt, answer, cache-read) or (..., cache-written).
UsageOf = Callable[[str], tuple[int, int, int] | tuple[int, int, int, int]]


def default_responder(request: StubRequest) -> str | dict[str, Any]:
    """A pairwise verdict for A: structured when the request asked for structure, else a tagged text."""
    reasoning = "Response A answers the question correctly; Response B does not."
    if request.structured:
        return {"reasoning": reasoning, "verdict": "A"}
    return f"{reasoning}\n[[A]]"


ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                405: "invalid_request_error", 429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}


def words(text: str) -> int:
    return len(text.split())


def content_text(content: Any) -> str:
    """The text of a message content: a string, or a list of text / tool blocks (both APIs)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if not isinstance(block, dict):
                parts.append(str(block))
            elif "text" in block:
                parts.append(str(block["text"]))
            elif block.get("type") == "tool_use":
                parts.append(json.dumps(block.get("input")))
            elif "content" in block:
                parts.append(content_text(block["content"]))
        return "\n".join(parts)
    return "" if content is None else str(content)


def tool_name(body: dict[str, Any]) -> str:
    """The tool the request forces (or its first tool), for a structured answer sent as a tool call."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        if name:
            return str(name)
    tool = body["tools"][0]
    return str(tool.get("name") or tool.get("function", {}).get("name") or "output")


def parse_request(api: Api, path: str, headers: dict[str, str], body: dict[str, Any]) -> StubRequest:
    """One request, normalized across the two APIs (the system prompt as a 'system' message)."""
    messages: list[dict[str, str]] = []
    if api == "anthropic" and body.get("system"):
        messages.append({"role": "system", "content": content_text(body["system"])})
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            messages.append({"role": str(m.get("role", "user")), "content": content_text(m.get("content"))})
    fmt = body.get("response_format") or {}
    output = body.get("output_format") or (body.get("output_config") or {}).get("format")
    structured = bool(body.get("tools")) or (
        fmt.get("type") in ("json_schema", "json_object") if api == "openai" else bool(output))
    return StubRequest(api=api, model=str(body.get("model", "")), messages=messages, structured=structured,
                       body=body, path=path, headers=headers)


def parse_faults(text: str) -> tuple[str, ...]:
    """``"429,503,stall"`` -> the fault kinds; ValueError naming an unknown one."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULTS]
    if unknown or not kinds:
        raise ValueError(f"unknown fault {unknown[0] if unknown else '(none given)'!r}: expected some of "
                         f"{', '.join(FAULTS)}")
    return kinds


def openai_reply(request: StubRequest, answer: str | dict[str, Any], cut: bool, n: int,
                 usage: UsageOf) -> dict[str, Any]:
    """A Chat Completions body: the answer as text, or as a tool call when the request forced a tool."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    finish = "length" if cut else "stop"
    text = answer if isinstance(answer, str) else json.dumps(answer)
    if isinstance(answer, dict) and request.structured and request.body.get("tools"):
        message["tool_calls"] = [{"id": f"call_stub_{n}", "type": "function",
                                  "function": {"name": tool_name(request.body), "arguments": text}}]
        finish = "tool_calls"
    else:
        message["content"] = text
    prompt, completion, cached, *_ = usage(text)  # OpenAI reports no cache writes
    return {
        "id": f"chatcmpl-stub-{n}", "object": "chat.completion", "created": 0, "model": request.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion, "prompt_tokens_details": {"cached_tokens": cached}},
    }

def anthropic_reply(request: StubRequest, answer: str | dict[str, Any], cut: bool, n: int,
                    usage: UsageOf) -> dict[str, Any]:
    """A Messages body: the answer as a text block, or as a tool_use block when the request forced a tool."""
    text = answer if isinstance(answer, str) else json.dumps(answer)
    if isinstance(answer, dict) and request.structured and request.body.get("tools"):
        content: list[dict[str, Any]] = [{"type": "tool_use", "id": f"toolu_stub_{n}",
                                          "name": tool_name(request.body), "input": answer}]
        stop = "tool_use"
    else:
        content, stop = [{"type": "text", "text": text}], "max_tokens" if cut else "end_turn"
    prompt, completion, cached, *written = usage(text)
    fresh = prompt - cached - sum(written)
    return {
        "id": f"msg_stub_{n}", "type": "message", "role": "assistant", "model": request.model,
        "content": content, "stop_reason": stop, "stop_sequence": None,
        # Anthropic counts cache reads and writes apart from input_tokens (which are the rest)
        "usage": {"input_tokens": fresh, "output_tokens": completion,
                  "cache_read_input_tokens": cached, "cache_creation_input_tokens": sum(written)},
    }
