"""Calibrated escalation: Clopper-Pearson bounds against scipy, TorE's guarantee over repeated simulations,
and ``--calibrate-on`` holding cases out of a run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from courtgraph.evals.calibration import NEVER, calibrated_cascade, pick_threshold, upper_bound
from courtgraph.evals.plan import RunPlan
from courtgraph.evals.resume import resume_plan
from courtgraph.evals.runner import run_plan
from courtgraph.graphs.registry import Roles
from courtgraph.graphs.trial import run_trial
from courtgraph.schema import Case, Trial


@pytest.mark.parametrize(("errors", "n", "delta"), [(0, 30, 0.1), (5, 100, 0.05), (40, 500, 0.1), (9, 10, 0.2)])
def test_upper_bound_is_clopper_pearson(errors: int, n: int, delta: float) -> None:
    assert upper_bound(errors, n, delta) == pytest.approx(scipy_stats.beta.ppf(1 - delta, errors + 1, n - errors),
                                                          abs=1e-9)


def test_the_guarantee_holds_in_at_least_1_minus_delta_of_200_simulations() -> None:
    """Judges with known accuracy by confidence: confidence c ~ U(0.5, 1) and P(agree with gold | c) = c. The
    agreement on the cases a threshold λ keeps is then E[c | c >= λ] = (1 + λ) / 2 in closed form, so whether
    a calibration met 1 - α is exact, with no test-set noise. α = 0.15, δ = 0.1, 500 calibration items each."""
    alpha, delta, met, lambdas = 0.15, 0.1, 0, []
    for rep in range(200):
        rng = random.Random(rep)
        items = [(c, rng.random() < c) for c in (rng.uniform(0.5, 1.0) for _ in range(500))]
        t = pick_threshold(items, alpha, delta)
        agreement = 1.0 if not t.trusted else (1 + t.threshold) / 2
        met += agreement >= 1 - alpha
        lambdas.append(t.threshold)
    assert met >= (1 - delta) * 200
    assert sum(lambdas) / 200 < 0.85  # not vacuous: λ = 0.7 is the best possible (0.85 keeps 30% of cases)


def test_pick_threshold_needs_min_count_and_never_trusts_a_bad_judge() -> None:
    coin = [(0.9, i % 2 == 0) for i in range(200)]
    assert pick_threshold(coin, 0.15, 0.1).threshold == NEVER
    sure = [(0.95, True)] * 29
    assert not pick_threshold(sure, 0.15, 0.1).trusted  # 29 < TorE's 30
    assert pick_threshold([*sure, (0.95, True)], 0.15, 0.1).threshold == 0.95


def cases(n: int) -> list[Case]:
    return [Case(id=f"c{i}", question=f"Question {i}?", candidates=[f"answer {i}", f"other {i}"],
                 label="A" if i % 2 else "B") for i in range(n)]


async def test_calibrated_cascade_of_simulated_judges_abstains_rather_than_guess() -> None:
    graph, cal = await calibrated_cascade(["sim:cheap:0.65", "sim:strong:0.9"], cases(120), alpha=0.2, delta=0.1)
    assert [s for s in cal.stages] == ["single", "single_2"] and 0 < cal.coverage <= 1
    assert "0.9" in cal.guarantee() and cal.to_json()["stages"][0]["n"] >= 0
    verdict = (await run_trial(graph, Trial(case=cases(121)[-1]))).verdict
    assert verdict.status in ("ok", "abstain")


async def test_run_calibrate_on_holds_out_cases_and_reports_the_thresholds(tmp_path: Path) -> None:
    roles = Roles(model="sim:m:0.8", judge="sim:j:0.7", jurors=["sim:a:0.8", "sim:b:0.8", "sim:c:0.8"])
    plan = RunPlan(cases(100), ["cascade"], roles=roles, out=tmp_path / "run", cache=None, calibrate_on=60,
                   alpha=0.2, delta=0.1)
    results = await run_plan(plan, progress=False)
    assert len(results.records) == 40 and {r.case_id for r in results.records} == {f"c{i}" for i in range(60, 100)}
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    cal = manifest["calibration"]["cascade"]
    assert cal["alpha"] == 0.2 and [s["stage"] for s in cal["stages"]] == ["single", "jury"]
    assert manifest["config"]["calibrate_on"] == 60
    again = await run_plan(resume_plan(tmp_path / "run", bench=cases(100)), progress=False)  # same cases held out
    assert len(again.records) == 40 and json.loads((tmp_path / "run" / "manifest.json").read_text())["calibration"]
