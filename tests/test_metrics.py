"""Metrics on hand-built records with known answers, and JudgeBench's published numbers from its files."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from published import DECISIONS, OUTPUTS, PUBLISHED

from courtgraph.evals import stats
from courtgraph.evals.metrics import summarize
from courtgraph.graphs.trial import make_record
from courtgraph.schema import Case, Label, Order, Record, Status, TrialResult, Turn, Usage, Verdict


def trial(order: Order, winner: Label | None, status: Status = "ok", *, usage: Usage | None = None,
          model: str = "scripted:judge") -> TrialResult:
    """A trial whose verdict names ``winner`` in the *shown* frame of ``order``."""
    verdict = Verdict(winner=winner if status == "ok" else None, status=status)
    usage = usage or Usage(calls=1, input_tokens=100, output_tokens=10, cost_usd=0.001)
    return TrialResult(order=order, verdict=verdict, usage=usage, latency_s=0.5,
                       turns=[Turn(role="judge", agent="judge", content="...", model=model, usage=usage)])


FAILURES: dict[str, Status] = {"invalid": "invalid", "error": "error", "abstain": "abstain"}
WINNERS: dict[str, Label] = {"A": "A", "B": "B", "tie": "tie"}


def record(case_id: str, label: Label, ab: str, ba: str | None = None, *, protocol: str = "single",
           category: str | None = None, **kw: Any) -> Record:
    """A record from what each trial said in its *shown* frame: a winner, or a failure status word.

    With ``ba=None`` only the AB order is judged.
    """
    def one(order: Order, said: str) -> TrialResult:
        if said in FAILURES:
            return trial(order, None, FAILURES[said], **kw)
        return trial(order, WINNERS[said], **kw)

    trials = [one("AB", ab)] + ([] if ba is None else [one("BA", ba)])
    case = Case(id=case_id, question="q", candidates=["x", "y"], label=label, category=category)
    return make_record(case, protocol, trials)


def test_net_vote_edge_cases() -> None:
    # Label A. In the BA trial the correct answer is shown second, so "B" there names the case's A.
    recs = [
        record("tie_plus_correct", "A", "tie", "B"),  # +0 +1 -> correct
        record("correct_plus_tie", "A", "A", "tie"),  # +1 +0 -> correct
        record("inconsistent", "A", "A", "A"),  # +1 -1 -> tie -> wrong
        record("both_ties", "A", "tie", "tie"),  # 0 -> wrong
        record("invalid_plus_correct", "A", "invalid", "B"),  # null votes 0 -> correct
        record("both_failed", "A", "invalid", "error"),  # no verdict -> wrong, never a side
        record("both_wrong", "A", "B", "A"),  # -2 -> wrong
    ]
    correct = {r.case_id: r.correct for r in recs}
    assert correct == {"tie_plus_correct": True, "correct_plus_tie": True, "inconsistent": False,
                       "both_ties": False, "invalid_plus_correct": True, "both_failed": False,
                       "both_wrong": False}
    m = summarize(recs).protocols["single"]
    assert m.n == 7 and m.n_labelled == 7
    assert m.accuracy == pytest.approx(3 / 7)
    assert m.ci95 is not None and m.ci95[0] <= 3 / 7 <= m.ci95[1]


def test_agreement_consistency_and_rates() -> None:
    recs = [
        record("agree", "A", "A", "B"),  # both say case-A
        record("agree_tie", "A", "tie", "tie"),  # a tie in both orders agrees
        record("disagree", "A", "A", "A"),  # position bias: always the first shown
        record("one_invalid", "A", "A", "invalid"),
        record("both_invalid", "A", "invalid", "invalid"),  # two non-answers: LLMBar's Agr counts them equal
        record("one_order_only", "A", "A"),  # not a two-order case
    ]
    m = summarize(recs).protocols["single"]
    assert m.two_order_cases == 5
    # LLMBar's Agr is over all N two-order cases, and (evaluate.py: output_True == output_False) two null
    # winners are equal; courtgraph's consistency needs both orders valid
    assert m.agreement == pytest.approx(3 / 5)
    assert m.consistency == pytest.approx(2 / 5)  # an invalid trial makes the case inconsistent
    # 11 trials: 3 invalid, 2 valid ties.
    assert m.invalid_rate == pytest.approx(3 / 11)
    assert m.tie_rate == pytest.approx(2 / 11)
    assert m.error_rate == 0.0 and m.abstain_rate == 0.0


def test_llmbar_accuracy_is_mean_over_orders() -> None:
    recs = [
        record("c1", "A", "A", "B"),  # AB right, BA right (shown "B" is the case's A)
        record("c2", "B", "B", "A"),  # AB right, BA right
        record("c3", "A", "A", "tie"),  # AB right, BA wrong; net +1 -> correct for JudgeBench
        record("c4", "B", "A", "invalid"),  # AB wrong, BA invalid (wrong)
    ]
    m = summarize(recs).protocols["single"]
    assert m.llmbar_accuracy == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert m.accuracy == pytest.approx(3 / 4)


def test_kappa_against_labels() -> None:
    # Combined verdicts vs labels: (A,A) x3, (B,B) x2, (A,B) x1 said B for an A, (B, none) x1 failed.
    recs = [record(f"a{i}", "A", "A", "B") for i in range(3)]
    recs += [record(f"b{i}", "B", "B", "A") for i in range(2)]
    recs += [record("miss", "A", "B", "A"), record("fail", "B", "error", "error")]
    m = summarize(recs).protocols["single"]
    # Classes A, B, tie, none. Rows = label: A (4): [3, 1, 0, 0]; B (3): [0, 2, 0, 1].
    expected = stats.cohen_kappa([[3, 1, 0, 0], [0, 2, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert expected is not None
    # by hand: p_o = 5/7; rows (4,3), cols (3,3,0,1) -> p_e = (12 + 9)/49 = 3/7; kappa = (2/7)/(4/7) = 0.5
    assert expected == pytest.approx(0.5)
    assert m.kappa == pytest.approx(expected)


def test_cost_unknown_stays_unknown_and_cache_hits_count_as_calls() -> None:
    known = record("c1", "A", "A", "B")
    unknown = record("c2", "A", "A", "B", usage=Usage(calls=1, input_tokens=50, output_tokens=5, cost_usd=None))
    m = summarize([known, unknown]).protocols["single"]
    assert m.cost_usd is None and m.cost_per_case_usd is None
    assert m.calls_per_case == 2.0

    hit = Usage(cache_hits=1, saved_input_tokens=100, saved_output_tokens=10, saved_usd=0.001, cost_usd=0.0)
    cached = record("c3", "A", "A", "B", usage=hit)
    m = summarize([known, cached]).protocols["single"]
    assert m.cost_usd == pytest.approx(0.002)  # billed: only the uncached record
    assert m.saved_usd == pytest.approx(0.002)
    assert m.cost_per_case_usd == pytest.approx(0.002)  # (billed + saved) / 2 cases
    assert m.calls_per_case == 2.0 and m.cache_hits == 2
    assert m.tokens_per_case == pytest.approx(220.0)
    assert m.input_tokens_per_case == pytest.approx(200.0) and m.output_tokens_per_case == pytest.approx(20.0)
    assert m.compute_per_case_s == pytest.approx(1.0)  # two trials of 0.5 s each
    assert m.latency_per_case_s == pytest.approx(0.5)  # run concurrently: the wall time is the longer one


def test_paired_comparison_with_mcnemar() -> None:
    ids = [f"c{i}" for i in range(12)]
    base = [record(i, "A", "A", "B") if k < 4 else record(i, "A", "B", "A") for k, i in enumerate(ids)]
    # The jury fixes 6 of the baseline's 8 misses and breaks 1 of its 4 hits, plus a case the
    # baseline never judged (excluded from the pairing).
    jury_right = {*ids[1:4], *ids[4:10]}
    jury = [record(i, "A", "A", "B", protocol="jury") if i in jury_right else record(i, "A", "B", "A", protocol="jury")
            for i in ids]
    jury.append(record("extra", "A", "A", "B", protocol="jury"))
    summary = summarize(base + jury, baseline="single")
    assert list(summary.protocols) == ["single", "jury"]
    assert summary.baseline == "single"
    cmp = summary.protocols["jury"].vs_baseline
    assert (cmp.n, cmp.wins, cmp.losses) == (12, 6, 1)
    assert cmp.delta == pytest.approx(9 / 12 - 4 / 12)
    assert cmp.p_value == pytest.approx(stats.mcnemar_exact(6, 1))
    assert cmp.p_value == pytest.approx(2 * (1 + 7) / 128)
    assert cmp.ci95 is not None and cmp.ci95[0] <= 5 / 12 <= cmp.ci95[1]
    assert summary.protocols["jury"].n == 13  # the extra case still counts for the jury's own accuracy
    own = summary.protocols["single"].vs_baseline
    assert own.delta is None and own.p_value is None and own.baseline == "single"


def test_baseline_first_and_absent_baseline() -> None:
    recs = [record("c1", "A", "A", "B", protocol="jury"), record("c1", "A", "A", "B", protocol="single")]
    assert list(summarize(recs).protocols) == ["single", "jury"]
    summary = summarize(recs, baseline="debate")
    assert summary.baseline is None
    assert all(m.vs_baseline.p_value is None for m in summary.protocols.values())


def test_by_category() -> None:
    recs = [record("k1", "A", "A", "B", category="knowledge"), record("k2", "A", "B", "A", category="knowledge"),
            record("m1", "B", "B", "A", category="math"), record("x", "B", "B", "A")]
    cats = summarize(recs).protocols["single"].by_category
    assert {k: (v.n, v.accuracy) for k, v in cats.items()} == {
        "knowledge": (2, 0.5), "math": (1, 1.0), "uncategorized": (1, 1.0)}
    assert summarize([record("x", "A", "A", "B")]).protocols["single"].by_category == {}


def test_pointwise_records_do_not_crash() -> None:
    case = Case(id="p1", question="rate", candidates=["x"], label=7.0)
    good = make_record(case, "single", [TrialResult(order="AB", verdict=Verdict(score=7.0))])
    bad = make_record(case.model_copy(update={"id": "p2"}), "single",
                      [TrialResult(order="AB", verdict=Verdict(score=3.0))])
    m = summarize([good, bad]).protocols["single"]
    assert m.accuracy == pytest.approx(0.5)
    assert m.kappa is None and m.llmbar_accuracy is None and m.consistency is None and m.agreement is None


def test_unlabelled_records_have_no_accuracy() -> None:
    case = Case(id="u", question="q", candidates=["x", "y"])
    rec = make_record(case, "single", [trial("AB", "A"), trial("BA", "B")])
    m = summarize([rec]).protocols["single"]
    assert m.n == 1 and m.n_labelled == 0 and m.accuracy is None and m.ci95 is None and m.kappa is None
    assert m.consistency == 1.0


def test_simulated_flag() -> None:
    real = record("c1", "A", "A", "B")
    sim = record("c1", "A", "A", "B", protocol="jury", model="sim:juror?acc=0.7")
    summary = summarize([real, sim])
    assert summary.simulated
    assert summary.protocols["jury"].simulated and not summary.protocols["single"].simulated
    assert not summarize([real]).simulated


def test_to_json_shape() -> None:
    recs = [record("c1", "A", "A", "B", category="math"), record("c2", "B", "B", "B", category="math"),
            record("c1", "A", "A", "B", protocol="jury", category="math"),
            record("c2", "B", "B", "A", protocol="jury", category="math")]
    out = summarize(recs).to_json()
    json.dumps(out, allow_nan=False)  # strict JSON: no NaN anywhere
    assert out["baseline"] == "single" and out["simulated"] is False
    jury = out["protocols"]["jury"]
    for key in ("accuracy", "n", "ci95", "consistency", "invalid_rate", "by_category", "calls_per_case",
                "tokens_per_case", "cost_usd", "vs_baseline"):
        assert key in jury
    assert jury["accuracy"] == 1.0 and jury["n"] == 2
    assert isinstance(jury["ci95"], list) and len(jury["ci95"]) == 2
    assert jury["by_category"]["math"] == {"n": 2, "accuracy": 1.0, "ci95": list(stats.wilson_interval(2, 2))}
    assert jury["ci95"] == list(stats.wilson_interval(2, 2)) and jury["ci95"][1] == 1.0
    numeric = {k for k, v in jury.items() if k != "protocol"}
    assert numeric <= set(out["definitions"]), numeric - set(out["definitions"])  # every figure is defined
    assert out["conventions"]["tie_rule"] == "judge-says-tie" and out["conventions"]["proportion_interval"]
    assert jury["vs_baseline"]["delta"] == pytest.approx(0.5)
    assert jury["vs_baseline"]["p_value"] == pytest.approx(1.0)  # one discordant case


# --- JudgeBench's published numbers, computed straight from its recorded verdicts -----------------



def _category(source: str) -> str:
    if source.startswith("mmlu-pro"):
        return "knowledge"
    return {"livebench-reasoning": "reasoning", "livebench-math": "math", "livecodebench": "coding"}[source]


def _judgebench_records(path: Path) -> list[Record]:
    """Records from a JudgeBench output file, built independently of the recorded-judge model."""
    two_orders = path.name.startswith("arena_hard")  # reward models are scored on one order
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        case = Case(id=row["pair_id"], question=row["question"],
                    candidates=[row["response_A"], row["response_B"]],
                    label=DECISIONS[row["label"]], category=_category(row["source"]))
        trials = []
        orders: tuple[Order, Order] = ("AB", "BA")
        for order, judged in zip(orders, row["judgments"][: 2 if two_orders else 1], strict=False):
            # Entry 1 judged (B, A): its decision is already in that trial's shown frame.
            if judged is None:
                verdict = Verdict.failed("the call failed")
            elif judged["decision"] is None:
                verdict = Verdict.invalid(str(judged["judgment"].get("response")), "no decision")
            else:
                verdict = Verdict(winner=DECISIONS[judged["decision"]])
            trials.append(TrialResult(order=order, verdict=verdict))
        out.append(make_record(case, path.name.removesuffix(".jsonl"), trials))
    return out


@pytest.mark.skipif(not OUTPUTS.is_dir(), reason=f"JudgeBench outputs not found at {OUTPUTS}")
def test_judgebench_published_accuracy_from_recorded_verdicts() -> None:
    records = [r for name in PUBLISHED for r in _judgebench_records(OUTPUTS / f"{name}.jsonl")]
    summary = summarize(records, resamples=200)
    for name, (knowledge, reasoning, math_, coding, overall) in PUBLISHED.items():
        m = summary.protocols[name]
        assert m.n == 350
        assert m.accuracy is not None and round(100 * m.accuracy, 2) == overall, name
        got = {c: round(100 * (v.accuracy or 0.0), 2) for c, v in m.by_category.items()}
        assert got == {"knowledge": knowledge, "reasoning": reasoning, "math": math_, "coding": coding}, name
        assert {c: v.n for c, v in m.by_category.items()} == {"knowledge": 154, "reasoning": 98, "math": 56,
                                                               "coding": 42}
    arena = summary.protocols["arena_hard,judge_model=o1-mini-2024-09-12"]
    assert arena.two_order_cases == 350 and arena.consistency is not None
    # Raw decisions (A>B, B>A) and (B>A, A>B) name the same case-frame winner (121 and 114 lines),
    # as do the 5 double ties; every other line of the file disagrees across the orders.
    assert arena.consistency == pytest.approx((121 + 114 + 5) / 350)


def test_per_order_figures_kappas_and_position_bias_against_an_independent_computation() -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(3)
    flip = {"A": "B", "B": "A", "tie": "tie"}
    recs, gold, case_ab, case_ba, shown = [], [], [], [], []
    for i in range(120):
        label = rng.choice(["A", "B", "tie"])
        ab, ba = rng.choice(["A", "B", "tie", "invalid"]), rng.choice(["A", "B", "tie", "invalid"])
        recs.append(record(f"c{i}", label, ab, ba))  # type: ignore[arg-type]
        gold.append(label)
        case_ab.append(ab if ab != "invalid" else None)
        case_ba.append(flip[ba] if ba != "invalid" else None)
        shown += [s for s in (ab, ba) if s != "invalid"]
    m = summarize(recs).protocols["single"]
    assert m.accuracy_ab == pytest.approx(sum(a == g for a, g in zip(case_ab, gold, strict=True)) / 120)
    assert m.accuracy_ba == pytest.approx(sum(b == g for b, g in zip(case_ba, gold, strict=True)) / 120)
    assert m.correct_both == pytest.approx(sum(a == g == b for a, b, g in zip(case_ab, case_ba, gold,
                                                                                strict=True)) / 120)
    assert m.llmbar_accuracy == pytest.approx(((m.accuracy_ab or 0) + (m.accuracy_ba or 0)) / 2)
    assert m.agreement == pytest.approx(sum(a == b for a, b in zip(case_ab, case_ba, strict=True)) / 120)
    none = "none"
    assert m.kappa_orders == pytest.approx(cohen_kappa_score([a or none for a in case_ab],
                                                             [b or none for b in case_ba]), abs=1e-12)
    assert m.prefer_first_rate == pytest.approx(shown.count("A") / len(shown))
    assert m.prefer_second_rate == pytest.approx(shown.count("B") / len(shown))
