"""The runner: cases × protocols × orders into a run directory, with scripted and simulated models."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from parts import case_text
from pydantic import BaseModel
from rich.console import Console

from courtgraph.errors import InputError
from courtgraph.evals import Results, RunStore, run, run_async
from courtgraph.evals.report import report_run
from courtgraph.graphs import TrialState, single
from courtgraph.graphs.registry import Roles
from courtgraph.models import ChatModel, Completion, GenerateParams, Message, ModelError, ScriptedModel
from courtgraph.prompts import unfence
from courtgraph.schema import Case, Record


def make_cases(n: int, categories: tuple[str, ...] = ("math", "logic")) -> list[Case]:
    """Cases whose correct candidate starts with "right" (A for even i, B for odd i)."""
    out = []
    for i in range(n):
        right, wrong = f"right answer {i}", f"wrong answer {i}"
        out.append(Case(id=f"c{i}", question=f"question {i}", candidates=[right, wrong] if i % 2 == 0 else
                        [wrong, right], label="A" if i % 2 == 0 else "B", category=categories[i % len(categories)]))
    return out


def truthful(messages: list[Message], schema: type[BaseModel] | None = None) -> str:
    """A judge that always picks the response starting with "right" (in the shown frame)."""
    shown = unfence("\n".join(m["content"] for m in messages))
    return "[[A]]" if shown["response_a"].startswith("right") else "[[B]]"


def run_quiet(bench: Any, protocols: Any, tmp_path: Path, **kwargs: Any) -> Results:
    kwargs.setdefault("out", tmp_path / "run")
    return run(bench, protocols, cache=None, progress=False, **kwargs)


def test_runs_every_case_protocol_and_order(tmp_path: Path) -> None:
    judge, other = ScriptedModel(truthful, name="a"), ScriptedModel(truthful, name="b")
    results = run_quiet(make_cases(5), {"single": single(judge), "second": single(other)}, tmp_path)
    assert len(judge.calls) == len(other.calls) == 10  # 5 cases × 2 orders each
    assert [(r.protocol, r.case_id) for r in results.records] == \
        [(p, f"c{i}") for p in ("single", "second") for i in range(5)]
    assert all(r.correct for r in results.records)
    assert {t.order for r in results.records for t in r.trials} == {"AB", "BA"}
    assert results.summary.protocols["single"].accuracy == 1.0
    assert results.summary.protocols["second"].vs_baseline.delta == 0.0
    with RunStore(results.run_dir, create=False) as store:
        assert store.records() != [] and len(store.records()) == 10


def test_no_swap_judges_one_order(tmp_path: Path) -> None:
    judge = ScriptedModel(truthful)
    results = run_quiet(make_cases(4), {"single": single(judge)}, tmp_path, orders=["AB"])
    assert len(judge.calls) == 4
    assert all([t.order for t in r.trials] == ["AB"] for r in results.records)


def test_registry_names_are_built_from_roles(tmp_path: Path) -> None:
    judge = ScriptedModel(truthful)
    results = run_quiet(make_cases(3), ["single"], tmp_path, roles=Roles(judge=judge),
                        params={"single": {"mode": "pairwise"}})
    assert len(judge.calls) == 6 and all(r.correct for r in results.records)
    config = RunStore(results.run_dir, create=False).manifest()["config"]
    assert config["protocols"]["single"] == {"spec": "single", "params": {"mode": "pairwise"}}
    assert config["roles"]["judge"] == "scripted:scripted"


def test_a_failed_call_is_recorded_as_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    def flaky(messages: list[Message], schema: type[BaseModel] | None) -> str | BaseException:
        if "question 2" in case_text(messages):
            return ModelError("upstream exploded", status=500)
        return truthful(messages)

    results = run_quiet(make_cases(4), {"single": single(ScriptedModel(flaky))}, tmp_path)
    assert [r.case_id for r in results.failed] == ["c2"]
    failed = results.failed[0]
    assert failed.verdict.status == "error" and "upstream exploded" in (failed.verdict.error or "")
    assert failed.correct is False
    assert [r.correct for r in results.records if r.case_id != "c2"] == [True, True, True]


def test_a_crashing_protocol_is_recorded_with_its_message(tmp_path: Path) -> None:
    async def crash(state: TrialState) -> dict[str, Any]:
        if state["trial"].case.id == "c1":
            raise RuntimeError("node fell over")
        return {"verdict": None}

    g = StateGraph(TrialState)
    g.add_node("crash", crash)
    g.add_edge(START, "crash")
    g.add_edge("crash", END)
    results = run_quiet(make_cases(3), {"crashy": g.compile()}, tmp_path)
    by_id = {r.case_id: r for r in results.records}
    assert "node fell over" in (by_id["c1"].error or "")
    assert len(results.records) == 3


class SlowModel(ChatModel):
    """Tracks how many calls overlap."""

    cacheable = False

    def __init__(self) -> None:
        super().__init__("slow:test", provider="slow", model="test")
        self.active = self.peak = self.calls = 0

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        self.active += 1
        self.calls += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.01)
        self.active -= 1
        return Completion(text=truthful(messages))


def test_concurrency_bounds_trials_in_flight(tmp_path: Path) -> None:
    model = SlowModel()
    run_quiet(make_cases(12), {"single": single(model)}, tmp_path, concurrency=3)
    assert model.calls == 24
    assert model.peak == 3


def test_limit_and_categories(tmp_path: Path) -> None:
    judge = ScriptedModel(truthful)
    results = run_quiet(make_cases(10), {"single": single(judge)}, tmp_path, categories=["logic"], limit=3)
    assert [r.case_id for r in results.records] == ["c1", "c3", "c5"]
    assert set(results.cases) == {"c1", "c3", "c5"}


def test_manifest_records_the_experiment(tmp_path: Path) -> None:
    results = run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path, seed=7,
                        command=["courtgraph", "run", "--seed", "7"])
    manifest = RunStore(results.run_dir, create=False).manifest()
    assert manifest["command"] == ["courtgraph", "run", "--seed", "7"]
    assert manifest["seed"] == 7 and manifest["config"]["seed"] == 7
    assert manifest["config"]["orders"] == ["AB", "BA"]
    assert manifest["config"]["bench"]["name"] == "cases"
    assert set(manifest["versions"]) == {"courtgraph", "langgraph", "langchain-core", "openai", "anthropic",
                                         "pydantic"}
    assert manifest["versions"]["pydantic"]
    assert "judge_pairwise" in manifest["prompts"]
    assert manifest["status"] == "finished" and manifest["created"] and manifest["updated"]


def test_simulated_agents_learn_the_truth_from_the_runner(tmp_path: Path) -> None:
    # a simulated judge of accuracy 1 is always right, which it can only be if the runner registered the cases
    results = run_quiet(make_cases(8), ["single"], tmp_path, roles=Roles(judge="sim:perfect:acc=1"))
    assert all(r.correct for r in results.records)
    assert results.summary.simulated


def test_sample_benchmark_by_spec(tmp_path: Path) -> None:
    results = run_quiet("sample", ["single"], tmp_path, roles=Roles(model="sim:0.8"), limit=4)
    assert len(results.records) == 4
    assert RunStore(results.run_dir, create=False).manifest()["config"]["bench"]["spec"] == "sample"


def test_watch_prints_the_case_turns(tmp_path: Path) -> None:
    out = io.StringIO()
    judge = ScriptedModel(lambda m, s: "I looked closely. " + truthful(m))
    asyncio.run(run_async(make_cases(3), {"single": single(judge)}, out=tmp_path / "run", cache=None,
                          progress=False, watch="c1", console=Console(file=out, width=100)))
    assert out.getvalue().count("I looked closely") == 2  # c1's turn in each order, and no other case's


def test_to_pandas_says_what_to_install(tmp_path: Path) -> None:
    results = run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            results.to_pandas()
    else:
        frame = results.to_pandas()
        assert list(frame["case_id"]) == ["c0", "c1"] and "winner_BA" in frame


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"categories": ["poetry"]}, "no cases in category poetry"),
    ({"limit": 0}, "limit must be at least 1"),
    ({"orders": ["AB", "AB"]}, "orders must be"),
    ({"concurrency": 0}, "concurrency must be"),
    ({"watch": "nope"}, "no case 'nope'"),
])
def test_bad_arguments_are_input_errors(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path, **kwargs)
    assert not (tmp_path / "run").exists()


def test_bad_protocols_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown protocol 'nope'"):
        run_quiet(make_cases(2), ["nope"], tmp_path, roles=Roles(model="sim:0.7"))
    with pytest.raises(InputError, match="given twice"):
        run_quiet(make_cases(2), ["single", "single"], tmp_path, roles=Roles(model="sim:0.7"))
    with pytest.raises(InputError, match="not in the run"):
        run_quiet(make_cases(2), ["single"], tmp_path, roles=Roles(model="sim:0.7"), params={"jury": {"n": 3}})


def test_refuses_to_write_into_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a courtgraph run"):
        run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path)


def test_custom_protocol_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my_protocols.py"
    path.write_text("from courtgraph.graphs import single\n\n"
                    "def strict(roles):\n    return single(roles.get('judge'), name='strict')\n")
    results = run_quiet(make_cases(2), [f"{path}:strict"], tmp_path, roles=Roles(judge="sim:acc=1"))
    assert {r.protocol for r in results.records} == {"my_protocols:strict"}
    described = RunStore(results.run_dir, create=False).manifest()["config"]["protocols"]["my_protocols:strict"]
    assert described["spec"] == f"{path}:strict" and len(described["file_sha256"]) == 16


def test_watch_tags_each_turn_with_its_order(tmp_path: Path) -> None:
    out = io.StringIO()
    judge = ScriptedModel(lambda m, s: "I looked closely. " + truthful(m))
    asyncio.run(run_async(make_cases(3), {"single": single(judge)}, out=tmp_path / "run", cache=None,
                          progress=False, watch="c1", console=Console(file=out, width=100)))
    # both orders run at once and their turns interleave: each turn's title says which order it is
    assert "[AB] judge" in out.getvalue() and "[BA] judge" in out.getvalue()


def test_a_crash_of_the_run_itself_marks_it_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self: RunStore, record: Record) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunStore, "write", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path)
    with RunStore(tmp_path / "run", create=False) as store:
        manifest = store.manifest()
    assert manifest["status"] == "failed" and "No space left on device" in manifest["error"]
    shown = io.StringIO()
    report_run(tmp_path / "run", console=Console(file=shown, width=200))
    assert "failed: records are partial" in shown.getvalue()
    monkeypatch.undo()  # the crashed run released its lock: the directory can be resumed at once
    results = run_quiet(make_cases(2), {"single": single(ScriptedModel(truthful))}, tmp_path)
    assert len(results.records) == 2


async def test_two_runs_cannot_write_one_directory_at_once(tmp_path: Path) -> None:
    release = asyncio.Event()

    class Held(ChatModel):
        cacheable = False

        def __init__(self) -> None:
            super().__init__("held:test", provider="held", model="test")
            self.calls = 0

        async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                            params: GenerateParams) -> Completion:
            self.calls += 1
            await release.wait()
            return Completion(text=truthful(messages))

    first, second = Held(), Held()
    running = asyncio.create_task(run_async(make_cases(2), {"single": single(first)}, out=tmp_path / "run",
                                            cache=None, progress=False))
    while first.calls == 0:
        await asyncio.sleep(0.01)
    with pytest.raises(InputError, match=f"another courtgraph run is writing to {tmp_path / 'run'}"):
        # (the timeout only turns a regression into a failure instead of a hang: an admitted run would wait)
        await asyncio.wait_for(run_async(make_cases(2), {"single": single(second)}, out=tmp_path / "run",
                                         cache=None, progress=False), timeout=60)
    assert second.calls == 0
    release.set()
    assert len((await running).records) == 2
    with RunStore(tmp_path / "run", create=False) as store:
        assert store.manifest()["status"] == "finished"  # the refused run did not touch the manifest
