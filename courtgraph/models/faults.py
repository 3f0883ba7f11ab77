"""Trouble made visible: retries, rate limits and faults by kind, and what a failure was, in a few words.

A run that paid for forty retries should say so, in the progress line, the report and the transcript;
a run that failed should name the real error on one line. The counts come from :class:`Usage`
(``retries``, ``rate_limited``, ``faults`` by kind, filled by the HTTP providers for every answered
call); calls that failed for good are counted from their error messages by :func:`error_kind`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from courtgraph.schema import Usage

#: How a failed call's message begins or reads, by kind (the messages of courtgraph.models.endpoint).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("breaker", re.compile(r"\bis down: \d+ calls in a row failed")),
    ("timeout", re.compile(r"\btimed out after\b")),
    ("connection", re.compile(r"\bconnection failed\b")),
    ("malformed", re.compile(r"\bmalformed response\b")),
    ("status", re.compile(r"\b([45]\d\d) from \w+ at ")),
)


def error_kind(message: str | None) -> str:
    """What kind of failure a message reports: an HTTP status ("503"), breaker, timeout, connection,
    malformed, or other (a protocol's own error, an invalid answer)."""
    if not message:
        return "other"
    for kind, pattern in _KINDS:
        found = pattern.search(message)
        if found:
            return found.group(1) if kind == "status" else kind
    return "other"


def count_errors(messages: Iterable[str | None]) -> dict[str, int]:
    """Failures by kind, one per (non-empty) error message."""
    kinds = Counter(error_kind(m) for m in messages if m)
    return dict(sorted(kinds.items()))


def faults_text(faults: dict[str, int]) -> str:
    """``{"429": 2, "timeout": 1}`` -> ``"429×2 timeout×1"`` (kinds sorted); empty for none."""
    return " ".join(f"{kind}×{n}" for kind, n in sorted(faults.items()) if n)


def trouble_text(usage: Usage) -> str:
    """The retries, 429s and faults of ``usage`` in a few words (``2 retries · faults 429×1 503×1``);
    empty when there were none, so a clean run shows nothing."""
    parts = []
    if usage.retries:
        parts.append(f"{usage.retries} retr{'y' if usage.retries == 1 else 'ies'}")
    if usage.rate_limited:
        parts.append(f"{usage.rate_limited}×429")
    others = {k: n for k, n in usage.faults.items() if k != "429"}
    if others:
        parts.append(f"faults {faults_text(others)}")
    return " · ".join(parts)


def one_line(message: str | None, limit: int = 300) -> str:
    """A message on one line (whitespace runs become one space), shortened to ``limit`` characters."""
    text = " ".join((message or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
