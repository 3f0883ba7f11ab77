"""The statistics against closed-form answers."""

from __future__ import annotations

import math
import random

import pytest

from courtgraph.evals import stats


def test_mcnemar_closed_form() -> None:
    assert stats.mcnemar_exact(0, 5) == pytest.approx(0.0625)  # 2 * 1/32
    assert stats.mcnemar_exact(5, 0) == pytest.approx(0.0625)
    assert stats.mcnemar_exact(1, 5) == pytest.approx(2 * (1 + 6) / 64)
    assert stats.mcnemar_exact(3, 3) == 1.0  # capped at 1
    assert stats.mcnemar_exact(0, 0) == 1.0  # no discordant pair, no evidence
    # Large n does not overflow and stays a probability.
    assert 0.0 < stats.mcnemar_exact(1500, 1620) < 0.05
    with pytest.raises(ValueError):
        stats.mcnemar_exact(-1, 2)


def test_kappa_hand_computed() -> None:
    # p_o = 0.7, p_e = (0.5*0.6 + 0.5*0.4) = 0.5 -> kappa = 0.4
    assert stats.cohen_kappa([[20, 5], [10, 15]]) == pytest.approx(0.4)
    # Perfect agreement over two used classes.
    assert stats.cohen_kappa([[3, 0], [0, 7]]) == pytest.approx(1.0)
    # 3x3: n=10, p_o = 7/10, rows (4,3,3), cols (4,4,2), p_e = (16+12+6)/100 = 0.34
    matrix = [[3, 1, 0], [1, 2, 0], [0, 1, 2]]
    assert stats.cohen_kappa(matrix) == pytest.approx((0.7 - 0.34) / (1 - 0.34))
    # A zero row and column (a class nobody used) changes nothing.
    padded = [[*row, 0] for row in matrix] + [[0, 0, 0, 0]]
    assert stats.cohen_kappa(padded) == pytest.approx(stats.cohen_kappa(matrix))


def test_kappa_undefined_cases() -> None:
    assert stats.cohen_kappa([[5, 0], [0, 0]]) is None  # p_e == 1: one class for everyone
    assert stats.cohen_kappa([[0, 0], [0, 0]]) is None
    with pytest.raises(ValueError):
        stats.cohen_kappa([[1, 2]])


def test_confusion_matrix_rejects_unknown_class() -> None:
    assert stats.confusion_matrix(["A", "B", "A"], ["A", "A", "A"], ["A", "B"]) == [[2, 0], [1, 0]]
    with pytest.raises(ValueError, match="'C'"):
        stats.confusion_matrix(["A"], ["C"], ["A", "B"])


def test_bootstrap_ci_covers_p_with_normal_width() -> None:
    n, p = 4000, 0.3
    rng = random.Random(1)
    sample = [1.0 if rng.random() < p else 0.0 for _ in range(n)]
    lo, hi = stats.bootstrap_ci(sample, resamples=1000, seed=0)
    assert lo < p < hi
    assert lo < stats.mean(sample) < hi
    assert hi - lo == pytest.approx(2 * 1.96 * math.sqrt(p * (1 - p) / n), rel=0.1)


def test_bootstrap_is_seeded_and_degenerate_sample_is_a_point() -> None:
    data = [1.0, 0.0, 1.0, 1.0, 0.0]
    assert stats.bootstrap_ci(data, seed=3) == stats.bootstrap_ci(data, seed=3)
    assert stats.bootstrap_ci([1.0] * 10) == (1.0, 1.0)
    with pytest.raises(ValueError):
        stats.bootstrap_ci([])


def test_paired_bootstrap_uses_the_pairing() -> None:
    rng = random.Random(2)
    base = [1.0 if rng.random() < 0.6 else 0.0 for _ in range(1000)]
    # The protocol equals the baseline except on 50 cases it fixes: a difference of exactly 0.05.
    fixed = [i for i, v in enumerate(base) if v == 0.0][:50]
    better = [1.0 if i in fixed else v for i, v in enumerate(base)]
    lo, hi = stats.paired_bootstrap_ci(better, base, resamples=1000)
    assert 0.0 < lo < 0.05 < hi < 0.1
    # Unpaired intervals would be about sqrt(2 * 0.24 / 1000) * 1.96 * 2 ~ 0.086 wide; paired is much tighter.
    assert hi - lo < 0.04
    with pytest.raises(ValueError):
        stats.paired_bootstrap_ci([1.0], [1.0, 0.0])


def test_quantile_interpolates_like_numpy() -> None:
    assert stats.quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert stats.quantile([1.0, 2.0, 3.0, 4.0], 0.0) == 1.0
    assert stats.quantile([1.0, 2.0, 3.0, 4.0], 1.0) == 4.0
    assert stats.quantile([5.0], 0.975) == 5.0


def _binomial_coverage(n: int, p: float) -> float:
    """The exact probability that the interval of a Binomial(n, p) count covers p."""
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k)
                     for k in range(n + 1) if (ci := stats.wilson_interval(k, n))[0] <= p <= ci[1])


def test_wilson_interval_edges_and_a_known_value() -> None:
    assert stats.wilson_interval(0, 10)[0] == 0.0 and stats.wilson_interval(10, 10)[1] == 1.0
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 4 (score with continuity correction)
    published = {(81, 263): (0.2535, 0.3682), (15, 148): (0.0598, 0.1644), (0, 20): (0.0, 0.2005),
                 (1, 29): (0.0018, 0.1963)}
    for (k, n), interval in published.items():
        assert tuple(round(x, 4) for x in stats.wilson_interval(k, n)) == interval


def test_wilson_interval_holds_its_coverage_for_small_samples() -> None:
    """Nominal 95%: at least 94% coverage for n >= 10 and accuracy in [0.5, 0.95], exactly (binomial
    sums over a grid) and by a seeded simulation where the percentile bootstrap fell to 87-89%."""
    grid_n = [*range(10, 41), 50, 60, 80, 100, 150, 200]
    grid_p = [0.5 + 0.025 * i for i in range(19)]
    worst = min((_binomial_coverage(n, p), n, p) for n in grid_n for p in grid_p)
    assert worst[0] >= 0.94, worst
    rng = random.Random(2024)
    for n, p in ((10, 0.9), (12, 0.95), (20, 0.85), (36, 0.9)):
        reps = 4000
        covered = 0
        for _ in range(reps):
            k = sum(rng.random() < p for _ in range(n))
            low, high = stats.wilson_interval(k, n)
            covered += low <= p <= high
        assert covered / reps >= 0.94, (n, p, covered / reps)
    hits = [1.0] * 9 + [0.0]
    low, high = stats.bootstrap_ci(hits, resamples=500, seed=0)
    assert high == 1.0 and low > stats.wilson_interval(9, 10)[0]  # the bootstrap is the narrower, under-covering one


def test_correlations_against_scipy() -> None:
    from scipy.stats import pearsonr, spearmanr

    rng = random.Random(5)
    x = [rng.randint(1, 5) + 0.0 for _ in range(40)]  # many ties: average ranks matter
    y = [v + rng.gauss(0, 1.5) for v in x]
    assert stats.pearson(x, y) == pytest.approx(pearsonr(x, y)[0], abs=1e-12)
    assert stats.spearman(x, y) == pytest.approx(spearmanr(x, y)[0], abs=1e-12)
    assert stats.pearson([1.0, 1.0], [2.0, 3.0]) is None and stats.pearson([1.0], [2.0]) is None
