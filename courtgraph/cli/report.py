"""``courtgraph report``: the protocols of one run compared (:func:`courtgraph.evals.report.report_run`), or
of several runs on their shared cases (:func:`courtgraph.evals.runs.report_runs`); ``courtgraph runs`` lists runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from courtgraph.cli.app import console


def report(
    runs: Annotated[list[Path], typer.Argument(help="Run directories (as written by courtgraph run --out DIR), "
                                               "or folders of runs. Several runs: protocols are named "
                                               "RUN/protocol and compared on the cases all the runs judged.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables "
                                          "(per protocol: accuracy, n, ci95, consistency, ..., vs_baseline).")]
    = False,
    markdown: Annotated[Path | None, typer.Option("--markdown", metavar="FILE",
                                                  help="Also write the report as markdown.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="FILE.png", help="Also plot accuracy against "
                                              "cost per protocol (needs: pip install 'courtgraph\\[plot]').")]
    = None,
    baseline: Annotated[str | None, typer.Option("--baseline", metavar="NAME", help="The protocol the others "
                                                 "are compared with (default: single, when the run has it; "
                                                 "with several runs RUN/protocol).")]
    = None,
    metrics: Annotated[bool, typer.Option("--metrics", help="Also print the per-order, per-class (F1, confusion) "
                                          "and score tables.")] = False,
    tie_rule: Annotated[str, typer.Option("--tie-rule", help="Tie gold: judge-says-tie (a tie only when the judge "
                                          "says tie) or mtbench (inconsistent orders are a tie).")]
    = "judge-says-tie",
    tolerance: Annotated[float, typer.Option("--tolerance", help="Numeric gold: a score within this of the gold "
                                             "is correct.")] = 0.0,
    tie_delta: Annotated[float, typer.Option("--tie-delta", help="Scores within this of each other tie (pairwise "
                                             "accuracy from scores).")] = 0.0,
    label: Annotated[list[str] | None, typer.Option("--label", help="A name for each run, in order (default: "
                                                    "the directory names). Repeatable.")] = None,
) -> None:
    """Compare a run's protocols (or several runs'): accuracy, paired tests, cost, and what ran.

    Accuracy with 95% intervals, paired McNemar tests against the baseline, consistency, invalid rate,
    calls, tokens and cost per case; then what ran (models, base URLs, settings, benchmark hash).

    Example: [bold]courtgraph report runs/first --markdown report.md --plot report.png[/bold]

    Example: [bold]courtgraph report runs/gpt runs/claude --label gpt --label claude --baseline gpt/single[/bold]
    """
    from courtgraph.evals.report import report_run
    from courtgraph.evals.runs import find_runs, report_runs

    found = find_runs(runs)
    if len(found) == 1 and not label:
        report_run(found[0], baseline=baseline, as_json=as_json, markdown=markdown, plot_to=plot, console=console,
                   metrics=metrics, tie_rule=tie_rule, tolerance=tolerance, tie_delta=tie_delta)
        return
    report_runs(found, labels=label, baseline=baseline, as_json=as_json, markdown=markdown, plot_to=plot,
                console=console)


def runs_command(
    folder: Annotated[Path, typer.Argument(help="A folder of runs (or a run).")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list on stdout.")] = False,
) -> None:
    """List runs: date, benchmark, protocols, models, status, records and cost.

    Example: [bold]courtgraph runs runs/[/bold]
    """
    from courtgraph.errors import InputError
    from courtgraph.evals.runs import find_runs, is_run, run_row
    from courtgraph.view.runlist import print_runs

    if not folder.is_dir():
        raise InputError("no such directory", path=folder)
    found = [run for run in find_runs([folder]) if is_run(run)]
    if not found:
        raise InputError("no runs in this folder (a run holds run.db and manifest.json)", path=folder)
    rows = [run_row(run) for run in found]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    print_runs(rows, console)
