"""Throughput of the model layer against the stub: achieved vs ideal calls/s for N calls at concurrency C.

The stub server runs in its own process and adds a latency of L seconds to every answer, so the ideal
is C / L calls/s (one endpoint, bound C): the ratio says how much of the bound the client side (SDK,
endpoint gate, retry layer, cache lookups off) actually delivers. Run from the repository root:

    python benchmarks/bench_endpoint.py --calls 400 --concurrency 16 --latency 0.05 --api openai
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench_table import start_stub  # the stub in its own process (this folder is on sys.path)

from courtgraph.models import use_cache
from courtgraph.models.anthropic import AnthropicModel
from courtgraph.models.endpoint import EndpointModel
from courtgraph.models.openai import OpenAIModel


async def run(model: EndpointModel, calls: int) -> tuple[float, float]:
    """Wall seconds and process CPU seconds for ``calls`` concurrent calls, after one warm-up call."""
    async def one(i: int) -> None:
        await model.generate([{"role": "system", "content": "You are an impartial judge."},
                              {"role": "user", "content": f"Case {i}: which response is better? " * 20}])

    await one(-1)  # warm up: the client, its connection pool, the imports
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--api", choices=["openai", "anthropic"], default="openai")
    args = parser.parse_args()
    proc, openai_url = start_stub(args.latency)
    base = openai_url.removesuffix("/v1")
    try:
        cls = OpenAIModel if args.api == "openai" else AnthropicModel
        model = cls("bench", base_url=f"{base}/v1" if args.api == "openai" else base,
                    max_concurrency=args.concurrency, timeout=30)
        with use_cache(None):
            elapsed, cpu = asyncio.run(run(model, args.calls))
    finally:
        proc.terminate()
        proc.wait()
    ideal = args.concurrency / args.latency
    achieved = args.calls / elapsed
    print(f"{args.api}: {args.calls} calls, concurrency {args.concurrency}, stub latency {args.latency * 1000:g} ms")
    print(f"  ideal    {ideal:8.1f} calls/s")
    print(f"  achieved {achieved:8.1f} calls/s  ({achieved / ideal:.0%} of ideal, {elapsed:.2f} s)")
    print(f"  client CPU {cpu / args.calls * 1000:.2f} ms per call")


if __name__ == "__main__":
    main()
