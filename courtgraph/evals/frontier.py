"""The accuracy-cost frontier: which protocols no other protocol beats on both accuracy and cost per case.

Protocol Q *dominates* P when Q is at least as accurate and at most as costly per case, and strictly
better on one of the two; the Pareto frontier is the protocols nothing dominates. Cost is the price
per case (billed + saved by the cache) when every protocol's price is known and something cost
money, else tokens per case, else calls per case: the same axis the report's plot uses. Points are
the measured means; a protocol on the frontier may still be within its interval of a dominated one,
so the report keeps the intervals beside it. The report (text, markdown, JSON) and its plot show it
through one small hook each (:func:`frontier_text`, :func:`frontier_markdown`, ``to_json``,
:func:`draw_frontier`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from courtgraph.evals.metrics import ProtocolMetrics, Summary


def cost_axis(metrics: list[ProtocolMetrics]) -> tuple[str, list[float]]:
    """(what the cost is, one value per protocol): USD per case, else tokens per case, else calls per case."""
    costs = [m.cost_per_case_usd for m in metrics]
    if all(c is not None for c in costs) and any(c for c in costs):
        return "cost per case (USD)", [c or 0.0 for c in costs]
    if any(m.tokens_per_case for m in metrics):
        return "tokens per case", [m.tokens_per_case for m in metrics]
    return "calls per case", [m.calls_per_case for m in metrics]


@dataclass(frozen=True)
class Frontier:
    """The frontier of a run: the cost axis, each protocol's (accuracy, cost), and who dominates whom."""

    axis: str
    points: dict[str, tuple[float, float]]  # protocol -> (accuracy, cost)
    dominated_by: dict[str, list[str]] = field(default_factory=dict)  # protocol -> the protocols dominating it

    @property
    def optimal(self) -> list[str]:
        """The Pareto-optimal protocols, cheapest first."""
        return sorted((p for p in self.points if not self.dominated_by.get(p)), key=lambda p: self.points[p][1])

    @property
    def dominating(self) -> dict[str, list[str]]:
        """Protocol -> the protocols it dominates."""
        out: dict[str, list[str]] = {p: [] for p in self.points}
        for loser, winners in self.dominated_by.items():
            for w in winners:
                out[w].append(loser)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"axis": self.axis, "optimal": self.optimal,
                "protocols": {p: {"accuracy": a, "cost": c, "optimal": not self.dominated_by.get(p),
                                  "dominated_by": self.dominated_by.get(p, []),
                                  "dominates": self.dominating[p]} for p, (a, c) in self.points.items()}}


def dominates(q: tuple[float, float], p: tuple[float, float]) -> bool:
    """Whether (accuracy, cost) ``q`` dominates ``p``."""
    return q[0] >= p[0] and q[1] <= p[1] and (q[0] > p[0] or q[1] < p[1])


def pareto_frontier(summary: Summary) -> Frontier:
    """The frontier of every protocol of ``summary`` that has an accuracy."""
    metrics = [m for m in summary.protocols.values() if m.accuracy is not None]
    axis, costs = cost_axis(metrics)
    points = {m.protocol: (float(m.accuracy or 0.0), c) for m, c in zip(metrics, costs, strict=True)}
    return Frontier(axis, points, {p: [q for q in points if q != p and dominates(points[q], points[p])]
                                   for p in points})


def _cost(axis: str, value: float) -> str:
    return f"${value:.4f}" if axis.startswith("cost") else f"{value:,.1f}" if axis.startswith("calls") else \
        f"{value:,.0f}"


def frontier_lines(summary: Summary) -> list[str]:
    """One line per protocol: on the frontier, or dominated by which."""
    front = pareto_frontier(summary)
    if len(front.points) < 2:
        return []
    lines = []
    for p, (acc, cost) in sorted(front.points.items(), key=lambda kv: kv[1][1]):
        beaten = front.dominated_by.get(p)
        status = f"dominated by {', '.join(beaten)}" if beaten else "on the frontier"
        lines.append(f"{p}: {100 * acc:.1f}% at {_cost(front.axis, cost)} {front.axis.split(' (')[0]} — {status}")
    return lines


def frontier_text(summary: Summary) -> str:
    """The frontier for the terminal ('' when fewer than two protocols have an accuracy)."""
    lines = frontier_lines(summary)
    return "\n".join(["Accuracy-cost frontier (Pareto-optimal: no protocol is both more accurate and cheaper)",
                      *(f"  {ln}" for ln in lines)]) if lines else ""


def frontier_markdown(summary: Summary) -> str:
    """The frontier as a markdown section ('' when fewer than two protocols have an accuracy)."""
    lines = frontier_lines(summary)
    if not lines:
        return ""
    return "## Accuracy-cost frontier\n\n" + "\n".join(f"- {ln}" for ln in lines)


def draw_frontier(ax: Any, summary: Summary, xs: list[float], names: list[str]) -> None:
    """Draw the frontier on the report's axes (``xs``: the plotted cost of each protocol in ``names``)."""
    front = pareto_frontier(summary)
    where = dict(zip(names, xs, strict=True))
    best = [p for p in front.optimal if p in where]
    if len(best) < 1:
        return
    ax.step([where[p] for p in best], [100 * front.points[p][0] for p in best], where="post", color="tab:green",
            linewidth=1.5, alpha=0.8, label="accuracy-cost frontier")
    ax.scatter([where[p] for p in best], [100 * front.points[p][0] for p in best], s=160, facecolors="none",
               edgecolors="tab:green", linewidths=1.5, zorder=3)
    ax.legend(loc="best")
