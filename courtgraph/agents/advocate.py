"""Advocates: debaters, prosecutors, defenders and consultants, who argue a side.

Two things every advocate needs are handled here once. Private reasoning: an advocate may think in
``<thinking>...</thinking>`` (or ``<notes>``) before it argues; that text is split into a turn visible
only to its author, so it never reaches the judge or the opponent (Khan's debaters and
AgenticSimLaw keep reasoning out of the shared record the same way; an unclosed tag hides the rest
of the answer, because leaking is worse than losing a sentence). Length: the argument is truncated
to the word limit the prompt states, so a verbose advocate cannot win by volume; a line the
protocol acts on (a courtroom's witness call) is taken out first and kept after the cut argument.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from courtgraph.agents.base import Facts, Speaker, case_vars, context_vars, speak
from courtgraph.agents.parsing import parse_pairwise
from courtgraph.models import ChatModel, Message, ModelError
from courtgraph.prompts import Prompt, load_prompt
from courtgraph.schema import EVERYONE, Label, Trial, Turn, Usage, Verdict

_PRIVATE = re.compile(r"<(thinking|notes)>(.*?)(?:</\1>|\Z)", re.DOTALL | re.IGNORECASE)
_WORD = re.compile(r"\S+")


def split_private(text: str) -> tuple[str, str]:
    """(public argument, private notes) of an advocate's answer."""
    private = "\n\n".join(m.group(2).strip() for m in _PRIVATE.finditer(text))
    return _PRIVATE.sub("", text).strip(), private


def truncate_words(text: str, limit: int | None) -> str:
    """``text`` cut after ``limit`` words, keeping its layout; marked when cut."""
    if not limit:
        return text
    words = list(_WORD.finditer(text))
    if len(words) <= limit:
        return text
    return text[: words[limit - 1].end()] + " [truncated]"


@dataclass(frozen=True)
class Advocate:
    """One speaker for a side, with its template and word limit."""

    model: ChatModel
    name: str
    role: str
    prompt: str | Prompt
    word_limit: int | None = None

    async def argue(self, values: dict[str, str], *, round: int | None = None, phase: str | None = None,
                    visible_to: Sequence[str] = (EVERYONE,), keep: re.Pattern[str] | None = None,
                    trial: Trial | None = None, facts: Facts | None = None) -> list[Turn]:
        """One call -> [private notes turn (if any), public argument turn]; the call's usage is on the latter.

        ``keep`` matches a line the protocol acts on (see :func:`split_turn`), exempt from the word limit.
        ``trial`` and ``facts`` (the side or stance argued, ...) say in structure what ``values`` say in words.
        """
        template = load_prompt(self.prompt)
        length = f"to at most {self.word_limit} words (longer arguments are cut off)" if self.word_limit else "concise"
        who = Speaker(agent=self.name, role=self.role, round=round, phase=phase, visible_to=tuple(visible_to),
                      prompt=template, trial=trial, facts=Facts(act="argue") | (facts or Facts()))
        turn = await speak(self.model, template.render(**values, length=length), who)
        return split_turn(turn, self.word_limit, keep)


def split_turn(turn: Turn, word_limit: int | None, keep: re.Pattern[str] | None = None) -> list[Turn]:
    """The answer as [private notes (if any), public argument cut to ``word_limit`` words].

    The last public line matching ``keep`` (the one that counts, e.g. a witness call ending an
    opening) is taken out before the cut and put back after it: the limit is on the argument, and
    a call cut off with it would silently never happen.
    """
    public, private = split_private(turn.content)
    kept: list[str] = []
    if keep is not None:
        kept = [m.group(0).strip() for m in keep.finditer(public)][-1:]
        public = keep.sub("", public).strip()
    content = "\n".join(filter(None, [truncate_words(public, word_limit), *kept])) or "(no argument)"
    argument = turn.model_copy(update={"content": content})
    if not private:
        return [argument]
    notes = turn.model_copy(update={"content": private, "visible_to": [turn.agent], "phase": "notes",
                                    "usage": Usage(), "latency_s": 0.0})
    return [notes, argument]


def court_framing(trial: Trial, role: str | None = None) -> dict[str, str]:
    """What the court decides and, for ``role`` (prosecutor or defender), the side it takes, in either mode."""
    pair = len(trial.shown) == 2
    out = {"subject": "which of two responses to the question is better; Response A is in the dock" if pair else
                      "whether a response to the question is correct and adequate",
           "charge": "Response A is the worse of the two: Response B answers the question better" if pair else
                     "the response is not correct and adequate"}
    if role is None:
        return out
    stance = {("prosecutor", True): "argue for Response B and against Response A",
              ("defender", True): "argue for Response A: it is the better of the two",
              ("prosecutor", False): "argue against the response: show where it is wrong or inadequate",
              ("defender", False): "argue for the response: show that it is correct and adequate"}[role, pair]
    return out | {"stance": stance, "role": role, "opponent": "defender" if role == "prosecutor" else "prosecutor"}


class Choice(NamedTuple):
    """An open protocol's side choice: the private turn, the side to argue, and whether it was chosen."""

    turn: Turn
    side: Label
    chosen: bool  # False: no valid choice, so the advocate argues the side it was assigned


def read_choice(text: str) -> tuple[Label | None, str]:
    """The side an answer chose (its last [[A]] or [[B]]), or None and what is wrong with the answer."""
    parsed = parse_pairwise(text)
    if isinstance(parsed, str):
        return None, "no choice tag ([[A]] or [[B]]) found"
    if parsed.winner not in ("A", "B"):
        return None, "a tie is not a side you can argue: choose [[A]] or [[B]]"
    return parsed.winner, ""


async def choose_side(model: ChatModel, trial: Trial, agent: str, role: str, assigned: Label = "A") -> Choice:
    """Open debate and consultancy: the advocate picks, in a turn only it sees, the side it will argue.

    Only [[A]] or [[B]] is a choice. An answer without one is re-asked once, offering those two
    only (not the judges' re-ask, which offers [[C]]); if it still has none, or the call fails, the
    advocate argues ``assigned`` and ``chosen`` is False, so the judge is not told it chose.
    """
    template, reask = load_prompt("advocate_open"), load_prompt("reask")
    who = Speaker(agent=agent, role=role, phase="choice", visible_to=(agent,), prompt=template, trial=trial,
                  facts=Facts(act="choose"))
    convo: list[Message] = template.render(**case_vars(trial), **context_vars(trial))
    answers: list[Turn] = []
    used = [template]  # the templates sent, for the turn's record
    side: Label | None = None
    problem = ""
    for attempt in range(2):
        try:
            answers.append(await speak(model, convo, who, attempt=attempt))
        except ModelError as exc:
            problem = f"the call failed: {exc}"
            break
        side, problem = read_choice(answers[-1].content)
        if side is not None or attempt:
            break
        used.append(reask)
        convo = [*convo, {"role": "assistant", "content": answers[-1].content},
                 *reask.render(problem=problem, format="[[A]] or [[B]]")]
    raw = "\n\n--- re-asked ---\n\n".join(a.content for a in answers)
    if side is not None:
        verdict = Verdict(winner=side, rationale=raw, agent=agent)
    else:
        verdict = Verdict.invalid(raw, problem, agent=agent) if answers else Verdict.failed(problem, agent=agent)
        raw = f"{raw}\n\n[no valid choice ({problem}): arguing the assigned side, {assigned}]".strip()
    turn = Turn(role=role, agent=agent, content=raw, model=model.spec, phase=who.phase, visible_to=[agent],
                usage=Usage.total(a.usage for a in answers), latency_s=sum(a.latency_s for a in answers),
                cached=bool(answers) and all(a.cached for a in answers), verdict=verdict, prompt=template.name,
                templates={p.name: p.hash for p in used})
    return Choice(turn, side or assigned, side is not None)
