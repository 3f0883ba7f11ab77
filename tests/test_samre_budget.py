"""SAMRE's budgeted stopping on simulated judges whose confidence grows over rounds (``grow=``): equal accuracy
to the fixed-R debate within the paired interval, with fewer tokens; the easy cases stop sooner than the hard.
The same comparison is ``benchmarks/bench_samre_budget.py`` (which prints the measured saving)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from courtgraph.agents.simulated import SimModel, parse_spec
from courtgraph.models.base import Intent
from courtgraph.schema import Case, Trial

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_samre_budget.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_samre_budget", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_growing_judge_scores_the_same_side_with_rising_confidence() -> None:
    judge = SimModel(parse_spec("judge:0.7:grow=0.3"))
    trial = Trial(case=Case(id="x", question="q?", candidates=["right", "wrong"], label="A"))
    confidences, sides = [], set()
    for r in range(1, 6):
        text = judge.respond([], Intent(agent="judge[A]", role="judge", kind="score", trial=trial, round=r,
                                        facts={"candidate": "A", "setting": "debate", "scale": (1.0, 10.0)}))
        confidences.append(int(text.split("Confidence: ")[1].split("%")[0]))
        sides.add(int(text.rsplit("[[", 1)[1].split("]]")[0]) >= 6)
    assert confidences == sorted(confidences) and confidences[-1] > confidences[0] and len(sides) == 1
    assert parse_spec("judge:0.7").identity == "judge" and parse_spec("0.7").identity == "acc=0.7"  # grow=0 unchanged


async def test_samre_matches_a_fixed_debate_on_300_cases_with_fewer_tokens() -> None:
    c = await bench().compare(300, seed=0)
    assert c.delta_ci[0] <= 0 <= c.delta_ci[1]  # equal accuracy within the paired 95% interval
    assert c.saving > 0.3  # measured: 51.2% fewer tokens per case (SAMRE 8,188 against 16,789)
    assert set(c.rounds_fixed) == {5} and min(c.rounds_samre) == 3 and max(c.rounds_samre) > 3
    assert c.easy_rounds < c.hard_rounds  # stops sooner on the cases its judge is surest of
    assert c.reasons.get("converged", 0) > c.n / 2
