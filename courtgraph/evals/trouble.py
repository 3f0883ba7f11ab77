"""The report's "Trouble" section: what the providers put the run through, per protocol.

Retries and rate limits are paid for (in time, and in money when a retried call was billed), and a
fault rate says how far a run's numbers can be trusted to repeat. This section shows, per protocol:
calls, retries, 429s, failed attempts by kind (``Usage.faults``, on calls answered in the end and on
calls that failed for good), failed records, and the calls that failed for good by kind (from their
error messages). It is
empty, and not printed, for a run without any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from courtgraph.evals.store import record_failed
from courtgraph.models.faults import count_errors, faults_text
from courtgraph.schema import Record, Usage


@dataclass
class Trouble:
    """One protocol's trouble (see the module docstring)."""

    protocol: str
    records: int = 0
    failed_records: int = 0
    usage: Usage = field(default_factory=Usage)
    failed_calls: dict[str, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.failed_records or self.usage.retries or self.usage.rate_limited or self.usage.faults)

    def to_json(self) -> dict[str, Any]:
        return {"records": self.records, "failed_records": self.failed_records, "calls": self.usage.calls,
                "retries": self.usage.retries, "rate_limited": self.usage.rate_limited,
                "faults": dict(self.usage.faults), "failed_calls": dict(self.failed_calls)}


def _errors(record: Record) -> list[str | None]:
    """Each failed call's message once: trial errors, else their error verdicts, else the record's."""
    found = [t.error or (t.verdict.error if t.verdict.status == "error" else None) for t in record.trials]
    if not any(found):
        found = [record.error or (record.verdict.error if record.verdict.status == "error" else None)]
    return found


def trouble(records: Iterable[Record]) -> dict[str, Trouble]:
    """Trouble per protocol, in the order protocols first appear."""
    out: dict[str, Trouble] = {}
    for record in records:
        t = out.setdefault(record.protocol, Trouble(record.protocol))
        t.records += 1
        t.usage = t.usage + record.usage
        if record_failed(record):
            t.failed_records += 1
            for kind, n in count_errors(_errors(record)).items():
                t.failed_calls[kind] = t.failed_calls.get(kind, 0) + n
    return out


def trouble_rows(found: dict[str, Trouble]) -> tuple[list[str], list[list[str]]]:
    """The section as a table (headers, rows); no rows when nothing went wrong."""
    headers = ["protocol", "calls", "retries", "429s", "faults", "failed\nrecords", "failed calls"]
    rows = [[t.protocol, str(t.usage.calls), str(t.usage.retries), str(t.usage.rate_limited),
             faults_text(t.usage.faults) or "—", str(t.failed_records), faults_text(t.failed_calls) or "—"]
            for t in found.values() if t.any]
    return headers, rows


def trouble_json(found: dict[str, Trouble]) -> dict[str, Any]:
    return {name: t.to_json() for name, t in found.items()}
