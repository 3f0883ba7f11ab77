"""The robustness metrics on hand-built records: each definition checked case by case."""

from __future__ import annotations

from courtgraph.evals import stats
from courtgraph.evals.robustness import position_metrics, probe_metrics
from courtgraph.schema import Case, Record, TrialResult, Verdict


def rec(case_id: str, protocol: str, winner: str | None, label: str = "A", status: str = "ok",
        error: str | None = None) -> Record:
    verdict = Verdict(winner=winner, status=status) if status == "ok" else Verdict(status=status)
    correct = verdict.valid and winner == label
    return Record(case_id=case_id, protocol=protocol, label=label, verdict=verdict, correct=correct,
                  error=error)


def twin(case_id: str, label: str = "A") -> Case:
    wrong = "B" if label == "A" else "A"
    return Case(id=f"{case_id}~pad", question="q", candidates=["x", "y"], label=label,
                metadata={"probe": "pad", "original": case_id, "target": wrong, "before": "y"})


def test_definitions_case_by_case() -> None:
    #          original  perturbed   -> unchanged, attacked (of correct), toward the wrong candidate B
    plan = [("c1", "A", "A"),          # yes, no, no
            ("c2", "A", "B"),          # no, yes, yes
            ("c3", "A", "tie"),        # no, yes (a tie is wrong), no
            ("c4", "B", "B"),          # yes, (not correct originally), no
            ("c5", "tie", "B"),        # no, -, yes
            ("c6", None, "B")]         # invalid -> B: no, -, yes
    originals = [rec(c, "single", o, status="ok" if o else "invalid") for c, o, _ in plan]
    perturbed = [rec(f"{c}~pad", "single", p) for c, _, p in plan]
    originals.append(rec("c7", "single", "A"))
    perturbed.append(rec("c7~pad", "single", None, status="error", error="outage"))  # failed: left out
    cases = {t.id: t for t in (twin(c) for c in [*(p[0] for p in plan), "c7"])}
    (m,) = probe_metrics(originals, perturbed, cases, seed=0, resamples=200)
    assert m.pairs == 6
    assert m.robustness.value == 2 / 6 and m.robustness.n == 6
    assert m.attack_success.value == 2 / 3 and m.attack_success.n == 3
    assert m.flip_toward.value == 3 / 6
    assert m.attack_success.ci95 == stats.bootstrap_ci([0.0, 1.0, 1.0], resamples=200, seed=0)


def test_paired_comparison_with_the_baseline_uses_cases_both_got_right() -> None:
    cases = {t.id: t for t in (twin(f"c{i}") for i in range(6))}
    base = [rec(f"c{i}", "single", "A") for i in range(6)]
    jury = [rec(f"c{i}", "jury", "A" if i < 5 else "B") for i in range(6)]  # c5 wrong originally: not paired
    base_twins = [rec(f"c{i}~pad", "single", "B" if i < 4 else "A") for i in range(6)]  # fooled on c0..c3
    jury_twins = [rec(f"c{i}~pad", "jury", "B" if i == 0 else "A") for i in range(6)]  # fooled on c0
    out = {m.protocol: m for m in probe_metrics([*base, *jury], [*base_twins, *jury_twins], cases, resamples=200)}
    vs = out["jury"].vs_baseline
    assert vs is not None and vs.baseline == "single" and vs.n == 5
    assert vs.delta == 1 / 5 - 4 / 5
    assert vs.p_value == stats.mcnemar_exact(0, 3)  # discordant: baseline alone fooled on c1, c2, c3
    assert out["single"].vs_baseline is None


def test_position_share_and_flips() -> None:
    def trial(order: str, shown: str) -> TrialResult:
        return TrialResult(order=order, verdict=Verdict(winner=shown))

    records = [Record(case_id="a", protocol="single", label="A", trials=[trial("AB", "A"), trial("BA", "A")]),
               Record(case_id="b", protocol="single", label="A", trials=[trial("AB", "A"), trial("BA", "B")]),
               Record(case_id="c", protocol="single", label="A", trials=[trial("AB", "tie"), trial("BA", "A")])]
    (m,) = position_metrics(records, resamples=100)
    assert m.first_share.value == 4 / 5 and m.first_share.n == 5  # a tie is not decided
    assert m.bias is not None and abs(m.bias - 0.3) < 1e-12 and m.direction == "first"
    assert m.flip_rate.value == 2 / 3  # a: A then B (case frame); c: tie then B; b agrees
