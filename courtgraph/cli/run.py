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
from rich.markup import escape

from courtgraph.cli.app import console, err_console, started
from courtgraph.cli.inputs import cache_choice, parse_params, split_list, split_specs
from courtgraph.cli.options import (
    AllowUnknownCostOption,
    BatchOption,
    BatchPollOption,
    BatchSizeOption,
    BatchWaitOption,
    CostLimitOption,
    DebaterArgsOption,
    DryRunOption,
    FailOnErrorOption,
    JudgeArgsOption,
    JurorArgsOption,
    MaxConnectionsOption,
    MaxErrorsOption,
    MaxRetriesOption,
    MaxTokensOption,
    ModelArgOption,
    PrefixWarmupOption,
    ReasoningEffortOption,
    RoleArgsOption,
    RolesFileOption,
    RpmOption,
    StopOption,
    TemperatureOption,
    TimeoutOption,
    TopPOption,
    TpmOption,
    batch_settings,
    check_specs,
    endpoint_settings,
    role_settings,
    roles_file,
    run_limits,
)
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
    judge: Annotated[str | None, typer.Option("--judge", help="The judge's model, or recorded verdicts: "
                                              "recorded:FILE (JudgeBench outputs, LLMBar result.json), "
                                              "recorded:RUN_DIR\\[#PROTOCOL], or recorded:FILE?id=COL&verdict=COL"
                                              "[&verdict_ba=COL][&map=1:A,2:B,Tie:tie,x:invalid].")] = None,
    jurors: Annotated[str | None, typer.Option("--jurors", help="Juror models, comma-separated, one juror "
                                               "each.")] = None,
    juror: Annotated[list[str] | None, typer.Option("--juror", help="One juror's model; repeatable (for paths "
                                                    "with commas).")] = None,
    debaters: Annotated[str | None, typer.Option("--debaters", help="Debater model for both sides, or two "
                                                 "comma-separated (for A, for B).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Judge only the first N cases (in file "
                                              "order: see --sample).")] = None,
    sample: Annotated[int | None, typer.Option("--sample", metavar="N", help="A seeded random sample of N cases, "
                                               "stratified by category (each keeps its share).")] = None,
    stratify: Annotated[bool, typer.Option("--stratify/--no-stratify", help="--sample keeps each category's "
                                           "share (default) or samples all cases alike.")] = True,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="Judge the cases in a seeded random order.")] = False,
    case_ids: Annotated[str | None, typer.Option("--cases", metavar="ID,ID|@FILE", help="Only these case ids "
                                                 "(comma-separated, or @FILE with one id a line).")] = None,
    categories: Annotated[str | None, typer.Option("--categories", help="Only these categories, "
                                                   "comma-separated.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c", help="Model calls in flight at "
                                                    "once in the whole run (8); a trial starts when its calls fit. "
                                                    "Each endpoint allows as many unless --max-connections (or "
                                                    "$COURTGRAPH_MAX_CONCURRENCY) bounds it apart.")] = None,
    swap: Annotated[bool | None, typer.Option("--swap/--no-swap", help="Judge both orders (default) or only "
                                              "the given one.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<timestamp>); "
                                             "an existing run there is resumed.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a run (--out, else the latest under runs/); "
                                         "options not given are taken from it.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the response cache.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Response cache file (default "
                                               "$COURTGRAPH_CACHE or ~/.cache/courtgraph).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the case sample/shuffle, simulated agents "
                                             "and bootstrap (0); recorded in the manifest.")] = None,
    field_map: Annotated[str | None, typer.Option("--map", help="jsonl: fields, e.g. question=prompt,"
                                                  "a=response1,b=response2,label=winner; a template "
                                                  "question={instruction}\\n\\n{input}; gold from annotators "
                                                  "label=majority(a1,a2,a3) or unanimous(...).")] = None,
    label_map: Annotated[str | None, typer.Option("--label-map", help="jsonl: labels, e.g. 1=A,2=B.")] = None,
    watch: Annotated[str | None, typer.Option("--watch", help="Print this case's turns as they happen.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", metavar="PROTOCOL.NAME=VALUE", help="A protocol "
                                                    "parameter, e.g. debate.rounds=2 or jury.aggregate=strict "
                                                    "(see courtgraph protocols). Repeatable.")] = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    top_p: TopPOption = None,
    reasoning_effort: ReasoningEffortOption = None,
    stop: StopOption = None,
    model_args: ModelArgOption = None,
    judge_args: JudgeArgsOption = None,
    juror_args: JurorArgsOption = None,
    debater_args: DebaterArgsOption = None,
    role_args: RoleArgsOption = None,
    roles_path: RolesFileOption = None,
    cost_limit: CostLimitOption = None,
    allow_unknown_cost: AllowUnknownCostOption = False,
    batch: BatchOption = None,
    batch_size: BatchSizeOption = None,
    batch_wait: BatchWaitOption = None,
    batch_poll: BatchPollOption = None,
    prefix_warmup: PrefixWarmupOption = None,
    fail_on_error: FailOnErrorOption = False,
    max_errors: MaxErrorsOption = None,
    dry_run: DryRunOption = False,
    max_connections: MaxConnectionsOption = None,
    timeout: TimeoutOption = None,
    max_retries: MaxRetriesOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    calibrate_on: Annotated[int | None, typer.Option("--calibrate-on", metavar="N", help="Hold out the first N "
                                                     "cases to calibrate each cascade's thresholds (Trust or "
                                                     "Escalate); they are not judged.")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Calibration: tolerated disagreement with the gold "
                                         "labels on the cases a cascade decides.")] = 0.15,
    delta: Annotated[float, typer.Option("--delta", help="Calibration: allowed probability that the guarantee "
                                         "fails.")] = 0.1,
    probes: Annotated[str | None, typer.Option("--probes", help="Then judge perturbed cases too (see courtgraph "
                                               "probe), e.g. verbosity,master-key,position.")] = None,
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

    Example: [bold]courtgraph run --bench sample --protocols single,jury,debate -m openai:gpt-4o-mini --sample 10[/bold]

    Example: [bold]courtgraph run -b judgebench:FILE.jsonl -p single,debate --roles roles.toml --sample 100 --seed 1
    --cost-limit 5 --dry-run[/bold]

    Example: [bold]courtgraph run -b sample -p single,debate -m sim:0.7 --param debate.rounds=2[/bold]

    Example: [bold]courtgraph run -b judgebench:pairs.jsonl -p single --judge recorded:outputs/judge.jsonl[/bold]

    Example: [bold]courtgraph run -b judgebench -p single,jury -m openai:gpt-4o-mini --batch --batch-size 500[/bold]
    """
    from courtgraph.evals import RunPlan, resume_plan
    from courtgraph.graphs.registry import Roles

    cache_path = cache_choice(no_cache, cache)
    params = parse_params(param)
    juror_specs: list[ModelLike] = [*split_specs(jurors), *(juror or [])]
    debater_specs: list[ModelLike] = [*split_specs(debaters)]
    check_specs({"--model": [model] if model else [], "--judge": [judge] if judge else [],
                 "--jurors/--juror": juror_specs, "--debaters": debater_specs})
    file_models, file_settings = roles_file(roles_path)
    check_specs({f"{roles_path}": [*[file_models[k] for k in ("model", "judge") if k in file_models],
                                   *file_models.get("jurors", []), *file_models.get("debaters", []),
                                   *file_models.get("extra", {}).values()]})
    settings = role_settings(temperature=temperature, max_tokens=max_tokens, top_p=top_p,
                             reasoning_effort=reasoning_effort, stop=stop, model_args=model_args,
                             judge_args=judge_args, juror_args=juror_args, debater_args=debater_args,
                             role_args=role_args, base=file_settings)
    endpoints = endpoint_settings(max_connections=max_connections, timeout=timeout, max_retries=max_retries,
                                  rpm=rpm, tpm=tpm, roles_path=roles_path)
    roles = Roles(model=model or file_models.get("model"), judge=judge or file_models.get("judge"),
                  jurors=juror_specs or file_models.get("jurors", []),
                  debaters=debater_specs or file_models.get("debaters", []), extra=file_models.get("extra", {}))
    orders: list[Order] | None = None if swap is None else (["AB", "BA"] if swap else ["AB"])
    plan: RunPlan
    if resume:
        from courtgraph.evals.resume import stored_config

        given_roles = model or judge or juror_specs or debater_specs or file_models
        plan = resume_plan(out, bench=bench, protocols=split_list(protocols), roles=roles if given_roles else None,
                           params=params, orders=orders, limit=limit, categories=split_list(categories),
                           sample=sample, shuffle=shuffle, cases=case_ids, stratify=stratify,
                           settings=settings or None,
                           limits=run_limits(cost_limit, allow_unknown_cost, fail_on_error, max_errors,
                                             stored_config(out)[1].get("limits")),
                           seed=seed, field_map=field_map, label_map=label_map, concurrency=concurrency,
                           cache="default" if not (no_cache or cache) else cache_path, command=_command(),
                           endpoints=endpoints or None,
                           batch=batch_settings(batch, batch_size, batch_wait, batch_poll,
                                                stored_config(out)[1].get("batch"), resuming=True),
                           prefix_warmup=prefix_warmup)
    else:
        if not bench:
            raise InputError("give --bench (sample, judgebench[:PATH], llmbar[:PATH] or jsonl:PATH)",
                             field="bench")
        if not protocols:
            raise InputError("give --protocols, e.g. single,jury", field="protocols")
        plan = RunPlan(bench, split_list(protocols), roles=roles, out=out, orders=orders,
                       concurrency=concurrency if concurrency is not None else 8, limit=limit,
                       categories=split_list(categories) or None,
                       sample=sample, shuffle=shuffle, cases=case_ids, stratify=stratify, settings=settings,
                       limits=run_limits(cost_limit, allow_unknown_cost, fail_on_error, max_errors),
                       seed=seed or 0, cache=cache_path, params=params, field_map=field_map, label_map=label_map,
                       command=_command(), calibrate_on=calibrate_on, alpha=alpha, delta=delta, endpoints=endpoints,
                       batch=batch_settings(batch, batch_size, batch_wait, batch_poll),
                       prefix_warmup=bool(prefix_warmup))
    if dry_run:
        from courtgraph.evals.dryrun import plan_run

        started()
        planned = asyncio.run(plan_run(plan))
        planned.print(console)
        return
    if probes:  # checked before the run, so a typo costs nothing (issue 14)
        from courtgraph.evals.probes import default_registry

        default_registry().resolve(probes)
    from courtgraph.evals.budget import RunStopped
    from courtgraph.models.errors import EndpointDown

    try:
        results = _run(plan, watch, Output(display, status_every, log_level, status_records))
    except EndpointDown:
        raise typer.Exit(1) from None  # the runner has named the endpoint, its last error and how to resume
    except RunStopped as stopped:  # --fail-on-error / --max-errors: the real failure, whole
        err_console.print(stopped.details, highlight=False, markup=False, soft_wrap=True)
        err_console.print(f"[bold red]error:[/] {escape(str(stopped))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    results.report(console)
    if probes:
        from courtgraph.cli.probe import run_probes

        run_probes(results.run_dir, probes, concurrency=plan.concurrency, no_cache=no_cache, cache=cache)
    console.print(f"run saved in {results.run_dir}  (courtgraph report {results.run_dir})", highlight=False)
    if results.stopped:
        err_console.print(f"stopped: {results.stopped}; to go on: courtgraph run --resume --out {results.run_dir} "
                          "--cost-limit HIGHER", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if results.failed:
        first = results.failed[0]
        from courtgraph.evals.store import failure_text

        err_console.print(f"{len(results.failed)} record(s) failed; first: {first.case_id} / {first.protocol}: "
                          f"{escape(failure_text(first))}", highlight=False, soft_wrap=True)
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

    def watcher(graph: Graph, trial: Trial) -> Awaitable[TrialResult]:
        from courtgraph.view.live import watch_trial  # only for --watch: rich's markdown is not start-up's

        # both orders run at once, so their turns interleave: each says which order it is
        return watch_trial(graph, trial, err_console, tag_order=True)

    try:
        display = choose_display(output.display, err_console, output.status_every, output.status_records)
        level = level_number(output.log_level) if output.log_level else logging.DEBUG
    except ValueError as exc:
        raise InputError(str(exc), field="display" if "display" in str(exc) else "log-level") from None
    echo = log_to_stderr(level) if output.log_level else contextlib.nullcontext()
    started()  # LangGraph and the harness are imported: what remains (the SDK, at the first call) is the run's
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
    from courtgraph.cli.probe import run_probes  # issue 14: a short robustness table, simulated
    from courtgraph.evals.demo import DEMO_PROBES

    console.rule("[bold yellow]robustness probes (simulated agents of configured susceptibility)")
    run_probes(results.run_dir, DEMO_PROBES, no_cache=True)
    console.print(f"run saved in {results.run_dir}  (courtgraph report {results.run_dir})", highlight=False)
