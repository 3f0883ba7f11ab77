"""One writer per cacheable prefix, and the warm-up (courtgraph/models/prefix_writers.py).

Through the stub's simulated provider cache with latency, real SDK clients: a jury's jurors are sent
together. Without the bookkeeping each of them wrote the case at 1.25x input on Anthropic.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.cli import main
from courtgraph.evals import run_async
from courtgraph.graphs.jury import jury
from courtgraph.graphs.trial import judge_case
from courtgraph.models import pricing
from courtgraph.models.anthropic import AnthropicModel, cache_breakpoints
from courtgraph.models.endpoint import EndpointModel
from courtgraph.models.openai import OpenAIModel
from courtgraph.models.prefix_writers import PrefixWriters, prefix_warmup
from courtgraph.models.pricing import Price
from courtgraph.schema import Case, Record
from courtgraph.testing import StubServer

PRICE = Price(1.00, 5.00, 0.10, 1.25)  # Anthropic-like: reads at 0.1x input, writes at 1.25x


def text(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


LONG_A = "The product is 51. " + text(700, "alpha")
LONG_B = "The product is 41. " + text(700, "beta")
CASES = [Case(id=f"w{i}", question=f"Case {i}: what is 17 * 3? " + text(50, f"q{i}_"), candidates=[LONG_A, LONG_B],
              label="A") for i in range(3)]


def model(stub: StubServer, api: str, monkeypatch: pytest.MonkeyPatch) -> EndpointModel:
    key = f"warm-{uuid.uuid4()}"  # an endpoint of its own (limits and prefix memory), whatever port the stub got
    m: EndpointModel = (OpenAIModel("gpt-warm", base_url=stub.openai_url, api_key=key, cache=None) if api == "openai"
                        else AnthropicModel("claude-warm", base_url=stub.anthropic_url, api_key=key, cache=None))
    # priced only at its URL (as a proxy would be): the premium and the saving use the same key as the cost
    monkeypatch.setitem(pricing._TABLE, f"{api}:{m.model}@{m.base_url}", PRICE)
    m.structured = True
    return m


async def run(api: str, monkeypatch: pytest.MonkeyPatch, *, prefix_cache: bool, warmup: bool = False,
              writers: PrefixWriters | None = None, limit: int | None = None) -> list[Record]:
    with StubServer(latency=0.1, prefix_cache=prefix_cache) as stub:
        m = model(stub, api, monkeypatch)
        if writers is not None:
            m.endpoint.prefixes = writers
        if limit is not None:
            m.endpoint.configure(max_concurrency=limit)
        graph = jury([m, m, m], name="jury")
        token = prefix_warmup.set(warmup)
        try:
            return [await judge_case(graph, case) for case in CASES]
        finally:
            prefix_warmup.reset(token)


def trials(records: list[Record]) -> list[list[tuple[int, int]]]:
    """Each trial's calls as (cache read, cache write) tokens."""
    return [[(t.usage.cached_input_tokens, t.usage.cache_write_tokens) for t in trial.turns if t.usage.calls]
            for r in records for trial in r.trials]


async def test_anthropic_jury_sent_together_writes_each_case_once(monkeypatch: pytest.MonkeyPatch) -> None:
    records = await run("anthropic", monkeypatch, prefix_cache=True)
    plain = await run("anthropic", monkeypatch, prefix_cache=False)
    # capacity 0 remembers nothing: every request is a writer, as before the bookkeeping
    every = await run("anthropic", monkeypatch, prefix_cache=True, writers=PrefixWriters(capacity=0))
    written = []
    for calls in trials(records):
        assert len(calls) == 3
        writes = [w for _, w in calls if w]
        assert len(writes) == 1  # one writer; the other jurors went without the breakpoint
        written.append(writes[0])
    assert all(sum(1 for _, w in calls if w) == 3 for calls in trials(every))
    cost, before = sum(r.usage.cost_usd or 0 for r in records), sum(r.usage.cost_usd or 0 for r in plain)
    old = sum(r.usage.cost_usd or 0 for r in every)
    # jurors sent together read nothing: what remains over no caching is one write premium per trial (0.25x
    # of one prefix), where each juror paid it before
    premium = sum(written) * (PRICE.cache_write - PRICE.input) / 1e6  # type: ignore[operator]
    assert cost == pytest.approx(before + premium) and old == pytest.approx(before + 3 * premium)
    saved = [r.usage.prompt_cache_saved_usd for r in records]  # priced at the URL only: a figure, not None
    assert all(s is not None for s in saved)
    assert sum(s or 0 for s in saved) == pytest.approx(-premium)
    assert [r.verdict for r in records] == [r.verdict for r in plain]  # only cache markers changed


async def test_a_juror_sent_after_the_writer_answered_reads_and_the_jury_costs_less(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One at a time: the jurors after the writer go once it has answered, and read. (Two at a time raced: the
    third juror read only when the writer answered before the second juror.)"""
    records = await run("anthropic", monkeypatch, prefix_cache=True, limit=1)
    plain = await run("anthropic", monkeypatch, prefix_cache=False)
    for calls in trials(records):
        assert sum(1 for _, w in calls if w) == 1 and sum(1 for r, _ in calls if r) >= 1
    cost, before = sum(r.usage.cost_usd or 0 for r in records), sum(r.usage.cost_usd or 0 for r in plain)
    assert cost < before


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_with_the_warm_up_every_juror_after_the_first_reads(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    records = await run(api, monkeypatch, prefix_cache=True, warmup=True)
    plain = await run(api, monkeypatch, prefix_cache=False)
    for calls in trials(records):
        first, *rest = calls
        assert first[0] == 0 and (first[1] > 0) == (api == "anthropic")
        assert rest and all(read >= 1400 and not written for read, written in rest)
    cost, before = sum(r.usage.cost_usd or 0 for r in records), sum(r.usage.cost_usd or 0 for r in plain)
    assert cost < 0.8 * before
    # the answers are the same: only cache markers changed
    assert [r.verdict for r in records] == [r.verdict for r in plain]


def test_a_plain_request_carries_no_breakpoint_and_the_same_turns() -> None:
    turns = [{"role": "user", "content": "case"}, {"role": "user", "content": "role"}]
    marked, plain = cache_breakpoints(turns), cache_breakpoints(turns, mark=False)
    assert marked[0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert plain == [{"role": "user", "content": [{"type": "text", "text": "case"}, {"type": "text", "text": "role"}]}]


def test_writer_roles_in_order() -> None:
    now = [0.0]
    w = PrefixWriters(capacity=2, ttl_s=100, clock=lambda: now[0])
    assert w.claim("a") == "write"
    assert w.claim("a") == "plain"  # the writer is in flight
    w.finish("a", answered=True)
    assert w.claim("a") == "read"
    now[0] = 150.0  # expired at the provider: written anew
    assert w.claim("a") == "write"
    w.finish("a", answered=False)  # a failed writer hands the role on
    assert w.claim("a") == "write"
    assert w.claim("b") == "write" and w.claim("c") == "write"
    assert len(w) == 2 and w.claim("a") == "write"  # bounded: the oldest was forgotten


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), max_size=30))
def test_at_most_one_writer_in_flight_per_prefix(steps: list[tuple[str, bool]]) -> None:
    """Against an independent model: a prefix is writable when it has no writer in flight and no answer."""
    w = PrefixWriters()
    in_flight: dict[str, bool] = {}
    answered: set[str] = set()

    async def scenario() -> None:
        for key, succeed in steps:
            role = w.claim(key)
            expected = "read" if key in answered else "plain" if in_flight.get(key) else "write"
            assert role == expected
            if role == "write":
                in_flight[key] = True
                if succeed:  # finish some writers at once, keep others in flight
                    w.finish(key, answered=True)
                    in_flight[key] = False
                    answered.add(key)

    asyncio.run(scenario())


async def test_warm_up_waits_for_the_writer_then_reads_and_a_failed_writer_passes_it_on() -> None:
    w = PrefixWriters()
    order: list[str] = []
    release = asyncio.Event()

    async def call(name: str, fail: bool = False) -> None:
        try:
            async with w.request("k", warmup=True) as role:
                order.append(f"{name}:{role}")
                if name == "first":
                    await release.wait()
                if fail:
                    raise RuntimeError("boom")
        except RuntimeError:
            pass

    first = asyncio.create_task(call("first", fail=True))
    await asyncio.sleep(0)
    others = [asyncio.create_task(call(f"j{i}")) for i in range(2)]
    await asyncio.sleep(0)
    assert order == ["first:write"]  # the others wait
    release.set()
    await asyncio.gather(first, *others)
    assert order == ["first:write", "j0:write", "j1:read"]


async def test_run_async_prefix_warmup_reads_and_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's setting: every juror after the first of a trial reads; the manifest records it."""
    with StubServer(latency=0.1, prefix_cache=True) as stub:
        m = model(stub, "anthropic", monkeypatch)
        results = await run_async(CASES[:2], {"jury": jury([m, m, m], name="jury")}, out=tmp_path / "r",
                                  cache=None, progress=False, concurrency=8, prefix_warmup=True)
    for calls in trials(results.records):
        assert len(calls) == 3 and sum(1 for r, _ in calls if r >= 1400) == 2
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["config"]["prefix_warmup"] is True


def test_cli_prefix_warmup_is_recorded_and_kept_by_resume(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    run_dir = tmp_path / "r"

    def cli(*args: str) -> int:
        with pytest.raises(SystemExit) as exit_:
            main(["run", *args, "--display", "none"])
        capsys.readouterr()
        return int(exit_.value.code or 0)

    def stored() -> Any:
        return json.loads((run_dir / "manifest.json").read_text())["config"].get("prefix_warmup")

    with StubServer() as stub:
        spec = f"anthropic:claude-warm@{stub.anthropic_url}"
        assert cli("-b", "sample", "-p", "jury", "-m", spec, "-n", "1", "--prefix-warmup", "-o", str(run_dir)) == 0
        assert stored() is True
        assert cli("--resume", "-o", str(run_dir), "-n", "2") == 0
        assert stored() is True  # kept
        assert cli("--resume", "-o", str(run_dir), "-n", "2", "--no-prefix-warmup") == 0
        assert stored() is None  # turned off


def test_help_says_what_the_warm_up_costs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--prefix-warmup" in out and "one extra call latency per case" in out.replace("│ ", "")
