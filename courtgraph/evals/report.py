"""The comparison report: a terminal table, markdown, and an accuracy-versus-cost plot.

All three render the same rows (built once, here) from a :class:`~courtgraph.evals.metrics.Summary`,
so the terminal, the markdown file and the JSON never disagree. Reports from simulated agents say
so in every form: a table of virtual judges must not be mistaken for a model comparison.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from courtgraph.errors import InputError
from courtgraph.evals.definitions import TIE_RULE_TEXT
from courtgraph.evals.fit import FitTable
from courtgraph.evals.frontier import frontier_markdown, frontier_text, pareto_frontier
from courtgraph.evals.manifest import default_baseline
from courtgraph.evals.measures import TieRule
from courtgraph.evals.metrics import ProtocolMetrics, Summary, summarize
from courtgraph.evals.plot import plot
from courtgraph.evals.provenance import (
    print_provenance,
    provenance_caption,
    provenance_markdown,
    read_provenance,
)
from courtgraph.evals.store import RunStore

SIMULATED_NOTE = ("Simulated agents: these numbers come from virtual judges of known competence (sim: models), "
                  "not from real models.")


def footnote(summary: Summary) -> str:
    """What the figures mean, naming the conventions in force (``report --json`` has every definition)."""
    rule = TIE_RULE_TEXT[summary.tie_rule]
    return ("acc: JudgeBench net vote over the orders judged, invalid or failed verdicts count as wrong; "
            f"under it, its 95% Wilson interval with continuity correction. {rule[0].upper()}{rule[1:]}. "
            "Δ: accuracy points against "
            "the baseline on the same cases; under it, the exact McNemar p (paired bootstrap interval in the "
            "JSON). Order consist.: share of the two-order cases whose two verdicts are valid and agree "
            "(courtgraph's consistency); LLMBar Agr counts two non-answers as agreeing. Wall: time per case "
            "(its orders run concurrently); compute: the sum of its trials' times. Numeric gold within "
            f"tolerance {summary.tolerance:g}. Calls and "
            "tokens per case include cache hits; cost is what this run billed.")


Rows = tuple[list[str], list[list[str]]]


def quorum_note(summary: Summary) -> str | None:
    """Which protocols decided records with members missing, under an explicit quorum rule."""
    counts = [f"{m.protocol} {m.quorum_decided} of {m.n}" for m in summary.protocols.values() if m.quorum_decided]
    return f"Decided under a quorum rule, with members that failed: {', '.join(counts)} records." if counts else None


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _usd(x: float | None) -> str:
    if x is None:
        return "unknown"
    return "$0" if x == 0 else f"${x:.4f}" if x < 1 else f"${x:,.2f}"


def _accuracy_cell(m: ProtocolMetrics) -> str:
    if m.accuracy is None:
        return "—"
    ci = f"\n{100 * m.ci95[0]:.1f}–{100 * m.ci95[1]:.1f}" if m.ci95 else ""
    return f"{100 * m.accuracy:.1f}{ci}"


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def _delta_cell(m: ProtocolMetrics, summary: Summary) -> str:
    if m.protocol == summary.baseline:
        return "baseline"
    cmp = m.vs_baseline
    if cmp.delta is None or cmp.p_value is None:
        return "—"
    return f"{100 * cmp.delta:+.1f}\n{_p(cmp.p_value)}"


def main_rows(summary: Summary) -> Rows:
    """The headline table: one row per protocol (compact, to fit an 80-column terminal)."""
    base = summary.baseline if summary.baseline and len(summary.baseline) <= 12 else "baseline"
    headers = ["protocol", "n", "acc %\n95% CI", f"Δ vs\n{base}", "order\nconsist.", "invalid", "calls\n/case",
               "tokens\n/case", "cost"]
    rows = [[m.protocol, str(m.n), _accuracy_cell(m), _delta_cell(m, summary), _pct(m.consistency),
             _pct(m.invalid_rate), _num(m.calls_per_case, 1), f"{m.tokens_per_case:,.0f}", _usd(m.cost_usd)]
            for m in summary.protocols.values()]
    return headers, rows


def detail_rows(summary: Summary) -> Rows:
    """Bias and overhead figures that do not fit the headline table."""
    headers = ["protocol", "LLMBar\nacc", "LLMBar\nAgr", "ties", "errors", "κ", "wall\n/case", "compute\n/case",
               "cache\nhits", "saved"]
    rows = [[m.protocol, _pct(m.llmbar_accuracy), _pct(m.agreement), _pct(m.tie_rate), _pct(m.error_rate),
             _num(m.kappa), f"{m.latency_per_case_s:.2f}s", f"{m.compute_per_case_s:.2f}s", str(m.cache_hits),
             _usd(m.saved_usd)]
            for m in summary.protocols.values()]
    return headers, rows


def metrics_rows(summary: Summary) -> Rows:
    """The figures each community reports (``--metrics``): per order, per class, agreement, bias."""
    headers = ["protocol", "acc\nAB", "acc\nBA", "both\nright", "macro\nF1", "tie\nacc", "κ vs\ngold",
               "κ\norders", "prefer\n1st", "prefer\n2nd"]
    rows = [[m.protocol, _pct(m.accuracy_ab), _pct(m.accuracy_ba), _pct(m.correct_both), _pct(m.macro_f1),
             _pct(m.tie_accuracy), _num(m.kappa), _num(m.kappa_orders), _pct(m.prefer_first_rate),
             _pct(m.prefer_second_rate)]
            for m in summary.protocols.values()]
    return headers, rows


def class_rows(summary: Summary) -> Rows:
    """Per gold class: precision, recall, F1 and the confusion row (predicted A, B, tie, inconsistent, none)."""
    headers = ["protocol", "gold", "n", "prec.", "recall", "F1", "→A", "→B", "→tie", "→incons.", "→none"]
    rows = []
    for m in summary.protocols.values():
        for gold, c in m.classes.items():
            confusion = m.confusion.get(gold, {})
            rows.append([m.protocol, gold, str(c.support), _pct(c.precision), _pct(c.recall), _pct(c.f1),
                         *(str(confusion.get(k, 0)) for k in ("A", "B", "tie", "inconsistent", "none"))])
    return headers, rows


def score_rows(summary: Summary) -> Rows:
    """Numeric gold: MAE, correlations, pairwise accuracy from scores (tie delta in the header)."""
    headers = ["protocol", "n", "MAE", "Pearson r", "Spearman ρ", f"pairwise acc\n(tie Δ {summary.tie_delta:g})"]
    rows = [[m.protocol, str(m.scores.n), _num(m.scores.mae), _num(m.scores.pearson), _num(m.scores.spearman),
             _pct(m.scores.pairwise_accuracy)]
            for m in summary.protocols.values() if m.scores is not None]
    return headers, rows


def _metric_tables(summary: Summary) -> list[tuple[str, Rows]]:
    tables = [("Metrics by convention", metrics_rows(summary))]
    for title, rows in (("Per class (gold rows, predicted columns)", class_rows(summary)),
                        ("Scores against numeric gold", score_rows(summary))):
        if rows[1]:
            tables.append((title, rows))
    return tables


def category_rows(summary: Summary) -> Rows:
    """Accuracy per category (rows) and protocol (columns); empty when no record has a category."""
    names = list(summary.protocols)
    categories = sorted({c for m in summary.protocols.values() for c in m.by_category})
    rows = []
    for cat in categories:
        cells = []
        for name in names:
            got = summary.protocols[name].by_category.get(cat)
            cells.append("—" if got is None else f"{_pct(got.accuracy)} (n={got.n})")
        rows.append([cat, *cells])
    return ["category", *names], rows


def _rich_table(title: str, rows: Rows) -> FitTable:
    # Figures never wrap nor crop: the layout is chosen for the width printed to (evals/fit.py).
    return FitTable(title, *rows)


def print_summary(summary: Summary, console: Console | None = None, *, metrics: bool = False) -> None:
    """Print the comparison tables (and the simulated-agents note) to a rich console; ``metrics`` adds the
    per-order, per-class and score tables."""
    console = console or Console()
    if not summary.protocols:
        console.print("no records to report")
        return
    if summary.simulated:
        console.print(f"[bold yellow]{SIMULATED_NOTE}[/]")
    title = "Protocol comparison" + (" (simulated agents)" if summary.simulated else "")
    console.print(_rich_table(title, main_rows(summary)))
    console.print(_rich_table("Bias and overhead", detail_rows(summary)))
    categories = category_rows(summary)
    if categories[1]:
        console.print(_rich_table("Accuracy by category", categories))
    if quorum_note(summary):
        console.print(Text(quorum_note(summary) or "", style="yellow"))
    cached = {n: m.prompt_cache_saved_usd for n, m in summary.protocols.items() if m.prompt_cache_saved_usd}
    if cached:  # the providers' own prompt caching, already in the billed cost
        console.print("provider prompt caching saved " + ", ".join(f"{n} {_usd(v)}" for n, v in cached.items()),
                      highlight=False)
    batched = {n: (m.batched_calls, m.calls_per_case * m.n) for n, m in summary.protocols.items() if m.batched_calls}
    if batched:  # --batch: those calls were billed at the batch price, already in the cost
        console.print("batch APIs answered (at half the price) " + ", ".join(
            f"{n} {b:,} of {round(c):,} calls" for n, (b, c) in batched.items()), highlight=False)
    if metrics:
        for title, rows in _metric_tables(summary):
            console.print(_rich_table(title, rows))
    if frontier := frontier_text(summary):  # the accuracy-cost frontier (evals/frontier.py)
        console.print(Text(frontier))
    console.print(Text(footnote(summary), style="dim"))


def _markdown_table(rows: Rows) -> str:
    headers, body = rows

    def figure(text: str) -> str:
        head, sep, tail = text.partition("\n")  # a figure's second line (interval, p-value) goes in brackets
        return f"{head} ({tail})" if sep else head

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---", *["---:"] * (len(headers) - 1)]
    return "\n".join([line([h.replace("\n", " ") for h in headers]), line(align),
                      *(line(list(map(figure, row))) for row in body)])


def summary_markdown(summary: Summary) -> str:
    """The same report as markdown (tables, every metric table, and notes), for a README or an issue."""
    title = "# Protocol comparison" + (" (simulated agents)" if summary.simulated else "")
    if not summary.protocols:
        return f"{title}\n\nNo records to report.\n"
    parts = [title]
    if summary.simulated:
        parts.append(f"> **{SIMULATED_NOTE}**")
    parts += [_markdown_table(main_rows(summary)), "## Bias and overhead",
              _markdown_table(detail_rows(summary))]
    categories = category_rows(summary)
    if categories[1]:
        parts += ["## Accuracy by category", _markdown_table(categories)]
    parts += [f"> {quorum_note(summary)}"] if quorum_note(summary) else []
    for title, rows in _metric_tables(summary):
        parts += [f"## {title}", _markdown_table(rows)]
    parts += [section for section in [frontier_markdown(summary)] if section]  # evals/frontier.py
    parts.append(f"_{footnote(summary)}_")
    return "\n\n".join(parts) + "\n"


def load_run(run_dir: str | Path, baseline: str | None = None, *, tie_rule: TieRule = "judge-says-tie",
             tolerance: float = 0.0, tie_delta: float = 0.0) -> tuple[Summary, dict[str, Any]]:
    """The summary of a stored run and its manifest.

    ``baseline=None``: :func:`default_baseline`; a named one must be among the run's protocols (else InputError).
    """
    with RunStore(run_dir, create=False) as store:  # without turns: a summary needs no transcript
        records, manifest = store.records(whole=False), store.manifest()
        simulated = store.simulated_protocols()
    if baseline is not None and baseline not in {r.protocol for r in records}:
        have = ", ".join(sorted({r.protocol for r in records})) or "none"
        raise InputError(f"no protocol {baseline!r} in this run (it has: {have})", path=run_dir, field="baseline")
    # the run's seed, so the intervals are the ones the run printed when it finished
    seed = manifest.get("seed", (manifest.get("config") or {}).get("seed", 0))
    baseline = baseline or default_baseline(manifest.get("config") or {}, (r.protocol for r in records))
    return summarize(records, baseline, seed=int(seed or 0), tie_rule=tie_rule, tolerance=tolerance,
                     tie_delta=tie_delta, simulated=simulated), manifest


def _writable(path: Path, option: str) -> Path:
    """``path`` if a file can be written there: checked before any work, so a typo costs nothing."""
    folder = path.parent
    if path.is_dir():
        raise InputError("is a directory; give a file name", path=path, field=option)
    if not folder.is_dir():
        raise InputError("the folder does not exist", path=path, field=option)
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise InputError("not writable", path=path, field=option)
    return path


def report_run(run_dir: str | Path, *, baseline: str | None = None, as_json: bool = False,
               markdown: str | Path | None = None, plot_to: str | Path | None = None,
               console: Console | None = None, metrics: bool = False, tie_rule: str = "judge-says-tie",
               tolerance: float = 0.0, tie_delta: float = 0.0) -> Summary:
    """What ``courtgraph report RUN`` does: print the tables (or JSON on stdout) and write the files.

    ``metrics`` adds the per-order, per-class and score tables; ``tie_rule`` (``judge-says-tie`` or
    ``mtbench``), ``tolerance`` and ``tie_delta`` are the conventions the figures are computed under.

    Output paths are checked before any work, so a typo fails at once with the option named. With
    ``as_json`` stdout carries only the JSON object; notes about written files go to stderr.
    """
    md_path = _writable(Path(markdown), "markdown") if markdown is not None else None
    plot_path = _writable(Path(plot_to), "plot") if plot_to is not None else None
    if tie_rule not in TIE_RULE_TEXT:
        raise InputError(f"unknown tie rule {tie_rule!r}; rules are {', '.join(TIE_RULE_TEXT)}", field="tie-rule")
    summary, manifest = load_run(run_dir, baseline, tie_rule=tie_rule,
                                 tolerance=tolerance, tie_delta=tie_delta)
    prov = read_provenance(run_dir)  # what ran, in every form of the report
    from courtgraph.evals.trouble import trouble, trouble_json, trouble_rows  # retries, 429s, faults by kind

    with RunStore(run_dir, create=False) as store:
        found = trouble(store.records())
    troubles = trouble_rows(found)
    console = console or Console()
    notes = Console(stderr=True) if as_json else console
    if as_json:
        from courtgraph.evals.robustness_report import robustness_json  # probes (issue 14)

        extra = robustness_json(run_dir, baseline, int(manifest.get("seed") or 0))
        data = summary.to_json() | {"frontier": pareto_frontier(summary).to_json()} | extra  # evals/frontier.py
        data |= {"provenance": prov.to_json(), "trouble": trouble_json(found)}
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    else:
        bench_id = (manifest.get("config") or {}).get("bench")
        if isinstance(bench_id, dict):
            bench_id = bench_id.get("spec") or bench_id.get("name")
        bench = f" · bench {escape(str(bench_id))}" if bench_id else ""
        status = manifest.get("status")
        partial = (f" · [yellow]{status}: records are partial[/]"
                   if status in ("running", "interrupted", "failed", "stopped") else "")
        console.print(f"run [bold]{escape(str(run_dir))}[/]{bench}{partial}", highlight=False, soft_wrap=True)
        chosen = ((manifest.get("config") or {}).get("selection") or {}).get("description")
        if chosen:  # how the cases were chosen: a first-N slice and a stratified sample are not the same claim
            console.print(f"cases: {escape(str(chosen))}", highlight=False, soft_wrap=True)
        print_summary(summary, console, metrics=metrics)
        if troubles[1]:
            console.print(_rich_table("Trouble: retries, rate limits and faults by kind", troubles))
        print_provenance(prov, console)
    if md_path is not None:
        trouble_md = f"\n## Trouble: retries, rate limits and faults by kind\n\n{_markdown_table(troubles)}\n"
        md_path.write_text(summary_markdown(summary) + (trouble_md if troubles[1] else "") + "\n"
                           + provenance_markdown(prov), encoding="utf-8")
        notes.print(f"wrote {md_path}", highlight=False)
    if plot_path is not None:
        try:
            plot(summary, plot_path, caption=provenance_caption(prov))
        except ImportError as exc:
            raise InputError(str(exc), field="plot") from None
        except ValueError as exc:  # unsupported file type, or nothing to plot
            raise InputError(str(exc), path=plot_path, field="plot") from None
        notes.print(f"wrote {plot_path}", highlight=False)
    from courtgraph.evals.robustness_report import robustness_section  # probes (issue 14)

    robustness_section(run_dir, baseline=baseline, seed=int(manifest.get("seed") or 0), console=console,
                       as_json=as_json, markdown=md_path, plot_to=plot_path)
    return summary
