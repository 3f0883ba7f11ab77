"""The stub's simulated provider prompt cache, and what the shared case prefix saves through it.

The rules (``courtgraph/testing/prefix.py``): OpenAI caches the longest prefix seen before, from 1,024
tokens in steps of 128; Anthropic reads the longest breakpoint prefix written before and writes the
prefix up to its last breakpoint when new; the output format (schema, tools) is part of the prefix.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from courtgraph.evals.metrics import summarize
from courtgraph.evals.report import print_summary
from courtgraph.graphs.debate import debate
from courtgraph.graphs.jury import jury
from courtgraph.graphs.trial import judge_case
from courtgraph.models import pricing
from courtgraph.models.anthropic import AnthropicModel
from courtgraph.models.endpoint import EndpointModel
from courtgraph.models.openai import OpenAIModel
from courtgraph.models.prefix_writers import prefix_warmup
from courtgraph.models.pricing import Price, cost_usd
from courtgraph.schema import Case, Record, Turn
from courtgraph.testing import StubServer
from courtgraph.testing.prefix import PrefixCache
from courtgraph.testing.wire import parse_request

PRICE = Price(1.00, 5.00, 0.10, 1.25)  # Anthropic-like: reads at 0.1x input, writes at 1.25x


def text(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def openai_body(prompt: str, schema: bool = False, model: str = "m") -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if schema:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "X", "schema": {}}}
    return body


def test_openai_rule_longest_prefix_seen_from_1024_in_steps_of_128() -> None:
    cache = PrefixCache()

    def ask(body: dict[str, Any]) -> int:
        return cache.usage(parse_request("openai", "/v1/chat/completions", {}, body))[0]

    shared = text(1300, "s")
    assert ask(openai_body(f"{shared} {text(200, 'x')}")) == 0  # nothing seen yet
    assert ask(openai_body(f"{shared} {text(200, 'y')}")) == 1280  # 1024 + 2 x 128 <= 1300 shared words
    assert ask(openai_body(f"{shared} {text(200, 'y')}")) == 1408  # the same prompt again: 1,500 words, floored
    assert ask(openai_body(f"{text(1000, 's')} {text(900, 'z')}")) == 0  # 1,000 shared words: under the minimum
    assert ask(openai_body(f"{shared} {text(200, 'y')}", schema=True)) == 0  # another output format
    assert ask(openai_body(f"{shared} {text(200, 'y')}", model="other")) == 0  # another model's cache


def anthropic_body(system: str, case: str, role: str, tools: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "system": system, "messages": [{"role": "user", "content": [
        {"type": "text", "text": case, "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": role}]}]}
    if tools:
        body["tools"] = [{"name": "PairwiseOutput", "input_schema": {}}]
    return body


def test_anthropic_rule_reads_and_writes_at_breakpoints_only() -> None:
    cache = PrefixCache()

    def ask(body: dict[str, Any]) -> tuple[int, int]:
        return cache.usage(parse_request("anthropic", "/v1/messages", {}, body))

    rules, case = text(100, "r"), text(1200, "c")
    assert ask(anthropic_body(rules, case, text(300, "juror1"))) == (0, 1300)  # written up to the breakpoint
    assert ask(anthropic_body(rules, case, text(300, "juror2"))) == (1300, 0)  # read, the role part is fresh
    assert ask(anthropic_body(rules, case, text(300, "x"), tools=True)) == (0, 1300)  # tools come first
    assert ask(anthropic_body(rules, text(800, "c"), text(900, "y"))) == (0, 0)  # 900 < 1,024: not cached
    other = text(1200, "d")
    assert ask(anthropic_body(rules, other, "")) == (0, 1300)


def test_a_prefix_is_read_only_by_requests_that_arrive_after_it_was_answered() -> None:
    cache = PrefixCache()
    body = openai_body(text(1100, "s"))
    ask = parse_request("openai", "/v1/chat/completions", {}, body)
    # answered an hour after arriving: the first answer (a moment ago) was not there when it arrived
    assert cache.usage(ask, latency=3600) == (0, 0)
    assert cache.usage(ask, latency=3600) == (0, 0)  # concurrent requests all miss, as with the providers
    assert cache.usage(ask, latency=0) == (1024, 0)  # one sent after an answer reads the prefix


LONG_A = "The product is 51. " + text(700, "alpha")
LONG_B = "The product is 41. " + text(700, "beta")
CASES = [Case(id=f"c{i}", question=f"Case {i}: what is 17 * 3? " + text(50, f"q{i}_"), candidates=[LONG_A, LONG_B],
              label="A") for i in range(2)]


def models(stub: StubServer, api: str, monkeypatch: pytest.MonkeyPatch, structured: bool = True) -> EndpointModel:
    m: EndpointModel = (OpenAIModel("gpt-test", base_url=stub.openai_url, cache=None) if api == "openai" else
                        AnthropicModel("claude-test", base_url=stub.anthropic_url, cache=None))
    # priced at its URL only: the cost, the cache-write premium and the saving share one key (pricing_key)
    monkeypatch.setitem(pricing._TABLE, f"{api}:{m.model}@{m.base_url}", PRICE)
    m.structured = structured
    return m


async def run(api: str, protocol: str, monkeypatch: pytest.MonkeyPatch, *, prefix_cache: bool,
              structured: bool = True) -> list[Record]:
    # with the warm-up, calls sent together wait for the first of their case (else, at the stub's latency 0,
    # whether a juror reads depends on the stub serving them one by one: tests/test_prefix_writers.py)
    token = prefix_warmup.set(True)
    try:
        with StubServer(prefix_cache=prefix_cache) as stub:
            m = models(stub, api, monkeypatch, structured)
            graph = jury([m, m, m], name="jury") if protocol == "jury" else debate(m, m, rounds=2, interactive=True,
                                                                                      name="debate")
            return [await judge_case(graph, case) for case in CASES]
    finally:
        prefix_warmup.reset(token)


def paid(records: list[Record]) -> list[list[Turn]]:
    """Each trial's model calls."""
    return [[t for t in trial.turns if t.usage.calls] for r in records for trial in r.trials]


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("protocol", ["jury", "debate"])
async def test_every_call_after_the_first_of_a_trial_reads_the_shared_case(
        api: str, protocol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    records = await run(api, protocol, monkeypatch, prefix_cache=True)
    plain = await run(api, protocol, monkeypatch, prefix_cache=False)
    for calls in paid(records):
        assert len(calls) == (3 if protocol == "jury" else 2 * 2 + 1 + 1)  # jurors; arguments, question, verdict
        misses = [t for t in calls if not t.usage.cached_input_tokens]
        # a trial's first call opens the case prefix; so does a debate's one structured call (the verdict):
        # a provider caches the output schema (OpenAI) or the tools (Anthropic) ahead of the prompt
        structured = [t for t in calls if t.verdict is not None]
        assert len(misses) == (1 if protocol == "jury" else 2), [t.agent for t in misses]
        assert protocol == "jury" or any(t in misses for t in structured)
        for t in calls:
            if t.usage.cached_input_tokens:  # at least the question and both responses (over 1,400 words)
                assert t.usage.cached_input_tokens >= 1400 and t.usage.cache_write_tokens == 0
            elif api == "anthropic":
                assert t.usage.cache_write_tokens >= 1400  # the first call writes the case prefix
    # the same calls cost less, by exactly the saving the records report
    assert [r.usage.input_tokens for r in records] == [r.usage.input_tokens for r in plain]
    saved = sum(r.usage.prompt_cache_saved_usd or 0 for r in records)
    cost, before = sum(r.usage.cost_usd or 0 for r in records), sum(r.usage.cost_usd or 0 for r in plain)
    assert saved > 0 and cost == pytest.approx(before - saved) and cost < 0.7 * before
    # priced call by call at the provider's rates: writes at 1.25x input, reads at 0.1x (OpenAI: no writes)
    turns = [t for calls in paid(records) for t in calls]
    expected = sum(PRICE.input * (t.usage.input_tokens - t.usage.cached_input_tokens - t.usage.cache_write_tokens)
                   + PRICE.cached_input * t.usage.cached_input_tokens + 1.25 * t.usage.cache_write_tokens
                   + PRICE.output * t.usage.output_tokens for t in turns) / 1e6  # type: ignore[operator]
    assert cost == pytest.approx(expected)
    assert api == "anthropic" or not any(t.usage.cache_write_tokens for t in turns)
    # and the report prints the saving
    out = io.StringIO()
    print_summary(summarize(records), Console(file=out, width=160))
    assert f"provider prompt caching saved {protocol} $" in out.getvalue()


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_with_text_verdicts_a_debate_misses_only_its_first_call(api: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    records = await run(api, "debate", monkeypatch, prefix_cache=True, structured=False)
    for calls in paid(records):
        assert [t.usage.cached_input_tokens > 0 for t in calls].count(False) == 1


def test_cost_rule_matches_pricing() -> None:
    # the expected-cost arithmetic above is the pricing module's own rule
    assert cost_usd("x", "y", 0, 0) is None
    pricing.set_price("stubtest:model", PRICE.input, PRICE.output, PRICE.cached_input, PRICE.cache_write)
    assert cost_usd("stubtest", "model", 3000, 100, 1000, 1500) == pytest.approx(
        (500 * 1.00 + 1000 * 0.10 + 1500 * 1.25 + 100 * 5.00) / 1e6)
    del pricing._TABLE["stubtest:model"]


def test_the_stub_command_line_turns_the_prefix_cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from courtgraph.testing import __main__ as cli

    served: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "serve", lambda *args, **kwargs: served.append(kwargs))
    cli.main(["--port", "0", "--prefix-cache"])
    cli.main(["--port", "0"])
    assert [s["prefix_cache"] for s in served] == [True, False]
