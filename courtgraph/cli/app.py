"""The ``courtgraph`` Typer app, its consoles and the ``--debug`` switch, shared by every command module.

The app object is the CLI's one registry: :mod:`courtgraph.cli` adds the commands of each command
module to it, in the order the help lists them; it lives as long as the process.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Annotated

import typer
from rich.console import Console

from courtgraph.cli.options import ENVIRONMENT_HELP

app = typer.Typer(
    name="courtgraph",
    help="Judge with many LLM agents instead of one: debate, jury, courtroom and more, compared on benchmarks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
#: Results go to stdout; progress, live transcripts and errors to stderr (so ``--json`` output stays clean).
console = Console()
err_console = Console(stderr=True)
#: ``--debug``: errors show their traceback. Set by the root callback, read by :func:`courtgraph.cli.main`.
DEBUG: ContextVar[bool] = ContextVar("courtgraph_cli_debug", default=False)


def _print_version(value: bool) -> None:
    if value:
        import importlib.metadata

        print(f"courtgraph {importlib.metadata.version('courtgraph')}")
        raise typer.Exit()


@app.callback(epilog=ENVIRONMENT_HELP)
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
          version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    DEBUG.set(debug)
