"""The stub server's batch APIs: OpenAI's Batch API (with its Files API) and Anthropic's Message Batches.

A batch client is tested end to end only against something that behaves like the provider: uploads,
a status that moves with time, result files, requests that expire or fail, and batches that outlive a
crashed client. :class:`BatchDesk` is that, inside :class:`~courtgraph.testing.stub.StubServer`
(``stub.batches``). Endpoints, as the installed SDKs call them::

    POST   /v1/files                         multipart (file, purpose=batch)      files.create
    GET    /v1/files/{id}                    the file object                      files.retrieve
    GET    /v1/files/{id}/content            the file's bytes (JSONL)             files.content
    DELETE /v1/files/{id}                                                         files.delete
    POST   /v1/batches                       input_file_id, endpoint, window      batches.create
    GET    /v1/batches[/{id}]                                                     batches.list / retrieve
    POST   /v1/batches/{id}/cancel                                                batches.cancel
    POST   /v1/messages/batches              requests: [{custom_id, params}]      messages.batches.create
    GET    /v1/messages/batches[/{id}]                                            .list / .retrieve
    GET    /v1/messages/batches/{id}/results JSONL {custom_id, result}            .results
    POST   /v1/messages/batches/{id}/cancel                                       .cancel
    DELETE /v1/messages/batches/{id}         (ended batches only)                 .delete

**Timing.** A batch ends ``delay`` seconds after its creation (``StubServer(batch_delay=0.2)``,
``stub.batches.delay``, CLI ``--batch-delay``). It ends when it is next looked at, which is when its
requests are answered: each by the server's responder with the sync path's reply and usage counting,
so a batch and a sync run give the same answers (ids aside). Before then an OpenAI batch is
``validating`` (the create answer), ``in_progress``, then ``finalizing`` in the last fifth of the delay;
then ``completed`` with ``output_file_id`` (lines ``{id, custom_id, response: {status_code,
request_id, body}, error}``) and ``error_file_id`` when any request failed. An Anthropic batch is
``in_progress`` then ``ended`` with ``results_url``. A cancel answers ``cancelling`` / ``canceling``; the
next look ends the batch, every request cancelled (OpenAI error code ``batch_cancelled``).

**Faults**, queued with ``stub.batches.fault(kind, times=1, **opts)`` (``expire``, ``partial``, ``fail``,
``http``, ``lose``: what each does is :class:`~courtgraph.testing.batch_wire.BatchFault`'s docstring).

An OpenAI input file that the real API would refuse (a line that is not JSON, a missing or repeated
``custom_id``, another url than ``/v1/chat/completions``, two models) also fails its batch, with one
error per bad line (``line`` numbered from 1).

**Lists** (``GET /v1/batches``, ``GET /v1/messages/batches``) are newest first, with the SDKs' pagination:
``limit`` (default 20, at most 100) and ``after`` (OpenAI) or ``after_id`` (Anthropic: ``first_id``,
``last_id``, ``has_more``). ``stub.batches.lists`` counts the list requests.

**Counters.** ``stub.batches`` is a sequence of :class:`StubBatch` (every batch created, both APIs, in
order, never forgotten while the server object lives, so a restarted client can poll a batch created
before its crash): ``len(stub.batches)``, ``stub.batches.sizes`` (requests per batch),
``stub.batches.total_requests``, ``stub.batches.sync_calls`` (POSTs to the sync chat endpoints,
faulted ones included), ``stub.batches.get(batch_id)``; each batch has ``api``, ``id``, ``custom_ids``,
``requests`` (the :class:`StubRequest` of each line, not in ``stub.log``), ``status`` (as last served),
``fault`` and ``counts`` (outcomes once ended). The batch endpoints honour ``api_key`` but take no
queued sync faults (``stub.fault``), no ``fault_rate`` and no ``latency``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from courtgraph.testing.batch_wire import (
    FAULT_OPTIONS,
    OPENAI_ENDPOINT,
    BatchApiError,
    BatchFault,
    Result,
    Route,
    StubBatch,
    StubFile,
    anthropic_batch,
    anthropic_error_body,
    anthropic_requests,
    anthropic_results,
    file_object,
    list_page,
    multipart_fields,
    openai_batch,
    openai_error_body,
    openai_lines,
    openai_output,
)
from courtgraph.testing.wire import Api, StubRequest, anthropic_reply, openai_reply, parse_request

if TYPE_CHECKING:
    from courtgraph.testing.stub import StubServer

#: The path prefixes the batch desk serves (the stub routes them here before its sync endpoints).
BATCH_PATHS: tuple[str, ...] = ("/v1/files", "/v1/batches", "/v1/messages/batches")

#: The batch fault kinds of :meth:`BatchDesk.fault`.
BATCH_FAULTS: tuple[str, ...] = tuple(FAULT_OPTIONS)

_SYNC_PATHS = ("/v1/chat/completions", "/v1/messages")
_CREATES = ("/v1/batches", "/v1/messages/batches")


class BatchDesk:
    """The batches and files of one stub server, its batch fault queue and its counters (module docstring)."""

    def __init__(self, server: StubServer, delay: float = 0.2) -> None:
        if delay < 0:
            raise ValueError(f"batch_delay must be at least 0, got {delay:g}")
        self.server = server
        self.delay = delay
        self.rejected = 0
        self.lost = 0  # creates never answered (fault "lose")
        self.lists = 0  # list requests served (both APIs)
        self._batches: list[StubBatch] = []
        self._by_id: dict[str, StubBatch] = {}
        self._files: dict[str, StubFile] = {}
        self._faults: deque[BatchFault] = deque()
        self._http_faults: deque[BatchFault] = deque()  # kind "http": taken by the next batch endpoint call
        self._lose: deque[BatchFault] = deque()  # kind "lose": taken by the next create
        self._ids = itertools.count(1)

    # -- what tests use ---------------------------------------------------------------------------

    def fault(self, kind: str, times: int = 1, **opts: Any) -> None:
        """Make the next ``times`` batches created fail as ``kind`` says (module docstring), after any queued."""
        if kind not in BATCH_FAULTS:
            raise ValueError(f"unknown batch fault {kind!r}: expected one of {', '.join(BATCH_FAULTS)}")
        queue = {"http": self._http_faults, "lose": self._lose}.get(kind, self._faults)
        queue.extend(BatchFault(kind, dict(opts)) for _ in range(times))

    def clear_faults(self) -> None:
        self._faults.clear()
        self._http_faults.clear()
        self._lose.clear()

    def __len__(self) -> int:
        return len(self._batches)

    def __iter__(self) -> Iterator[StubBatch]:
        return iter(list(self._batches))

    def __getitem__(self, index: int) -> StubBatch:
        return self._batches[index]

    def get(self, batch_id: str) -> StubBatch | None:
        return self._by_id.get(batch_id)

    @property
    def sizes(self) -> list[int]:
        """Requests per batch created, in order."""
        return [batch.size for batch in self._batches]

    @property
    def total_requests(self) -> int:
        return sum(self.sizes)

    @property
    def sync_calls(self) -> int:
        """HTTP calls to the synchronous chat endpoints (both APIs), faulted ones included."""
        by_path = list(self.server.requests_by_path.items())
        return sum(n for path, n in by_path if path.split("?")[0].rstrip("/") in _SYNC_PATHS)

    def __repr__(self) -> str:
        return f"BatchDesk(batches={len(self)}, sizes={self.sizes}, sync_calls={self.sync_calls})"

    # -- routing ----------------------------------------------------------------------------------

    async def answer(self, method: str, path: str, headers: dict[str, str],
                     raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        """The status, body and headers answering one request to a path under :data:`BATCH_PATHS`."""
        route, _, query = path.partition("?")
        route = route.rstrip("/")
        api: Api = "anthropic" if route.startswith("/v1/messages/") else "openai"
        try:
            self._http_fault()
            self._check_key(headers)
            lose = self._lose.popleft() if method == "POST" and route in _CREATES and self._lose else None
            if lose is not None and not lose.opts.get("accept", True):
                await self._drop(lose)
            status, body = self._dispatch(Route(method, route.split("/")[2:], headers, raw,
                                                dict(urllib.parse.parse_qsl(query))))
            if lose is not None:
                await self._drop(lose)
        except BatchApiError as exc:
            error = openai_error_body if api == "openai" else anthropic_error_body
            return exc.status, json.dumps(error(exc.status, exc.message)).encode(), exc.headers
        return status, body if isinstance(body, bytes) else json.dumps(body).encode(), {}

    async def _drop(self, lose: BatchFault) -> None:
        """A create never answered (fault ``lose``): hold the connection, then close it with no response."""
        self.lost += 1
        await asyncio.sleep(float(lose.opts.get("hold", 0)))
        raise ConnectionResetError("injected fault: the create's answer is lost")

    def _http_fault(self) -> None:
        """Answer with the next queued ``http`` fault's status (429 with ``retry_after`` as Retry-After)."""
        if not self._http_faults:
            return
        opts = self._http_faults.popleft().opts
        status, retry_after = int(opts.get("status", 503)), opts.get("retry_after")
        raise BatchApiError(status, f"injected {status} fault (batch endpoint)",
                            {} if retry_after is None else {"Retry-After": f"{retry_after:g}"})

    def _check_key(self, headers: dict[str, str]) -> None:
        server = self.server
        presented = server._presented_key(headers)
        if server.api_key is not None and presented != server.api_key:
            raise BatchApiError(401, f"invalid api key: {presented}" if server.echo_key else "invalid api key")

    def _dispatch(self, r: Route) -> tuple[int, dict[str, Any] | bytes]:
        match (r.method, r.parts):
            case ("POST", ["files"]):
                return 200, self._upload(r)
            case ("GET", ["files", file_id]):
                file = self._file(file_id)
                return 200, file_object(file.id, file.filename, file.purpose, len(file.content), file.created)
            case ("GET", ["files", file_id, "content"]):
                return 200, self._file(file_id).content
            case ("DELETE", ["files", file_id]):
                self._files.pop(self._file(file_id).id)
                return 200, {"id": file_id, "object": "file", "deleted": True}
            case ("POST", ["batches"]):
                return 200, openai_batch(self._create_openai(r))
            case ("GET", ["batches"]):
                return 200, self._listing("openai", r.query, {"object": "list"})
            case ("GET", ["batches", batch_id]):
                return 200, openai_batch(self._look(batch_id, "openai"))
            case ("POST", ["batches", batch_id, "cancel"]):
                return 200, openai_batch(self._cancel(batch_id, "openai"))
            case ("POST", ["messages", "batches"]):
                return 200, self._anthropic(self._create_anthropic(r))
            case ("GET", ["messages", "batches"]):
                return 200, self._listing("anthropic", r.query, {})
            case ("GET", ["messages", "batches", batch_id]):
                return 200, self._anthropic(self._look(batch_id, "anthropic"))
            case ("GET", ["messages", "batches", batch_id, "results"]):
                batch = self._look(batch_id, "anthropic")
                if batch.ended is None:
                    raise BatchApiError(400, f"message batch {batch_id} is still {batch.status}: "
                                             "results are available once it has ended")
                return 200, anthropic_results(batch.results)
            case ("POST", ["messages", "batches", batch_id, "cancel"]):
                return 200, self._anthropic(self._cancel(batch_id, "anthropic"))
            case ("DELETE", ["messages", "batches", batch_id]):
                batch = self._look(batch_id, "anthropic")
                if batch.ended is None:
                    raise BatchApiError(400, f"message batch {batch_id} is still processing: cancel it first")
                del self._by_id[batch_id]
                return 200, {"id": batch_id, "type": "message_batch_deleted"}
        raise BatchApiError(404, f"the stub's batch APIs do not serve {r.method} /v1/{'/'.join(r.parts)}")

    # -- files and creation -----------------------------------------------------------------------

    def _new_file(self, filename: str, purpose: str, content: bytes) -> StubFile:
        file = StubFile(f"file-stub{next(self._ids)}", filename, purpose, content, time.time())
        self._files[file.id] = file
        return file

    def _file(self, file_id: str) -> StubFile:
        if file_id not in self._files:
            raise BatchApiError(404, f"No such File object: {file_id}")
        return self._files[file_id]

    def _upload(self, r: Route) -> dict[str, Any]:
        fields = multipart_fields(r.headers.get("content-type", ""), r.raw)
        if "file" not in fields:
            raise BatchApiError(400, "Missing required parameter: 'file'.")
        purpose = fields.get("purpose", (None, b""))[1].decode("utf-8", "replace")
        if purpose != "batch":
            raise BatchApiError(400, f"the stub's files are for purpose 'batch' only, got {purpose!r}")
        filename, content = fields["file"]
        file = self._new_file(filename or "upload.jsonl", purpose, content)
        return file_object(file.id, file.filename, purpose, len(content), file.created)

    def _take_fault(self) -> BatchFault | None:
        return self._faults.popleft() if self._faults else None

    def _register(self, batch: StubBatch) -> StubBatch:
        self._batches.append(batch)
        self._by_id[batch.id] = batch
        return batch

    def _create_openai(self, r: Route) -> StubBatch:
        body = r.json()
        input_file_id = str(body.get("input_file_id") or "")
        if body.get("endpoint") != OPENAI_ENDPOINT:
            raise BatchApiError(400, f"the stub's batches serve endpoint {OPENAI_ENDPOINT!r}, "
                                     f"got {body.get('endpoint')!r}")
        if body.get("completion_window") != "24h":
            raise BatchApiError(400, f"completion_window must be '24h', got {body.get('completion_window')!r}")
        file = self._file(input_file_id)
        if file.purpose != "batch":
            raise BatchApiError(400, f"file {input_file_id} has purpose {file.purpose!r}, not 'batch'")
        lines, errors = openai_lines(file.content)
        fault = self._take_fault()
        if fault is not None and fault.kind == "fail":
            errors.append({"code": str(fault.opts.get("code", "batch_failed")), "line": None, "param": None,
                           "message": str(fault.opts.get("message", "injected batch failure"))})
        requests = [parse_request("openai", OPENAI_ENDPOINT, r.headers, line["body"]) for line in lines]
        return self._register(StubBatch(
            "openai", f"batch_stub{next(self._ids)}", [str(line["custom_id"]) for line in lines], requests,
            time.time(), time.monotonic(), fault, input_file_id, body.get("metadata"), errors or None))

    def _create_anthropic(self, r: Route) -> StubBatch:
        entries = anthropic_requests(r.json())
        fault = self._take_fault()
        if fault is not None and fault.kind == "fail":
            self.rejected += 1
            raise BatchApiError(int(fault.opts.get("status", 400)),
                                str(fault.opts.get("message", "injected batch failure")))
        requests = [parse_request("anthropic", "/v1/messages", r.headers, e["params"]) for e in entries]
        return self._register(StubBatch(
            "anthropic", f"msgbatch_stub{next(self._ids)}", [str(e["custom_id"]) for e in entries], requests,
            time.time(), time.monotonic(), fault, status="in_progress"))

    # -- time, results and views ------------------------------------------------------------------

    def _look(self, batch_id: str, api: Api) -> StubBatch:
        batch = self._by_id.get(batch_id)
        if batch is None or batch.api != api:
            kind = "batch" if api == "openai" else "message batch"
            raise BatchApiError(404, f"No such {kind}: {batch_id}")
        self._advance(batch)
        return batch

    def _cancel(self, batch_id: str, api: Api) -> StubBatch:
        batch = self._look(batch_id, api)
        if batch.ended is None and batch.cancel_requested is None:
            batch.cancel_requested = time.time()
            batch.status = "cancelling" if api == "openai" else "canceling"
        return batch

    def _advance(self, batch: StubBatch) -> None:
        """Move the batch along the clock: end it (answering its requests) once its time has come."""
        if batch.ended is not None:
            return
        elapsed = time.monotonic() - batch.started
        if batch.errors is not None:
            batch.ended, batch.status = time.time(), "failed"
        elif batch.cancel_requested is not None or elapsed >= self.delay:
            self._end(batch)
        elif batch.api == "openai":
            batch.status = "finalizing" if elapsed >= 0.8 * self.delay else "in_progress"

    def _end(self, batch: StubBatch) -> None:
        fault = batch.fault
        opts = fault.opts if fault is not None else {}
        kind = "cancel" if batch.cancel_requested is not None else fault.kind if fault is not None else ""
        done = int(opts.get("done", 0)) if kind == "expire" else batch.size
        errored = set(opts.get("custom_ids") or batch.custom_ids[: int(opts.get("n", 1))]) \
            if kind == "partial" else set()
        for index, (custom_id, request) in enumerate(zip(batch.custom_ids, batch.requests, strict=True)):
            if kind == "cancel":
                batch.results.append(Result(custom_id, "canceled"))
            elif index >= done:
                batch.results.append(Result(custom_id, "expired"))
            elif custom_id in errored:
                batch.results.append(Result(custom_id, "errored", status=int(opts.get("status", 500)),
                                            message=str(opts.get("message", "injected request failure"))))
            else:
                batch.results.append(self._run(custom_id, request))
        batch.ended = time.time()
        if batch.api == "anthropic":
            batch.status = "ended"
            return
        batch.status = {"cancel": "cancelled", "expire": "expired"}.get(kind, "completed")
        line_ids = [f"batch_req_{batch.id.removeprefix('batch_')}_{n}" for n in range(batch.size)]
        output, errors = openai_output(batch.results, line_ids)
        if output:
            batch.output_file_id = self._new_file(f"{batch.id}_output.jsonl", "batch_output", output).id
        if errors:
            batch.error_file_id = self._new_file(f"{batch.id}_error.jsonl", "batch_output", errors).id

    def _run(self, custom_id: str, request: StubRequest) -> Result:
        """One request answered as the sync endpoint answers it: same responder, reply and usage."""
        server = self.server
        if request.body.get("stream"):
            return Result(custom_id, "errored", status=400, message="a batch request cannot stream: send stream=false")
        try:
            answer = server.responder(request)
        except Exception as exc:  # a broken responder is the test's bug: show it, as the sync path does
            return Result(custom_id, "errored", status=500, message=f"responder failed: {type(exc).__name__}: {exc}")
        build = openai_reply if request.api == "openai" else anthropic_reply
        body = build(request, answer, False, next(server._ids), lambda text: server._usage(request, text))
        return Result(custom_id, "succeeded", body)

    def _listing(self, api: Api, query: dict[str, str], head: dict[str, Any]) -> dict[str, Any]:
        """One page of the list, newest first, after the cursor (``after`` / ``after_id``), ``limit`` long."""
        self.lists += 1
        newest_first = [b.id for b in reversed(self._batches) if b.api == api and b.id in self._by_id]
        page, more = list_page(newest_first, query, "after" if api == "openai" else "after_id")
        batches = [self._look(batch_id, api) for batch_id in page]
        view = openai_batch if api == "openai" else self._anthropic
        return {**head, "data": [view(b) for b in batches], "first_id": batches[0].id if batches else None,
                "last_id": batches[-1].id if batches else None, "has_more": more}

    def _anthropic(self, batch: StubBatch) -> dict[str, Any]:
        return anthropic_batch(batch, self.server.base_url)
