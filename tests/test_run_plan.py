"""The harness as a library: a RunPlan shared with the CLI, resume merging, and display/watch callbacks."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from test_runner import make_cases, run_quiet, truthful

from courtgraph.errors import InputError
from courtgraph.evals import RunPlan, resume_plan, run_async, run_plan
from courtgraph.graphs import run_trial, single
from courtgraph.graphs.registry import Roles
from courtgraph.graphs.state import Graph
from courtgraph.models import ScriptedModel
from courtgraph.schema import Record, Trial, TrialResult


class Recorder:
    """A RunDisplay that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, total: int, already: int) -> None:
        self.events.append(("start", (total, already)))

    def advance(self, record: Record) -> None:
        self.events.append(("advance", (record.case_id, record.protocol)))

    def stop(self) -> None:
        self.events.append(("stop", None))


def test_the_display_is_told_start_each_record_and_stop(tmp_path: Path) -> None:
    shown = Recorder()
    asyncio.run(run_async(make_cases(3), {"single": single(ScriptedModel(truthful))}, out=tmp_path / "run",
                          cache=None, display=shown))
    assert shown.events[0] == ("start", (3, 0)) and shown.events[-1] == ("stop", None)
    assert sorted(e[1] for e in shown.events if e[0] == "advance") == [(f"c{i}", "single") for i in range(3)]
    resumed = Recorder()  # a second invocation has everything done: it says so and advances nothing
    asyncio.run(run_async(make_cases(3), {"single": single(ScriptedModel(truthful))}, out=tmp_path / "run",
                          cache=None, display=resumed))
    assert resumed.events == [("start", (3, 3)), ("stop", None)]


def test_a_watcher_runs_the_watched_case_only_in_both_orders(tmp_path: Path) -> None:
    watched: list[tuple[str, str]] = []

    async def watcher(graph: Graph, trial: Trial) -> TrialResult:
        watched.append((trial.case.id, trial.order))
        return await run_trial(graph, trial)

    results = asyncio.run(run_async(make_cases(3), {"single": single(ScriptedModel(truthful))}, out=tmp_path / "r",
                                    cache=None, progress=False, watch="c1", watcher=watcher))
    assert sorted(watched) == [("c1", "AB"), ("c1", "BA")]
    assert all(r.correct for r in results.records)  # the watched trials are recorded like the others


def test_resume_plan_takes_what_is_not_given_from_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = asyncio.run(run_plan(RunPlan("sample", ["single", "jury"], roles=Roles(model="sim:0.7"), out=out,
                                         orders=["BA"], limit=3, seed=5, cache=None,
                                         params={"jury": {"aggregate": "strict"}}), progress=False))
    plan = resume_plan(out, cache=None)
    assert (plan.bench, list(plan.protocols), plan.params, list(plan.orders), plan.limit, plan.seed, plan.resume) == \
        ("sample", ["single", "jury"], {"jury": {"aggregate": "strict"}}, ["BA"], 3, 5, True)
    assert plan.roles == Roles(model="sim:0.7")
    again = asyncio.run(run_plan(plan, progress=False))
    assert again.records == first.records  # nothing was judged twice: the same stored records
    assert resume_plan(out, limit=2, seed=6).seed == 6  # what is given wins (and is checked when it runs)
    with pytest.raises(InputError, match="its seed was 5, now 6"):
        asyncio.run(run_plan(resume_plan(out, seed=6, cache=None), progress=False))


def test_resume_plan_needs_what_python_gave(tmp_path: Path) -> None:
    run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path)
    with pytest.raises(InputError, match="benchmark was given in Python"):
        resume_plan(tmp_path / "run")
    with pytest.raises(InputError, match="protocols built in Python"):
        resume_plan(tmp_path / "run", bench="sample")
    with pytest.raises(InputError, match="nothing-here: no such directory"):
        resume_plan(tmp_path / "nothing-here")


def test_the_harness_does_not_import_the_view() -> None:
    code = ("import sys, courtgraph.evals.runner, courtgraph.evals.demo; "
            "print(sorted(m for m in sys.modules if m.startswith('courtgraph.view')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_records_written_before_the_rename_still_load_and_resume(tmp_path: Path) -> None:
    # the record field was "prompt_hashes"; a run written then must still load and still guard its prompts
    results = run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path)
    record = results.records[0]
    assert record.templates_used  # the judge's template, by name
    old_json = record.model_dump_json().replace('"templates_used"', '"prompt_hashes"')
    assert Record.model_validate_json(old_json).templates_used == record.templates_used
    import sqlite3

    with sqlite3.connect(results.run_dir / "run.db") as db:
        db.execute("UPDATE records SET data = replace(data, '\"templates_used\"', '\"prompt_hashes\"')")
    from courtgraph.evals import RunStore

    with RunStore(results.run_dir, create=False) as store:
        assert store.template_hashes_seen() == {k: {v} for k, v in record.templates_used.items()}
        assert [r.templates_used for r in store.records()] == [r.templates_used for r in results.records]


def test_the_cli_watches_a_case_through_the_transcript_view(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    from courtgraph.cli import main
    from courtgraph.evals import load_bench

    first = load_bench("sample").cases[0].id
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-b", "sample", "-p", "single", "-m", "sim:acc=1", "--limit", "2", "--no-cache",
              "--watch", first, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exit_.value.code in (0, None)
    # the view's panels (boxes, each turn's title tagged with its order), not the library's one-line default
    assert "╭" in err and "[AB] judge" in err and "[BA] judge" in err
    assert "[AB] judge (judge):" not in err
