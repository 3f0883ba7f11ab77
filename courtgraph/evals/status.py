"""Plain progress for unattended runs: a status line every few seconds or records, and the figures
every progress display shows (done/total, errors, calls, tokens, cost, rate, ETA).

Off a terminal (CI, ``nohup``, ``| tee run.log``) a progress bar draws nothing, and a run that
printed nothing for minutes looks hung. :class:`StatusLines` writes one self-contained line at a
time, flushed, so a file being written shows how far the run is while it runs.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from typing import IO

from courtgraph.evals.store import record_failed
from courtgraph.models.batching import BatchMode
from courtgraph.models.faults import trouble_text
from courtgraph.schema import Record, Usage


def duration(seconds: float | None) -> str:
    """``1h02m``, ``3m05s`` or ``12s``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


@dataclass
class RunTally:
    """A run's running totals as records arrive; the rate and ETA count only this invocation's records
    (a resumed run's earlier records took no time now)."""

    total: int = 0
    done: int = 0
    new: int = 0
    errors: int = 0
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.monotonic)
    batches: BatchMode | None = None  # a --batch run's collector: its pending batches are shown

    def start(self, total: int, already: int) -> None:
        self.total, self.done, self.new, self.started = total, already, 0, time.monotonic()

    def add(self, record: Record) -> None:
        self.done += 1
        self.new += 1
        self.errors += record_failed(record)
        self.usage = self.usage + record.usage

    @property
    def rate(self) -> float:
        """Records per second in this invocation."""
        return self.new / max(time.monotonic() - self.started, 1e-9)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate (None before the first record)."""
        if self.new == 0:
            return None
        return max(self.total - self.done, 0) / self.rate

    def figures(self) -> str:
        """``3 errors · 120 calls · 45,000 tokens · $0.0123 · 2.1 rec/s · ETA 1m05s``."""
        u = self.usage
        cost = "cost ?" if u.cost_usd is None else f"${u.cost_usd:.4f}"
        errors = f"{self.errors} error{'s' if self.errors != 1 else ''}"
        trouble = trouble_text(u)  # retries, 429s, faults by kind (nothing when there were none)
        batches = batch_text(self.batches) if self.batches is not None else ""
        return (f"{errors} · {u.calls} calls · {u.tokens:,} tokens · {cost} · {self.rate:.1f} rec/s · "
                f"ETA {duration(self.eta_s)}" + (f" · {batches}" if batches else "")
                + (f" · {trouble}" if trouble else ""))


def batch_text(mode: BatchMode) -> str:
    """``2 batches pending (216 calls)``, and the calls queued for the next batch when there are any: a batch
    run waits for its batches (up to 24 h each), so its status says what it waits for."""
    pending, calls = len(mode.pending), sum(mode.pending.values())
    text = f"{pending} batch{'' if pending == 1 else 'es'} pending ({calls} call{'' if calls == 1 else 's'})"
    return text + (f", {mode.queued} queued" if mode.queued else "")


class StatusLines:
    """A :class:`~courtgraph.evals.progress.RunDisplay` that writes ``records 40/200 (20%) · ...`` to
    ``stream`` every ``every_s`` seconds (while the run's loop runs) and every ``every_records``
    records, and once at the start and the end."""

    def __init__(self, stream: IO[str] | None = None, *, every_s: float = 10.0, every_records: int = 0) -> None:
        self.stream = stream
        self.every_s, self.every_records = every_s, every_records
        self.tally = RunTally()
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0

    def start(self, total: int, already: int) -> None:
        self.tally.start(total, already)
        self.line("started")
        self._schedule()

    def advance(self, record: Record) -> None:
        self.tally.add(record)
        if self.every_records and self.tally.new % self.every_records == 0:
            self.line()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.line("stopped" if self.tally.done < self.tally.total else "done")

    def line(self, note: str = "") -> None:
        """Write one status line now."""
        t = self.tally
        pct = f" ({100 * t.done / t.total:.0f}%)" if t.total else ""
        text = f"records {t.done}/{t.total}{pct} · {t.figures()} · elapsed {duration(time.monotonic() - t.started)}"
        stream = self.stream or sys.stderr
        stream.write(f"[courtgraph] {text}{' · ' + note if note else ''}\n")
        stream.flush()
        self._last = time.monotonic()

    def _schedule(self) -> None:
        if self.every_s <= 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven outside a loop (a test, a custom harness): lines on records only
            return
        self._timer = loop.call_later(self.every_s, self._tick)

    def _tick(self) -> None:
        if time.monotonic() - self._last >= self.every_s * 0.5:
            self.line()
        self._schedule()
