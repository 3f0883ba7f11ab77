"""The ``courtgraph`` command: a thin layer over the Python API.

Exit codes: 0 success, 1 a run that finished with failures, 2 bad input (one line naming the file,
line and field; no traceback unless ``--debug``).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from courtgraph.errors import InputError
from courtgraph.models import ConfigError, ModelLike
from courtgraph.schema import Case, Order

app = typer.Typer(
    name="courtgraph",
    help="Judge with many LLM agents instead of one: debate, jury, courtroom and more, compared on benchmarks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_state: dict[str, bool] = {"debug": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False) -> None:
    _state["debug"] = debug


def load_case_file(path: Path) -> Case:
    """A case from a JSON file, with errors that name the file and the field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a case file (JSON)", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object with question and candidates", path=path)
    try:
        return Case.model_validate({"id": path.stem, **data})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(first["msg"], path=path, field=".".join(map(str, first["loc"]))) from None


def cache_choice(no_cache: bool, cache: Path | None) -> Path | None:
    """The response cache a command uses: none, the given file, or the user's default."""
    from courtgraph.models import default_cache_path

    if no_cache and cache is not None:
        raise InputError("give --no-cache or --cache, not both", field="cache")
    return None if no_cache else cache or default_cache_path()


def parse_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--param debate.rounds=2`` -> ``{"debate": {"rounds": 2}}``; values are JSON when they parse
    (numbers, true/false, lists), else strings."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        target, sep, raw = item.partition("=")
        protocol, dot, key = target.partition(".")
        if not (sep and dot and protocol.strip() and key.strip()):
            raise InputError(f"--param {item!r}: expected PROTOCOL.NAME=VALUE, e.g. debate.rounds=2", field="param")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(protocol.strip(), {})[key.strip()] = value
    return out


@app.command()
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
) -> None:
    """Judge one pair of responses (or grade one) with a single judge and print the transcript.

    Example: [bold]courtgraph judge -m openai:gpt-4o-mini -q "2+2?" --a 4 --b 5 --watch[/bold]
    """
    from courtgraph.evals.store import record_failed
    from courtgraph.graphs import judge_case, single
    from courtgraph.models import use_cache

    if case is not None:
        the_case = load_case_file(case)
    else:
        if not question or a is None:
            raise InputError("give --question and --a (and --b for a pair), or --case FILE.json", field="question")
        candidates = [a] if b is None else [a, b]
        the_case = Case(id="cli", question=question, candidates=candidates, reference=reference)
    graph = single(model, mode="pairwise" if the_case.pairwise else "pointwise",
                   reference=the_case.reference is not None)
    orders: tuple[Order, ...] = ("AB", "BA") if swap else ("AB",)
    with use_cache(cache_choice(no_cache, cache)):
        if watch and not as_json:
            from courtgraph.view.live import watch_case

            record = asyncio.run(watch_case(graph, the_case, console, orders=orders))
        else:
            record = asyncio.run(judge_case(graph, the_case, orders=orders))
    if as_json:
        print(record.model_dump_json(indent=2))
    elif not watch:
        from courtgraph.view import print_record

        print_record(record, the_case, console=console)
    if record_failed(record):  # either order failing is a failure, even if the other decided the case
        raise typer.Exit(1)


# -- courtgraph run / demo --------------------------------------------------------------------------

DEMO_PROTOCOLS = ("single", "jury", "debate", "consultancy")
#: Simulated agents of known competence: a position-biased judge that is better at judging debates
#: than consultancies, and three jurors with correlated errors; each agent's errors half persist across
#: the two orders of a case, as real judges' do (see courtgraph.agents.simulated).
DEMO_JUDGE = "sim:judge:0.75:bias=0.1:debate=0.85:consult=0.78:persist=0.5"
DEMO_JURORS = tuple(f"sim:juror{i}:0.72:bias=0.1:corr=0.3:persist=0.5" for i in (1, 2, 3))
DEMO_AGENT = "sim:advocate:0.7"


def split_specs(text: str | None) -> list[str]:
    """A comma-separated list of model specs. A comma separates only where a new spec begins
    (``provider:``), so a recorded judge's path may contain commas, as JudgeBench's file names do."""
    from courtgraph.models import PROVIDERS

    if not text:
        return []
    starts = "|".join(map(re.escape, PROVIDERS))
    return [s.strip() for s in re.split(rf",(?=\s*(?:{starts}):)", text) if s.strip()]


def _split_list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _resumed_settings(out: Path | None) -> tuple[Path, dict[str, Any]]:
    """The run ``--resume`` continues (``--out``, else the latest under runs/) and its settings."""
    from courtgraph.evals.runner import latest_run
    from courtgraph.evals.store import RunStore

    run_dir = out or latest_run()
    with RunStore(run_dir, create=False) as store:
        config: dict[str, Any] = store.manifest().get("config") or {}
    if not config:
        raise InputError("the run has no manifest to resume from", path=run_dir)
    return run_dir, config


@app.command("run")
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
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Model calls in flight at once; a "
                                                "trial starts when its calls fit, and each endpoint allows as many "
                                                "(unless $COURTGRAPH_MAX_CONCURRENCY says otherwise).")] = 8,
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
) -> None:
    """Judge a benchmark with each protocol (both orders), store every record, print the comparison.

    Exit code 1 when any record failed. Interrupted runs continue with --resume.

    Example: [bold]courtgraph run --bench sample --protocols single,jury,debate -m openai:gpt-4o-mini --limit 10[/bold]

    Example: [bold]courtgraph run -b sample -p single,debate -m sim:0.7 --param debate.rounds=2[/bold]

    Example: [bold]courtgraph run -b judgebench:pairs.jsonl -p single --judge recorded:outputs/judge.jsonl[/bold]
    """
    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles

    cache_path = cache_choice(no_cache, cache)
    params = parse_params(param)
    juror_specs: list[ModelLike] = [*split_specs(jurors), *(juror or [])]
    debater_specs: list[ModelLike] = [*split_specs(debaters)]
    roles = Roles(model=model, judge=judge, jurors=juror_specs, debaters=debater_specs)
    orders: list[str] | None = None if swap is None else (["AB", "BA"] if swap else ["AB"])
    if resume:
        out, old = _resumed_settings(out)
        was = old.get("bench") or {}
        if bench is None and not was.get("spec"):
            raise InputError("the run's benchmark was given in Python: give --bench", field="bench")
        bench, field_map, label_map = bench or was["spec"], field_map or was.get("field_map"), \
            label_map or was.get("label_map")
        if protocols is None:
            specs = [p.get("spec") for p in (old.get("protocols") or {}).values()]
            if not all(specs):
                raise InputError("the run has protocols built in Python: give --protocols", field="protocols")
            protocols = ",".join(specs)
            params = params or {name: p["params"] for name, p in (old.get("protocols") or {}).items()
                                if p.get("params")}
        if not (model or judge or juror_specs or debaters):
            roles = Roles(**old.get("roles", {}))
        orders = orders or old.get("orders")
        limit = limit if limit is not None else old.get("limit")
        categories = categories or ",".join(old.get("categories") or [])
        seed = seed if seed is not None else old.get("seed")
    if not bench:
        raise InputError("give --bench (sample, judgebench[:PATH], llmbar[:PATH] or jsonl:PATH)", field="bench")
    if not protocols:
        raise InputError("give --protocols, e.g. single,jury", field="protocols")
    try:
        results = run(bench, _split_list(protocols), roles=roles, out=out, orders=orders or ["AB", "BA"],
                      concurrency=concurrency, limit=limit, categories=_split_list(categories) or None,
                      seed=seed or 0, cache=cache_path, watch=watch, params=params,
                      field_map=field_map, label_map=label_map, resume=resume,
                      command=["courtgraph", *sys.argv[1:]])
    except KeyboardInterrupt:
        raise typer.Exit(130) from None  # the runner has said how to resume
    results.report(console)
    console.print(f"run saved in {results.run_dir}  (courtgraph report {results.run_dir})", highlight=False)
    if results.failed:
        first = results.failed[0]
        err_console.print(f"{len(results.failed)} record(s) failed; first: {first.case_id} / {first.protocol}: "
                          f"{first.error or first.verdict.error}", highlight=False)
        raise typer.Exit(1)


@app.command("demo")
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

    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles
    from courtgraph.view import print_record

    run_dir = out or Path(tempfile.mkdtemp(prefix="courtgraph-demo-"))
    roles = Roles(model=DEMO_AGENT, judge=DEMO_JUDGE, jurors=list(DEMO_JURORS))
    results = run("sample", list(DEMO_PROTOCOLS), roles=roles, out=run_dir, seed=seed, cache=None,
                  command=["courtgraph", *sys.argv[1:]])
    console.rule("[bold yellow]courtgraph demo: simulated agents, not real models")
    results.report(console)
    by_case = {(r.case_id, r.protocol): r for r in results.records}
    debates = [r for r in results.records if r.protocol == "debate"]
    # Show a debate that changed the single judge's answer, if there is one: that is the interesting case.
    shown = next((r for r in debates if r.correct and not by_case[(r.case_id, "single")].correct),
                 debates[0] if debates else None)
    if shown is not None:
        console.rule(f"one debate transcript (simulated): case {shown.case_id}")
        print_record(shown, results.cases[shown.case_id], console)
    console.print(f"run saved in {results.run_dir}  (courtgraph report {results.run_dir})", highlight=False)


@app.command()
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
) -> None:
    """Compare a run's protocols: accuracy with 95% intervals, paired McNemar tests against the baseline,
    consistency, invalid rate, calls, tokens and cost per case.

    Example: [bold]courtgraph report runs/first --markdown report.md --plot report.png[/bold]
    """
    from courtgraph.evals.report import report_run

    report_run(run, baseline=baseline, as_json=as_json, markdown=markdown, plot_to=plot, console=console)


@app.command()
def show(
    run: Annotated[Path, typer.Argument(help="A run directory, as written by courtgraph run --out DIR.")],
    case: Annotated[str | None, typer.Option("--case", "-c", metavar="ID", help="Show this case's transcript "
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
    limit: Annotated[int, typer.Option("--limit", help="Cases per page (0: all).", min=0)] = 50,
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
) -> None:
    """Read a run's transcripts: the table of cases with each protocol's verdict, or one case turn by turn.

    Examples: [bold]courtgraph show runs/first --where "debate!=single"[/bold] ·
    [bold]courtgraph show runs/first --case math-7 --protocol debate[/bold] ·
    [bold]courtgraph show runs/first --case math-7 --compare single,debate[/bold] ·
    [bold]courtgraph show runs/first --case math-7 --format markdown -o math-7.md[/bold]
    """
    from courtgraph.view.show import ShowRequest, show_run
    from courtgraph.view.table import Comparison, Filters

    filters = Filters(where=tuple(Comparison.parse(w) for w in where or []), wrong=tuple(wrong or []),
                      categories=tuple(category or []), inconsistent=inconsistent, invalid=invalid,
                      protocols=(protocol,) if protocol else ())
    show_run(ShowRequest(run=run, case=case, protocol=protocol, order=order,
                         compare=[p.strip() for p in compare.split(",") if p.strip()] if compare else [],
                         full=full, format=fmt, output=output, plain=plain, pager=pager, filters=filters,
                         sort=sort, limit=limit, offset=(page - 1) * limit if page else offset))


@app.command()
def browse(
    run: Annotated[Path, typer.Argument(help="A run directory, as written by courtgraph run --out DIR.")],
    filters: Annotated[str, typer.Option("--filter", metavar="WORDS", help="Start with this filter, e.g. "
                                         "\"debate!=single wrong:jury cat:math inconsistent\".")] = "",
) -> None:
    """Browse a run's transcripts interactively: cases on the left, the transcript on the right.

    Keys: [bold]p[/bold] next protocol · [bold]o[/bold] order (both/AB/BA) · [bold]/[/bold] search the text
    ([bold]n[/bold] next match) · [bold]f[/bold] filter the cases · [bold]q[/bold] quit.
    Needs the optional extra: pip install 'courtgraph\\[browse]'.

    Example: [bold]courtgraph browse runs/first --filter "debate!=single"[/bold]
    """
    from courtgraph.view.browse import browse as run_browse

    run_browse(run, filters)


@app.command()
def stub(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    latency: Annotated[float, typer.Option("--latency", help="Seconds added to every answer.")] = 0.0,
    api_key: Annotated[str | None, typer.Option("--api-key", help="Answer 401 to any other key.")] = None,
) -> None:
    """Serve a loopback OpenAI- and Anthropic-compatible stub server until Ctrl-C: no LLM, no network.

    Every judge prompt gets a verdict for A (structured, or ending in [[A]]) with usage numbers, so
    specs pointed at it exercise the real SDK clients end to end.

    Example: [bold]courtgraph stub --port 8765 --latency 0.05[/bold], then in another shell
    [bold]courtgraph judge -m openai:stub@http://127.0.0.1:8765/v1 -q "2+2?" --a 4 --b 5[/bold]
    """
    from courtgraph.testing.stub import serve

    try:
        serve(port, latency, api_key)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", field="port") from None


protocols_app = typer.Typer(no_args_is_help=False, rich_markup_mode="rich")
app.add_typer(protocols_app, name="protocols")


@protocols_app.callback(invoke_without_command=True)
def protocols_list(ctx: typer.Context) -> None:
    """List the protocols, what each does and its parameters; [bold]show NAME[/bold] draws one.

    Example: [bold]courtgraph protocols[/bold]

    Example: [bold]courtgraph protocols show debate --format ascii[/bold]
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from courtgraph.graphs.registry import PROTOCOLS

    table = Table(title="courtgraph protocols", show_lines=True)
    for column in ("protocol", "what it does", "parameters (default)"):
        table.add_column(column, overflow="fold")
    for info in PROTOCOLS.values():
        params = "\n".join(f"[bold]{escape(k)}[/]: {escape(v)}" for k, v in info.params.items())
        table.add_row(info.name, escape(info.summary), params)
    console.print(table)


@protocols_app.command("show")
def protocols_show(
    name: Annotated[str, typer.Argument(help="A protocol name (see courtgraph protocols) or FILE.py:FUNCTION.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid (paste into any mermaid viewer) or ascii.")]
    = "mermaid",
) -> None:
    """Print a protocol's graph: its nodes and edges, as mermaid or ASCII. Builds it with default parameters
    and a placeholder model; nothing is called.

    Example: [bold]courtgraph protocols show courtroom --format ascii[/bold]
    """
    from courtgraph.graphs.compose import draw
    from courtgraph.graphs.registry import Roles, build_protocol

    if fmt not in ("mermaid", "ascii"):
        raise InputError(f"unknown format {fmt!r}: use mermaid or ascii", field="format")
    graph = build_protocol(name, Roles(model="scripted:placeholder"))
    print(draw(graph, fmt))


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line and exit code 2; anything else one line and exit 1."""
    try:
        app(args=argv)
    except (InputError, ConfigError) as exc:
        if _state["debug"]:
            raise
        # Escaped (a message may hold "[plot]") and never wrapped: an error is one line.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}  (run with --debug for the "
                          "traceback)", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
