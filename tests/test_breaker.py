"""The circuit breaker: an endpoint that keeps failing is given up on, and the run stops with a way back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from courtgraph.evals import RunStore
from courtgraph.evals.store import record_failed
from courtgraph.models import ConfigError, ModelError, get_model
from courtgraph.models.errors import EndpointDown
from courtgraph.models.limits import DEFAULT_BREAKER, Breaker, breaker_threshold, get_endpoint, tripped
from courtgraph.models.retry import RetryPolicy
from courtgraph.testing import StubServer

FAST = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)


def test_opens_after_n_consecutive_failures_and_a_success_resets() -> None:
    breaker = Breaker("p at u", threshold=3)
    for _ in range(2):
        breaker.failed("503")
    breaker.succeeded()
    for _ in range(2):
        breaker.failed("503")
    breaker.check()  # 2 in a row: still closed
    breaker.failed("503 last")
    with pytest.raises(EndpointDown) as down:
        breaker.check()
    assert down.value.endpoint == "p at u" and down.value.last_error == "503 last" and down.value.failures == 3
    assert str(down.value) == "p at u is down: 3 calls in a row failed; last: 503 last"


def test_half_open_after_the_cooldown_and_zero_turns_it_off() -> None:
    breaker = Breaker("e", threshold=1, cooldown_s=0.0)
    breaker.failed("x")
    breaker.check()  # the cooldown has passed: one call goes through
    off = Breaker("e", threshold=0)
    for _ in range(100):
        off.failed("x")
    off.check()
    assert not off.open


def test_threshold_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert breaker_threshold() == DEFAULT_BREAKER
    monkeypatch.setenv("COURTGRAPH_BREAKER", "2")
    assert breaker_threshold() == 2 and get_endpoint("openai", "http://h:1", "k").breaker.threshold == 2
    monkeypatch.setenv("COURTGRAPH_BREAKER", "-1")
    with pytest.raises(ConfigError, match="COURTGRAPH_BREAKER"):
        breaker_threshold()


async def test_calls_fail_fast_once_open_and_case_errors_do_not_count(stub: StubServer) -> None:
    model = get_model(f"openai:m@{stub.openai_url}")
    model.retry = FAST  # type: ignore[attr-defined]
    model.endpoint.configure(breaker=3)  # type: ignore[attr-defined]
    messages = [{"role": "user", "content": "hi"}]
    stub.fault("503", times=1000)
    for _ in range(3):
        with pytest.raises(ModelError):
            await model.generate(messages, params=None)  # type: ignore[arg-type]
    asked = stub.requests
    assert asked == 3 * FAST.attempts and tripped() is not None
    with pytest.raises(EndpointDown, match=r"is down: 3 calls in a row failed; last: .*503"):
        await model.generate(messages)  # type: ignore[arg-type]
    assert stub.requests == asked  # refused without a request


def test_an_always_503_provider_stops_the_run_after_n_failures_then_resume_finishes(tmp_path: Path) -> None:
    env = {**os.environ, "COURTGRAPH_CACHE": str(tmp_path / "cache.sqlite"), "COURTGRAPH_BREAKER": "3"}
    out = tmp_path / "run"
    with StubServer() as server:
        server.fault("503", times=100_000)
        args = [sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                f"openai:m@{server.openai_url}", "-c", "2", "-o", str(out)]
        stopped = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        # at most the calls in flight when it opened (2, each up to 4 attempts) beyond the 3 that opened it:
        # not 36 cases x 2 orders x 4 attempts
        assert server.requests <= (3 + 2) * 4, server.requests
        assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
        server.clear_faults()
        resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert stopped.returncode == 1, stopped.stderr
    said = " ".join(stopped.stderr.split())
    assert f"openai at {server.openai_url} is down: 3 calls in a row failed; last: 503" in said
    assert f"--out {out} --resume" in said and "Traceback" not in said and "EndpointDown" not in said
    assert resumed.returncode == 0, resumed.stderr
    with RunStore(out, create=False) as store:
        records = store.records()
    assert len(records) == 36 and not any(map(record_failed, records))
