"""Provider prompt caching: reads and writes counted apart and priced at their own rates; breakpoints sent."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from courtgraph.models import pricing
from courtgraph.models.anthropic import AnthropicModel, cache_breakpoints
from courtgraph.models.base import ChatModel, Completion, GenerateParams, Message
from courtgraph.models.pricing import cache_write_premium, cost_usd, price_of, prompt_cache_saving
from courtgraph.schema import Usage
from courtgraph.testing import StubServer

HAIKU = ("anthropic", "claude-haiku-4-5")  # $1 input, $5 output, $0.10 cache read, $1.25 cache write per 1M


class Cached(ChatModel):
    """Answers with fixed usage, as a provider reporting prompt-cache reads and writes would."""

    cacheable = False

    def __init__(self, read: int, written: int) -> None:
        super().__init__("anthropic:claude-haiku-4-5", provider=HAIKU[0], model=HAIKU[1])
        self.read, self.written = read, written

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        return Completion(text="[[A]]", input_tokens=10_000, output_tokens=100, cached_input_tokens=self.read,
                          cache_write_tokens=self.written)


def test_cache_writes_cost_more_than_input_and_reads_less() -> None:
    plain = cost_usd(*HAIKU, 10_000, 100)
    assert plain == pytest.approx((10_000 * 1.00 + 100 * 5.00) / 1e6)
    written = cost_usd(*HAIKU, 10_000, 100, cache_write_tokens=8_000)
    assert written == pytest.approx((2_000 * 1.00 + 8_000 * 1.25 + 100 * 5.00) / 1e6)
    assert written > plain
    read = cost_usd(*HAIKU, 10_000, 100, cached_input_tokens=8_000)
    assert read == pytest.approx((2_000 * 1.00 + 8_000 * 0.10 + 100 * 5.00) / 1e6)
    assert written == pytest.approx(plain + cache_write_premium(*HAIKU, 8_000))
    assert prompt_cache_saving(*HAIKU, 8_000, 0) == pytest.approx(plain - read)
    assert prompt_cache_saving(*HAIKU, 0, 8_000) == pytest.approx(plain - written)
    assert prompt_cache_saving("nobody", "knows", 5, 0) is None and prompt_cache_saving("nobody", "knows", 0, 0) == 0.0
    # OpenAI has no write price: a write is input
    assert cost_usd("openai", "gpt-4o-mini", 1000, 0, cache_write_tokens=1000) == cost_usd("openai", "gpt-4o-mini",
                                                                                          1000, 0)


async def test_a_call_is_billed_for_its_writes_and_reads_and_shows_the_saving() -> None:
    first = await Cached(read=0, written=8_000).generate([{"role": "user", "content": "q"}])
    later = await Cached(read=8_000, written=0).generate([{"role": "user", "content": "q"}])
    assert first.usage.cost_usd == pytest.approx(cost_usd(*HAIKU, 10_000, 100, cache_write_tokens=8_000))
    assert later.usage.cost_usd == pytest.approx(cost_usd(*HAIKU, 10_000, 100, cached_input_tokens=8_000))
    both = Usage.total([first.usage, later.usage])
    assert (both.cache_write_tokens, both.cached_input_tokens) == (8_000, 8_000)
    # one write repaid by one read: 8,000 x (1.00 - 0.10) - 8,000 x (1.25 - 1.00) per 1M
    assert both.prompt_cache_saved_usd == pytest.approx(8_000 * (0.90 - 0.25) / 1e6)
    assert both.cost_usd == pytest.approx(2 * cost_usd(*HAIKU, 10_000, 100) - both.prompt_cache_saved_usd)


def test_breakpoints_mark_the_first_user_message_only() -> None:
    marked = cache_breakpoints([{"role": "user", "content": "case"}, {"role": "assistant", "content": "x"},
                                {"role": "user", "content": "more"}])
    assert marked[0]["content"] == [{"type": "text", "text": "case", "cache_control": {"type": "ephemeral"}}]
    assert marked[1:] == [{"role": "assistant", "content": "x"}, {"role": "user", "content": "more"}]


async def test_anthropic_counts_cache_reads_from_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    with StubServer() as stub:
        stub.cached_tokens = 5
        m = AnthropicModel("claude-haiku-4-5", base_url=stub.anthropic_url, cache=None)
        # a server other than the official one is priced only as told (here: at the official rates)
        monkeypatch.setitem(pricing._TABLE, f"anthropic:claude-haiku-4-5@{m.base_url}", price_of(*HAIKU))
        r = await m.generate([{"role": "system", "content": "be fair"}, {"role": "user", "content": "a b c d e f g"}])
        body = stub.log[0].body
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert r.usage.cached_input_tokens == 5 and r.usage.cache_write_tokens == 0
    assert r.usage.cost_usd == pytest.approx(cost_usd(*HAIKU, r.usage.input_tokens, r.usage.output_tokens, 5))
    assert r.usage.prompt_cache_saved_usd == pytest.approx(5 * 0.90 / 1e6)


def test_the_report_shows_the_prompt_cache_saving() -> None:
    import io

    from rich.console import Console

    from courtgraph.evals.metrics import summarize
    from courtgraph.evals.report import print_summary
    from courtgraph.schema import Record, TrialResult, Verdict

    usage = Usage(calls=1, input_tokens=10_000, cached_input_tokens=8_000, prompt_cache_saved_usd=0.0072)
    records = [Record(case_id=f"c{i}", protocol="single", label="A", verdict=Verdict(winner="A"), correct=True,
                      trials=[TrialResult(order="AB", verdict=Verdict(winner="A"), usage=usage)], usage=usage)
               for i in range(3)]
    summary = summarize(records)
    assert summary.protocols["single"].prompt_cache_saved_usd == pytest.approx(3 * 0.0072)
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=120))
    assert "provider prompt caching saved single $0.0216" in out.getvalue()
