"""Trouble is visible: retries, 429s and faults by kind in usage, the progress line, the report (text,
markdown, JSON) and the transcript; a failed run names its real error on one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from courtgraph.evals.status import RunTally
from courtgraph.evals.store import failure_text
from courtgraph.models import get_model
from courtgraph.models.faults import count_errors, error_kind, trouble_text
from courtgraph.models.retry import RetryPolicy
from courtgraph.schema import Record, TrialResult, Usage, Verdict
from courtgraph.testing import StubServer

FAST = RetryPolicy(attempts=7, backoff=0.01, max_backoff=0.01)


def test_usage_sums_faults_by_kind() -> None:
    total = Usage(faults={"503": 1, "timeout": 2}) + Usage(faults={"503": 2, "429": 1}) + Usage()
    assert total.faults == {"429": 1, "503": 3, "timeout": 2}


@pytest.mark.parametrize(("message", "kind"), [
    ("openai at http://x is down: 5 calls in a row failed; last: 503 from openai at http://x", "breaker"),
    ("openai at http://x/v1: gave up after 4 attempts; last: 503 from openai at http://x/v1: busy", "503"),
    ("401 from anthropic at https://api.anthropic.com: unauthorized", "401"),
    ("timed out after 60 s (openai at http://x)", "timeout"),
    ("connection failed (openai at http://x): RemoteProtocolError: closed", "connection"),
    ("malformed response from openai at http://x: Expecting value", "malformed"),
    ("ValueError: the protocol broke", "other"), (None, "other"),
])
def test_error_kinds(message: str | None, kind: str) -> None:
    assert error_kind(message) == kind


def test_count_errors_counts_each_message_once() -> None:
    assert count_errors(["401 from openai at u: unauthorized; check X", "timed out after 1 s (u)", None, ""]) == \
        {"401": 1, "timeout": 1}


def test_trouble_text_is_empty_for_a_clean_usage() -> None:
    assert trouble_text(Usage(calls=3)) == ""
    assert trouble_text(Usage(retries=3, rate_limited=1, faults={"429": 1, "503": 1, "timeout": 1})) == \
        "3 retries · 1×429 · faults 503×1 timeout×1"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_each_fault_kind_is_counted_on_the_answered_call(api: str) -> None:
    with StubServer() as stub:
        url = stub.openai_url if api == "openai" else stub.anthropic_url
        model = get_model(f"{api}:m@{url}")
        model.retry = FAST  # type: ignore[attr-defined]
        model.timeout = 0.5  # type: ignore[attr-defined]
        for kind, opts in (("429", {"retry_after": 0}), ("500", {}), ("503", {}), ("stall", {}), ("drop", {}),
                           ("malformed_json", {})):
            stub.fault(kind, **opts)
        answer = await model.generate([{"role": "user", "content": "hi"}])
    assert answer.usage.retries == 6 and answer.usage.rate_limited == 1
    assert answer.usage.faults == {"429": 1, "500": 1, "503": 1, "connection": 1, "malformed": 1, "timeout": 1}


def test_the_progress_line_shows_trouble() -> None:
    tally = RunTally()
    tally.start(2, 0)
    assert "retr" not in tally.figures()
    tally.add(Record(case_id="c", protocol="p", verdict=Verdict(status="ok", winner="A"),
                     usage=Usage(calls=2, retries=2, rate_limited=1, faults={"429": 1, "503": 1})))
    assert "2 retries · 1×429 · faults 503×1" in tally.figures()


def test_failure_text_finds_the_real_error_on_one_line() -> None:
    failed = Verdict.failed("401 from openai at u:\nunauthorized")
    record = Record(case_id="c", protocol="single", verdict=Verdict(status="ok", winner="A"),
                    trials=[TrialResult(order="AB", verdict=Verdict(status="ok", winner="A")),
                            TrialResult(order="BA", verdict=failed)])
    assert failure_text(record) == "401 from openai at u: unauthorized"


def test_a_faulty_run_shows_its_trouble_everywhere(tmp_path: Path) -> None:
    env = {**os.environ, "COURTGRAPH_CACHE": str(tmp_path / "cache.sqlite")}
    run_dir = tmp_path / "run"
    with StubServer() as stub:
        stub.fault("429", retry_after=0)
        stub.fault("503")
        stub.fault("malformed_json")
        stub.fault("401")  # not retried: one trial, so one record, fails
        done = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                               f"openai:m@{stub.openai_url}", "-n", "3", "-c", "1", "-o", str(run_dir)],
                              capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 1
    failure = [line for line in done.stderr.splitlines() if "record(s) failed" in line]
    assert len(failure) == 1 and "401 from openai at" in failure[0] and "None" not in failure[0], done.stderr

    def cli(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, env=env,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    report = json.loads(cli("report", str(run_dir), "--json"))["trouble"]["single"]
    assert report["retries"] == 3 and report["rate_limited"] == 1 and report["failed_records"] == 1
    # every failed attempt by kind, the last (a 401, not retried) too; the failed call by its kind
    assert report["faults"] == {"401": 1, "429": 1, "503": 1, "malformed": 1} and report["failed_calls"] == {"401": 1}
    assert report["calls"] == 5  # 3 cases x 2 orders, one failed (not billed)
    text = " ".join(cli("report", str(run_dir)).split())
    assert "Trouble: retries, rate limits and faults by kind" in text and "401×1 429×1 503×1 malformed×1" in text
    cli("report", str(run_dir), "--markdown", str(tmp_path / "r.md"))
    markdown = (tmp_path / "r.md").read_text()
    assert "## Trouble" in markdown and "| single | 5 | 3 | 1 | 401×1 429×1 503×1 malformed×1 | 1 | 401×1 |" in markdown
    first = json.loads(cli("show", str(run_dir), "--format", "json", "--limit", "0"))
    shown = cli("show", str(run_dir), "--case", "math-mul", "--plain")
    assert first and "3 retries · 1×429 · faults 401×1 503×1 malformed×1" in " ".join(shown.split())
