"""``courtgraph report``: a run's protocols compared (:func:`courtgraph.evals.report.report_run` does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from courtgraph.cli.app import console


def report(
    run: Annotated[Path, typer.Argument(help="A run directory, as written by courtgraph run --out DIR.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables "
                                          "(per protocol: accuracy, n, ci95, consistency, ..., vs_baseline).")]
    = False,
    markdown: Annotated[Path | None, typer.Option("--markdown", metavar="FILE",
                                                  help="Also write the report as markdown.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="FILE.png", help="Also plot accuracy against "
                                              "cost per protocol (needs: pip install 'courtgraph\\[plot]').")]
    = None,
    baseline: Annotated[str | None, typer.Option("--baseline", metavar="NAME", help="The protocol the others "
                                                 "are compared with (default: single, when the run has it).")]
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
) -> None:
    """Compare a run's protocols: accuracy with 95% intervals, paired McNemar tests against the baseline,
    consistency, invalid rate, calls, tokens and cost per case.

    Example: [bold]courtgraph report runs/first --markdown report.md --plot report.png[/bold]
    """
    from courtgraph.evals.report import report_run

    report_run(run, baseline=baseline, as_json=as_json, markdown=markdown, plot_to=plot, console=console,
               metrics=metrics, tie_rule=tie_rule, tolerance=tolerance, tie_delta=tie_delta)
