"""The accuracy-against-cost plot of a run's summary (the ``[plot]`` extra: matplotlib, imported when drawn)."""

from __future__ import annotations

from pathlib import Path

from courtgraph.evals.frontier import draw_frontier
from courtgraph.evals.metrics import ProtocolMetrics, Summary


def _x_axis(metrics: list[ProtocolMetrics]) -> tuple[str, list[float]]:
    """Cost per case when every price is known and something cost money; else tokens, else calls."""
    costs = [m.cost_per_case_usd for m in metrics]
    if all(c is not None for c in costs) and any(c for c in costs):
        return "cost per case (USD, billed + saved by the cache)", [c or 0.0 for c in costs]
    if any(m.tokens_per_case for m in metrics):
        why = " (cost unknown)" if any(c is None for c in costs) else ""
        return f"tokens per case{why}", [m.tokens_per_case for m in metrics]
    return "model calls per case", [m.calls_per_case for m in metrics]


def plot(summary: Summary, path: str | Path, caption: str | None = None) -> Path:
    """Save accuracy (with its 95% interval) against cost per protocol to ``path`` (PNG, SVG, PDF...).

    matplotlib is an optional extra (``pip install 'courtgraph[plot]'``); without it this raises
    ImportError saying so. It draws on an Agg canvas without pyplot, so it touches no global
    backend state and works headless.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'courtgraph[plot]'") from None
    metrics = [m for m in summary.protocols.values() if m.accuracy is not None]
    if not metrics:
        raise ValueError("no protocol has an accuracy to plot (no labelled records)")
    xlabel, xs = _x_axis(metrics)
    ys = [100 * (m.accuracy or 0.0) for m in metrics]
    cis = [m.ci95 or (m.accuracy or 0.0, m.accuracy or 0.0) for m in metrics]
    lows = [y - 100 * lo for y, (lo, _) in zip(ys, cis, strict=True)]
    highs = [100 * hi - y for y, (_, hi) in zip(ys, cis, strict=True)]

    fig = Figure(figsize=(7.5, 5), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.errorbar(xs, ys, yerr=[lows, highs], fmt="o", capsize=5, markersize=7, color="tab:blue",
                ecolor="tab:gray")
    for x, y, m in zip(xs, ys, metrics, strict=True):
        ax.annotate(m.protocol, (x, y), textcoords="offset points", xytext=(8, 6), fontsize=10)
    base = summary.protocols.get(summary.baseline or "")
    if base is not None and base.accuracy is not None:
        ax.axhline(100 * base.accuracy, linestyle="--", linewidth=1, color="tab:orange",
                   label=f"baseline ({base.protocol})")
        ax.legend(loc="best")
    draw_frontier(ax, summary, xs, [m.protocol for m in metrics])  # evals/frontier.py
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy, % (95% bootstrap interval)")
    measure = "cost" if xlabel.startswith("cost") else xlabel.split(" (")[0]
    ax.set_title(f"Accuracy against {measure}, per protocol" + (" (simulated agents)" if summary.simulated else ""))
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.15, y=0.1)
    if caption:  # what ran (provenance.provenance_caption), under the axes; the layout makes room for it
        fig.supxlabel(caption, x=0.01, ha="left", fontsize=6.5, family="monospace")
    right = 1.15 * max(xs) or 1.0  # from (just left of) zero: the scale of cost matters, and 0 is free
    ax.set_xlim(-0.05 * right, right)
    out = Path(path)
    fig.savefig(out)
    return out


__all__ = ["plot"]
