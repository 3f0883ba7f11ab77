"""Provider prompt caching across the agents of a case: cached share of input tokens and cost, before and after.

JudgeBench cases (both orders) through a jury of 3 and a debate, with OpenAI and Anthropic models pointed at
the loopback stub with its simulated prompt cache (``StubServer(prefix_cache=True)``, rules in
``courtgraph/testing/prefix.py``: tokens are words; OpenAI caches the longest prefix seen before from 1,024
tokens in 128-token steps; Anthropic reads and writes at ``cache_control`` breakpoints only). "main" renders
main's prompt templates (role text first; taken from ``git show main:courtgraph/prompts/...`` into a
``$COURTGRAPH_PROMPTS`` directory) with main's Anthropic breakpoint (the end of the first user message, the
whole prompt); "now" renders the shared prefix (rules, then the case, then the role) with the breakpoint at
the end of the case. Prices: OpenAI as gpt-4.1 ($2 input, $0.50 cached, $8 output per 1M), Anthropic as
Claude Sonnet 4 ($3 input, $0.30 read, $3.75 write, $15 output). The stub answers in one sentence, so the
output share of the cost is far below a real judge's: the input cost is shown apart.

    python benchmarks/bench_prefix.py [--cases 50] [--latency 0] [--concurrency 8] [--prefix-min 1024]
    python benchmarks/bench_prefix.py --cases 50 --latency 0.2 --concurrency 16 --modes every,now,warmup

``--prefix-min`` is the shortest cacheable prefix in stub tokens (words): 1,024 is the providers' minimum
in tokens, so it is conservative; 768 words is about 1,024 tokens at OpenAI's rule of thumb of 0.75 words a token.

``--latency`` > 0 shows the concurrent misses: a prefix is cached only once a first answer has begun, so
jurors sent together all miss (as with the real providers).

``--modes`` picks the rows: ``main`` (main's prompts; every request carries the breakpoint), ``every`` (the
shared prefix, every request carries the breakpoint: before one writer per prefix), ``now`` (one writer per
prefix: models/prefix_writers.py) and ``warmup`` (``--prefix-warmup``: calls of a case sent together wait for
the first). "no-cache $" is the same input at the input price; "trial s" is the mean wall-clock time of a
trial (a case's two orders run one after the other).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.trial import judge_case
from courtgraph.models import anthropic as anthropic_module
from courtgraph.models import pricing
from courtgraph.models.anthropic import EPHEMERAL, AnthropicModel
from courtgraph.models.endpoint import EndpointModel
from courtgraph.models.openai import OpenAIModel
from courtgraph.models.prefix_writers import PrefixWriters, use_prefix_warmup
from courtgraph.schema import Record, Usage
from courtgraph.testing import StubServer

ROOT = Path(__file__).resolve().parents[1]
JUDGEBENCH = ROOT.parent / "shared" / "data" / "judgebench" / "gpt-4o-2024-05-13.jsonl"
PRICES = {"openai": pricing.Price(2.00, 8.00, 0.50), "anthropic": pricing.Price(3.00, 15.00, 0.30, 3.75)}


def main_breakpoints(messages: list[dict[str, Any]], *, mark: bool = True) -> list[dict[str, Any]]:
    """main's rule: the first user message (there, the whole prompt) is the breakpoint."""
    out = list(messages)
    for i, m in enumerate(out):
        if m["role"] == "user" and isinstance(m["content"], str):
            out[i] = {"role": "user", "content": [{"type": "text", "text": m["content"], "cache_control": EPHEMERAL}]}
            break
    return out


@contextmanager
def main_prompts() -> Iterator[None]:
    """main's templates in force (``$COURTGRAPH_PROMPTS``), with main's Anthropic breakpoint."""
    names = subprocess.run(["git", "ls-tree", "--name-only", "main", "courtgraph/prompts/"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory() as where:
        for name in names:
            if name.endswith(".md"):
                text = subprocess.run(["git", "show", f"main:{name}"], cwd=ROOT, check=True, capture_output=True,
                                      text=True).stdout
                (Path(where) / Path(name).name).write_text(text, encoding="utf-8")
        old_env, old_rule = os.environ.get("COURTGRAPH_PROMPTS"), anthropic_module.cache_breakpoints
        os.environ["COURTGRAPH_PROMPTS"] = where
        anthropic_module.cache_breakpoints = main_breakpoints
        try:
            yield
        finally:
            anthropic_module.cache_breakpoints = old_rule
            if old_env is None:
                os.environ.pop("COURTGRAPH_PROMPTS", None)
            else:
                os.environ["COURTGRAPH_PROMPTS"] = old_env


def model(stub: StubServer, api: str, mode: str) -> EndpointModel:
    key = f"bench-{uuid.uuid4()}"  # an endpoint of its own: a fresh memory of prefixes
    m: EndpointModel = (OpenAIModel("gpt-bench", base_url=stub.openai_url, api_key=key, cache=None)
                        if api == "openai" else
                        AnthropicModel("claude-bench", base_url=stub.anthropic_url, api_key=key, cache=None))
    if mode in ("main", "every"):
        m.endpoint.prefixes = PrefixWriters(capacity=0)  # remembers nothing: every request writes, as before
    pricing._TABLE[f"{api}:{m.model}@{m.base_url}"] = PRICES[api]  # priced at its URL (one pricing key)
    return m


async def run(api: str, protocol: str, cases: list[Any], latency: float, concurrency: int,
              prefix_min: int, mode: str) -> tuple[list[Record], float]:
    """The records, and the mean wall-clock seconds of a trial."""
    with StubServer(prefix_cache=True, prefix_cache_min=prefix_min, latency=latency) as stub, \
            use_prefix_warmup(mode == "warmup"):
        graph = build_protocol(protocol, Roles(model=model(stub, api, mode)))
        gate = asyncio.Semaphore(concurrency)
        took: list[float] = []

        async def one(case: Any) -> Record:
            async with gate:
                started = time.perf_counter()
                record = await judge_case(graph, case, protocol=protocol)
                took.append((time.perf_counter() - started) / max(len(record.trials), 1))
                return record

        records = list(await asyncio.gather(*(one(c) for c in cases)))
        return records, sum(took) / max(len(took), 1)


def input_cost(api: str, u: Usage) -> float:
    p = PRICES[api]
    fresh = u.input_tokens - u.cached_input_tokens - u.cache_write_tokens
    return (fresh * p.input + u.cached_input_tokens * (p.cached_input or p.input)
            + u.cache_write_tokens * (p.cache_write or p.input)) / 1e6


async def bench(n: int, latency: float, concurrency: int, prefix_min: int, modes: list[str]) -> None:
    from courtgraph.evals.benchmarks.judgebench import load

    cases = load(JUDGEBENCH)[:n]
    print(f"JudgeBench {JUDGEBENCH.name}: {len(cases)} cases x 2 orders, stub latency {latency:g} s, "
          f"{concurrency} cases at once, shortest cached prefix {prefix_min} words\n")
    head = (f"{'provider':10} {'protocol':8} {'mode':7} {'calls':>6} {'input tok':>10} {'cached':>7} "
            f"{'written':>8} {'input $':>9} {'no-cache $':>10} {'total $':>9} {'saved $':>8} {'trial s':>8}")
    print(head)
    print("-" * len(head))
    for api in ("openai", "anthropic"):
        for protocol in ("jury", "debate"):
            for label in modes:
                if label == "main":
                    with main_prompts():
                        records, trial_s = await run(api, protocol, cases, latency, concurrency, prefix_min, label)
                else:
                    records, trial_s = await run(api, protocol, cases, latency, concurrency, prefix_min, label)
                u = Usage.total(r.usage for r in records)
                failed = sum(r.error is not None for r in records)
                print(f"{api:10} {protocol:8} {label:7} {u.calls:6d} {u.input_tokens:10,d} "
                      f"{u.cached_input_tokens / u.input_tokens:7.1%} {u.cache_write_tokens / u.input_tokens:8.1%} "
                      f"{input_cost(api, u):9.3f} {u.input_tokens * PRICES[api].input / 1e6:10.3f} "
                      f"{u.cost_usd or 0:9.3f} {u.prompt_cache_saved_usd or 0:8.3f} {trial_s:8.2f}"
                      + (f"  ({failed} failed)" if failed else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prefix-min", type=int, default=1024)
    parser.add_argument("--modes", default="main,now", help="Rows: main, every, now, warmup (comma-separated).")
    args = parser.parse_args()
    asyncio.run(bench(args.cases, args.latency, args.concurrency, args.prefix_min, args.modes.split(",")))
