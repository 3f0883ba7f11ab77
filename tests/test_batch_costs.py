"""Batch mode's price everywhere a run counts money or shows progress: ``--cost-limit`` holds a batched call at the
batch price, ``--dry-run --batch`` estimates at it and says so, and status lines and the progress bar show the
pending batches (``2 batches pending (216 calls)``). Calls go through the real SDK clients against the stub."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from courtgraph.cli import main
from courtgraph.evals import RunStore
from courtgraph.evals.progress import ProgressBar, follow_batches
from courtgraph.evals.runner import run_async
from courtgraph.evals.status import RunTally, StatusLines
from courtgraph.graphs.registry import Roles
from courtgraph.models.batch_terms import BatchSettings
from courtgraph.models.batching import BatchMode, use_batch_mode
from courtgraph.models.budget import Budget
from courtgraph.models.pricing import _TABLE, Price
from courtgraph.testing import StubServer

#: USD per million tokens: dear enough that max_tokens decides what a call may cost.
DEAR = Price(2.0, 2.0)


@pytest.fixture
def priced(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    monkeypatch.setitem(_TABLE, f"openai:dear-model@{stub.openai_url}", DEAR)
    stub.batches.delay = 0.0
    yield stub


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-b", "sample", "--display", "none", *args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


# -- --cost-limit ----------------------------------------------------------------------------------------------


async def test_a_batched_call_is_held_at_the_batch_price() -> None:
    budget = Budget(10.0)
    assert budget.reserve("openai:m@http://h:1/v1", 1.0) == 1.0  # synchronous: the full price
    async with use_batch_mode(BatchSettings()):
        assert budget.reserve("openai:m@http://h:1/v1", 1.0) == 0.5
        assert budget.reserve("anthropic:claude", 1.0) == 0.5
        assert budget.reserve("sim:0.7", 1.0) == 1.0  # no batch API: called synchronously, at its price
    assert budget.reserved == pytest.approx(3.0)


def test_a_cost_limit_that_pays_the_batch_price_does_not_stop_a_batch_run(
        priced: StubServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """4 calls wait together for one batch, each holding its worst case (max_tokens 50,000 at $2/M: $0.10 at the
    sync price). $0.30 cannot hold four at the sync price ($0.40, the run stopped), it can at the batch price."""
    spec = f"openai:dear-model@{priced.openai_url}"
    args = ("-p", "single", "-m", spec, "-n", "2", "--no-cache", "--max-tokens", "50000", "--cost-limit", "0.3")
    code, _, err = cli_run(capsys, *args, "-o", str(tmp_path / "sync"), "-c", "4")
    assert code == 1 and "cost limit $0.3 reached" in " ".join(err.split())  # the control: sync calls are dearer
    code, _, err = cli_run(capsys, *args, "-o", str(tmp_path / "batch"), "--batch", "--batch-size", "4",
                           "--batch-wait", "30", "--batch-poll", "0.02")
    assert code == 0, err
    with RunStore(tmp_path / "batch", create=False) as store:
        records = store.records()
        assert store.manifest()["status"] == "finished"
    assert len(records) == 2 and all(r.usage.batched == 2 for r in records) and priced.batches.sizes == [4]


# -- --dry-run --------------------------------------------------------------------------------------------------


def total_cost(out: str) -> float:
    row = next(line for line in out.splitlines() if line.startswith("│ total"))
    return float(row.split("│")[7].strip().removeprefix("$"))


def test_dry_run_with_batch_estimates_at_the_batch_price_and_says_so(priced: StubServer,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = ("-p", "single,jury", "-m", f"openai:dear-model@{priced.openai_url}", "-n", "3", "--dry-run")
    code, sync_out, err = cli_run(capsys, *args)
    assert code == 0, err
    assert "cost at the synchronous price" in " ".join(sync_out.split())
    code, batch_out, err = cli_run(capsys, *args, "--batch")
    assert code == 0, err
    said = " ".join(batch_out.split())
    assert "cost at the batch price (--batch): openai 50%, anthropic 50% of the synchronous price" in said
    sync, batch = total_cost(sync_out), total_cost(batch_out)
    assert sync > 0 and batch == pytest.approx(sync / 2, abs=1e-4)  # both shown to 4 decimals
    assert priced.requests == 0  # a dry run calls nothing


def test_dry_run_cost_is_unknown_for_a_model_without_a_price(stub: StubServer,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli_run(capsys, "-p", "single", "-m", f"openai:unpriced@{stub.openai_url}", "-n", "2",
                             "--dry-run", "--batch")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("│ total"))
    assert row.split("│")[7].strip() == "?"


# -- status lines and the progress bar ------------------------------------------------------------------------


def test_the_status_figures_name_the_pending_batches_and_the_calls_they_hold() -> None:
    mode = BatchMode(BatchSettings())
    tally = RunTally(batches=mode)
    assert "0 batches pending (0 calls)" in tally.figures()
    mode.pending.update({"b1": 200, "b2": 16})
    assert "2 batches pending (216 calls)" in tally.figures()
    mode.pending.pop("b2")
    assert "1 batch pending (200 calls)" in tally.figures()
    assert "batch" not in RunTally().figures()  # a synchronous run says nothing of batches


def test_status_lines_and_the_bar_show_a_pending_batch_while_the_run_waits(priced: StubServer,
                                                                           tmp_path: Path) -> None:
    """The batch stays pending until the test has read the displays, then ends: no timing involved."""
    priced.batches.delay = 3600
    stream = io.StringIO()
    lines = StatusLines(stream, every_s=0)
    bars: list[str] = []

    async def run() -> None:
        task = asyncio.create_task(run_async(
            "sample", ["single"], roles=Roles(model=f"openai:dear-model@{priced.openai_url}"), out=tmp_path / "r",
            limit=2, cache=None, display=lines, batch=BatchSettings(size=4, wait_s=30, poll_s=0.01)))
        while not len(priced.batches) or lines.tally.batches is None or not lines.tally.batches.pending:
            await asyncio.sleep(0.01)
        lines.line("waiting")
        bar = ProgressBar(Console(file=io.StringIO(), force_terminal=True, width=200))
        mode = lines.tally.batches
        follow_batches(bar, mode)
        bar.refresh()
        bars.append(str(bar._bar.tasks[0].fields["stats"]))
        priced.batches[0].started -= 7200  # the batch ends at its next look
        await task
        mode.listeners.remove(bar.refresh)

    asyncio.run(run())
    waiting = next(line for line in stream.getvalue().splitlines() if line.endswith("· waiting"))
    assert "1 batch pending (4 calls)" in waiting
    assert "1 batch pending (4 calls)" in bars[0]
    assert "0 batches pending (0 calls)" in stream.getvalue().splitlines()[-1]  # the last line: all ended
