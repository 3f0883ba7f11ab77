"""Debate, consultancy and courtroom end to end through the real openai / anthropic SDKs, against the stub.

One responder plays every role by reading the request, as a real model would: decisions come back
as structured objects (the providers ask for a schema), arguments as text with private notes. The
checks: the right verdict in both orders, the exact number of HTTP calls, every turn's model and
usage, and no judge request carrying the hidden context or an advocate's private notes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from courtgraph.graphs.consultancy import consultancy
from courtgraph.graphs.courtroom import courtroom
from courtgraph.graphs.debate import debate
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import judge_case
from courtgraph.models.pricing import price_of, set_price
from courtgraph.prompts import unfence
from courtgraph.schema import Case, Record
from courtgraph.testing import StubRequest, StubServer

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-3-5-haiku-latest' is deprecated")

RIGHT, WRONG = "Canberra is the capital of Australia.", "Sydney is the capital of Australia."
CASE = Case(id="au", question="What is the capital of Australia?", candidates=[RIGHT, WRONG], label="A",
            context="CTX-SENTINEL: Canberra was chosen in 1908 as a compromise.", metadata={"gold": "GOLD-SENTINEL"})


def plays_every_role(request: StubRequest) -> str | dict[str, Any]:
    last = request.messages[-1]["content"].strip().splitlines()[-1]
    shown = unfence(request.text)
    if request.structured:  # a judge, juror or aggregator deciding
        side = "A" if shown.get("response_a") == RIGHT else "B"
        return {"reasoning": f"Response {side} names Canberra, which is correct.", "verdict": side,
                "confidence": 0.9}
    if last.startswith("Ask"):
        return "advocate_A: What is your source?\nadvocate_B: What is your source?"
    if ", an expert witness in a court" in request.text:  # the witness's own role message
        return "I checked: Canberra is the capital; Sydney is the largest city."
    opening = "Give your opening statement" in request.messages[-1]["content"]
    call = "\nWITNESS: fact_checker: Which city is the capital?" if opening else ""
    return f"<thinking>PRIVATE-NOTES</thinking>My side is right about the capital.{call}"


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer(plays_every_role) as s:
        # a server other than the official API is not billed at its prices: price the stub as the real thing
        for spec in ("openai:gpt-4o-mini", "openai:gpt-4o", "anthropic:claude-3-5-haiku-latest"):
            provider, model = spec.split(":")
            price = price_of(provider, model)
            assert price is not None
            url = s.openai_url if provider == "openai" else s.anthropic_url
            set_price(f"{spec}@{url}", price.input, price.output, price.cached_input)
        yield s


def check(record: Record, server: StubServer, calls: int, models: set[str]) -> None:
    assert record.correct is True and record.error is None, record.error
    assert [t.verdict.winner for t in record.trials] == ["A", "B"]  # right in both orders
    assert server.requests == calls == record.usage.calls
    turns = [t for trial in record.trials for t in trial.turns]
    assert {t.model for t in turns} == models
    paid = [t for t in turns if t.usage.calls]
    assert len(paid) == calls and all(t.usage.input_tokens > 0 and t.usage.cost_usd for t in paid)
    deciders = ("# Your role\nYou are the judge", "# Your role\nYou are a judge")
    judged = [r for r in server.log if r.structured or any(d in r.text for d in deciders)]
    assert judged and not any("CTX-SENTINEL" in r.text or "PRIVATE-NOTES" in r.text for r in judged)
    assert not any("GOLD-SENTINEL" in r.text for r in server.log)


async def run(graph: Graph) -> Record:
    return await judge_case(graph, CASE)


async def test_debate_through_openai(server: StubServer) -> None:
    spec = f"openai:gpt-4o-mini@{server.openai_url}"
    record = await run(debate(spec, spec, rounds=2, interactive=True))
    check(record, server, calls=2 * (2 * 2 + 1 + 1), models={spec})
    assert any("CTX-SENTINEL" in r.text for r in server.log)  # the debaters did see it


async def test_debate_cheap_debaters_on_anthropic_strong_judge_on_openai(server: StubServer) -> None:
    cheap, strong = f"anthropic:claude-3-5-haiku-latest@{server.anthropic_url}", f"openai:gpt-4o@{server.openai_url}"
    record = await run(debate(cheap, strong, rounds=1))
    check(record, server, calls=2 * 3, models={cheap, strong})
    assert server.requests_by_path == {"/v1/messages": 4, "/v1/chat/completions": 2}
    judge_turn = record.trials[0].turns[-1]
    assert judge_turn.model == strong and judge_turn.usage.cost_usd is not None


async def test_consultancy_through_openai(server: StubServer) -> None:
    spec = f"openai:gpt-4o-mini@{server.openai_url}"
    record = await run(consultancy(spec, spec, rounds=2))
    check(record, server, calls=2 * 2 * (2 * 2), models={spec})
    assert all(len(t.verdict.votes) == 2 for t in record.trials)


async def test_courtroom_through_anthropic(server: StubServer) -> None:
    spec = f"anthropic:claude-3-5-haiku-latest@{server.anthropic_url}"
    record = await run(courtroom(spec, spec, spec))
    check(record, server, calls=2 * (6 + 2 + 1), models={spec})
    assert sum(t.phase == "evidence" for t in record.trials[0].turns) == 2
