"""``courtgraph judge``: one pair of responses (or one response) judged by a single judge, printed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from courtgraph.cli.app import console, started
from courtgraph.cli.inputs import cache_choice, load_case_file
from courtgraph.cli.options import (
    MaxConnectionsOption,
    MaxRetriesOption,
    MaxTokensOption,
    ModelArgOption,
    ReasoningEffortOption,
    RpmOption,
    StopOption,
    TemperatureOption,
    TimeoutOption,
    TopPOption,
    TpmOption,
    check_specs,
    endpoint_settings,
    role_settings,
)
from courtgraph.errors import InputError
from courtgraph.schema import Case, Order


def judge(
    model: Annotated[str, typer.Option("--model", "-m", help="Judge model spec, e.g. openai:gpt-4o-mini, "
                                       "openai:qwen2.5@http://localhost:8000/v1, anthropic:claude-3-5-haiku-latest.")],
    question: Annotated[str | None, typer.Option("--question", "-q", help="The question or instruction.")] = None,
    a: Annotated[str | None, typer.Option("--a", help="Response A.")] = None,
    b: Annotated[str | None, typer.Option("--b", help="Response B (omit for pointwise grading of A).")] = None,
    case: Annotated[Path | None, typer.Option("--case", help="A JSON file with question, candidates "
                                              "[, reference, label]. Replaces --question/--a/--b.")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="A reference answer to show the judge.")] = None,
    swap: Annotated[bool, typer.Option("--swap/--no-swap", help="Judge both orders and combine them "
                                       "(JudgeBench's net vote).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Stream the transcript: print each turn the moment "
                                        "its agent finishes.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the response cache.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Response cache file (default "
                                               "$COURTGRAPH_CACHE or ~/.cache/courtgraph).")] = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    top_p: TopPOption = None,
    reasoning_effort: ReasoningEffortOption = None,
    stop: StopOption = None,
    model_args: ModelArgOption = None,
    max_connections: MaxConnectionsOption = None,
    timeout: TimeoutOption = None,
    max_retries: MaxRetriesOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
) -> None:
    """Judge one pair of responses (or grade one) with a single judge and print the transcript.

    Example: [bold]courtgraph judge -m openai:gpt-4o-mini -q "2+2?" --a 4 --b 5 --watch[/bold]
    """
    from courtgraph.evals.store import record_failed
    from courtgraph.graphs import judge_case, single
    from courtgraph.models import use_cache
    from courtgraph.models.connections import use_endpoint_settings
    from courtgraph.models.params import bind_settings

    check_specs({"--model": [model]})
    if case is not None:
        the_case = load_case_file(case)
    else:
        if not question or a is None:
            raise InputError("give --question and --a (and --b for a pair), or --case FILE.json", field="question")
        candidates = [a] if b is None else [a, b]
        the_case = Case(id="cli", question=question, candidates=candidates, reference=reference)
    settings = role_settings(temperature=temperature, max_tokens=max_tokens, top_p=top_p,
                             reasoning_effort=reasoning_effort, stop=stop, model_args=model_args)
    graph = single(bind_settings(model, settings.all), mode="pairwise" if the_case.pairwise else "pointwise",
                   reference=the_case.reference is not None)
    started()  # the graph is built (LangGraph imported): start-up is over, see courtgraph.cli.app.start_up
    orders: tuple[Order, ...] = ("AB", "BA") if swap else ("AB",)
    endpoints = endpoint_settings(max_connections=max_connections, timeout=timeout, max_retries=max_retries,
                                  rpm=rpm, tpm=tpm)
    with use_cache(cache_choice(no_cache, cache)), use_endpoint_settings(endpoints):
        if watch and not as_json:
            from courtgraph.view.live import watch_case

            record = asyncio.run(watch_case(graph, the_case, console, orders=orders))
        else:
            record = asyncio.run(judge_case(graph, the_case, orders=orders))
    from courtgraph.models.secrets import redact
    from courtgraph.schema import Record

    record = Record.model_validate_json(redact(record.model_dump_json()))  # an error body may have echoed a key
    if as_json:
        print(record.model_dump_json(indent=2))
    elif not watch:
        from courtgraph.view import print_record

        print_record(record, the_case, console=console)
    if record_failed(record):  # either order failing is a failure, even if the other decided the case
        raise typer.Exit(1)
