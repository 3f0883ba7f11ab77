"""Recorded judges: JudgeBench's published numbers through the real prompt and parse path, and replay rules."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from published import JUDGEBENCH, OUTPUTS, PUBLISHED

from courtgraph.errors import InputError
from courtgraph.evals.benchmarks import load_bench
from courtgraph.evals.recorded import RecordedModel, RecordingWarning
from courtgraph.evals.store import RunStore
from courtgraph.graphs import judge_case, run_trial, single
from courtgraph.models import ConfigError, ScriptedModel, get_model
from courtgraph.schema import Case, Order, Record, Trial


@pytest.mark.skipif(not JUDGEBENCH.is_file(), reason="../shared/data (JudgeBench) is absent")
@pytest.mark.parametrize("judge", sorted(PUBLISHED))
async def test_recorded_judges_reproduce_judgebench_published_accuracy(judge: str) -> None:
    cases = load_bench(f"judgebench:{JUDGEBENCH}").cases
    graph = single(f"recorded:{OUTPUTS / judge}.jsonl")
    # JudgeBench judges in both orders; reward models are scored on one (its --single_game, our --no-swap)
    orders: tuple[Order, ...] = ("AB",) if judge.startswith("reward_model") else ("AB", "BA")
    records = await asyncio.gather(*(judge_case(graph, c, orders=orders) for c in cases))
    assert len(records) == 350 and all(len(r.trials) == len(orders) for r in records)
    assert sum(r.usage.calls for r in records) == 0  # replayed, not called
    total, right = Counter[str](), Counter[str]()
    for r in records:
        assert r.category is not None
        total[r.category] += 1
        right[r.category] += bool(r.correct)
    accuracy = [round(100 * right[c] / total[c], 2) for c in ("knowledge", "reasoning", "math", "coding")]
    overall = round(100 * sum(right.values()) / len(records), 2)
    assert (*accuracy, overall) == PUBLISHED[judge]


# replay rules on small recordings written here

CASE = Case(id="p1", question="What is 2+2?", candidates=["4", "5"], label="A")


def recording(tmp_path: Path, *judgments: Any, name: str = "rec.jsonl", case: Case = CASE) -> str:
    row = {"pair_id": case.id, "question": case.question, "response_A": case.candidates[0],
           "response_B": case.candidates[1], "label": "A>B", "source": "livebench-math", "judge_name": "test",
           "judgments": list(judgments)}
    path = tmp_path / name
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return f"recorded:{path}"


def entry(decision: str | None) -> dict[str, Any]:
    return {"judgment": {"judge_model": "m", "response": "My verdict [[A>B]]"}, "decision": decision}


async def test_second_judgment_is_already_in_the_shown_frame_of_the_swapped_trial(tmp_path: Path) -> None:
    # entry 1 judged (question, B, A) and said "A>B": the first *shown* response, which is case B
    spec = recording(tmp_path, entry("A>B"), entry("A>B"))
    record = await judge_case(single(spec), CASE)
    ab, ba = record.trials
    assert (ab.verdict.winner, ab.case_winner) == ("A", "A")
    assert (ba.verdict.winner, ba.case_winner) == ("A", "B")
    assert record.verdict.winner == "tie" and record.correct is False  # inconsistent orders: JudgeBench scores 0


async def test_consistent_judge_and_tie(tmp_path: Path) -> None:
    record = await judge_case(single(recording(tmp_path, entry("B>A"), entry("A>B"))), CASE)
    assert [t.case_winner for t in record.trials] == ["B", "B"] and record.verdict.winner == "B"
    record = await judge_case(single(recording(tmp_path, entry("A=B"), entry("B>A"), name="t.jsonl")), CASE)
    assert [t.verdict.winner for t in record.trials] == ["tie", "B"] and record.verdict.winner == "A"


@pytest.mark.parametrize("judgments", [[None, entry("A>B")], [entry(None), entry("A>B")], [entry("A>B")]],
                         ids=["null-entry", "null-decision", "one-order-only"])
async def test_missing_verdict_is_invalid_after_a_free_reask(tmp_path: Path, judgments: list[Any]) -> None:
    spec = recording(tmp_path, *judgments)
    order: Order = "BA" if len(judgments) == 1 else "AB"
    if len(judgments) == 1:  # a one-order recording asked for the other order: it says so
        with pytest.warns(RecordingWarning, match="covers order AB only"):
            result = await run_trial(single(spec), Trial(case=CASE, order=order))
    else:
        result = await run_trial(single(spec), Trial(case=CASE, order=order))
    assert result.verdict.status == "invalid" and result.verdict.winner is None
    turn = result.turns[0]
    assert "--- re-asked ---" in turn.content  # the decide() path re-asked once, and got no tag again
    assert result.usage.calls == 0 and result.usage.cost_usd == 0.0


async def test_pair_not_in_the_recording_is_an_error_naming_the_file(tmp_path: Path) -> None:
    spec = recording(tmp_path, entry("A>B"), entry("B>A"))
    graph = single(spec)
    unknown = CASE.model_copy(update={"id": "p2"})
    result = await run_trial(graph, Trial(case=unknown))
    assert result.verdict.status == "error" and "pair not found in recording" in (result.verdict.error or "")
    assert "rec.jsonl" in (result.verdict.error or "") and "'p2'" in (result.verdict.error or "")
    # the same id with other content: a recording of another benchmark, refused rather than replayed
    for changed in ({"candidates": ["4", "6"]}, {"question": "What is 3+1?"}):
        result = await run_trial(graph, Trial(case=CASE.model_copy(update=changed)))
        assert result.verdict.status == "error" and "another question or other responses" in (result.verdict.error
                                                                                                or "")


async def test_recorded_model_flags_and_scores_note(tmp_path: Path) -> None:
    scored = {"judgment": {"scores": [2.5, 1.0]}, "decision": "A>B"}
    model = get_model(recording(tmp_path, scored))
    assert isinstance(model, RecordedModel)
    assert (model.cacheable, model.counts_calls, model.price(1000, 1000)) == (False, False, 0.0)
    result = await run_trial(single(model), Trial(case=CASE))
    assert result.verdict.winner == "A" and "scores [2.5, 1.0]" in result.turns[0].content


async def test_recorded_text_never_reads_as_a_tag(tmp_path: Path) -> None:
    tricky = CASE.model_copy(update={"id": "[[B]]"})
    result = await run_trial(single(recording(tmp_path, None, case=tricky)), Trial(case=tricky))
    assert result.verdict.status == "invalid"


def test_bad_recordings_and_specs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown decision 'A>>B'") as info:
        get_model(recording(tmp_path, entry("A>>B")))
    assert (info.value.line, info.value.field) == (1, "judgments.0.decision")
    with pytest.raises(InputError, match="one or two judgments"):
        get_model(recording(tmp_path, name="none.jsonl"))
    with pytest.raises(ConfigError, match="no such file or run directory"):
        get_model(f"recorded:{tmp_path / 'missing.jsonl'}")


# a previous courtgraph run as a judge

async def _run_dir(tmp_path: Path) -> tuple[Path, list[Case], dict[str, Record]]:
    cases = load_bench("sample").cases[:6]
    answers = {c.id: ("[[A]]", "I cannot tell.") if i % 3 == 0 else ("[[B]]", "[[C]]") for i, c in enumerate(cases)}

    def script(messages: list[Any], _schema: Any) -> str:
        text = messages[1]["content"]
        case = next(c for c in cases if c.candidates[0] in text and c.candidates[1] in text)
        first_shown = text.index(case.candidates[0]) < text.index(case.candidates[1])
        return answers[case.id][0 if first_shown else 1]

    graph = single(ScriptedModel(script))
    run = tmp_path / "run"
    store = RunStore(run)
    store.put_cases(cases)
    originals = {}
    for case in cases:
        originals[case.id] = await judge_case(graph, case, protocol="single")
        store.write(originals[case.id])
        store.write(originals[case.id].model_copy(update={"protocol": "other"}))
    store.close()
    return run, cases, originals


async def test_a_previous_run_replays_each_trial_verdict(tmp_path: Path) -> None:
    run, cases, originals = await _run_dir(tmp_path)
    graph = single(f"recorded:{run}#single")
    for case in cases:
        replayed = await judge_case(graph, case)
        before = originals[case.id]
        assert [(t.order, t.verdict.status, t.verdict.winner) for t in replayed.trials] == \
               [(t.order, t.verdict.status, t.verdict.winner) for t in before.trials]
        assert replayed.correct == before.correct and replayed.usage.calls == 0


async def test_run_directory_protocol_must_be_chosen(tmp_path: Path) -> None:
    run, _, _ = await _run_dir(tmp_path)
    with pytest.raises(ConfigError, match="several protocols in this run; give one of single, other"):
        get_model(f"recorded:{run}")
    with pytest.raises(ConfigError, match="no protocol 'jury'"):
        get_model(f"recorded:{run}#jury")
    with pytest.raises(InputError, match="not a courtgraph run"):
        get_model(f"recorded:{tmp_path}")
