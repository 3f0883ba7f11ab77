"""LLMBar's recorded evaluators through the harness, with no conversion, against LLMBar's own statistics.

Every ``<subset>/evaluators/<LLM>/<strategy>/result.json`` in ../shared/data/llmbar replays through a
``recorded:`` single judge on the ``llmbar:`` benchmark: Acc. (``correct_average``), Agr. (``equal``), the
per-order accuracies (``correct_False`` / ``correct_True``) and ``correct_both`` must equal the run's
``statistics.json`` exactly. One run goes through the command line as a user would type it.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from published import LLMBAR

from courtgraph.evals.benchmarks import load_bench
from courtgraph.evals.metrics import summarize
from courtgraph.graphs import judge_case, single

RUNS = sorted(LLMBAR.glob("*/evaluators/*/*/result.json")) + sorted(LLMBAR.glob("*/*/evaluators/*/*/result.json"))
pytestmark = pytest.mark.skipif(not RUNS, reason=f"LLMBar evaluator runs not found under {LLMBAR}")


def published(result: Path) -> dict[str, Fraction]:
    """statistics.json as exact fractions: "95 / 100 = 95.0%" -> 95/100, "95.5%" -> 955/1000."""
    out = {}
    for key, text in json.loads((result.parent / "statistics.json").read_text()).items():
        if isinstance(text, str) and (ratio := re.match(r"(\d+) / (\d+) =", text)):
            out[key] = Fraction(int(ratio[1]), int(ratio[2]))
        elif isinstance(text, str):
            out[key] = (Fraction(text.rstrip("%")) / 100).limit_denominator(10_000)  # "56.99999999999999%"
    return out


def dataset(result: Path) -> Path:
    return result.parents[3] / "dataset.json"


def exact(x: float | None) -> Fraction:
    assert x is not None
    return Fraction(x).limit_denominator(10_000)


async def _replay(result: Path, spec: str | None = None) -> dict[str, Fraction]:
    """The run's figures as the harness computes them, replaying ``spec`` (default: the result file)."""
    cases = load_bench(f"llmbar:{dataset(result)}").cases
    graph = single(spec or f"recorded:{result}")
    records = await asyncio.gather(*(judge_case(graph, c, protocol="single") for c in cases))
    assert sum(r.usage.calls for r in records) == 0 and not any(r.error for r in records)
    m = summarize(records).protocols["single"]
    assert m.two_order_cases == len(cases)
    return {"correct_False": exact(m.accuracy_ab), "correct_True": exact(m.accuracy_ba),
            "correct_average": exact(m.llmbar_accuracy), "correct_both": exact(m.correct_both),
            "equal": exact(m.agreement)}


@pytest.mark.parametrize("result", RUNS, ids=lambda p: "/".join(p.parts[-5:-1]))
async def test_recorded_llmbar_run_reproduces_its_statistics(result: Path) -> None:
    want = published(result)
    got = await _replay(result)
    assert got == {k: want[k] for k in got}


def test_cli_run_and_report_reproduce_one_llmbar_run(tmp_path: Path) -> None:
    result = next(r for r in RUNS if r.parts[-3:-1] == ("ChatGPT", "Vanilla")) if any(
        r.parts[-3:-1] == ("ChatGPT", "Vanilla") for r in RUNS) else RUNS[0]
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "courtgraph", "run", "--bench", f"llmbar:{dataset(result)}",
                           "--protocols", "single", "--judge", f"recorded:{result}", "--no-cache", "--out", str(run)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = subprocess.run([sys.executable, "-m", "courtgraph", "report", str(run), "--json"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)["protocols"]["single"]
    want = published(result)
    got = {"correct_False": m["accuracy_ab"], "correct_True": m["accuracy_ba"], "correct_average": m["llmbar_accuracy"],
           "correct_both": m["correct_both"], "equal": m["agreement"]}
    assert {k: exact(v) for k, v in got.items()} == {k: want[k] for k in got}


async def test_a_result_file_outside_llmbars_layout_takes_subset_or_falls_back_to_content(tmp_path: Path) -> None:
    from courtgraph.evals.recorded import RecordingWarning

    result = RUNS[0]
    moved = tmp_path / "result.json"  # a copy in a temporary folder: the subset is no longer in its path
    moved.write_bytes(result.read_bytes())
    subset = result.parents[3].name
    want = await _replay(result)
    replayed = await _replay(result, f"recorded:{moved}?subset={subset}")
    assert replayed == want
    with pytest.warns(RecordingWarning, match="subset is not in its path"):
        assert await _replay(result, f"recorded:{moved}") == want  # by content: LLMBar has no repeats
