"""``courtgraph probe``: judge the perturbed twins of a finished run's cases (:mod:`courtgraph.evals.probing`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from courtgraph.cli.app import console, err_console
from courtgraph.cli.inputs import cache_choice
from courtgraph.cli.options import (
    MaxConnectionsOption,
    MaxRetriesOption,
    RpmOption,
    TimeoutOption,
    TpmOption,
    endpoint_settings,
)

PROBES_HELP = ("Comma-separated probes: position, verbosity, master-key, authority, bandwagon, distraction, "
               "self-preference, NAME:key=value (e.g. verbosity:ratio=3, master-key:mode=prefix) or FILE.py:FUNCTION.")


def run_probes(run_dir: Path, probes: str, *, concurrency: int = 8, no_cache: bool = False,
               cache: Path | None = None, endpoints: Any = None) -> None:
    """Probe ``run_dir`` (its config and cache unless told otherwise; ``endpoints`` over its endpoint
    settings), then print the robustness tables."""
    from courtgraph.evals.probing import RUN_CACHE, probe_async
    from courtgraph.evals.robustness_report import load_robustness, print_robustness
    from courtgraph.evals.store import RunStore

    chosen = RUN_CACHE if not no_cache and cache is None else cache_choice(no_cache, cache)
    try:
        done = asyncio.run(probe_async(run_dir, probes, concurrency=concurrency, cache=chosen, progress=True,
                                       console=err_console, command=["courtgraph", *sys.argv[1:]],
                                       endpoints=endpoints or None))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    with RunStore(run_dir, create=False) as store:
        seed = int(store.manifest().get("seed") or 0)
    print_robustness(load_robustness(run_dir, seed=seed), console)
    console.print(f"{done.new_records} perturbed record(s) judged, {len(done.records)} in {run_dir / 'probes'}  "
                  f"(courtgraph report {run_dir})", highlight=False)


def probe(
    run: Annotated[Path, typer.Argument(help="A finished run directory (courtgraph run --out DIR).")],
    probes: Annotated[str, typer.Option("--probes", help=PROBES_HELP)],
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Trials in flight at once.")] = 8,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use a response cache.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Response cache file (default: the run's).")] = None,
    max_connections: MaxConnectionsOption = None,
    timeout: TimeoutOption = None,
    max_retries: MaxRetriesOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
) -> None:
    """Add bias and robustness probes to a run: its cases' perturbed twins, judged by every protocol of the run
    with its models, seed and cache, so only the perturbed cases are paid for. Stored in RUN/probes.

    Example: [bold]courtgraph probe runs/first --probes verbosity,master-key,position[/bold]
    """
    endpoints = endpoint_settings(max_connections=max_connections, timeout=timeout, max_retries=max_retries,
                                  rpm=rpm, tpm=tpm)  # over the run's own endpoint settings
    run_probes(run, probes, concurrency=concurrency, no_cache=no_cache, cache=cache, endpoints=endpoints)
