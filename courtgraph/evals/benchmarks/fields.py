"""Field mappings beyond one column: text templates, and gold labels combined from several annotators.

* A template joins columns into one text field: ``--map 'question={instruction}\\n\\n{input}'`` (``{name}``
  is a column, dotted paths allowed; ``\\n`` and ``\\t`` are a newline and a tab). A column that is
  missing or null stops the load, naming it.
* ``label=majority(annotator1,annotator2,annotator3)``: the label more than half of the annotators who
  gave one chose; ``label=unanimous(...)``: the label every annotator who gave one chose. An annotator
  cell that is empty or null is no vote; a value that is not a label stops the load. An item with no
  majority (a split, or A/B/tie one each) or no unanimity is **left out** and counted, unless the rule
  says what it is: ``majority(a1,a2,a3,else=tie)``. The counts per class and the items left out are
  reported in the benchmark's notes, which ``courtgraph run`` prints.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from courtgraph.errors import InputError
from courtgraph.schema import LABELS, Label

if TYPE_CHECKING:
    from courtgraph.evals.benchmarks.jsonl import Row

#: What :meth:`Row.get` returns for an absent field (distinct from a JSON null).
MISSING: Any = object()
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_RULE = re.compile(r"^\s*(majority|unanimous)\((.*)\)\s*$")
_ESCAPES = {"\\n": "\n", "\\t": "\t"}


def is_template(source: str) -> bool:
    return _PLACEHOLDER.search(source) is not None


def render(row: Row, template: str, field_name: str) -> str:
    """The template with each ``{column}`` replaced by that column's text."""
    def value(match: re.Match[str]) -> str:
        text = row.text(match.group(1))
        assert text is not None
        return text

    try:
        out = _PLACEHOLDER.sub(value, template)
    except InputError as exc:
        raise row.error(f"{exc.message} (used by the template of {field_name})", exc.field) from None
    for escape, char in _ESCAPES.items():
        out = out.replace(escape, char)
    return out


def text(row: Row, source: str, field_name: str, *, required: bool = True) -> str | None:
    """A text field from a column or a template."""
    if is_template(source):
        return render(row, source, field_name)
    return row.text(source, required=required)


@dataclass
class GoldRule:
    """``majority(...)`` or ``unanimous(...)`` over annotator columns, and what it did (for the notes)."""

    kind: str
    columns: list[str]
    otherwise: Label | None = None  # the label of an item without majority/unanimity; None: left out
    counts: Counter[str] = field(default_factory=Counter)
    undecided: int = 0  # items without majority / unanimity (left out, or labelled ``otherwise``)

    @classmethod
    def parse(cls, source: str) -> GoldRule | None:
        """The rule a ``label=`` mapping names, or None for a plain column."""
        match = _RULE.match(source)
        if match is None:
            return None
        columns, otherwise = [], None
        for arg in (a.strip() for a in match.group(2).split(",")):
            if arg.startswith("else="):
                wanted = arg.removeprefix("else=").strip()
                if wanted not in LABELS:
                    raise InputError(f"{source}: else= takes A, B or tie, not {wanted!r}", field="map")
                otherwise = wanted
            elif arg:
                columns.append(arg)
        if len(columns) < 2:
            raise InputError(f"{source}: name two or more annotator columns", field="map")
        return cls(match.group(1), columns, otherwise)

    def label(self, row: Row, parse: Any) -> Label | None:
        """The row's gold label by the rule (``parse(value, column)`` reads one annotator's cell); None:
        the row is left out (counted)."""
        votes: list[Label] = []
        for column in self.columns:
            value = row.get(column)
            if value is None or value == "" or value is MISSING:
                continue
            votes.append(parse(value, column))
        tally = Counter(votes)
        top, n = tally.most_common(1)[0] if tally else (None, 0)
        decided = n * 2 > len(votes) if self.kind == "majority" else bool(votes) and n == len(votes)
        label = top if decided else self.otherwise
        self.undecided += not decided
        if label is not None:
            self.counts[label] += 1
        return label

    def note(self) -> str:
        counts = ", ".join(f"{c} {self.counts[c]}" for c in LABELS if self.counts[c]) or "none"
        why = "without a majority" if self.kind == "majority" else "without unanimity"
        fate = f"labelled {self.otherwise}" if self.otherwise is not None else "left out"
        return f"gold = {self.kind}({', '.join(self.columns)}): {counts}; {self.undecided} item(s) {why} {fate}"
