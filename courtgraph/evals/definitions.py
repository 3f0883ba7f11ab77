"""The definition (and convention) of every figure a report carries, by its JSON key.

``courtgraph report --json`` prints these beside the figures, the text and markdown footnotes quote
them, and docs/METRICS.md gives each formula with its source. A figure whose meaning depends on a
setting (the tie rule, the tolerance, the interval rule) names the setting in force.
"""

from __future__ import annotations

from typing import Any

from courtgraph.evals.measures import TieRule

TIE_RULE_TEXT: dict[TieRule, str] = {
    "judge-says-tie": "tie rule judge-says-tie: a tie is credited only when the judge says tie; two orders "
                      "naming opposite sides are inconsistent, never a tie",
    "mtbench": "tie rule mtbench (MT-Bench): two valid orders that differ count as a tie",
}


def definitions(*, tie_rule: TieRule, tolerance: float, tie_delta: float, interval: str) -> dict[str, str]:
    """Figure key -> its definition under the settings in force (keys of ``ProtocolMetrics`` and below)."""
    rule = TIE_RULE_TEXT[tie_rule]
    return {
        "n": "records (cases) judged",
        "n_labelled": "records with a gold label (the accuracy denominator)",
        "accuracy": f"JudgeBench net vote over the orders judged (+1 per order naming the label, -1 per order "
                    f"naming the other side; correct iff the sum > 0); invalid or failed verdicts are wrong; "
                    f"{rule}; numeric gold within tolerance {tolerance:g}",
        "ci95": f"95% interval of accuracy: {interval} (Wilson score interval with continuity correction, "
                "Newcombe 1998), for every proportion at any n",
        "llmbar_accuracy": "LLMBar Acc. (correct_average): mean over the orders judged of the share of trials "
                           "naming the label",
        "accuracy_ab": "LLMBar correct_False: share of labelled cases whose AB trial names the label",
        "accuracy_ba": "LLMBar correct_True: share of labelled cases whose BA trial names the label",
        "correct_both": "LLMBar correct_both: share of labelled two-order cases whose two trials name the label",
        "agreement": "LLMBar Agr. (equal): share of two-order cases whose two case-frame winners are equal, "
                     "a non-answer being None, so two non-answers agree (LLMBar evaluate.py)",
        "consistency": "courtgraph consistency (stricter than LLMBar Agr.): share of two-order cases whose two "
                       "trials are both valid and name the same case-frame winner (MT-Bench's consistent)",
        "two_order_cases": "cases judged in both orders (the agreement and consistency denominator)",
        "tie_rate": "share of trials whose verdict is tie (not tie accuracy)",
        "invalid_rate": "share of trials whose verdict did not parse",
        "abstain_rate": "share of trials that abstained",
        "error_rate": "share of trials whose call or protocol failed",
        "quorum_decided": "records decided under an explicit quorum rule with members that failed (Verdict.quorum)",
        "kappa": f"Cohen's kappa of the combined class ({rule}) against gold; classes A, B, tie, "
                 "inconsistent, none",
        "kappa_orders": "Cohen's kappa between the AB and BA trials' case-frame winners (classes A, B, tie, "
                        "none)",
        "prefer_first_rate": "share of valid trials naming the response shown first (position bias direction)",
        "prefer_second_rate": "share of valid trials naming the response shown second",
        "classes": f"per gold class: precision, recall, F1 (zero_division=0), support; the combined class under "
                   f"{rule}",
        "macro_f1": "unweighted mean of the per-class F1 over the gold classes present",
        "tie_accuracy": f"share of tie-gold records whose combined class is tie ({rule})",
        "confusion": "confusion[gold][predicted] counts; predicted includes inconsistent and none",
        "scores": f"numeric gold: MAE, Pearson r and Spearman rho of valid scores; pairwise accuracy over every "
                  f"pair of scored items, scores within tie delta {tie_delta:g} being a tie; tolerance "
                  f"{tolerance:g}",
        "by_category": f"accuracy per category with its {interval} interval",
        "calls_per_case": "model calls per case, cache hits included",
        "input_tokens_per_case": "input tokens per case, cache hits included",
        "output_tokens_per_case": "output tokens per case, cache hits included",
        "tokens_per_case": "input + output tokens per case, cache hits included",
        "cost_usd": "USD billed in this run (null: a price is unknown)",
        "saved_usd": "USD the response cache saved",
        "cost_per_case_usd": "(billed + saved) / n: the protocol's price per case, cache or not",
        "cache_hits": "calls answered by the response cache",
        "batched_calls": "calls answered by a provider batch API (--batch), billed at the batch price (half)",
        "prompt_cache_saved_usd": "what the providers' own prompt caching saved (cached input tokens at the "
                                  "cached rate instead of the input rate, net of cache-write premiums), USD",
        "latency_per_case_s": "wall time per case: mean over cases of the longest trial (the runner judges a "
                              "case's orders concurrently)",
        "compute_per_case_s": "compute time per case: mean over cases of the sum of the trials' times",
        "simulated": "true if any turn came from a sim: model",
        "vs_baseline": "on the labelled cases both judged: accuracy difference, its paired percentile "
                       "bootstrap 95% interval, exact McNemar p (two-sided), wins and losses",
    }


def conventions(*, tie_rule: TieRule, tolerance: float, tie_delta: float, interval: str) -> dict[str, Any]:
    """The settings in force, by name (what the footnote of every report names)."""
    return {"tie_rule": tie_rule, "tolerance": tolerance, "tie_delta": tie_delta, "proportion_interval": interval,
            "difference_interval": "paired-percentile-bootstrap", "accuracy": "judgebench-net-vote",
            "agreement": "llmbar-equal"}
