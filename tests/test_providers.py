"""The openai: and anthropic: providers, driven over HTTP against the stub with the real SDK clients.

These are the Foundation issue's acceptance checks: verdicts through both APIs (structured and text),
retries of 429 / 500 / stalls, no retry of 401, the re-ask then invalid path, cache hits without
HTTP, the per-endpoint concurrency bound, and the key and cost rules. Plus the LangChain adapter.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from courtgraph.agents.base import Speaker, decide
from courtgraph.agents.parsing import PairwiseOutput
from courtgraph.graphs import judge_case, run_trial, single
from courtgraph.models import ConfigError, ModelError, get_model, use_cache
from courtgraph.models.anthropic import AnthropicModel
from courtgraph.models.endpoint import PLACEHOLDER_KEY, EndpointModel, split_spec
from courtgraph.models.langchain import LangChainModel
from courtgraph.models.openai import OpenAIModel
from courtgraph.models.pricing import price_of, set_price
from courtgraph.models.retry import RetryPolicy
from courtgraph.schema import Case, Trial
from courtgraph.testing import GARBAGE, StubRequest, StubServer

RIGHT, WRONG = "The answer is 4.", "The answer is 5."
CASE = Case(id="sum", question="What is 2+2?", candidates=[RIGHT, WRONG], label="A")
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)


def knows_arithmetic(request: StubRequest) -> str | dict[str, Any]:
    """Picks whichever shown response says 4, so both orders agree only if labels map correctly."""
    text = request.text
    side = "A" if text.find(RIGHT) < text.find(WRONG) else "B"
    if request.structured:
        return {"reasoning": "2+2 is 4.", "verdict": side}
    return f"2+2 is 4.\n[[{side}]]"


def model(server: StubServer, api: str = "openai", name: str = "stub-model", **kwargs: Any) -> EndpointModel:
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("timeout", 5.0)
    if api == "openai":
        return OpenAIModel(name, base_url=server.openai_url, **kwargs)
    return AnthropicModel(name, base_url=server.anthropic_url, **kwargs)


@pytest.fixture
def judge_stub() -> Any:
    with StubServer(knows_arithmetic) as server:
        yield server


async def one_call(m: EndpointModel) -> Any:
    return await m.generate([{"role": "user", "content": "Say [[A]]."}])


# -- verdicts through both APIs ------------------------------------------------------------------


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_pairwise_verdict_structured(judge_stub: StubServer, api: str) -> None:
    url = judge_stub.openai_url if api == "openai" else judge_stub.anthropic_url
    record = await judge_case(single(f"{api}:stub-model@{url}"), CASE)
    assert record.verdict.winner == "A" and record.correct
    assert [t.case_winner for t in record.trials] == ["A", "A"]
    assert all(r.structured for r in judge_stub.log)
    body = judge_stub.log[0].body
    if api == "openai":
        schema = body["response_format"]["json_schema"]
        assert schema["strict"] is True
        assert sorted(schema["schema"]["required"]) == sorted(PairwiseOutput.model_fields)
        assert schema["schema"]["additionalProperties"] is False
        assert body["max_tokens"] == 2048 and body["temperature"] == 0
    else:
        assert body["tool_choice"] == {"type": "tool", "name": "PairwiseOutput"}
        # the shared rules as the system prompt; the case, then the judge's own message, in one user turn,
        # with the one cache breakpoint at the end of the case (the role part is never written to the cache)
        assert body["system"].startswith("Several agents judge this case")
        (case, role), = [m["content"] for m in body["messages"]]
        assert case["cache_control"] == {"type": "ephemeral"} and case["text"].startswith("# Question")
        assert "cache_control" not in role and role["text"].startswith("# Your role\nYou are an impartial judge")
        assert "temperature" not in body  # API 2026-10-21 rejects sampling parameters
        assert all(m["role"] != "system" for m in body["messages"])
    usage = record.usage
    assert usage.calls == 2 and usage.input_tokens > 0 and usage.output_tokens > 0


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_pairwise_verdict_text(judge_stub: StubServer, api: str) -> None:
    m = model(judge_stub, api)
    m.structured = False
    record = await judge_case(single(m), CASE)
    assert record.verdict.winner == "A" and record.correct
    assert not any(r.structured for r in judge_stub.log)
    assert "[[" in record.trials[0].turns[0].content


# -- the retry layer -----------------------------------------------------------------------------


async def test_429_is_retried_after_retry_after_and_counted(stub: StubServer) -> None:
    m = model(stub)
    stub.fault("429", retry_after=1)
    started = time.perf_counter()
    r = await one_call(m)
    assert time.perf_counter() - started >= 0.95
    assert stub.requests == 2
    assert (r.usage.rate_limited, r.usage.retries, r.usage.calls) == (1, 1, 1)
    assert r.text.endswith("[[A]]")


async def test_429_lowers_the_endpoint_concurrency_once_per_episode(stub: StubServer) -> None:
    m = model(stub, max_concurrency=8)
    stub.fault("429", times=6, retry_after=0)
    await asyncio.gather(*(one_call(m) for _ in range(6)))
    assert m.endpoint.limit == 4  # six 429s in one burst are one episode: halved once


async def test_retry_after_beyond_the_cap_fails_at_once(stub: StubServer) -> None:
    m = model(stub, retry=RetryPolicy(retry_after_cap=5))
    stub.fault("429", retry_after=3600)
    with pytest.raises(ModelError, match="3600 s, more than the 5 s cap") as err:
        await one_call(m)
    assert stub.requests == 1 and err.value.status == 429


@pytest.mark.parametrize("kind", ["500", "503", "drop", "malformed_json"])
async def test_server_errors_are_retried(stub: StubServer, kind: str) -> None:
    stub.fault(kind)
    r = await one_call(model(stub))
    assert stub.requests == 2 and r.usage.retries == 1 and r.usage.rate_limited == 0


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_stall_ends_at_the_timeout_and_is_retried(stub: StubServer, api: str) -> None:
    m = model(stub, api, timeout=0.3)
    stub.fault("stall")
    started = time.perf_counter()
    r = await one_call(m)
    assert time.perf_counter() - started >= 0.3
    assert stub.requests == 2 and r.usage.retries == 1


@pytest.mark.parametrize(("api", "env"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")])
async def test_401_is_not_retried_and_says_what_is_wrong(api: str, env: str) -> None:
    with StubServer(api_key="the-right-key") as server:
        m = model(server, api, api_key="a-wrong-key")
        with pytest.raises(ModelError) as err:
            await one_call(m)
        assert server.requests == 1
    assert err.value.status == 401 and not err.value.retryable
    assert str(err.value).startswith(f"401 from {api} at http://127.0.0.1:")
    # the key was given in code: the hint names where it came from, not the provider's variable
    assert "unauthorized; check api_key" in str(err.value) and "invalid api key" in str(err.value)


async def test_401_in_a_graph_is_an_error_verdict_not_a_side(stub: StubServer) -> None:
    stub.fault("401")
    result = await run_trial(single(model(stub)), Trial(case=CASE))
    assert result.verdict.status == "error" and result.verdict.winner is None
    assert "401" in (result.verdict.error or "") and stub.requests == 1


async def test_exhausted_retries_raise_a_retryable_model_error(stub: StubServer) -> None:
    stub.fault("503", times=2)
    with pytest.raises(ModelError, match="gave up after 2 attempts; last: 503 from openai") as err:
        await one_call(model(stub, retry=RetryPolicy(attempts=2, backoff=0.01)))
    assert err.value.retryable and err.value.status == 503 and stub.requests == 2


async def test_a_failed_call_leaks_no_slot(stub: StubServer) -> None:
    m = model(stub, max_concurrency=2, retry=RetryPolicy(attempts=1))
    m.endpoint.configure(breaker=0)  # five failures in a row would open the breaker (tests/test_breaker.py)
    stub.fault("500", times=5)
    results = await asyncio.gather(*(one_call(m) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ModelError) for r in results)
    assert m.endpoint.in_flight == 0
    await one_call(m)  # and the endpoint still works


async def test_a_cancelled_call_releases_its_slot(stub: StubServer) -> None:
    m = model(stub)
    stub.fault("stall")
    task = asyncio.create_task(one_call(m))
    while stub.in_flight == 0:
        await asyncio.sleep(0.01)
    assert m.endpoint.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert m.endpoint.in_flight == 0 and stub.requests == 1


# -- re-ask, cache, concurrency ------------------------------------------------------------------


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_garbage_is_reasked_once_then_invalid_with_the_raw_text(stub: StubServer, api: str) -> None:
    stub.fault("garbage", times=2)
    result = await run_trial(single(model(stub, api)), Trial(case=CASE))
    assert stub.requests == 2
    assert result.verdict.status == "invalid" and result.verdict.winner is None
    assert result.verdict.raw is not None and result.verdict.raw.count(GARBAGE) == 2
    assert "Your answer could not be read" in stub.log[1].text  # the re-ask


async def test_second_identical_call_is_a_cache_hit_without_http(judge_stub: StubServer, tmp_path: Any) -> None:
    chat = model(judge_stub, name="gpt-4o-mini")
    set_price(f"openai:gpt-4o-mini@{chat.base_url}", 0.15, 0.60)  # the stub is not billed at OpenAI's prices
    graph = single(chat)
    with use_cache(tmp_path / "cache.sqlite"):
        first = await judge_case(graph, CASE, orders=["AB"])
        sent = judge_stub.requests
        second = await judge_case(graph, CASE, orders=["AB"])
    assert sent == 1 and judge_stub.requests == sent
    turn = second.trials[0].turns[0]
    assert turn.cached and not first.trials[0].turns[0].cached
    assert second.verdict.winner == first.verdict.winner == "A"
    billed, saved = first.usage, second.usage
    assert saved.calls == 0 and saved.cache_hits == 1 and saved.cost_usd == 0.0
    assert saved.saved_input_tokens == billed.input_tokens > 0
    assert saved.saved_output_tokens == billed.output_tokens
    assert billed.cost_usd is not None and billed.cost_usd > 0 and saved.saved_usd == billed.cost_usd


async def test_fifty_concurrent_judge_calls_never_exceed_the_bound() -> None:
    with StubServer(knows_arithmetic, latency=0.05) as server:
        graph = single(model(server, max_concurrency=8))
        results = await asyncio.gather(*(run_trial(graph, Trial(case=CASE)) for _ in range(50)))
    assert all(r.verdict.winner == "A" for r in results)
    assert server.requests == 50
    assert server.max_in_flight == 8  # the bound holds and is used


def test_the_bound_holds_across_models_and_event_loops() -> None:
    with StubServer(latency=0.05) as server:
        a, b = model(server, max_concurrency=3), model(server)
        assert a.endpoint is b.endpoint and b.endpoint.max_concurrency == 3

        async def burst() -> None:
            await asyncio.gather(*(one_call(m) for m in [a, b] * 5))

        asyncio.run(burst())
        asyncio.run(burst())  # a second loop: clients and limits still work
    assert server.requests == 20 and server.max_in_flight == 3


# -- keys, specs, usage and cost -----------------------------------------------------------------


@pytest.mark.parametrize(("spec", "env"), [("openai:gpt-4o-mini", "OPENAI_API_KEY"),
                                           ("anthropic:claude-haiku-4-5", "ANTHROPIC_API_KEY")])
def test_missing_key_is_a_config_error_naming_the_variable(spec: str, env: str) -> None:
    with pytest.raises(ConfigError, match=f"{env} is not set"):
        get_model(spec)


async def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-official")  # never sent to a custom base URL
    monkeypatch.setenv("STUB_KEY", "sk-env")
    with StubServer(api_key="sk-env") as server:
        m = get_model(f"openai:stub-model@{server.openai_url}#key_env=STUB_KEY")
        assert isinstance(m, OpenAIModel)
        await one_call(m)
        assert server.log[0].headers["authorization"] == "Bearer sk-env"


async def test_a_base_url_without_a_key_sends_a_placeholder(stub: StubServer) -> None:
    m = get_model(f"anthropic:local@{stub.anthropic_url}")
    assert isinstance(m, AnthropicModel) and m.spec == f"anthropic:local@{stub.anthropic_url}"
    await one_call(m)
    assert stub.log[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_spec_splitting() -> None:
    assert split_spec("gpt-4o-mini") == ("gpt-4o-mini", None)
    assert split_spec("qwen@http://localhost:8000/v1") == ("qwen", "http://localhost:8000/v1")
    assert split_spec("claude-3-5-sonnet@20240620") == ("claude-3-5-sonnet@20240620", None)


def test_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTGRAPH_TIMEOUT", "7.5")
    assert OpenAIModel("m", base_url="http://127.0.0.1:9/v1").timeout == 7.5
    monkeypatch.setenv("COURTGRAPH_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="COURTGRAPH_TIMEOUT"):
        OpenAIModel("m", base_url="http://127.0.0.1:9/v1")


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_usage_counts_cached_prompt_tokens(api: str) -> None:
    with StubServer(cached_tokens=1) as server:
        r = await one_call(model(server, api))
    assert r.usage.cached_input_tokens == 1
    assert r.usage.input_tokens == 2  # "Say [[A]]." is two words; Anthropic's cache reads are added back


@pytest.mark.parametrize(("api", "name", "known"), [("openai", "stub-model", False), ("openai", "gpt-4o-mini", True),
                                                    ("anthropic", "claude-haiku-4-5", True)])
async def test_cost_is_unknown_for_unknown_models(stub: StubServer, api: str, name: str, known: bool) -> None:
    # At a base URL other than the official API a model is not billed at the official price: unknown,
    # until a price is set for that server (a local server is not OpenAI).
    assert (price_of(api, name) is not None) is known  # the official price table
    chat = model(stub, api, name=name)
    assert (await one_call(chat)).usage.cost_usd is None
    set_price(f"{api}:{name}@{chat.base_url}", 1.0, 2.0)
    r = await one_call(chat)
    assert r.usage.cost_usd is not None and r.usage.cost_usd > 0


async def test_malformed_structured_json_leaves_data_empty_and_keeps_the_text() -> None:
    with StubServer(lambda _r: '{"verdict": "A", "reasoning": ') as server:
        r = await model(server).generate([{"role": "user", "content": "x"}], schema=PairwiseOutput)
    assert r.data is None and r.text == '{"verdict": "A", "reasoning": '


# -- LangChain adapter ---------------------------------------------------------------------------


class ToolFake(GenericFakeChatModel):
    """A fake chat model with tool calling (the base class has none), as integrations have."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


class ChatOpenAI(GenericFakeChatModel):
    """Named like the integration so LangChain reports provider "openai" (and the price is known)."""

    model: str = "gpt-4o-mini"


def ai(text: str = "", **kwargs: Any) -> AIMessage:
    usage = {"input_tokens": 12, "output_tokens": 4, "total_tokens": 16, "input_token_details": {"cache_read": 2}}
    return AIMessage(content=text, usage_metadata=usage, **kwargs)  # type: ignore[arg-type]


async def test_langchain_text_model_decides_by_tag_with_usage() -> None:
    m = get_model(GenericFakeChatModel(messages=iter([ai("no tag here"), ai("B is right. [[B]]")])))
    assert isinstance(m, LangChainModel) and not m.structured
    assert m.spec == "langchain:GenericFakeChatModel"
    turn = await decide(m, [{"role": "user", "content": "which?"}], Speaker(agent="judge", role="judge"))
    assert turn.verdict is not None and turn.verdict.winner == "B"  # after one re-ask
    assert (turn.usage.calls, turn.usage.input_tokens, turn.usage.cached_input_tokens) == (2, 24, 4)
    assert turn.usage.cost_usd is None


async def test_langchain_structured_output_through_a_tool_call() -> None:
    call = {"name": "PairwiseOutput", "args": {"reasoning": "A is right.", "verdict": "A"}, "id": "1"}
    m = LangChainModel(ToolFake(messages=iter([ai(tool_calls=[call])])))
    assert m.structured
    r = await m.generate([{"role": "user", "content": "which?"}], schema=PairwiseOutput)
    assert r.data == {"reasoning": "A is right.", "verdict": "A"}
    assert r.usage.output_tokens == 4


async def test_langchain_known_model_has_a_price_and_errors_become_model_errors() -> None:
    m = LangChainModel(ChatOpenAI(messages=iter([ai("[[A]]")])))
    assert m.spec == "langchain:gpt-4o-mini"
    r = await m.generate([{"role": "user", "content": "x"}])
    assert r.usage.cost_usd is not None and r.usage.cost_usd > 0
    with pytest.raises(ModelError, match="langchain:gpt-4o-mini"):
        await m.generate([{"role": "user", "content": "again"}])  # the fake has no answers left


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_a_truncated_answer_is_flagged_named_and_never_cached(stub: StubServer, api: str, tmp_path: Any) -> None:
    stub.fault("truncated", times=2)
    m = model(stub, api)
    with use_cache(tmp_path / "cache.sqlite"):
        turn = await decide(m, [{"role": "user", "content": "Which is better? End with [[A]] or [[B]]."}],
                            Speaker(agent="judge", role="judge"))
        assert turn.verdict is not None and turn.verdict.status == "invalid"
        assert "cut off at the token limit" in (turn.verdict.error or "")
        stub.fault("truncated")
        cut = await one_call(m)
        assert cut.truncated and stub.requests == 3
        whole = await one_call(m)  # the same prompt again: the cut answer was not cached
        assert not whole.cached and not whole.truncated and stub.requests == 4
        assert (await one_call(m)).cached and stub.requests == 4  # a whole answer is
