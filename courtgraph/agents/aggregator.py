"""Aggregators: voting rules (small pure functions over votes) and an LLM presiding judge.

Rules never turn a failure into a side: invalid and error votes abstain and are reported in the
verdict; a tie in votes is a ``tie`` verdict, never broken by juror order (ChatEval's ``average``
rule silently turned ties and exceptions into "output_1"); with no valid vote the verdict is
``invalid`` (``error`` when every member failed). Every aggregate keeps all the votes. Given
pointwise votes (scores), a label rule built by :func:`make_rule` averages them instead, so one
jury serves both kinds of case; ``mean`` averages scores only, so it needs pointwise members.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from courtgraph.agents.base import ModelLike, Speaker, as_model, decide
from courtgraph.agents.juror import JurorMode, decision_kind, render_votes, verdict_vars
from courtgraph.prompts import Prompt, load_prompt
from courtgraph.schema import LABELS, Label, Trial, Turn, Verdict

Rule = Callable[[list[Verdict]], Verdict]
#: An aggregator reads the trial and the votes and returns the turn that carries the final verdict.
Aggregator = Callable[[Trial, list[Verdict]], Awaitable[Turn]]
AGENT = "aggregator"


def _no_valid(votes: list[Verdict], rule: str, why: str = "no valid vote") -> Verdict:
    status = "error" if votes and all(v.status == "error" for v in votes) else "invalid"
    return Verdict(status=status, error=f"{rule}: {why} among {len(votes)}", votes=votes, stage=rule, agent=AGENT)


def _decided(weight: dict[Label, float], votes: list[Verdict], rule: str, base: float,
             winner: Label | None = None) -> Verdict:
    """The plurality label (``tie`` when the top is shared) with the tally as its rationale."""
    top = max(weight.values())
    leaders = [lab for lab in LABELS if math.isclose(weight[lab], top)]
    chosen: Label = winner or (leaders[0] if len(leaders) == 1 else "tie")
    abstained = sum(not (v.valid and v.winner) for v in votes)
    tally = ", ".join(f"{lab} {weight[lab]:g}" for lab in LABELS)
    note = f" ({abstained} abstained: invalid or failed)" if abstained else ""
    split = " (a split vote: tie)" if len(leaders) > 1 and winner is None else ""
    return Verdict(winner=chosen, confidence=weight[chosen] / base if base else None, stage=rule, agent=AGENT,
                   rationale=f"{rule} of {len(votes)} votes{note}: {tally} -> {chosen}{split}", votes=votes)


def _valid(votes: list[Verdict]) -> list[Verdict]:
    return [v for v in votes if v.valid and v.winner is not None]


def _scored_only(votes: list[Verdict]) -> bool:
    """Pointwise votes (scores, no winner): nothing for a label rule to count."""
    return not _valid(votes) and any(v.valid and v.score is not None for v in votes)


def _counts(votes: list[Verdict], weights: Sequence[float] | None = None, ties: bool = True) -> dict[Label, float]:
    """Weight per label over the valid votes; ``ties=False``: a tie vote expresses no preference, not a label."""
    out: dict[Label, float] = dict.fromkeys(LABELS, 0.0)
    for i, v in enumerate(votes):
        if v.valid and v.winner is not None and (ties or v.winner != "tie"):
            out[v.winner] += 1.0 if weights is None else weights[i]
    return out


def majority(votes: list[Verdict], ties: bool = True) -> Verdict:
    """Plurality of the valid votes; a shared top is a tie; invalid votes abstain.

    ``ties=False`` (a panel's dimensions): a tie vote abstains too, so "no difference in safety" does
    not outvote "A is correct"; when every valid vote is a tie, the verdict is a tie.
    """
    valid = _valid(votes)
    if not valid:
        return _no_valid(votes, "majority")
    return _decided(_counts(votes, ties=ties), votes, "majority", len(valid))


def strict(votes: list[Verdict]) -> Verdict:
    """A label needs more than half of ALL jurors, abstentions included; otherwise a tie."""
    if not _valid(votes):
        return _no_valid(votes, "strict")
    counts = _counts(votes)
    winner: Label = next((lab for lab in LABELS if counts[lab] > len(votes) / 2), "tie")
    return _decided(counts, votes, "strict", len(votes), winner=winner)


def _weights(votes: list[Verdict], weights: Sequence[float] | None) -> list[float]:
    """The given per-member weights (aligned with the votes), else each vote's confidence (1 if unstated)."""
    if weights is not None and len(weights) != len(votes):
        raise ValueError(f"weighted: {len(weights)} weights for {len(votes)} votes")
    return list(weights) if weights is not None else [1.0 if v.confidence is None else v.confidence for v in votes]


def weighted(votes: list[Verdict], weights: Sequence[float] | None = None, ties: bool = True) -> Verdict:
    """Plurality by weight: per-juror ``weights`` (aligned with the votes), else each vote's confidence."""
    w = _weights(votes, weights)
    if not _valid(votes):
        return _no_valid(votes, "weighted")
    counts = _counts(votes, w, ties)
    total = sum(counts.values())
    if total <= 0 and ties:
        return _no_valid(votes, "weighted", "no valid vote with a positive weight")
    return _decided(counts, votes, "weighted", total)


def mean(votes: list[Verdict], weights: Sequence[float] | None = None, tie_delta: float = 0.0) -> Verdict:
    """Average pointwise scores (PoLL on scales): one score per vote, or A/B scores compared."""
    w = list(weights) if weights is not None else [1.0] * len(votes)
    scored = [(v, wi) for v, wi in zip(votes, w, strict=True) if v.valid and wi > 0]
    singles = [(v.score, wi) for v, wi in scored if v.score is not None]
    pairs = [(v.scores, wi) for v, wi in scored if v.score is None and {"A", "B"} <= v.scores.keys()]
    if singles:
        total = sum(wi for _, wi in singles)
        avg = sum(s * wi for s, wi in singles) / total
        return Verdict(score=avg, stage="mean", agent=AGENT, votes=votes,
                       rationale=f"mean of {len(singles)} of {len(votes)} scores: {avg:.3g}")
    if not pairs:
        return _no_valid(votes, "mean", "no valid scored vote")
    total = sum(wi for _, wi in pairs)
    a = sum(s["A"] * wi for s, wi in pairs) / total
    b = sum(s["B"] * wi for s, wi in pairs) / total
    winner: Label = "tie" if abs(a - b) <= tie_delta else "A" if a > b else "B"
    return Verdict(winner=winner, scores={"A": a, "B": b}, stage="mean", agent=AGENT, votes=votes,
                   rationale=f"mean scores of {len(pairs)} of {len(votes)} votes: A {a:.3g}, B {b:.3g} -> {winner}")


RULES: dict[str, Callable[..., Verdict]] = {"majority": majority, "strict": strict, "weighted": weighted,
                                            "mean": mean}


def make_rule(name: str, *, weights: Sequence[float] | None = None, tie_delta: float = 0.0,
              ties: bool = True) -> Rule:
    """A named rule with its options bound: ``weights`` (weighted, mean), ``tie_delta`` (mean), ``ties``.

    The kind of the votes picks the arithmetic, here and only here: a label rule given pointwise
    votes (scores, no winner) averages them as PoLL does for scales (``weighted`` by its weights or
    the votes' confidences), because there is no label to count.
    """
    if name not in RULES:
        raise ValueError(f"unknown aggregation rule {name!r}; rules: {', '.join(RULES)} (or give a model)")
    if name == "mean":
        return partial(mean, weights=weights, tie_delta=tie_delta)
    by_kind: dict[str, tuple[Rule, Rule]] = {  # (rule for labels, rule for scores)
        "majority": (partial(majority, ties=ties), mean),
        "strict": (strict, mean),
        "weighted": (partial(weighted, weights=weights, ties=ties), lambda v: mean(v, _weights(v, weights))),
    }
    labels, scores = by_kind[name]
    return lambda votes: scores(votes) if _scored_only(votes) else labels(votes)


def rule_aggregator(name: str, rule: Rule) -> Aggregator:
    """A rule as an aggregator: no model call, one turn that shows the tally."""

    async def run(trial: Trial, votes: list[Verdict]) -> Turn:
        del trial
        v = rule(votes)
        return Turn(role="aggregator", agent=AGENT, content=v.rationale or v.error or "", model=f"rule:{name}",
                    phase="verdict", verdict=v)

    return run


def llm_aggregator(model: ModelLike, *, prompt: str | Prompt = "aggregator_jury", scale: tuple[float, float] = (1, 10),
                   reference: bool = False) -> Aggregator:
    """A presiding judge (or synthesizer) that reads the votes and rationales and decides itself."""
    chat = as_model(model)
    template = load_prompt(prompt)

    async def run(trial: Trial, votes: list[Verdict]) -> Turn:
        kind = decision_kind(trial)
        values = verdict_vars(trial, kind, scale, reference=reference) | {"votes": render_votes(votes)}
        who = Speaker(agent=AGENT, role="aggregator", phase="verdict", prompt=template, trial=trial)
        turn = await decide(chat, template.render(**values), who, kind=kind, scale=scale)
        verdict = (turn.verdict or Verdict.failed("no verdict")).model_copy(update={"votes": votes, "stage": "llm"})
        return turn.model_copy(update={"verdict": verdict})

    return run


def make_aggregator(aggregate: str | ModelLike, *, weights: Sequence[float] | None = None, tie_delta: float = 0.0,
                    ties: bool = True, prompt: str | Prompt = "aggregator_jury", scale: tuple[float, float] = (1, 10),
                    reference: bool = False, mode: JurorMode | None = None) -> Aggregator:
    """A rule name (``majority``, ``strict``, ``weighted``, ``mean``) or a model for an LLM aggregator.

    ``mode`` is the members' mode, if they have one: ``mean`` with pairwise members is refused here,
    when the protocol is built, because their votes on a pair are sides with no score to average, and
    every pairwise case would come out invalid.
    """
    if isinstance(aggregate, str) and ":" not in aggregate:
        if aggregate == "mean" and mode == "pairwise":
            raise ValueError("aggregate='mean' averages scores, and pairwise members vote A/B/tie: use "
                             "mode='pointwise' to average scores, or a label rule (majority, strict, weighted), "
                             "which averages scores on single-response cases anyway")
        return rule_aggregator(aggregate, make_rule(aggregate, weights=weights, tie_delta=tie_delta, ties=ties))
    return llm_aggregator(aggregate, prompt=prompt, scale=scale, reference=reference)
