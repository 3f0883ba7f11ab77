"""The ``courtgraph`` Typer app, its consoles and the ``--debug`` switch, shared by every command module.

The app object is the CLI's one registry: :mod:`courtgraph.cli` adds the commands of each command
module to it, in the order the help lists them; it lives as long as the process.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Annotated, Any, Final

import typer
from rich.console import Console

from courtgraph.cli.options import ENVIRONMENT_HELP

#: How the app is made; :func:`courtgraph.cli.main` makes a one-command app the same way (see there).
APP_SETTINGS: Final[Mapping[str, Any]] = MappingProxyType({
    "name": "courtgraph",
    "help": "Judge with many LLM agents instead of one: debate, jury, courtroom and more, compared on benchmarks.",
    "no_args_is_help": True,
    "rich_markup_mode": "rich",
    "pretty_exceptions_enable": False,
})
app = typer.Typer(**APP_SETTINGS)
#: Results go to stdout; progress, live transcripts and errors to stderr (so ``--json`` output stays clean).
console = Console()
err_console = Console(stderr=True)
#: ``--debug``: errors show their traceback. Set by the root callback, read by :func:`courtgraph.cli.main`.
DEBUG: ContextVar[bool] = ContextVar("courtgraph_cli_debug", default=False)
#: True while the process's start-up runs with the cyclic garbage collector off (:func:`start_up`).
STARTING: ContextVar[bool] = ContextVar("courtgraph_cli_starting", default=False)


def start_up() -> None:
    """The process's own start-up begins: the cyclic garbage collector is off until :func:`started`.

    Only for the process ``courtgraph`` runs in (:func:`courtgraph.cli.main` without arguments), never a
    caller's. Start-up (LangGraph, langchain-core, the SDK, pydantic's classes) builds some 150,000
    objects that live as long as the process, and every full collection on the way walks all of them again:
    0.15 to 0.3 s of CPU before the first request. The pattern (off early, ``gc.freeze`` once the long-lived
    objects are built, back on) is the one Python's ``gc.freeze`` documentation gives."""
    gc.disable()
    STARTING.set(True)


def started() -> None:
    """Start-up is over (a command begins its real work): what it built moves to the permanent
    generation, out of every later collection, and the collector is back on. A no-op unless
    :func:`start_up` ran in this context, so the CLI called in-process (tests, scripts) leaves the
    caller's collector alone."""
    if STARTING.get():
        STARTING.set(False)
        gc.freeze()
        gc.enable()


def ending() -> None:
    """The process is about to exit: nothing it built needs collecting any more. Without this, the
    interpreter's shutdown walks every object again in its final collections: about 0.45 s of CPU once
    LangGraph and the SDK are loaded. Objects freed by reference counting (files, SQLite connections)
    are still closed at exit, and ``atexit`` handlers (logging's flush) still run."""
    gc.freeze()


#: Commands that end start-up themselves (:func:`courtgraph.cli.run._run`, once LangGraph and the harness are
#: imported; ``judge`` once its graph is built): LangGraph's import is start-up too.
LATE_START: Final = frozenset({"run", "demo", "judge"})


def _print_version(value: bool) -> None:
    if value:
        import importlib.metadata

        print(f"courtgraph {importlib.metadata.version('courtgraph')}")
        raise typer.Exit()


@app.callback(epilog=ENVIRONMENT_HELP)
def _root(ctx: typer.Context,
          debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
          version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    DEBUG.set(debug)
    if ctx.invoked_subcommand not in LATE_START:
        started()

