"""The stub's batch APIs, driven by the real SDK clients: OpenAI's Files + Batch API and Anthropic's
Message Batches, their timing, their faults (expire, partial, fail), cancels, restarts and counters."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.testing import StubRequest, StubServer
from courtgraph.testing.__main__ import main as stub_main
from courtgraph.testing.batch_wire import multipart_fields, openai_lines

ENDED = ("completed", "expired", "failed", "cancelled")
SCHEMA = {"type": "json_schema", "json_schema": {"name": "Verdict", "schema": {"type": "object"}}}
TOOLS = [{"type": "function", "function": {"name": "Pick", "parameters": {"type": "object"}}}]


@pytest.fixture
def slow() -> Iterator[StubServer]:
    """A stub whose batches stay pending until a test sets ``stub.batches.delay = 0``."""
    with StubServer(batch_delay=3600) as server:
        yield server


def openai_client(stub: StubServer, key: str = "k") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stub.openai_url, api_key=key, max_retries=0)


def anthropic_client(stub: StubServer, key: str = "k") -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stub.anthropic_url, api_key=key, max_retries=0)


def chat_body(n: int, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-stub", "messages": [{"role": "system", "content": "judge fairly"},
                                              {"role": "user", "content": f"case {n}: " + "word " * n}], **extra}


def message_params(n: int) -> dict[str, Any]:
    return {"model": "claude-stub", "max_tokens": 50, "system": "judge fairly",
            "messages": [{"role": "user", "content": f"case {n}: " + "word " * n}]}


def requests_of(params: dict[str, dict[str, Any]]) -> Any:
    """Message Batch requests (typed Any: the SDK's TypedDicts do not take a plain dict)."""
    return [{"custom_id": cid, "params": p} for cid, p in params.items()]


def jsonl(bodies: dict[str, dict[str, Any]], url: str = "/v1/chat/completions") -> bytes:
    return "\n".join(json.dumps({"custom_id": cid, "method": "POST", "url": url, "body": body})
                     for cid, body in bodies.items()).encode()


async def submit(client: openai.AsyncOpenAI, bodies: dict[str, dict[str, Any]]) -> Any:
    upload = await client.files.create(file=("requests.jsonl", jsonl(bodies)), purpose="batch")
    return await client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                       completion_window="24h")


async def settle(client: openai.AsyncOpenAI, batch_id: str) -> Any:
    """Poll as a batch client does, until the batch has ended (no bound on the time it takes)."""
    while (batch := await client.batches.retrieve(batch_id)).status not in ENDED:
        await asyncio.sleep(0.01)
    return batch


async def settle_anthropic(client: anthropic.AsyncAnthropic, batch_id: str) -> Any:
    while (batch := await client.messages.batches.retrieve(batch_id)).processing_status != "ended":
        await asyncio.sleep(0.01)
    return batch


async def lines(client: openai.AsyncOpenAI, file_id: str | None) -> dict[str, dict[str, Any]]:
    """A result file's lines by custom_id (empty when there is no file)."""
    if file_id is None:
        return {}
    content = await client.files.content(file_id)
    return {row["custom_id"]: row for row in map(json.loads, content.text.splitlines())}


async def results(client: anthropic.AsyncAnthropic, batch_id: str) -> dict[str, Any]:
    return {row.custom_id: row.result async for row in await client.messages.batches.results(batch_id)}


async def test_openai_batch_moves_from_validating_to_completed_and_answers_as_the_sync_path(slow: StubServer) -> None:
    client = openai_client(slow)
    bodies = {"plain": chat_body(1), "schema": chat_body(2, response_format=SCHEMA), "tool": chat_body(3, tools=TOOLS)}
    upload = await client.files.create(file=("requests.jsonl", jsonl(bodies)), purpose="batch")
    assert (upload.purpose, upload.bytes) == ("batch", len(jsonl(bodies)))
    created = await client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                          completion_window="24h", metadata={"run": "r1"})
    assert created.status == "validating" and created.input_file_id == upload.id
    pending = await client.batches.retrieve(created.id)
    assert pending.status == "in_progress" and pending.output_file_id is None
    assert pending.request_counts is not None and pending.request_counts.total == 3

    slow.batches.delay = 0
    done = await client.batches.retrieve(created.id)
    assert done.status == "completed" and done.error_file_id is None and done.metadata == {"run": "r1"}
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (3, 0)
    output = await lines(client, done.output_file_id)
    assert set(output) == set(bodies)
    assert slow.batches.sync_calls == 0

    for custom_id, body in bodies.items():
        line = output[custom_id]
        assert line["error"] is None and line["response"]["status_code"] == 200
        batched = openai.types.chat.ChatCompletion.model_validate(line["response"]["body"])
        sync = await client.chat.completions.create(**body)
        assert batched.choices[0].message.content == sync.choices[0].message.content
        assert batched.choices[0].finish_reason == sync.choices[0].finish_reason
        assert [c.model_dump(exclude={"id"}) for c in batched.choices[0].message.tool_calls or []] == \
               [c.model_dump(exclude={"id"}) for c in sync.choices[0].message.tool_calls or []]
        assert batched.usage == sync.usage
    assert json.loads(output["schema"]["response"]["body"]["choices"][0]["message"]["content"])["verdict"] == "A"
    assert output["tool"]["response"]["body"]["choices"][0]["finish_reason"] == "tool_calls"
    assert done.usage is not None
    assert done.usage.input_tokens == sum(o["response"]["body"]["usage"]["prompt_tokens"] for o in output.values())
    assert (len(slow.batches), slow.batches.sizes, slow.batches.sync_calls) == (1, [3], 3)
    assert slow.batches[0].status == "completed" and slow.batches[0].counts == {"succeeded": 3}


async def test_anthropic_batch_is_in_progress_then_ended_with_the_sync_answers(slow: StubServer) -> None:
    client = anthropic_client(slow)
    params = {f"r{n}": message_params(n) for n in range(1, 4)}
    created = await client.messages.batches.create(requests=requests_of(params))
    assert created.processing_status == "in_progress" and created.results_url is None
    assert created.request_counts.processing == 3
    with pytest.raises(anthropic.AnthropicError, match="finished processing"):
        await client.messages.batches.results(created.id)

    slow.batches.delay = 0
    ended = await client.messages.batches.retrieve(created.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert (ended.request_counts.processing, ended.request_counts.succeeded) == (0, 3)
    got = await results(client, created.id)
    assert set(got) == set(params)
    for custom_id, p in params.items():
        sync = await client.messages.create(**p)
        assert got[custom_id].type == "succeeded"
        assert got[custom_id].message.content == sync.content and got[custom_id].message.usage == sync.usage
    assert (len(slow.batches), slow.batches.sizes, slow.batches.sync_calls) == (1, [3], 3)
    batched = slow.batches[0]
    assert batched.api == "anthropic" and batched.custom_ids == list(params)
    assert [r.messages for r in batched.requests] == [
        [{"role": "system", "content": "judge fairly"}, p["messages"][0]] for p in params.values()]


async def test_a_polled_batch_passes_through_its_states_with_the_default_style_delay() -> None:
    with StubServer(batch_delay=0.05) as stub:
        client = openai_client(stub)
        created = await submit(client, {"a": chat_body(1)})
        seen = [created.status]
        while seen[-1] not in ENDED:
            seen.append((await client.batches.retrieve(created.id)).status)
            await asyncio.sleep(0.005)
    assert seen[0] == "validating" and seen[-1] == "completed"
    assert set(seen[1:-1]) <= {"in_progress", "finalizing"}


async def test_openai_expired_batch_returns_the_done_requests_and_lists_the_rest_as_expired() -> None:
    with StubServer(batch_delay=0) as stub:
        stub.batches.fault("expire", done=1)
        client = openai_client(stub)
        batch = await settle(client, (await submit(client, {f"c{n}": chat_body(n) for n in range(3)})).id)
        assert batch.status == "expired" and batch.expired_at is not None
        assert batch.request_counts is not None
        assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 2)
        output, errors = await lines(client, batch.output_file_id), await lines(client, batch.error_file_id)
    assert set(output) == {"c0"} and set(errors) == {"c1", "c2"}
    assert all(e["response"] is None and e["error"]["code"] == "batch_expired" for e in errors.values())
    assert stub.batches[0].counts == {"succeeded": 1, "expired": 2}


async def test_anthropic_expired_batch_has_expired_results() -> None:
    with StubServer(batch_delay=0) as stub:
        stub.batches.fault("expire")
        client = anthropic_client(stub)
        params = {f"r{n}": message_params(n) for n in range(2)}
        created = await client.messages.batches.create(requests=requests_of(params))
        ended = await settle_anthropic(client, created.id)
        got = await results(client, created.id)
    assert (ended.request_counts.expired, ended.request_counts.succeeded) == (2, 0)
    assert {r.type for r in got.values()} == {"expired"}


async def test_openai_partly_failed_batch_puts_the_errored_requests_in_the_error_file() -> None:
    with StubServer(batch_delay=0) as stub:
        stub.batches.fault("partial", n=2, status=400, message="bad request line")
        client = openai_client(stub)
        batch = await settle(client, (await submit(client, {f"c{n}": chat_body(n) for n in range(4)})).id)
        output, errors = await lines(client, batch.output_file_id), await lines(client, batch.error_file_id)
    assert batch.status == "completed" and batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 2)
    assert set(errors) == {"c0", "c1"} and set(output) == {"c2", "c3"}
    for line in errors.values():
        assert line["response"]["status_code"] == 400
        assert line["response"]["body"]["error"] == {"message": "bad request line", "type": "invalid_request_error",
                                                     "param": None, "code": None}


async def test_anthropic_partly_failed_batch_errors_the_named_requests() -> None:
    with StubServer(batch_delay=0) as stub:
        stub.batches.fault("partial", custom_ids=["r1"], status=500, message="overloaded inside")
        client = anthropic_client(stub)
        params = {f"r{n}": message_params(n) for n in range(3)}
        created = await client.messages.batches.create(requests=requests_of(params))
        ended = await settle_anthropic(client, created.id)
        got = await results(client, created.id)
    assert (ended.request_counts.errored, ended.request_counts.succeeded) == (1, 2)
    assert got["r1"].type == "errored" and {got["r0"].type, got["r2"].type} == {"succeeded"}
    assert got["r1"].error.error.type == "api_error" and got["r1"].error.error.message == "overloaded inside"


async def test_openai_failed_batch_has_errors_and_no_output() -> None:
    with StubServer(batch_delay=3600) as stub:  # a failure does not wait for the delay
        stub.batches.fault("fail", code="token_limit_exceeded", message="Enqueued token limit reached")
        client = openai_client(stub)
        created = await submit(client, {"a": chat_body(1)})
        assert created.status == "validating"
        batch = await client.batches.retrieve(created.id)
    assert batch.status == "failed" and batch.failed_at is not None and batch.output_file_id is None
    assert batch.errors is not None and batch.errors.data is not None
    assert (batch.errors.data[0].code, batch.errors.data[0].message) == ("token_limit_exceeded",
                                                                       "Enqueued token limit reached")
    assert stub.batches.sizes == [1] and stub.batches[0].counts == {}


async def test_anthropic_failed_batch_is_refused_at_creation_and_the_next_one_goes_through() -> None:
    with StubServer(batch_delay=0) as stub:
        stub.batches.fault("fail", message="batch refused")
        client = anthropic_client(stub)
        request = requests_of({"r0": message_params(0)})
        with pytest.raises(anthropic.BadRequestError, match="batch refused"):
            await client.messages.batches.create(requests=request)
        assert (len(stub.batches), stub.batches.rejected) == (0, 1)
        created = await client.messages.batches.create(requests=request)
        assert (await settle_anthropic(client, created.id)).request_counts.succeeded == 1


async def test_an_input_file_the_real_api_refuses_fails_its_batch_line_by_line() -> None:
    with StubServer(batch_delay=0) as stub:
        client = openai_client(stub)
        good = json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": chat_body(1)})
        text = "\n".join([good, good, "{not json", json.dumps({"custom_id": "b", "method": "POST",
                                                                "url": "/v1/embeddings", "body": {}})])
        upload = await client.files.create(file=io.BytesIO(text.encode()), purpose="batch")
        created = await client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                              completion_window="24h")
        batch = await settle(client, created.id)
    assert batch.status == "failed" and batch.errors is not None and batch.errors.data is not None
    assert [(e.line, e.code) for e in batch.errors.data] == [
        (2, "duplicate_custom_id"), (3, "invalid_json_line"), (4, "mismatched_endpoint")]


async def test_cancelled_batches_answer_cancelling_then_end_with_every_request_cancelled(slow: StubServer) -> None:
    oai, ant = openai_client(slow), anthropic_client(slow)
    created = await submit(oai, {"a": chat_body(1), "b": chat_body(2)})
    assert (await oai.batches.cancel(created.id)).status == "cancelling"
    batch = await oai.batches.retrieve(created.id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None and batch.output_file_id is None
    errors = await lines(oai, batch.error_file_id)
    assert {line["error"]["code"] for line in errors.values()} == {"batch_cancelled"} and set(errors) == {"a", "b"}

    made = await ant.messages.batches.create(requests=requests_of({"r0": message_params(0)}))
    canceling = await ant.messages.batches.cancel(made.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    assert (await ant.messages.batches.retrieve(made.id)).request_counts.canceled == 1
    assert {r.type for r in (await results(ant, made.id)).values()} == {"canceled"}
    assert slow.batches.sync_calls == 0 and slow.requests_by_path.get("/v1/chat/completions") is None


async def test_a_restarted_client_polls_a_batch_created_before_its_crash(slow: StubServer) -> None:
    first = openai_client(slow)
    created = await submit(first, {"a": chat_body(1)})
    await first.close()  # the client "crashes"; the run kept created.id
    ant_first = anthropic_client(slow)
    made = await ant_first.messages.batches.create(requests=requests_of({"r0": message_params(0)}))
    await ant_first.close()

    slow.batches.delay = 0
    resumed, ant_resumed = openai_client(slow), anthropic_client(slow)
    batch = await resumed.batches.retrieve(created.id)
    assert batch.status == "completed" and set(await lines(resumed, batch.output_file_id)) == {"a"}
    assert (await ant_resumed.messages.batches.retrieve(made.id)).request_counts.succeeded == 1
    assert slow.batches.get(created.id) is slow.batches[0] and len(slow.batches) == 2


async def test_batch_endpoints_honour_the_key_and_answer_404_for_unknown_ids() -> None:
    with StubServer(api_key="right", batch_delay=0) as stub:
        with pytest.raises(openai.AuthenticationError):
            await openai_client(stub, key="wrong").files.create(file=("x.jsonl", b"{}"), purpose="batch")
        with pytest.raises(anthropic.AuthenticationError):
            await anthropic_client(stub, key="wrong").messages.batches.retrieve("msgbatch_nope")
        with pytest.raises(openai.NotFoundError):
            await openai_client(stub, key="right").batches.retrieve("batch_nope")
        with pytest.raises(anthropic.NotFoundError):
            await anthropic_client(stub, key="right").messages.batches.retrieve("msgbatch_nope")
        with pytest.raises(openai.NotFoundError):
            await openai_client(stub, key="right").batches.create(
                input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    assert len(stub.batches) == 0


async def test_listing_deleting_and_a_broken_responder() -> None:
    def responder(request: StubRequest) -> str:
        if "boom" in request.text:
            raise RuntimeError("responder exploded")
        return "fine [[B]]"

    with StubServer(responder, batch_delay=0) as stub:
        oai, ant = openai_client(stub), anthropic_client(stub)
        created = await submit(oai, {"ok": chat_body(1), "bad": {**chat_body(1), "messages": [
            {"role": "user", "content": "boom"}]}, "streams": chat_body(2, stream=True)})
        batch = await settle(oai, created.id)
        output, errors = await lines(oai, batch.output_file_id), await lines(oai, batch.error_file_id)
        assert output["ok"]["response"]["body"]["choices"][0]["message"]["content"] == "fine [[B]]"
        assert errors["bad"]["response"]["status_code"] == 500
        assert "responder exploded" in errors["bad"]["response"]["body"]["error"]["message"]
        assert errors["streams"]["response"]["status_code"] == 400
        assert [b.id async for b in oai.batches.list()] == [created.id]
        assert (await oai.files.delete(batch.output_file_id or "")).deleted
        with pytest.raises(openai.NotFoundError):
            await oai.files.content(batch.output_file_id or "")

        made = await ant.messages.batches.create(requests=requests_of({"r0": message_params(0)}))
        with pytest.raises(anthropic.BadRequestError, match="still processing"):
            stub.batches.delay = 3600
            await ant.messages.batches.delete(made.id)
        stub.batches.delay = 0
        await settle_anthropic(ant, made.id)
        assert [b.id async for b in ant.messages.batches.list()] == [made.id]
        assert (await ant.messages.batches.delete(made.id)).type == "message_batch_deleted"
        assert [b.id async for b in ant.messages.batches.list()] == []
    assert len(stub.batches) == 2  # deleted batches still count


async def test_an_http_fault_hits_the_next_batch_call_and_the_sdk_retry_recovers(slow: StubServer) -> None:
    created = await submit(openai_client(slow), {"a": chat_body(1)})
    slow.batches.fault("http", status=429, retry_after=0.01)
    slow.batches.fault("http", status=503)
    with pytest.raises(openai.RateLimitError):
        await openai_client(slow).batches.retrieve(created.id)
    with pytest.raises(anthropic.InternalServerError):
        await anthropic_client(slow).messages.batches.retrieve("msgbatch_any")
    assert (await openai_client(slow).batches.retrieve(created.id)).status == "in_progress"
    slow.batches.fault("http", times=2, status=429, retry_after=0.01)
    retrying = openai.AsyncOpenAI(base_url=slow.openai_url, api_key="k", max_retries=2)
    assert (await retrying.batches.retrieve(created.id)).id == created.id  # two 429s, then the batch
    assert slow.requests_by_path[f"/v1/batches/{created.id}"] == 5
    slow.batches.fault("http")
    slow.batches.clear_faults()
    assert (await openai_client(slow).batches.retrieve(created.id)).status == "in_progress"


def test_batch_fault_and_delay_are_checked() -> None:
    stub = StubServer()
    with pytest.raises(ValueError, match="unknown batch fault 'explode'"):
        stub.batches.fault("explode")
    with pytest.raises(ValueError, match="batch_delay"):
        StubServer(batch_delay=-1)
    with pytest.raises(SystemExit) as exit_info:
        stub_main(["--batch-delay", "-1"])
    assert exit_info.value.code == 2


def test_bad_batch_delay_exits_2_naming_the_option() -> None:
    out = subprocess.run([sys.executable, "-m", "courtgraph", "stub", "--batch-delay", "-1"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "field 'batch-delay'" in out.stderr and "Traceback" not in out.stderr


async def test_the_stub_command_serves_batches_with_its_batch_delay() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "courtgraph", "stub", "--port", "0", "--batch-delay", "0"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        url = next(line.split()[-1] for line in proc.stdout if line.strip().startswith("openai:"))
        client = openai.AsyncOpenAI(base_url=url.split("@", 1)[1], api_key="k", max_retries=0)
        created = await submit(client, {"a": chat_body(1)})
        batch = await client.batches.retrieve(created.id)  # --batch-delay 0: ended at the first look
        assert batch.status == "completed" and set(await lines(client, batch.output_file_id)) == {"a"}
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert "stopped after 4 requests" in out  # upload, create, retrieve, content


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=300) | st.sampled_from([b"", b"\r\n", b"--", b"\r\n--x\r\n\r\n", b"a\r\n\r\nb"]),
       name=st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"'), min_size=1,
                    max_size=20))
def test_multipart_parts_come_back_byte_for_byte(content: bytes, name: str) -> None:
    """Whatever httpx (the SDKs' transport) encodes, the stub reads back the same bytes and filename."""
    request = httpx.Request("POST", "http://127.0.0.1/v1/files", data={"purpose": "batch"},
                            files={"file": (name, content)})
    fields = multipart_fields(request.headers["content-type"], request.read())
    assert fields["file"] == (name, content) and fields["purpose"] == (None, b"batch")


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6),
       junk=st.lists(st.text(max_size=12), max_size=3))
def test_input_file_checks_flag_every_repeated_id_and_unparseable_line(ids: list[str], junk: list[str]) -> None:
    rows = [json.dumps({"custom_id": i, "method": "POST", "url": "/v1/chat/completions", "body": chat_body(1)})
            for i in ids]
    bad = [j for j in junk if j.strip() and not _is_json(j) and "\n" not in j and "\r" not in j]
    requests, errors = openai_lines("\n".join(rows + bad).encode())
    assert [r["custom_id"] for r in requests] == list(dict.fromkeys(ids))
    assert sum(e["code"] == "duplicate_custom_id" for e in errors) == len(ids) - len(set(ids))
    assert sum(e["code"] == "invalid_json_line" for e in errors) == len(bad)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


async def test_an_uploaded_file_reads_back_unchanged(stub: StubServer) -> None:
    client = openai_client(stub)
    content = b"line one\r\n--boundary-like\r\n\r\n\x00\xff tail"
    upload = await client.files.create(file=("odd.jsonl", content), purpose="batch")
    assert (await client.files.retrieve(upload.id)).filename == "odd.jsonl"
    assert (await client.files.content(upload.id)).content == content
    with pytest.raises(openai.BadRequestError, match="purpose 'batch' only"):
        await client.files.create(file=("x.jsonl", b"{}"), purpose="fine-tune")


def test_batch_faults_from_the_command_line_are_parsed_checked_and_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    from courtgraph.testing import __main__ as cli
    from courtgraph.testing.batch_wire import parse_batch_fault

    assert parse_batch_fault("lose:hold=3600,accept=false") == ("lose", {"hold": 3600, "accept": False})
    assert parse_batch_fault("partial:message=too slow") == ("partial", {"message": "too slow"})
    assert parse_batch_fault("expire") == ("expire", {})
    for bad, said in (("bogus", "unknown batch fault 'bogus'"), ("lose:wait=1", "KEY one of accept, hold"),
                      ("lose:hold", "is not KEY=VALUE")):
        with pytest.raises(ValueError, match=said):
            parse_batch_fault(bad)
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "serve", lambda *args, **kwargs: served.append(kwargs))
    cli.main(["--port", "0", "--batch-fault", "lose:hold=5", "--batch-fault", "expire:done=1"])
    assert served[0]["batch_faults"] == [("lose", {"hold": 5}), ("expire", {"done": 1})]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--batch-fault", "lose:wait=1"])
    assert exit_info.value.code == 2


def test_the_stub_command_refuses_a_bad_batch_fault_naming_the_option() -> None:
    out = subprocess.run([sys.executable, "-m", "courtgraph", "stub", "--batch-fault", "lose:wait=1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "field 'batch-fault'" in out.stderr and "Traceback" not in out.stderr


async def test_a_served_stub_applies_its_batch_faults_in_order() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "courtgraph", "stub", "--port", "0", "--batch-delay", "0",
                             "--batch-fault", "fail:code=no_way"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        for line in proc.stdout:
            banner.append(line)
            if line.startswith("Batch faults"):
                break
        assert banner[-1].strip() == "Batch faults, for the next batches created in order: fail code=no_way"
        url = next(line.split()[-1] for line in banner if line.strip().startswith("openai:"))
        client = openai.AsyncOpenAI(base_url=url.split("@", 1)[1], api_key="k", max_retries=0)
        failed = await client.batches.retrieve((await submit(client, {"a": chat_body(1)})).id)
        again = await client.batches.retrieve((await submit(client, {"b": chat_body(1)})).id)
        assert failed.status == "failed" and failed.errors is not None and failed.errors.data is not None
        assert failed.errors.data[0].code == "no_way" and again.status == "completed"  # only the next batch
    finally:
        proc.kill()
        proc.wait(timeout=30)
