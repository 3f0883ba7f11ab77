"""Recorded verdicts keyed by item id and order: mirrored, repeated and identical-response items replay
exactly; a recording without ids falls back to content with a warning; formats and their errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.evals.recorded import RecordingWarning, recorded_orders
from courtgraph.graphs import judge_case, run_trial, single
from courtgraph.models import ConfigError, get_model
from courtgraph.prompts import fence
from courtgraph.schema import ORDERS, Case, Label, Order, Trial

Q = "Which is better?"
#: mirrored (m1/m2), repeated (r1, r2 = m1's content), identical responses (same), all with other verdicts
CASES = [
    Case(id="m1", question=Q, candidates=["x", "y"], label="A"),
    Case(id="m2", question=Q, candidates=["y", "x"], label="B"),
    Case(id="r1", question=Q, candidates=["x", "y"], label="A"),
    Case(id="r2", question=Q, candidates=["x", "y"], label="A"),
    Case(id="same", question=Q, candidates=["z", "z"], label="tie"),
]
#: what each item's trial said, in the shown frame of each order
SAID: dict[str, dict[Order, Label]] = {
    "m1": {"AB": "A", "BA": "B"}, "m2": {"AB": "B", "BA": "tie"}, "r1": {"AB": "B", "BA": "A"},
    "r2": {"AB": "tie", "BA": "tie"}, "same": {"AB": "A", "BA": "B"},
}
DECISION = {"A": "A>B", "B": "B>A", "tie": "A=B"}


def judgebench_file(path: Path, cases: list[Case] = CASES) -> Path:
    lines = []
    for c in cases:
        judgments = [{"decision": DECISION[SAID[c.id][o]]} for o in ORDERS]
        lines.append(json.dumps({"pair_id": c.id, "question": c.question, "response_A": c.candidates[0],
                                 "response_B": c.candidates[1], "label": "A>B", "source": "livebench-math",
                                 "judgments": judgments}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def table_file(path: Path, *, ids: bool) -> Path:
    """The same verdicts as a CSV table: AB in its own column, BA in the case frame (frame=case)."""
    flip = {"A": "B", "B": "A", "tie": "tie"}
    rows = ["idx,question,a,b,first,second"] if ids else ["question,a,b,first,second"]
    code = {"A": "1", "B": "2", "tie": "Tie"}
    for c in CASES:
        cells = [c.question, c.candidates[0], c.candidates[1], code[SAID[c.id]["AB"]], code[flip[SAID[c.id]["BA"]]]]
        rows.append(",".join(([c.id] if ids else []) + cells))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def replayed(spec: str) -> dict[str, dict[Order, Label | None]]:
    graph = single(spec)
    out = {}
    for case in CASES:
        record = await judge_case(graph, case)
        out[case.id] = {t.order: t.verdict.winner for t in record.trials}
    return out


async def test_mirrored_repeated_and_identical_items_replay_exactly(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordingWarning)  # keyed by id: nothing to warn about
        assert await replayed(f"recorded:{judgebench_file(tmp_path / 'jb.jsonl')}") == SAID
        spec = f"recorded:{table_file(tmp_path / 't.csv', ids=True)}?id=idx&verdict=first&verdict_ba=second" \
               "&map=1:A,2:B,Tie:tie"
        assert await replayed(spec) == SAID


async def test_the_same_set_by_content_warns_and_collapses_repeats(tmp_path: Path) -> None:
    spec = f"recorded:{table_file(tmp_path / 't.csv', ids=False)}?verdict=first&verdict_ba=second&map=1:A,2:B,Tie:tie"
    with pytest.warns(RecordingWarning) as caught:
        got = await replayed(spec)
    said = " ".join(str(w.message) for w in caught)
    assert "no id= column" in said and "repeated items share one verdict" in said
    # mirrored and identical items are still apart (content in the case's order, the order from the Intent)
    assert got["m1"] == SAID["m1"] and got["m2"] == SAID["m2"] and got["same"] == SAID["same"]
    assert got["r1"] == got["r2"] == SAID["m1"]  # repeats share the first copy's verdict: the warned cost


async def test_a_call_without_an_intent_trial_reads_the_prompt_and_warns(tmp_path: Path) -> None:
    model = get_model(f"recorded:{judgebench_file(tmp_path / 'jb.jsonl', CASES[:2])}")
    prompt = [{"role": "user", "content": f"{Q}\n{fence('y', 'response_a')}\n{fence('x', 'response_b')}"}]
    with pytest.warns(RecordingWarning, match="no Intent.trial"):
        text = (await model.generate(prompt)).text  # type: ignore[arg-type]
    # (q, y, x) shown: either m1 in order BA (said B) or m2 in order AB (said B): both replay [[B]]
    assert text.endswith("[[B]]")


def test_one_order_recording_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    row = {"pair_id": "p", "question": Q, "response_A": "x", "response_B": "y", "label": "A>B",
           "source": "livebench-math", "judgments": [{"decision": "A>B"}]}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert recorded_orders([f"recorded:{path}"]) == ("AB",)
    assert recorded_orders([f"recorded:{judgebench_file(tmp_path / 'jb.jsonl')}"]) == ORDERS
    assert recorded_orders([f"recorded:{path}", "sim:0.7"]) is None  # not every model is a recording


def test_one_order_recording_runs_one_order_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps({"id": c.id, "question": c.question, "a": c.candidates[0],
                                         "b": c.candidates[1], "label": c.label}) + "\n" for c in CASES))
    verdicts = tmp_path / "v.json"
    verdicts.write_text(json.dumps([{"idx": c.id, "gpt_result": g} for c, g in
                                    zip(CASES, [1, 2, 1, "garbage", "Tie"], strict=True)]))
    spec = f"recorded:{verdicts}?id=idx&verdict=gpt_result&map=1:A,2:B,Tie:tie,garbage:invalid"
    with pytest.raises(SystemExit) as code:  # an invalid verdict is a verdict, not a failed record: exit 0
        main(["run", "--bench", f"jsonl:{bench}", "--map", "id=id", "-p", "single", "--judge", spec, "--no-cache",
              "--out", str(tmp_path / "run")])
    assert code.value.code in (None, 0)
    assert "cover order AB only: judging that order alone" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "run"), "--json"])
    m = json.loads(capsys.readouterr().out)["protocols"]["single"]
    assert m["two_order_cases"] == 0 and m["invalid_rate"] == pytest.approx(1 / 5)  # the garbage one only
    assert m["accuracy_ab"] == pytest.approx(4 / 5) and m["accuracy_ba"] is None  # all but the garbage one


def test_unreadable_recording_names_the_formats_and_the_first_misfit(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps([{"idx": 1, "gpt_result": "1"}]))
    with pytest.raises(InputError) as info:
        get_model(f"recorded:{path}")
    message = str(info.value)
    assert "JudgeBench output file" in message and "LLMBar result.json" in message and "verdict=COLUMN" in message
    assert "'[0].judgments' is missing" in message and "'[0].results' is missing" in message
    with pytest.raises(InputError, match=r"unknown verdict 'garbage'.*map=garbage:A"):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"idx": 1, "v": "garbage"}) + "\n")
        get_model(f"recorded:{bad}?id=idx&verdict=v")
    with pytest.raises(ConfigError, match="'color=red' is not an option"):
        get_model(f"recorded:{path}?color=red")
    with pytest.raises(ConfigError, match="expected VALUE:LABEL"):
        get_model(f"recorded:{path}?id=idx&verdict=gpt_result&map=1:left")


async def test_duplicate_ids_in_a_table_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(json.dumps({"idx": "a", "v": "A"}) + "\n" for _ in range(2)))
    with pytest.raises(InputError, match="duplicate id 'a'") as info:
        get_model(f"recorded:{path}?id=idx&verdict=v")
    assert info.value.line == 2


async def test_scores_are_not_replayed(tmp_path: Path) -> None:
    graph = single(f"recorded:{judgebench_file(tmp_path / 'jb.jsonl')}", mode="pointwise")
    result = await run_trial(graph, Trial(case=Case(id="m1", question=Q, candidates=["x"], label=5.0)))
    assert result.verdict.status in ("error", "invalid")




async def test_the_python_api_also_judges_a_one_order_recording_in_that_order(tmp_path: Path) -> None:
    from courtgraph.evals import run_async
    from courtgraph.graphs.registry import Roles

    verdicts = tmp_path / "v.json"
    verdicts.write_text(json.dumps([{"idx": c.id, "gpt_result": 1} for c in CASES]))
    spec = f"recorded:{verdicts}?id=idx&verdict=gpt_result&map=1:A,2:B"
    results = await run_async(list(CASES), ["single"], roles=Roles(judge=spec), out=tmp_path / "run", cache=None,
                              progress=False)
    assert {t.order for r in results.records for t in r.trials} == {"AB"}  # not a BA trial reported invalid
    assert not any(r.verdict.status == "invalid" for r in results.records)
    both = await run_async(list(CASES), ["single"], roles=Roles(judge=spec), orders=("AB", "BA"),
                           out=tmp_path / "both", cache=None, progress=False)
    assert {t.order for r in both.records for t in r.trials} == {"AB", "BA"}  # asked for both: both
