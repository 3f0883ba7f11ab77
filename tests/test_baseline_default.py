"""The Δ column's default baseline: ``single``, else a single judge under another name, else the first
protocol. A run with ``-p fast=single,jury`` used to print ``—`` for every Δ and no McNemar p."""

from __future__ import annotations

from pathlib import Path

from courtgraph.evals import run
from courtgraph.evals.manifest import default_baseline
from courtgraph.evals.report import load_run
from courtgraph.graphs.registry import Roles


def test_a_renamed_single_judge_is_the_baseline(tmp_path: Path) -> None:
    results = run("sample", {"jury_of_three_judges": "jury", "fast": "single"}, roles=Roles(model="sim:0.7"),
                  out=tmp_path / "r", limit=8, cache=None, progress=False)
    assert results.summary.baseline == "fast"
    stored, _ = load_run(tmp_path / "r")
    explicit, _ = load_run(tmp_path / "r", "fast")
    assert stored.baseline == "fast"
    jury = stored.protocols["jury_of_three_judges"].vs_baseline
    assert jury.p_value is not None
    assert jury.model_dump() == explicit.protocols["jury_of_three_judges"].vs_baseline.model_dump()
    assert jury.model_dump() == results.summary.protocols["jury_of_three_judges"].vs_baseline.model_dump()


def test_the_rule() -> None:
    config = {"protocols": {"a": {"spec": "jury"}, "b": {"spec": "single"}, "single": {"spec": "debate"}}}
    assert default_baseline(config, ["a", "b", "single"]) == "single"
    assert default_baseline(config, ["a", "b"]) == "b"
    assert default_baseline({"protocols": {"a": {"spec": "jury"}}}, ["a", "a", "c"]) == "a"
    assert default_baseline({}, []) == "single"
