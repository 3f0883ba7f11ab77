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
