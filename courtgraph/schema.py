"""The data that flows through courtgraph: Case in, Record out.

Everything here is a pydantic model that round-trips through JSON losslessly, because records are
stored, resumed, exported and re-read by other tools. Two rules shape the types:

* A failure is never a side. A verdict has a ``status``; only ``ok`` verdicts carry a winner that
  counts. An unparseable judge answer is ``invalid`` with its raw text kept, never ``"A"``.
* Order handling lives in one place. Protocols judge a *trial* (a case shown in one order) and speak
  in that trial's frame ("A" = the candidate shown first). :class:`Trial` maps between the shown
  frame and the case frame, and nothing else in the package swaps labels by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from courtgraph.plugins import Plugins

Label = Literal["A", "B", "tie"]
Status = Literal["ok", "invalid", "abstain", "error"]
Order = Literal["AB", "BA"]
ORDERS: tuple[Order, Order] = ("AB", "BA")
LABELS: tuple[Label, Label, Label] = ("A", "B", "tie")

#: ``Turn.visible_to`` entry meaning "every agent in the trial may see this turn".
EVERYONE = "*"


def flip_label(label: Label | None) -> Label | None:
    """The same judgement expressed in the other order: A <-> B; tie and None unchanged."""
    if label == "A":
        return "B"
    if label == "B":
        return "A"
    return label


def to_case_frame(order: Order, label: Label | None) -> Label | None:
    """A label said by an agent that saw the candidates in ``order``, in the case's own frame.

    The one map between frames; it is its own inverse, so it also takes case-frame labels to shown ones.
    """
    return flip_label(label) if order == "BA" else label


class Usage(BaseModel):
    """Tokens, calls and money for one call or any sum of calls.

    Billed and cache-saved amounts are kept apart: a cache hit costs nothing and is counted in the
    ``saved_*`` fields and ``cache_hits``, never in ``calls`` or ``cost_usd``. A cost of ``None``
    means unknown (a model missing from the price table), and stays unknown when summed: an
    unknown is not zero.
    """

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # prompt tokens the provider served from its own prefix cache
    cache_write_tokens: int = 0  # prompt tokens written to the provider's prefix cache (Anthropic bills more)
    prompt_cache_saved_usd: float | None = 0.0  # what provider prompt caching saved (in cost_usd already)
    cost_usd: float | None = 0.0
    cache_hits: int = 0
    saved_input_tokens: int = 0
    saved_output_tokens: int = 0
    saved_usd: float | None = 0.0
    retries: int = 0
    rate_limited: int = 0  # 429 answers seen (each was retried or reported)
    faults: dict[str, int] = Field(default_factory=dict)  # failed attempts by kind: "429", "503", "timeout"...
    batched: int = 0  # of calls, those answered by a provider batch API (billed at the batch price)

    def __add__(self, other: Usage) -> Usage:
        return Usage.total((self, other))

    @staticmethod
    def total(usages: Iterable[Usage]) -> Usage:
        """The sum of ``usages`` field by field, built once (not once per term): counts add; money is unknown
        (None) when any term's is, else added in order from 0.0; faults add by kind, kinds sorted.

        A sum of one term is that term when its sum would write the same JSON (the model is frozen, so
        sharing it is safe): most trials make one call, and every trial and record sums its usages."""
        items = usages if isinstance(usages, list | tuple) else list(usages)
        if len(items) == 1 and items[0]._own_sum():
            return items[0]
        counts = dict.fromkeys(_COUNTS, 0)
        money: dict[str, float | None] = dict.fromkeys(_MONEY, 0.0)
        faults: dict[str, int] = {}
        for u in items:
            fields = u.__dict__
            for name in _COUNTS:
                counts[name] += fields[name]
            for name in _MONEY:
                value, so_far = fields[name], money[name]
                if so_far is not None:
                    money[name] = None if value is None else so_far + value
            for kind, count in u.faults.items():
                faults[kind] = faults.get(kind, 0) + count
        return Usage.model_validate({**counts, **money, "faults": {k: faults[k] for k in sorted(faults)}})

    def _own_sum(self) -> bool:
        """Whether the sum of this usage alone writes its own JSON: no ``-0.0`` (``0.0 + -0.0`` is ``0.0``)
        and its fault kinds already sorted."""
        fields = self.__dict__
        for name in _MONEY:
            value = fields[name]
            if value is not None and value == 0.0 and math.copysign(1.0, value) < 0:
                return False
        kinds = list(self.faults)
        return len(kinds) < 2 or kinds == sorted(kinds)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


#: Usage's fields by how they add (read from the model, so that a new field is summed as its kind says).
_COUNTS = tuple(name for name, f in Usage.model_fields.items() if f.annotation is int)
_MONEY = tuple(name for name, f in Usage.model_fields.items() if f.annotation == float | None)
if set(Usage.model_fields) != {*_COUNTS, *_MONEY, "faults"}:
    raise TypeError("a new kind of Usage field: say in Usage.total how it adds")


class Case(BaseModel):
    """One benchmark item.

    ``candidates`` holds two responses for pairwise judging, one for pointwise. ``context`` is
    material only some agents may see (debaters, not the judge). ``label`` is the gold answer:
    ``"A"``/``"B"``/``"tie"`` for pairwise, a number or class for pointwise; it never reaches a prompt.
    """

    id: str
    question: str
    candidates: list[str] = Field(min_length=1, max_length=2)
    reference: str | None = None
    context: str | None = None
    label: Label | float | str | None = None
    category: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def pairwise(self) -> bool:
        return len(self.candidates) == 2


class Trial(BaseModel):
    """A case shown in one order. The only place that maps labels between frames."""

    case: Case
    order: Order = "AB"

    @property
    def shown(self) -> list[str]:
        """Candidates in the order the agents see them (``shown[0]`` is "A")."""
        c = self.case.candidates
        return list(reversed(c)) if self.order == "BA" and len(c) == 2 else list(c)

    def to_case(self, label: Label | None) -> Label | None:
        """A label said in this trial's frame, expressed in the case's frame."""
        return to_case_frame(self.order, label)

    def to_shown(self, label: Label | None) -> Label | None:
        """A case-frame label expressed in this trial's frame (the same map: it is an involution)."""
        return self.to_case(label)

    def swapped(self) -> Trial:
        """The same case shown in the other order."""
        return Trial(case=self.case, order="BA" if self.order == "AB" else "AB")


class Verdict(BaseModel):
    """A judgement: the winner or score, with why, how sure, and whether it counts at all.

    ``winner`` is in the frame of whoever produced it (a trial's verdict is in the shown frame; a
    record's combined verdict is in the case frame). ``votes`` keeps the member verdicts of an
    aggregate (jurors, specialists, stages), so no vote is lost in aggregation.
    """

    winner: Label | None = None
    status: Status = "ok"
    score: float | None = None  # pointwise score on the stated scale
    scores: dict[str, float] = Field(default_factory=dict)  # per candidate or per dimension
    confidence: float | None = None  # in [0, 1]
    rationale: str = ""
    agent: str | None = None
    votes: list[Verdict] = Field(default_factory=list)
    stage: str | None = None  # which stage decided (cascade) or which rule aggregated (jury)
    quorum: str | None = None  # set when decided under a quorum rule with members missing: which, and why
    raw: str | None = None  # the unparsed model text, kept when parsing failed
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "ok"

    def flipped(self) -> Verdict:
        """The same verdict in the other order's frame (winner, votes and A/B scores swapped)."""
        swap = {"A": "B", "B": "A"}
        return self.model_copy(
            update={
                "winner": flip_label(self.winner),
                "scores": {swap.get(k, k): v for k, v in self.scores.items()},
                "votes": [v.flipped() for v in self.votes],
            }
        )

    @classmethod
    def invalid(cls, raw: str, reason: str, agent: str | None = None) -> Verdict:
        return cls(status="invalid", raw=raw, error=reason, agent=agent)

    @classmethod
    def failed(cls, error: str, agent: str | None = None) -> Verdict:
        return cls(status="error", error=error, agent=agent)


class Turn(BaseModel):
    """One agent's contribution to a trial's transcript.

    ``visible_to`` names the agents that may read this turn (``EVERYONE`` for the public record).
    Private reasoning stays in turns visible only to its author, so tests and readers can check
    that nobody saw what they should not have.
    """

    role: str  # judge, advocate, consultant, prosecutor, defender, juror, specialist, aggregator, ...
    agent: str  # the agent's unique name in the trial, e.g. "advocate_A", "juror_2"
    content: str
    model: str | None = None
    round: int | None = None
    phase: str | None = None  # opening, evidence, rebuttal, closing, question, ...
    visible_to: list[str] = Field(default_factory=lambda: [EVERYONE])
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    cached: bool = False
    verdict: Verdict | None = None  # set on turns that decide or vote
    prompt: str | None = None  # name of the prompt template used
    templates: dict[str, str] = Field(default_factory=dict)  # every template used (a re-ask too): name -> hash

    def visible_for(self, agent: str) -> bool:
        return EVERYONE in self.visible_to or agent in self.visible_to


def visible_turns(turns: Iterable[Turn], agent: str) -> list[Turn]:
    """The turns ``agent`` may read, in order."""
    return [t for t in turns if t.visible_for(agent)]


class TrialResult(BaseModel):
    """One trial's outcome: its verdict in the shown frame, the transcript and the cost."""

    order: Order
    verdict: Verdict
    turns: list[Turn] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    error: str | None = None

    @property
    def case_winner(self) -> Label | None:
        """The winner in the case's frame, or None when the verdict does not count."""
        verdict = self.verdict
        if verdict.status != "ok":  # (Verdict.valid, read once per trial by several of the summary's measures)
            return None
        return to_case_frame(self.order, verdict.winner)

    @property
    def case_verdict(self) -> Verdict:
        """The whole verdict (winner, A/B scores, member votes) in the case's frame."""
        return self.verdict.flipped() if self.order == "BA" else self.verdict


class Record(BaseModel):
    """One case judged by one protocol: both trials, the combined verdict, correctness."""

    case_id: str
    protocol: str
    category: str | None = None
    label: Label | float | str | None = None
    trials: list[TrialResult] = Field(default_factory=list)
    verdict: Verdict = Field(default_factory=lambda: Verdict(status="error", error="not judged"))
    correct: bool | None = None
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    # template name -> hash of every prompt template the trials used (was "prompt_hashes": old runs still load)
    templates_used: dict[str, str] = Field(default_factory=dict,
                                           validation_alias=AliasChoices("templates_used", "prompt_hashes"))
    metadata: dict[str, Any] = Field(default_factory=dict)

    def trial(self, order: Order) -> TrialResult | None:
        for t in self.trials:  # (a loop: the summary's measures ask every record for both orders, several times)
            if t.order == order:
                return t
        return None

    @property
    def transcript(self) -> object:
        """The transcript as an object that renders itself: in rich, in Jupyter (rich's repr) and with ``print``.

        Built by the ``transcript`` renderer of :data:`RENDERERS`, which :mod:`courtgraph.view` provides
        (``courtgraph.view.Transcript``): the data model neither imports the view layer nor needs rich.
        """
        renderer = RENDERERS.get("transcript")
        if renderer is None:
            raise LookupError("no 'transcript' renderer: courtgraph.view provides it as a 'courtgraph.renderers' entry "
                              "point (reinstall courtgraph), or use courtgraph.view.Transcript(record)")
        return renderer(self)


#: Ways to show a :class:`Record`, by name, provided by higher layers: ``transcript`` ->
#: ``courtgraph.view.Transcript`` (an entry point of courtgraph's ``pyproject.toml``). Lives as long as
#: the process; ``RENDERERS.register(name, callable)`` adds or (``replace=True``) overrides one.
RENDERERS: Plugins[Callable[[Record], object]] = Plugins("renderer", "courtgraph.renderers")


def net_vote(label: Label, winners: Iterable[Label | None]) -> int:
    """JudgeBench's two-order vote: +1 per trial that names the label, -1 per trial naming the other.

    Ties, invalid and missing verdicts vote 0. Winners must already be in the case frame.
    """
    other = flip_label(label)
    return sum((w == label) - (w == other) for w in winners if w is not None)


def combine_orders(trials: list[TrialResult]) -> Verdict:
    """Combine a case's trials into one case-frame verdict by JudgeBench's net-vote rule.

    Each trial votes +1 for the side it names and -1 for the other; ties and invalid trials vote 0;
    a positive net wins, zero is a tie. With no trial naming a winner the verdict is invalid (or
    error), not a side. The trials' verdicts are kept as votes, each wholly in the case's frame.
    """
    votes = [t.case_verdict for t in trials]
    counted = [v for v in votes if v.valid and v.winner is not None]
    if not counted:
        status: Status = "error" if all(t.verdict.status == "error" for t in trials) else "invalid"
        errors = "; ".join(filter(None, (t.verdict.error or t.error for t in trials)))
        return Verdict(status=status, error=errors or "no valid trial", votes=votes, stage="orders")
    net = net_vote("A", [v.winner for v in counted])
    winner: Label = "A" if net > 0 else "B" if net < 0 else "tie"
    confs = [v.confidence for v in counted if v.confidence is not None]
    return Verdict(
        winner=winner,
        confidence=sum(confs) / len(confs) if confs else None,
        rationale=counted[-1].rationale,
        votes=votes,
        stage="orders",
        quorum="; ".join(f"{t.order}: {t.verdict.quorum}" for t in trials if t.verdict.quorum) or None,
    )


def is_correct(verdict: Verdict, label: Label | float | str | None, tolerance: float = 0.0) -> bool | None:
    """Whether a case-frame verdict matches the gold label; None when there is no label.

    An invalid or failed verdict is wrong (it counts against accuracy), never skipped: skipping
    would reward protocols that fail on hard cases.
    """
    if label is None:
        return None
    if not verdict.valid:
        return False
    if isinstance(label, float | int) and not isinstance(label, bool):
        return verdict.score is not None and math.isclose(verdict.score, float(label), abs_tol=tolerance)
    return verdict.winner == label
