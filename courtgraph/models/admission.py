"""A run's concurrency: how many model calls it has in flight, and which trials may start.

``--concurrency C`` is the number of calls in flight a user gets. A run could bound *trials* instead,
but a trial is not a call: a jury of five makes five calls at once, a debate one at a time. Bounding
trials at C while each endpoint allows C calls would queue the calls of C juries behind each other,
and by Little's law every trial would then take as long as five (a jury of 5 took 4.9x a single
judge's latency). So the run admits a trial only when its calls fit beside the calls already in
flight: a jury's jurors run together, and the trials of one case never starve each other.

How wide a trial is (its peak number of calls at once) is learned per protocol: the first trial of a
protocol starts alone, and once it has made its first call and a short settling time has passed
(all the calls of one fan-out start in the same step), its peak is the protocol's width; later
trials raise it if they go wider. A protocol that makes no call (simulated, recorded agents) is one
wide. Trials start in the order they were asked for (first come, first served). At least one trial
always runs, whatever its width.

Each endpoint's bound (:mod:`courtgraph.models.limits`) defaults to the concurrency of the run that
uses it, so the two bounds tell one story; ``$COURTGRAPH_MAX_CONCURRENCY`` or
``max_concurrency=`` set it apart (e.g. a provider account that allows fewer).

The state lives in :class:`Admission` objects (one per run, on its event loop) reached through
context variables, never in module globals: calls made outside any run are not counted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: Seconds a protocol's first trial runs after its first call before its width is taken as known.
SETTLE_S = 0.02


@dataclass
class TrialLoad:
    """One admitted trial: its calls now, its peak, and the width reserved for it when it started."""

    key: str
    reserved: int = 1
    demand: int = 0
    peak: int = 0
    probe: bool = False

    @property
    def load(self) -> int:
        return max(self.reserved, self.peak, self.demand)


class Admission:
    """Starts a run's trials while their calls fit under ``concurrency`` (see the module docstring)."""

    def __init__(self, concurrency: int, settle_s: float = SETTLE_S) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self.settle_s = settle_s
        self.widths: dict[str, int] = {}  # learned peak calls at once, per protocol
        self.running: list[TrialLoad] = []
        self.in_flight = 0  # calls of this run now (waiting for an endpoint slot included)
        self.peak_in_flight = 0
        self._waiters: deque[tuple[str, asyncio.Future[None]]] = deque()
        self._started: dict[int, TrialLoad] = {}  # granted waiters' trials, until they wake

    def __repr__(self) -> str:
        return (f"Admission(concurrency={self.concurrency}, trials={len(self.running)}, in_flight={self.in_flight}, "
                f"widths={self.widths})")

    @asynccontextmanager
    async def trial(self, key: str) -> AsyncIterator[TrialLoad]:
        """Wait until a trial of protocol ``key`` fits, then hold its place until it ends."""
        load = await self._admit(key)
        token = _current_trial.set(load)
        try:
            yield load
        finally:
            _current_trial.reset(token)
            self._finish(load)

    # -- admission ---------------------------------------------------------------------------------

    def _fits(self, key: str) -> bool:
        if not self.running:
            return True
        width = self.widths.get(key)
        if width is None:  # unknown: one trial finds out, the others wait for it
            return not any(t.key == key for t in self.running)
        return sum(t.load for t in self.running) + width <= self.concurrency

    def _start(self, key: str) -> TrialLoad:
        width = self.widths.get(key)
        load = TrialLoad(key, reserved=width or 1, probe=width is None)
        self.running.append(load)
        return load

    async def _admit(self, key: str) -> TrialLoad:
        if not self._waiters and self._fits(key):
            return self._start(key)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((key, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if (key, waiter) in self._waiters:
                self._waiters.remove((key, waiter))
                self._pump()
            granted = self._started.pop(id(waiter), None)
            if granted is not None:  # started, then cancelled before it woke: give its place back
                self._finish(granted)
            raise
        return self._started.pop(id(waiter))

    def _pump(self) -> None:
        """Start waiting trials, first come first served, while the head one fits."""
        while self._waiters:
            key, waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            if not self._fits(key):
                return
            self._waiters.popleft()
            self._started[id(waiter)] = self._start(key)
            waiter.set_result(None)

    def _finish(self, load: TrialLoad) -> None:
        self.running.remove(load)
        if load.probe and load.key not in self.widths:
            self.widths[load.key] = max(1, load.peak)
        self._pump()

    def _learn(self, load: TrialLoad) -> None:
        """The probe has settled: its peak so far is the protocol's width."""
        if load.key not in self.widths:
            self.widths[load.key] = max(1, load.peak)
            self._pump()

    # -- calls -------------------------------------------------------------------------------------

    def call_started(self, load: TrialLoad | None) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if load is None:
            return
        load.demand += 1
        if load.demand > load.peak:
            load.peak = load.demand
            known = self.widths.get(load.key)
            if known is not None and load.peak > known:
                self.widths[load.key] = load.peak
            elif known is None and load.probe and load.peak == 1:
                asyncio.get_running_loop().call_later(self.settle_s, self._learn, load)

    def stalled(self, blocked: int) -> bool:
        """Whether nothing can move until one of ``blocked`` calls returns: they are every call in flight,
        and every admitted trial is inside one (batch mode sends its queued batches then)."""
        return self.in_flight == blocked > 0 and all(t.demand > 0 for t in self.running)

    def call_finished(self, load: TrialLoad | None) -> None:
        self.in_flight -= 1
        if load is not None:
            load.demand -= 1
            self._pump()


_current_admission: ContextVar[Admission | None] = ContextVar("courtgraph_admission", default=None)
_current_trial: ContextVar[TrialLoad | None] = ContextVar("courtgraph_trial_load", default=None)


def current_admission() -> Admission | None:
    """The admission of the run this code runs in, if any."""
    return _current_admission.get()


@contextmanager
def use_admission(admission: Admission | None) -> Iterator[None]:
    """Make ``admission`` the current run's (its calls are counted, its endpoints follow its bound)."""
    token = _current_admission.set(admission)
    try:
        yield
    finally:
        _current_admission.reset(token)


@contextmanager
def counted_call() -> Iterator[None]:
    """Count one model call against the current run and trial (a no-op outside a run)."""
    admission = _current_admission.get()
    if admission is None:
        yield
        return
    load = _current_trial.get()
    admission.call_started(load)
    try:
        yield
    finally:
        admission.call_finished(load)
