"""Recorded judges: verdicts recorded elsewhere, replayed through the same prompt and parse path.

``recorded:SOURCE`` is a chat model that makes no call. Asked to judge a trial, it looks the verdict
up by the **item's id and the order shown**, read from the call's :class:`~courtgraph.models.Intent`
(``intent.trial.case.id``, ``intent.trial.order``), and answers with text ending in ``[[A]]``,
``[[B]]`` or ``[[C]]``, which the ordinary parser reads. So a recorded judge can sit anywhere a model
can (a single judge, a juror), and a harness bug in prompting, order handling or parsing shows up as
a wrong published number. Keyed by id, repeated items keep their own verdicts, two items with the
same question and swapped responses do not collide, and an item whose two responses are identical
still replays the verdict of the order shown.

Only a recording with no ids at all is keyed by content (the question and the two responses in the
case's order), with a :class:`RecordingWarning`: repeated items then share one verdict. A caller that
passes no ``Intent.trial`` is served by reading the prompt (the fenced responses, as shown, and the
question), also with a warning.

Sources (the formats and the ``?option`` syntax are in :mod:`courtgraph.evals.recorded_formats`):
JudgeBench output files, LLMBar ``result.json`` files, courtgraph run directories
(``RUN_DIR[#PROTOCOL]``), and any JSON / JSONL / CSV table with an id column and verdict columns
(``FILE?id=COL&verdict=COL&map=1:A,2:B,Tie:tie,garbage:invalid``).

A recording that covers one order only (e.g. JudgeBench's reward models) says so in ``orders``;
:func:`recorded_orders` lets the CLI judge that order alone, with a note, instead of reporting the
other order's trials as invalid.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from courtgraph.models.base import (
    ChatModel,
    Completion,
    GenerateParams,
    Intent,
    Message,
    ModelError,
)
from courtgraph.prompts import unfence
from courtgraph.schema import ORDERS, Case, Label, Order, Trial

_TAG = {"A": "[[A]]", "B": "[[B]]", "tie": "[[C]]"}


class RecordingWarning(UserWarning):
    """A recording replayed by a weaker key than the item id (content or prompt text), or only in part."""


@dataclass(frozen=True)
class Replay:
    """One recorded decision, in the shown frame of the trial it was recorded in (None: no verdict)."""

    winner: Label | None
    note: str

    def answer(self) -> str:
        note = self.note.replace("[[", "[")  # recorded text (ids, error messages) must never read as a tag
        if self.winner is None:  # no tag at all: the parser reports it and the trial ends invalid
            return f"{note}\nNo verdict was recorded for this pair in this order."
        return f"{note}\n{_TAG[self.winner]}"


@dataclass(frozen=True)
class Item:
    """A recorded item: its content when the format has it (checked against the benchmark's), and its
    replays by order. An order absent from ``replays`` was not recorded."""

    case: Case | None
    replays: dict[Order, Replay]


def content_key(question: str, candidates: Iterable[str]) -> str:
    """The key of an item by content: its question and responses in the case's own order."""
    return hashlib.sha256(json.dumps([question, *candidates], ensure_ascii=False).encode()).hexdigest()


def _same_content(a: Case, b: Case) -> bool:
    return a.question.strip() == b.question.strip() and a.candidates == b.candidates


@dataclass
class Recording:
    """Replays by item id (or, for a recording without ids, by content) and order."""

    source: str
    keyed_by: Literal["id", "content"] = "id"
    items: dict[str, Item] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _by_prompt: dict[str, list[tuple[str, str, Order]]] | None = field(default=None, repr=False)
    _warned: set[str] = field(default_factory=set, repr=False)

    @property
    def orders(self) -> tuple[Order, ...]:
        """The orders the recording covers (an entry recorded as failed still covers its order)."""
        seen = {o for item in self.items.values() for o in item.replays}
        return tuple(o for o in ORDERS if o in seen)

    def add(self, key: str, case: Case | None, replays: dict[Order, Replay]) -> bool:
        """Store an item; False (and nothing stored) when the key is already taken."""
        if key in self.items:
            return False
        self.items[key] = Item(case, replays)
        self._by_prompt = None
        return True

    def warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(f"recorded judge {self.source}: {message}", RecordingWarning, stacklevel=3)

    def lookup(self, trial: Trial) -> Replay:
        """The replay of ``trial``: by its case id and order (by content for a recording without ids)."""
        case = trial.case
        key = case.id if self.keyed_by == "id" else content_key(case.question, case.candidates)
        item = self.items.get(key)
        if item is None:
            what = f"item {case.id!r}" if self.keyed_by == "id" else f"item {case.id!r} (by its content)"
            raise ModelError(f"pair not found in recording {self.source}: no {what}")
        if self.keyed_by == "id" and item.case is not None and not _same_content(item.case, case):
            raise ModelError(f"recording {self.source}: its item {case.id!r} has another question or other "
                             "responses than the benchmark's (a recording of another benchmark or subset?)")
        return self._replay(item, trial.order, case.id)

    def _replay(self, item: Item, order: Order, case_id: str) -> Replay:
        replay = item.replays.get(order)
        if replay is not None:
            return replay
        if len(self.orders) == 1:
            self.warn_once(f"it covers order {self.orders[0]} only; order {order} replays as no verdict "
                           "(judge one order: --no-swap)")
        return Replay(None, f"[recorded {self.source} on {case_id}, order {order}: not recorded in this order]")

    def find(self, prompt: str) -> Replay:
        """The replay for a prompt, read as a real judge would (the fenced responses as shown, then the
        question): for callers that pass no ``Intent.trial``."""
        parts = unfence(prompt)
        if "response_a" not in parts or "response_b" not in parts:
            raise ModelError(f"recorded judge {self.source}: the prompt has no fenced response_a and "
                             "response_b (recorded judges replay pairwise verdicts)")
        by_question = self._prompt_index().get(content_key("", [parts["response_a"], parts["response_b"]]), [])
        shown = [entry for entry in by_question if entry[0].strip() in prompt]
        if not shown:
            raise ModelError(f"pair not found in recording {self.source}: no recorded verdict for these two "
                             "responses in this order with this question")
        self.warn_once("the call carried no Intent.trial: verdicts were found by the prompt's text, so "
                       "repeated items share one verdict")
        _, key, order = max(shown, key=lambda entry: len(entry[0]))
        return self._replay(self.items[key], order, key)

    def _prompt_index(self) -> dict[str, list[tuple[str, str, Order]]]:
        """Shown pair -> (question, item key, order) of every item and order that shows it."""
        if self._by_prompt is None:
            index: dict[str, list[tuple[str, str, Order]]] = {}
            for key, item in self.items.items():
                if item.case is None:
                    raise ModelError(f"recorded judge {self.source}: the call carried no Intent.trial and "
                                     "this recording has no item content to match the prompt against")
                for order in ORDERS:
                    shown = Trial(case=item.case, order=order).shown
                    index.setdefault(content_key("", shown), []).append((item.case.question, key, order))
            self._by_prompt = index
        return self._by_prompt


class RecordedModel(ChatModel):
    """A chat model that answers from a :class:`Recording`: no call, no cost, no cache."""

    cacheable = False
    counts_calls = False

    def __init__(self, spec: str, recording: Recording) -> None:
        super().__init__(spec, provider="recorded", model=Path(recording.source.split("#")[0]).name)
        self.recording = recording

    @property
    def orders(self) -> tuple[Order, ...]:
        return self.recording.orders

    def price(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        return 0.0

    async def _answer(self, messages: list[Message], schema: type[BaseModel] | None,
                      params: GenerateParams, intent: Intent | None) -> Completion:
        if intent is not None and intent.kind == "score":
            raise ModelError(f"recorded judge {self.recording.source}: recorded judges replay pairwise "
                             "verdicts, not scores")
        if intent is not None and intent.trial is not None:
            return Completion(text=self.recording.lookup(intent.trial).answer())
        return await self._complete(messages, schema, params)

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        replay = self.recording.find("\n\n".join(m["content"] for m in messages))
        return Completion(text=replay.answer())


def from_spec(rest: str) -> RecordedModel:
    """``recorded:SOURCE`` (see :func:`courtgraph.evals.recorded_formats.parse_spec` for the syntax)."""
    from courtgraph.evals.recorded_formats import load_recording, parse_spec

    path, protocol, options = parse_spec(rest)
    stat = (path / "run.db" if (path / "run.db").is_file() else path).stat()  # a run changes in its db
    recording = load_recording(str(path.resolve()), stat.st_mtime_ns, stat.st_size, protocol,
                               tuple(sorted(options.items())))
    return RecordedModel(f"recorded:{rest}", recording)


def recorded_orders(specs: Iterable[object]) -> tuple[Order, ...] | None:
    """The orders every recorded judge among ``specs`` covers, when all the specs are recorded judges
    (``None`` otherwise, or when one is not a spec): a run of recordings that cover one order should judge
    that order alone rather than report the other as invalid."""
    given = [s for s in specs if s is not None]
    if not given or not all(isinstance(s, str) and s.startswith("recorded:") for s in given):
        return None
    covered: set[Order] = set(ORDERS)
    for spec in given:
        assert isinstance(spec, str)
        covered &= set(from_spec(spec.partition(":")[2]).orders)  # a bad recording fails here, as it would later
    return tuple(o for o in ORDERS if o in covered)


__all__ = ["Item", "RecordedModel", "Recording", "RecordingWarning", "Replay", "content_key", "from_spec",
           "recorded_orders"]
