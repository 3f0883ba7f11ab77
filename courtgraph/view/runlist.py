"""``courtgraph runs``: the list of runs, one short block per run, readable at 80 columns.

A table with a column per field folded benchmark paths and model specs with base URLs character by
character at 80 columns. Each run is a head line (run, date, status, records, cost) and, indented
under it, its benchmark (kind and file name; ``--json`` keeps the path) with its protocols, and its
models, each whole: long ones wrap between words, never inside a model spec unless it is wider than
the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from rich.console import Console, Group
from rich.padding import Padding
from rich.text import Text


def short_bench(spec: str | None) -> str:
    """``judgebench:/a/b/gpt-4o.jsonl`` → ``judgebench:gpt-4o.jsonl`` (the path is in ``--json``)."""
    if not spec:
        return "?"
    kind, sep, path = spec.partition(":")
    return f"{kind}{sep}{PurePath(path).name}" if sep and path else spec


def run_block(row: dict[str, Any]) -> Group:
    """One run: its head line, then bench and protocols, then models, indented."""
    cost = "cost ?" if row.get("cost_usd") is None else f"${row['cost_usd']:.4f}"
    head = Text.assemble((str(row["run"]), "bold"), f" · {row['date']} · {row['status']} · "
                         f"{row['records']} records · {cost}")
    bench = Text(f"bench {short_bench(row.get('bench'))} · protocols {', '.join(row['protocols']) or '?'}")
    models = Text("models " + ", ".join(row["models"]) if row["models"] else "models ?")
    return Group(head, *(Padding(line, (0, 0, 0, 2), expand=False) for line in (bench, models)))


def print_runs(rows: Sequence[dict[str, Any]], console: Console) -> None:
    """The list, newest last, as ``courtgraph runs`` prints it."""
    for row in rows:
        console.print(run_block(row), overflow="fold")
