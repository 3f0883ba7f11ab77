"""What a run shows while it runs, as callbacks the loop is given: a progress display and a trial watcher.

The loop (:mod:`courtgraph.evals.loop`) knows only the two small protocols below, so it never
imports a renderer: the CLI passes the rich transcript view (:mod:`courtgraph.view.live`) as the
watcher, a notebook or a test may pass anything that fits. The defaults here are a rich progress
bar (silent when not on a terminal) and a one-line-per-turn watcher.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column

from courtgraph.evals.status import RunTally, StatusLines
from courtgraph.graphs.state import Graph
from courtgraph.graphs.trial import run_trial
from courtgraph.models.batching import BatchMode
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
    """A progress bar with the run's running totals and ETA; silent when the console is not a terminal
    (the CLI then shows :class:`~courtgraph.evals.status.StatusLines` instead)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tally = RunTally()
        # at 80 columns the totals wrap under themselves; the count and the bar are never squeezed out
        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=16),
                             MofNCompleteColumn(table_column=Column(no_wrap=True)),
                             TextColumn("{task.fields[stats]}", table_column=Column(ratio=1, overflow="fold")),
                             TimeElapsedColumn(),
                             console=console, disable=not console.is_terminal, transient=False)
        self._task = self._bar.add_task("records", total=None, stats="")

    @property
    def done(self) -> int:
        return self.tally.done

    @property
    def errors(self) -> int:
        return self.tally.errors

    @property
    def usage(self) -> Usage:
        return self.tally.usage

    def start(self, total: int, already: int) -> None:
        self.tally.start(total, already)
        self._bar.update(self._task, total=total, completed=already, stats=self._stats())
        self._bar.start()

    def advance(self, record: Record) -> None:
        self.tally.add(record)
        self._bar.update(self._task, completed=self.tally.done, stats=self._stats())

    def stop(self) -> None:
        self._bar.stop()

    def refresh(self) -> None:
        """Redraw the totals now (a batch was submitted or ended: no record may come for hours)."""
        self._bar.update(self._task, stats=self._stats())

    def _stats(self) -> str:
        errors, _, rest = escape(self.tally.figures()).partition(" · ")
        return f"{f'[red]{errors}[/]' if self.errors else errors} · {rest}"


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


def follow_batches(display: RunDisplay, mode: BatchMode | None) -> None:
    """Show a ``--batch`` run's pending batches in ``display``'s totals (``2 batches pending (216 calls)``),
    redrawn by a progress bar whenever a batch is submitted or ends; status lines show them at each line."""
    tally = getattr(display, "tally", None)
    if mode is None or not isinstance(tally, RunTally):
        return
    tally.batches = mode
    if isinstance(display, ProgressBar):
        mode.listeners.append(display.refresh)


#: What ``--display`` takes: a bar on a terminal and status lines elsewhere, or one of them, or nothing.
DISPLAYS = ("auto", "bar", "plain", "none")


def choose_display(kind: str, console: Console, every_s: float = 10.0, every_records: int = 0) -> RunDisplay:
    """The display ``--display KIND`` names: ``auto`` is the bar on a terminal, else status lines
    every ``every_s`` seconds and ``every_records`` records (an unattended run must not be silent);
    ``none`` shows nothing."""
    if kind not in DISPLAYS:
        raise ValueError(f"unknown display {kind!r}: use {', '.join(DISPLAYS)}")
    if kind == "none":
        return NoDisplay()
    if kind == "bar" or (kind == "auto" and console.is_terminal):
        return ProgressBar(console)
    return StatusLines(console.file, every_s=every_s, every_records=every_records)
