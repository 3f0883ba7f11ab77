"""Rows of a data file to Cases, with a field mapping: any JSONL, CSV or JSON-array set, no code needed.

Every loader in this package goes through here (JudgeBench and LLMBar are this reader with a fixed
mapping), so a bad file gets the same one-line error everywhere: the file, the line (or the item of
a JSON array) and the field. Nothing is guessed: a missing field, an unknown label or a repeated id
stops the load, because a benchmark that silently drops or mislabels items gives wrong accuracies.

Logical fields (``--map logical=column``, unmapped ones default to their own name):
``question``, ``a`` and ``b`` (the two responses) or ``candidates`` (a list of one or two),
``label``, and the optional ``id``, ``category``, ``reference``, ``context``. A dotted column name
reaches into nested objects (``label=ground_truth.winner``, ``a=responses.0``). A text field may be a
template of columns (``question={instruction}\n\n{input}``) and the label a rule over annotator
columns (``label=majority(a1,a2,a3)``, ``unanimous(...)``): see :mod:`courtgraph.evals.benchmarks.fields`.
Text fields accept any JSON scalar (``408``, ``true``), written as JSON writes it. A file holding one
JSON array is read as such whatever its extension, and JSON lines otherwise (CSV/TSV by extension).

Labels (``--label-map 1=A,2=B``): the mapping is applied first; otherwise ``A``, ``B``, ``tie`` and
the JudgeBench forms ``A>B``, ``B>A``, ``A=B`` are understood (case-insensitive). A one-candidate
(pointwise) case keeps a numeric label as a score.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from courtgraph.errors import InputError
from courtgraph.evals.benchmarks import fields as mapped
from courtgraph.evals.benchmarks.fields import MISSING, GoldRule
from courtgraph.schema import Case, Label

FIELDS = ("id", "question", "a", "b", "candidates", "label", "category", "reference", "context")
_DEFAULT_LABELS: dict[str, Label] = {"a": "A", "b": "B", "tie": "tie", "a>b": "A", "b>a": "B", "a=b": "tie"}
_MISSING: Any = MISSING


@dataclass(frozen=True)
class Row:
    """One item of a data file and where it came from, so every error can point at it."""

    path: Path
    line: int | None  # 1-based line of a JSONL/CSV row; None for an item of a JSON array
    index: int  # 0-based position among the file's items
    data: dict[str, Any]

    def error(self, message: str, field: str | None = None) -> InputError:
        if self.line is None:  # a JSON array has no useful line: name the item instead
            field = f"[{self.index}]" + (f".{field}" if field else "")
        return InputError(message, path=self.path, line=self.line, field=field)

    def get(self, name: str) -> Any:
        """The value at ``name`` (a key, or a dotted path into objects and lists), or ``_MISSING``."""
        if name in self.data:
            return self.data[name]
        value: Any = self.data
        for part in name.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return _MISSING
        return value

    def text(self, name: str, *, required: bool = True) -> str | None:
        """A text field; any JSON scalar is accepted as text (an answer like ``408`` or ``true`` often is
        one), written as JSON writes it (``true``, ``408``, ``2.5``)."""
        value = self.get(name)
        if value is _MISSING or value is None or (value == "" and not required):
            if required:
                raise self.error("missing" if value is _MISSING else "is null", name)
            return None
        return scalar_text(value, lambda kind: self.error(f"expected text, got {kind}", name))


def scalar_text(value: Any, error: Callable[[str], InputError]) -> str:
    """A JSON scalar as text (booleans as ``true``/``false``); a list or object is ``error(its kind)``."""
    if isinstance(value, bool):
        return json.dumps(value)
    if not isinstance(value, str | int | float):
        raise error(type(value).__name__)
    return str(value)


def read_rows(path: Path) -> Iterator[Row]:
    """The items of a JSON array or a JSONL file (told apart by content, whatever the extension), or of a
    ``.csv``/``.tsv`` file (a header row)."""
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, expected a data file", path=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    suffix = path.suffix.lower()
    start = text.lstrip()[:1]
    if start == "[" and _is_json(text):  # one JSON document (an array), else JSON lines: by content
        rows = _array_rows(path, text)
    elif start in "{[" or suffix not in (".csv", ".tsv"):
        rows = _jsonl_rows(path, text)
    else:
        rows = _csv_rows(path, text, "\t" if suffix == ".tsv" else ",")
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise InputError("empty file: no cases", path=path)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _jsonl_rows(path: Path, text: str) -> Iterator[Row]:
    index = 0
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=line) from None
        if not isinstance(data, dict):
            raise InputError(f"expected a JSON object, got {type(data).__name__}", path=path, line=line)
        yield Row(path, line, index, data)
        index += 1


def _array_rows(path: Path, text: str) -> Iterator[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if not isinstance(data, list):
        raise InputError(f"expected a JSON array of objects, got {type(data).__name__}", path=path)
    for index, item in enumerate(data):
        row = Row(path, None, index, item if isinstance(item, dict) else {})
        if not isinstance(item, dict):
            raise row.error(f"expected a JSON object, got {type(item).__name__}")
        yield row


def _csv_rows(path: Path, text: str, delimiter: str) -> Iterator[Row]:
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
    columns = reader.fieldnames or []  # reads the header now, so line_num counts from the first row
    index = 0
    while True:
        start = reader.line_num + 1
        try:
            data = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", path=path, line=start) from None
        if None in data:  # DictReader's key for cells beyond the header
            raise InputError(f"more cells than the header's {len(columns)} columns", path=path, line=start)
        yield Row(path, start, index, dict(data))
        index += 1


def pairwise_label(value: Any, labels: dict[str, Label] | None = None) -> Label | None:
    """``A``/``B``/``tie`` for a label value (the mapping first, then the built-in forms), else None."""
    key = value if isinstance(value, str) else json.dumps(value)
    if labels and key in labels:
        return labels[key]
    return _DEFAULT_LABELS.get(key.strip().lower())


def parse_label(value: Any, labels: dict[str, Label], *, pairwise: bool) -> Label | float | str | None:
    """A row's label value in the case frame, or None when a pairwise label is not understood."""
    label = pairwise_label(value, labels)
    if label is not None or pairwise:
        return label
    if isinstance(value, bool):
        return str(value)
    try:  # a pointwise score, also when a CSV gives it as text
        return float(value)
    except (TypeError, ValueError):
        return value if isinstance(value, str) else json.dumps(value)  # a pointwise class


def normalize_labels(label_map: dict[str, str]) -> dict[str, Label]:
    """Check a ``--label-map``: every target must be A, B or tie (any case; ``A>B`` forms too)."""
    out: dict[str, Label] = {}
    for source, target in label_map.items():
        label = _DEFAULT_LABELS.get(target.strip().lower())
        if label is None:
            raise InputError(f"{source}={target}: a label maps to A, B or tie", field="label-map")
        out[source] = label
    return out


def check_fields(field_map: dict[str, str]) -> None:
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}; fields are {', '.join(FIELDS)}", field="map")


Overrides = Callable[[Row], dict[str, Any]]


def cases_from_rows(rows: Iterator[Row], field_map: dict[str, str] | None = None,
                    label_map: dict[str, str] | None = None, *, overrides: Overrides | None = None,
                    notes: list[str] | None = None) -> list[Case]:
    """Cases from rows through the mapping; ``overrides(row)`` sets Case fields a loader derives itself.

    A text field may be a template of columns, and the label a rule over annotator columns
    (:mod:`courtgraph.evals.benchmarks.fields`); what such a rule did is appended to ``notes``.
    """
    check_fields(field_map or {})
    src = {name: name for name in FIELDS} | (field_map or {})
    labels = normalize_labels(label_map or {})
    use_candidates = "a" not in (field_map or {})
    rule = GoldRule.parse(src["label"])
    cases: list[Case] = []
    seen: dict[str, Row] = {}
    for row in rows:
        candidates = _candidates(row, src, use_candidates)
        label = _label(row, src["label"], labels, rule, pairwise=len(candidates) == 2)
        if label is None:  # no majority / unanimity: left out, and counted in the rule's note
            continue
        metadata = row.get("metadata")

        def text(name: str, required: bool = False, row: Row = row) -> str | None:
            return mapped.text(row, src[name], name, required=required)

        fields: dict[str, Any] = {
            "id": text("id", required="id" in (field_map or {})) or str(row.line or row.index),
            "question": text("question", required=True),
            "candidates": candidates,
            "label": label,
            "category": text("category"),
            "reference": text("reference"),
            "context": text("context"),
            "metadata": metadata if isinstance(metadata, dict) else {},
        }
        if overrides is not None:
            fields.update(overrides(row))
        if fields["id"] in seen:
            first = seen[fields["id"]]
            where = f"line {first.line}" if first.line is not None else f"item {first.index}"
            raise row.error(f"duplicate id {fields['id']!r} (first at {where})", src["id"])
        seen[fields["id"]] = row
        cases.append(Case(**fields))
    if rule is not None and notes is not None:
        notes.append(rule.note())
    return cases


def _label(row: Row, source: str, labels: dict[str, Label], rule: GoldRule | None, *,
           pairwise: bool) -> Label | float | str | None:
    """The row's gold label from its column, or by the rule over annotator columns (None: left out)."""
    if rule is not None:
        def vote(value: Any, column: str) -> Label:
            label = pairwise_label(value, labels)
            if label is None:
                raise row.error(f"unknown label {value!r}: expected A, B or tie, or map it "
                                "(e.g. --label-map 1=A,2=B)", column)
            return label

        return rule.label(row, vote)
    raw = row.get(source)
    if raw is _MISSING or raw is None or raw == "":
        raise row.error("missing" if raw is _MISSING else "no label", source)
    label = parse_label(raw, labels, pairwise=pairwise)
    if label is None:
        raise row.error(f"unknown label {raw!r}: expected A, B or tie, or map it (e.g. --label-map 1=A,2=B)", source)
    return label


def _candidates(row: Row, src: dict[str, str], use_candidates: bool) -> list[str]:
    listed = row.get(src["candidates"]) if use_candidates else _MISSING
    if listed is _MISSING:
        a, b = mapped.text(row, src["a"], "a"), mapped.text(row, src["b"], "b")
        assert a is not None and b is not None
        return [a, b]
    if not isinstance(listed, list) or not 1 <= len(listed) <= 2:
        raise row.error("expected a list of one or two responses", src["candidates"])
    field = src["candidates"]
    return [scalar_text(v, lambda kind, i=i: row.error(f"expected text, got {kind}", f"{field}.{i}"))  # type: ignore[misc]
            for i, v in enumerate(listed)]


def load(path: Path, field_map: dict[str, str] | None = None, label_map: dict[str, str] | None = None,
         notes: list[str] | None = None) -> list[Case]:
    """Cases from any JSONL / CSV / JSON-array file through a field and label mapping."""
    return cases_from_rows(read_rows(path), field_map, label_map, notes=notes)
