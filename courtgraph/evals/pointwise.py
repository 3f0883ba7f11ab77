"""Pointwise figures: scores against numeric gold (docs/METRICS.md gives each formula's source).

* correctness within a stated ``tolerance``: ``|score - gold| <= tolerance`` (``schema.is_correct``), so
  a mean-aggregating jury scoring 7.33 against gold 7 is right at tolerance 0.5 and wrong at 0;
* MAE, Pearson's r and Spearman's rho of the scores against the gold scores;
* pairwise accuracy from scores: over every pair of scored items, whether the scores' relation
  (>, <, or a tie when within ``tie_delta`` of each other, as MT-Bench's single-answer grading
  compares scores) equals the gold scores' relation (>, <, =).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from pydantic import BaseModel

from courtgraph.evals import stats
from courtgraph.schema import Record, is_correct


def numeric_gold(record: Record) -> bool:
    return isinstance(record.label, int | float) and not isinstance(record.label, bool)


def correct(record: Record, tolerance: float) -> bool | None:
    """``Record.correct`` with the tolerance applied to numeric gold (the record was scored exactly)."""
    if numeric_gold(record):
        return is_correct(record.verdict, record.label, tolerance)
    return record.correct


class ScoreMetrics(BaseModel):
    """Scores against numeric gold over the ``n`` records with a valid score."""

    n: int
    mae: float | None
    pearson: float | None
    spearman: float | None
    pairwise_accuracy: float | None
    pairs: int
    tolerance: float
    tie_delta: float


def _relation(a: float, b: float, delta: float) -> int:
    return 0 if abs(a - b) <= delta else (1 if a > b else -1)


def score_metrics(records: Sequence[Record], *, tolerance: float, tie_delta: float) -> ScoreMetrics | None:
    """None when no record has numeric gold."""
    gold_records = [r for r in records if numeric_gold(r)]
    if not gold_records:
        return None
    scored = [(float(r.verdict.score), float(r.label))  # type: ignore[arg-type]
              for r in gold_records if r.verdict.valid and r.verdict.score is not None]
    said, gold = [s for s, _ in scored], [g for _, g in scored]
    pairs = list(combinations(range(len(scored)), 2))
    agree = sum(_relation(said[i], said[j], tie_delta) == _relation(gold[i], gold[j], 0.0) for i, j in pairs)
    return ScoreMetrics(
        n=len(scored), mae=stats.mean([abs(s - g) for s, g in scored]) if scored else None,
        pearson=stats.pearson(said, gold), spearman=stats.spearman(said, gold),
        pairwise_accuracy=agree / len(pairs) if pairs else None, pairs=len(pairs),
        tolerance=tolerance, tie_delta=tie_delta,
    )
