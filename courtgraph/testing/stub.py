"""A loopback OpenAI- and Anthropic-compatible server, so tests drive the real SDK clients over HTTP.

Mocking the SDKs would test our idea of them; a server on 127.0.0.1 tests what they actually do with
timeouts, retries, status codes and malformed bodies. The server speaks just enough of both APIs:
``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic), non-streaming, HTTP/1.1
with keep-alive. It runs in a background thread with its own event loop, so synchronous tests,
async tests (each with their own loop) and subprocesses can all use it.

Answers come from a *responder*, a function of the :class:`StubRequest`; faults queued with
:meth:`StubServer.fault` replace the next answers, in order. The counters (``requests``,
``requests_by_path``, ``in_flight``, ``max_in_flight``) and ``log`` let tests assert how many HTTP
calls were made and how many overlapped.

Example::

    with StubServer(latency=0.05) as stub:
        stub.fault("429", retry_after=1)
        model = get_model(f"openai:test-model@{stub.openai_url}")
        ...
        assert stub.requests == 2
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal

HOST = "127.0.0.1"  # loopback only: the stub must never be reachable from another machine

Api = Literal["openai", "anthropic"]
FaultKind = Literal["429", "500", "503", "stall", "drop", "malformed_json", "garbage", "truncated", "401"]
FAULTS: tuple[str, ...] = ("429", "500", "503", "stall", "drop", "malformed_json", "garbage", "truncated", "401")

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


def default_responder(request: StubRequest) -> str | dict[str, Any]:
    """A pairwise verdict for A: structured when the request asked for structure, else a tagged text."""
    reasoning = "Response A answers the question correctly; Response B does not."
    if request.structured:
        return {"reasoning": reasoning, "verdict": "A"}
    return f"{reasoning}\n[[A]]"


@dataclass
class _Fault:
    kind: str
    opts: dict[str, Any]


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                405: "invalid_request_error", 429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}


def _words(text: str) -> int:
    return len(text.split())


def _content_text(content: Any) -> str:
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
                parts.append(_content_text(block["content"]))
        return "\n".join(parts)
    return "" if content is None else str(content)


def _tool_name(body: dict[str, Any]) -> str:
    """The tool the request forces (or its first tool), for a structured answer sent as a tool call."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        if name:
            return str(name)
    tool = body["tools"][0]
    return str(tool.get("name") or tool.get("function", {}).get("name") or "output")


class StubServer:
    """An OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1, in a background thread.

    ``responder`` answers each request (text, or a dict returned as the structured object when the
    request asked for structure); ``latency`` seconds are added to every answer; with ``api_key``
    set, a request carrying another key gets a 401; ``port=0`` picks a free port. Every response
    reports usage: input tokens = words in the prompt, output tokens = words in the answer, and
    ``cached_tokens`` of the input as served from the provider's prefix cache.
    """

    def __init__(self, responder: Responder | None = None, latency: float = 0.0, api_key: str | None = None,
                 port: int = 0, *, cached_tokens: int = 0) -> None:
        self.responder: Responder = responder or default_responder
        self.latency = latency
        self.api_key = api_key
        self.cached_tokens = cached_tokens
        self.port = port
        self.requests = 0
        self.requests_by_path: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.log: list[StubRequest] = []
        self._faults: deque[_Fault] = deque()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    # -- public API -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def openai_url(self) -> str:
        """The base URL the OpenAI SDK takes (with ``/v1``)."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_url(self) -> str:
        """The base URL the Anthropic SDK takes (without ``/v1``: the SDK adds it)."""
        return self.base_url

    def fault(self, kind: FaultKind | str, times: int = 1, **opts: Any) -> None:
        """Make the next ``times`` requests fail in the way ``kind`` says, after any already queued.

        Kinds: ``"429"`` (``retry_after`` seconds, default 1; ``None`` sends no header), ``"500"``,
        ``"503"``, ``"401"``, ``"stall"`` (no answer until the client gives up, or ``seconds``),
        ``"drop"`` (close the connection without answering), ``"malformed_json"`` (200 with a body
        that is not JSON), ``"garbage"`` (a well-formed answer whose text is not a verdict), ``"truncated"``
        (the first half of the answer, marked as cut off at max_tokens).
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}: expected one of {', '.join(FAULTS)}")
        self._faults.extend(_Fault(kind, opts) for _ in range(times))

    def start(self) -> StubServer:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("the stub server is already running")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name=f"courtgraph-stub:{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection (ending stalled answers) and stop the thread."""
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StubServer({self.base_url}, requests={self.requests})"

    # -- the server thread ------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(asyncio.start_server(self._connection, HOST, self.port))
        except BaseException as exc:  # a taken port, reported to start() in the caller's thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent something that is not HTTP: drop the connection
        except asyncio.CancelledError:
            pass  # stop() cancels connections; ending normally keeps asyncio's stream callback quiet
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request on a kept-alive connection; False when the connection should close."""
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        method, path, _version = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""

        self.requests += 1
        self.requests_by_path[path] = self.requests_by_path.get(path, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = await self._answer(method, path, headers, body, reader)
        finally:
            # before writing: once the client has the answer it may start another request, which
            # must not see this one still counted
            self.in_flight -= 1
        if reply is None:
            return False
        reason = HTTPStatus(reply.status).phrase
        head = [f"HTTP/1.1 {reply.status} {reason}", "Content-Type: application/json",
                f"Content-Length: {len(reply.body)}", *(f"{k}: {v}" for k, v in reply.headers.items())]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    async def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes,
                      reader: asyncio.StreamReader) -> _Reply | None:
        """The reply to one request, or None to close the connection without answering."""
        api: Api = "anthropic" if path.rstrip("/").endswith("/messages") else "openai"
        if path.split("?")[0].rstrip("/") not in ("/v1/chat/completions", "/v1/messages"):
            return self._error(api, 404, f"the stub serves POST /v1/chat/completions and /v1/messages, not {path}")
        if method != "POST":
            return self._error(api, 405, f"{method} {path}: only POST is served")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._error(api, 400, "the request body is not valid JSON")
        if not isinstance(body, dict):
            return self._error(api, 400, "the request body must be a JSON object")
        request = self._parse(api, path, headers, body)
        self.log.append(request)

        fault = self._faults.popleft() if self._faults else None
        answered = fault is None or fault.kind in ("garbage", "truncated")
        if not answered and fault is not None:
            return await self._fault(api, fault, reader)
        if self.api_key is not None and self._presented_key(headers) != self.api_key:
            return self._error(api, 401, "invalid api key")
        if body.get("stream"):
            return self._error(api, 400, "the stub server does not stream: send stream=false "
                                         "(e.g. ChatOpenAI(disable_streaming=True))")
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            answer = GARBAGE if fault is not None and fault.kind == "garbage" else self.responder(request)
        except Exception as exc:  # a broken responder is the test's bug: show it in the error body
            return self._error(api, 500, f"responder failed: {type(exc).__name__}: {exc}")
        cut = fault is not None and fault.kind == "truncated"
        if cut:
            text = answer if isinstance(answer, str) else json.dumps(answer)
            answer = text[: len(text) // 2]
        build = self._openai_reply if api == "openai" else self._anthropic_reply
        return _Reply(200, json.dumps(build(request, answer, cut)).encode())

    async def _fault(self, api: Api, fault: _Fault, reader: asyncio.StreamReader) -> _Reply | None:
        if fault.kind == "429":
            retry_after = fault.opts.get("retry_after", 1)
            extra = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            return self._error(api, 429, "rate limited (injected fault)", extra)
        if fault.kind in ("500", "503", "401"):
            return self._error(api, int(fault.kind), f"injected {fault.kind} fault")
        if fault.kind == "malformed_json":
            return _Reply(200, b'{"id": "stub-broken", "choices": [{"message": ')
        if fault.kind == "stall":
            # hold the answer until the client gives up (its read returns EOF) or `seconds` pass
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(reader.read(1), timeout=float(fault.opts.get("seconds", 3600)))
        return None  # "stall" and "drop": close without answering

    @staticmethod
    def _presented_key(headers: dict[str, str]) -> str | None:
        """``x-api-key`` (Anthropic's SDK 1.x) if present, else the Bearer token (OpenAI, Anthropic 2.x)."""
        if "x-api-key" in headers:
            return headers["x-api-key"]
        auth = headers.get("authorization", "")
        return auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None

    @staticmethod
    def _error(api: Api, status: int, message: str, headers: dict[str, str] | None = None) -> _Reply:
        kind = _ERROR_TYPES.get(status, "api_error")
        if api == "openai":
            payload: dict[str, Any] = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        else:
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        return _Reply(status, json.dumps(payload).encode(), headers or {})

    @staticmethod
    def _parse(api: Api, path: str, headers: dict[str, str], body: dict[str, Any]) -> StubRequest:
        messages: list[dict[str, str]] = []
        if api == "anthropic" and body.get("system"):
            messages.append({"role": "system", "content": _content_text(body["system"])})
        for m in body.get("messages") or []:
            if isinstance(m, dict):
                messages.append({"role": str(m.get("role", "user")), "content": _content_text(m.get("content"))})
        fmt = body.get("response_format") or {}
        output = body.get("output_format") or (body.get("output_config") or {}).get("format")
        structured = bool(body.get("tools")) or (
            fmt.get("type") in ("json_schema", "json_object") if api == "openai" else bool(output))
        return StubRequest(api=api, model=str(body.get("model", "")), messages=messages, structured=structured,
                           body=body, path=path, headers=headers)

    def _usage(self, request: StubRequest, answer_text: str) -> tuple[int, int, int]:
        prompt = _words(request.text)
        return prompt, _words(answer_text), min(self.cached_tokens, prompt)

    def _openai_reply(self, request: StubRequest, answer: str | dict[str, Any], cut: bool = False) -> dict[str, Any]:
        n = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        finish = "length" if cut else "stop"
        text = answer if isinstance(answer, str) else json.dumps(answer)
        if isinstance(answer, dict) and request.structured and request.body.get("tools"):
            message["tool_calls"] = [{"id": f"call_stub_{n}", "type": "function",
                                      "function": {"name": _tool_name(request.body), "arguments": text}}]
            finish = "tool_calls"
        else:
            message["content"] = text
        prompt, completion, cached = self._usage(request, text)
        return {
            "id": f"chatcmpl-stub-{n}", "object": "chat.completion", "created": 0, "model": request.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion, "prompt_tokens_details": {"cached_tokens": cached}},
        }

    def _anthropic_reply(self, request: StubRequest, answer: str | dict[str, Any], cut: bool = False
                         ) -> dict[str, Any]:
        n = next(self._ids)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        if isinstance(answer, dict) and request.structured and request.body.get("tools"):
            content: list[dict[str, Any]] = [{"type": "tool_use", "id": f"toolu_stub_{n}",
                                              "name": _tool_name(request.body), "input": answer}]
            stop = "tool_use"
        else:
            content, stop = [{"type": "text", "text": text}], "max_tokens" if cut else "end_turn"
        prompt, completion, cached = self._usage(request, text)
        return {
            "id": f"msg_stub_{n}", "type": "message", "role": "assistant", "model": request.model,
            "content": content, "stop_reason": stop, "stop_sequence": None,
            # Anthropic counts cache reads apart from input_tokens (which are the uncached part)
            "usage": {"input_tokens": prompt - cached, "output_tokens": completion,
                      "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0},
        }


def usage_text(stub: StubServer) -> str:
    """What to print once the stub is up: its URLs and the model specs that reach it."""
    return (f"courtgraph stub server (loopback only), Ctrl-C to stop\n"
            f"  OpenAI-compatible:    {stub.openai_url}/chat/completions\n"
            f"  Anthropic-compatible: {stub.anthropic_url}/v1/messages\n"
            f"Point model specs at it (any key works unless --api-key is set):\n"
            f"  openai:any-model@{stub.openai_url}\n"
            f"  anthropic:any-model@{stub.anthropic_url}\n"
            f"e.g. courtgraph judge -m openai:stub@{stub.openai_url} -q '2+2?' --a 4 --b 5")


def serve(port: int, latency: float, api_key: str | None) -> None:
    """Serve until Ctrl-C. The server runs in its own thread; this one waits for the signal.

    SIGINT is blocked before the server starts and taken with ``sigwait``: raised as a KeyboardInterrupt
    it could land anywhere (in the banner, in the server's start) and skip the clean stop. Windows has
    no ``sigwait``: there the interrupt is caught around the wait.
    """
    masked = hasattr(signal, "pthread_sigmask")
    if masked:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # the server's thread inherits the mask
    try:
        with StubServer(port=port, latency=latency, api_key=api_key) as stub:
            print(usage_text(stub), flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                if masked:
                    signal.sigwait({signal.SIGINT})
                else:
                    threading.Event().wait()
            print(f"\nstopped after {stub.requests} requests", flush=True)
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
