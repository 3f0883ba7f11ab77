"""A 3-way set whose gold is the majority of three annotators, judged by a recorded one-order judge in a
generic verdict table, against scikit-learn; the tie-gold conventions; numeric gold."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score, precision_score, recall_score

from courtgraph.cli import main
from courtgraph.evals.benchmarks import load_bench
from courtgraph.evals.metrics import summarize
from courtgraph.evals.report import summary_markdown
from courtgraph.graphs.trial import make_record
from courtgraph.schema import Case, Label, Order, TrialResult, Verdict

CODES = {"A": 1, "B": 2, "tie": "Tie"}
LABELS = ("A", "B", "tie")
PREDICTED = ("A", "B", "tie", "inconsistent", "none")


def three_way_set(tmp_path: Path, n: int = 90) -> tuple[Path, Path, dict[str, str], dict[str, str]]:
    """Items with three annotators (some without a majority) and a judge's verdicts (some garbage)."""
    rng = random.Random(13)
    items, verdicts, gold, said = [], [], {}, {}
    for i in range(n):
        votes = [rng.choice(LABELS) for _ in range(3)]
        if i % 9 == 0:
            votes = ["A", "B", "tie"]  # no majority: left out
        items.append({"idx": f"q{i}", "instruction": f"Task {i}", "input": True if i % 2 else 3.5,
                      "output_1": f"one {i}", "output_2": f"two {i}",
                      "ann1": votes[0], "ann2": votes[1], "ann3": votes[2] if i % 7 else None})
        counted = votes if i % 7 else votes[:2]  # ann3 null: no vote
        top = max(set(counted), key=counted.count)
        if counted.count(top) * 2 > len(counted):
            gold[f"q{i}"] = top
        verdict = rng.choice([*LABELS, "A", "B", "garbage"])
        verdicts.append({"idx": f"q{i}", "gpt_result": CODES.get(verdict, verdict)})
        said[f"q{i}"] = verdict if verdict in LABELS else "none"
    bench = tmp_path / "three.jsonl"
    bench.write_text("".join(json.dumps(item) + "\n" for item in items))
    recorded = tmp_path / "verdicts.json"  # a JSON array: read by content
    recorded.write_text(json.dumps(verdicts))
    return bench, recorded, gold, said


MAP = "id=idx,question={instruction}\\n\\n{input},a=output_1,b=output_2,label=majority(ann1,ann2,ann3)"


def test_majority_gold_loads_with_templates_and_counts(tmp_path: Path) -> None:
    bench, _, gold, _ = three_way_set(tmp_path)
    loaded = load_bench(f"jsonl:{bench}", field_map=MAP)
    assert {c.id: c.label for c in loaded.cases} == gold
    questions = {c.id: c.question for c in loaded.cases}
    assert questions["q1"] == "Task 1\n\ntrue" and questions["q2"] == "Task 2\n\n3.5"  # any JSON scalar is text
    counts = {label: list(gold.values()).count(label) for label in LABELS}
    note = loaded.notes[0]
    assert note.startswith("gold = majority(ann1, ann2, ann3): ")
    assert f"A {counts['A']}, B {counts['B']}, tie {counts['tie']}" in note
    assert f"{90 - len(gold)} item(s) without a majority left out" in note
    unanimous = load_bench(f"jsonl:{bench}", field_map=MAP.replace("majority(", "unanimous("))
    assert all(c.label in LABELS for c in unanimous.cases) and len(unanimous.cases) < len(gold)
    as_tie = load_bench(f"jsonl:{bench}", field_map=MAP.replace("ann3)", "ann3,else=tie)"))
    assert len(as_tie.cases) == 90 and "labelled tie" in as_tie.notes[0]


def test_recorded_one_order_judge_matches_scikit_learn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench, recorded, gold, said = three_way_set(tmp_path)
    spec = f"recorded:{recorded}?id=idx&verdict=gpt_result&map=1:A,2:B,Tie:tie,garbage:invalid"
    with pytest.raises(SystemExit) as code:
        main(["run", "--bench", f"jsonl:{bench}", "--map", MAP, "-p", "single", "--judge", spec, "--no-cache",
              "--out", str(tmp_path / "run")])
    assert code.value.code in (None, 0)
    err = capsys.readouterr().err
    assert "note: gold = majority(ann1, ann2, ann3)" in err and "cover order AB only" in err
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "run"), "--json"])
    m = json.loads(capsys.readouterr().out)["protocols"]["single"]

    ids = sorted(gold)
    y_true = [gold[i] for i in ids]
    y_pred = [said[i] for i in ids]
    present = [c for c in LABELS if c in y_true]
    assert m["n"] == len(ids) and m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["accuracy_ab"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=present, average="macro",
                                                   zero_division=0), abs=1e-12)
    for metric, key in ((precision_score, "precision"), (recall_score, "recall"), (f1_score, "f1")):
        expected = metric(y_true, y_pred, labels=present, average=None, zero_division=0)
        assert [m["classes"][c][key] for c in present] == pytest.approx(list(expected), abs=1e-12)
    assert m["tie_accuracy"] == pytest.approx(recall_score(y_true, y_pred, labels=["tie"], average=None)[0])
    assert m["kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred), abs=1e-12)
    matrix = confusion_matrix(y_true, y_pred, labels=list(PREDICTED))
    assert [[m["confusion"][g][p] for p in PREDICTED] for g in LABELS] == matrix[:3].tolist()
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "run"), "--metrics"])
    text = capsys.readouterr().out
    assert "Metrics by convention" in text and "Per class" in text
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "run"), "--json", "--tie-rule", "mtbench"])
    out = json.loads(capsys.readouterr().out)
    assert out["conventions"]["tie_rule"] == "mtbench" and "mtbench" in out["definitions"]["accuracy"]
    with pytest.raises(SystemExit) as code:
        main(["report", str(tmp_path / "run"), "--tie-rule", "coin-flip"])
    assert code.value.code == 2 and "unknown tie rule 'coin-flip'" in capsys.readouterr().err


def contradiction(case_id: str) -> list[TrialResult]:
    """A judge that names the first response shown in both orders (A in AB, A in BA)."""
    return [TrialResult(order=o, verdict=Verdict(winner="A")) for o in ("AB", "BA")]


def test_tie_gold_self_contradiction_scores_0_by_default_and_100_under_mtbench() -> None:
    records = [make_record(Case(id=f"t{i}", question="q", candidates=["x", "y"], label="tie"), "single",
                           contradiction(f"t{i}")) for i in range(5)]
    assert all(r.correct for r in records)  # the raw net vote (a 0 is a tie) would credit it
    default = summarize(records)
    mtbench = summarize(records, tie_rule="mtbench")
    assert default.protocols["single"].accuracy == 0.0 and default.protocols["single"].tie_accuracy == 0.0
    assert mtbench.protocols["single"].accuracy == 1.0 and mtbench.protocols["single"].tie_accuracy == 1.0
    assert default.protocols["single"].consistency == 0.0
    assert "tie rule judge-says-tie" in summary_markdown(default).lower()
    assert "tie rule mtbench" in summary_markdown(mtbench).lower()
    assert default.to_json()["conventions"]["tie_rule"] == "judge-says-tie"
    assert "mtbench" in mtbench.to_json()["definitions"]["accuracy"]


def test_ab_gold_accuracy_is_judgebench_under_either_tie_rule() -> None:
    said: list[tuple[Label, Label, Label]] = [("A", "A", "B"), ("A", "A", "A"), ("A", "tie", "B"), ("B", "A", "tie"),
                                              ("A", "B", "A"), ("B", "tie", "tie")]
    records = []
    for i, (gold, ab, ba) in enumerate(said):
        orders: tuple[Order, Order] = ("AB", "BA")
        trials = [TrialResult(order=o, verdict=Verdict(winner=w)) for o, w in zip(orders, (ab, ba), strict=True)]
        records.append(make_record(Case(id=f"c{i}", question="q", candidates=["x", "y"], label=gold), "s", trials))
    judgebench = sum(bool(r.correct) for r in records) / len(records)
    assert summarize(records, "s").protocols["s"].accuracy == pytest.approx(judgebench)
    # MT-Bench: orders that differ make a tie, so (A, tie -> case A, tie) is wrong there, right for JudgeBench
    assert summarize(records, "s", tie_rule="mtbench").protocols["s"].accuracy == pytest.approx(1 / 6)


def test_numeric_gold_tolerance_and_correlations() -> None:
    from scipy.stats import pearsonr, spearmanr

    gold = [7.0, 3.0, 5.0, 9.0, 1.0, 5.0]
    scores = [7.33, 2.0, 5.0, 8.0, 1.5, 6.0]
    records = [make_record(Case(id=f"p{i}", question="q", candidates=["x"], label=g), "s",
                           [TrialResult(order="AB", verdict=Verdict(score=s))]) for i, (g, s) in
               enumerate(zip(gold, scores, strict=True))]
    exact = summarize(records, "s").protocols["s"]
    loose = summarize(records, "s", tolerance=0.5).protocols["s"]
    assert exact.accuracy == pytest.approx(1 / 6) and loose.accuracy == pytest.approx(3 / 6)  # 7.33, 5, 1.5
    s = loose.scores
    assert s is not None and s.n == 6 and s.tolerance == 0.5
    assert s.mae == pytest.approx(sum(abs(a - b) for a, b in zip(scores, gold, strict=True)) / 6)
    assert s.pearson == pytest.approx(pearsonr(scores, gold)[0]) and s.spearman == pytest.approx(spearmanr(scores,
                                                                                                         gold)[0])
    by_delta = summarize(records, "s", tie_delta=1.0).protocols["s"].scores
    assert by_delta is not None and by_delta.tie_delta == 1.0 and by_delta.pairs == 15
    # by hand: gold relations vs score relations with |diff| <= 1 a tie; the pair (5, 5) is a gold tie
    def rel(a: float, b: float, d: float) -> int:
        return 0 if abs(a - b) <= d else (1 if a > b else -1)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    want = sum(rel(scores[i], scores[j], 1.0) == rel(gold[i], gold[j], 0.0) for i, j in pairs) / 15
    assert by_delta.pairwise_accuracy == pytest.approx(want)
