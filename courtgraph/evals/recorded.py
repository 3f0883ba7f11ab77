"""Recorded judges: verdicts recorded elsewhere, replayed through the same prompt and parse path.

``recorded:PATH`` is a chat model that makes no call. It reads the prompt it is given the way a
real judge would (the fenced candidates, in the order shown, and the question), looks that pair up
in a recording, and answers with text ending in ``[[A]]``, ``[[B]]`` or ``[[C]]``, which the
ordinary parser reads. So a recorded judge can sit anywhere a model can (a single judge, a juror),
and a harness bug in prompting, order handling or parsing shows up as a wrong published number.

Sources:

* a JudgeBench output file (``outputs/*.jsonl``): entry 0 of ``judgments`` judged the pair as
  (question, A, B), entry 1 the swapped order (question, B, A). Each entry is therefore already in
  the *shown* frame of the trial with that order, and is stored under that trial's shown candidates:
  nothing is flipped here. A null entry, a null decision, or an order that was not recorded
  answers with no verdict tag, so the trial ends ``invalid`` (never a side).
* a courtgraph run directory, ``RUN_DIR`` or ``RUN_DIR#PROTOCOL`` (needed when the run holds
  several protocols): each trial's verdict, also in its shown frame, replays a previous run's
  protocol as one juror of a new one.

Lookup keys on the two fenced candidates exactly as shown (``unfence`` returns the exact text) and
then on the question, which prompts show unfenced and is therefore matched as a substring of the
prompt. A prompt whose pair is not in the recording fails the call with a :class:`ModelError`
naming the recording.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from courtgraph.evals.benchmarks import judgebench
from courtgraph.evals.benchmarks.jsonl import Row, pairwise_label, read_rows
from courtgraph.models.base import ChatModel, Completion, ConfigError, GenerateParams, Message, ModelError
from courtgraph.prompts import unfence
from courtgraph.schema import ORDERS, Case, Label, Order, Record, Trial

_TAG = {"A": "[[A]]", "B": "[[B]]", "tie": "[[C]]"}


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


def _key(first: str, second: str) -> str:
    return hashlib.sha256(json.dumps([first, second], ensure_ascii=False).encode()).hexdigest()


@dataclass
class Recording:
    """Replays by (shown candidates, question). Every recorded pair answers in both orders."""

    source: str
    replays: dict[str, dict[str, Replay]] = field(default_factory=dict)

    def add(self, case: Case, order: Order, replay: Replay) -> None:
        shown = Trial(case=case, order=order).shown
        self.replays.setdefault(_key(shown[0], shown[1]), {})[case.question] = replay

    def add_pair(self, case: Case, recorded: dict[Order, Replay], label: str) -> None:
        """A pair's replays by order; an order with no recording replays as "no verdict"."""
        for order in ORDERS:
            missing = Replay(None, f"[recorded {label}, order {order}: not recorded in this order]")
            self.add(case, order, recorded.get(order, missing))

    def find(self, prompt: str) -> Replay:
        parts = unfence(prompt)
        if "response_a" not in parts or "response_b" not in parts:
            raise ModelError(f"recorded judge {self.source}: the prompt has no fenced response_a and "
                             "response_b (recorded judges replay pairwise verdicts)")
        by_question = self.replays.get(_key(parts["response_a"], parts["response_b"]), {})
        shown = [q for q in by_question if q.strip() in prompt]
        if not shown:
            raise ModelError(f"pair not found in recording {self.source}: no recorded verdict for these two "
                             "responses in this order with this question")
        return by_question[max(shown, key=len)]


class RecordedModel(ChatModel):
    """A chat model that answers from a :class:`Recording`: no call, no cost, no cache."""

    cacheable = False
    counts_calls = False

    def __init__(self, spec: str, recording: Recording) -> None:
        super().__init__(spec, provider="recorded", model=Path(recording.source).name)
        self.recording = recording

    def price(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        return 0.0

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        replay = self.recording.find("\n\n".join(m["content"] for m in messages))
        return Completion(text=replay.answer())


def from_spec(rest: str) -> RecordedModel:
    """``recorded:PATH`` (a JudgeBench output file) or ``recorded:RUN_DIR[#PROTOCOL]`` (a courtgraph run)."""
    path_text, protocol = rest, None
    if not Path(rest).expanduser().exists() and "#" in rest:
        path_text, _, protocol = rest.rpartition("#")
    path = Path(path_text).expanduser()
    if not path.exists():
        raise ConfigError(f"recorded:{rest}: no such file or run directory")
    stat = (path / "run.db" if (path / "run.db").is_file() else path).stat()  # a run changes in its db
    return RecordedModel(f"recorded:{rest}", _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size, protocol))


@lru_cache(maxsize=16)
def _load(path_text: str, mtime_ns: int, size: int, protocol: str | None) -> Recording:
    """One parse per recording and version of it: every juror and protocol built from it shares it."""
    del mtime_ns, size  # part of the cache key only: a rewritten file is read again
    path = Path(path_text)
    if path.is_dir() or path.name == "run.db":
        return _from_run(path, protocol)
    if protocol is not None:
        raise ConfigError(f"recorded:{path}#{protocol}: '#PROTOCOL' applies to run directories only")
    return _from_judgebench(path)


def _from_judgebench(path: Path) -> Recording:
    """A JudgeBench output file: its lines repeat the pair, so the pairs load (and are checked) as
    the benchmark does, and each line's ``judgments`` become the pair's replays."""
    recording = Recording(str(path))
    rows = list(read_rows(path))  # the file is read and parsed once, for the pairs and the judgments
    for case, row in zip(judgebench.from_rows(rows), rows, strict=True):
        judgments = row.get("judgments")
        if not isinstance(judgments, list) or not 1 <= len(judgments) <= 2:
            raise row.error("expected a list of one or two judgments", "judgments")
        label = f"{row.data.get('judge_name') or path.stem} on pair {case.id}"
        recorded = {order: _judgement(row, entry, label, order)
                    for order, entry in zip(ORDERS, judgments, strict=False)}
        recording.add_pair(case, recorded, label)
    return recording


def _judgement(row: Row, entry: Any, label: str, order: Order) -> Replay:
    """A JudgeBench line's judgment of ``order`` (its entry in ``judgments`` is the order's index):
    the decision is in the shown frame of that order."""
    i = ORDERS.index(order)
    where = f"[recorded {label}, order {order}"
    if entry is None:
        return Replay(None, f"{where}: the recorded call failed]")
    if not isinstance(entry, dict):
        raise row.error(f"expected an object or null, got {type(entry).__name__}", f"judgments.{i}")
    decision = entry.get("decision")
    if decision is None:
        return Replay(None, f"{where}: the recorded judgment has no decision]")
    winner = pairwise_label(decision)
    if winner is None:
        raise row.error(f"unknown decision {decision!r}: expected A>B, B>A, A=B or null",
                        f"judgments.{i}.decision")
    judgment = entry.get("judgment")
    scores = judgment.get("scores") if isinstance(judgment, dict) else None
    detail = f", scores {scores}" if scores else ""
    return Replay(winner, f"{where}: {decision}{detail}]")


def _from_run(path: Path, protocol: str | None) -> Recording:
    from courtgraph.evals.store import RunStore

    store = RunStore(path, create=False)
    try:
        protocols = store.protocols()
        if protocol is None and len(protocols) == 1:
            protocol = protocols[0]
        if protocol is None or protocol not in protocols:
            choose = f"no protocol {protocol!r}" if protocol else "several protocols"
            raise ConfigError(f"recorded:{path}: {choose} in this run; give one of "
                              f"{', '.join(protocols) or '(none)'} as recorded:{path}#PROTOCOL")
        cases = store.cases()
        records = store.records(protocol)
    finally:
        store.close()
    recording = Recording(f"{path}#{protocol}")
    for record in records:
        if record.case_id in cases and cases[record.case_id].pairwise:
            label = f"{protocol} on case {record.case_id}"
            recording.add_pair(cases[record.case_id], _run_replays(record, label), label)
    return recording


def _run_replays(record: Record, label: str) -> dict[Order, Replay]:
    """A record's trials as replays; a trial that did not decide (invalid, error) replays as no verdict."""
    out: dict[Order, Replay] = {}
    for trial in record.trials:
        where = f"[recorded {label}, order {trial.order}"
        verdict = trial.verdict
        if verdict.valid and verdict.winner is not None:
            out[trial.order] = Replay(verdict.winner, f"{where}: {verdict.winner}]")
        else:
            out[trial.order] = Replay(None, f"{where}: {verdict.status} ({verdict.error or 'no winner'})]")
    return out
