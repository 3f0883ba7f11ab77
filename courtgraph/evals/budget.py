"""Stopping a run early on purpose: a cost limit, and an error budget (``--fail-on-error``).

A broken custom protocol or a wrong key should not become a run of 100% error records paid call by
call; a budget should not be learned from the invoice. Both stops keep every record finished before
them, and a ``--resume`` continues: with a higher ``--cost-limit`` the run judges what the limit left.

* :class:`RunLimits` holds what the caller asked: ``cost_limit`` (USD, the whole run's, earlier
  invocations included), ``allow_unknown_cost`` and ``max_errors`` (0: stop at the first failed record).
* :class:`RunGuard` applies them while the harness runs: it owns the :class:`~courtgraph.models.budget.Budget`,
  tells whether a record was cut short by the budget (such a record is not stored: it was not judged),
  and raises :class:`RunStopped` with the first real exception and its traceback when errors exceed
  the error budget.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from courtgraph.errors import InputError
from courtgraph.evals.store import record_failed
from courtgraph.graphs.trial import TRIAL_EXCEPTIONS
from courtgraph.models.budget import Budget, use_budget, watch_refusals
from courtgraph.schema import Record


class RunStopped(Exception):
    """The run stopped because failed records exceeded ``max_errors``; ``details`` holds the first
    failure's traceback when it came from an exception (else its recorded message)."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class RunLimits:
    cost_limit: float | None = None
    allow_unknown_cost: bool = False
    max_errors: int | None = None  # None: never stop for errors; 0: stop at the first

    def __post_init__(self) -> None:
        if self.cost_limit is not None and self.cost_limit < 0:
            raise InputError(f"cost limit must be at least 0, not {self.cost_limit}", field="cost-limit")
        if self.max_errors is not None and self.max_errors < 0:
            raise InputError(f"max errors must be at least 0, not {self.max_errors}", field="max-errors")

    def to_json(self) -> dict[str, Any]:
        return {"cost_limit": self.cost_limit, "allow_unknown_cost": self.allow_unknown_cost,
                "max_errors": self.max_errors}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RunLimits:
        """The limits a manifest stored (none when it stored none)."""
        was = data or {}
        return cls(cost_limit=was.get("cost_limit"), allow_unknown_cost=bool(was.get("allow_unknown_cost")),
                   max_errors=was.get("max_errors"))


@dataclass
class RunGuard:
    """The limits applied to one invocation of a run."""

    limits: RunLimits
    already_spent: float = 0.0
    errors: int = 0
    cut_short: int = 0  # records left unjudged because the budget refused one of their calls
    budget: Budget | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.limits.cost_limit is not None:
            self.budget = Budget(self.limits.cost_limit, allow_unknown=self.limits.allow_unknown_cost,
                                 spent=self.already_spent)

    @classmethod
    def for_run(cls, limits: RunLimits | None, stored: Iterable[Record]) -> RunGuard:
        """The guard of an invocation: the run's records so far count against its cost limit."""
        spent = sum(r.usage.cost_usd or 0.0 for r in stored)
        return cls(limits or RunLimits(), already_spent=spent)

    @property
    def stopped(self) -> bool:
        """Whether the cost limit has refused a call: no new record should start."""
        return self.budget is not None and self.budget.stopped

    @contextmanager
    def active(self) -> Iterator[None]:
        """The whole run: every billed call is held to the cost limit."""
        with use_budget(self.budget):
            yield

    @contextmanager
    def record(self) -> Iterator[tuple[list[int], list[BaseException]]]:
        """One record's scope: the budget's refusals and the trials' exceptions within it."""
        raised: list[BaseException] = []
        with ExitStack() as stack:
            refused = stack.enter_context(watch_refusals())
            token = TRIAL_EXCEPTIONS.set(raised)
            stack.callback(TRIAL_EXCEPTIONS.reset, token)
            yield refused, raised

    def check(self, record: Record, raised: list[BaseException]) -> None:
        """Count a stored record's failure; raise :class:`RunStopped` past the error budget."""
        if not record_failed(record):
            return
        self.errors += 1
        limit = self.limits.max_errors
        if limit is None or self.errors <= limit:
            return
        first = raised[0] if raised else None
        details = "".join(traceback.format_exception(first)) if first is not None else \
            f"{record.error or record.verdict.error}"
        what = "the first failed record" if limit == 0 else f"{self.errors} failed records (more than {limit})"
        raise RunStopped(f"stopped at {what}: case {record.case_id} / {record.protocol}: "
                         f"{record.error or record.verdict.error}", details)

    def summary(self) -> str | None:
        """Why the run stopped early, for the manifest and the console (None: it did not)."""
        if not self.stopped or self.budget is None:
            return None
        return (f"{self.budget.reason} (${self.budget.spent:.4f} spent in all); {self.cut_short} record(s) in "
                "flight were not stored")
