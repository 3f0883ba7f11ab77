"""A consultation: one consultant argues for one side, and a judge questions it, then decides.

Each consultation is a closed room: its turns are visible to its consultant and its judge only, so
when a consultancy runs one consultation per side, the judge of one never sees the other. The
judge never sees the hidden context (only the consultant gets ``context_vars``), and it is told the
consultant may be arguing for the worse response: Khan et al. tell their judge the same, and
Kenton et al. found judges "equally convinced" by a consultant whether it is right or wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from courtgraph.agents.advocate import Advocate
from courtgraph.agents.base import Facts, Speaker, case_vars, context_vars, decide, speak, transcript_text
from courtgraph.models import ChatModel
from courtgraph.prompts import load_prompt
from courtgraph.schema import Label, Trial, Turn, visible_turns


@dataclass(frozen=True)
class Consultation:
    """The consultant for ``side`` and the judge who hears it."""

    consultant: ChatModel
    judge: ChatModel
    side: Label
    rounds: int
    word_limit: int | None = None
    chosen: bool = False  # open consultancy: the consultant chose this side itself

    @property
    def names(self) -> tuple[str, str]:
        return f"consultant_{self.side}", f"judge_{self.side}"

    def _values(self, trial: Trial, turns: list[Turn], viewer: str, round: int) -> dict[str, str]:
        assignment = (f"The consultant chose to argue that Response {self.side} is better; it may be wrong, and it "
                      "argues to persuade you either way." if self.chosen else
                      f"The consultant was assigned, regardless of which response is better, to argue that "
                      f"Response {self.side} is better: it is as likely to be arguing for the worse response as for "
                      "the better one.")
        return case_vars(trial) | {
            "side": self.side, "rounds": str(self.rounds), "round": str(round), "assignment": assignment,
            "transcript": transcript_text(visible_turns(turns, viewer)),
        }

    async def argue(self, trial: Trial, turns: list[Turn], round: int) -> list[Turn]:
        """The consultant's opening (round 1) or its answer to the judge's latest question."""
        name = self.names[0]
        values = self._values(trial, turns, name, round) | context_vars(trial)
        advocate = Advocate(self.consultant, name, "consultant", "consultant_consultancy", self.word_limit)
        return await advocate.argue(values, round=round, phase="argument", visible_to=self.names, trial=trial,
                                    facts=Facts(side=self.side, asked=round > 1))

    async def ask(self, trial: Trial, turns: list[Turn], round: int) -> Turn:
        template = load_prompt("judge_consultancy_question")
        who = Speaker(agent=self.names[1], role="judge", round=round, phase="question", visible_to=self.names,
                      prompt=template, trial=trial,
                      facts=Facts(act="ask", setting="consultancy", addressees={self.names[0]: self.side}))
        return await speak(self.judge, template.render(**self._values(trial, turns, self.names[1], round)), who)

    async def decide(self, trial: Trial, turns: list[Turn]) -> Turn:
        template = load_prompt("judge_consultancy")
        who = Speaker(agent=self.names[1], role="judge", phase="verdict", visible_to=self.names,
                      prompt=template, trial=trial, facts=Facts(setting="consultancy"))
        return await decide(self.judge, template.render(**self._values(trial, turns, self.names[1], self.rounds)),
                            who)
