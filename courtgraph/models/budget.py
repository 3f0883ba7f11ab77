"""A cost limit that holds every call to it: no call starts that could take spending past the limit.

Each billed call first *reserves* its worst case (the prompt's estimated tokens in, ``max_tokens`` out,
at the model's price) and settles to what it really cost when it returns, so concurrent calls cannot
overshoot together. A call whose reservation does not fit is refused with :class:`BudgetExceeded`
before any request is sent. A model of unknown price is refused too, unless ``allow_unknown`` (its
calls then count as free, and the limit says so). Cache hits and free models (simulated, scripted,
recorded) cost nothing and are never refused. In batch mode a call that goes through a provider's batch
API is held at the batch price (:func:`~courtgraph.models.batching.billed_share`, 50% for OpenAI and
Anthropic), the price it is billed and settled at: holding the sync price would refuse calls the limit can pay.

The budget of the current run is a context variable, like the response cache; so is the list of
refusals seen in one scope, which lets the harness tell a record cut short by the budget (not
stored: a resume with a higher limit judges it) from a record that failed on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from courtgraph.models.base import ModelError
from courtgraph.models.batching import billed_share


class BudgetExceeded(ModelError):
    """A call refused because it could take spending past the cost limit (nothing was sent)."""


class Budget:
    """A cost limit in USD; ``spent`` starts at what earlier invocations of the run already cost."""

    def __init__(self, limit_usd: float, *, allow_unknown: bool = False, spent: float = 0.0) -> None:
        if limit_usd < 0:
            raise ValueError(f"a cost limit must be at least 0, not {limit_usd}")
        self.limit = limit_usd
        self.allow_unknown = allow_unknown
        self.spent = spent
        self.reserved = 0.0
        self.refusals = 0
        self.reason: str | None = None  # why the first call was refused
        self.unknown_calls = 0
        self._lock = threading.Lock()

    def reserve(self, spec: str, worst_case: float | None) -> float:
        """Hold ``worst_case`` USD (at the synchronous price) for one call of model ``spec``, at the share of it the
        call will be billed (the batch price in batch mode), or raise :class:`BudgetExceeded`. Returns the amount
        held."""
        if worst_case is not None:
            worst_case *= billed_share(spec.partition(":")[0])
        with self._lock:
            if worst_case is None:
                if not self.allow_unknown:
                    raise self._refuse(f"{spec}: its price is unknown, so a cost limit cannot hold it; add it "
                                       "to $COURTGRAPH_PRICES or give --allow-unknown-cost")
                self.unknown_calls += 1
                return 0.0
            if self.spent + self.reserved + worst_case > self.limit:
                raise self._refuse(f"cost limit ${self.limit:g} reached: ${self.spent:.4f} spent, "
                                   f"${self.reserved:.4f} held by calls in flight, the next call could cost "
                                   f"${worst_case:.4f}")
            self.reserved += worst_case
            return worst_case

    def settle(self, held: float, cost: float | None) -> None:
        """Release a reservation and count what the call really cost (None: unknown, counted as 0)."""
        with self._lock:
            self.reserved = max(0.0, self.reserved - held)
            self.spent += cost or 0.0

    @property
    def stopped(self) -> bool:
        """Whether any call has been refused."""
        return self.refusals > 0

    def _refuse(self, reason: str) -> BudgetExceeded:
        self.refusals += 1
        self.reason = self.reason or reason
        seen = _refused_here.get()
        if seen is not None:
            seen.append(1)
        return BudgetExceeded(reason)


_current: ContextVar[Budget | None] = ContextVar("courtgraph_budget", default=None)
_refused_here: ContextVar[list[int] | None] = ContextVar("courtgraph_budget_refusals", default=None)


def current_budget() -> Budget | None:
    return _current.get()


@contextmanager
def use_budget(budget: Budget | None) -> Iterator[Budget | None]:
    """Within the block, every billed call is held to ``budget`` (None: no limit)."""
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


@contextmanager
def watch_refusals() -> Iterator[list[int]]:
    """A list that grows by one for each call refused within the block (tasks started in it included)."""
    seen: list[int] = []
    token = _refused_here.set(seen)
    try:
        yield seen
    finally:
        _refused_here.reset(token)
