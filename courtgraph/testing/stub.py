"""A loopback OpenAI- and Anthropic-compatible server, so tests drive the real SDK clients over HTTP.

Mocking the SDKs would test our idea of them; a server on 127.0.0.1 tests what they actually do with
timeouts, retries, status codes and malformed bodies. The server speaks just enough of both APIs:
``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic), non-streaming, HTTP/1.1
(and both batch APIs: :mod:`courtgraph.testing.batches`, ``stub.batches``)
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
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

from courtgraph.testing.batches import BATCH_PATHS, BatchDesk
from courtgraph.testing.prefix import PrefixCache
from courtgraph.testing.wire import (
    ERROR_TYPES,
    FAULTS,
    GARBAGE,
    RANDOM_FAULTS,
    Api,
    FaultKind,
    Responder,
    StubRequest,
    anthropic_reply,
    default_responder,
    openai_reply,
    parse_faults,
    parse_request,
    words,
)

HOST = "127.0.0.1"  # loopback only: the stub must never be reachable from another machine

__all__ = ["FAULTS", "GARBAGE", "RANDOM_FAULTS", "Responder", "StubRequest", "StubServer", "default_responder",
           "parse_faults"]

@dataclass
class _Fault:
    kind: str
    opts: dict[str, Any]


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class StubServer:
    """An OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1, in a background thread.

    ``responder`` answers each request (text, or a dict returned as the structured object when the
    request asked for structure); ``latency`` seconds are added to every answer; with ``api_key``
    set, a request carrying another key gets a 401 (whose body repeats the key it was sent when
    ``echo_key`` is set, as some gateways do); ``port=0`` picks a free port.

    ``fault_rate`` (0 to 1) makes that share of requests, drawn with ``random.Random(seed)``, fail with
    a kind drawn evenly from ``faults`` (default :data:`RANDOM_FAULTS`), when no queued fault applies:
    a misbehaving provider to rehearse a run against. ``fault_rate=1`` with ``faults=("503",)`` is a
    provider that is down. A random ``stall`` holds for ``stall_seconds`` (default: until the client
    gives up). ``injected`` counts the faults served, by kind. Every response
    reports usage: input tokens = words in the prompt, output tokens = words in the answer, and
    ``cached_tokens`` of the input as served from the provider's prefix cache (``prefix_cache``: as a
    provider's prompt cache would, from ``prefix_cache_min`` tokens: :mod:`courtgraph.testing.prefix`).
    """

    def __init__(self, responder: Responder | None = None, latency: float = 0.0, api_key: str | None = None,
                 port: int = 0, *, cached_tokens: int = 0, echo_key: bool = False, fault_rate: float = 0.0,
                 faults: tuple[str, ...] = RANDOM_FAULTS, seed: int | None = None,
                 stall_seconds: float = 3600.0, batch_delay: float = 0.2, prefix_cache: bool = False,
                 prefix_cache_min: int = 1024) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {fault_rate:g}")
        unknown = [k for k in faults if k not in FAULTS]
        if unknown or not faults:
            raise ValueError(f"unknown fault {unknown[0] if unknown else '(none given)'!r}: expected some of "
                             f"{', '.join(FAULTS)}")
        self.responder: Responder = responder or default_responder
        self.echo_key = echo_key
        self.fault_rate = fault_rate
        self.random_faults = tuple(faults)
        self.stall_seconds = stall_seconds
        self.injected: dict[str, int] = {}
        self._random = random.Random(seed)
        self.latency = latency
        self.api_key = api_key
        self.cached_tokens = cached_tokens
        self.prefix_cache = PrefixCache(minimum=prefix_cache_min) if prefix_cache else None
        self.port = port
        self.requests = 0
        self.requests_by_path: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.log: list[StubRequest] = []
        self._faults: deque[_Fault] = deque()
        self.batches = BatchDesk(self, batch_delay)  # the batch APIs and their counters: testing/batches.py
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

    def clear_faults(self) -> None:
        """Forget every queued fault: the provider has recovered."""
        self._faults.clear()

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
        if path.startswith(BATCH_PATHS):
            return _Reply(*await self.batches.answer(method, path, headers, raw))
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
        request = parse_request(api, path, headers, body)
        self.log.append(request)

        fault = self._faults.popleft() if self._faults else self._random_fault()
        if fault is not None:
            self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
        answered = fault is None or fault.kind in ("garbage", "truncated")
        if not answered and fault is not None:
            return await self._fault(api, fault, reader)
        presented = self._presented_key(headers)
        if self.api_key is not None and presented != self.api_key:
            return self._error(api, 401, f"invalid api key: {presented}" if self.echo_key else "invalid api key")
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
        build = openai_reply if api == "openai" else anthropic_reply
        body = build(request, answer, cut, next(self._ids), lambda text: self._usage(request, text))
        return _Reply(200, json.dumps(body).encode())

    def _random_fault(self) -> _Fault | None:
        """A fault drawn at ``fault_rate`` (see the class docstring), or None."""
        if not self.fault_rate or self._random.random() >= self.fault_rate:
            return None
        kind = self._random.choice(self.random_faults)
        opts: dict[str, Any] = {"seconds": self.stall_seconds} if kind == "stall" else {}
        return _Fault(kind, {**opts, "retry_after": 0} if kind == "429" else opts)

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
        kind = ERROR_TYPES.get(status, "api_error")
        if api == "openai":
            payload: dict[str, Any] = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        else:
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        return _Reply(status, json.dumps(payload).encode(), headers or {})

    def _usage(self, request: StubRequest, answer_text: str) -> tuple[int, int, int, int]:
        prompt = words(request.text)
        read, written = (self.prefix_cache.usage(request, self.latency) if self.prefix_cache else
                         (min(self.cached_tokens, prompt), 0))
        return prompt, words(answer_text), read, written
