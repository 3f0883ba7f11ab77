"""Simulated juries: how often the closed form lands in the 95% interval, and what a verdict costs.

The acceptance test checks one seed; this script checks that the interval covers the closed-form
majority accuracy about 95% of the time over many seeds (a lucky seed would hide a biased
simulator), and measures the CPU per simulated verdict through ``decide`` and through a graph.

    /work/venv/bin/python benchmarks/bench_sim_jury.py [--seeds 20] [--cases 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time

from courtgraph.agents.base import Speaker, case_vars, decide
from courtgraph.agents.simulated import from_spec, simulation
from courtgraph.graphs.single import single
from courtgraph.graphs.trial import judge_case
from courtgraph.prompts import load_prompt
from courtgraph.schema import Case, Label, Trial

PAIRWISE = load_prompt("judge_pairwise")


def make_cases(n: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        x, y = rng.randint(10, 999), rng.randint(10, 999)
        good, bad = f"{x} + {y} = {x + y}.", f"{x} + {y} = {x + y + 1}."
        label: Label = rng.choice(["A", "B"])
        out.append(Case(id=f"c{i}", question=f"What is {x} + {y}?",
                        candidates=[good, bad] if label == "A" else [bad, good], label=label))
    return out


def closed_form(p: float, n: int) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n // 2 + 1, n + 1))


async def majority_accuracy(cases: list[Case], jurors: int, p: float, tag: str) -> float:
    models = [from_spec(f"{tag}{k}:{p}") for k in range(jurors)]

    async def one(case: Case) -> bool:
        trial = Trial(case=case)
        msgs = PAIRWISE.render(**case_vars(trial))
        turns = await asyncio.gather(*(decide(m, msgs, Speaker(f"j{k}", "juror", trial=trial))
                                       for k, m in enumerate(models)))
        return sum(t.verdict is not None and t.verdict.winner == case.label for t in turns) * 2 > jurors

    hits = await asyncio.gather(*(one(c) for c in cases))
    return sum(hits) / len(hits)


async def main(seeds: int, n: int) -> None:
    for jurors in (3, 5):
        target, covered = closed_form(0.7, jurors), 0
        for seed in range(seeds):
            cases = make_cases(n, seed)
            with simulation(seed=seed):
                acc = await majority_accuracy(cases, jurors, 0.7, f"s{seed}j")
            half = 1.96 * math.sqrt(acc * (1 - acc) / n)
            covered += acc - half <= target <= acc + half
        print(f"majority of {jurors} at p=0.7: closed form {target:.4f}, "
              f"inside the 95% interval for {covered}/{seeds} seeds ({covered / seeds:.0%})")

    cases = make_cases(n, 0)
    started = time.process_time()
    await majority_accuracy(cases, 5, 0.7, "t")
    per_decide = (time.process_time() - started) / (5 * n)
    graph = single("sim:t:0.7")
    started = time.process_time()
    await asyncio.gather(*(judge_case(graph, c, orders=["AB"]) for c in cases))
    per_graph = (time.process_time() - started) / n
    print(f"CPU per simulated verdict: decide() {per_decide * 1e3:.2f} ms, single graph {per_graph * 1e3:.2f} ms "
          f"({per_graph / per_decide:.1f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.seeds, args.cases))
