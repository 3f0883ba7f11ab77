"""``courtgraph run`` and ``courtgraph demo``: parse the flags into a :class:`~courtgraph.evals.RunPlan`,
run it, print the comparison. Resuming (settings not given are the run's) is :func:`courtgraph.evals.resume_plan`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from courtgraph.cli.app import console, err_console
from courtgraph.cli.inputs import cache_choice, parse_params, split_list, split_specs
from courtgraph.errors import InputError
from courtgraph.models import ModelLike
from courtgraph.schema import Order, Trial, TrialResult

if TYPE_CHECKING:
    from courtgraph.evals import Results, RunPlan
    from courtgraph.graphs.state import Graph


def _command() -> list[str]:
    """The command line as the manifest records it."""
    return ["courtgraph", *sys.argv[1:]]


def run_command(
    bench: Annotated[str | None, typer.Option("--bench", "-b", help="Benchmark: sample, judgebench[:PATH], "
                                              "llmbar[:PATH] or jsonl:PATH (with --map).")] = None,
    protocols: Annotated[str | None, typer.Option("--protocols", "-p", help="Comma-separated protocols: registry "
                                                  "names (single, jury, debate, ...) or FILE.py:FUNCTION.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Default model for every role, e.g. openai:"
                                              "gpt-4o-mini, anthropic:claude-3-5-haiku-latest, sim:0.7.")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="The judge's model (also recorded:PATH).")] = None,
    jurors: Annotated[str | None, typer.Option("--jurors", help="Juror models, comma-separated, one juror "
                                               "each.")] = None,
    juror: Annotated[list[str] | None, typer.Option("--juror", help="One juror's model; repeatable (for paths "
                                                    "with commas).")] = None,
    debaters: Annotated[str | None, typer.Option("--debaters", help="Debater model for both sides, or two "
                                                 "comma-separated (for A, for B).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Judge only the first N cases.")] = None,
    categories: Annotated[str | None, typer.Option("--categories", help="Only these categories, "
                                                   "comma-separated.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Trials in flight at once.")] = 8,
    swap: Annotated[bool | None, typer.Option("--swap/--no-swap", help="Judge both orders (default) or only "
                                              "the given one.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<timestamp>); "
                                             "an existing run there is resumed.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a run (--out, else the latest under runs/); "
                                         "options not given are taken from it.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the response cache.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Response cache file (default "
                                               "$COURTGRAPH_CACHE or ~/.cache/courtgraph).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for simulated agents and sampling (0).")] = None,
    field_map: Annotated[str | None, typer.Option("--map", help="jsonl: fields, e.g. question=prompt,"
                                                  "a=response1,b=response2,label=winner.")] = None,
    label_map: Annotated[str | None, typer.Option("--label-map", help="jsonl: labels, e.g. 1=A,2=B.")] = None,
    watch: Annotated[str | None, typer.Option("--watch", help="Print this case's turns as they happen.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", metavar="PROTOCOL.NAME=VALUE", help="A protocol "
                                                    "parameter, e.g. debate.rounds=2 or jury.aggregate=strict "
                                                    "(see courtgraph protocols). Repeatable.")] = None,
    display: Annotated[str, typer.Option("--display", help="Progress: auto (a bar on a terminal, else status "
                                         "lines), bar, plain (status lines) or none.")] = "auto",
    status_every: Annotated[float, typer.Option("--status-every", metavar="SECONDS", help="Seconds between "
                                                "status lines (--display plain).")] = 10.0,
    status_records: Annotated[int, typer.Option("--status-records", metavar="N", help="Also a status line every "
                                                "N records (0: only by time).", min=0)] = 0,
    log_level: Annotated[str | None, typer.Option("--log-level", help="Also log at this level (debug, info, "
                                                  "warning, error) on stderr and in RUN/run.log (default: "
                                                  "run.log at debug, nothing on stderr).")] = None,
) -> None:
    """Judge a benchmark with each protocol (both orders), store every record, print the comparison.

    Exit code 1 when any record failed. Interrupted runs continue with --resume.

    Example: [bold]courtgraph run --bench sample --protocols single,jury,debate -m openai:gpt-4o-mini --limit 10[/bold]

    Example: [bold]courtgraph run -b sample -p single,debate -m sim:0.7 --param debate.rounds=2[/bold]

    Example: [bold]courtgraph run -b judgebench:pairs.jsonl -p single --judge recorded:outputs/judge.jsonl[/bold]
    """
    from courtgraph.evals import RunPlan, resume_plan
    from courtgraph.graphs.registry import Roles

    cache_path = cache_choice(no_cache, cache)
    params = parse_params(param)
    juror_specs: list[ModelLike] = [*split_specs(jurors), *(juror or [])]
    debater_specs: list[ModelLike] = [*split_specs(debaters)]
    roles = Roles(model=model, judge=judge, jurors=juror_specs, debaters=debater_specs)
    orders: list[Order] | None = None if swap is None else (["AB", "BA"] if swap else ["AB"])
    plan: RunPlan
    if resume:
        given_roles = model or judge or juror_specs or debater_specs
        plan = resume_plan(out, bench=bench, protocols=split_list(protocols), roles=roles if given_roles else None,
                           params=params, orders=orders, limit=limit, categories=split_list(categories),
                           seed=seed, field_map=field_map, label_map=label_map, concurrency=concurrency,
                           cache=cache_path, command=_command())
    else:
        if not bench:
            raise InputError("give --bench (sample, judgebench[:PATH], llmbar[:PATH] or jsonl:PATH)",
                             field="bench")
        if not protocols:
            raise InputError("give --protocols, e.g. single,jury", field="protocols")
        plan = RunPlan(bench, split_list(protocols), roles=roles, out=out, orders=orders or ["AB", "BA"],
                       concurrency=concurrency, limit=limit, categories=split_list(categories) or None,
                       seed=seed or 0, cache=cache_path, params=params, field_map=field_map, label_map=label_map,
                       command=_command())
    results = _run(plan, watch, Output(display, status_every, log_level, status_records))
    results.report(console)
    console.print(f"run saved in {results.run_dir}  (courtgraph report {results.run_dir})", highlight=False)
    if results.failed:
        first = results.failed[0]
        err_console.print(f"{len(results.failed)} record(s) failed; first: {first.case_id} / {first.protocol}: "
                          f"{first.error or first.verdict.error}", highlight=False)
        raise typer.Exit(1)


@dataclass(frozen=True)
class Output:
    """How a run shows itself: ``--display``, ``--status-every``, ``--log-level``, ``--status-records``."""

    display: str = "auto"
    status_every: float = 10.0
    log_level: str | None = None
    status_records: int = 0


def _run(plan: RunPlan, watch: str | None = None, output: Output = Output()) -> Results:
    """Run the plan on one event loop, progress and the watched case's transcript on stderr."""
    import contextlib
    import logging

    from courtgraph.evals import run_plan
    from courtgraph.evals.logs import level_number, log_to_stderr
    from courtgraph.evals.progress import choose_display
    from courtgraph.view.live import watch_trial

    def watcher(graph: Graph, trial: Trial) -> Awaitable[TrialResult]:
        # both orders run at once, so their turns interleave: each says which order it is
        return watch_trial(graph, trial, err_console, tag_order=True)

    try:
        display = choose_display(output.display, err_console, output.status_every, output.status_records)
        level = level_number(output.log_level) if output.log_level else logging.DEBUG
    except ValueError as exc:
        raise InputError(str(exc), field="display" if "display" in str(exc) else "log-level") from None
    echo = log_to_stderr(level) if output.log_level else contextlib.nullcontext()
    try:
        with echo:
            return asyncio.run(run_plan(plan, watch=watch, watcher=watcher, console=err_console, display=display,
                                        log_level=level))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None  # the runner has said how to resume


def demo_command(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run directory (default: a new temporary "
                                             "directory).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated agents.")] = 0,
) -> None:
    """Offline demo: the bundled sample through single, jury, debate and consultancy with SIMULATED agents.

    No model is called: the agents are simulated judges, jurors and debaters of known accuracy, so the
    numbers show how the harness works, not how real models do. Prints the comparison and one debate.

    Example: [bold]courtgraph demo --out runs/demo[/bold]
    """
    import tempfile

    from courtgraph.evals.demo import demo_plan, showcase
    from courtgraph.view import print_record

    run_dir = out or Path(tempfile.mkdtemp(prefix="courtgraph-demo-"))
    results = _run(demo_plan(run_dir, seed=seed, command=_command()))
    console.rule("[bold yellow]courtgraph demo: simulated agents, not real models")
    results.report(console)
    shown = showcase(results)  # a debate that changed the single judge's answer, if there is one
    if shown is not None:
        console.rule(f"one debate transcript (simulated): case {shown.case_id}")
        print_record(shown, results.cases[shown.case_id], console)
    console.print(f"run saved in {results.run_dir}  (courtgraph report {results.run_dir})", highlight=False)
