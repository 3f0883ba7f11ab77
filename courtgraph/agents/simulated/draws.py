"""Seeded draws and what a call is about: the agent's view of one trial, and whether it gets it right.

Every draw is a hash of what it is about (run seed, agent, case, view, purpose), never a stream, so
nothing depends on call order or wall time. ``z_case`` is shared by all agents and both orders of a
case; ``e_agent`` is the agent's own; the agent is right iff
``sqrt(corr) * z_case + sqrt(1 - corr) * e_agent < Phi^-1(p)`` (a Gaussian copula: each agent keeps
its marginal accuracy ``p``, and ``corr`` correlates their errors).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import cast

from courtgraph.agents.base import Facts
from courtgraph.agents.simulated.spec import SimParams
from courtgraph.models.base import Intent, Message
from courtgraph.schema import Case, Label

_NORMAL = NormalDist()


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def uniform(*parts: object) -> float:
    """A uniform in (0, 1) that depends only on ``parts``: no global state, no call order."""
    raw = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(raw, "big") + 0.5) / 2.0**64


def other(side: str) -> Label:
    return "B" if side == "A" else "A"


@dataclass(frozen=True)
class Truth:
    """What the oracle knows about the item in view (from the case's gold label, never from a prompt)."""

    gold: Label | None = None  # a pair: the better candidate in the shown frame, "tie" for neither
    good: bool | None = None  # one candidate of a pair: whether it is the better one
    score: float | None = None  # a graded single response: its gold score


@dataclass(frozen=True)
class Scene:
    """One call as the agent sees it: who it is, what it looks at, and what is true about it.

    ``a``/``b`` are the shown candidates (``b`` is None when one response is in view: a pointwise
    case, or one candidate of a pair being scored). ``view`` keys the agent's own draws besides the
    case: the order shown for a pair, the candidate (case frame) for a score, so a candidate gets the
    same score in both orders. ``unknown`` says why ``truth`` is None (and the answer is a coin).
    """

    sim: SimParams
    seed: int
    agent: str
    intent: Intent | None
    case_key: str
    view: str
    a: str | None
    b: str | None
    truth: Truth | None
    unknown: str = ""
    probe: str | None = None  # the probe that perturbed this case (its metadata), if any
    lure: Label | None = None  # the perturbed candidate: its shown side for a pair, "A" if it is the one in view

    def fooled(self) -> bool:
        """Whether the probe fools this agent on this case: the same in both orders and in every call.

        With susceptibility s (:meth:`SimParams.susceptibility`), fooled iff
        ``sqrt(corr) * z_probe + sqrt(1 - corr) * e_fooled < Phi^-1(s)``, where ``z_probe`` is shared by
        every agent on this perturbed case and ``e_fooled`` is the agent's own: each agent is fooled
        with probability s, independently of whether it was right, and ``corr`` correlates agents.
        """
        if self.probe is None or self.lure is None:
            return False
        s = self.sim.susceptibility(self.probe)
        if s <= 0 or s >= 1:
            return s >= 1
        z = _NORMAL.inv_cdf(uniform("probe-case", self.seed, self.case_key, self.probe))
        e = _NORMAL.inv_cdf(uniform("fooled", self.seed, self.agent, self.case_key, self.probe))
        x = math.sqrt(self.sim.corr) * z + math.sqrt(1 - self.sim.corr) * e
        return x < _NORMAL.inv_cdf(s)

    @property
    def facts(self) -> Facts:
        return cast(Facts, self.intent.facts) if self.intent is not None else Facts()

    @property
    def gold(self) -> Label | None:
        return self.truth.gold if self.truth else None

    @property
    def scale(self) -> tuple[float, float]:
        low, high = self.facts.get("scale", (1.0, 10.0))
        return float(low), float(high)

    @property
    def bad(self) -> bool:
        """Whether the single response in view is known to be the wrong one (or below mid-scale)."""
        if self.truth is None:
            return False
        if self.truth.score is not None:
            low, high = self.scale
            return self.truth.score < (low + high) / 2
        return self.truth.good is False

    def accuracy(self) -> float:
        return self.sim.accuracy(self.facts.get("setting"))

    def draw(self, what: str, *more: object) -> float:
        """The uniform for ``what`` this agent draws about this item in this view."""
        return uniform(what, self.seed, self.agent, self.case_key, self.view, *more)

    def rng(self, what: str, *more: object) -> random.Random:
        """A generator for the wording of one answer, seeded like :meth:`draw`."""
        return random.Random(int(self.draw(what, *more) * 2**53))

    def coin(self, what: str, p_a: float = 0.5) -> Label:
        return "A" if self.draw(what) < p_a else "B"

    def right(self, p: float, purpose: str) -> tuple[bool, float]:
        """Whether the agent gets this right (Gaussian copula), and a calibrated confidence.

        With latent x ~ N(0, 1) and threshold t = Phi^-1(p), the agent is right iff x < t. Given its
        own margin d = |t - x|, the posterior of being right is 1 / (1 + exp(-2 t d)), which is what
        it reports (floored at 0.5, capped at 0.99): its confidence is calibrated.
        """
        if p >= 1 or p <= 0:
            return p >= 1, 0.99
        z = _NORMAL.inv_cdf(uniform("case", self.seed, self.case_key))
        e = _NORMAL.inv_cdf(self.draw("agent", purpose))
        if self.sim.persist:  # the part of the agent's own error that is the same in both orders
            kept = _NORMAL.inv_cdf(uniform("persist", self.seed, self.agent, self.case_key, purpose))
            e = math.sqrt(self.sim.persist) * kept + math.sqrt(1 - self.sim.persist) * e
        x = math.sqrt(self.sim.corr) * z + math.sqrt(1 - self.sim.corr) * e
        t = _NORMAL.inv_cdf(p)
        confidence = 1 / (1 + math.exp(-2 * t * abs(t - x)))
        return x < t, min(0.99, max(0.5, confidence))

    def opinion(self) -> tuple[Label | None, float]:
        """The side this agent believes is better in the shown frame (None: a tie), and how sure.

        One opinion per agent and trial, whatever the call: the same sim as single judge and as
        debate judge is coupled (a higher ``debate`` accuracy only corrects some of its errors), and a
        deliberating juror keeps its vote.
        """
        gold, p, bias = self.gold, self.accuracy(), self.sim.bias
        if self.lure is not None and self.b is not None and self.fooled():  # prefers the perturbed candidate
            return self.lure, self.right(p, "verdict")[1]
        lean_a = min(1.0, max(0.0, 0.5 + bias))  # P(A) when guessing
        if gold is None:
            return self.coin("coin", lean_a), 0.5
        if gold == "tie":
            right, confidence = self.right(p, "verdict")
            return (None if right else self.coin("lean", lean_a)), confidence
        right, confidence = self.right(p + bias if gold == "A" else p - bias, "verdict")
        return (gold if right else other(gold)), confidence


def as_label(value: object) -> Label | None:
    """A gold label that names a side or a tie, else None (a score, a class, a missing label)."""
    return _LABELS.get(value) if isinstance(value, str) else None


_LABELS: dict[str, Label] = {"A": "A", "B": "B", "tie": "tie"}


def scene(sim: SimParams, seed: int, intent: Intent | None, messages: Sequence[Message]) -> Scene:
    """What the call is about, read from its intent only; the messages merely seed a call with no trial."""
    facts = cast(Facts, intent.facts) if intent is not None else Facts()
    persona = facts.get("persona")
    agent = sim.identity + (f"/{persona}" if persona else "")
    trial = intent.trial if intent is not None else None
    if trial is None:
        key = digest(*(m["content"] for m in messages))
        why = "this call carried no trial" if intent is not None else "this call carried no intent (no trial)"
        return Scene(sim, seed, agent, intent, key, "", None, None, None, why)
    case, shown, label = trial.case, trial.shown, trial.case.label
    question, candidates, probe, target = _original(case)
    key = digest(question, *sorted(candidates))
    if len(shown) == 1:
        if isinstance(label, bool) or not isinstance(label, int | float):
            return Scene(sim, seed, agent, intent, key, "score", shown[0], None, None,
                         "this case has no numeric gold score")
        return Scene(sim, seed, agent, intent, key, "score", shown[0], None, Truth(score=float(label)))
    gold, unknown = trial.to_shown(as_label(label)), ""
    if gold is None:
        unknown = "this case has no gold label (A, B or tie)"
    elif shown[0] == shown[1]:
        gold, unknown = None, "the two candidates are identical"
    candidate = facts.get("candidate")
    if candidate == "A" or candidate == "B":  # one candidate of the pair, scored alone
        good = None if gold is None or gold == "tie" else gold == candidate
        view = f"score {trial.to_case(candidate)}"
        return Scene(sim, seed, agent, intent, key, view, shown[0 if candidate == "A" else 1], None,
                     None if good is None else Truth(good=good),
                     unknown or ("the two candidates are equally good" if good is None else ""),
                     probe, "A" if target is not None and trial.to_case(candidate) == target else None)
    return Scene(sim, seed, agent, intent, key, trial.order, shown[0], shown[1],
                 None if gold is None else Truth(gold=gold), unknown, probe,
                 None if target is None else trial.to_shown(target))


def _original(case: Case) -> tuple[str, list[str], str | None, Label | None]:
    """The case a probe perturbed (question, candidates), the probe, and the perturbed candidate's case side.

    A perturbed case (``courtgraph.evals.probes``) keeps the replaced text in ``metadata["before"]``:
    the agent's draws are keyed by the original's content, so on a perturbed case it holds exactly the
    opinion it held on the original unless the probe fools it.
    """
    meta = case.metadata
    probe, target, before = meta.get("probe"), meta.get("target"), meta.get("before")
    if not isinstance(probe, str) or not isinstance(before, str) or target not in ("A", "B", "question"):
        return case.question, list(case.candidates), None, None
    if target == "question":
        return before, list(case.candidates), probe, (as_label(other(str(case.label))) if case.label in ("A", "B")
                                                      else None)
    candidates = list(case.candidates)
    if len(candidates) == 2:
        candidates[0 if target == "A" else 1] = before
    return case.question, candidates, probe, as_label(target)
