"""Transcripts as files for a paper or a bug report: markdown written by hand, HTML from rich, JSON.

Markdown is written by hand rather than exported from the terminal rendering: a paper wants
headings and quotes, not box drawing. Agents' texts go in block quotes and candidates in code fences
longer than any backtick run inside them, so nothing in an untrusted text can break the document.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence

from rich.console import Console, RenderableType

from courtgraph.schema import EVERYONE, Case, Order, Record, TrialResult, Turn
from courtgraph.view.runs import CaseRow
from courtgraph.view.table import outcome_cell
from courtgraph.view.transcript import correctness, meta, privacy, said, trial_correct, usage_text, verdict_label


def to_html(renderable: RenderableType, *, width: int = 120, title: str = "courtgraph transcript") -> str:
    """A self-contained HTML page of what the terminal would show, colours included."""
    console = Console(record=True, file=io.StringIO(), width=width, color_system="truecolor", force_terminal=True,
                      highlight=False)
    console.print(renderable)
    html = console.export_html(inline_styles=True)
    return html.replace("<head>", f"<head>\n<title>{title}</title>", 1)


def to_json(records: Sequence[Record]) -> str:
    """One record as its JSON; several (a comparison) as a JSON list."""
    if len(records) == 1:
        return records[0].model_dump_json(indent=2)
    return json.dumps([r.model_dump(mode="json") for r in records], indent=2, ensure_ascii=False)


def fenced(text: str, info: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.rstrip().splitlines()) or "> (no text)"


def case_markdown(case: Case) -> list[str]:
    names = ["A", "B"] if case.pairwise else ["response"]
    gold = f" · gold: **{case.label}**" if case.label is not None else ""
    lines = [f"# Case {case.id}" + (f" ({case.category})" if case.category else ""), "",
             f"**Question**{gold}", "", fenced(case.question), ""]
    for name, text in zip(names, case.candidates, strict=True):
        lines += [f"**Candidate {name}**" + (" (gold)" if case.label == name else ""), "", fenced(text), ""]
    if case.reference:
        lines += ["**Reference**", "", fenced(case.reference), ""]
    if case.context:
        lines += ["**Context** (hidden from the judge)", "", fenced(case.context), ""]
    return lines


def turn_markdown(turn: Turn, order: Order) -> list[str]:
    where = [f"round {turn.round}" if turn.round is not None else "", turn.phase or ""]
    head = " · ".join(filter(None, [f"{turn.agent} ({turn.role})", *where]))
    about = meta(turn.model or "", usage_text(turn.usage), f"{turn.latency_s:.1f}s", "cached" if turn.cached else "",
                 privacy(turn) if EVERYONE not in turn.visible_to else "")
    lines = [f"### {head}", "", f"*{about}*", "", quoted(turn.content), ""]
    if turn.verdict is not None:
        conf = f", confidence {turn.verdict.confidence:.2f}" if turn.verdict.confidence is not None else ""
        lines += [f"Vote: **{said(order, turn.verdict)}**{conf}", ""]
    return lines


def trial_markdown(trial: TrialResult, record: Record) -> list[str]:
    lines = [f"## {record.protocol} · order {trial.order}", ""]
    if trial.order == "BA":
        lines += ["*Shown swapped: the agents saw case B as \"A\" and case A as \"B\".*", ""]
    for turn in trial.turns:
        lines += turn_markdown(turn, trial.order)
    v = trial.verdict
    mark = correctness(trial_correct(trial, record.label), record.label).plain
    conf = f" · confidence {v.confidence:.2f}" if v.confidence is not None else ""
    lines += [f"**Verdict ({trial.order}): {said(trial.order, v)}** · {mark}{conf}", ""]
    if v.rationale:
        lines += [quoted(v.rationale), ""]
    if v.error:
        lines += [f"Error: {v.error}", ""]
    if v.quorum:
        lines += [f"Decided under the quorum rule: {v.quorum}", ""]
    if v.votes:
        lines += ["| member | vote | confidence |", "|---|---|---|"]
        lines += [f"| {m.agent or m.stage or i} | {said(trial.order, m)} | "
                  f"{'' if m.confidence is None else f'{m.confidence:.2f}'} |" for i, m in enumerate(v.votes, 1)]
        lines.append("")
    return lines


def to_markdown(records: Sequence[Record], case: Case | None = None, *, order: Order | None = None) -> str:
    """The case (when known), then each record's trials, turn by turn, and its combined verdict."""
    lines = case_markdown(case) if case is not None else [f"# Case {records[0].case_id}", ""]
    for record in records:
        for trial in record.trials:
            if order is None or trial.order == order:
                lines += trial_markdown(trial, record)
        mark = correctness(record.correct, record.label).plain
        lines += [f"## {record.protocol}: combined verdict **{verdict_label(record.verdict)}** · {mark}", ""]
    return "\n".join(lines)


def table_markdown(rows: Sequence[CaseRow], protocols: Sequence[str]) -> str:
    """The case table as a markdown table (✓ right, ✗ wrong, ⇄ order flip, q decided under a quorum rule)."""
    out = ["| case | category | gold | " + " | ".join(protocols) + " |",
           "|---|---|---|" + "---|" * len(protocols)]
    for r in rows:
        cells = [outcome_cell(r.outcomes.get(p)).plain for p in protocols]
        out.append(f"| {r.id} | {r.category or ''} | {r.label or ''} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def table_json(rows: Sequence[CaseRow]) -> str:
    return json.dumps([{"id": r.id, "category": r.category, "label": r.label,
                        "outcomes": {p: {"answer": o.answer, "correct": o.correct, "inconsistent": o.inconsistent,
                                         "invalid": o.invalid, "quorum": o.quorum}
                                     for p, o in r.outcomes.items()}} for r in rows],
                      indent=2, ensure_ascii=False)
