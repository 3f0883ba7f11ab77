"""Pairwise figures of one protocol's records, each under a named convention (docs/METRICS.md has the sources).

Kept apart from :mod:`courtgraph.evals.metrics` (which assembles the summary) so that each figure is a
small function a reader can check against its paper or code:

* :func:`predicted_class`: a record's combined class under a tie rule. ``judge-says-tie`` (the default):
  JudgeBench's net vote, except that two orders contradicting each other (one names A, the other B) are
  ``inconsistent``, not a tie, so a position-biased judge is never credited on tie gold. ``mtbench``:
  MT-Bench's convention, two valid orders that differ make a tie. For A/B gold ``judge-says-tie`` gives
  exactly JudgeBench's accuracy (a net vote of 0 is wrong either way).
* :func:`per_order_accuracy`, :func:`correct_both`, :func:`llmbar_agreement`: LLMBar's ``evaluate.py``
  (``correct_False``, ``correct_True``, ``correct_both``, ``equal``), where a trial with no verdict has
  winner ``None`` and two ``None`` winners agree.
* :func:`consistency`: courtgraph's stricter figure (both orders valid and equal).
* :func:`class_report`: per-class precision, recall, F1, macro-F1 and the confusion matrix against gold.
* :func:`prefer_rates`: the direction of position bias, shares of valid trials naming the first or
  the second response shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from courtgraph.evals import stats
from courtgraph.schema import LABELS, ORDERS, Label, Order, Record, TrialResult, net_vote

TieRule = Literal["judge-says-tie", "mtbench"]
TIE_RULES: tuple[TieRule, ...] = ("judge-says-tie", "mtbench")
#: Predicted class of a record whose orders name opposite sides (under ``judge-says-tie``).
INCONSISTENT = "inconsistent"
#: Predicted class of a record with no valid verdict (invalid, abstained, failed).
NO_VERDICT = "none"
PREDICTED = (*LABELS, INCONSISTENT, NO_VERDICT)


def pairwise_gold(record: Record) -> bool:
    return isinstance(record.label, str) and record.label in LABELS


def valid_winners(record: Record) -> list[Label]:
    """The case-frame winners of the record's valid trials, in trial order. A record kept without its
    trials (built by hand, or imported) votes once with its combined verdict."""
    if not record.trials:
        return [record.verdict.winner] if record.verdict.valid and record.verdict.winner is not None else []
    return [w for w in (t.case_winner for t in record.trials) if w is not None]


def predicted_class(record: Record, rule: TieRule = "judge-says-tie") -> str:
    """The record's combined class: A, B, tie, ``inconsistent`` or ``none`` (see the module docstring)."""
    winners = valid_winners(record)
    if not winners:
        return NO_VERDICT
    if rule == "mtbench" and len(winners) == 2 and winners[0] != winners[1]:
        return "tie"
    net = net_vote("A", winners)
    if net:
        return "A" if net > 0 else "B"
    return INCONSISTENT if "A" in winners and "B" in winners else "tie"


def pairwise_correct(record: Record, rule: TieRule) -> bool:
    return predicted_class(record, rule) == record.label


def two_orders(record: Record) -> tuple[TrialResult, TrialResult] | None:
    first, second = record.trial("AB"), record.trial("BA")
    return (first, second) if first is not None and second is not None else None


def share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def per_order_accuracy(records: Sequence[Record], order: Order) -> tuple[float | None, int]:
    """LLMBar's ``correct_False`` (order AB) / ``correct_True`` (order BA): the share of labelled pairwise
    cases judged in ``order`` whose trial names the gold label (no verdict is wrong), and their number."""
    trials = [(t, r.label) for r in records if pairwise_gold(r) for t in r.trials if t.order == order]
    return share(sum(t.case_winner == label for t, label in trials), len(trials)), len(trials)


def llmbar_accuracy(records: Sequence[Record]) -> float | None:
    """LLMBar's Acc. (``correct_average``): the mean of the per-order accuracies over the orders judged."""
    shares = [a for a in (per_order_accuracy(records, o)[0] for o in ORDERS) if a is not None]
    return stats.mean(shares) if shares else None


def correct_both(records: Sequence[Record]) -> float | None:
    """LLMBar's ``correct_both``: the share of labelled two-order cases whose two orders both name the label."""
    pairs = [(p, r.label) for r in records if pairwise_gold(r) and (p := two_orders(r)) is not None]
    return share(sum(a.case_winner == label and b.case_winner == label for (a, b), label in pairs), len(pairs))


def llmbar_agreement(records: Sequence[Record]) -> float | None:
    """LLMBar's Agr. (``equal``): the share of two-order cases whose two case-frame winners are equal, a
    trial with no verdict having winner None, so two non-answers agree (``evaluate.py``: ``equal +=
    (output_True == output_False)``)."""
    pairs = [p for p in map(two_orders, records) if p is not None]
    return share(sum(a.case_winner == b.case_winner for a, b in pairs), len(pairs))


def consistency(records: Sequence[Record]) -> tuple[float | None, int]:
    """courtgraph's consistency: the share of two-order cases whose orders are both valid and name the same
    case-frame winner (a tie in both agrees; a non-answer never does), and the number of such cases."""
    pairs = [p for p in map(two_orders, records) if p is not None]
    agree = sum(a.verdict.valid and b.verdict.valid and a.case_winner == b.case_winner for a, b in pairs)
    return share(agree, len(pairs)), len(pairs)


def kappa_between_orders(records: Sequence[Record]) -> float | None:
    """Cohen's kappa between the AB and BA trials' case-frame winners (classes A, B, tie, none)."""
    pairs = [p for p in map(two_orders, records) if p is not None]
    if not pairs:
        return None
    classes = [*LABELS, NO_VERDICT]
    first = [a.case_winner or NO_VERDICT for a, _ in pairs]
    second = [b.case_winner or NO_VERDICT for _, b in pairs]
    return stats.cohen_kappa(stats.confusion_matrix(first, second, classes))


def prefer_rates(records: Sequence[Record]) -> tuple[float | None, float | None]:
    """Shares of valid pairwise trials whose verdict names the response shown first / shown second."""
    said = [t.verdict.winner for r in records for t in r.trials if t.verdict.valid and t.verdict.winner]
    return share(said.count("A"), len(said)), share(said.count("B"), len(said))


class ClassMetrics(BaseModel):
    """Precision, recall and F1 of one gold class; ``support`` is its number of gold records."""

    precision: float | None
    recall: float | None
    f1: float | None
    support: int


class ClassReport(BaseModel):
    """Per-class figures over the gold classes present, their macro-F1, and the confusion matrix
    (``confusion[gold][predicted]``, predicted including ``inconsistent`` and ``none``)."""

    classes: dict[str, ClassMetrics]
    macro_f1: float | None
    tie_accuracy: float | None  # recall of the tie class: tie-gold records predicted tie
    kappa: float | None  # Cohen's kappa of the predicted class against gold
    confusion: dict[str, dict[str, int]]


def class_report(records: Sequence[Record], rule: TieRule) -> ClassReport | None:
    """Against pairwise gold only; None when a labelled record's gold is not a pairwise class.

    Precision of class c = #(pred c and gold c) / #(pred c), recall = #(pred c and gold c) / #(gold c),
    F1 their harmonic mean; an empty denominator gives 0 (scikit-learn's ``zero_division=0``). Macro-F1
    is the unweighted mean over the gold classes present.
    """
    labelled = [r for r in records if r.label is not None]
    if not labelled or not all(pairwise_gold(r) for r in labelled):
        return None
    gold = [str(r.label) for r in labelled]
    said = [predicted_class(r, rule) for r in labelled]
    matrix = stats.confusion_matrix(gold, said, PREDICTED)
    confusion = {g: dict(zip(PREDICTED, row, strict=True)) for g, row in zip(PREDICTED, matrix, strict=True)
                 if g in LABELS}
    present = [c for c in LABELS if c in gold]
    classes: dict[str, ClassMetrics] = {}
    for c in present:
        hit = confusion[c][c]
        predicted = sum(confusion[g][c] for g in LABELS)
        precision = hit / predicted if predicted else 0.0
        recall = hit / gold.count(c)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        classes[c] = ClassMetrics(precision=precision, recall=recall, f1=f1, support=gold.count(c))
    macro = stats.mean([m.f1 for m in classes.values() if m.f1 is not None]) if classes else None
    tie = classes.get("tie")
    return ClassReport(classes=classes, macro_f1=macro, tie_accuracy=tie.recall if tie else None,
                       kappa=stats.cohen_kappa(matrix), confusion=confusion)
