"""What the stub's batch APIs speak: the multipart upload, the checks on an OpenAI batch input file, and
the JSON shapes of batches, files and result lines, as the real OpenAI Batch API and Anthropic Message
Batches API send them (the shapes the installed SDKs parse). Kept apart from
:mod:`courtgraph.testing.batches` (the state and the routing) so each reads on its own."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from courtgraph.testing.wire import ERROR_TYPES, Api, StubRequest

#: What became of one request of a batch once the batch ended (Anthropic's result types).
Outcome = Literal["succeeded", "errored", "expired", "canceled"]

#: The one endpoint the stub's OpenAI batches serve (the stub answers chat completions only).
OPENAI_ENDPOINT = "/v1/chat/completions"

#: OpenAI's error-file messages for requests that were never run.
UNRUN = {"expired": ("batch_expired", "This request could not be executed before the completion window expired."),
         "canceled": ("batch_cancelled", "This request was cancelled before it was executed.")}

DAY = 24 * 3600

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # Anthropic's rule for a custom_id
#: One ``key=value`` or ``key="quoted; value"`` parameter of a Content-Disposition header.
_PARAM = re.compile(r';\s*([\w*-]+)=("(?:[^"\\]|\\.)*"|[^;]*)')


class BatchApiError(Exception):
    """An HTTP error answer of the batch endpoints (status and message), in the caller's API's shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Route:
    """One request to a batch endpoint: method, path parts after ``/v1``, headers, raw body and query."""

    method: str
    parts: list[str]
    headers: dict[str, str]
    raw: bytes
    query: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.raw or b"{}")
        except ValueError:
            raise BatchApiError(400, "the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BatchApiError(400, "the request body must be a JSON object")
        return body


@dataclass
class Result:
    """One request's outcome: the answer body (succeeded), or the error status and message (errored)."""

    custom_id: str
    outcome: Outcome
    body: dict[str, Any] | None = None
    status: int = 200
    message: str = ""


@dataclass
class BatchFault:
    """A queued batch fault: its kind and options (``stub.batches.fault``).

    Queued with ``stub.batches.fault(kind, times=1, **opts)`` and taken by the next batches created (either
    API), in order (``stub.batches.clear_faults()`` forgets them):

    - ``"expire"``, ``done=0``: the first ``done`` requests are answered, the rest expire. OpenAI: status
      ``expired``, the unrun requests in the error file (``response: null``, ``error.code == "batch_expired"``)
      and absent from the output file; Anthropic: ``expired`` results.
    - ``"partial"``, ``n=1``, ``custom_ids=None``, ``status=500``, ``message``: those requests (the first
      ``n``, or the ones named) are errored with that status. OpenAI: in the error file with
      ``response.status_code`` and an error body, counted in ``request_counts.failed``; Anthropic: ``errored``
      results with an error of the status's type (500 ``api_error``, 400 ``invalid_request_error``, ...).
    - ``"fail"``, ``message``, ``code="batch_failed"``, ``status=400``: the whole batch fails. OpenAI: the
      batch is created (``validating``) and its next look says ``failed`` with ``errors.data[0].code ==
      code``, no output file; Anthropic has no failed batch: the create is refused with HTTP ``status``
      and no batch is made (``stub.batches.rejected`` counts these).
    - ``"http"``, ``status=503``, ``retry_after=None``: not a batch's fault but a flaky endpoint: the next
      call to any batch endpoint (upload, create, poll, results) answers that HTTP error, with
      ``Retry-After`` when given (the SDKs retry 429 and 5xx themselves unless ``max_retries=0``).
    - ``"lose"``, ``accept=True``, ``hold=0``: the next create (either API) never answers: the stub makes the
      batch (with ``accept=False``: makes nothing, as a request lost on its way), holds the connection
      ``hold`` seconds (time for a test to kill the client), then closes it without a response. This is the
      window between a provider accepting a batch and the client learning its id; ``stub.batches.lost``
      counts these creates.
    """

    kind: str
    opts: dict[str, Any]


#: Each batch fault kind (:class:`BatchFault`) and the options it reads.
FAULT_OPTIONS: dict[str, tuple[str, ...]] = {
    "expire": ("done",), "partial": ("n", "custom_ids", "status", "message"), "fail": ("message", "code", "status"),
    "http": ("status", "retry_after"), "lose": ("accept", "hold")}


def parse_batch_fault(spec: str) -> tuple[str, dict[str, Any]]:
    """``KIND`` or ``KIND:KEY=VALUE,...`` (``lose:hold=3600``, ``expire:done=2``) as a kind and its options, for
    the stub's command line; a value reads as JSON when it can (``3``, ``true``), else as text. ValueError names
    what is wrong."""
    kind, _, rest = spec.strip().partition(":")
    if kind not in FAULT_OPTIONS:
        raise ValueError(f"unknown batch fault {kind!r}: expected one of {', '.join(FAULT_OPTIONS)}")
    opts: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or key.strip() not in FAULT_OPTIONS[kind]:
            raise ValueError(f"batch fault {kind!r}: {item!r} is not KEY=VALUE with KEY one of "
                             f"{', '.join(FAULT_OPTIONS[kind])}")
        try:
            opts[key.strip()] = json.loads(value)
        except ValueError:
            opts[key.strip()] = value.strip()
    return kind, opts


@dataclass
class StubFile:
    """An uploaded (purpose ``batch``) or produced (``batch_output``) file."""

    id: str
    filename: str
    purpose: str
    content: bytes
    created: float


@dataclass
class StubBatch:
    """One batch as the stub holds it; ``status`` is the provider's word for it when last served."""

    api: Api
    id: str
    custom_ids: list[str]
    requests: list[StubRequest]
    created: float  # wall clock, for the API's timestamps
    started: float  # monotonic, for the delay
    fault: BatchFault | None = None
    input_file_id: str | None = None
    metadata: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None  # set: the (OpenAI) batch fails at its next look
    status: str = "validating"
    cancel_requested: float | None = None
    ended: float | None = None
    results: list[Result] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.custom_ids)

    @property
    def counts(self) -> dict[str, int]:
        """Requests by outcome (succeeded, errored, expired, canceled) once the batch ended, else empty."""
        return dict(Counter(result.outcome for result in self.results))


def multipart_fields(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a ``multipart/form-data`` body, by field name: (filename or None, content bytes)."""
    boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        raise BatchApiError(400, "POST /v1/files takes multipart/form-data with fields 'file' and 'purpose'")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for segment in (b"\r\n" + raw).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if segment.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        params: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                for key, val in _PARAM.findall(value):
                    params[key.lower()] = re.sub(r"\\(.)", r"\1", val[1:-1]) if val.startswith('"') else val
        if "name" in params:
            fields[params["name"]] = (params.get("filename"), content)
    return fields


def openai_lines(content: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An OpenAI batch input file's requests, and the validation errors (``errors.data`` of a failed batch).

    Each line must be ``{custom_id, method: "POST", url: "/v1/chat/completions", body}`` with a unique
    custom_id, and every body must name the same model, as the real API requires.
    """
    requests: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()

    def error(line: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "line": line, "message": message, "param": param})

    for number, text in enumerate(content.decode("utf-8", "replace").split("\n"), start=1):  # JSONL: \n only
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            error(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(line, dict):
            error(number, "invalid_json_line", "Each line must be a JSON object.")
            continue
        custom_id, body = line.get("custom_id"), line.get("body")
        if not isinstance(custom_id, str) or not custom_id:
            error(number, "missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id")
        elif custom_id in seen:
            error(number, "duplicate_custom_id", f"The custom_id {custom_id!r} is used more than once.",
                  "custom_id")
        elif line.get("method") != "POST":
            error(number, "invalid_method", "The method must be 'POST'.", "method")
        elif line.get("url") != OPENAI_ENDPOINT:
            error(number, "mismatched_endpoint", f"The url {line.get('url')!r} does not match the batch's "
                                                 f"endpoint {OPENAI_ENDPOINT!r}.", "url")
        elif not isinstance(body, dict):
            error(number, "missing_required_parameter", "Missing required parameter: 'body'.", "body")
        else:
            seen.add(custom_id)
            models.add(str(body.get("model", "")))
            requests.append(line)
    if len(models) > 1:
        error(0, "mismatched_model", f"All requests in a batch must use the same model, got {sorted(models)}.",
              "body.model")
    if not requests and not errors:
        error(0, "empty_file", "The input file has no requests.")
    return requests, errors


def anthropic_requests(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A Message Batch create's ``requests``, checked as the real API checks them (custom_id rule, unique)."""
    entries = body.get("requests")
    if not isinstance(entries, list) or not entries:
        raise BatchApiError(400, "requests: a non-empty list of {custom_id, params} is required")
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            raise BatchApiError(400, f"requests.{n}.custom_id: 1 to 64 letters, digits, '_' or '-' required")
        if custom_id in seen:
            raise BatchApiError(400, f"requests.{n}.custom_id: {custom_id!r} is used more than once")
        if not isinstance(entry.get("params"), dict):
            raise BatchApiError(400, f"requests.{n}.params: an object is required")
        seen.add(custom_id)
    return entries


def list_page(ids: list[str], query: dict[str, str], cursor_key: str) -> tuple[list[str], bool]:
    """One page of a list (``ids`` newest first): the ids after the cursor, ``limit`` of them, and has_more."""
    try:
        limit = int(query.get("limit", 20))
    except ValueError:
        raise BatchApiError(400, f"limit must be a whole number, got {query['limit']!r}") from None
    if not 1 <= limit <= 100:
        raise BatchApiError(400, f"limit must be from 1 to 100, got {limit}")
    cursor = query.get(cursor_key)
    if cursor is not None:
        if cursor not in ids:
            raise BatchApiError(400, f"no such batch to list after: {cursor}")
        ids = ids[ids.index(cursor) + 1:]
    return ids[:limit], len(ids) > limit


def unix(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds)


def rfc3339(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def openai_error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "api_error"), "param": None,
                      "code": None}}


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}


def file_object(file_id: str, filename: str, purpose: str, size: int, created: float) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "bytes": size, "created_at": int(created), "filename": filename,
            "purpose": purpose, "status": "processed", "expires_at": int(created) + 30 * DAY,
            "status_details": None}


def openai_output(results: list[Result], ids: list[str]) -> tuple[bytes, bytes]:
    """The output file (the answered requests) and the error file (errored, expired, cancelled ones).

    ``ids`` are the ``batch_req_...`` ids, one per result; an answered line carries its status code and
    body, a request never run carries ``response: null`` and an ``error`` with its code.
    """
    output: list[str] = []
    failed: list[str] = []
    for result, line_id in zip(results, ids, strict=True):
        request_id = line_id.replace("batch_req_", "req_")
        if result.outcome == "succeeded":
            response = {"status_code": 200, "request_id": request_id, "body": result.body}
            output.append(json.dumps({"id": line_id, "custom_id": result.custom_id, "response": response,
                                      "error": None}))
        elif result.outcome == "errored":
            response = {"status_code": result.status, "request_id": request_id,
                        "body": openai_error_body(result.status, result.message)}
            failed.append(json.dumps({"id": line_id, "custom_id": result.custom_id, "response": response,
                                      "error": None}))
        else:
            code, message = UNRUN[result.outcome]
            failed.append(json.dumps({"id": line_id, "custom_id": result.custom_id, "response": None,
                                      "error": {"code": code, "message": message}}))
    return (("\n".join(output) + "\n").encode() if output else b"",
            ("\n".join(failed) + "\n").encode() if failed else b"")


def anthropic_results(results: list[Result]) -> bytes:
    """The ``.jsonl`` of a Message Batch's results: one ``{custom_id, result}`` line per request."""
    lines = []
    for n, result in enumerate(results, start=1):
        body: dict[str, Any] = {"type": result.outcome}
        if result.outcome == "succeeded":
            body["message"] = result.body
        elif result.outcome == "errored":
            body["error"] = {**anthropic_error_body(result.status, result.message),
                             "request_id": f"req_stub_{n}"}
        lines.append(json.dumps({"custom_id": result.custom_id, "result": body}))
    return ("\n".join(lines) + "\n").encode()


def openai_usage(results: list[Result]) -> dict[str, Any]:
    """The batch's token usage, summed over its answered requests (the ``usage`` of a Batch)."""
    prompt = completion = cached = 0
    for result in results:
        usage = (result.body or {}).get("usage") or {}
        prompt += int(usage.get("prompt_tokens", 0))
        completion += int(usage.get("completion_tokens", 0))
        cached += int((usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion}


def openai_batch(batch: StubBatch) -> dict[str, Any]:
    """The Batch object the OpenAI SDK parses."""
    ended, status, created = batch.ended, batch.status, batch.created
    succeeded = batch.counts.get("succeeded", 0)
    return {
        "id": batch.id, "object": "batch", "endpoint": OPENAI_ENDPOINT, "model": batch.requests[0].model
        if batch.requests else None, "input_file_id": batch.input_file_id, "completion_window": "24h",
        "status": status, "output_file_id": batch.output_file_id, "error_file_id": batch.error_file_id,
        "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
        "created_at": unix(created), "expires_at": unix(created + DAY),
        "in_progress_at": None if status in ("validating", "failed") else unix(created),
        "finalizing_at": unix(ended) if status in ("completed", "expired") else None,
        "completed_at": unix(ended) if status == "completed" else None,
        "failed_at": unix(ended) if status == "failed" else None,
        "expired_at": unix(ended) if status == "expired" else None,
        "cancelling_at": unix(batch.cancel_requested), "cancelled_at": unix(ended) if status == "cancelled"
        else None,
        "request_counts": {"total": batch.size, "completed": succeeded,
                           "failed": len(batch.results) - succeeded},
        "metadata": batch.metadata, "usage": openai_usage(batch.results) if ended else None,
    }


def anthropic_batch(batch: StubBatch, base_url: str) -> dict[str, Any]:
    """The MessageBatch object the Anthropic SDK parses; ``results_url`` is absolute, as the real API's."""
    counts, ended = batch.counts, batch.ended
    return {
        "id": batch.id, "type": "message_batch", "processing_status": batch.status,
        "request_counts": {"processing": 0 if ended else batch.size,
                           **{k: counts.get(k, 0) for k in ("succeeded", "errored", "canceled", "expired")}},
        "created_at": rfc3339(batch.created), "expires_at": rfc3339(batch.created + DAY),
        "ended_at": rfc3339(ended), "cancel_initiated_at": rfc3339(batch.cancel_requested), "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
    }
