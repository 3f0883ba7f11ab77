"""Documented behaviours that no test guarded: each test here fails when its behaviour breaks.

Each test names, in its docstring, the deliberate break it was checked against (the change made to the
package, the test seen failing, the change undone).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the HTTP library of the openai SDK (a fork of httpx with its API)
import openai
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from parts import role_text
from pydantic import BaseModel

from courtgraph.agents.advocate import split_private
from courtgraph.agents.base import Speaker, decide
from courtgraph.agents.parsing import PairwiseOutput, ScoreOutput
from courtgraph.errors import InputError
from courtgraph.evals import run_async
from courtgraph.evals.metrics import summarize
from courtgraph.graphs import debate, judge_case, single
from courtgraph.graphs.registry import Roles
from courtgraph.graphs.trial import make_record, run_trial
from courtgraph.models import (
    ChatModel,
    Completion,
    GenerateParams,
    Message,
    ModelError,
    ScriptedModel,
    pricing,
    use_cache,
)
from courtgraph.models.anthropic import AnthropicModel
from courtgraph.models.langchain import LangChainModel
from courtgraph.models.limits import Endpoint
from courtgraph.models.openai import OFFICIAL_URL, OpenAIModel
from courtgraph.models.pricing import price_of
from courtgraph.models.retry import RetryPolicy
from courtgraph.schema import EVERYONE, Case, Label, Order, Trial, TrialResult, Verdict, combine_orders
from courtgraph.testing import StubServer

MESSAGES: list[Message] = [{"role": "user", "content": "Which response is better? Answer [[A]] or [[B]]."}]
FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01)


# -- helpers: an OpenAI client whose HTTP is answered in-process -------------------------------------------


def chat_completion(text: str = "[[A]]", *, prompt_tokens: int = 10, completion_tokens: int = 2) -> dict[str, Any]:
    """A minimal, valid Chat Completions response body."""
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text, "refusal": None}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


Handler = Callable[[httpx.Request], httpx.Response]


class InProcessOpenAI(OpenAIModel):
    """The real provider and SDK, with the HTTP answered by ``handler`` (no socket, no network).

    The base URL stays what the model resolved (api.openai.com by default), so the request is shaped
    exactly as it would be for that URL.
    """

    def __init__(self, model: str, handler: Handler, **kwargs: Any) -> None:
        self.handler = handler
        self.bodies: list[dict[str, Any]] = []
        super().__init__(model, api_key="sk-test", retry=FAST, **kwargs)

    def _make_client(self) -> openai.AsyncOpenAI:
        def record(request: httpx.Request) -> httpx.Response:
            self.bodies.append(json.loads(request.content))
            return self.handler(request)

        transport = httpx.MockTransport(record)
        return openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout,
                                  http_client=httpx.AsyncClient(transport=transport))


def answers(*statuses: int) -> Handler:
    """A handler answering the given statuses in turn (an error body for each), then 200s."""
    queue = list(statuses)

    def handle(_request: httpx.Request) -> httpx.Response:
        if queue:
            return httpx.Response(queue.pop(0), json={"error": {"message": "try again", "type": "test"}})
        return httpx.Response(200, json=chat_completion())

    return handle


# -- the cache key: response schema and base URL, as the call site passes them ------------------------------


class Counting(ChatModel):
    """A cacheable model that counts the calls that reached it."""

    def __init__(self) -> None:
        super().__init__("openai:counting", provider="openai", model="counting", base_url="http://one/v1")
        self.calls = 0

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        self.calls += 1
        return Completion(text="[[A]]", input_tokens=5, output_tokens=1)


async def test_the_cache_key_at_the_call_site_includes_the_response_schema(tmp_path: Path) -> None:
    """Break: ``ChatModel.generate`` passing ``None`` as the schema to ``cache_key`` -> the second call is a hit."""
    model = Counting()
    with use_cache(tmp_path / "c.sqlite"):
        plain = await model.generate(MESSAGES)
        pairwise = await model.generate(MESSAGES, schema=PairwiseOutput)
        score = await model.generate(MESSAGES, schema=ScoreOutput)
        again = await model.generate(MESSAGES, schema=ScoreOutput)
    assert model.calls == 3
    assert not (plain.cached or pairwise.cached or score.cached) and again.cached


async def test_the_cache_key_at_the_call_site_includes_the_resolved_base_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two models with the same spec, ``openai:gpt-4o-mini``, resolved to two servers by ``$OPENAI_BASE_URL``:
    the second must not be answered from the first's cache entry.

    Break: ``ChatModel.generate`` passing ``None`` as the base URL to ``cache_key`` -> the second server gets
    no request.
    """
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with StubServer() as first, StubServer() as second, use_cache(tmp_path / "c.sqlite"):
        monkeypatch.setenv("OPENAI_BASE_URL", first.openai_url)
        one = OpenAIModel("gpt-4o-mini", retry=FAST)
        monkeypatch.setenv("OPENAI_BASE_URL", second.openai_url)
        two = OpenAIModel("gpt-4o-mini", retry=FAST)
        assert one.spec == two.spec == "openai:gpt-4o-mini"
        await one.generate(MESSAGES)
        answer = await two.generate(MESSAGES)
        assert (first.requests, second.requests) == (1, 1) and not answer.cached
        assert (await two.generate(MESSAGES)).cached and second.requests == 1  # the cache still works


# -- the baseline is paired by case id ----------------------------------------------------------------------


def labelled(case_id: str, protocol: str, right: bool) -> Any:
    """A two-order record on a case labelled A whose trials both say A (right) or both say B (wrong)."""
    case = Case(id=case_id, question="q", candidates=["x", "y"], label="A")
    said: Label = "A" if right else "B"
    trials = [TrialResult(order="AB", verdict=Verdict(winner=said)),
              TrialResult(order="BA", verdict=Verdict(winner="B" if said == "A" else "A"))]
    return make_record(case, protocol, trials)


def test_the_baseline_is_paired_with_each_protocol_by_case_id_not_position() -> None:
    """The protocol's records come in another order than the baseline's, and skip one of its cases.

    Break: pairing the two lists by position (``zip`` of the labelled records) in ``metrics._compare``
    -> wins, losses and delta differ.
    """
    base_right = {"c0": True, "c1": True, "c2": False, "c3": False, "c4": False}
    jury_right = {"c4": True, "c3": True, "c1": True, "c0": False}  # reversed order, no c2
    records = [labelled(c, "single", r) for c, r in base_right.items()]
    records += [labelled(c, "jury", r) for c, r in jury_right.items()]
    cmp = summarize(records, baseline="single").protocols["jury"].vs_baseline
    shared = [c for c in jury_right if c in base_right]
    wins = sum(jury_right[c] and not base_right[c] for c in shared)  # c4, c3
    losses = sum(base_right[c] and not jury_right[c] for c in shared)  # c0
    assert (cmp.n, cmp.wins, cmp.losses) == (4, wins, losses) == (4, 2, 1)  # by position: 1 win, 0 losses
    assert cmp.delta == pytest.approx(sum(jury_right[c] - base_right[c] for c in shared) / len(shared))


# -- private notes --------------------------------------------------------------------------------------


def test_an_unclosed_thinking_block_hides_the_rest_of_the_answer() -> None:
    """Break: ``advocate._PRIVATE`` without its ``|\\Z`` alternative -> the unclosed block is public."""
    public, private = split_private("My claim: A is right.\n<thinking>SECRET plan: attack B's proof")
    assert public == "My claim: A is right." and private == "SECRET plan: attack B's proof"
    public, private = split_private("<notes>plan</notes>Argument.<THINKING>never closed")
    assert public == "Argument." and private == "plan\n\nnever closed"


async def test_an_unclosed_thinking_block_never_reaches_the_judge_or_the_opponent() -> None:
    """The same break, through a debate: the judge's and the opponent's prompts would carry the secret."""
    def debater(messages: list[Message], _schema: object) -> str:
        side = "A" if "You are advocate_A" in role_text(messages) else "B"
        return f"ARGUMENT-{side}: my side is right.\n<thinking>SECRET-{side} the weak spot of my case"

    a, b = ScriptedModel(debater, name="a"), ScriptedModel(debater, name="b")
    judge = ScriptedModel("Weighed. [[A]]", name="judge")
    case = Case(id="d", question="Is 91 prime?", candidates=["No: 7 x 13.", "Yes."], label="A")
    result = await run_trial(debate((a, b), judge, rounds=2), Trial(case=case))
    (judged,) = judge.prompts()
    assert "ARGUMENT-A" in judged and "ARGUMENT-B" in judged and "SECRET" not in judged
    assert not any("SECRET-A" in p for p in b.prompts()) and not any("SECRET-B" in p for p in a.prompts())
    notes = [t for t in result.turns if "SECRET" in t.content]
    assert notes and all(t.visible_to == [t.agent] and EVERYONE not in t.visible_to for t in notes)


# -- retries of 408 and 409 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409])
async def test_408_and_409_are_retried(status: int) -> None:
    """Break: ``retryable = status in (429,) or status >= 500`` in ``EndpointModel._status_failure``
    -> a ModelError after one request."""
    model = InProcessOpenAI("gpt-4o-mini", answers(status, status))
    r = await model.generate(MESSAGES)
    assert r.text == "[[A]]" and r.usage.retries == 2 and len(model.bodies) == 3


async def test_a_400_is_not_retried() -> None:
    """The control for the test above: the in-process server does make a non-retryable status final."""
    model = InProcessOpenAI("gpt-4o-mini", answers(400))
    with pytest.raises(ModelError) as err:
        await model.generate(MESSAGES)
    assert err.value.status == 400 and not err.value.retryable and len(model.bodies) == 1


# -- cached input tokens are priced at the cached rate ----------------------------------------------------


@pytest.mark.parametrize(("api", "name"), [("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4-5")])
async def test_cached_input_tokens_are_priced_at_the_cached_rate(api: str, name: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Break: ``pricing.cost_usd`` pricing cached tokens at the input rate (or not taking them out of the
    fresh ones) -> the cost is higher than the closed form."""
    prompt: list[Message] = [{"role": "user", "content": " ".join(["word"] * 40)}]  # 40 input tokens at the stub
    with StubServer(lambda _r: "one two three [[A]]", cached_tokens=30) as server:
        model = (OpenAIModel(name, base_url=server.openai_url, retry=FAST) if api == "openai"
                 else AnthropicModel(name, base_url=server.anthropic_url, retry=FAST))
        price = price_of(api, name)
        assert price is not None
        # a server other than the official one is priced only as told (here: at the official rates)
        monkeypatch.setitem(pricing._TABLE, f"{api}:{name}@{model.base_url}", price)
        r = await model.generate(prompt)
    assert price is not None and price.cached_input is not None and price.cached_input < price.input
    assert (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens) == (40, 30, 4)
    expected = (10 * price.input + 30 * price.cached_input + 4 * price.output) / 1e6
    assert r.usage.cost_usd == pytest.approx(expected, rel=1e-9)
    assert r.usage.cost_usd is not None and r.usage.cost_usd < (40 * price.input + 4 * price.output) / 1e6


# -- requests to the official OpenAI URL ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "temperature"), [("gpt-4o-mini", True), ("gpt-4.1", True), ("o3-mini", False),
                                                   ("o1", False), ("gpt-5", False), ("gpt-5-mini", False)])
async def test_requests_to_the_official_url_are_shaped_for_it(name: str, temperature: bool) -> None:
    """Break: sending ``max_tokens`` to api.openai.com, or a temperature to a reasoning model (``REASONING``
    not consulted) in ``OpenAIModel._request`` -> the body's keys differ."""
    model = InProcessOpenAI(name, answers())
    assert model.base_url == OFFICIAL_URL and not model.custom_url
    await model.generate(MESSAGES, params=GenerateParams(temperature=0.3, max_tokens=77))
    (body,) = model.bodies
    assert body["max_completion_tokens"] == 77 and "max_tokens" not in body
    assert ("temperature" in body) is temperature
    if temperature:
        assert body["temperature"] == 0.3


@pytest.mark.parametrize("name", ["o3-mini", "gpt-4o-mini"])
async def test_other_servers_get_max_tokens_and_the_temperature(name: str) -> None:
    """Break: the official shape sent to every server -> a compatible server gets ``max_completion_tokens``."""
    model = InProcessOpenAI(name, answers(), base_url="http://127.0.0.1:9/v1")
    await model.generate(MESSAGES, params=GenerateParams(temperature=0.3, max_tokens=77))
    (body,) = model.bodies
    assert body["max_tokens"] == 77 and "max_completion_tokens" not in body and body["temperature"] == 0.3


# -- the combined confidence ----------------------------------------------------------------------------


def two_orders(ab: Verdict, ba: Verdict) -> list[TrialResult]:
    return [TrialResult(order="AB", verdict=ab), TrialResult(order="BA", verdict=ba)]


@pytest.mark.parametrize(("ab", "ba", "winner", "confidence"), [
    (Verdict(winner="A", confidence=0.9), Verdict(winner="B", confidence=0.6), "A", 0.75),  # both name the case's A
    (Verdict(winner="A", confidence=0.8), Verdict(status="invalid", confidence=0.1), "A", 0.8),  # invalid: no say
    (Verdict(winner="A"), Verdict(winner="B", confidence=0.7), "A", 0.7),  # an unknown confidence is not 0
    (Verdict(winner="A", confidence=0.9), Verdict(winner="A", confidence=0.5), "tie", 0.7),  # they disagree
    (Verdict(winner="A"), Verdict(winner="B"), "A", None),
])
def test_the_combined_confidence_is_the_mean_over_counted_trials(ab: Verdict, ba: Verdict, winner: Label,
                                                               confidence: float | None) -> None:
    """Break: averaging over every trial (an invalid one's confidence, or None as 0) in ``combine_orders``."""
    combined = combine_orders(two_orders(ab, ba))
    assert combined.winner == winner
    assert combined.confidence == (None if confidence is None else pytest.approx(confidence))


# -- a LangChain structured answer is paid for once ---------------------------------------------------------


async def test_a_langchain_structured_answer_that_fails_to_parse_is_not_asked_again() -> None:
    """Break: returning None from ``LangChainModel._structured`` on the parse error, so ``_complete`` falls
    back to a plain ``ainvoke`` -> a second (paid) call, and the fallback answer is consumed."""
    structured_calls: list[object] = []

    class ParseFails(GenericFakeChatModel):
        """Tool calling whose SDK-side parser raises, as ChatOpenAI's json_schema mode does."""

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
            async def call(prompt: object) -> object:
                structured_calls.append(prompt)
                raise ValueError("the SDK could not parse the structured answer")

            return RunnableLambda(call)

    fallback = AIMessage(content="a second answer [[B]]")
    llm = ParseFails(messages=iter([fallback]))
    model = LangChainModel(llm)
    r = await model.generate(MESSAGES, schema=PairwiseOutput)
    assert len(structured_calls) == 1 and r.usage.calls == 1
    assert r.data is None and "did not parse" in r.text and "second answer" not in r.text
    assert next(llm.messages) is fallback  # the plain call was never made


# -- pointwise cases are judged once, in the order they have ---------------------------------------------


POINTWISE = Case(id="p1", question="Is 2+2=4 stated correctly?", candidates=["2+2=4"], label=8.0)
PAIRWISE = Case(id="q1", question="2+2?", candidates=["4", "5"], label="A")


async def test_judge_case_judges_a_pointwise_case_once_and_a_pair_in_both_orders() -> None:
    """Break: ``trial_orders`` returning the orders asked for whatever the case -> a pointwise case is judged
    twice (its BA trial shows the same single candidate)."""
    scorer = ScriptedModel("Correct. [[8]]", name="scorer")
    record = await judge_case(single(scorer, mode="pointwise"), POINTWISE, orders=("AB", "BA"))
    assert [t.order for t in record.trials] == ["AB"] and len(scorer.calls) == 1
    assert record.correct is True
    picker = ScriptedModel("[[A]]", name="picker")
    pair = await judge_case(single(picker), PAIRWISE)
    assert [t.order for t in pair.trials] == ["AB", "BA"] and len(picker.calls) == 2


async def test_the_runner_judges_pointwise_cases_once_and_pairs_in_the_orders_given(tmp_path: Path) -> None:
    """The same break, through the harness, and with a single order asked for."""
    scorer = ScriptedModel("Fine. [[8]]", name="scorer")
    cases = [POINTWISE, PAIRWISE, Case(id="p2", question="q", candidates=["x"], label=3.0)]
    orders: dict[str, list[Order]] = {"both": ["AB", "BA"], "ba": ["BA"]}
    for name, wanted in orders.items():
        results = await run_async(cases, ["single"], roles=Roles(judge=scorer), out=tmp_path / name, orders=wanted,
                                  params={"single": {"mode": "pointwise"}}, cache=None, progress=False)
        by_id = {r.case_id: [t.order for t in r.trials] for r in results.records}
        assert by_id == {"p1": ["AB"], "p2": ["AB"], "q1": wanted}


# -- the endpoint gate is first-come, first-served ----------------------------------------------------------


async def queue_up(endpoint: Endpoint, names: list[str], entered: list[str],
                   release: asyncio.Event) -> list[asyncio.Task[None]]:
    """Start one task per name, each in the gate's queue before the next starts."""
    async def use(name: str) -> None:
        async with endpoint.slot():
            entered.append(name)
            await release.wait()

    tasks = []
    for name in names:
        tasks.append(asyncio.create_task(use(name)))
        for _ in range(5):  # let it run up to its wait in the queue
            await asyncio.sleep(0)
    return tasks


async def test_the_endpoint_gate_grants_slots_in_arrival_order() -> None:
    """Break: ``_Gate._wake`` taking the newest waiter (``pop`` for ``popleft``) -> w4 enters first."""
    endpoint = Endpoint("openai", "http://gate/v1", max_concurrency=1)
    entered: list[str] = []
    release = asyncio.Event()
    holder = await queue_up(endpoint, ["holder"], entered, asyncio.Event())
    waiters = await queue_up(endpoint, ["w1", "w2", "w3", "w4"], entered, release)
    assert entered == ["holder"] and endpoint.in_flight == 1
    release.set()
    holder[0].cancel()
    await asyncio.gather(*waiters)
    assert entered == ["holder", "w1", "w2", "w3", "w4"] and endpoint.in_flight == 0


async def test_a_newcomer_does_not_pass_the_queue_when_the_bound_recovers() -> None:
    """After a 429 cut the bound to 1, two requests queue; the bound then recovers, and a third arrives while
    a slot is free. It must wait behind the two.

    Break: dropping ``and not self._waiters`` from ``_Gate.acquire`` -> the newcomer enters first.
    """
    endpoint = Endpoint("openai", "http://gate/v1", max_concurrency=2, recovery_s=3600)
    entered: list[str] = []
    hold, release = asyncio.Event(), asyncio.Event()
    cut = asyncio.Event()

    async def rate_limited() -> None:
        async with endpoint.slot() as slot:
            entered.append("429")
            slot.rate_limited()
            await cut.wait()

    holder = await queue_up(endpoint, ["holder"], entered, hold)
    first = asyncio.create_task(rate_limited())
    for _ in range(5):
        await asyncio.sleep(0)
    assert endpoint.limit == 1 and endpoint.in_flight == 2
    cut.set()
    await first  # one slot left of a bound of 1: full
    waiters = await queue_up(endpoint, ["w1", "w2"], entered, release)
    assert entered == ["holder", "429"]
    endpoint.configure(recovery_s=0)  # the quiet period is over: the next acquire grows the bound
    newcomer = await queue_up(endpoint, ["newcomer"], entered, release)
    assert entered == ["holder", "429", "w1"]
    release.set()
    hold.set()
    await asyncio.gather(*holder, *waiters, *newcomer)
    assert entered.index("newcomer") > entered.index("w2")


# -- duplicate case ids --------------------------------------------------------------------------------


async def test_duplicate_case_ids_are_refused_before_any_call(tmp_path: Path) -> None:
    """Break: removing the duplicate-id check of ``runner.select_cases`` -> the run goes ahead (one case is
    silently replaced in the store)."""
    judge = ScriptedModel("[[A]]", name="judge")
    twice = [PAIRWISE, Case(id="q1", question="another question", candidates=["a", "b"], label="B")]
    with pytest.raises(InputError, match="'q1'"):
        await run_async(twice, ["single"], roles=Roles(judge=judge), out=tmp_path / "run", cache=None, progress=False)
    assert judge.calls == []


# -- usage is kept when a re-ask fails ----------------------------------------------------------------------


async def test_usage_is_kept_when_the_reask_fails() -> None:
    """Break: the ``except ModelError`` branch of ``decide`` building its turn with ``Usage()`` -> the first,
    paid answer's tokens vanish from the record."""
    model = ScriptedModel(["I cannot decide.", ModelError("the server went away", status=503)],
                          name="flaky", tokens=(120, 30))
    turn = await decide(model, MESSAGES, Speaker(agent="judge", role="judge"))
    assert turn.verdict is not None and turn.verdict.status == "error" and turn.verdict.winner is None
    assert (turn.usage.calls, turn.usage.input_tokens, turn.usage.output_tokens) == (1, 120, 30)
    assert "I cannot decide." in turn.content and "the server went away" in turn.content
