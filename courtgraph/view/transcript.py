"""A record's transcript as rich renderables: the case, each turn as a panel, the verdicts.

Turn texts are shown verbatim as plain text, never parsed as markup or markdown: a transcript is
evidence, and rendering would eat characters (``[[A]]`` is rich markup, ``**`` vanishes in
markdown). Candidates and questions, which are often code or markdown, do render as such, and are
shortened unless asked for whole, because the reader came for the argument, not to re-read them.

Labels: agents speak in the frame they were shown (in an ``BA`` trial their "A" is the case's B).
Votes and verdicts are printed in that frame with the case frame beside it when they differ; the
mapping goes through :class:`~courtgraph.schema.TrialResult`, the schema's one place for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from courtgraph.schema import EVERYONE, Case, Label, Order, Record, TrialResult, Turn, Usage, Verdict, is_correct
from courtgraph.view.styles import role_style

#: A case's gold answer: a side or tie for pairwise, a score or class for pointwise.
GoldLabel = Label | float | str | None

#: Below this width, things shown side by side (candidates, compared protocols) stack instead.
WIDE = 140


@dataclass(frozen=True)
class ViewOptions:
    """How much to show: ``full`` candidates, a search term to ``highlight``, the shortening budget."""

    full: bool = False
    highlight: str | None = None
    max_chars: int = 900


class Responsive:
    """Render ``wide`` when there is room for it, else ``narrow``: decided at render time, per console."""

    def __init__(self, wide: RenderableType, narrow: RenderableType, min_width: int = WIDE) -> None:
        self.wide, self.narrow, self.min_width = wide, narrow, min_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide if options.max_width >= self.min_width else self.narrow


def side_by_side(items: list[RenderableType]) -> RenderableType:
    """Items in equal columns on a wide console, one after another on a narrow one."""
    grid = Table.grid(expand=True, padding=(0, 1))
    for _ in items:
        grid.add_column(ratio=1)
    grid.add_row(*items)
    return Responsive(grid, Group(*items))


# --- small formatters -------------------------------------------------------------------------------


def verdict_label(v: Verdict) -> str:
    """What a verdict says in one word: the winner, a score, or its failure status in capitals."""
    if not v.valid:
        return v.status.upper()
    if v.score is not None and v.winner is None:
        return f"score {v.score:g}"
    return v.winner or "none"


def in_case_frame(order: Order, v: Verdict) -> Label | None:
    """A shown-frame verdict's winner in the case frame (None when it does not count)."""
    return TrialResult(order=order, verdict=v).case_winner


def said(order: Order, v: Verdict) -> str:
    """A shown-frame verdict as the reader needs it: ``A`` or, when the frames differ, ``A (= case B)``."""
    text = verdict_label(v)
    case = in_case_frame(order, v)
    return f"{text} (= case {case})" if v.winner in ("A", "B") and case != v.winner else text


def correctness(correct: bool | None, label: GoldLabel) -> Text:
    """The ✓/✗ mark against the gold label, or a note that there is none."""
    if correct is None:
        return Text("no gold label", style="dim")
    return Text(f"✓ correct (gold {label})", style="bold green") if correct else \
        Text(f"✗ wrong (gold {label})", style="bold red")


def trial_correct(trial: TrialResult, label: GoldLabel) -> bool | None:
    """Whether one trial alone got the case right (its winner mapped to the case frame)."""
    return is_correct(trial.verdict.model_copy(update={"winner": trial.case_winner}), label)


def usage_text(usage: Usage) -> str:
    """Tokens in+out (and calls when several); empty for turns no model produced (a voting rule)."""
    if not usage.tokens and not usage.calls:
        return ""
    calls = f" · {usage.calls} calls" if usage.calls > 1 else ""
    return f"{usage.input_tokens:,}+{usage.output_tokens:,} tok{calls}"


def looks_like_markdown(text: str) -> bool:
    """Fences, headings, lists, quotes or tables at the start of a line."""
    return bool(re.search(r"^\s*(```|~~~|#{1,6} |[-*+] |\d+[.)] |> |\|.*\|)", text, re.MULTILINE))


#: First-line openings that mark a text as source code, and the lexer that highlights it.
_CODE_STARTS: list[tuple[str, str]] = [
    (r"(async )?def \w+\(|class \w+[(:]|import [\w.]+(,|$| as )|from [\w.]+ import |@\w+(\(|$)", "python"),
    (r"#include\b|int main\(", "c"),
    (r"function \w*\(|(const|let|var) \w+ =|export (default|function|const) ", "javascript"),
    (r"(public|private) (static )?(class|void|int) |package [\w.]+;", "java"),
    (r"(pub )?fn \w+\(|use \w+::", "rust"),
    (r"(SELECT|WITH|CREATE|INSERT|UPDATE|DELETE) .*\b(FROM|INTO|TABLE|SET|AS|VALUES)\b", "sql"),
]


def code_lexer(text: str) -> str | None:
    """The language of a text that is plainly source code (its first line opens like code), else None."""
    first = next((line for line in text.splitlines() if line.strip()), "").strip()
    return next((lexer for pattern, lexer in _CODE_STARTS if re.match(pattern, first)), None)


def shorten(text: str, max_chars: int) -> tuple[str, int]:
    """The first ``max_chars`` or so of ``text`` cut at a line or word end, and how many chars were cut."""
    if len(text) <= max_chars:
        return text, 0
    cut = text.rfind("\n", 0, max_chars)
    if cut < max_chars // 2:
        cut = text.rfind(" ", 0, max_chars)
    cut = cut if cut > 0 else max_chars
    kept = text[:cut].rstrip()
    if kept.count("```") % 2:  # do not leave a code fence open: the rest would render as code
        kept += "\n```"
    return kept, len(text) - cut


def rich_text(text: str, opts: ViewOptions, *, shorten_it: bool = True) -> RenderableType:
    """A question or candidate: highlighted code or markdown when it looks like it, else wrapped text."""
    body, hidden = shorten(text, opts.max_chars) if shorten_it and not opts.full else (text, 0)
    lexer = code_lexer(body)
    shown: RenderableType = (Syntax(body, lexer, word_wrap=True, background_color="default") if lexer else
                             Markdown(body) if looks_like_markdown(body) else plain(body, opts))
    if not hidden:
        return shown
    note = Text(f"… {hidden:,} more characters (--full shows the whole text)", style="dim italic")
    return Group(shown, note)


def plain(text: str, opts: ViewOptions) -> Text:
    """Verbatim text, with the search term marked."""
    out = Text(text)
    if opts.highlight:
        out.highlight_words([opts.highlight], style="black on yellow", case_sensitive=False)
    return out


# --- the case ---------------------------------------------------------------------------------------


def case_panel(case: Case, opts: ViewOptions = ViewOptions()) -> RenderableType:
    """The question, the candidates (in the case's frame, gold one marked), reference and hidden context."""
    names = ["A", "B"] if case.pairwise else ["response"]
    cands: list[RenderableType] = []
    for name, text in zip(names, case.candidates, strict=True):
        is_gold = case.label == name
        title = Text.assemble((f"candidate {name}", "bold"), ("  ★ gold", "bold green") if is_gold else "")
        cands.append(Panel(rich_text(text, opts), title=title, title_align="left",
                           border_style="green" if is_gold else "grey50"))
    parts: list[RenderableType] = [rich_text(case.question, opts, shorten_it=False), side_by_side(cands)]
    if case.reference:
        parts.append(Panel(rich_text(case.reference, opts), title="reference", title_align="left",
                           border_style="grey50"))
    if case.context:
        parts.append(Panel(rich_text(case.context, opts), title="context (hidden from the judge)",
                           title_align="left", border_style="grey50"))
    title = Text.assemble(("case ", "bold"), (case.id, "bold"), f"  ·  {case.category}" if case.category else "")
    gold = f"gold: {case.label}" if case.label is not None else "no gold label"
    return TitledPanel(parts, title=title, subtitle=gold)


class TitledPanel:
    """A bold panel whose title goes inside, as its first line, when the border is too short for it: a
    36-character case id in a narrow pane must be read whole, not cropped by the border."""

    def __init__(self, parts: list[RenderableType], *, title: Text, subtitle: str) -> None:
        self.parts, self.title, self.subtitle = parts, title, subtitle

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title.cell_len + 6 <= options.max_width:
            yield Panel(Group(*self.parts), title=self.title, title_align="left", subtitle=self.subtitle,
                        subtitle_align="right", border_style="bold")
        else:
            yield Panel(Group(self.title, *self.parts), subtitle=self.subtitle, subtitle_align="right",
                        border_style="bold")


def record_header(record: Record) -> Text:
    """Stands in for the case panel when the case itself is not at hand."""
    gold = f"gold: {record.label}" if record.label is not None else ""
    bits = [f"case {record.case_id}", record.category or "", gold]
    return Text("  ·  ".join(b for b in bits if b), style="bold")


# --- turns and verdicts -----------------------------------------------------------------------------


def turn_title(turn: Turn, tag: str = "") -> Text:
    """Who spoke (in the role's colour), when (round, phase), and who alone may read it."""
    style = role_style(turn.role, turn.agent)
    title = Text(f"[{tag}] " if tag else "").append(turn.agent, style=f"bold {style}")
    if turn.role.lower() not in turn.agent.lower():
        title.append(f" ({turn.role})", style=style)
    where = [f"round {turn.round}" if turn.round is not None else "", turn.phase or ""]
    for bit in filter(None, where):
        title.append(f" · {bit}")
    if EVERYONE not in turn.visible_to:
        title.append(f"  [{privacy(turn)}]", style="bold italic")
    return title


def privacy(turn: Turn) -> str:
    """Who alone may read a turn: "private to juror_1", or "visible only to juror_1, juror_2"."""
    who = ", ".join(turn.visible_to) or "nobody"
    return f"private to {who}" if len(turn.visible_to) <= 1 else f"visible only to {who}"


def meta(*bits: str) -> str:
    """Non-empty bits joined with a middle dot."""
    return " · ".join(b for b in bits if b)


def turn_subtitle(turn: Turn) -> Text:
    """Which model, what it cost, how long it took, whether it came from the cache."""
    out = Text(meta(turn.model or "", usage_text(turn.usage), f"{turn.latency_s:.1f}s"), style="dim")
    if turn.cached:
        out.append(" · ", style="dim").append("cached", style="bold cyan")
    return out


def vote_text(v: Verdict, order: Order, label: GoldLabel = None) -> Text:
    """One line for a vote or decision: what it says (both frames), how sure, right or wrong."""
    out = Text("→ ", style="bold")
    out.append(said(order, v), style="bold" if v.valid else "bold red")
    if v.confidence is not None:
        out.append(f"  confidence {v.confidence:.2f}")
    if v.valid and label is not None and v.winner in ("A", "B", "tie"):
        right = in_case_frame(order, v) == label
        out.append("  ✓" if right else "  ✗", style="green" if right else "red")
    if v.error:
        out.append(f"  ({v.error})", style="red")
    return out


def turn_panel(turn: Turn, order: Order = "AB", label: GoldLabel = None, opts: ViewOptions = ViewOptions(),
               tag: str = "") -> Panel:
    """One turn: its full text, coloured by role, titled with who, when, what it cost, whether cached.

    ``tag`` goes first in the title: a live view of trials that run at once tags each turn with its order.
    """
    body: RenderableType = plain(turn.content, opts) if turn.content.strip() else Text("(no text)", style="dim")
    if turn.verdict is not None:
        body = Group(body, vote_text(turn.verdict, order, label))
    return Panel(body, title=turn_title(turn, tag), title_align="left", subtitle=turn_subtitle(turn),
                 subtitle_align="right", border_style=role_style(turn.role, turn.agent))


def votes_table(votes: list[Verdict], order: Order, label: GoldLabel = None) -> Table:
    """Each member's vote: who, what (both frames), how sure, and the start of why."""
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=True)
    table.add_column("member", no_wrap=True)
    table.add_column("vote", no_wrap=True)
    table.add_column("conf", justify="right", no_wrap=True)
    table.add_column("why", ratio=1, overflow="ellipsis", no_wrap=True)
    for i, v in enumerate(votes, 1):
        mark = ""
        if v.valid and label is not None and v.winner is not None:
            mark = " ✓" if in_case_frame(order, v) == label else " ✗"
        nested = f" ({len(v.votes)} votes)" if v.votes else ""
        table.add_row(v.agent or v.stage or f"#{i}", Text(said(order, v) + mark, style="" if v.valid else "red"),
                      f"{v.confidence:.2f}" if v.confidence is not None else "",
                      (v.rationale or v.error or "").replace("\n", " ") + nested)
    return table


def trial_verdict_panel(trial: TrialResult, label: GoldLabel = None, opts: ViewOptions = ViewOptions()) -> Panel:
    """A trial's verdict: winner in both frames, right or wrong, confidence, rationale, every vote."""
    v = trial.verdict
    head = Text("verdict: ", style="bold").append(said(trial.order, v), style="bold" if v.valid else "bold red")
    if label is not None:
        head.append("   ").append(correctness(trial_correct(trial, label), label))
    parts: list[RenderableType] = [head]
    facts = [f"confidence {v.confidence:.2f}" if v.confidence is not None else "",
             f"decided by {v.agent}" if v.agent else "", f"stage {v.stage}" if v.stage else "",
             " · ".join(f"{k} {s:g}" for k, s in v.scores.items())]
    if any(facts):
        parts.append(Text(" · ".join(f for f in facts if f), style="dim"))
    if v.rationale and not any(v.rationale.strip() in t.content for t in trial.turns):  # else it is shown above
        parts.append(Padding(plain(v.rationale, opts), (1, 0, 0, 0)))
    if v.error:
        parts.append(Text(f"error: {v.error}", style="red"))
    if v.raw and not v.valid:
        parts.append(Padding(Group(Text("raw answer:", style="dim"), plain(v.raw, opts)), (1, 0, 0, 0)))
    if v.votes:
        parts.append(Padding(votes_table(v.votes, trial.order, label), (1, 0, 0, 0)))
    return Panel(Group(*parts), title=f"verdict · order {trial.order}", title_align="left",
                 border_style="bold green" if v.valid else "bold red",
                 subtitle=meta(usage_text(trial.usage), f"{trial.latency_s:.1f}s"), subtitle_align="right")


def record_verdict_panel(record: Record) -> Panel:
    """The combined verdict over orders, in the case frame, with each order's answer beside it."""
    v = record.verdict
    head = Text("combined: ", style="bold").append(verdict_label(v), style="bold" if v.valid else "bold red")
    head.append("   ").append(correctness(record.correct, record.label))
    parts: list[RenderableType] = [head]
    if len(record.trials) > 1:
        orders = ", ".join(f"{t.order} → {t.case_winner or verdict_label(t.verdict)}" for t in record.trials)
        valid = [t.case_winner for t in record.trials if t.verdict.valid]
        agree = len(valid) == len(record.trials) and len(set(valid)) == 1
        why = "consistent" if agree else "order flip" if len(set(valid)) > 1 else "an order did not count"
        parts.append(Text(f"orders: {orders}  ({why})", style="dim" if agree else "yellow"))
    if v.error:
        parts.append(Text(f"error: {v.error}", style="red"))
    return Panel(Group(*parts), title=f"{record.protocol} · case {record.case_id}", title_align="left",
                 subtitle=meta(usage_text(record.usage), f"{record.latency_s:.1f}s"), subtitle_align="right",
                 border_style="bold green" if record.correct else "bold red" if record.correct is False else "bold")


def trial_header(protocol: str, order: Order) -> Group:
    """The rule that opens a trial, with a reminder of the swap in the BA order."""
    rule = Rule(Text(f"{protocol} · order {order}", style="bold"), align="left")
    if order == "AB":
        return Group(rule)
    return Group(rule, Text("shown swapped: the agents saw case B as \"A\" and case A as \"B\"", style="dim italic"))


def trial_parts(trial: TrialResult, label: GoldLabel, protocol: str, opts: ViewOptions) -> Iterable[RenderableType]:
    """A trial from its header to its verdict."""
    yield trial_header(protocol, trial.order)
    for turn in trial.turns:
        yield turn_panel(turn, trial.order, label, opts)
    yield trial_verdict_panel(trial, label, opts)


def render(record: Record, case: Case | None = None, *, order: Order | None = None, full: bool = False,
           highlight: str | None = None) -> RenderableType:
    """A record as one rich renderable: the case, each trial's turns and verdict, the combined verdict.

    ``order`` picks one trial; ``full`` shows candidates whole; ``highlight`` marks a search term.
    """
    opts = ViewOptions(full=full, highlight=highlight)
    parts: list[RenderableType] = [case_panel(case, opts) if case is not None else record_header(record)]
    trials = [t for t in record.trials if order is None or t.order == order]
    if not trials:
        parts.append(Text(f"no trial in order {order} for {record.protocol}" if order else "no trials", style="red"))
    for trial in trials:
        parts.extend(trial_parts(trial, record.label, record.protocol, opts))
    if order is None or len(record.trials) == 1:
        parts.append(record_verdict_panel(record))
    return Group(*parts)


def render_compare(records: list[Record], case: Case | None = None, *, order: Order | None = None,
                   full: bool = False) -> RenderableType:
    """One case under several protocols: what each concluded, then their transcripts side by side
    (one after another below :data:`WIDE` columns), so the reader sees where the verdicts parted."""
    opts = ViewOptions(full=full)
    summary = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    summary.add_column("protocol")
    summary.add_column("combined")
    for o in ("AB", "BA"):
        summary.add_column(f"{o} (case frame)")
    for r in records:
        by_order = {t.order: t.case_winner or verdict_label(t.verdict) for t in r.trials}
        summary.add_row(r.protocol, Text(verdict_label(r.verdict) + " ").append(correctness(r.correct, r.label)),
                        by_order.get("AB", "—"), by_order.get("BA", "—"))
    columns: list[RenderableType] = [
        Group(*(p for t in r.trials if order is None or t.order == order
                for p in trial_parts(t, r.label, r.protocol, opts)), record_verdict_panel(r))
        for r in records]
    head = case_panel(case, opts) if case is not None else record_header(records[0])
    return Group(head, Panel(summary, title="compared", title_align="left"), side_by_side(columns))
