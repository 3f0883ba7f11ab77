"""courtgraph's own providers are visible to LangChain's tracing: LangSmith LLM runs and astream_events.

The providers call the SDKs directly, so without :mod:`courtgraph.models.tracing` a trace shows graph
and node runs but no model call. These tests listen where users do: ``astream_events`` on a protocol
graph, and a loopback LangSmith-compatible sink (127.0.0.1 only) that langsmith's own client posts to.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from courtgraph.graphs.debate import debate
from courtgraph.graphs.trial import run_trial
from courtgraph.models import ScriptedModel
from courtgraph.schema import Case, Trial
from courtgraph.testing import StubServer

CASE = Case(id="q7", question="What is 2 + 2?", candidates=["4", "5"], label="A")


async def test_every_call_is_a_chat_model_event_with_tokens() -> None:
    rounds = 2
    judge = ScriptedModel(lambda messages, schema: "A is right.\n[[A]]", name="judge-model", tokens=(11, 5))
    graph = debate(ScriptedModel(lambda messages, schema: "My side is right.", tokens=(7, 3)), judge, rounds=rounds)
    ends: list[dict[str, Any]] = []
    starts = 0
    async for event in graph.astream_events({"trial": Trial(case=CASE), "turns": []}, version="v2"):
        starts += event["event"] == "on_chat_model_start"
        if event["event"] == "on_chat_model_end":
            ends.append(dict(event))
    assert starts == len(ends) == 2 * rounds + 1  # two advocates per round, then the judge
    judged = [e for e in ends if e["name"] == judge.spec]
    assert len(judged) == 1
    usage = judged[0]["data"]["output"].usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"]) == (11, 5)
    assert judged[0]["data"]["output"].response_metadata["cached"] is False
    assert judged[0]["metadata"]["agent"] == "judge"


async def test_no_listener_means_no_run() -> None:
    from courtgraph.models.tracing import traced_call

    model = ScriptedModel(lambda messages, schema: "[[A]]")
    async with traced_call(model, [{"role": "user", "content": "hi"}], structured=False, agent=None) as trace:
        assert trace.run is None  # outside any run and with tracing off, nothing is reported


class _Sink(BaseHTTPRequestHandler):
    """Takes what langsmith's client posts (multipart run batches) and keeps every part."""

    parts: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        kind = self.headers.get("content-type", "")
        if kind.startswith("multipart/"):
            message = BytesParser().parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + body)
            for part in message.walk():
                name = part.get_param("name", header="content-disposition")
                if name is not None:
                    self.parts.append((str(name), bytes(part.get_payload(decode=True))))
        self._answer()

    def do_PATCH(self) -> None:
        self.do_POST()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def langsmith_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bytes]]]:
    parts: list[tuple[str, bytes]] = []
    handler = type("Sink", (_Sink,), {"parts": parts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-only")
    monkeypatch.setenv("LANGSMITH_PROJECT", "courtgraph-tests")
    from langsmith import run_trees, utils

    def forget() -> None:  # langsmith caches its environment and its client: make it read ours, then forget it
        for cached in (utils.get_env_var, utils.get_tracer_project):
            cached.cache_clear()  # type: ignore[union-attr]
        run_trees._CLIENT = None

    forget()
    yield parts
    server.shutdown()
    monkeypatch.undo()
    forget()


async def test_langsmith_gets_an_llm_run_for_every_openai_call(stub: StubServer,
                                                               langsmith_sink: list[tuple[str, bytes]]) -> None:
    from langchain_core.tracers.langchain import wait_for_all_tracers

    stub.responder = lambda request: {"reasoning": "A adds up.", "verdict": "A"} if request.structured \
        else "The sum is plain arithmetic."
    spec = f"openai:gpt-4o-mini@{stub.openai_url}"
    result = await run_trial(debate(spec, spec, rounds=1), Trial(case=CASE))
    assert result.verdict.valid
    wait_for_all_tracers()

    posts = {name.split(".")[1]: json.loads(data) for name, data in langsmith_sink
             if name.startswith("post.") and name.count(".") == 1}
    outputs = {name.split(".")[1]: json.loads(data) for name, data in langsmith_sink if name.endswith(".outputs")}
    llm_runs = [run_id for run_id, run in posts.items() if run.get("run_type") == "llm"]
    assert len(llm_runs) == stub.requests == 3  # two advocates and the judge, each one LLM run
    for run_id in llm_runs:
        message = outputs[run_id]["generations"][0][0]["message"]["kwargs"]
        assert message["usage_metadata"]["input_tokens"] > 0 and message["usage_metadata"]["output_tokens"] > 0
    extras = {name.split(".")[1]: json.loads(data) for name, data in langsmith_sink if name.endswith(".extra")}
    top = next(run_id for run_id, run in posts.items() if run.get("name") == "debate q7 AB")
    assert {"courtgraph_case_id": "q7", "courtgraph_order": "AB", "courtgraph_protocol": "debate"}.items() \
        <= extras[top]["metadata"].items()  # traces can be filtered by case, order and protocol


def test_nobody_listens_answers_what_configure_answers() -> None:
    """The check every call makes inside a graph run is langchain-core's own answer, without the metadata work:
    given handlers (a list or a manager), the debug switch and a tracer in context (LangSmith's environment
    is tested end to end above)."""
    from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackHandler
    from langchain_core.globals import set_debug
    from langchain_core.tracers.context import tracing_v2_callback_var
    from langchain_core.tracers.stdout import ConsoleCallbackHandler

    from courtgraph.models.tracing import nobody_listens

    handler = BaseCallbackHandler()
    givens: list[Any] = [None, [], [handler], AsyncCallbackManager(handlers=[]),
                         AsyncCallbackManager(handlers=[handler]),
                         AsyncCallbackManager(handlers=[], inheritable_handlers=[])]

    def agree() -> list[bool]:
        answers = []
        for given in givens:
            expected = not AsyncCallbackManager.configure(inheritable_callbacks=given, inheritable_tags=["t"],
                                                          inheritable_metadata={"agent": "judge"}).handlers
            assert nobody_listens(given) == expected, given
            answers.append(expected)
        return answers

    assert agree() == [True, True, False, True, False, True]
    set_debug(True)
    try:
        assert not any(agree())
    finally:
        set_debug(False)
    token = tracing_v2_callback_var.set(ConsoleCallbackHandler())  # type: ignore[arg-type]
    try:
        assert not any(agree())
    finally:
        tracing_v2_callback_var.reset(token)
    assert agree() == [True, True, False, True, False, True]
