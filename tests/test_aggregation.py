"""Voting rules: ties stay ties, failures abstain and never become a side by list order."""

from __future__ import annotations

import pytest
from parts import case_text

from courtgraph.agents.aggregator import majority, make_aggregator, make_rule, mean, strict, weighted
from courtgraph.errors import InputError
from courtgraph.graphs.jury import jury
from courtgraph.graphs.panel import panel
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.schema import Case, Label, Trial, Verdict


def v(winner: Label | None, agent: str = "j", confidence: float | None = None) -> Verdict:
    return Verdict(winner=winner, agent=agent, confidence=confidence, rationale=f"{agent} says {winner}")


BAD = Verdict.invalid("no tag", "unparseable", agent="bad")
FAILED = Verdict.failed("timeout", agent="down")


def test_majority_plurality_and_confidence() -> None:
    out = majority([v("A"), v("B"), v("A")])
    assert (out.winner, out.status, out.stage) == ("A", "ok", "majority")
    assert out.confidence == pytest.approx(2 / 3)
    assert len(out.votes) == 3


@pytest.mark.parametrize("votes", [[v("A"), v("B")], [v("B"), v("A")], [v("A"), v("B"), v("tie"), v("tie")][:3]])
def test_majority_split_is_a_tie_in_any_order(votes: list[Verdict]) -> None:
    assert majority(votes).winner == "tie"
    assert majority(list(reversed(votes))).winner == "tie"


def test_one_invalid_in_an_odd_panel_abstains_and_never_decides_by_order() -> None:
    for votes in ([v("A"), BAD, v("B")], [BAD, v("A"), v("B")], [v("B"), v("A"), BAD]):
        out = majority(votes)
        assert out.winner == "tie", votes
        assert "1 abstained" in out.rationale
        assert out.votes[votes.index(BAD)].status == "invalid"


def test_invalid_votes_abstain_but_the_valid_majority_stands() -> None:
    out = majority([v("B"), BAD, FAILED])
    assert out.winner == "B" and out.confidence == 1.0
    assert "2 abstained" in out.rationale


def test_all_invalid_is_invalid_and_all_failed_is_error() -> None:
    assert majority([BAD, BAD, FAILED]).status == "invalid"
    assert majority([BAD, BAD, FAILED]).winner is None
    assert majority([FAILED, FAILED]).status == "error"
    assert strict([BAD]).status == "invalid"
    assert weighted([BAD, FAILED]).status == "invalid"
    assert mean([BAD]).status == "invalid"


def test_tie_votes_are_a_label_for_a_jury_but_abstain_for_a_panel() -> None:
    votes = [v("A"), v("tie"), v("tie")]
    assert majority(votes).winner == "tie"
    assert majority(votes, ties=False).winner == "A"
    assert majority([v("tie"), v("tie")], ties=False).winner == "tie"


def test_strict_needs_more_than_half_of_all_jurors_including_abstentions() -> None:
    assert strict([v("A"), v("A"), BAD]).winner == "A"  # 2 of 3
    assert strict([v("A"), BAD, BAD]).winner == "tie"  # 1 of 3, though the only valid vote
    assert majority([v("A"), BAD, BAD]).winner == "A"  # the plurality rule differs here
    assert strict([v("A"), v("A"), v("B"), BAD]).winner == "tie"  # 2 of 4 is not more than half


def test_weighted_by_given_weights_and_by_confidence() -> None:
    votes = [v("A", "j1", 0.9), v("B", "j2", 0.6), v("B", "j3", 0.2)]
    assert weighted(votes).winner == "A"  # 0.9 > 0.8 by confidence
    assert weighted(votes, [1.0, 1.0, 1.0]).winner == "B"
    assert weighted(votes, [3.0, 1.0, 1.0]).winner == "A"
    assert weighted(votes, [1.0, 0.5, 0.5]).winner == "tie"  # equal weight: a tie, not juror order
    with pytest.raises(ValueError, match="2 weights for 3 votes"):
        weighted(votes, [1.0, 1.0])


def test_mean_of_scores_and_of_pair_scores() -> None:
    out = mean([Verdict(score=8, agent="a"), Verdict(score=6, agent="b"), BAD])
    assert out.score == pytest.approx(7) and out.winner is None
    pairs = [Verdict(winner="A", scores={"A": 8, "B": 5}), Verdict(winner="B", scores={"A": 6, "B": 7})]
    assert mean(pairs).winner == "A" and mean(pairs).scores == {"A": 7, "B": 6}
    assert mean(pairs, tie_delta=1.0).winner == "tie"
    assert mean(pairs, weights=[0.0, 1.0]).winner == "B"
    assert mean([v("A")]).status == "invalid"  # winners without scores cannot be averaged


def test_label_rules_average_pointwise_votes() -> None:
    scores = [Verdict(score=9, confidence=0.9), Verdict(score=5, confidence=0.3)]
    assert make_rule("majority")(scores).score == pytest.approx(7)
    assert make_rule("strict")(scores).score == pytest.approx(7)
    assert make_rule("weighted")(scores).score == pytest.approx(8)  # by confidence, as for labels
    assert make_rule("weighted", weights=[1, 3])(scores).score == pytest.approx(6)
    assert make_rule("majority")([v("A"), v("A"), Verdict(score=2)]).winner == "A"  # labels are counted


def test_mean_is_refused_for_pairwise_members_when_the_protocol_is_built() -> None:
    with pytest.raises(ValueError, match=r"aggregate='mean' averages scores.*mode='pointwise'"):
        panel("scripted:x", aggregate="mean")
    with pytest.raises(ValueError, match=r"aggregate='mean' averages scores.*mode='pointwise'"):
        jury("scripted:x", aggregate="mean")
    with pytest.raises(InputError, match="mean"):
        build_protocol("panel", Roles(model="scripted:x"), aggregate="mean")
    panel("scripted:x", aggregate="mean", mode="pointwise")
    jury("scripted:x", aggregate="mean", mode="pointwise")


async def test_a_pointwise_panel_averages_each_candidates_scores_into_a_side() -> None:
    def grader(messages: list[Message], _schema: object) -> str:  # every dimension: 8 for one, 4 for the other
        good = "good answer" in case_text(messages)
        return f"Graded.\n[[{8 if good else 4}]]"

    trial = Trial(case=Case(id="c", question="q?", candidates=["good answer", "weak answer"]))
    model = ScriptedModel(grader, name="grader")
    result = await run_trial(panel(model, dimensions=["correctness", "reasoning"], aggregate="mean",
                                   mode="pointwise"), trial)
    assert len(model.calls) == 4 and result.verdict.stage == "mean"
    assert result.verdict.winner == "A" and result.verdict.scores == {"A": 8, "B": 4}


def test_make_rule_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown aggregation rule 'plurality'"):
        make_rule("plurality")
    assert make_rule("weighted", weights=[0.0, 1.0])([v("A"), v("B")]).winner == "B"


async def test_rule_aggregator_makes_no_call_and_llm_aggregator_one() -> None:
    trial = Trial(case=Case(id="c", question="q?", candidates=["x", "y"]))
    votes = [v("A", "juror_1"), BAD]
    turn = await make_aggregator("majority")(trial, votes)
    assert turn.model == "rule:majority" and turn.usage.calls == 0 and turn.verdict is not None
    judge = ScriptedModel(["I follow juror_1. Confidence: 70%\n[[B]]"], name="presiding")
    turn = await make_aggregator(judge)(trial, votes)
    assert turn.verdict is not None and turn.verdict.winner == "B" and turn.verdict.stage == "llm"
    assert [x.agent for x in turn.verdict.votes] == ["juror_1", "bad"]
    prompt = judge.prompts()[0]
    assert "juror_1 says A" in prompt and "no valid verdict (invalid)" in prompt
    assert len(judge.calls) == 1 and turn.usage.calls == 1
