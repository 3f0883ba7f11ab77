"""The accuracy-cost frontier: against a sweep oracle, and in the report's text, markdown, JSON and plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.evals.frontier import Frontier, dominates, frontier_markdown, frontier_text, pareto_frontier
from courtgraph.evals.metrics import summarize
from courtgraph.evals.report import report_run
from courtgraph.evals.store import RunStore
from courtgraph.schema import Record, Usage, Verdict


def sweep_oracle(points: dict[str, tuple[float, float]]) -> set[str]:
    """Pareto-optimal by a sweep: by cost (then accuracy, best first), keep a point only if it beats the best
    accuracy seen at lower cost; equal points are all kept."""
    kept: set[str] = set()
    best: tuple[float, float] | None = None
    for name, (acc, cost) in sorted(points.items(), key=lambda kv: (kv[1][1], -kv[1][0])):
        if best is None or acc > best[0] or (acc, cost) == best:
            kept.add(name)
            best = (acc, cost) if best is None or acc > best[0] else best
    return kept


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3),
                       st.tuples(st.sampled_from([0.5, 0.6, 0.7, 0.8]), st.sampled_from([1.0, 2.0, 3.0, 5.0])),
                       min_size=1, max_size=7))
def test_frontier_matches_a_sweep(points: dict[str, tuple[float, float]]) -> None:
    front = Frontier("tokens per case", points, {p: [q for q in points if q != p and dominates(points[q], points[p])]
                                                 for p in points})
    assert set(front.optimal) == sweep_oracle(points)
    for p, beaten in front.dominating.items():
        assert all(p in front.dominated_by[q] for q in beaten)


def records(protocol: str, right: int, tokens: int, n: int = 10) -> list[Record]:
    return [Record(case_id=f"c{i}", protocol=protocol, label="A", verdict=Verdict(winner="A" if i < right else "B"),
                   correct=i < right, usage=Usage(calls=1, input_tokens=tokens)) for i in range(n)]


RUN = [*records("single", 6, 100), *records("jury", 8, 300), *records("debate", 7, 500), *records("cheap", 5, 50)]


def test_the_report_marks_the_frontier_in_text_markdown_json_and_plot(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    summary = summarize(RUN)
    front = pareto_frontier(summary)
    assert front.axis == "tokens per case" and front.optimal == ["cheap", "single", "jury"]
    assert front.dominated_by["debate"] == ["jury"] and front.dominating["jury"] == ["debate"]
    assert "debate: 70.0% at 500 tokens per case — dominated by jury" in frontier_text(summary)
    assert "## Accuracy-cost frontier" in frontier_markdown(summary)
    with RunStore(tmp_path / "run") as store:
        for r in RUN:
            store.write(r)
    pytest.importorskip("matplotlib")
    report_run(tmp_path / "run", as_json=True, markdown=tmp_path / "r.md", plot_to=tmp_path / "r.png")
    data = json.loads(capsys.readouterr().out)
    assert data["frontier"]["optimal"] == ["cheap", "single", "jury"]
    assert data["frontier"]["protocols"]["debate"]["dominated_by"] == ["jury"]
    assert "dominated by jury" in (tmp_path / "r.md").read_text() and (tmp_path / "r.png").stat().st_size > 0


def test_the_demo_shows_the_frontier(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from courtgraph.cli import app

    out = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "Accuracy-cost frontier" in out.output and "on the frontier" in out.output
