"""``courtgraph rejudge``: stored debates, courtrooms, juries or panels decided again by another judge or rule."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from courtgraph.cli.app import console
from courtgraph.cli.options import (
    MaxConnectionsOption,
    MaxRetriesOption,
    RpmOption,
    TimeoutOption,
    TpmOption,
    endpoint_settings,
)
from courtgraph.errors import InputError


def rejudge(
    run: Annotated[Path, typer.Argument(help="A run directory, as written by courtgraph run --out DIR.")],
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="The stored protocol whose records are "
                                          "re-judged (a debate, SAMRE debate, consultancy, courtroom, jury, "
                                          "sequential jury or panel).")],
    judge: Annotated[str | None, typer.Option("--judge", help="The new judge's model (debate, SAMRE: its "
                                         "final verdict, one call per trial; courtroom).")] = None,
    aggregate: Annotated[str | None, typer.Option("--aggregate", help="The new aggregator of a jury or panel: "
                                                  "majority, strict, weighted, or a model. A sequential jury keeps "
                                                  "only its drawn votes: trials the uncalled jurors could have "
                                                  "changed are counted and listed in the records.")] = None,
    as_name: Annotated[str | None, typer.Option("--as", metavar="NAME", help="The new records' protocol name "
                                                "(default PROTOCOL@JUDGE).")] = None,
    max_connections: MaxConnectionsOption = None,
    timeout: TimeoutOption = None,
    max_retries: MaxRetriesOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
) -> None:
    """Re-run only the deciding step of stored proceedings, over the stored turns, into new records of the run;
    the advocates are not called again. Prints the new protocol against the original (exact McNemar).

    Example: [bold]courtgraph rejudge runs/first --protocol debate --judge openai:gpt-4o --as debate-4o[/bold]

    Example: [bold]courtgraph rejudge runs/first --protocol jury --aggregate strict[/bold]
    """
    from courtgraph.evals.rejudge import rejudge as rejudge_run

    if judge is None and aggregate is None:
        raise InputError("give --judge (a debate or courtroom) or --aggregate (a jury or panel)", field="judge")
    from courtgraph.models.connections import use_endpoint_settings

    endpoints = endpoint_settings(max_connections=max_connections, timeout=timeout, max_retries=max_retries,
                                  rpm=rpm, tpm=tpm)
    with use_endpoint_settings(endpoints):
        done = asyncio.run(rejudge_run(run, protocol, judge=judge, aggregate=aggregate, as_name=as_name))
    console.print(done.summary(), highlight=False, soft_wrap=True)
    # with the original as the baseline, the report's McNemar column compares the two on the same cases
    console.print(f"both side by side: courtgraph report {run} --baseline {protocol}", highlight=False)
