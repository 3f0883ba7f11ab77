"""Sequential voting: a jury that calls its jurors one at a time (or in waves) and stops once the vote is decided.

After each wave the votes so far are checked against every way the jurors not yet called could
vote (for A, for B, a tie, an invalid answer or a failed call): if the rule gives the same verdict
(status and winner) in all of them, no further juror can change the outcome and none is called.
The verdict is then the full jury's, for any votes the remaining jurors would have cast, so the
saving costs no accuracy; only count rules (``majority``, ``strict``) qualify, because a weighted
or LLM aggregate depends on more than the count. A jury of 5 whose first 3 agree makes 3 calls.

With a ``quorum`` (at least that many jurors must answer), a failed juror counts against it: the jury is
decided once the full jury's outcome (a quorum failure, or the rule's verdict) is the same for every way
the jurors not yet called could answer, failures included; without one, a failed juror fails the trial at
once, as in the full jury.

The verdict keeps the votes actually cast (``len(votes)`` jurors called); a closing ``stop`` turn
says how many jurors were called and how many calls were saved (:func:`jurors_called` reads it).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any, Protocol

from langgraph.graph import END, START, StateGraph

from courtgraph.agents.aggregator import AGENT, Rule, check_quorum, make_rule, member_quorum, quorum_failure
from courtgraph.agents.juror import Vote
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.schema import Label, Trial, TrialResult, Turn, Verdict, visible_turns

#: The rules whose verdict depends only on the counts of the votes.
COUNT_RULES = ("majority", "strict")
#: What a juror not yet called might answer: a side, a tie, or no valid vote (invalid, failed).
_OUTCOMES: tuple[tuple[Label | None, str], ...] = (("A", "ok"), ("B", "ok"), ("tie", "ok"), (None, "invalid"),
                                                   (None, "error"))
_STOP = re.compile(r"^(\d+) of (\d+) jurors called")


class Voter(Protocol):
    @property
    def name(self) -> str: ...

    async def vote(self, trial: Trial, record: Sequence[Turn], audience: Sequence[str]) -> Vote: ...


def outcome(verdict: Verdict) -> tuple[str, Label | None]:
    return verdict.status, verdict.winner


def decided(rule: Rule, cast: Sequence[Verdict], remaining: int) -> bool:
    """Whether every possible set of ``remaining`` further votes leaves the rule's verdict unchanged.

    Count rules ignore who voted what, so the multisets of outcomes (C(m + 4, 4) of them) are enough.
    """
    seen: set[tuple[str, Label | None]] = set()
    for extra in itertools.combinations_with_replacement(_OUTCOMES, remaining):
        more = [Verdict(winner=w, status=s, agent=f"unseen_{i}")
                for i, (w, s) in enumerate(extra)]
        seen.add(outcome(rule([*cast, *more])))
        if len(seen) > 1:
            return False
    return True


def sequential_graph(voters: Sequence[Voter], aggregate: str, *, wave: int = 1, name: str = "jury",
                     quorum: int | None = None) -> Graph:
    """A jury over ``voters`` that calls them ``wave`` at a time, in order, until ``aggregate`` (under ``quorum``)
    is decided."""
    if aggregate not in COUNT_RULES:
        raise ValueError(f"{name}: sequential voting needs a count rule ({', '.join(COUNT_RULES)}), not "
                         f"{aggregate!r}: a weighted or LLM aggregate can change with any further vote")
    if wave < 1:
        raise ValueError(f"{name}: wave must be at least 1")
    names = [v.name for v in voters]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"{name}: voters need distinct names, got {names}")
    check_quorum(quorum, len(voters), name)
    rule = make_rule(aggregate)

    def full_jury(votes: list[Verdict]) -> Verdict:
        """The full jury's outcome on ``votes``: a quorum failure, else the rule's verdict."""
        failure, _ = member_quorum(votes, quorum)
        verdict = quorum_failure(votes, failure).verdict if failure else rule(votes)
        assert verdict is not None
        return verdict

    async def run(state: TrialState) -> dict[str, Any]:
        trial, given = state["trial"], state.get("turns", [])
        turns: list[Turn] = []
        cast: list[Verdict] = []
        called = 0
        while called < len(voters):
            batch = voters[called:called + wave]

            async def one(v: Voter) -> Vote:
                return await v.vote(trial, visible_turns(given, v.name), [v.name, AGENT])

            for got in await gather_all(*(one(v) for v in batch)):
                turns += got.turns
                cast.append(got.verdict)
            called += len(batch)
            if quorum is None and any(v.status == "error" for v in cast):
                break  # a failed juror fails the trial (no quorum): no further calls to pay for
            if decided(rule if quorum is None else full_jury, cast, len(voters) - called):
                break  # with a quorum, the jurors still to call might fail too: that counts against it
        verdict = full_jury(cast)
        _, missing = member_quorum(cast, quorum)
        if missing and verdict.valid:
            verdict = verdict.model_copy(update={"quorum": missing})
        saved = len(voters) - called
        tally = Turn(role="aggregator", agent=AGENT, content=verdict.rationale or verdict.error or "",
                     model=f"rule:{aggregate}", phase="verdict", verdict=verdict)
        note = Turn(role="controller", agent=name, model="rule:sequential", phase="stop",
                    content=f"{called} of {len(voters)} jurors called: {saved} juror call{'s' * (saved != 1)} saved "
                            f"({'the remaining votes could not change the ' + aggregate if saved else 'all needed'})")
        return {"turns": [*turns, tally, note], "votes": cast, "verdict": verdict}

    g = StateGraph(TrialState)
    g.add_node("vote", run)
    g.add_edge(START, "vote")
    g.add_edge("vote", END)
    return g.compile(name=name).with_config(recursion_limit=4)


def jurors_called(trial: TrialResult | Sequence[Turn]) -> tuple[int, int] | None:
    """(jurors called, jurors in the jury) of a sequential jury's trial, from its ``stop`` turn."""
    turns = trial.turns if isinstance(trial, TrialResult) else trial
    for t in reversed(turns):
        match = _STOP.match(t.content) if t.phase == "stop" and t.role == "controller" else None
        if match:
            return int(match[1]), int(match[2])
    return None
