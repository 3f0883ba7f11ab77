"""``courtgraph stub`` (the loopback test server) and ``courtgraph protocols`` (list and draw the protocols)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from courtgraph.cli.app import console
from courtgraph.errors import InputError


def stub(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    latency: Annotated[float, typer.Option("--latency", help="Seconds added to every answer.")] = 0.0,
    api_key: Annotated[str | None, typer.Option("--api-key", help="Answer 401 to any other key.")] = None,
    fault_rate: Annotated[float, typer.Option("--fault-rate", help="Share of requests (0 to 1) that fail with a "
                                              "fault drawn from --faults.")] = 0.0,
    faults: Annotated[str, typer.Option("--faults", help="Fault kinds to draw from, comma-separated: 429, 500, "
                                        "503, 401, stall, drop, malformed_json, garbage, truncated.")]
    = "429,500,503,stall,drop,malformed_json,garbage",
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the fault draws (same seed, same faults "
                                             "for the same requests in the same order).")] = None,
    batch_delay: Annotated[float, typer.Option("--batch-delay", help="Seconds from a batch's creation to its end "
                                               "(OpenAI and Anthropic batch APIs).")] = 0.2,
    prefix_cache: Annotated[bool, typer.Option("--prefix-cache", help="Report cached input tokens as a provider's "
                                               "prompt cache would (OpenAI's automatic prefix cache, Anthropic's "
                                               "cache_control breakpoints).")] = False,
    batch_fault: Annotated[list[str] | None, typer.Option(
        "--batch-fault", metavar="KIND[:KEY=VALUE,...]",
        help="What the next batch created does; repeat for the ones after: expire, partial, fail, http or lose, "
             "e.g. lose:hold=3600 (a create accepted and never answered: the window --resume recovers) or "
             "expire:done=2.")] = None,
) -> None:
    """Serve a loopback OpenAI- and Anthropic-compatible stub server until Ctrl-C: no LLM, no network.

    Every judge prompt gets a verdict for A (structured, or ending in [[A]]) with usage numbers, so
    specs pointed at it exercise the real SDK clients end to end. With --fault-rate it misbehaves like
    a provider under load: rehearse a run before paying for one.

    Example: [bold]courtgraph stub --fault-rate 0.2 --faults 429,500,503,stall,drop,malformed_json,garbage
    --seed 1[/bold]

    Example: [bold]courtgraph stub --port 8765 --latency 0.05[/bold], then in another shell
    [bold]courtgraph judge -m openai:stub@http://127.0.0.1:8765/v1 -q "2+2?" --a 4 --b 5[/bold]
    """
    from courtgraph.testing.batch_wire import parse_batch_fault
    from courtgraph.testing.serve import serve
    from courtgraph.testing.stub import parse_faults

    if not 0.0 <= fault_rate <= 1.0:
        raise InputError(f"must be between 0 and 1, got {fault_rate:g}", field="fault-rate")
    try:
        kinds = parse_faults(faults)
    except ValueError as exc:
        raise InputError(str(exc), field="faults") from None
    try:
        batch_faults = [parse_batch_fault(spec) for spec in batch_fault or []]
    except ValueError as exc:
        raise InputError(str(exc), field="batch-fault") from None
    if batch_delay < 0:
        raise InputError(f"must be at least 0, got {batch_delay:g}", field="batch-delay")
    if not 1 <= port <= 65535 and port != 0:
        raise InputError(f"must be 0 (any free port) or 1 to 65535, got {port}", field="port")
    try:
        serve(port, latency, api_key, fault_rate=fault_rate, faults=kinds, seed=seed, batch_delay=batch_delay,
              prefix_cache=prefix_cache, batch_faults=batch_faults)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", field="port") from None


protocols_app = typer.Typer(no_args_is_help=False, rich_markup_mode="rich")


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
        params = "\n".join(f"[bold]{escape(p.name)}[/]: {escape(p.describe())}" for p in info.parameters().values())
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
