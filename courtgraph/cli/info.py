"""``courtgraph info`` (what a run ran: :mod:`courtgraph.evals.provenance`) and ``courtgraph runs`` (the runs
in a folder, one line each)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from courtgraph.cli.app import console
from courtgraph.errors import InputError


def info(
    run: Annotated[Path, typer.Argument(help="A run directory, as written by courtgraph run --out DIR.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Say what a run ran: each protocol's models, base URLs, settings and parameters; the benchmark.

    Per protocol the model of each role with its base URL and settings, and the protocol's parameters;
    the benchmark with its file's hash and the case selection; prompt template hashes, package
    versions, date, status and command.

    Example: [bold]courtgraph info runs/first --json[/bold]
    """
    from courtgraph.evals.provenance import hanging, print_provenance, read_provenance

    if not (run / "manifest.json").is_file():
        raise InputError("not a run directory (no manifest.json)", path=run)  # a bare database says nothing
    prov = read_provenance(run)
    if as_json:
        sys.stdout.write(json.dumps(prov.to_json(), indent=2) + "\n")
        return
    print_provenance(prov, console, style="")  # wrapped with a hanging indent: readable in an 80-column terminal
    if prov.command:
        console.print(Text("\n".join(hanging([f"command: {' '.join(prov.command)}"], console.width))),
                      overflow="fold")
