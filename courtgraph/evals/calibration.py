"""Calibrated escalation (Trust or Escalate, Jung et al.): cascade thresholds from held-out cases.

A stage's verdict stands when its confidence is at least its threshold λ (and, with ``check_swap``,
both orders agree, as :func:`courtgraph.graphs.cascade.trusted` requires). On a calibration split
with gold labels, :func:`pick_threshold` follows TorE's fixed-sequence test: the candidate λ run
from the highest confidence down; at each, the disagreement with the gold label of the items at
or above λ gets its one-sided Clopper-Pearson upper bound at level 1 - δ; the scan stops at the
first λ whose bound exceeds α and keeps the last one that passed (λ with fewer than ``min_count``
items are skipped, as TorE's 30). Because the hypotheses are tested in a fixed order and the scan
stops at the first failure, no multiplicity correction is needed within a stage: with probability
at least 1 - δ the chosen λ has selective risk at most α. A cascade of several stages splits δ
equally over them (Bonferroni), so with probability at least 1 - δ every stage, and therefore the
cascade's non-escalated cases as a whole (a mixture of the stages' trusted cases), agree with the
gold labels at least 1 - α of the time. Each later stage is calibrated only on the cases the earlier
ones passed on; a case no stage trusts is abstained on (``abstain=True``), never decided blindly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from courtgraph.graphs.cascade import cascade, stage_graphs
from courtgraph.graphs.compose import Member, in_frame, run_member
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.state import Graph
from courtgraph.schema import Case, Trial

#: Thresholds above every confidence: the stage is never trusted.
NEVER = 1.01
#: TorE's smallest number of calibration items a threshold may rest on.
MIN_COUNT = 30


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) <= k), summed in log space so that n in the thousands does not overflow."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if k >= n else 0.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
            + (n - i) * math.log1p(-p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(x - top) for x in logs))


def upper_bound(errors: int, n: int, delta: float) -> float:
    """The one-sided Clopper-Pearson upper bound (level 1 - δ) on an error rate seen as ``errors`` of ``n``:
    the p with P(Bin(n, p) <= errors) = δ, by bisection (1 when errors = n)."""
    if n <= 0 or errors >= n:
        return 1.0
    low, high = errors / n, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if binomial_cdf(errors, n, mid) > delta else (low, mid)
    return high


@dataclass(frozen=True)
class Threshold:
    """One stage's calibrated threshold: λ, the items it rests on, their risk and its upper bound."""

    threshold: float
    n: int  # calibration items with confidence >= threshold (the stage decides them)
    errors: int
    bound: float  # upper bound on the selective risk at the stage's level

    @property
    def trusted(self) -> bool:
        return self.threshold < NEVER


def pick_threshold(items: Sequence[tuple[float | None, bool]], alpha: float, delta: float, *,
                   min_count: int = MIN_COUNT) -> Threshold:
    """The lowest λ the fixed-sequence test accepts over ``items`` = (confidence or None if never trusted,
    agrees with gold); ``NEVER`` when even the highest fails."""
    if not 0 < alpha < 1 or not 0 < delta < 1:
        raise ValueError(f"alpha and delta must be in (0, 1), not {alpha}, {delta}")
    scored = sorted((c, ok) for c, ok in items if c is not None)
    best = Threshold(NEVER, 0, 0, 0.0)
    n = errors = 0
    i = len(scored) - 1
    while i >= 0:
        level = scored[i][0]
        while i >= 0 and scored[i][0] == level:  # every item at this confidence joins at once
            n, errors, i = n + 1, errors + (not scored[i][1]), i - 1
        if n < min_count:
            continue
        if binomial_cdf(errors, n, alpha) > delta:  # the bound exceeds alpha (the CDF falls as p rises)
            break
        best = Threshold(level, n, errors, 0.0)
    return best if not best.trusted else Threshold(best.threshold, best.n, best.errors,
                                                   upper_bound(best.errors, best.n, delta))


@dataclass(frozen=True)
class Calibration:
    """A cascade's calibrated thresholds and the guarantee they carry."""

    alpha: float
    delta: float
    stages: list[str]
    thresholds: list[Threshold]
    n_cases: int
    coverage: float  # share of calibration cases some stage decided
    notes: list[str] = field(default_factory=list)

    def guarantee(self) -> str:
        return (f"with probability >= {1 - self.delta:g}, agreement with the gold labels on the cases the cascade "
                f"decides is >= {1 - self.alpha:g} (TorE fixed-sequence test, Clopper-Pearson, delta split over "
                f"{len(self.stages)} stage(s); calibrated on {self.n_cases} held-out cases, coverage "
                f"{100 * self.coverage:.0f}%)")

    def to_json(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "delta": self.delta, "n_cases": self.n_cases, "coverage": self.coverage,
                "guarantee": self.guarantee(),
                "stages": [{"stage": s, "threshold": t.threshold if t.trusted else None, "n": t.n,
                            "errors": t.errors, "risk_bound": t.bound} for s, t in zip(self.stages, self.thresholds,
                                                                                      strict=True)]}


async def stage_outcome(graph: Graph, label: str, case: Case, check_swap: bool) -> tuple[float | None, bool]:
    """A stage on one calibration case, as the cascade would judge it: (confidence if it could be trusted, correct)."""
    trial = Trial(case=case)
    own = (await run_member(graph, trial, label)).verdict
    verdicts = [own]
    if check_swap and case.pairwise:
        other = trial.swapped()
        verdicts.append(in_frame((await run_member(graph, other, f"{label}[swap]")).verdict, other, trial))
    if not all(v.valid for v in verdicts) or len({v.winner for v in verdicts}) > 1:
        return None, False
    confs = [v.confidence for v in verdicts if v.confidence is not None]
    confidence = sum(confs) / len(confs) if confs else 1.0  # no stated confidence: agreement alone (as trusted())
    return confidence, trial.to_case(own.winner) == case.label


async def calibrate(stages: Sequence[Member | tuple[str, Member]], cases: Sequence[Case], *, alpha: float = 0.15,
                    delta: float = 0.1, check_swap: bool = True, min_count: int = MIN_COUNT) -> Calibration:
    """Thresholds for ``stages`` from labelled ``cases`` (each stage on the cases the earlier ones passed on)."""
    named = stage_graphs(stages)
    if not cases or any(c.label is None for c in cases):
        raise ValueError("calibration needs cases with gold labels")
    per_stage = delta / len(named)
    left = list(cases)
    chosen: list[Threshold] = []
    for label, graph in named:
        outcomes = [await stage_outcome(graph, label, c, check_swap) for c in left]
        t = pick_threshold(outcomes, alpha, per_stage, min_count=min_count)
        chosen.append(t)
        left = [c for c, (conf, _) in zip(left, outcomes, strict=True) if conf is None or conf < t.threshold]
    return Calibration(alpha, delta, [n for n, _ in named], chosen, len(cases), 1 - len(left) / len(cases))


async def calibrated_cascade(stages: Sequence[Member | tuple[str, Member]], cases: Sequence[Case], *,
                             alpha: float = 0.15, delta: float = 0.1, check_swap: bool = True,
                             min_count: int = MIN_COUNT, name: str = "cascade") -> tuple[Graph, Calibration]:
    """The cascade mode with calibration: thresholds from ``cases``, and a cascade that abstains when no stage
    is trusted (so the guarantee covers every case it decides)."""
    cal = await calibrate(stages, cases, alpha=alpha, delta=delta, check_swap=check_swap, min_count=min_count)
    graph = cascade(stages, threshold=[t.threshold for t in cal.thresholds], check_swap=check_swap, abstain=True,
                    name=name)
    return graph, cal


async def calibrate_run(graphs: dict[str, Graph], described: dict[str, Any], roles: Roles, cases: Sequence[Case], *,
                        alpha: float, delta: float) -> dict[str, Calibration]:
    """``courtgraph run --calibrate-on N``: every registry ``cascade`` of the run rebuilt with thresholds calibrated
    on ``cases`` (the held-out ones); ``graphs`` is updated in place, the calibrations are returned by protocol."""
    out: dict[str, Calibration] = {}
    for name, how in described.items():
        if how.get("spec") != "cascade":
            continue
        params = dict(how.get("params") or {})
        stages = params.get("stages", "single,jury")
        names = [s.strip() for s in stages.split(",")] if isinstance(stages, str) else list(stages)
        built = [(n, build_protocol(n, roles)) for n in names if n]
        check_swap = params.get("check_swap", True) not in (False, "false", "False", 0)
        graphs[name], out[name] = await calibrated_cascade(built, cases, alpha=alpha, delta=delta,
                                                           check_swap=check_swap, name=name)
    return out
