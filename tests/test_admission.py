"""A run's concurrency counts calls: trials start when their calls fit, and endpoints follow the run's bound."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from courtgraph.graphs.single import single
from courtgraph.models.admission import Admission, counted_call, use_admission
from courtgraph.models.limits import Endpoint


class Probe:
    """Trials that each make ``width`` calls at once, recording the calls in flight over the run."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.active = self.peak = 0
        self.trial_peaks: list[int] = []

    async def call(self, hold: asyncio.Event | None = None) -> None:
        with counted_call():
            self.active += 1
            self.peak = max(self.peak, self.active)
            await (hold.wait() if hold else asyncio.sleep(0.005))
            self.active -= 1

    async def trial(self, key: str, width: int) -> int:
        async with self.admission.trial(key) as load:
            await asyncio.gather(*(self.call() for _ in range(width)))
            return load.peak


async def run_trials(concurrency: int, widths: list[tuple[str, int]], settle_s: float = 0.001) -> Probe:
    admission = Admission(concurrency, settle_s=settle_s)
    probe = Probe(admission)
    with use_admission(admission):
        probe.trial_peaks = list(await asyncio.gather(*(probe.trial(k, w) for k, w in widths)))
    return probe


async def test_juries_never_share_the_bound_beyond_their_width() -> None:
    probe = await run_trials(8, [("jury", 5)] * 12)
    # every trial ran its five calls together, and never more than one jury (5 <= 8 < 10) at a time
    assert probe.trial_peaks == [5] * 12
    assert probe.peak == 5
    assert probe.admission.widths == {"jury": 5}


async def test_single_calls_fill_the_bound() -> None:
    probe = await run_trials(6, [("single", 1)] * 30)
    assert probe.peak == 6
    assert probe.admission.in_flight == 0 and not probe.admission.running


async def test_widths_are_learned_per_protocol_and_fill_the_bound_together() -> None:
    probe = await run_trials(7, [("jury", 3), ("single", 1)] * 10)
    assert probe.admission.widths == {"jury": 3, "single": 1}
    assert probe.peak <= 7
    assert all(p in (1, 3) for p in probe.trial_peaks)


async def test_a_trial_wider_than_the_bound_still_runs_alone() -> None:
    probe = await run_trials(2, [("huge", 4)] * 3)
    assert probe.trial_peaks == [4, 4, 4]
    assert probe.peak == 4


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    admission = Admission(1)
    with use_admission(admission):
        async with admission.trial("x"):
            waiting = asyncio.create_task(asyncio.wait_for(admission.trial("x").__aenter__(), 0.01))
            with pytest.raises(TimeoutError):
                await waiting
        assert not admission.running
        async with admission.trial("x"):
            assert len(admission.running) == 1
    assert not admission.running


async def test_calls_outside_a_run_are_not_counted() -> None:
    with counted_call():
        pass  # no admission: nothing to count, nothing raised


async def test_an_endpoint_follows_the_run_unless_configured() -> None:
    free, fixed = Endpoint("openai", "http://x/v1", 8), Endpoint("openai", "http://y/v1", 8, explicit=True)
    with use_admission(Admission(32)):
        async with free.slot(), fixed.slot():
            pass
    assert free.max_concurrency == 32
    assert fixed.max_concurrency == 8
    configured = Endpoint("openai", "http://z/v1", 8).configure(max_concurrency=3)
    with use_admission(Admission(32)):
        async with configured.slot():
            pass
    assert configured.max_concurrency == 3


def test_bad_concurrency() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Admission(0)


def test_the_manifest_records_both_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from courtgraph.evals import run
    from courtgraph.models import ScriptedModel
    from courtgraph.schema import Case

    cases = [Case(id="c1", question="2+2?", candidates=["4", "5"], label="A")]
    run(cases, {"single": single(ScriptedModel("[[A]]"))}, out=tmp_path / "a", concurrency=3, cache=None,
        progress=False)
    config = json.loads((tmp_path / "a" / "manifest.json").read_text())["config"]
    assert (config["concurrency"], config["endpoint_concurrency"]) == (3, 3)
    monkeypatch.setenv("COURTGRAPH_MAX_CONCURRENCY", "2")
    run(cases, {"single": single(ScriptedModel("[[A]]"))}, out=tmp_path / "b", concurrency=3, cache=None,
        progress=False)
    config = json.loads((tmp_path / "b" / "manifest.json").read_text())["config"]
    assert (config["concurrency"], config["endpoint_concurrency"]) == (3, 2)


def test_help_says_what_concurrency_means() -> None:
    from typer.testing import CliRunner

    from courtgraph.cli import app

    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "Model calls in flight at once" in out and "COURTGRAPH_MAX_CONCURRENCY" in out
