"""SAMRE's budgeted stopping against a fixed-R debate, on simulated agents whose confidence grows over rounds.

The judge (``sim:...:grow=G``) scores each candidate after every round on D3's 6-120 scale. How hard
a candidate is for it is its round-1 doubt h = (2 (1 - c))^2 (c its calibrated confidence): in each
later round it revises the score with probability h (1 - G)^(r - 1) and otherwise repeats it, so a
sure judge's score gap is the same from round 1 or 2 (D3's convergence stops the debate after its
minimum of 3 rounds) and an unsure one's keeps moving (the debate runs to its last round). The
fixed-R debate is the same protocol with convergence and the token budget off (``converge=False,
max_tokens=None``), so the two differ only in when they stop. Prints accuracy (with the paired
bootstrap interval of the difference), tokens per case, the measured saving, why SAMRE stopped, and
the rounds it ran on easy and hard cases (the halves by the judge's round-1 confidence).

D3's 10,000-token ceiling binds after round 3 here (the simulated prompts cost about 3,500 tokens
a round), which cuts every long debate short; ``--no-budget`` shows convergence alone.

Run: ``python benchmarks/bench_samre_budget.py [--cases 300] [--seed 0] [--no-budget]`` (simulated agents:
the numbers show the mechanism, not real models).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from courtgraph.agents.simulated import simulation
from courtgraph.evals import stats
from courtgraph.graphs.d3 import MAX_TOKENS
from courtgraph.graphs.samre import samre, stopped
from courtgraph.graphs.trial import judge_case
from courtgraph.schema import Case, Record

JUDGE = "sim:judge:0.8:grow=0.1"
ADVOCATE = "sim:advocate:0.7"


def cases(n: int) -> list[Case]:
    return [Case(id=f"c{i}", question=f"Which answer to question {i} is right?",
                 candidates=[f"Answer {i} computed one way, giving {i * 7}.", f"Answer {i} another way: {i * 7 + 1}."],
                 label="A" if i % 2 else "B") for i in range(n)]


@dataclass
class Comparison:
    n: int
    accuracy_samre: float
    accuracy_fixed: float
    delta_ci: tuple[float, float]  # paired bootstrap 95% interval of accuracy(SAMRE) - accuracy(fixed)
    tokens_samre: float
    tokens_fixed: float
    rounds_samre: list[int]
    rounds_fixed: list[int]
    reasons: dict[str, int]
    easy_rounds: float  # mean rounds SAMRE ran on the cases its judge was surest of in round 1 (upper half)
    hard_rounds: float  # ... and on the lower half
    records: list[Record]  # SAMRE's records, each with its stop turn (reason and rounds)

    @property
    def saving(self) -> float:
        return 1 - self.tokens_samre / self.tokens_fixed


def first_confidence(record: Record) -> float:
    """The judge's mean confidence over its two round-1 scores (what makes a case easy or hard for it)."""
    confs = [t.verdict.confidence or 0.0 for t in record.trials[0].turns
             if t.phase == "score" and t.round == 1 and t.verdict is not None]
    return sum(confs) / len(confs) if confs else 0.0


async def compare(n: int = 300, seed: int = 0, judge: str = JUDGE, max_tokens: int | None = MAX_TOKENS) -> Comparison:
    """SAMRE (D3's defaults; ``max_tokens=None``: convergence alone) against the same debate run for all 5
    rounds, one order per case."""
    budgeted = samre(ADVOCATE, judge, max_tokens=max_tokens, name="samre")
    fixed = samre(ADVOCATE, judge, converge=False, max_tokens=None, name="samre-fixed")
    got: dict[str, list[Record]] = {"samre": [], "fixed": []}
    with simulation(seed):
        for case in cases(n):
            got["samre"].append(await judge_case(budgeted, case, orders=["AB"]))
            got["fixed"].append(await judge_case(fixed, case, orders=["AB"]))
    a = [float(bool(r.correct)) for r in got["samre"]]
    b = [float(bool(r.correct)) for r in got["fixed"]]
    stops = [stopped(r.trials[0]) for r in got["samre"]]
    rounds = [s[1] if s else 0 for s in stops]
    reasons: dict[str, int] = {}
    for s in stops:
        reasons[s[0] if s else "none"] = reasons.get(s[0] if s else "none", 0) + 1
    sure = [first_confidence(r) for r in got["fixed"]]
    cut = sorted(sure)[len(sure) // 2]
    easy = [c >= cut for c in sure]

    def mean_rounds(which: bool) -> float:
        chosen = [float(r) for r, e in zip(rounds, easy, strict=True) if e == which]
        return stats.mean(chosen) if chosen else 0.0

    return Comparison(
        n=n, accuracy_samre=stats.mean(a), accuracy_fixed=stats.mean(b),
        delta_ci=stats.paired_bootstrap_ci(a, b, seed=seed),
        tokens_samre=stats.mean([float(r.usage.tokens) for r in got["samre"]]),
        tokens_fixed=stats.mean([float(r.usage.tokens) for r in got["fixed"]]),
        rounds_samre=rounds, rounds_fixed=[s[1] if (s := stopped(r.trials[0])) else 0 for r in got["fixed"]],
        reasons=reasons, easy_rounds=mean_rounds(True), hard_rounds=mean_rounds(False), records=got["samre"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-budget", action="store_true", help="SAMRE stops on convergence only")
    args = parser.parse_args()
    ceiling = None if args.no_budget else MAX_TOKENS
    c = asyncio.run(compare(args.cases, args.seed, max_tokens=ceiling))
    print(f"simulated agents, {c.n} cases, judge {JUDGE}, advocates {ADVOCATE}, token ceiling {ceiling or 'none'}")
    print(f"accuracy: SAMRE {100 * c.accuracy_samre:.1f}%, fixed 5 rounds {100 * c.accuracy_fixed:.1f}%, "
          f"difference 95% paired interval [{100 * c.delta_ci[0]:+.1f}, {100 * c.delta_ci[1]:+.1f}] points")
    print(f"tokens per case: SAMRE {c.tokens_samre:,.0f}, fixed {c.tokens_fixed:,.0f}: saving {100 * c.saving:.1f}%")
    print(f"SAMRE stops: {c.reasons}; mean rounds {sum(c.rounds_samre) / c.n:.2f} "
          f"(easy half {c.easy_rounds:.2f}, hard half {c.hard_rounds:.2f}; fixed: {sum(c.rounds_fixed) / c.n:.2f})")


if __name__ == "__main__":
    main()
