"""Per-protocol metrics from records, and the paired comparison with a baseline.

Definitions follow ``notes/protocols.md`` section 2 so that numbers can be set beside the papers':

* **accuracy**: JudgeBench's. A record is correct when its combined verdict (the two-order net vote
  of :func:`courtgraph.schema.combine_orders`) matches the label; invalid and failed verdicts are
  wrong, never skipped. This is ``Record.correct`` as :func:`courtgraph.graphs.trial.make_record`
  sets it; metrics never re-decide it.
* **llmbar_accuracy**: LLMBar's Acc, the mean over orders of the share of trials whose own verdict
  (mapped to the case frame) names the label. Equal to ``(correct_AB + correct_BA) / 2N`` when
  every case has both orders.
* **consistency**: over *all* two-order cases, the share whose trials are both valid and name the
  same case-frame winner (a tie in both orders agrees); MT-Bench's "consistent". An invalid or
  failed trial makes its case inconsistent rather than leaving it out, so a judge cannot look
  consistent by failing on the cases it would have flipped.
* **agreement**: LLMBar's Agr (positional agreement), ``#(winner_orig = winner_swapped) / N`` over
  all N two-order cases, where a case whose orders are not both valid does not agree. That is
  ``consistency`` exactly: the key is kept so the JSON names both papers' figures, and the report
  shows the figure once.
* **tie_rate**, **invalid_rate**, **abstain_rate**, **error_rate**: shares of *trials*.
* **kappa**: Cohen's kappa of the combined verdict against the label over the classes A, B, tie
  (plus "none" for a verdict that does not count, which always disagrees). Skipped (None) when any
  label is not a pairwise class (pointwise records).
* Costs: per case, cache hits count as calls and their tokens as tokens, because a protocol's cost
  must not depend on whether the cache was warm; ``cost_usd`` is what was billed in this run and
  ``saved_usd`` what the cache saved. An unknown price makes the total unknown (None), never 0.
* **vs_baseline**: on the case ids both protocols judged (with labels): the accuracy difference,
  its paired bootstrap interval, and the exact McNemar p-value on the discordant cases.

Intervals are percentile bootstraps over cases (``stats.bootstrap_ci``), seeded, so the same
records always give the same report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from pydantic import BaseModel, Field

from courtgraph.evals import stats
from courtgraph.schema import LABELS, ORDERS, Record, TrialResult, Usage

#: Class of a combined verdict that does not count (invalid, abstain, error) in the kappa matrix.
NO_VERDICT = "none"
#: ``by_category`` key for records without a category.
UNCATEGORIZED = "uncategorized"


class CategoryMetrics(BaseModel):
    """JudgeBench accuracy on one category's labelled records."""

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
    """Everything the report shows about one protocol. Rates are fractions in [0, 1]."""

    protocol: str
    n: int  # records (cases) judged
    n_labelled: int  # of which had a label (the accuracy denominator)
    accuracy: float | None
    ci95: tuple[float, float] | None
    llmbar_accuracy: float | None
    agreement: float | None  # LLMBar's Agr: always equal to consistency (see the module docstring)
    consistency: float | None
    two_order_cases: int
    tie_rate: float | None
    invalid_rate: float | None
    abstain_rate: float | None
    error_rate: float | None
    kappa: float | None
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
    latency_per_case_s: float
    simulated: bool
    vs_baseline: Comparison = Field(default_factory=Comparison)


class Summary(BaseModel):
    """The metrics of every protocol in a run, in report order (the baseline first)."""

    protocols: dict[str, ProtocolMetrics] = Field(default_factory=dict)
    baseline: str | None = None  # the baseline compared against; None when it was not in the records
    simulated: bool = False
    seed: int = 0
    resamples: int = stats.DEFAULT_RESAMPLES

    def to_json(self) -> dict[str, Any]:
        """The summary as one JSON-ready object (what ``courtgraph report --json`` prints)::

            {
              "baseline": "single" | null,      # null when the baseline protocol was not run
              "simulated": bool,                # true if any turn came from a sim: model
              "seed": int, "resamples": int,    # of the bootstrap
              "protocols": {
                "<name>": {
                  "protocol": str, "n": int, "n_labelled": int,
                  "accuracy": float | null,     # JudgeBench accuracy, a fraction
                  "ci95": [lo, hi] | null,      # bootstrap 95% interval of accuracy
                  "llmbar_accuracy", "agreement", "consistency": float | null,
                  "two_order_cases": int,
                  "tie_rate", "invalid_rate", "abstain_rate", "error_rate": float | null,
                  "kappa": float | null,
                  "by_category": {"<category>": {"n": int, "accuracy": float | null,
                                                 "ci95": [lo, hi] | null}},
                  "calls_per_case", "input_tokens_per_case", "output_tokens_per_case",
                  "tokens_per_case": float,
                  "cost_usd", "saved_usd", "cost_per_case_usd": float | null,  # null = unknown price
                  "cache_hits": int, "latency_per_case_s": float, "simulated": bool,
                  "vs_baseline": {"baseline": str | null, "n": int, "delta": float | null,
                                  "ci95": [lo, hi] | null, "p_value": float | null,
                                  "wins": int, "losses": int}
                }
              }
            }
        """
        return self.model_dump(mode="json")


def summarize(records: Iterable[Record], baseline: str = "single", *, seed: int = 0,
              resamples: int = stats.DEFAULT_RESAMPLES, simulated: Collection[str] | None = None) -> Summary:
    """Metrics per protocol, each compared with ``baseline`` on the cases both judged.

    Records are grouped by ``Record.protocol``; a baseline absent from the records just means no
    comparison (``Summary.baseline`` is None). Pointwise records (numeric labels) get accuracy from
    ``Record.correct`` and None for the pairwise-only metrics. ``simulated`` names the protocols that used
    simulated agents when the records come without turns (:meth:`RunStore.records` with ``whole=False``).
    """
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record.protocol].append(record)
    names = sorted(groups, key=lambda p: p != baseline)  # stable: baseline first, then run order
    base = groups.get(baseline)
    metrics = {
        name: _protocol_metrics(
            name, groups[name], seed=seed, resamples=resamples, simulated=simulated,
            vs_baseline=_compare(groups[name], None if name == baseline else base, baseline,
                                 seed=seed, resamples=resamples))
        for name in names
    }
    return Summary(protocols=metrics, baseline=baseline if base is not None else None,
                   simulated=any(m.simulated for m in metrics.values()), seed=seed, resamples=resamples)


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _accuracy(records: list[Record], seed: int, resamples: int) -> tuple[float | None, tuple[float, float] | None]:
    scored = [1.0 if r.correct else 0.0 for r in records if r.correct is not None]
    if not scored:
        return None, None
    return stats.mean(scored), stats.bootstrap_ci(scored, resamples=resamples, seed=seed)


def _pairwise_label(record: Record) -> bool:
    return isinstance(record.label, str) and record.label in LABELS


def _llmbar_accuracy(records: list[Record]) -> float | None:
    per_order: list[float] = []
    for order in ORDERS:
        hits = [t.case_winner == r.label for r in records if _pairwise_label(r)
                for t in r.trials if t.order == order]
        if hits:
            per_order.append(sum(hits) / len(hits))
    return stats.mean(per_order) if per_order else None


def _two_orders(record: Record) -> tuple[TrialResult, TrialResult] | None:
    first, second = record.trial("AB"), record.trial("BA")
    return (first, second) if first is not None and second is not None else None


def _consistency(records: list[Record]) -> tuple[float | None, int]:
    """The share of two-order cases whose orders are both valid and agree, and how many such cases."""
    pairs = [p for p in map(_two_orders, records) if p is not None]
    agree = sum(a.verdict.valid and b.verdict.valid and a.case_winner == b.case_winner for a, b in pairs)
    return _share(agree, len(pairs)), len(pairs)


def _kappa(records: list[Record]) -> float | None:
    labelled = [r for r in records if r.label is not None]
    if not labelled or not all(_pairwise_label(r) for r in labelled):
        return None
    classes = [*LABELS, NO_VERDICT]
    said = [r.verdict.winner if r.verdict.valid and r.verdict.winner else NO_VERDICT for r in labelled]
    return stats.cohen_kappa(stats.confusion_matrix([r.label for r in labelled], said, classes))


def _by_category(records: list[Record], seed: int, resamples: int) -> dict[str, CategoryMetrics]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.correct is not None:
            groups[r.category or UNCATEGORIZED].append(r)
    if set(groups) <= {UNCATEGORIZED}:
        return {}
    out = {}
    for name in sorted(groups):
        acc, ci = _accuracy(groups[name], seed, resamples)
        out[name] = CategoryMetrics(n=len(groups[name]), accuracy=acc, ci95=ci)
    return out


def _simulated(records: list[Record]) -> bool:
    return any((turn.model or "").startswith("sim:") for r in records for t in r.trials for turn in t.turns)


def _protocol_metrics(name: str, records: list[Record], *, seed: int, resamples: int,
                      vs_baseline: Comparison, simulated: Collection[str] | None = None) -> ProtocolMetrics:
    n = len(records)
    trials = [t for r in records for t in r.trials]
    statuses = [t.verdict.status for t in trials]
    ties = sum(t.verdict.valid and t.verdict.winner == "tie" for t in trials)
    accuracy, ci95 = _accuracy(records, seed, resamples)
    consistency, two_order = _consistency(records)
    usage = Usage.total(r.usage for r in records)
    billed_and_saved = (usage.cost_usd + usage.saved_usd
                        if usage.cost_usd is not None and usage.saved_usd is not None else None)
    return ProtocolMetrics(
        protocol=name, n=n, n_labelled=sum(r.correct is not None for r in records),
        accuracy=accuracy, ci95=ci95, llmbar_accuracy=_llmbar_accuracy(records),
        agreement=consistency, consistency=consistency, two_order_cases=two_order,
        tie_rate=_share(ties, len(trials)),
        invalid_rate=_share(statuses.count("invalid"), len(trials)),
        abstain_rate=_share(statuses.count("abstain"), len(trials)),
        error_rate=_share(statuses.count("error"), len(trials)),
        kappa=_kappa(records), by_category=_by_category(records, seed, resamples),
        calls_per_case=(usage.calls + usage.cache_hits) / n,
        input_tokens_per_case=(usage.input_tokens + usage.saved_input_tokens) / n,
        output_tokens_per_case=(usage.output_tokens + usage.saved_output_tokens) / n,
        tokens_per_case=(usage.tokens + usage.saved_input_tokens + usage.saved_output_tokens) / n,
        cost_usd=usage.cost_usd, saved_usd=usage.saved_usd, prompt_cache_saved_usd=usage.prompt_cache_saved_usd,
        cost_per_case_usd=billed_and_saved / n if billed_and_saved is not None else None,
        cache_hits=usage.cache_hits, latency_per_case_s=sum(r.latency_s for r in records) / n,
        simulated=_simulated(records) if simulated is None else name in simulated, vs_baseline=vs_baseline,
    )


def _compare(records: list[Record], base: list[Record] | None, baseline: str, *,
             seed: int, resamples: int) -> Comparison:
    """``records`` against ``base`` on their shared labelled cases (no comparison when base is None)."""
    if base is None:
        return Comparison(baseline=baseline)
    theirs = {r.case_id: r.correct for r in base if r.correct is not None}
    paired = [(float(bool(r.correct)), float(bool(theirs[r.case_id])))
              for r in records if r.correct is not None and r.case_id in theirs]
    if not paired:
        return Comparison(baseline=baseline)
    ours, base_scores = [p[0] for p in paired], [p[1] for p in paired]
    wins = sum(a > b for a, b in paired)
    losses = sum(a < b for a, b in paired)
    return Comparison(
        baseline=baseline, n=len(paired), delta=stats.mean(ours) - stats.mean(base_scores),
        ci95=stats.paired_bootstrap_ci(ours, base_scores, resamples=resamples, seed=seed),
        p_value=stats.mcnemar_exact(wins, losses), wins=wins, losses=losses,
    )
