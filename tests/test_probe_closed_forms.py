"""Simulated susceptibility through the whole pipeline (run, probe, robustness) against closed forms.

Model (``courtgraph.agents.simulated``): on a perturbed case an agent keeps the opinion it held on
the original unless fooled, which happens with probability s (its key for the probe, else
``fooled``), once per agent and case, independently of being right; ``corr`` correlates agents
through a shared Gaussian draw. Hence, with always-right jurors (acc 1), attack success is the
probability that a majority is fooled:

* one judge: s;
* n independent jurors: sum_{k > n/2} C(n, k) s^k (1 - s)^(n - k);
* n jurors with corr rho: the same sum with s replaced by q(z) = Phi((Phi^-1(s) - sqrt(rho) z) / sqrt(1 - rho)),
  integrated over z ~ N(0, 1) (Simpson's rule here, an implementation independent of the simulator's draws).

With accuracy p < 1 ("adjusted for accuracy"), one judge in two orders is correct on the original
when right in both orders; fooling is independent of that, so attack success stays s exactly, and
the flip rate toward the perturbed candidate is s * P(original outcome is not the wrong candidate).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import pytest

from courtgraph.evals import run
from courtgraph.evals.probing import probe_run
from courtgraph.evals.robustness import ProbeMetrics, robustness
from courtgraph.evals.store import RunStore
from courtgraph.graphs.registry import Roles


def bench(tmp_path: Path, n: int) -> str:
    path = tmp_path / "pairs.jsonl"
    rows = [{"id": f"c{i}", "question": f"question {i}?", "a": f"answer {i}" if i % 2 == 0 else f"mistake {i}",
             "b": f"mistake {i}" if i % 2 == 0 else f"answer {i}", "label": "A" if i % 2 == 0 else "B"}
            for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return f"jsonl:{path}"


def measured(run_dir: Path, probes: str) -> dict[tuple[str, str], ProbeMetrics]:
    done = probe_run(run_dir, probes)
    with RunStore(run_dir, create=False) as store:
        records, cases = store.records(), store.cases()
    rb = robustness(records, cases, done.records, done.cases, probes=[p.label for p in done.probes], seed=1)
    assert rb.simulated
    return {(m.probe, m.protocol): m for m in rb.probes}


def majority_fooled(n: int, s: float) -> float:
    return sum(math.comb(n, k) * s**k * (1 - s) ** (n - k) for k in range(n // 2 + 1, n + 1))


def majority_fooled_correlated(n: int, s: float, rho: float, steps: int = 4000) -> float:
    normal = NormalDist()
    t = normal.inv_cdf(s)

    def f(z: float) -> float:
        return majority_fooled(n, normal.cdf((t - math.sqrt(rho) * z) / math.sqrt(1 - rho))) * normal.pdf(z)

    lo, hi = -9.0, 9.0
    h = (hi - lo) / steps
    inner = sum((4 if i % 2 else 2) * f(lo + i * h) for i in range(1, steps))
    return h / 3 * (f(lo) + f(hi) + inner)


def test_the_correlated_oracle_meets_the_independent_one() -> None:
    for n in (3, 5):
        assert majority_fooled_correlated(n, 0.3, 1e-12) == pytest.approx(majority_fooled(n, 0.3), abs=1e-9)
        assert majority_fooled_correlated(n, 0.3, 1 - 1e-9) == pytest.approx(0.3, abs=1e-3)  # one shared draw


def inside(m: ProbeMetrics, expected: float) -> None:
    ci = m.attack_success.ci95
    assert ci is not None and ci[0] <= expected <= ci[1], (m.probe, m.protocol, m.attack_success, expected)


def test_single_judge_attack_success_is_each_probes_susceptibility(tmp_path: Path) -> None:
    susceptibility = {"verbosity": 0.3, "master-key": 0.1, "authority": 0.5, "bandwagon": 0.2, "distraction": 0.05}
    judge = "sim:judge:0.85:" + ":".join(f"{k}={v}" for k, v in susceptibility.items())
    run(bench(tmp_path, 240), ["single"], roles=Roles(judge=judge), out=tmp_path / "run", cache=None, progress=False)
    got = measured(tmp_path / "run", ",".join(susceptibility))
    for probe, s in susceptibility.items():
        m = got[probe, "single"]
        assert m.pairs == 240
        assert 120 < m.attack_success.n < 240  # only the originally correct count (about 0.85^2 of them)
        inside(m, s)
        # attack success is exactly the fooled share of the originally correct: robustness and flips follow
        assert m.robustness.value is not None and m.robustness.value <= 1 - s + 0.12
    strong, weak = got["authority", "single"].attack_success.value, got["master-key", "single"].attack_success.value
    assert strong is not None and weak is not None and strong > weak


def test_unsusceptible_judge_never_moves(tmp_path: Path) -> None:
    run(bench(tmp_path, 40), ["single"], roles=Roles(judge="sim:j:0.7:bias=0.1"), out=tmp_path / "run", cache=None,
        progress=False)
    got = measured(tmp_path / "run", "verbosity,bandwagon")
    for m in got.values():
        assert m.robustness.value == 1.0 and m.attack_success.value == 0.0 and m.flip_toward.value == 0.0


@pytest.mark.parametrize("corr", [0.0, 0.6])
def test_majorities_of_three_and_five_reduce_attack_success_as_predicted(tmp_path: Path, corr: float) -> None:
    s, cases = 0.3, 300
    agent = f"sim:j:1.0:verbosity={s}:corr={corr}"  # jurors err (and are fooled) apart, by their persona
    roles = Roles(model=agent)
    run(bench(tmp_path, cases), ["single", "jury"], roles=roles, out=tmp_path / "three", cache=None,
        progress=False, orders=["AB"], params={"jury": {"n": 3}})
    run(bench(tmp_path, cases), ["jury"], roles=roles, out=tmp_path / "five", cache=None, progress=False,
        orders=["AB"], params={"jury": {"n": 5}})
    three = measured(tmp_path / "three", "verbosity")
    five = measured(tmp_path / "five", "verbosity")
    single, jury3, jury5 = three["verbosity", "single"], three["verbosity", "jury"], five["verbosity", "jury"]
    assert single.attack_success.n == jury3.attack_success.n == jury5.attack_success.n == cases  # acc 1: all right
    expect = (s, *(majority_fooled_correlated(n, s, corr) if corr else majority_fooled(n, s) for n in (3, 5)))
    for m, e in zip((single, jury3, jury5), expect, strict=True):
        inside(m, e)
        # always right originally: every change is a flip to the perturbed candidate, and every flip an attack
        assert m.flip_toward.value == m.attack_success.value
        assert m.robustness.value == pytest.approx(1 - (m.attack_success.value or 0))
    assert expect[0] > expect[1] > expect[2]
    value = [m.attack_success.value or 0.0 for m in (single, jury3, jury5)]
    if not corr:
        assert value[0] > value[1] > value[2]
    else:  # correlated jurors: less reduction than independent ones would give, predicted and measured
        assert expect[1] > majority_fooled(3, s) + 0.03 and expect[2] > majority_fooled(5, s) + 0.04
        assert value[2] > majority_fooled(5, s) + 0.04


def attack_enumerated(n: int, p: float, s: float) -> float:
    """One order, n independent jurors of accuracy p and susceptibility s: P(perturbed wrong | original right).

    Each juror is (fooled f, right r) with probability s^f (1-s)^(1-f) p^r (1-p)^(1-r); its original vote
    is right iff r, its vote on the twin iff r and not f. Enumerated over all 4^n states.
    """
    from itertools import product

    right_before = wrong_after = 0.0
    for states in product([(f, r) for f in (0, 1) for r in (0, 1)], repeat=n):
        weight = math.prod((s if f else 1 - s) * (p if r else 1 - p) for f, r in states)
        if sum(r for _, r in states) > n / 2:
            right_before += weight
            if sum(r and not f for f, r in states) <= n / 2:
                wrong_after += weight
    return wrong_after / right_before


def test_jurors_of_accuracy_below_one_match_the_enumeration(tmp_path: Path) -> None:
    p, s, cases = 0.8, 0.25, 300
    run(bench(tmp_path, cases), ["jury"], roles=Roles(model=f"sim:j:{p}:fooled={s}"), out=tmp_path / "run",
        cache=None, progress=False, orders=["AB"], params={"jury": {"n": 3}})
    m = measured(tmp_path / "run", "distraction")["distraction", "jury"]
    expected = attack_enumerated(3, p, s)
    assert expected > majority_fooled(3, s)  # fewer fooled jurors can overturn a jury that was not unanimous
    inside(m, expected)
    assert attack_enumerated(3, 1.0, s) == pytest.approx(majority_fooled(3, s))
