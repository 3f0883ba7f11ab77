"""The robustness section of ``courtgraph report``: tables (text, markdown), JSON and a plot.

Kept apart from :mod:`courtgraph.evals.report` (which calls :func:`robustness_section` once): a run
that was never probed shows nothing here, and the section reads the run's ``probes/`` folder itself.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from courtgraph.evals.probing import load_probes
from courtgraph.evals.robustness import Rate, Robustness, robustness
from courtgraph.evals.store import RunStore

SIMULATED = "SIMULATED agents: these robustness numbers check the harness, they say nothing about real models."
DEFINITIONS = ("robust: verdict unchanged · attack: correct turned wrong (of the originally correct) · "
               "toward: flipped to the perturbed candidate · vs base: attack success minus the baseline's, "
               "exact McNemar p · position: first-position wins − ½, flip between orders")

Rows = tuple[list[str], list[list[str]]]


def load_robustness(run_dir: str | Path, baseline: str | None = None, seed: int = 0) -> Robustness:
    """The robustness of a stored run (empty when it was never probed)."""
    probe_cases, probe_records, probes = load_probes(run_dir)
    if not probes:
        return Robustness(seed=seed)
    with RunStore(run_dir, create=False) as store:
        records, cases = store.records(), store.cases()
    return robustness(records, cases, probe_records, probe_cases, probes=probes, baseline=baseline or "single",
                      seed=seed)


def _cell(r: Rate) -> str:
    if r.value is None:
        return "—"
    ci = f" [{100 * r.ci95[0]:.0f}–{100 * r.ci95[1]:.0f}]" if r.ci95 else ""
    return f"{100 * r.value:.1f}%{ci}"


def probe_rows(rb: Robustness) -> Rows:
    body = []
    for m in rb.probes:
        vs = m.vs_baseline
        versus = "—" if vs is None or vs.delta is None else f"{100 * vs.delta:+.1f} pts p={vs.p_value:.3g} (n={vs.n})"
        body.append([m.probe, m.protocol, str(m.pairs), _cell(m.robustness),
                     f"{_cell(m.attack_success)} (n={m.attack_success.n})", _cell(m.flip_toward), versus])
    return ["probe", "protocol", "cases", "robust", "attack success", "toward", "vs base"], body


def position_rows(rb: Robustness) -> Rows:
    body = [[m.protocol, _cell(m.first_share), "—" if m.bias is None else f"{100 * m.bias:+.1f} pts ({m.direction})",
             _cell(m.flip_rate)] for m in rb.position]
    return ["protocol", "first wins", "position bias", "flip rate"], body


def author_rows(rb: Robustness) -> Rows:
    body = [[m.protocol, ", ".join(m.judges) or "—", ", ".join(m.authors), f"{_cell(m.own)} (n={m.own.n})",
             f"{_cell(m.other)} (n={m.other.n})"] for m in rb.authors]
    return ["protocol", "judges", "authors", "acc. own model", "acc. others"], body


def _table(title: str, rows: Rows) -> Table:
    headers, body = rows
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, h in enumerate(headers):
        table.add_column(Text(h), justify="left" if i < 2 else "right", overflow="fold")
    for row in body:
        table.add_row(*map(Text, row))
    return table


def _sections(rb: Robustness) -> list[tuple[str, Rows]]:
    suffix = " (simulated agents)" if rb.simulated else ""
    out = [("Robustness to probes" + suffix, probe_rows(rb)), ("Position bias" + suffix, position_rows(rb)),
           ("Self-preference" + suffix, author_rows(rb))]
    return [(title, rows) for title, rows in out if rows[1]]


def print_robustness(rb: Robustness, console: Console | None = None) -> None:
    """The robustness tables on a rich console (nothing when the run was not probed)."""
    if rb.empty:
        return
    console = console or Console()
    if rb.simulated:
        console.print(f"[bold yellow]{SIMULATED}[/]")
    for title, rows in _sections(rb):
        console.print(_table(title, rows))
    console.print(Text(DEFINITIONS, style="dim"))


def robustness_markdown(rb: Robustness) -> str:
    """The robustness tables as markdown ('' when the run was not probed)."""
    if rb.empty:
        return ""
    parts = ["## Robustness", ""] + ([f"**{SIMULATED}**", ""] if rb.simulated else [])
    for title, (headers, body) in _sections(rb):
        parts += [f"### {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        parts += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        parts.append("")
    parts.append(DEFINITIONS)
    return "\n".join(parts) + "\n"


def plot_robustness(rb: Robustness, path: str | Path) -> Path:
    """Attack success (with its interval) by protocol, one group of bars per probe. Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("the robustness plot needs matplotlib: pip install 'courtgraph[plot]'") from None
    probes = list(dict.fromkeys(m.probe for m in rb.probes))
    protocols = list(dict.fromkeys(m.protocol for m in rb.probes))
    if not probes:
        raise ValueError("no probe results to plot")
    fig, ax = plt.subplots(figsize=(max(4.8, 1.6 + 1.4 * len(probes)), 3.6), layout="constrained")
    width = 0.8 / len(protocols)
    for j, protocol in enumerate(protocols):
        xs, ys, lo, hi = [], [], [], []
        for i, probe in enumerate(probes):
            m = next((m for m in rb.probes if m.probe == probe and m.protocol == protocol), None)
            if m is None or m.attack_success.value is None:
                continue
            value, ci = m.attack_success.value, m.attack_success.ci95 or (m.attack_success.value,) * 2
            xs.append(i + (j - (len(protocols) - 1) / 2) * width)
            ys.append(value)
            lo.append(value - ci[0])
            hi.append(ci[1] - value)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=protocol)
    ax.set_xticks(range(len(probes)), probes)
    ax.set_ylabel("attack success rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small")
    ax.set_title("Attack success by probe" + (" (SIMULATED)" if rb.simulated else ""), fontsize="medium")
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def robustness_json(run_dir: str | Path, baseline: str | None, seed: int) -> dict[str, object]:
    """``{"robustness": ...}`` for ``report --json`` of a probed run, else ``{}``."""
    rb = load_robustness(run_dir, baseline, seed)
    return {} if rb.empty else {"robustness": rb.to_json()}


def robustness_section(run_dir: str | Path, *, baseline: str | None, seed: int, console: Console | None,
                       as_json: bool, markdown: Path | None, plot_to: Path | None) -> Robustness:
    """What ``report`` adds for a probed run: the tables (not with ``as_json``), the markdown appended to
    ``markdown``, and ``<plot stem>-robustness.png`` beside ``plot_to``. Returns the section (for JSON)."""
    rb = load_robustness(run_dir, baseline, seed)
    if rb.empty:
        return rb
    if not as_json:
        print_robustness(rb, console)
    if markdown is not None and markdown.exists():
        with markdown.open("a", encoding="utf-8") as f:
            f.write("\n" + robustness_markdown(rb))
    if plot_to is not None and rb.probes:
        with contextlib.suppress(ImportError):  # the main plot has already said matplotlib is missing
            plot_robustness(rb, plot_to.with_name(f"{plot_to.stem}-robustness{plot_to.suffix}"))
    return rb
