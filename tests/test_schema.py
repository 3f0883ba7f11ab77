"""The data model: JSON round trips, frame mapping, the net-vote rule, failures never a side."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.schema import (
    Case,
    Record,
    Trial,
    TrialResult,
    Turn,
    Usage,
    Verdict,
    combine_orders,
    flip_label,
    is_correct,
    net_vote,
    visible_turns,
)


def _case() -> Case:
    return Case(id="c1", question="2+2?", candidates=["4", "5"], reference="4", context="secret",
                label="A", category="math", metadata={"source": "t"})


def test_record_json_round_trip_is_lossless() -> None:
    usage = Usage(calls=1, input_tokens=10, output_tokens=5, cost_usd=None, cache_hits=1, saved_usd=0.01)
    votes = [Verdict(winner="A", agent="j1"), Verdict.invalid("???", "no tag", agent="j2")]
    turn = Turn(role="judge", agent="judge", content="A is right [[A]]", model="scripted:x", round=1,
                visible_to=["judge"], usage=usage, latency_s=0.5, cached=True,
                verdict=Verdict(winner="A", confidence=0.8, votes=votes))
    trial = TrialResult(order="BA", verdict=Verdict(winner="B"), turns=[turn], usage=usage)
    record = Record(case_id="c1", protocol="jury", label="A", trials=[trial], verdict=Verdict(winner="A"),
                    correct=True, usage=usage, templates_used={"judge_pairwise": "abc"})
    again = Record.model_validate_json(record.model_dump_json())
    assert again == record
    assert again.trials[0].turns[0].verdict is not None
    assert again.trials[0].turns[0].verdict.votes[1].status == "invalid"
    assert Case.model_validate_json(_case().model_dump_json()) == _case()


def test_trial_maps_frames_both_ways() -> None:
    case = _case()
    ab, ba = Trial(case=case, order="AB"), Trial(case=case, order="BA")
    assert ab.shown == ["4", "5"] and ba.shown == ["5", "4"]
    assert ba.to_case("A") == "B" and ba.to_shown("A") == "B" and ba.to_case("tie") == "tie"
    assert ab.to_case("A") == "A"
    assert flip_label(None) is None


def test_usage_sums_and_unknown_cost_stays_unknown() -> None:
    known = Usage(calls=1, input_tokens=3, cost_usd=0.5)
    total = Usage.total([known, known])
    assert total.calls == 2 and total.input_tokens == 6 and total.cost_usd == pytest.approx(1.0)
    assert (known + Usage(calls=1, cost_usd=None)).cost_usd is None


def _trial(order: str, winner: str | None, status: str = "ok") -> TrialResult:
    return TrialResult(order=order, verdict=Verdict(winner=winner, status=status))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ab", "ba", "expected"),
    [
        ("A", "B", "A"),  # consistent: A first, then A (shown second, so "B") -> A
        ("A", "A", "tie"),  # position-biased judge: always first -> inconsistent -> tie
        ("A", "tie", "A"),  # one order decides, the other ties
        ("tie", "tie", "tie"),
        ("B", "A", "B"),
    ],
)
def test_combine_orders_is_judgebench_net_vote(ab: str, ba: str, expected: str) -> None:
    v = combine_orders([_trial("AB", ab), _trial("BA", ba)])
    assert v.winner == expected
    assert len(v.votes) == 2


def test_invalid_trials_vote_zero_and_all_invalid_is_not_a_side() -> None:
    one = combine_orders([_trial("AB", "A"), _trial("BA", None, "invalid")])
    assert one.winner == "A" and one.valid
    none = combine_orders([_trial("AB", None, "invalid"), _trial("BA", None, "error")])
    assert none.status == "invalid" and none.winner is None
    assert is_correct(none, "A") is False


def test_net_vote_and_correctness() -> None:
    assert net_vote("A", ["A", "B", None, "tie"]) == 0
    assert net_vote("A", ["A", "A"]) == 2
    assert is_correct(Verdict(winner="A"), "A") is True
    assert is_correct(Verdict(winner="A"), None) is None
    assert is_correct(Verdict(score=7.0), 7.0) is True


def test_verdict_flipped_swaps_winner_scores_and_votes() -> None:
    v = Verdict(winner="A", scores={"A": 9, "B": 3}, votes=[Verdict(winner="B")])
    f = v.flipped()
    assert f.winner == "B" and f.scores == {"B": 9, "A": 3} and f.votes[0].winner == "A"


def test_visibility_filter() -> None:
    public = Turn(role="advocate", agent="advocate_A", content="x")
    private = Turn(role="advocate", agent="advocate_A", content="notes", visible_to=["advocate_A"])
    assert visible_turns([public, private], "judge") == [public]
    assert visible_turns([public, private], "advocate_A") == [public, private]


def test_combined_votes_are_wholly_in_the_case_frame() -> None:
    jurors = [Verdict(winner="A", scores={"A": 9, "B": 2}), Verdict(winner="A")]
    ba = TrialResult(order="BA", verdict=Verdict(winner="A", scores={"A": 9, "B": 2}, votes=jurors))
    combined = combine_orders([_trial("AB", "B"), ba])
    assert combined.winner == "B"
    swapped = combined.votes[1]
    assert swapped.winner == "B" and swapped.scores == {"B": 9, "A": 2}
    assert [j.winner for j in swapped.votes] == ["B", "B"]  # the jurors said "A" = case B


def test_an_ok_trial_without_a_winner_is_not_a_vote() -> None:
    assert combine_orders([_trial("AB", None), _trial("BA", None)]).status == "invalid"


_MONEY = st.none() | st.floats(0, 1e6) | st.integers(0, 10) | st.sampled_from([-0.0, 0.1, 1e-17])


def _field_strategy(annotation: object) -> st.SearchStrategy[object]:
    """Any value of a Usage field's type: every field is drawn, so a field total() forgot would differ."""
    if annotation is int:
        return st.integers(0, 10**6)
    if annotation == float | None:
        return _MONEY
    assert annotation == dict[str, int], annotation  # a new kind of field: give it a strategy here
    return st.dictionaries(st.sampled_from(["429", "503", "timeout"]), st.integers(0, 5))


_USAGE = st.builds(Usage, **{name: _field_strategy(f.annotation) for name, f in Usage.model_fields.items()})


def _sum_by_definition(usages: list[Usage]) -> Usage:
    """Field by field over Usage's fields: counts add, money is None if any term's is (else added in order
    from 0.0), faults add by kind with their kinds sorted."""
    out: dict[str, object] = {}
    for name, f in Usage.model_fields.items():
        values = [getattr(u, name) for u in usages]
        if f.annotation == float | None:
            out[name] = None if any(v is None for v in values) else sum(values, 0.0)
        elif f.annotation is int:
            out[name] = sum(values)
        else:
            merged: dict[str, int] = {}
            for faults in values:
                for kind, count in faults.items():
                    merged[kind] = merged.get(kind, 0) + count
            out[name] = dict(sorted(merged.items()))
    return Usage.model_validate(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(_USAGE, max_size=6))
def test_a_total_is_the_field_by_field_sum_and_adding_agrees(usages: list[Usage]) -> None:
    """total() (and +, which is total() of two) against the definition, over every field of Usage."""
    expected = _sum_by_definition(usages)
    total = Usage.total(iter(usages))
    assert total.model_dump_json() == expected.model_dump_json() and list(total.faults) == sorted(total.faults)
    folded = Usage()
    for u in usages:
        folded = folded + u
    assert folded.model_dump_json() == expected.model_dump_json()
