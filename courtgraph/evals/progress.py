"""What a run shows while it runs, as callbacks the loop is given: a progress display and a trial watcher.

The loop (:mod:`courtgraph.evals.loop`) knows only the two small protocols below, so it never
imports a renderer: the CLI passes the rich transcript view (:mod:`courtgraph.view.live`) as the
watcher, a notebook or a test may pass anything that fits. The defaults here are a rich progress
bar (silent when not on a terminal) and a one-line-per-turn watcher.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from courtgraph.evals.store import record_failed
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import run_trial
from courtgraph.schema import Record, Trial, TrialResult, Turn, Usage


class RunDisplay(Protocol):
    """Told how far a run is: ``start`` once, ``advance`` per stored record, ``stop`` at the end (always)."""

    def start(self, total: int, already: int) -> None: ...

    def advance(self, record: Record) -> None: ...

    def stop(self) -> None: ...


class WatchTrial(Protocol):
    """Judges one trial exactly as :func:`~courtgraph.graphs.trial.run_trial` does (never raises),
    showing its turns as they are made. Both orders of the watched case run at once, so what it
    shows should say which order each turn belongs to."""

    def __call__(self, graph: Graph, trial: Trial) -> Awaitable[TrialResult]: ...


class NoDisplay:
    """Shows nothing (``progress=False``)."""

    def start(self, total: int, already: int) -> None:
        pass

    def advance(self, record: Record) -> None:
        pass

    def stop(self) -> None:
        pass


class ProgressBar:
    """A progress bar with the run's running totals; silent when the console is not a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.done, self.errors, self.new = 0, 0, 0
        self.usage = Usage()
        self.started = time.monotonic()
        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                             console=console, disable=not console.is_terminal, transient=False)
        self._task = self._bar.add_task("records", total=None, stats="")

    def start(self, total: int, already: int) -> None:
        self.done = already
        self.started = time.monotonic()
        self._bar.update(self._task, total=total, completed=already, stats=self._stats())
        self._bar.start()

    def advance(self, record: Record) -> None:
        self.done += 1
        self.new += 1
        self.errors += record_failed(record)
        self.usage = self.usage + record.usage
        self._bar.update(self._task, completed=self.done, stats=self._stats())

    def stop(self) -> None:
        self._bar.stop()

    def _stats(self) -> str:
        u = self.usage
        cost = "cost ?" if u.cost_usd is None else f"${u.cost_usd:.4f}"
        rate = self.new / max(time.monotonic() - self.started, 1e-9)
        errors = f"[red]{self.errors} errors[/]" if self.errors else "0 errors"
        return f"{errors} · {u.calls} calls · {u.tokens:,} tokens · {cost} · {rate:.1f} rec/s"


class PlainWatcher:
    """The default watcher: one line per turn, ``[AB] agent (role): text``, each turn once (a subgraph's
    turns come up again in its parent's update), then the trial's verdict."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def __call__(self, graph: Graph, trial: Trial) -> TrialResult:
        seen: set[tuple[str, str, int | None, str | None, str]] = set()

        def show(turns: list[Turn]) -> None:
            for turn in turns:
                if not isinstance(turn, Turn):
                    continue
                key = (turn.agent, turn.role, turn.round, turn.phase, turn.content)
                if key not in seen:
                    seen.add(key)
                    self._line(f"[{trial.order}] {turn.agent} ({turn.role}): {turn.content}")

        result = await run_trial(graph, trial, on_turns=show)
        verdict = result.verdict
        self._line(f"[{trial.order}] verdict: {verdict.winner or verdict.score or verdict.status}"
                   + (f" ({verdict.error})" if verdict.error else ""))
        return result

    def _line(self, text: str) -> None:
        self.console.print(escape(text), highlight=False, soft_wrap=True)
