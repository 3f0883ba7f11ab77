"""Properties of the pairwise figures on arbitrary records (hypothesis), against independent computations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from courtgraph.evals import stats
from courtgraph.evals.benchmarks import parse_mapping
from courtgraph.evals.measures import predicted_class
from courtgraph.evals.metrics import summarize
from courtgraph.graphs.trial import make_record
from courtgraph.schema import Case, Order, Record, TrialResult, Verdict

SAID = st.sampled_from(["A", "B", "tie", "invalid", "error"])


def _trial(order: Order, said: str) -> TrialResult:
    if said in ("invalid", "error"):
        return TrialResult(order=order, verdict=Verdict(status=said))  # type: ignore[arg-type]
    return TrialResult(order=order, verdict=Verdict(winner=said))  # type: ignore[arg-type]


@st.composite
def records(draw: st.DrawFn, golds: tuple[str, ...] = ("A", "B", "tie")) -> list[Record]:
    n = draw(st.integers(1, 30))
    out = []
    for i in range(n):
        gold = draw(st.sampled_from(golds))
        orders = draw(st.sampled_from([("AB",), ("AB", "BA")]))
        trials = [_trial(o, draw(SAID)) for o in orders]
        out.append(make_record(Case(id=f"c{i}", question="q", candidates=["x", "y"], label=gold), "p", trials))
    return out


@settings(max_examples=150, deadline=None)
@given(records(golds=("A", "B")))
def test_ab_gold_accuracy_is_judgebench_net_vote(recs: list[Record]) -> None:
    m = summarize(recs, "p", resamples=10).protocols["p"]
    assert m.accuracy == sum(bool(r.correct) for r in recs) / len(recs)


@settings(max_examples=150, deadline=None)
@given(records())
def test_figures_are_consistent_with_each_other_and_scikit_learn(recs: list[Record]) -> None:
    m = summarize(recs, "p", resamples=10).protocols["p"]
    if m.two_order_cases:
        assert m.agreement is not None and m.consistency is not None and m.agreement >= m.consistency
    assert m.ci95 is not None and m.accuracy is not None and m.ci95[0] <= m.accuracy <= m.ci95[1]
    gold = [str(r.label) for r in recs]
    pred = [predicted_class(r) for r in recs]
    present = [c for c in ("A", "B", "tie") if c in gold]
    assert m.macro_f1 is not None
    assert abs(m.macro_f1 - f1_score(gold, pred, labels=present, average="macro", zero_division=0)) < 1e-12
    assert sum(sum(row.values()) for row in m.confusion.values()) == len(recs)
    assert m.accuracy == sum(m.confusion[c][c] for c in m.confusion) / len(recs)


@given(st.integers(1, 400), st.data())
def test_wilson_interval_is_a_proper_interval(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    low, high = stats.wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(st.lists(st.sampled_from(["a1", "a2", "a3", "x", "y"]), min_size=2, max_size=5, unique=True))
def test_mapping_commas_inside_a_rule_or_template_do_not_separate(columns: list[str]) -> None:
    text = f"label=majority({','.join(columns)}),question={{{columns[0]}}}, {{{columns[1]}}},a=r1"
    parsed = parse_mapping(text)
    assert parsed == {"label": f"majority({','.join(columns)})", "question": f"{{{columns[0]}}}, {{{columns[1]}}}",
                      "a": "r1"}
