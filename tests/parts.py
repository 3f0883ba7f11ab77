"""The two parts of a rendered request, for scripted models that answer by what a prompt shows.

Every agent of a case opens with the same shared prefix (the rules, then the case: question and
responses in the trial's order) and only then its own message (role, instructions, proceedings, ask).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def _users(messages: Sequence[Mapping[str, str]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def case_text(messages: Sequence[Mapping[str, str]]) -> str:
    """The shared case message: the question and the responses as shown."""
    return _users(messages)[0]


def role_text(messages: Sequence[Mapping[str, str]]) -> str:
    """The agent's own message after the case: who it is, what it reads and what it is asked."""
    return _users(messages)[1]
