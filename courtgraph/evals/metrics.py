"""Per-protocol metrics from records, and the paired comparison with a baseline.

Each figure's definition, under the conventions in force, is in :mod:`courtgraph.evals.definitions`
(printed with ``report --json``) and its formula and source in docs/METRICS.md. In short:

* **accuracy**: JudgeBench's two-order net vote, with the tie rule in force for tie gold
  (:func:`courtgraph.evals.measures.predicted_class`; for A/B gold it is exactly ``Record.correct``) and
  the tolerance in force for numeric gold. Invalid and failed verdicts are wrong, never skipped.
* LLMBar's figures as its ``evaluate.py`` computes them: Acc. (``llmbar_accuracy``), per-order accuracy
  (``accuracy_ab`` = ``correct_False``, ``accuracy_ba`` = ``correct_True``), ``correct_both`` and Agr.
  (``agreement``, two non-answers agree); courtgraph's stricter ``consistency`` is a separate figure.
* For pairwise gold: per-class precision / recall / F1, macro-F1, tie accuracy, the confusion matrix,
  Cohen's kappa against gold and between the orders, and the prefer-first / prefer-second rates.
* For numeric gold: MAE, Pearson and Spearman correlations, pairwise accuracy from scores.
* Intervals: Wilson with continuity correction for proportions (``stats.wilson_interval``); the paired
  percentile bootstrap for the difference with the baseline, seeded, with the exact McNemar p-value.
* Costs: per case, cache hits count as calls and their tokens as tokens; ``cost_usd`` is what was
  billed and ``saved_usd`` what the cache saved. An unknown price makes the total unknown (None).
* Latency: ``latency_per_case_s`` is wall time (the longest trial: a case's orders run concurrently),
  ``compute_per_case_s`` the sum of the trials' times.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from courtgraph.evals import measures, stats
from courtgraph.evals.definitions import conventions, definitions
from courtgraph.evals.measures import ClassReport, TieRule
from courtgraph.evals.pointwise import ScoreMetrics, score_metrics
from courtgraph.evals.pointwise import correct as pointwise_correct
from courtgraph.schema import Record, Usage

#: Class of a combined verdict that does not count (invalid, abstain, error) in the kappa matrix.
NO_VERDICT = measures.NO_VERDICT
#: ``by_category`` key for records without a category.
UNCATEGORIZED = "uncategorized"


class CategoryMetrics(BaseModel):
    """Accuracy on one category's labelled records."""

    n: int
    accuracy: float | None
    ci95: tuple[float, float] | None = None


class Comparison(BaseModel):
    """A protocol against the baseline on the same cases. All None for the baseline itself or when
    the baseline is absent from the records (``baseline`` says which one was meant)."""

    baseline: str | None = None
    n: int = 0  # labelled cases judged by both
    delta: float | None = None  # accuracy(protocol) - accuracy(baseline) on those cases
    ci95: tuple[float, float] | None = None  # paired bootstrap interval of delta
    p_value: float | None = None  # exact McNemar, two-sided
    wins: int = 0  # cases only the protocol got right (McNemar's b)
    losses: int = 0  # cases only the baseline got right (McNemar's c)


class ProtocolMetrics(BaseModel):
    """Everything the report shows about one protocol. Rates are fractions in [0, 1]; each key's
    definition is in :func:`courtgraph.evals.definitions.definitions`."""

    protocol: str
    n: int
    n_labelled: int
    accuracy: float | None
    ci95: tuple[float, float] | None
    llmbar_accuracy: float | None
    accuracy_ab: float | None = None
    accuracy_ba: float | None = None
    correct_both: float | None = None
    agreement: float | None
    consistency: float | None
    two_order_cases: int
    tie_rate: float | None
    invalid_rate: float | None
    abstain_rate: float | None
    error_rate: float | None
    quorum_decided: int = 0  # records decided under a quorum rule with members missing (Verdict.quorum)
    kappa: float | None
    kappa_orders: float | None = None
    prefer_first_rate: float | None = None
    prefer_second_rate: float | None = None
    macro_f1: float | None = None
    tie_accuracy: float | None = None
    classes: dict[str, measures.ClassMetrics] = Field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict)
    scores: ScoreMetrics | None = None
    by_category: dict[str, CategoryMetrics] = Field(default_factory=dict)
    calls_per_case: float
    input_tokens_per_case: float
    output_tokens_per_case: float
    tokens_per_case: float
    cost_usd: float | None  # billed in this run
    saved_usd: float | None  # saved by the response cache
    prompt_cache_saved_usd: float | None = 0.0  # saved by the providers' prompt caching (already in cost_usd)
    cost_per_case_usd: float | None  # (billed + saved) / n: the protocol's price per case, cache or not
    cache_hits: int
    batched_calls: int = 0  # calls answered by a provider batch API, billed at the batch price (--batch)
    latency_per_case_s: float
    compute_per_case_s: float = 0.0
    simulated: bool
    vs_baseline: Comparison = Field(default_factory=Comparison)


class Summary(BaseModel):
    """The metrics of every protocol in a run, in report order (the baseline first), and the conventions
    they were computed under."""

    protocols: dict[str, ProtocolMetrics] = Field(default_factory=dict)
    baseline: str | None = None  # the baseline compared against; None when it was not in the records
    simulated: bool = False
    seed: int = 0
    resamples: int = stats.DEFAULT_RESAMPLES
    tie_rule: TieRule = "judge-says-tie"
    tolerance: float = 0.0
    tie_delta: float = 0.0

    def settings(self) -> dict[str, Any]:
        return {"tie_rule": self.tie_rule, "tolerance": self.tolerance, "tie_delta": self.tie_delta,
                "interval": stats.PROPORTION_INTERVAL}

    def definitions(self) -> dict[str, str]:
        """Each figure's definition under this summary's conventions."""
        return definitions(**self.settings())

    def __repr__(self) -> str:  # short in a notebook, however many protocols and categories
        from courtgraph.evals.frames import summary_repr

        return summary_repr(self)

    def _repr_html_(self) -> str:
        from courtgraph.evals.frames import summary_html

        return summary_html(self)

    def to_json(self) -> dict[str, Any]:
        """The summary as one JSON-ready object (what ``courtgraph report --json`` prints)::

            {
              "baseline": "single" | null, "simulated": bool, "seed": int, "resamples": int,
              "tie_rule": "judge-says-tie" | "mtbench", "tolerance": float, "tie_delta": float,
              "conventions": {"tie_rule": ..., "proportion_interval": "wilson-cc", ...},
              "definitions": {"<figure key>": "<its definition and convention>", ...},
              "protocols": {"<name>": {"accuracy": float | null, "ci95": [lo, hi] | null,
                                       "llmbar_accuracy", "accuracy_ab", "accuracy_ba", "correct_both",
                                       "agreement", "consistency", "kappa", "kappa_orders", "macro_f1",
                                       "tie_accuracy", "prefer_first_rate", "prefer_second_rate",
                                       "quorum_decided": int,  # decided with members missing, under a quorum
                                       ...,
                                       "classes": {"A": {"precision", "recall", "f1", "support"}, ...},
                                       "confusion": {"<gold>": {"<predicted>": int}},
                                       "scores": {"mae", "pearson", "spearman", "pairwise_accuracy", ...} | null,
                                       "by_category": {...}, "vs_baseline": {...}, ...}}
            }

        Every key of a protocol's object has its entry in ``definitions``.
        """
        out = self.model_dump(mode="json")
        out["conventions"] = conventions(**self.settings())
        out["definitions"] = self.definitions()
        return out


def summarize(records: Iterable[Record], baseline: str = "single", *, seed: int = 0,
              resamples: int = stats.DEFAULT_RESAMPLES, tie_rule: TieRule = "judge-says-tie",
              tolerance: float = 0.0, tie_delta: float = 0.0, simulated: Collection[str] | None = None) -> Summary:
    """Metrics per protocol, each compared with ``baseline`` on the cases both judged.

    Records are grouped by ``Record.protocol``; a baseline absent from the records just means no
    comparison (``Summary.baseline`` is None). ``tie_rule`` decides tie gold (``judge-says-tie`` or
    ``mtbench``), ``tolerance`` numeric gold, ``tie_delta`` when two scores tie. ``simulated`` names the
    protocols that used simulated agents when the records come without turns (``RunStore.records(whole=False)``).
    """
    if tie_rule not in measures.TIE_RULES:
        raise ValueError(f"unknown tie rule {tie_rule!r}; rules are {', '.join(measures.TIE_RULES)}")
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record.protocol].append(record)
    names = sorted(groups, key=lambda p: p != baseline)  # stable: baseline first, then run order
    rules = _Rules(tie_rule, tolerance, tie_delta, seed, resamples)
    base = groups.get(baseline)
    metrics = {
        name: _protocol_metrics(name, groups[name], rules,
                                _compare(groups[name], None if name == baseline else base, baseline, rules),
                                simulated=simulated)
        for name in names
    }
    return Summary(protocols=metrics, baseline=baseline if base is not None else None,
                   simulated=any(m.simulated for m in metrics.values()), seed=seed, resamples=resamples,
                   tie_rule=tie_rule, tolerance=tolerance, tie_delta=tie_delta)


@dataclass(frozen=True)
class _Rules:
    """The conventions a summary is computed under (and the bootstrap's seed and size)."""

    tie_rule: TieRule
    tolerance: float
    tie_delta: float
    seed: int
    resamples: int

    def correct(self, record: Record) -> bool | None:
        """The record's correctness under these rules (None: no label)."""
        if measures.pairwise_gold(record):
            return measures.pairwise_correct(record, self.tie_rule)
        return pointwise_correct(record, self.tolerance)


def _accuracy(records: list[Record], rules: _Rules) -> tuple[float | None, tuple[float, float] | None]:
    scored = [c for c in map(rules.correct, records) if c is not None]
    if not scored:
        return None, None
    return sum(scored) / len(scored), stats.wilson_interval(sum(scored), len(scored))


def _by_category(records: list[Record], rules: _Rules) -> dict[str, CategoryMetrics]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.label is not None:
            groups[r.category or UNCATEGORIZED].append(r)
    if set(groups) <= {UNCATEGORIZED}:
        return {}
    out = {}
    for name in sorted(groups):
        acc, ci = _accuracy(groups[name], rules)
        out[name] = CategoryMetrics(n=len(groups[name]), accuracy=acc, ci95=ci)
    return out


def _simulated(records: list[Record]) -> bool:
    return any((turn.model or "").startswith("sim:") for r in records for t in r.trials for turn in t.turns)


def _protocol_metrics(name: str, records: list[Record], rules: _Rules, vs_baseline: Comparison,
                      simulated: Collection[str] | None = None) -> ProtocolMetrics:
    n = len(records)
    trials = [t for r in records for t in r.trials]
    statuses = [t.verdict.status for t in trials]
    ties = sum(t.verdict.valid and t.verdict.winner == "tie" for t in trials)
    accuracy, ci95 = _accuracy(records, rules)
    consistency, two_order = measures.consistency(records)
    first, second = measures.prefer_rates(records)
    report: ClassReport | None = measures.class_report(records, rules.tie_rule)
    usage = Usage.total(r.usage for r in records)
    billed_and_saved = (usage.cost_usd + usage.saved_usd
                        if usage.cost_usd is not None and usage.saved_usd is not None else None)
    share = measures.share
    return ProtocolMetrics(
        protocol=name, n=n, n_labelled=sum(r.label is not None for r in records),
        accuracy=accuracy, ci95=ci95, llmbar_accuracy=measures.llmbar_accuracy(records),
        accuracy_ab=measures.per_order_accuracy(records, "AB")[0],
        accuracy_ba=measures.per_order_accuracy(records, "BA")[0],
        correct_both=measures.correct_both(records),
        agreement=measures.llmbar_agreement(records), consistency=consistency, two_order_cases=two_order,
        tie_rate=share(ties, len(trials)),
        invalid_rate=share(statuses.count("invalid"), len(trials)),
        abstain_rate=share(statuses.count("abstain"), len(trials)),
        error_rate=share(statuses.count("error"), len(trials)),
        quorum_decided=sum(r.verdict.quorum is not None for r in records),
        kappa=report.kappa if report else None, kappa_orders=measures.kappa_between_orders(records),
        prefer_first_rate=first, prefer_second_rate=second,
        macro_f1=report.macro_f1 if report else None, tie_accuracy=report.tie_accuracy if report else None,
        classes=report.classes if report else {}, confusion=report.confusion if report else {},
        scores=score_metrics(records, tolerance=rules.tolerance, tie_delta=rules.tie_delta),
        by_category=_by_category(records, rules),
        calls_per_case=(usage.calls + usage.cache_hits) / n,
        input_tokens_per_case=(usage.input_tokens + usage.saved_input_tokens) / n,
        output_tokens_per_case=(usage.output_tokens + usage.saved_output_tokens) / n,
        tokens_per_case=(usage.tokens + usage.saved_input_tokens + usage.saved_output_tokens) / n,
        cost_usd=usage.cost_usd, saved_usd=usage.saved_usd, prompt_cache_saved_usd=usage.prompt_cache_saved_usd,
        cost_per_case_usd=billed_and_saved / n if billed_and_saved is not None else None,
        cache_hits=usage.cache_hits, batched_calls=usage.batched,
        latency_per_case_s=sum(max((t.latency_s for t in r.trials), default=r.latency_s) for r in records) / n,
        compute_per_case_s=sum(sum(t.latency_s for t in r.trials) if r.trials else r.latency_s
                               for r in records) / n,
        simulated=_simulated(records) if simulated is None else name in simulated, vs_baseline=vs_baseline,
    )


def _compare(records: list[Record], base: list[Record] | None, baseline: str, rules: _Rules) -> Comparison:
    """``records`` against ``base`` on their shared labelled cases (no comparison when base is None)."""
    if base is None:
        return Comparison(baseline=baseline)
    theirs = {r.case_id: c for r in base if (c := rules.correct(r)) is not None}
    paired = [(float(bool(c)), float(theirs[r.case_id]))
              for r in records if (c := rules.correct(r)) is not None and r.case_id in theirs]
    if not paired:
        return Comparison(baseline=baseline)
    ours, base_scores = [p[0] for p in paired], [p[1] for p in paired]
    wins = sum(a > b for a, b in paired)
    losses = sum(a < b for a, b in paired)
    return Comparison(
        baseline=baseline, n=len(paired), delta=stats.mean(ours) - stats.mean(base_scores),
        ci95=stats.paired_bootstrap_ci(ours, base_scores, resamples=rules.resamples, seed=rules.seed),
        p_value=stats.mcnemar_exact(wins, losses), wins=wins, losses=losses,
    )
