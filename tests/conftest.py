"""Shared fixtures: every test is hermetic (its own response cache, no real keys or endpoints).

Other test files may append fixtures below; keep the autouse one first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from courtgraph.models.limits import reset_endpoints
from courtgraph.testing import StubServer

#: Variables that would make a test reach a real provider or change limits behind its back.
_OUTSIDE_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
                "COURTGRAPH_TIMEOUT", "COURTGRAPH_MAX_CONCURRENCY")


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A per-test response cache path, no provider keys from the environment, fresh endpoint limits."""
    monkeypatch.setenv("COURTGRAPH_CACHE", str(tmp_path / "responses.sqlite"))
    for name in _OUTSIDE_ENV:
        monkeypatch.delenv(name, raising=False)
    reset_endpoints()
    yield
    reset_endpoints()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A loopback OpenAI/Anthropic-compatible server (``stub.openai_url``, ``stub.anthropic_url``)."""
    with StubServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _forget_keys() -> Iterator[None]:
    """Keys registered for redaction by one test (api_key=...) do not redact another test's text."""
    from courtgraph.models.secrets import SECRETS

    yield
    SECRETS.clear()
