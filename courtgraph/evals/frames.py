"""A run as tables for a notebook: pandas frames (records, trials, turns) and compact HTML displays.

The record frame counts the way the report does (calls and tokens include cache hits, as
``calls/case`` does; ``billed_calls`` is what was paid), and its ``error`` column holds every
failure the report counts, verdict-level ones included, so a ``groupby`` in a notebook gives the
report's figures. The trial and turn frames are for looking inside debates: who said what, in which
round, at what cost. ``Results`` and ``Summary`` display as the report's headline table (a few KB),
never as a dump of every transcript.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from courtgraph.schema import Record

Frame = Literal["records", "trials", "turns"]


def record_error(record: Record) -> str | None:
    """Every failure of a record, as the report counts them: the record's, its verdict's, its trials'."""
    found = [record.error, record.verdict.error, *(t.error or t.verdict.error for t in record.trials
                                                   if t.error or t.verdict.status == "error")]
    unique = list(dict.fromkeys(e for e in found if e))
    return "; ".join(unique) or None


def record_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per record; ``calls``/``tokens`` include cache hits, as the report's per-case figures do."""
    rows = []
    for r in records:
        u = r.usage
        row: dict[str, Any] = {
            "case_id": r.case_id, "protocol": r.protocol, "category": r.category, "label": r.label,
            "winner": r.verdict.winner, "score": r.verdict.score, "status": r.verdict.status, "correct": r.correct,
            "calls": u.calls + u.cache_hits, "billed_calls": u.calls, "cache_hits": u.cache_hits,
            "input_tokens": u.input_tokens + u.saved_input_tokens,
            "output_tokens": u.output_tokens + u.saved_output_tokens,
            "cost_usd": u.cost_usd, "saved_usd": u.saved_usd, "latency_s": r.latency_s, "error": record_error(r),
        }
        for t in r.trials:
            row[f"winner_{t.order}"] = t.case_winner
        rows.append(row)
    return rows


def trial_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per trial (a record's order): its verdict in the shown frame and in the case's."""
    return [{"case_id": r.case_id, "protocol": r.protocol, "order": t.order, "winner": t.verdict.winner,
             "case_winner": t.case_winner, "status": t.verdict.status, "label": r.label,
             "calls": t.usage.calls + t.usage.cache_hits, "tokens": t.usage.tokens, "cost_usd": t.usage.cost_usd,
             "turns": len(t.turns), "latency_s": t.latency_s, "error": t.error or t.verdict.error}
            for r in records for t in r.trials]


def turn_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per turn: who spoke (agent, role, model), when (round, phase), what, and at what cost."""
    return [{"case_id": r.case_id, "protocol": r.protocol, "order": t.order, "step": i, "agent": turn.agent,
             "role": turn.role, "model": turn.model, "round": turn.round, "phase": turn.phase,
             "content": turn.content, "vote": turn.verdict.winner if turn.verdict else None,
             "input_tokens": turn.usage.input_tokens, "output_tokens": turn.usage.output_tokens,
             "cost_usd": turn.usage.cost_usd, "cached": turn.cached, "latency_s": turn.latency_s}
            for r in records for t in r.trials for i, turn in enumerate(t.turns)]


def to_pandas(records: Sequence[Record], frame: Frame = "records") -> Any:
    """A pandas DataFrame of ``records``: one row per record, trial or turn (pandas is optional)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install pandas") from None
    builders = {"records": record_rows, "trials": trial_rows, "turns": turn_rows}
    if frame not in builders:
        raise ValueError(f"unknown frame {frame!r}: use records, trials or turns")
    return pd.DataFrame(builders[frame](records))


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """A small HTML table (cells escaped; a cell's second line, an interval or a p-value, in small type)."""
    def cell(text: str, tag: str) -> str:
        head, _, tail = text.partition("\n")
        small = f"<br><small>{html.escape(tail)}</small>" if tail else ""
        return f"<{tag} style='text-align:{'left' if tag == 'th' else 'right'}'>{html.escape(head)}{small}</{tag}>"

    head = "".join(cell(h, "th") for h in headers)
    body = "".join("<tr>" + "".join(cell(c, "td") for c in row) + "</tr>" for row in rows)
    title = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(summary: Any, caption: str = "") -> str:
    """A :class:`~courtgraph.evals.metrics.Summary` as the report's headline table, in HTML."""
    from courtgraph.evals.report import SIMULATED_NOTE, main_rows

    headers, rows = main_rows(summary)
    note = f"<p><b>{html.escape(SIMULATED_NOTE)}</b></p>" if summary.simulated else ""
    return note + html_table(headers, rows, caption)


def summary_repr(summary: Any) -> str:
    """``Summary(baseline='single', single: acc 62.5% n=36, jury: acc 70.0% n=36)``: short, whatever the run."""
    parts = [f"{name}: acc {'—' if m.accuracy is None else f'{100 * m.accuracy:.1f}%'} n={m.n}"
             for name, m in summary.protocols.items()]
    return f"Summary(baseline={summary.baseline!r}, {', '.join(parts) or 'no records'})"
