"""Batch mode's figures (issue 10, item 6): the same run synchronously and with ``--batch``, through the stub.

For each provider and protocol: the run's cost both ways and their ratio (the target: exactly 0.5), the
synchronous calls and the batches the batch run made, with their sizes. The stub's batches end
``--delay`` seconds after they are created, so wall times say nothing about a real provider's (24 h).
Run from the repository root:

    python benchmarks/bench_batch.py                   # 36 sample cases, single, jury and debate, both providers
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from courtgraph.evals.runner import run_async
from courtgraph.graphs.registry import Roles
from courtgraph.models.batch_terms import BatchSettings
from courtgraph.models.limits import reset_endpoints
from courtgraph.models.pricing import set_price
from courtgraph.testing import StubServer


def measure(provider: str, protocol: str, cases: int, delay: float, size: int) -> str:
    """One row: sync and batch cost of ``protocol`` on ``cases`` sample cases, and the batches made."""
    with StubServer(batch_delay=delay) as stub, tempfile.TemporaryDirectory() as tmp:
        url = stub.openai_url if provider == "openai" else stub.anthropic_url
        model = "gpt-4o-mini" if provider == "openai" else "claude-3-5-haiku-latest"
        set_price(f"{provider}:{model}@{url}", 0.15, 0.60)
        roles = Roles(model=f"{provider}:{model}@{url}")
        costs: list[float] = []
        for name, batch in (("sync", None), ("batch", BatchSettings(size=size, wait_s=30, poll_s=0.05))):
            reset_endpoints()
            results = asyncio.run(run_async("sample", [protocol], roles=roles, out=Path(tmp) / name, limit=cases,
                                            cache=None, progress=False, batch=batch))
            costs.append(sum(m.cost_usd or 0.0 for m in results.summary.protocols.values()))
        sync_calls = stub.batches.sync_calls
        return (f"| {provider} | {protocol} | {sync_calls} | ${costs[0]:.6f} | ${costs[1]:.6f} | "
                f"{costs[1] / costs[0]:.6f} | {len(stub.batches)} | {stub.batches.sizes} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=36)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds until a stub batch ends")
    parser.add_argument("--size", type=int, default=1000, help="--batch-size (large: each step is one batch)")
    args = parser.parse_args()
    print("| provider | protocol | sync calls | sync cost | batch cost | ratio | batches | batch sizes |")
    print("|---|---|---|---|---|---|---|---|")
    for provider in ("openai", "anthropic"):
        for protocol in ("single", "jury", "debate"):
            print(measure(provider, protocol, args.cases, args.delay, args.size), flush=True)


if __name__ == "__main__":
    main()
