"""Unattended runs: status lines while the run runs (off a terminal), a run log with every retry,
fault, give-up and record, each line carrying the run id; --display none and --log-level."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from courtgraph.evals import run
from courtgraph.evals.logs import LOG_FILE, level_number
from courtgraph.evals.status import RunTally, StatusLines, duration
from courtgraph.graphs.registry import Roles
from courtgraph.models.retry import RetryPolicy
from courtgraph.testing import StubServer

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_status_lines_appear_in_the_file_while_the_run_runs(tmp_path: Path) -> None:
    """``courtgraph run ... > out.log 2>&1`` with latency: the file fills with status lines before the end."""
    with StubServer(latency=0.2) as server:
        out_log = tmp_path / "out.log"
        with out_log.open("w") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single,jury", "--no-cache",
                 "-m", f"openai:stub@{server.openai_url}", "--out", str(tmp_path / "run"), "--status-every", "0.5"],
                stdout=sink, stderr=subprocess.STDOUT, env=ENV)
            seen_while_running: list[str] = []
            while proc.poll() is None:
                lines = [ln for ln in out_log.read_text().splitlines() if ln.startswith("[courtgraph] records")]
                if len(lines) >= 3 and proc.poll() is None:
                    seen_while_running = lines
                    break
                time.sleep(0.1)
            assert proc.wait(timeout=180) == 0
    assert len(seen_while_running) >= 3, out_log.read_text()
    for line in seen_while_running:
        for part in ("records ", "/72", "errors", "calls", "tokens", "rec/s", "ETA"):
            assert part in line, line
    final = [ln for ln in out_log.read_text().splitlines() if ln.startswith("[courtgraph] records 72/72")]
    assert final and final[-1].endswith("done")


def test_run_log_holds_every_retry_fault_give_up_and_record(tmp_path: Path, stub: StubServer) -> None:
    stub.fault("500", times=2)     # retried twice, then answered
    stub.fault("503", times=3)     # three failed attempts in a row: the call gives up
    stub.fault("garbage")          # an answer that is no verdict
    model = f"openai:stub@{stub.openai_url}"
    from courtgraph.models import get_model

    judge = get_model(model)
    judge.retry = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)  # type: ignore[attr-defined]
    results = run("sample", ["single"], roles=Roles(judge=judge), out=tmp_path / "run", limit=3, cache=None,
                  concurrency=1, progress=False)
    log = (tmp_path / "run" / LOG_FILE).read_text()
    run_id = json.loads((tmp_path / "run" / "manifest.json").read_text())["run_id"]
    lines = log.splitlines()
    assert lines and all(f"run={run_id}" in ln for ln in lines)
    retries = [ln for ln in lines if "INFO" in ln and "courtgraph.models: retry" in ln]
    assert len(retries) == 2 + 2, log          # two for the 500s, two before the 503 give-up
    assert any("500" in ln for ln in retries) and any("503" in ln for ln in retries)
    assert sum("courtgraph.models" in ln and "gave up" in ln and "WARNING" in ln for ln in lines) == 1
    records = [ln for ln in lines if "courtgraph.evals: record " in ln]
    assert len(records) == len(results.records) == 3
    failed = [ln for ln in records if "failed" in ln]
    assert len(failed) == len(results.failed) >= 1 and all("WARNING" in ln for ln in failed)
    assert all("503" in ln for ln in failed)  # the failure says why


def test_log_level_filters_the_run_log(tmp_path: Path) -> None:
    import asyncio

    from courtgraph.evals import RunPlan
    from courtgraph.evals.runner import run_plan

    plan = RunPlan("sample", ["single"], roles=Roles(model="sim:0.7"), out=tmp_path / "run", limit=2, cache=None)
    asyncio.run(run_plan(plan, progress=False, log_level=logging.INFO))
    log = (tmp_path / "run" / LOG_FILE).read_text()
    assert "DEBUG" not in log and "finished: 2 records written" in log
    assert logging.getLogger("courtgraph").handlers == []  # the run's handler is gone after it


def test_display_none_prints_no_progress(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m", "sim:0.7",
                          "--limit", "2", "--out", str(tmp_path / "r"), "--display", "none"],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert out.returncode == 0 and "[courtgraph] records" not in out.stderr
    plain = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                            "sim:0.7", "--limit", "2", "--out", str(tmp_path / "r2"), "--display", "plain",
                            "--log-level", "info", "--status-every", "0", "--status-records", "1"],
                           capture_output=True, text=True, env=ENV, timeout=120)
    assert plain.returncode == 0 and "[courtgraph] records 2/2" in plain.stderr
    assert "[courtgraph] records 1/2 (50%)" in plain.stderr  # a line per record
    assert "INFO" in plain.stderr and "finished: 2 records written" in plain.stderr


def test_bad_display_or_level_exits_2(tmp_path: Path) -> None:
    for flag, value in (("--display", "fancy"), ("--log-level", "loud")):
        out = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                              "sim:0.7", "--limit", "1", "--out", str(tmp_path / "r"), flag, value],
                             capture_output=True, text=True, env=ENV, timeout=120)
        assert out.returncode == 2 and value in out.stderr and "Traceback" not in out.stderr


def test_eta_and_rate_from_this_invocations_records() -> None:
    tally = RunTally()
    tally.start(total=10, already=4)
    assert tally.eta_s is None and "ETA ?" in tally.figures()
    tally.started -= 2.0  # two seconds ago
    from courtgraph.schema import Record, Verdict

    record = Record(case_id="c", protocol="p", verdict=Verdict(status="ok", winner="A"))
    tally.add(record)
    tally.add(record)
    # 2 new records in 2 s: 1 rec/s, 4 left: 4 s
    assert tally.rate == pytest.approx(1.0, rel=0.05)
    assert tally.eta_s == pytest.approx(4.0, rel=0.05)


def test_status_lines_every_n_records_and_durations() -> None:
    from courtgraph.schema import Record, Verdict

    sink = io.StringIO()
    lines = StatusLines(sink, every_s=0, every_records=2)
    lines.start(5, 0)
    for _ in range(5):
        lines.advance(Record(case_id="c", protocol="p", verdict=Verdict(status="ok", winner="A")))
    lines.stop()
    text = sink.getvalue().splitlines()
    assert [ln.split(" · ")[0] for ln in text] == ["[courtgraph] records 0/5 (0%)", "[courtgraph] records 2/5 (40%)",
                                                   "[courtgraph] records 4/5 (80%)", "[courtgraph] records 5/5 (100%)"]
    assert duration(5) == "5s" and duration(65) == "1m05s" and duration(3720) == "1h02m" and duration(None) == "?"
    assert level_number("INFO") == logging.INFO
    with pytest.raises(ValueError, match="unknown log level"):
        level_number("loud")
