"""What MORE and SAMRE share (D3: Harrasse, Bandi and Bandi, EACL 2026): budgeted stopping and anonymization.

The stopping rule is D3's ``utils/convergence.py`` (the paper's Algorithm 2), with its defaults:
at most 5 rounds and 10,000 tokens; the debate has converged when, over the last ``window`` (3)
rounds and after at least ``min_rounds`` (3), the spread (max - min) of the judge's score gap
|s_A - s_B| is below ``epsilon`` (3.0) and the gap is not strictly rising or strictly falling
(identical gaps always converge). The gaps are on D3's scale (:data:`SCALE`: its judge sums six
1-20 criteria, 6-120), so epsilon 3 is 3 of its points; on another scale give ``epsilon`` in that
scale's points. Read from D3's code: its SAMRE entry point (``enhanced_debate``) passes
``max_rounds=7`` and ``convergence_epsilon=5.0`` over these defaults, and it records every round with
``tokens_used=0`` (a TODO), so its token ceiling never fires there; here the ceiling counts every
call's input and output tokens. Anonymization: D3 removes model identities from what the judge
reads; here the advocates' model names are scrubbed from the transcript the judge is given (the
judge sees ``advocate_A`` and ``advocate_B``, never which model spoke).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from courtgraph.models import ChatModel
from courtgraph.schema import Turn

#: D3's ``BudgetConfig`` defaults.
MAX_ROUNDS = 5
MAX_TOKENS = 10_000
EPSILON = 3.0
WINDOW = 3
MIN_ROUNDS = 3
#: D3's score scale: its judge rates six criteria from 1 to 20 and gives their sum (``(95, 87)`` in its prompt), so
#: a score runs from 6 to 120 and ``EPSILON`` is 3 points of that scale.
SCALE = (6.0, 120.0)
#: D3's six criteria (its judge prompt, ``basemodel.py``): on :data:`SCALE` the judge is asked for their sum.
RUBRIC = ("Rate it from 1 to 20 on each of six criteria and give their sum: relevance to the question; "
          "accuracy of its information; depth and completeness; clarity and logical flow; strength of "
          "reasoning and factual support; how well it answers the other advocate's points.")


def scale_rubric(scale: tuple[float, float]) -> str:
    """How to score on ``scale``: D3's six criteria on D3's own scale, nothing more on any other."""
    return RUBRIC if tuple(scale) == SCALE else ""

#: Why a debate stopped: its gap converged, its token budget was spent, or it ran all its rounds.
StopReason = Literal["converged", "budget", "max_rounds"]
#: What replaces a model's name in the transcript an anonymized judge reads.
ANONYMOUS = "[an advocate]"


def converged(gaps: Sequence[float], *, epsilon: float = EPSILON, window: int = WINDOW,
              min_rounds: int = MIN_ROUNDS) -> bool:
    """D3's ``check_convergence`` on the per-round score gaps (one |s_A - s_B| per round, oldest first)."""
    if len(gaps) < max(window, min_rounds) or window < 1:
        return False
    recent = list(gaps[-window:])
    if max(recent) - min(recent) >= epsilon:
        return False
    if len(set(recent)) == 1:
        return True
    pairs = list(itertools.pairwise(recent))
    rising = all(a < b for a, b in pairs)
    falling = all(a > b for a, b in pairs)
    return not (rising or falling)


@dataclass(frozen=True)
class Budget:
    """SAMRE's stopping settings (D3's defaults). ``max_tokens=None``: no token budget;
    ``converge=False``: no convergence check (a fixed-R debate, for comparison)."""

    max_rounds: int = MAX_ROUNDS
    max_tokens: int | None = MAX_TOKENS
    epsilon: float = EPSILON
    window: int = WINDOW
    min_rounds: int = MIN_ROUNDS
    converge: bool = True

    def should_stop(self, gaps: Sequence[float], tokens: int) -> StopReason | None:
        """Why to stop after the rounds behind ``gaps`` that used ``tokens``, or None to go on (D3's order:
        rounds, budget, convergence)."""
        if len(gaps) >= self.max_rounds:
            return "max_rounds"
        if self.max_tokens is not None and tokens > self.max_tokens:
            return "budget"
        if self.converge and converged(gaps, epsilon=self.epsilon, window=self.window, min_rounds=self.min_rounds):
            return "converged"
        return None


def model_names(models: Iterable[ChatModel]) -> list[str]:
    """The names that identify a model (its spec and its model id), longest first."""
    names = {n for m in models for n in (m.spec, m.model) if n and len(n) > 2}
    return sorted(names, key=len, reverse=True)


def anonymize(turns: Sequence[Turn], names: Sequence[str]) -> list[Turn]:
    """``turns`` with every whole-word mention of ``names`` (case-insensitive) replaced, and no model on the turn."""
    if not names:
        return list(turns)
    alternatives = "|".join(re.escape(n) for n in names)
    pattern = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w.-])", re.IGNORECASE)
    return [t.model_copy(update={"content": pattern.sub(ANONYMOUS, t.content), "model": None}) for t in turns]
