"""``courtgraph show`` and ``courtgraph browse``: reading a run's transcripts (the work is in the view)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer

from courtgraph.errors import InputError


def show(
    runs: Annotated[list[Path], typer.Argument(help="A run directory, as written by courtgraph run --out DIR; "
                                               "several (or a folder of runs): protocols are named RUN/protocol "
                                               "and only the cases all the runs judged are shown.")],
    case: Annotated[str | None, typer.Option("--case", metavar="ID", help="Show this case's transcript "
                                             "(without it: the table of the run's cases).")] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", "-p", metavar="NAME",
                                                 help="Which protocol's transcript (default: the run's first).")]
    = None,
    order: Annotated[Literal["AB", "BA"] | None, typer.Option("--order", help="Only the trial shown in this "
                                                              "order.")] = None,
    compare: Annotated[str | None, typer.Option("--compare", metavar="P1,P2", help="The case under several "
                                                "protocols side by side, e.g. single,debate.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Show the candidates whole (shortened by default).")] = False,
    where: Annotated[list[str] | None, typer.Option("--where", metavar="P1!=P2", help="List cases where two "
                                                    "protocols disagree (!=) or agree (==). Repeatable.")] = None,
    wrong: Annotated[list[str] | None, typer.Option("--wrong", metavar="PROTOCOL",
                                                    help="List cases PROTOCOL got wrong. Repeatable.")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Only this category. Repeatable.")]
    = None,
    inconsistent: Annotated[bool, typer.Option("--inconsistent", help="Only cases whose two orders disagree "
                                               "or did not both count (any protocol, or --protocol's).")] = False,
    invalid: Annotated[bool, typer.Option("--invalid", help="Only cases with an invalid, abstained or failed "
                                          "verdict.")] = False,
    sort: Annotated[Literal["position", "id", "category"], typer.Option("--sort", help="Table order.")]
    = "position",
    limit: Annotated[int, typer.Option("--page-size", "--limit", help="Cases per page (0: all).", min=0)] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many matching cases.", min=0)] = 0,
    page: Annotated[int | None, typer.Option("--page", help="Page number (1-based; sets --offset).", min=1)]
    = None,
    fmt: Annotated[Literal["text", "markdown", "html", "json"], typer.Option("--format", "-f",
                                                                             help="Output format.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead "
                                                "of the terminal.")] = None,
    plain: Annotated[bool, typer.Option("--plain", help="No colours (automatic when not on a terminal).")]
    = False,
    pager: Annotated[bool, typer.Option("--pager", help="Page the output (less).")] = False,
    probe: Annotated[str | None, typer.Option("--probe", metavar="NAME", help="With --case: the case next to its "
                                              "perturbed twin under this probe (see courtgraph probe).")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="With several runs: a name for each, in "
                                                    "order (default: the directory names). Repeatable.")] = None,
) -> None:
    """Read a run's transcripts: the table of cases with each protocol's verdict, or one case turn by turn.

    Examples: [bold]courtgraph show runs/first --where "debate!=single"[/bold] ·
    [bold]courtgraph show runs/first --case math-7 --protocol debate[/bold] ·
    [bold]courtgraph show runs/first --case math-7 --compare single,debate[/bold] ·
    [bold]courtgraph show runs/first --case math-7 --format markdown -o math-7.md[/bold]
    """
    if probe is not None:  # issue 14: a case beside its perturbed twin
        from courtgraph.view.probes import print_twin

        if len(runs) != 1:
            raise InputError("--probe shows one run's case beside its twin: give one run", field="probe")
        return print_twin(runs[0], case, probe, protocol=protocol, order=order, full=full, plain=plain)
    from courtgraph.view.show import ShowRequest, show_run
    from courtgraph.view.table import AgreementFilter, Filters

    filters = Filters(where=tuple(AgreementFilter.parse(w) for w in where or []), wrong=tuple(wrong or []),
                      categories=tuple(category or []), inconsistent=inconsistent, invalid=invalid,
                      protocols=(protocol,) if protocol else ())
    with one_run(runs, label) as run:
        show_run(ShowRequest(run=run, case=case, protocol=protocol, order=order,
                             compare=[p.strip() for p in compare.split(",") if p.strip()] if compare else [],
                             full=full, format=fmt, output=output, plain=plain, pager=pager, filters=filters,
                             sort=sort, limit=limit, offset=(page - 1) * limit if page else offset))


def browse(
    runs: Annotated[list[Path], typer.Argument(help="A run directory, as written by courtgraph run --out DIR; "
                                               "several (or a folder of runs): protocols are named RUN/protocol.")],
    filters: Annotated[str, typer.Option("--filter", metavar="WORDS", help="Start with this filter, e.g. "
                                         "\"debate!=single wrong:jury cat:math inconsistent\".")] = "",
    label: Annotated[list[str] | None, typer.Option("--label", help="With several runs: a name for each, in "
                                                    "order (default: the directory names). Repeatable.")] = None,
) -> None:
    """Browse a run's transcripts interactively: cases on the left, the transcript on the right.

    Keys: [bold]p[/bold] next protocol · [bold]o[/bold] order (both/AB/BA) · [bold]/[/bold] search the text
    ([bold]n[/bold] next match) · [bold]f[/bold] filter the cases · [bold]q[/bold] quit.
    Needs the optional extra: pip install 'courtgraph\\[browse]'.

    Example: [bold]courtgraph browse runs/first --filter "debate!=single"[/bold]
    """
    from courtgraph.view.browse import browse as run_browse

    with one_run(runs, label) as run:
        run_browse(run, filters)


@contextmanager
def one_run(runs: list[Path], labels: list[str] | None = None) -> Iterator[Path]:
    """The run to read: the one given, or several merged into a temporary run (removed afterwards)."""
    from courtgraph.evals.runs import find_runs, merge_runs

    found = find_runs(runs)
    if len(found) == 1 and not labels:
        yield found[0]
        return
    with tempfile.TemporaryDirectory(prefix="courtgraph-runs-") as tmp:
        yield merge_runs(found, Path(tmp) / "merged", labels)
