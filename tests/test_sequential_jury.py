"""Sequential voting: the same verdicts as the full jury, and exactly the calls the vote distribution predicts."""

from __future__ import annotations

import itertools

import pytest
from parts import case_text

from courtgraph.agents.aggregator import make_rule
from courtgraph.graphs.jury import jury
from courtgraph.graphs.sequential import decided, jurors_called
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ModelError, ScriptedModel
from courtgraph.schema import Case, Trial, Verdict

N = 5
TAG = {"A": "[[A]]", "B": "[[B]]", "tie": "[[C]]"}


def juror(i: int) -> ScriptedModel:
    """Juror i votes the i-th letter of the pattern written in the case's question."""
    def answer(messages: list[Message], _schema: object) -> str:
        pattern = case_text(messages).split("PATTERN:")[1].split()[0]
        return f"Confidence: 70%\n{TAG[{'A': 'A', 'B': 'B', 'T': 'tie'}[pattern[i]]]}"
    return ScriptedModel(answer, name=f"j{i}")


def calls_predicted(pattern: str, n: int = N) -> int:
    """The closed form for majority over n jurors (labels A, B and T = a tie vote; a shared top is a tie):
    with c_X(k) the counts after k jurors and m = n - k still to call, stop at the first k where

    * a side X in {A, B} leads every other label by more than m: c_X - max_{Y != X} c_Y > m (X wins whatever
      comes), or
    * neither side can still become the sole leader: c_X + m <= max_{Y != X} c_Y for X = A and X = B (a tie
      whatever comes),

    else at k = n. Calls = k*; saved = n - k*."""
    for k in range(1, n + 1):
        c = {x: pattern[:k].count(x) for x in "ABT"}
        m = n - k
        best = {x: max(v for y, v in c.items() if y != x) for x in c}
        if any(c[x] - best[x] > m for x in "AB") or all(c[x] + m <= best[x] for x in "AB"):
            return k
    return n


@pytest.mark.parametrize("aggregate", ["majority", "strict"])
async def test_a_sequential_jury_of_five_returns_the_full_jurys_verdict_with_the_predicted_calls(aggregate: str) \
        -> None:
    full_models = [juror(i) for i in range(N)]
    seq_models = [juror(i) for i in range(N)]
    full = jury(full_models, aggregate=aggregate)
    seq = jury(seq_models, aggregate=aggregate, sequential=True)
    predicted = 0
    for pattern in ("".join(p) for p in itertools.product("ABT", repeat=N)):  # all 243 vote patterns
        trial = Trial(case=Case(id=pattern, question=f"Which? PATTERN: {pattern}", candidates=["x", "y"]))
        want, got = await run_trial(full, trial), await run_trial(seq, trial)
        assert (got.verdict.status, got.verdict.winner) == (want.verdict.status, want.verdict.winner), pattern
        k = calls_predicted(pattern) if aggregate == "majority" else len(got.verdict.votes)
        assert got.usage.calls == len(got.verdict.votes) == k and jurors_called(got) == (k, N)
        predicted += k
    assert sum(len(m.calls) for m in full_models) == 243 * N
    assert sum(len(m.calls) for m in seq_models) == predicted
    if aggregate == "majority":  # the saving the closed form predicts, summed over the patterns
        assert 243 * N - predicted == sum(N - calls_predicted("".join(p)) for p in itertools.product("ABT", repeat=N))
        assert predicted < 243 * N


@pytest.mark.parametrize("p", [0.5, 0.7, 0.9])
def test_expected_calls_for_independent_binary_jurors_has_the_textbook_form(p: float) -> None:
    """For iid jurors voting the right side with probability p (q = 1 - p), a jury of 5 under majority makes
    3 (p^3 + q^3) + 4 * 3pq (p^2 + q^2) + 5 * 6 p^2 q^2 calls in expectation: 3 when the first three agree,
    4 when the first four split 3-1, 5 otherwise."""
    q = 1 - p
    expected = sum(calls_predicted(pat) * p ** pat.count("A") * q ** pat.count("B")
                   for pat in ("".join(x) for x in itertools.product("AB", repeat=N)))
    closed = 3 * (p**3 + q**3) + 4 * 3 * p * q * (p**2 + q**2) + 5 * 6 * p**2 * q**2
    assert expected == pytest.approx(closed)


def test_decided_accounts_for_abstentions_and_ties() -> None:
    rule = make_rule("majority")
    a, b = Verdict(winner="A"), Verdict(winner="B")
    assert decided(rule, [a, a, a], 2) and not decided(rule, [a, a, b], 2) and decided(rule, [a, a, a, b], 1)
    assert not decided(rule, [a, a], 3) and decided(rule, [a], 0)


def test_sequential_refuses_rules_that_depend_on_more_than_counts() -> None:
    with pytest.raises(ValueError, match="count rule"):
        jury("scripted:x", n=5, aggregate="weighted", sequential=True)
    with pytest.raises(ValueError, match="sequential"):
        jury("scripted:x", n=5, rounds=1, sequential=True)
    with pytest.raises(ValueError, match="quorum"):
        jury("scripted:x", n=5, sequential=True, quorum=6)


def voter_or_down(i: int) -> ScriptedModel:
    """Juror i votes the i-th letter of the case's pattern (A, B), or fails for good on an F."""
    def answer(messages: list[Message], _schema: object) -> str | BaseException:
        vote = case_text(messages).split("PATTERN:")[1].split()[0][i]
        return ModelError("503 Service Unavailable") if vote == "F" else f"Confidence: 70%\n[[{vote}]]"
    return ScriptedModel(answer, name=f"q{i}")


def majority_with_quorum(votes: str, quorum: int) -> str:
    """The full jury's outcome, independently: fewer than ``quorum`` answers fail it, else the side with more
    votes among the answers wins (equal counts: a tie)."""
    a, b = votes.count("A"), votes.count("B")
    return "failed" if a + b < quorum else "A" if a > b else "B" if b > a else "tie"


def stop_with_quorum(pattern: str, quorum: int) -> int:
    """The first k after which every way the other jurors could answer (A, B or fail) gives one outcome."""
    for k in range(1, len(pattern) + 1):
        rest = len(pattern) - k
        if len({majority_with_quorum(pattern[:k] + "".join(c), quorum)
                for c in itertools.product("ABF", repeat=rest)}) == 1:
            return k
    return len(pattern)


@pytest.mark.parametrize("quorum", [3, 4])
async def test_a_sequential_jury_with_a_quorum_counts_failed_jurors_against_it(quorum: int) -> None:
    full = jury([voter_or_down(i) for i in range(N)], quorum=quorum)
    seq_models = [voter_or_down(i) for i in range(N)]
    seq = jury(seq_models, quorum=quorum, sequential=True)
    stops: list[int] = []
    for pattern in ("".join(p) for p in itertools.product("ABF", repeat=N)):  # all 243 patterns with failures
        trial = Trial(case=Case(id=pattern, question=f"Which? PATTERN: {pattern}", candidates=["x", "y"]))
        want, got = await run_trial(full, trial), await run_trial(seq, trial)
        expected = majority_with_quorum(pattern, quorum)
        assert (want.verdict.status == "error") == (expected == "failed"), pattern
        assert (got.verdict.status, got.verdict.winner) == (want.verdict.status, want.verdict.winner), pattern
        k = stop_with_quorum(pattern, quorum)
        assert jurors_called(got) == (k, N), pattern
        assert got.usage.calls == k - pattern[:k].count("F"), pattern  # a call that failed counts no usage
        if got.verdict.valid and "F" in pattern[:k]:
            assert got.verdict.quorum and "failed" in got.verdict.quorum  # decided with members missing: said so
        stops.append(k)
    assert sum(len(m.calls) for m in seq_models) == sum(stops) < 243 * N
    # 3 failures of 5 leave quorum 3 out of reach; 3 votes for A decide it even if the other 2 fail
    assert stop_with_quorum("FFFAA", 3) == 3 and stop_with_quorum("AAABB", 3) == 3 < stop_with_quorum("AAABB", 4)
