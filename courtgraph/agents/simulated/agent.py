"""The simulated agent: a :class:`ChatModel` that answers from the structured call, never the prompt.

What to do comes from the :class:`~courtgraph.models.Intent`: ``kind`` (a pairwise verdict, a score,
or speech) and, for speech, ``facts["act"]`` (argue, ask, testify, choose); the facts say the rest
(the side argued, the setting, the addressees, the witness roster, the scale, the persona; see
:class:`~courtgraph.agents.base.Facts`). What is true comes from ``intent.trial.case``. The messages
only count synthetic tokens, and seed the coin flip of a call that carries no trial.
"""

from __future__ import annotations

import random

from pydantic import BaseModel

from courtgraph.agents.simulated import speech
from courtgraph.agents.simulated.context import current_simulation
from courtgraph.agents.simulated.draws import Scene, scene
from courtgraph.agents.simulated.spec import SimParams
from courtgraph.models.base import ChatModel, Completion, GenerateParams, Intent, Message


class SimModel(ChatModel):
    """A simulated agent. Free (price 0.0) but counted: calls and synthetic tokens show in reports."""

    cacheable = False
    counts_calls = True

    def __init__(self, params: SimParams, *, spec: str | None = None) -> None:
        super().__init__(spec or f"sim:{params.identity}", provider="sim", model=params.identity)
        self.sim = params

    def price(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        return 0.0

    async def _answer(self, messages: list[Message], schema: type[BaseModel] | None,
                      params: GenerateParams, intent: Intent | None) -> Completion:
        text = self.respond(messages, intent)
        prompt_chars = sum(len(m["content"]) for m in messages)
        return Completion(text=text, input_tokens=max(1, prompt_chars // 4), output_tokens=max(1, len(text) // 4))

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        return await self._answer(messages, schema, params, None)

    def respond(self, messages: list[Message], intent: Intent | None = None) -> str:
        """The agent's answer, as text that goes through the normal parse path.

        With no intent (a sim called by hand) the answer is a pairwise verdict by a seeded coin, and says so.
        """
        here = scene(self.sim, current_simulation().seed, intent, messages)
        if intent is None or intent.kind == "pairwise":
            return pairwise(here)
        if intent.kind == "score":
            return score(here)
        act = here.facts.get("act", "argue")
        if here.a is None and act != "choose":  # no trial: nothing to argue, ask or testify about
            return f"(Simulated agent: {here.unknown}, so there is nothing here to speak about.)"
        return {"ask": ask, "testify": testify, "choose": choose}.get(act, argue)(here)


# --- verdicts ---------------------------------------------------------------------------------------

def _attempt(s: Scene) -> int:
    return s.intent.attempt if s.intent is not None else 0


def pairwise(s: Scene) -> str:
    """A pairwise verdict: invalid, a tie, or the agent's opinion, with a calibrated confidence."""
    if s.draw("invalid", _attempt(s)) < s.sim.invalid:
        return speech.invalid(_attempt(s))
    if s.a is None or s.b is None or s.truth is None:
        side, _ = s.opinion()
        return speech.verdict(speech.unknown("verdict", s.unknown or "this call is not about a pair"), 0.5,
                              side or "A")
    if s.draw("tie") < s.sim.tie:
        return speech.verdict(speech.reason_tie(s.a, s.b), 0.5, "C")
    side, confidence = s.opinion()
    if side is None:
        return speech.verdict(speech.reason_tie(s.a, s.b), confidence, "C")
    lead = "Weighing the arguments in the transcript: " if s.facts.get("setting") else ""
    rng = speech_rng(s, "reason")
    return speech.verdict(lead + speech.reason_pair(s.a, s.b, side, rng), confidence, side)


def score(s: Scene) -> str:
    """A score on the stated scale: the gold score (or the right band) when right, away from it when wrong."""
    if s.draw("invalid", _attempt(s)) < s.sim.invalid:
        return speech.invalid(_attempt(s))
    low, high = s.scale
    rng = speech_rng(s, "score")
    truth = s.truth
    if truth is None:
        value, confidence = rng.uniform(low, high), 0.5
        why = speech.unknown("score", s.unknown or "this call is not about one response")
    elif s.sim.grow and truth.good is not None and s.intent is not None and s.intent.round is not None:
        value, confidence = growing_score(s, truth.good, s.intent.round)
        why = speech.reason_single(s.a or "", value >= (low + high) / 2, rng)
    else:
        right, confidence = s.right(s.accuracy(), "score")
        if truth.score is not None:
            value = truth.score if right else speech.away_from(truth.score, low, high, rng)
            good = value >= (low + high) / 2
        else:
            good = bool(truth.good) == right or (s.lure is not None and s.fooled())
            value = low + (high - low) * rng.uniform(*((0.7, 1.0) if good else (0.0, 0.4)))
        why = speech.reason_single(s.a or "", good, rng)
    if low.is_integer() and high.is_integer():
        value = float(round(value))
    return speech.verdict(why, confidence, f"{min(high, max(low, value)):g}")


def growing_score(s: Scene, good: bool, round: int) -> tuple[float, float]:
    """A score in round ``round`` by an agent whose confidence grows (``grow``), settling at a pace set by how
    hard the candidate is for it.

    Right or wrong as in round 1 (the same draw every round), with round-1 confidence c (calibrated) and
    difficulty h = 2 (1 - c) (0: sure, 1: a coin). In round r >= 2 the agent revises its score with
    probability h (1 - grow)^(r - 1) and otherwise repeats its last score, as a judge re-reading a debate
    it has settled gives the same score. A score given in round k has confidence
    c_k = 1 - (1 - c) (1 - grow)^(k - 1) (capped at 0.99) and sits at mid-scale +/- half the scale times
    (2 c_k - 1), scaled by a wobble in [1 - h, 1 + h]: an easy candidate's score is the same from round 1
    or 2, a hard one's keeps moving (never across mid-scale: the side stays the round-1 one)."""
    low, high = s.scale
    right, first = s.right(s.accuracy(), "score")
    hard = (2 * (1 - first)) ** 2
    revised = 1
    for r in range(2, round + 1):
        if s.draw("revise", r) < hard * (1 - s.sim.grow) ** (r - 1):
            revised = r
    confidence = min(0.99, 1 - (1 - first) * (1 - s.sim.grow) ** (revised - 1))
    wobble = 1 + hard * (2 * s.draw("wobble", revised) - 1)
    toward = 1.0 if good == right else -1.0  # above mid-scale when the agent calls the candidate good
    return (low + high) / 2 + toward * (high - low) / 2 * (2 * confidence - 1) * wobble, confidence


def choose(s: Scene) -> str:
    """An open protocol's private choice of side: the side the agent believes in (never a tie)."""
    if s.draw("invalid", _attempt(s)) < s.sim.invalid:
        return speech.invalid(_attempt(s))
    side, confidence = s.opinion()
    side = side or s.coin("choose")
    note = "" if s.truth is not None else speech.unknown("choice", s.unknown or "this call is not about a pair") + " "
    return speech.verdict(f"{note}I will argue for Response {side}: it is the one I can defend.", confidence, side)


# --- speech -----------------------------------------------------------------------------------------

def speech_rng(s: Scene, what: str) -> random.Random:
    """The generator for the wording of one answer: seeded by what it is about, never by its prompt."""
    intent = s.intent
    where = (intent.role, intent.round, intent.phase) if intent is not None else ()
    return s.rng(what, *where)


def argue(s: Scene) -> str:
    """Argue the side (or stance) the facts give, else the side the agent believes in; call a witness if invited."""
    facts, rng = s.facts, speech_rng(s, "argue")
    if s.b is None:  # a single response on trial: attack it or defend it
        text = speech.argue_single(s.a or "", facts.get("stance") == "against", s.bad)
    else:
        a, b = s.a or "", s.b
        side = facts.get("side") or s.opinion()[0] or s.coin("coin")
        honest = None if s.gold in (None, "tie") else s.gold == side
        intent = s.intent
        rnd = (intent.round or 1) if intent is not None else 1
        later = rnd - 1 + (intent is not None and intent.phase in ("rebuttal", "closing"))
        text = speech.argue_pair(a, b, side, honest, later, rng)
        if facts.get("asked"):
            text = speech.answer_prefix(honest) + text
    roster = facts.get("roster")
    if roster is not None:  # invited to call a witness: call the one whose expertise fits the case
        text += "\n" + speech.witness_call(s.a or "", s.b, list(roster), rng)
    return text


def ask(s: Scene) -> str:
    """A judge's question(s) to the addressees the facts name, each about the side it argues."""
    return speech.questions(s.a or "", s.b, s.facts.get("addressees", {}), s.coin("ask"), speech_rng(s, "ask"))


def testify(s: Scene) -> str:
    """A witness's findings: on one response, whether it holds; on a pair, which side does."""
    if s.b is None:
        if s.truth is None:
            return f"I could not verify \"{speech.snippet(s.a or '')}\" either way."
        right = s.right(s.accuracy(), "score")[0]
        return speech.reason_single(s.a or "", right != s.bad, speech_rng(s, "testify"))
    side = s.opinion()[0]
    if side is None:
        return "Findings: " + speech.reason_tie(s.a or "", s.b)
    return "Findings: " + speech.reason_pair(s.a or "", s.b, side, speech_rng(s, "reason"))
