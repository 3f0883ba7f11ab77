"""The recording formats a ``recorded:`` judge reads, and its spec syntax.

Spec: ``recorded:PATH[#PROTOCOL][?OPTION=VALUE&OPTION=VALUE...]``.

Formats (detected from the file's content; ``format=`` forces one):

* ``judgebench``: a JudgeBench output file (``outputs/*.jsonl``). Each line repeats the pair
  (``pair_id``, ``question``, ``response_A``, ``response_B``...) and adds ``judgments``: entry 0 judged
  (question, A, B), entry 1 the swapped order (question, B, A), so each entry's ``decision`` is already
  in the *shown* frame of that order. A null entry or decision replays as no verdict. Keyed by ``pair_id``.
* ``llmbar``: an LLMBar ``result.json`` (``<subset>/evaluators/<LLM>/<strategy>/result.json``), a list
  aligned with the subset's ``dataset.json``. The last attempt of ``results`` holds the verdict of each
  order under ``"swap = False"`` (order AB) and ``"swap = True"`` (order BA), both with ``winner`` in the
  *original* numbering (``"1"`` = output_1 = case A), exactly as LLMBar's ``evaluate.py`` scores them;
  any other winner is no verdict. Keyed ``<subset>/<index>`` like the ``llmbar:`` benchmark; the subset
  is read from the path, or given with ``subset=Adversarial/Neighbor``.
* ``run``: a courtgraph run directory, ``RUN_DIR`` or ``RUN_DIR#PROTOCOL`` (needed when the run holds
  several protocols). Each trial's verdict, in its shown frame; keyed by case id.
* ``table``: any JSON array, JSONL or CSV/TSV file with a verdict column per order:

  - ``id=COLUMN``: the item id, matched against the benchmark's case ids. Without it the items are
    matched by content (``question=``, ``a=``, ``b=`` name the columns; default ``question``, ``a``,
    ``b``), with a warning.
  - ``verdict=COLUMN``: the verdict of the order as given (AB). ``verdict_ba=COLUMN``: the verdict of
    the swapped order, if recorded; ``frame=case`` (default) when it names the winner in the original
    numbering (as LLMBar does), ``frame=shown`` when in the swapped prompt's own numbering (as JudgeBench).
  - ``map=VALUE:LABEL,...``: verdict values to ``A``, ``B``, ``tie`` or ``invalid`` (no verdict), e.g.
    ``map=1:A,2:B,Tie:tie,garbage:invalid``. Unmapped values must be ``A``, ``B``, ``tie``, ``A>B``,
    ``B>A`` or ``A=B``; an empty or null cell is no verdict; anything else stops the load.

  Example: ``recorded:verdicts.csv?id=idx&verdict=gpt_result&map=1:A,2:B,Tie:tie,garbage:invalid``.

A recording that fits no format says which formats are accepted and, for each, the first field of
the first item that did not fit.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from courtgraph.errors import InputError
from courtgraph.evals.benchmarks import judgebench, llmbar
from courtgraph.evals.benchmarks.fields import MISSING
from courtgraph.evals.benchmarks.jsonl import Row, cases_from_rows, pairwise_label, read_rows
from courtgraph.evals.recorded import Recording, Replay, content_key
from courtgraph.models.base import ConfigError
from courtgraph.schema import ORDERS, Case, Label, Order, Record, to_case_frame

FORMATS = ("judgebench", "llmbar", "run", "table")
OPTIONS = ("format", "id", "verdict", "verdict_ba", "frame", "map", "subset", "question", "a", "b")
ACCEPTED = ("a JudgeBench output file (lines with 'judgments'), an LLMBar result.json (items with 'input', "
            "'output_1', 'output_2', 'results'), a courtgraph run directory (RUN_DIR[#PROTOCOL]), or a table "
            "given as FILE?id=COLUMN&verdict=COLUMN[&verdict_ba=COLUMN][&map=VALUE:LABEL,...]")
#: The fields each file format needs on every item (how a file is recognised).
SIGNATURES = {"judgebench": ("judgments", "pair_id"), "llmbar": ("results", "input", "output_1", "output_2")}
_NO_VERDICT = ("invalid", "none", "null")


def parse_spec(rest: str) -> tuple[Path, str | None, dict[str, str]]:
    """``PATH[#PROTOCOL][?OPTIONS]`` to the path, the protocol and the options (ConfigError when bad)."""
    text, query = rest, ""
    if not Path(rest).expanduser().exists() and "?" in rest:
        text, _, query = rest.partition("?")
    protocol = None
    if not Path(text).expanduser().exists() and "#" in text:
        text, _, protocol = text.rpartition("#")
    path = Path(text).expanduser()
    if not path.exists():
        raise ConfigError(f"recorded:{rest}: no such file or run directory")
    options: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        key, sep, value = part.partition("=")
        if not sep or key not in OPTIONS:
            raise ConfigError(f"recorded:{rest}: {part!r} is not an option; options are "
                              f"{', '.join(o + '=' for o in OPTIONS)}")
        if key in options:
            raise ConfigError(f"recorded:{rest}: option {key!r} is given twice")
        options[key] = value
    if options.get("format", "judgebench") not in FORMATS:
        raise ConfigError(f"recorded:{rest}: format={options['format']}; formats are {', '.join(FORMATS)}")
    return path, protocol, options


@lru_cache(maxsize=16)
def load_recording(path_text: str, mtime_ns: int, size: int, protocol: str | None,
                   options: tuple[tuple[str, str], ...]) -> Recording:
    """One parse per recording, version and options: every juror and protocol built from it shares it."""
    del mtime_ns, size  # part of the cache key only: a rewritten file is read again
    path, opts = Path(path_text), dict(options)
    if path.is_dir() or path.name == "run.db" or opts.get("format") == "run":
        if set(opts) - {"format"}:
            raise ConfigError(f"recorded:{path}: options apply to files, not run directories")
        return read_run(path, protocol)
    if protocol is not None:
        raise ConfigError(f"recorded:{path}#{protocol}: '#PROTOCOL' applies to run directories only")
    rows = list(read_rows(path))
    fmt = opts.get("format") or detect(path, rows, opts)
    if fmt == "judgebench":
        return read_judgebench(path, rows)
    if fmt == "llmbar":
        return read_llmbar(path, rows, opts)
    return read_table(path, rows, opts)


def detect(path: Path, rows: list[Row], options: dict[str, str]) -> str:
    """The format of a recording file, from its first item (a table when ``verdict=`` is given)."""
    if "verdict" in options:
        return "table"
    first = rows[0]
    misfits = []
    for name, fields in SIGNATURES.items():
        missing = [f for f in fields if first.get(f) is MISSING]
        if not missing:
            return name
        where = f"[{first.index}].{missing[0]}" if first.line is None else f"line {first.line}: {missing[0]}"
        misfits.append(f"as {name}, field '{where}' is missing")
    raise InputError(f"not a recording courtgraph can read; it accepts {ACCEPTED}. This file: "
                     + "; ".join(misfits), path=path)


def _order_note(source: str, item: str, order: Order, what: str) -> str:
    return f"[recorded {source} on {item}, order {order}: {what}]"


# -- JudgeBench ---------------------------------------------------------------------------------------


def read_judgebench(path: Path, rows: list[Row]) -> Recording:
    """A JudgeBench output file: its lines repeat the pair, so the pairs load (and are checked) as the
    benchmark does, and each line's ``judgments`` become the pair's replays."""
    recording = Recording(str(path))
    for case, row in zip(judgebench.from_rows(rows), rows, strict=True):
        judgments = row.get("judgments")
        if not isinstance(judgments, list) or not 1 <= len(judgments) <= 2:
            raise row.error("expected a list of one or two judgments", "judgments")
        label = str(row.data.get("judge_name") or path.stem)
        recorded = {order: _judgement(row, entry, label, case.id, order)
                    for order, entry in zip(ORDERS, judgments, strict=False)}
        recording.add(case.id, case, recorded)  # ids are unique: from_rows refuses a repeated pair_id
    return recording


def _judgement(row: Row, entry: Any, label: str, item: str, order: Order) -> Replay:
    """A JudgeBench line's judgment of ``order``: the decision is in the shown frame of that order."""
    i = ORDERS.index(order)
    if entry is None:
        return Replay(None, _order_note(label, item, order, "the recorded call failed"))
    if not isinstance(entry, dict):
        raise row.error(f"expected an object or null, got {type(entry).__name__}", f"judgments.{i}")
    decision = entry.get("decision")
    if decision is None:
        return Replay(None, _order_note(label, item, order, "the recorded judgment has no decision"))
    winner = pairwise_label(decision)
    if winner is None:
        raise row.error(f"unknown decision {decision!r}: expected A>B, B>A, A=B or null",
                        f"judgments.{i}.decision")
    judgment = entry.get("judgment")
    scores = judgment.get("scores") if isinstance(judgment, dict) else None
    detail = f", scores {scores}" if scores else ""
    return Replay(winner, _order_note(label, item, order, f"{decision}{detail}"))


# -- LLMBar -------------------------------------------------------------------------------------------

_LLMBAR_ORDERS: dict[str, Order] = {"swap = False": "AB", "swap = True": "BA"}
_LLMBAR_WINNERS: dict[str, Label] = {"1": "A", "2": "B"}


def llmbar_subset(path: Path) -> str | None:
    """The subset of ``<subset>/evaluators/<LLM>/<strategy>/result.json``, as the ``llmbar:`` loader names it."""
    parents = path.resolve().parents
    if len(parents) > 3 and parents[2].name == "evaluators":
        return llmbar.subset_name(parents[3], parents[3])
    return None


def read_llmbar(path: Path, rows: list[Row], options: dict[str, str]) -> Recording:
    """An LLMBar ``result.json``: the last attempt's winner per order, in the original numbering."""
    subset = options.get("subset") or llmbar_subset(path)
    name = "/".join(path.resolve().parts[-3:-1])  # <LLM>/<strategy>
    recording = Recording(str(path), keyed_by="id" if subset else "content")
    if subset is None:
        recording.warn_once("its subset is not in its path (<subset>/evaluators/<LLM>/<strategy>/result.json) "
                            "and no subset= was given: items are matched by content, repeated items share one "
                            "verdict")

    def derived(row: Row) -> dict[str, str]:
        return {"id": f"{subset or 'item'}/{row.index}", "category": subset or ""}

    cases = cases_from_rows(iter(rows), llmbar.FIELDS, llmbar.LABELS, overrides=derived)
    for case, row in zip(cases, rows, strict=True):
        results = row.get("results")
        if not isinstance(results, list) or not results or not isinstance(results[-1], dict):
            raise row.error("expected a list of attempts ending in an object with 'swap = False' / 'swap = True'",
                            "results")
        last = results[-1]
        replays: dict[Order, Replay] = {}
        for key, order in _LLMBAR_ORDERS.items():
            if key not in last:
                continue
            entry = last[key]
            raw = entry.get("winner") if isinstance(entry, dict) else None
            winner = _LLMBAR_WINNERS.get(str(raw)) if isinstance(raw, str | int) else None
            what = f"winner {raw!r} (original numbering)"
            replays[order] = Replay(to_case_frame(order, winner), _order_note(name, case.id, order, what))
        key = case.id if subset else content_key(case.question, case.candidates)
        if not recording.add(key, case, replays):
            recording.warn_once("repeated items share one verdict (matched by content)")
    return recording


# -- courtgraph runs ----------------------------------------------------------------------------------


def read_run(path: Path, protocol: str | None) -> Recording:
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
        case = cases.get(record.case_id)
        if case is not None and case.pairwise:
            recording.add(case.id, case, _run_replays(record, protocol))
    return recording


def _run_replays(record: Record, protocol: str) -> dict[Order, Replay]:
    """A record's trials as replays; a trial that did not decide (invalid, error) replays as no verdict."""
    out: dict[Order, Replay] = {}
    for trial in record.trials:
        verdict = trial.verdict
        if verdict.valid and verdict.winner is not None:
            out[trial.order] = Replay(verdict.winner, _order_note(protocol, record.case_id, trial.order,
                                                                  verdict.winner))
        else:
            what = f"{verdict.status} ({verdict.error or 'no winner'})"
            out[trial.order] = Replay(None, _order_note(protocol, record.case_id, trial.order, what))
    return out


# -- generic tables -----------------------------------------------------------------------------------


def verdict_map(text: str) -> dict[str, Label | None]:
    """``1:A,2:B,Tie:tie,garbage:invalid`` to ``{value: label or None}`` (None: no verdict)."""
    out: dict[str, Label | None] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        value, sep, target = item.rpartition(":")
        label = pairwise_label(target.strip())
        if not sep or (label is None and target.strip().lower() not in _NO_VERDICT):
            raise ConfigError(f"recorded: map entry {item!r}: expected VALUE:LABEL with LABEL one of A, B, tie, "
                              "invalid")
        out[value] = label
    return out


def _cell(row: Row, column: str, mapping: dict[str, Label | None]) -> tuple[Label | None, str]:
    value = row.get(column)
    if value is MISSING:
        raise row.error("missing", column)
    if value is None or value == "":
        return None, "no verdict recorded"
    key = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if key in mapping:
        return mapping[key], f"{column} = {value!r}"
    label = pairwise_label(value)
    if label is None:
        raise row.error(f"unknown verdict {value!r}: map it, e.g. &map={key}:A (labels A, B, tie, invalid)",
                        column)
    return label, f"{column} = {value!r}"


def read_table(path: Path, rows: list[Row], options: dict[str, str]) -> Recording:
    """Any table with a verdict column per order; keyed by ``id=`` (else by content, with a warning)."""
    column = options.get("verdict")
    if not column:
        raise ConfigError(f"recorded:{path}: a table needs verdict=COLUMN (and id=COLUMN); accepted: {ACCEPTED}")
    frame = options.get("frame", "case")
    if frame not in ("case", "shown"):
        raise ConfigError(f"recorded:{path}: frame={frame}; expected case or shown")
    mapping = verdict_map(options.get("map", ""))
    id_column = options.get("id")
    recording = Recording(str(path), keyed_by="id" if id_column else "content")
    if id_column is None:
        recording.warn_once("no id= column: items are matched by question and responses, so repeated items "
                            "share one verdict")
    columns: dict[Order, str | None] = {"AB": column, "BA": options.get("verdict_ba")}
    for row in rows:
        case: Case | None = None
        if id_column is not None:
            key = row.text(id_column)
            assert key is not None
        else:
            question, a, b = (row.text(options.get(f, f)) for f in ("question", "a", "b"))
            assert question is not None and a is not None and b is not None
            case = Case(id=str(row.line or row.index), question=question, candidates=[a, b])
            key = content_key(question, case.candidates)
        replays: dict[Order, Replay] = {}
        for order, col in columns.items():
            if col is None:
                continue
            label, what = _cell(row, col, mapping)
            shown = label if frame == "shown" else to_case_frame(order, label)
            replays[order] = Replay(shown, _order_note(path.name, key if id_column else case.id if case else key,
                                                       order, what))
        if not recording.add(key, case, replays):
            if id_column is not None:
                raise row.error(f"duplicate id {key!r}", id_column)
            recording.warn_once("repeated items share one verdict (matched by content)")
    return recording
