"""Jurors: independent judges whose verdicts are votes, and who may deliberate.

A juror is a judge with a name, an optional persona (ChatEval's role descriptions) and a vote that
is private unless the protocol shares it. It can also read a record of proceedings (the public
turns of a courtroom when a jury is its verdict stage), so the same juror serves a stand-alone jury
and a jury inside another protocol. Specialists (one dimension each) are jurors with another prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from courtgraph.agents.base import DecisionKind, Facts, Speaker, case_vars, decide, setting_of, transcript_text
from courtgraph.agents.tasks import gather_all
from courtgraph.models import ChatModel
from courtgraph.prompts import Prompt, load_prompt
from courtgraph.schema import Label, Trial, Turn, Verdict

JurorMode = Literal["pairwise", "pointwise"]


class Vote(NamedTuple):
    """What a voting member hands over: the turns it added and its verdict (a vote)."""

    turns: list[Turn]
    verdict: Verdict


def decision_kind(trial: Trial) -> DecisionKind:
    """What a verdict on ``trial`` is: a side for a pair, a score for a single response."""
    return "pairwise" if len(trial.shown) == 2 else "score"


def verdict_vars(trial: Trial, kind: DecisionKind, scale: tuple[float, float] = (1, 10), *,
                 reference: bool = False) -> dict[str, str]:
    """Placeholders for a prompt that works for a pair or a single response.

    ``responses`` holds the fenced candidate(s) (from :func:`case_vars`, so fencing stays in one
    place); ``verdict_format`` says how to end the answer in a way the parser reads.
    """
    values = case_vars(trial, reference=reference)
    lo, hi = f"{scale[0]:g}", f"{scale[1]:g}"
    if kind == "pairwise":
        values["responses"] = f"# Response A\n{values['response_a']}\n\n# Response B\n{values['response_b']}"
        values["task"] = "Decide which response answers the question better."
        values["verdict_format"] = "[[A]] if Response A is better, [[B]] if Response B is better, [[C]] for a tie"
    else:
        values["responses"] = f"# Response\n{values['response']}"
        values["task"] = f"Grade the response on a scale from {lo} to {hi} ({hi} is best)."
        values["verdict_format"] = f"the score as [[SCORE]] on the scale from {lo} to {hi}, for example [[{hi}]]"
    values["scale_min"], values["scale_max"] = lo, hi
    return values


def record_block(record: Sequence[Turn]) -> str:
    """The proceedings a juror may read (empty for a stand-alone jury)."""
    if not record:
        return ""
    return f"\n# Record of the proceedings\n{transcript_text(list(record))}\n"


def verdict_line(v: Verdict) -> str:
    """A vote as one line, without verdict tags (so a prompt quoting votes stays parseable)."""
    if not v.valid:
        return f"no valid verdict ({v.status})"
    what = f"score {v.score:g}" if v.score is not None else f"winner {v.winner}"
    return what + (f", confidence {v.confidence:.2f}" if v.confidence is not None else "")


def vote_text(v: Verdict) -> str:
    """A vote and its reasons (the raw answer when it did not parse), as another agent reads it."""
    return f"{verdict_line(v)}\n{(v.rationale or v.raw or '').strip()}"


def render_votes(votes: Sequence[Verdict]) -> str:
    """Each member's verdict and rationale, as a deliberating juror or a presiding judge reads them."""
    return "\n\n".join(f"## {v.agent or f'member {i + 1}'}: {vote_text(v)}" for i, v in enumerate(votes))


def compare_scores(a: Verdict | None, b: Verdict | None, tie_delta: float, agent: str) -> Verdict:
    """Two pointwise verdicts (for A and for B) as one pairwise verdict; invalid if either is."""
    if a is None or b is None or not (a.valid and b.valid) or a.score is None or b.score is None:
        bad = next(v for v in (a, b) if v is None or not v.valid or v.score is None)
        status = bad.status if bad is not None and bad.status != "ok" else "invalid"
        return Verdict(status=status, agent=agent, error="a candidate's score is missing",
                       votes=[v for v in (a, b) if v is not None])
    diff = a.score - b.score
    winner: Label = "tie" if abs(diff) <= tie_delta else "A" if diff > 0 else "B"
    return Verdict(winner=winner, scores={"A": a.score, "B": b.score}, agent=agent,
                   rationale=f"A scored {a.score:g}, B scored {b.score:g}.", votes=[a, b])


def single_trial(trial: Trial, index: int) -> Trial:
    """One shown candidate as a pointwise trial (to score each side of a pair separately)."""
    return Trial(case=trial.case.model_copy(update={"candidates": [trial.shown[index]]}))


@dataclass(frozen=True)
class Juror:
    """One voting judge. ``persona`` is a role description added to its prompt (may be empty)."""

    model: ChatModel
    name: str
    persona: str = ""
    mode: JurorMode = "pairwise"
    scale: tuple[float, float] = (1, 10)
    tie_delta: float = 0.0  # pointwise juror on a pair: score gap counted as a tie
    reference: bool = False
    role: str = "juror"
    prompt: str | Prompt = "juror_jury"
    revise_prompt: str | Prompt = "juror_deliberation"
    extra: tuple[tuple[str, str], ...] = ()  # further template values, e.g. a specialist's dimension

    def _facts(self, record: Sequence[Turn]) -> Facts:
        """Who this juror is among jurors sharing a model, and the proceedings it reads, if any."""
        setting = setting_of(record)
        return Facts(persona=self.name, setting=setting) if setting else Facts(persona=self.name)

    def _kind(self, trial: Trial) -> DecisionKind:
        return decision_kind(trial) if self.mode == "pairwise" else "score"

    async def _decide(self, template: Prompt, trial: Trial, values: dict[str, str], who: Speaker) -> Turn:
        kind = self._kind(trial)
        values = verdict_vars(trial, kind, self.scale, reference=self.reference) | dict(self.extra) | values
        values |= {"juror": self.name, "persona_block": f"\n{self.persona.strip()}\n" if self.persona else ""}
        return await decide(self.model, template.render(**values), who, kind=kind, scale=self.scale)

    async def vote(self, trial: Trial, record: Sequence[Turn], audience: Sequence[str]) -> Vote:
        """An independent verdict; its turns are visible to ``audience`` (e.g. itself and the aggregator)."""
        template = load_prompt(self.prompt)
        values = {"record_block": record_block(record)}

        def who(candidate: Label | None = None) -> Speaker:  # a pointwise juror on a pair scores each candidate
            facts = self._facts(record) | (Facts(candidate=candidate) if candidate else Facts())
            return Speaker(agent=self.name + (f"[{candidate}]" if candidate else ""), role=self.role,
                           visible_to=tuple(audience), prompt=template, phase="vote", trial=trial, facts=facts)

        if self._kind(trial) == decision_kind(trial):  # else a pointwise juror on a pair: score each, compare
            turn = await self._decide(template, trial, values, who())
            return Vote([turn], turn.verdict or Verdict.failed("no verdict", agent=self.name))
        a, b = await gather_all(self._decide(template, single_trial(trial, 0), values, who("A")),
                                self._decide(template, single_trial(trial, 1), values, who("B")))
        return Vote([a, b], compare_scores(a.verdict, b.verdict, self.tie_delta, self.name))

    async def revise(self, trial: Trial, record: Sequence[Turn], own: Verdict, peers: Sequence[Verdict], *,
                     round: int, final: bool, audience: Sequence[str]) -> Vote:
        """A deliberation round: read the others' last verdicts and rationales, keep or change one's own."""
        if self._kind(trial) != decision_kind(trial):
            raise ValueError("deliberation needs one decision per juror: use pairwise jurors, or "
                             "pointwise jurors on single-response cases")
        template = load_prompt(self.revise_prompt)
        values = {
            "record_block": record_block(record),
            "own": vote_text(own),
            "others": render_votes(peers) or "(no other jurors)",
            "final_note": ("This is the final round: your verdict now is your private, final vote; "
                           "the other jurors will not see it." if final else
                           "Your answer will be shared with the other jurors for the next round."),
        }
        who = Speaker(agent=self.name, role=self.role, round=round, visible_to=tuple(audience),
                      prompt=template, phase="vote" if final else "deliberation", trial=trial,
                      facts=self._facts(record))
        turn = await self._decide(template, trial, values, who)
        return Vote([turn], turn.verdict or Verdict.failed("no verdict", agent=self.name))
