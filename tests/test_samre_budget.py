"""SAMRE's budgeted stopping on simulated judges whose confidence grows over rounds (``grow=``), at a pace set by
how hard the case is for them: the easy cases stop at D3's minimum of 3 rounds, the hard ones run on; against the
fixed-R debate, equal accuracy within the paired interval with fewer tokens. Every record's stop reason is checked
against D3's rule re-applied to the score gaps it stores. The same comparison is
``benchmarks/bench_samre_budget.py`` (which prints the measured saving)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

from courtgraph.agents.simulated import SimModel, parse_spec
from courtgraph.graphs.d3 import MAX_TOKENS, SCALE, Budget
from courtgraph.graphs.samre import stopped
from courtgraph.models.base import Intent
from courtgraph.schema import Case, Record, Trial, Usage

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_samre_budget.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_samre_budget", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def scores_over_rounds(judge: SimModel, trial: Trial, candidate: str) -> list[tuple[float, int]]:
    """(score, confidence %) the judge gives ``candidate`` in rounds 1..5."""
    out = []
    for r in range(1, 6):
        text = judge.respond([], Intent(agent=f"judge[{candidate}]", role="judge", kind="score", trial=trial,
                                        round=r, facts={"candidate": candidate, "setting": "debate", "scale": SCALE}))
        out.append((float(text.rsplit("[[", 1)[1].split("]]")[0]), int(text.split("Confidence: ")[1].split("%")[0])))
    return out


def test_a_growing_judge_settles_at_once_when_sure_and_keeps_revising_when_not() -> None:
    grow = 0.3
    judge = SimModel(parse_spec(f"judge:0.8:grow={grow}"))
    revisions: dict[bool, list[int]] = {True: [], False: []}  # sure (round-1 confidence >= 90%) or not (<= 65%)
    second_round: list[tuple[float, bool]] = []  # (probability of a revision in round 2, whether it came)
    for i in range(400):
        trial = Trial(case=Case(id=f"x{i}", question=f"q{i}?", candidates=[f"right {i}", f"wrong {i}"], label="A"))
        for candidate in "AB":
            seq = scores_over_rounds(judge, trial, candidate)
            mid = sum(SCALE) / 2
            # the side never changes (right or wrong as in round 1); a coin-flip doubt may sit at mid-scale
            assert all(s >= mid for s, _ in seq) or all(s <= mid for s, _ in seq)
            confs = [c for _, c in seq]
            assert confs == sorted(confs)  # confidence only grows
            first = confs[0] / 100
            changed = sum(a != b for a, b in itertools.pairwise(seq))
            if first >= 0.9 or first <= 0.65:
                revisions[first >= 0.9].append(changed)
            second_round.append(((2 * (1 - first)) ** 2 * (1 - grow), seq[1] != seq[0]))
    sure, unsure = revisions[True], revisions[False]
    assert sure and unsure
    assert sum(sure) / len(sure) < 0.1 < 1.0 < sum(unsure) / len(unsure)  # measured: 0.02 and 1.18 per 4 rounds
    # round 2 revises with probability h (1 - grow), h = (2 (1 - c))^2: observed count within 4 sd of its mean
    expected = sum(p for p, _ in second_round)
    sd = sum(p * (1 - p) for p, _ in second_round) ** 0.5
    assert abs(sum(came for _, came in second_round) - expected) < 4 * sd  # confidences are rounded to 1%
    assert parse_spec("judge:0.7").identity == "judge" and parse_spec("0.7").identity == "acc=0.7"  # grow=0 unchanged


def check_stop_reasons(records: list[Record], budget: Budget) -> None:
    """Each record's stop turn says what D3's rule says on its stored score gaps and tokens, and no earlier round
    would have stopped."""
    for record in records:
        trial = record.trials[0]
        reason, rounds = stopped(trial) or ("none", 0)
        gaps: list[float] = []
        for r in range(1, rounds + 1):
            score = {t.agent: t.verdict.score for t in trial.turns if t.phase == "score" and t.round == r
                     and t.verdict is not None and t.verdict.score is not None}
            gaps.append(abs(score["judge[A]"] - score["judge[B]"]))
            tokens = Usage.total(t.usage for t in trial.turns if t.phase != "stop" and (t.round or 0) <= r).tokens
            expected = budget.should_stop(gaps, tokens)
            assert expected == (reason if r == rounds else None), (record.case_id, r, gaps, tokens)
        assert trial.verdict.stage == f"samre:{reason}"


async def test_samre_stops_early_on_easy_cases_and_matches_a_fixed_debate_with_fewer_tokens() -> None:
    c = await bench().compare(300, seed=0, max_tokens=None)  # convergence alone
    check_stop_reasons(c.records, Budget(max_tokens=None))
    assert c.delta_ci[0] <= 0 <= c.delta_ci[1]  # equal accuracy within the paired 95% interval (measured 83.7 / 83.3)
    assert c.saving > 0.2  # measured: 29.7% fewer tokens per case (13,424 against 19,091)
    assert set(c.rounds_fixed) == {5} and min(c.rounds_samre) == 3 and max(c.rounds_samre) == 5
    assert c.easy_rounds + 0.8 < c.hard_rounds  # measured: 3.39 rounds on the easy half, 4.51 on the hard half
    assert set(c.reasons) == {"converged", "max_rounds"} and c.reasons["converged"] > c.n / 2  # measured 172 / 128


async def test_d3s_token_ceiling_cuts_the_long_debates_and_each_record_says_so() -> None:
    c = await bench().compare(300, seed=0, max_tokens=MAX_TOKENS)
    check_stop_reasons(c.records, Budget())
    assert c.delta_ci[0] <= 0 <= c.delta_ci[1]  # measured: 84.0% against 83.3%
    assert c.saving > 0.35  # measured: 42.6% fewer tokens (10,953 against 19,091)
    assert set(c.reasons) == {"converged", "budget"}  # measured 147 / 153: the ceiling binds after round 3 here
    assert c.easy_rounds < c.hard_rounds  # measured 3.22 against 3.81
